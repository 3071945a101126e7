"""The sign-in steps: the password (Django's login view, audited), then enrol an authenticator, see recovery
codes once, enter a code.

Thin: the work and the audit are in :mod:`oversight.lockout` (the password step) and
:mod:`oversight.twofactor`. These pages are exempt from the second-factor requirement (they are how one
meets it); all but the password step need the password step done.
"""

from __future__ import annotations

import django_otp
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from oversight import lockout, twofactor

_CODES_KEY = "assay_recovery_codes"
_NEXT_KEY = "assay_after_second_factor"


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or request.session.get(_NEXT_KEY) or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return "/"
    return str(target)


class StaffLoginView(LoginView):
    """Django's login page; a password step it accepts is audited (failures are, through ``user_login_failed``)."""

    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        lockout.record_signed_in(self.request, form.get_user(), second_factor=settings.ASSAY_REQUIRE_2FA)
        return response


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Enter the 6-digit code (or a recovery code); without a device, enrol first."""
    if not twofactor.has_device(request.user):
        request.session[_NEXT_KEY] = _next(request)
        return redirect("enrol")
    error = ""
    if request.method == "POST":
        outcome = twofactor.verify(request.user, request.POST.get("code", ""))
        if outcome.device is not None:
            django_otp.login(request, outcome.device)
            return redirect(_next(request))
        error = outcome.error
    status = 200 if not error else 400
    return render(request, "registration/second_factor.html", {"error": error, "next": _next(request)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: a QR code and the secret, confirmed with a code from the app."""
    if twofactor.has_device(request.user):
        return redirect("second-factor")
    device = twofactor.pending_device(request.user)
    error = ""
    if request.method == "POST":
        outcome, codes = twofactor.enrol(request.user, request.POST.get("code", ""))
        if outcome.device is not None:
            django_otp.login(request, outcome.device)
            request.session[_CODES_KEY] = codes
            return redirect("recovery-codes")
        error = outcome.error
    context = {"qr_svg": twofactor.qr_svg(device), "secret": twofactor.secret_text(device), "error": error}
    return render(request, "registration/enrol.html", context, status=400 if error else 200)


@login_required
@require_GET
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes, shown once straight after enrolment."""
    codes = request.session.pop(_CODES_KEY, None)
    target = _next(request)
    request.session.pop(_NEXT_KEY, None)
    if not codes:
        return redirect(target)
    return render(request, "registration/recovery_codes.html", {"codes": codes, "next": target})
