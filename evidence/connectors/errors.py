"""What to do about a platform's answer: one :class:`Action` per (platform, status, body).

Platforms say the same thing in different ways. X's window limit and its monthly usage cap are
both HTTP 429, but only the first is worth waiting for; Meta throttles with error codes on HTTP
400/403, never 429; Mastodon gives its reset as an ISO-8601 timestamp, X and Bluesky as epoch
seconds, Meta as minutes in a JSON header. This module turns all of that into one verdict, so the
client's retry loop is the same for every platform.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

MAX_REASON = 300


class Action(enum.Enum):
    OK = "ok"
    WAIT_FOR_RESET = "wait_for_reset"  # a rate-limit window: wait until it resets, then retry
    BACKOFF = "backoff"  # transient: retry with exponential backoff within a bounded budget
    STOP_QUOTA = "stop_quota"  # a usage or spending cap: waiting does not help, stop the source
    STOP_AUTH = "stop_auth"  # credentials missing, invalid or expired
    STOP_PERMISSION = "stop_permission"  # credentials fine, but this access is not granted
    MARK_DELETED = "mark_deleted"  # the object is gone (or no longer visible): a tombstone
    BAD_QUERY = "bad_query"  # our request is wrong; retrying the same request cannot help
    RUN_LIMIT = "run_limit"  # a live run reached its bound (duration, posts): its next run continues


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str = ""
    wait_seconds: float | None = None  # for WAIT_FOR_RESET, when the platform says how long


OK = Verdict(Action.OK)


def classify(platform: str, status: int, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
    """Map a response to one action. ``headers`` keys must be lower-case; ``now`` is epoch seconds."""
    classifier = _CLASSIFIERS.get(platform, _generic)
    return classifier(status, headers, _json(body), body, now)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _text(body: bytes) -> str:
    return body[:MAX_REASON].decode("utf-8", "replace").strip()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# --- reset headers -----------------------------------------------------------------------


def _server_now(headers: Mapping[str, str], now: float) -> float:
    """The server's idea of now (its Date header), so a skewed local clock does not mis-time waits."""
    date = headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    return now


def _epoch_or_iso(value: str) -> float | None:
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


def _retry_after(headers: Mapping[str, str], server_now: float) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - server_now)
    except (TypeError, ValueError):
        return None


def reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the rate-limit window resets, from whichever header the platform sent."""
    server_now = _server_now(headers, now)
    for name in ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        if name in headers:
            reset = _epoch_or_iso(headers[name])
            if reset is not None:
                # ratelimit-reset is epoch seconds on Bluesky; a small number is a delta (IETF draft)
                return max(0.0, reset - server_now) if reset > 1e9 else max(0.0, reset)
    return _retry_after(headers, server_now)


# --- per platform ------------------------------------------------------------------------

Classifier = Callable[[int, Mapping[str, str], Any, bytes, float], Verdict]


def _generic(status: int, headers: Mapping[str, str], data: Any, body: bytes, now: float) -> Verdict:
    reason = _text(body)
    if 200 <= status < 300:
        return OK
    if status == 429:
        return Verdict(Action.WAIT_FOR_RESET, reason or "rate limited", reset_wait(headers, now))
    if status == 401:
        return Verdict(Action.STOP_AUTH, reason or "unauthorized")
    if status == 403:
        return Verdict(Action.STOP_PERMISSION, reason or "forbidden")
    if status in (404, 410):
        return Verdict(Action.MARK_DELETED, reason or "not found")
    if status >= 500 or status == 408:
        return Verdict(Action.BACKOFF, reason or f"HTTP {status}")
    return Verdict(Action.BAD_QUERY, reason or f"HTTP {status}")


def _x(status: int, headers: Mapping[str, str], data: Any, body: bytes, now: float) -> Verdict:
    problem = _dict(data)
    detail = str(problem.get("detail") or problem.get("title") or "")
    if status == 429 and (problem.get("title") == "UsageCapExceeded" or "usage-capped" in str(problem.get("type"))):
        # Same status as a window limit, but the reset header is irrelevant: the cap is monthly.
        return Verdict(Action.STOP_QUOTA, f"X usage cap exceeded: {detail}")
    if status == 400:
        messages = [str(e.get("message", "")) for e in problem.get("errors", []) if isinstance(e, dict)]
        return Verdict(Action.BAD_QUERY, "; ".join(m for m in messages if m) or detail or "invalid request")
    if status == 403:
        reason = problem.get("reason") or problem.get("title") or "forbidden"
        return Verdict(Action.STOP_PERMISSION, f"X refused access ({reason}): {detail}")
    if status == 401:
        return Verdict(Action.STOP_AUTH, "X rejected the bearer token (401): check X_BEARER_TOKEN")
    return _generic(status, headers, data, body, now)


_BLUESKY_AUTH = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"})


def _bluesky(status: int, headers: Mapping[str, str], data: Any, body: bytes, now: float) -> Verdict:
    error = _dict(data)
    name = str(error.get("error", ""))
    message = f"{name}: {error.get('message', '')}" if name else _text(body)
    if name in _BLUESKY_AUTH or status == 401:
        return Verdict(Action.STOP_AUTH, f"Bluesky session not accepted ({message}); refresh the session")
    if status == 403:
        # public.api.bsky.app refuses search, sometimes with an HTML page: not "no results".
        return Verdict(Action.STOP_PERMISSION, f"Bluesky host refused the request (403): {message}")
    if status == 400 and name in ("NotFound", "RecordNotFound"):
        return Verdict(Action.MARK_DELETED, message)
    return _generic(status, headers, data, body, now)


def _mastodon(status: int, headers: Mapping[str, str], data: Any, body: bytes, now: float) -> Verdict:
    message = str(_dict(data).get("error", "")) or _text(body)
    if status == 401 or (status == 422 and "authenticated" in message):
        return Verdict(Action.STOP_AUTH, f"Mastodon instance requires a valid token: {message}")
    if status in (404, 410):
        return Verdict(Action.MARK_DELETED, message)
    return _generic(status, headers, data, body, now)


_META_THROTTLE = frozenset({4, 17, 32, 613, *range(80001, 80015)})
_META_AUTH = frozenset({102, 190, 463, 467})
_META_PERMISSION = frozenset({3, 10, 200, 299, 368})
_META_TRANSIENT = frozenset({1, 2})


def _meta_regain_seconds(headers: Mapping[str, str]) -> float | None:
    """``estimated_time_to_regain_access`` (minutes) from the business-use-case usage header."""
    minutes: list[float] = []
    for name in ("x-business-use-case-usage", "x-ad-account-usage"):
        usage = _json(headers.get(name, "").encode())
        entries = [e for v in _dict(usage).values() for e in (v if isinstance(v, list) else [v])]
        if isinstance(usage, dict) and "estimated_time_to_regain_access" in usage:
            entries.append(usage)
        minutes += [float(e["estimated_time_to_regain_access"]) for e in entries if _has_number(e)]
    return max(minutes) * 60 if minutes and max(minutes) > 0 else None


def _has_number(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("estimated_time_to_regain_access"), int | float)


def _facebook(status: int, headers: Mapping[str, str], data: Any, body: bytes, now: float) -> Verdict:
    error = _dict(_dict(data).get("error"))
    if 200 <= status < 300 or not error:
        return _generic(status, headers, data, body, now)
    code, subcode = error.get("code"), error.get("error_subcode")
    message = f"(code {code}{f'/{subcode}' if subcode else ''}) {error.get('message', '')}"
    if code in _META_THROTTLE:
        # Meta throttles on 400/403, not 429: classify by code, never by status.
        return Verdict(Action.WAIT_FOR_RESET, message, _meta_regain_seconds(headers) or reset_wait(headers, now))
    if code in _META_AUTH:
        return Verdict(Action.STOP_AUTH, f"Facebook token rejected {message}; issue a new page token")
    if code in _META_PERMISSION:
        return Verdict(Action.STOP_PERMISSION, f"Facebook permission missing {message}")
    if code == 100 and subcode == 33:
        return Verdict(Action.MARK_DELETED, message)
    if code in _META_TRANSIENT or error.get("is_transient") or status >= 500:
        return Verdict(Action.BACKOFF, message)
    return Verdict(Action.BAD_QUERY, message)


_CLASSIFIERS: dict[str, Classifier] = {
    "x": _x,
    "bluesky": _bluesky,
    "mastodon": _mastodon,
    "facebook": _facebook,
}
