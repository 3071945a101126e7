"""Audit events in plain words, for `assay audit list` (pure: no Django).

Sign-in events read as sentences; any other event as its kind, object and data, so that nothing
recorded is hidden from whoever reads the log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Data = Mapping[str, Any]


def _from(data: Data) -> str:
    address = data.get("ip_address") or "an unknown address"
    return f"from {address}"


def _count(data: Data) -> str:
    failures, limit = data.get("failures"), data.get("limit")
    if failures is None:
        return "not counted: lock-out is off"
    return f"failure {failures} of {limit} before lock-out" if limit else f"failure {failures}"


def _typed(data: Data) -> str:
    """The name tried: someone's username, or a name that is nobody's (kept only as a digest)."""
    if "unknown_name" in data:
        return f"a name that is nobody's (digest {data['unknown_name']})"
    return repr(data.get("username"))


def _sign_in_failed(actor: str, data: Data) -> str:
    return f"sign-in failed for {_typed(data)} {_from(data)}: {data.get('reason')} ({_count(data)})"


def _locked_out(actor: str, data: Data) -> str:
    who = f"{_typed(data)} {_from(data)}"
    if data.get("still_locked_out"):
        return f"{who} still locked out: {data.get('failures')} failures counted, tries refused without an event each"
    return f"{who} locked out after {data.get('failures')} wrong passwords (limit {data.get('limit')})"


def _signed_in(actor: str, data: Data) -> str:
    then = "second factor next" if data.get("second_factor") == "next" else "no second factor required"
    return f"{actor} signed in with their password {_from(data)} ({then})"


def _second_factor_failed(actor: str, data: Data) -> str:
    device = {"totp": "authenticator code", "recovery code": "recovery code"}.get(data.get("device", ""), "code")
    return f"{actor}: {device} refused at {data.get('step', 'sign-in')} ({data.get('reason')})"


def _unlocked(actor: str, data: Data) -> str:
    cleared = data.get("failures_cleared", "?")
    return f"{actor} lifted the lock-out of {data.get('username')!r} ({cleared} failures cleared)"


_SENTENCES: dict[str, Callable[[str, Data], str]] = {
    "auth.sign_in_failed": _sign_in_failed,
    "auth.locked_out": _locked_out,
    "auth.signed_in": _signed_in,
    "auth.second_factor_failed": _second_factor_failed,
    "auth.second_factor_verified": lambda actor, data: f"{actor} passed the second factor ({data.get('device')})",
    "auth.recovery_code_used": lambda actor, data: (
        f"{actor} used a recovery code ({data.get('recovery_codes_left')} left)"
    ),
    "auth.device_enrolled": lambda actor, data: (
        f"{actor} issued an authenticator" if data.get("issued") else f"{actor} set up an authenticator"
    ),
    "auth.device_reset": lambda actor, data: f"{actor} reset the second factor of {data.get('username')!r}",
    "auth.unlocked": _unlocked,
}


def describe(action: str, actor: str, object_ref: str, data: Data) -> str:
    """One line saying what the event records (beside its kind, which the caller shows)."""
    sentence = _SENTENCES.get(action)
    if sentence is not None:
        return sentence(actor, data)
    shown = ", ".join(f"{key}={value!r}" for key, value in sorted(data.items()))
    about = f" on {object_ref}" if object_ref else ""
    return f"by {actor}{about}" + (f": {shown}" if shown else "")
