"""Two-factor sign-in on each request: who is verified (SessionOTPMiddleware), and the one enforcement point."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import is_verified

from oversight.exempt import needs_second_factor


class SessionOTPMiddleware:
    """What django-otp's OTPMiddleware gives a request, without its query per request.

    As OTPMiddleware documents, ``request.user`` gets ``otp_device`` and ``is_verified()``. Verified is the
    device the session holds (``django_otp.DEVICE_ID_SESSION_KEY``): ``django_otp.login`` puts it there only
    after a code was accepted, and ``twofactor.reset_devices`` ends the person's sessions (oversight/signin.py),
    so a reset device leaves no verified session behind. ``otp_device`` is the device on the request that
    verified (``django_otp.login`` sets it) and None on later ones, which load no device. Only django-otp's
    public names are used. Async-capable, as OTPMiddleware is: ``request.auser()`` is wrapped the same way.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._is_async:
            return self.__acall__(request)
        self._wrap(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        self._wrap(request)
        return await self.get_response(request)

    def _wrap(self, request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        if user is not None:
            request.user = SimpleLazyObject(lambda: _mark(request, user))  # type: ignore[assignment]  # as Django does
        auser = getattr(request, "auser", None)
        if auser is not None:

            async def verified_auser() -> Any:
                return _mark(request, await auser())

            request.auser = verified_auser


def _mark(request: HttpRequest, user: Any) -> Any:
    """Give ``user`` OTPMiddleware's ``otp_device`` and ``is_verified()``, from the session alone."""
    user.otp_device = None
    if user.is_authenticated and request.session.get(DEVICE_ID_SESSION_KEY):
        user.is_verified = lambda: True
    else:
        user.is_verified = functools.partial(is_verified, user)  # True once django_otp.login sets otp_device
    return user


class RequireSecondFactor:
    """With ASSAY_REQUIRE_2FA on, a signed-in person without a verified device goes to the code step."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if needs_second_factor(
            request.path,
            required=settings.ASSAY_REQUIRE_2FA,
            authenticated=user.is_authenticated,
            verified=bool(getattr(user, "is_verified", lambda: False)()),
        ):
            return HttpResponseRedirect(f"{reverse('second-factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
