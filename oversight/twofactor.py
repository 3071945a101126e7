"""Two-factor sign-in: enrol a TOTP device, check a code or a recovery code, reset a person's devices.

Every step is audited: auth.device_enrolled, auth.second_factor_verified, auth.second_factor_failed,
auth.recovery_code_used, auth.device_reset. A refusal django-otp does not count against a device (its
wait is not over, or what was typed is no code at all) is recorded once, not again until something else
happens at that person's code step: whoever holds a password cannot flood the audit chain from there.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from typing import Any

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from oversight import signin
from oversight.models import AuditEvent
from oversight.services import record

ENROLLED = "auth.device_enrolled"
VERIFIED = "auth.second_factor_verified"
FAILED = "auth.second_factor_failed"
RECOVERY_USED = "auth.recovery_code_used"
RESET = "auth.device_reset"
RECOVERY_CODES = 10


def has_device(user: Any) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def pending_device(user: Any) -> TOTPDevice:
    """The person's unconfirmed authenticator (created on first visit to enrolment)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app wants it typed: base32, in groups of four."""
    b32 = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(b32[i : i + 4] for i in range(0, len(b32), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, drawn here (no network)."""
    out = io.BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage).save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]


def new_recovery_codes(user: Any) -> list[str]:
    """Replace the person's recovery codes with RECOVERY_CODES fresh single-use ones."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@dataclass(frozen=True)
class Outcome:
    device: Any = None  # the device that accepted the code; None when refused
    error: str = ""


def _throttled(device: Any, *, other: str = "") -> str:
    """Why ``device`` refuses codes for now (django-otp's throttling), or "" when it accepts them."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return ""
    wait = "Try again later"
    if info and info.get("locked_until"):
        from django.utils import timezone

        wait = f"Try again in {max(1, int((info['locked_until'] - timezone.now()).total_seconds()))} seconds"
    return f"Too many wrong codes. {wait}{', or ' + other if other else ''}."


TOTP = "totp"
RECOVERY = "recovery code"
_RECOVERY_FORM = re.compile(r"[a-z2-7]{8}")  # StaticToken.random_token(): 5 random bytes in lower-case base32
_OTHER = {TOTP: "use a recovery code", RECOVERY: "use the 6-digit code from your authenticator app"}
_WRONG = {
    TOTP: "That code is not right. Enter the current 6-digit code, or an unused recovery code.",
    RECOVERY: "That recovery code is not right, or was used already. Enter an unused one, or the 6-digit code.",
}
_NOT_A_CODE = "Enter the 6-digit code from your authenticator app, or a recovery code (8 letters and digits)."


def _kind(token: str) -> str:
    """Which device a typed code is for: six digits are the authenticator's, a recovery code's form its own."""
    if token.isdigit() and len(token) == 6:
        return TOTP
    return RECOVERY if _RECOVERY_FORM.fullmatch(token) else ""


_UNCOUNTED = frozenset({"throttled", "not a code"})  # refusals django-otp counts against no device


def _refused(user: Any, **data: Any) -> None:
    """Record a refused code, unless it repeats the person's last code-step event: an uncounted refusal again."""
    if data["reason"] in _UNCOUNTED:
        last = (
            AuditEvent.objects.filter(action__in=(ENROLLED, VERIFIED, FAILED, RESET))
            .filter(object_type="auth.user", object_id=str(user.pk))
            .order_by("-seq")
            .values_list("action", "data")
            .first()
        )
        if last is not None and last[0] == FAILED and last[1].get("reason") == data["reason"]:
            return
    record(FAILED, actor=user, obj=user, **data)


def enrol(user: Any, token: str) -> tuple[Outcome, list[str]]:
    """Confirm the pending authenticator with a code from it; on success, issue recovery codes."""
    token = token.strip().replace(" ", "")
    device = pending_device(user)
    with transaction.atomic():
        if not token.isdigit() or len(token) != 6:
            _refused(user, step="enrolment", reason="not six digits")
            return Outcome(error="Enter the 6-digit code your authenticator app shows."), []
        if (blocked := _throttled(device)) or not device.verify_token(token):
            _refused(user, step="enrolment", reason="throttled" if blocked else "wrong code")
            return Outcome(error=blocked or "That code is not right: check the app's clock and try again."), []
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(user)
        record(ENROLLED, actor=user, obj=user, device="totp", recovery_codes=len(codes))
    return Outcome(device=device), codes


def verify(user: Any, token: str) -> Outcome:
    """Check a 6-digit code from the authenticator, or else a recovery code (used up on success).

    A code goes only to the devices of its kind, so each is throttled on its own (django-otp's
    ThrottlingMixin, per device): wrong authenticator codes never lock out the recovery codes, nor
    the other way round. Something that is neither kind's form is refused without counting against either.
    """
    token = token.strip().replace(" ", "").lower()
    if not token:
        return Outcome(error="Enter the 6-digit code from your authenticator app, or a recovery code.")
    kind = _kind(token)
    with transaction.atomic():
        if not kind:
            _refused(user, step="sign-in", reason="not a code")
            return Outcome(error=_NOT_A_CODE)
        model: Any = TOTPDevice if kind == TOTP else StaticDevice
        blocked = ""
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            if (why := _throttled(device, other=_OTHER[kind])) != "":
                blocked = why
                continue
            if device.verify_token(token):
                if kind == RECOVERY:
                    record(RECOVERY_USED, actor=user, obj=user, recovery_codes_left=device.token_set.count())
                record(VERIFIED, actor=user, obj=user, device=kind)
                return Outcome(device=device)
        reason = "throttled" if blocked else "wrong or used code"  # a used code is gone: no telling which
        _refused(user, step="sign-in", device=kind, reason=reason)
    return Outcome(error=blocked or _WRONG[kind])


def issue_device(user: Any, *, actor: Any = None) -> tuple[str, list[str]]:
    """Give a person a confirmed authenticator and recovery codes at once (the demo's users); audited.

    Returns the secret (as typed into an app) and the recovery codes, for printing once.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        codes = new_recovery_codes(user)
        record(ENROLLED, actor=actor, obj=user, device="totp", recovery_codes=len(codes), issued=True)
    return secret_text(device), codes


def reset_devices(username: str, *, actor: Any = None) -> int:
    """Remove every device of a person (lost phone) and end their sessions: they enrol again at next sign-in.

    Their sessions end in any session store (oversight.signin rotates their sign-in key). Audited."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    with transaction.atomic():
        try:
            user = user_model.objects.get(username=username)
        except user_model.DoesNotExist:
            raise ValueError(f"no user {username!r}") from None
        removed = TOTPDevice.objects.filter(user=user).delete()[1].get("otp_totp.TOTPDevice", 0)
        removed += StaticDevice.objects.filter(user=user).delete()[1].get("otp_static.StaticDevice", 0)
        signin.end_sessions(user)
        record(RESET, actor=actor, obj=user, username=username, devices_removed=removed, signed_out_everywhere=True)
    return int(removed)


def status(user: Any) -> str:
    """'on', 'enrolling' (not yet confirmed) or 'off' — for `assay users list`."""
    if has_device(user):
        return "on"
    return "enrolling" if TOTPDevice.objects.filter(user=user).exists() else "off"
