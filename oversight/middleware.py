"""The one enforcement point of two-factor sign-in: after django-otp's OTPMiddleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware

from oversight.exempt import needs_second_factor


class SessionOTPMiddleware(OTPMiddleware):  # type: ignore[misc]
    """django-otp's OTPMiddleware without its query per request: verified is the device the session holds.

    ``django_otp.login`` puts the device there only after a code was accepted; ``twofactor.reset_devices``
    ends the person's sessions, so a reset device leaves no verified session behind. ``user.otp_device`` is
    set by ``django_otp.login`` on the request that verified, and None on later ones.
    """

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        self._init_user_fields(user)
        if user.is_authenticated and request.session.get(DEVICE_ID_SESSION_KEY):
            user.is_verified = lambda: True
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
