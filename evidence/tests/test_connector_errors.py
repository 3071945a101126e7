"""Every documented error payload maps to the one action the platform's documentation implies."""

from __future__ import annotations

import json

import pytest

from evidence.connectors.errors import Action, classify, reset_wait
from evidence.tests.fakes.server import fixture

NOW = 1767261000.0  # 2026-01-01T09:50:00Z

CASES = [
    ("x", "error_400_invalid_query", Action.BAD_QUERY, None),
    ("x", "error_401_unauthorized", Action.STOP_AUTH, None),
    ("x", "error_403_client_not_enrolled", Action.STOP_PERMISSION, None),
    ("x", "error_429_rate_limit", Action.WAIT_FOR_RESET, 600.0),
    ("x", "error_429_usage_capped", Action.STOP_QUOTA, None),
    ("x", "error_503_service_unavailable", Action.BACKOFF, None),
    ("x", "lookup_partial_errors_200", Action.OK, None),
    ("bluesky", "error_400_bad_query", Action.BAD_QUERY, None),
    ("bluesky", "error_400_expired_token", Action.STOP_AUTH, None),
    ("bluesky", "error_403_public_appview_search", Action.STOP_PERMISSION, None),
    ("bluesky", "error_429_rate_limited", Action.WAIT_FOR_RESET, 900.0),
    ("bluesky", "error_502_upstream_failure", Action.BACKOFF, None),
    ("mastodon", "error_401_invalid_token", Action.STOP_AUTH, None),
    ("mastodon", "error_404_deleted_status", Action.MARK_DELETED, None),
    ("mastodon", "error_422_public_timeline_disabled", Action.STOP_AUTH, None),
    ("mastodon", "error_429_rate_limited", Action.WAIT_FOR_RESET, 0.0),  # its ISO reset, 09:05, has passed
    ("facebook", "error_app_rate_limit_code4", Action.WAIT_FOR_RESET, None),
    ("facebook", "error_buc_rate_limit_code32", Action.WAIT_FOR_RESET, 19 * 60.0),
    ("facebook", "error_ppca_not_approved_code10", Action.STOP_PERMISSION, None),
    ("facebook", "error_token_expired_code190", Action.STOP_AUTH, None),
    ("facebook", "error_object_gone_code100", Action.MARK_DELETED, None),
    ("facebook", "error_transient_code2", Action.BACKOFF, None),
]


@pytest.mark.parametrize(("platform", "name", "action", "wait"), CASES, ids=[c[1] for c in CASES])
def test_each_documented_response_has_one_action(platform, name, action, wait):
    response = fixture(platform, name)["response"]
    headers = {k.lower(): v for k, v in response["headers"].items()}
    body = response["body_text"].encode() if "body_text" in response else json.dumps(response["body"]).encode()

    verdict = classify(platform, response["status"], headers, body, NOW)

    assert verdict.action is action
    if wait is not None:
        assert verdict.wait_seconds == pytest.approx(wait)
    if action is not Action.OK:
        assert verdict.reason


def test_meta_throttling_is_read_from_the_code_not_the_status():
    body = json.dumps({"error": {"code": 613, "message": "Calls to this api have exceeded the rate limit."}})
    assert classify("facebook", 400, {}, body.encode(), NOW).action is Action.WAIT_FOR_RESET


def test_reset_headers_in_every_dialect():
    assert reset_wait({"x-rate-limit-reset": str(int(NOW) + 60)}, NOW) == 60
    assert reset_wait({"ratelimit-reset": "30"}, NOW) == 30  # a delta, as in the IETF draft
    assert reset_wait({"x-ratelimit-reset": "2026-01-01T09:51:00Z"}, NOW) == 60
    assert reset_wait({"retry-after": "12"}, NOW) == 12
    assert reset_wait({"retry-after": "Thu, 01 Jan 2026 09:50:20 GMT"}, NOW) == 20
    # the server's Date beats a skewed local clock
    skewed = {"x-rate-limit-reset": str(int(NOW) + 60), "date": "Thu, 01 Jan 2026 09:50:30 GMT"}
    assert reset_wait(skewed, NOW) == 30
    assert reset_wait({}, NOW) is None
