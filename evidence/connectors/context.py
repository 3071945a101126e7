"""Conversation context: ask a platform, by id, for the posts collected posts answered.

A search matches a reply, not the post it replied to, so a reviewer may see "You'll pay for this"
without what it answered. These connectors are the recheck lookups under their own names (so a
context fetch's runs and exchanges say what they were), asking for *parents* instead of posts
already held:

- **X** ``GET /2/tweets?ids=`` (100 a request), as :class:`~evidence.connectors.x_compliance.XLookup`:
  a post not returned, or reported in ``errors[]``, is gone; an author's protected account is skipped.
- **Bluesky** ``app.bsky.feed.getPosts`` (25 a request), as
  :class:`~evidence.connectors.recheck.BlueskyRecheck`: a uri not returned is gone; an author who
  asked not to be shown to logged-out viewers is skipped.
- **Mastodon** ``GET /api/v1/statuses/:id`` on the instance the child came from, as
  :class:`~evidence.connectors.recheck.MastodonRecheck`: 404/410 is gone; a status that is not
  public, or whose account opted out of indexing, is skipped.

Every answer carries the id as asked, except Mastodon's: a child names its parent by the
instance API URL (``…/api/v1/statuses/<id>``) when the parent's ``uri`` was not on its page, and
the status that comes back is keyed by its ``uri``. :func:`mastodon_status_id` finds the
instance-local id to ask for.
"""

from __future__ import annotations

import re
from typing import Any

from evidence.connectors.recheck import BlueskyRecheck, MastodonRecheck
from evidence.connectors.x_compliance import XLookup

_STATUS_URL = re.compile(r"^https?://[^/]+/api/v1/statuses/(\d+)$")


class XContext(XLookup):
    name = "x_context"
    version = "1"


class BlueskyContext(BlueskyRecheck):
    name = "bluesky_context"
    version = "1"


class MastodonContext(MastodonRecheck):
    name = "mastodon_context"
    version = "1"


def mastodon_status_id(asked: str, child_raw: Any) -> str:
    """The instance-local status id of the parent ``asked`` names; '' when it cannot be told.

    ``asked`` is the child's ``parent_platform_id``: the instance API URL of the status replied to,
    or the ``uri`` of the status replied to (when it was on the same page) or reblogged, whose
    local id is then in the child's raw status (``in_reply_to_id``, ``reblog.id``).
    """
    match = _STATUS_URL.match(asked)
    if match:
        return match.group(1)
    if not isinstance(child_raw, dict):
        return ""
    reblog = child_raw.get("reblog")
    if isinstance(reblog, dict) and reblog.get("uri") == asked and reblog.get("id"):
        return str(reblog["id"])
    reply_to = child_raw.get("in_reply_to_id")
    return str(reply_to) if isinstance(reply_to, str | int) and not isinstance(reply_to, bool) and reply_to else ""
