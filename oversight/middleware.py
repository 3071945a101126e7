"""The one enforcement point of two-factor sign-in: after django-otp's OTPMiddleware."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from oversight.exempt import needs_second_factor


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
