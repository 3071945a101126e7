"""Which accounts a collected body names, by the connector that collected it.

A page holding only one account's posts can still carry other people's data: the users a post
mentions or replies to, the posts it quotes, with their authors. Each format's reader lists the
accounts a body names next to the code that parses that format (``accounts_named`` in
:mod:`~evidence.connectors.x`, :mod:`~evidence.connectors.bluesky`,
:mod:`~evidence.connectors.mastodon`, :mod:`~evidence.connectors.facebook`,
:mod:`~evidence.connectors.files`, :mod:`~evidence.connectors.ndjson`); :func:`accounts_named`
picks one by the exchange's ``connector``. A connector not listed here, or a body its reader
cannot read, gives ``None``: nobody can tell whose data the body holds, so it must be treated as
holding other people's. CSV is not listed: which columns name accounts is in the import's column
mapping, not in the file.

:func:`accounts_in_item` does the same for one stored post's raw item (``Post.raw``: what each
connector keeps as ``Record.raw``), with the readers beside each format's page reader
(``accounts_in_post`` and the like): a post's raw item carries other people's data too (a reblog,
a quoted post with its author and text, mentions, the account replied to). An item whose shape
its reader does not know, or a connector without an item reader (CSV, whose columns only the
import's mapping explains), gives ``None``.

:func:`strangers` compares the names with known accounts (by platform id, else by handle).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from evidence.connectors import bluesky, facebook, files, mastodon, ndjson, x
from evidence.connectors.base import Named, UnreadableBody

Namer = Callable[[bytes, str], frozenset[Named]]

NAMERS: dict[str, Namer] = {
    # X API v2 responses (search, timelines, lookups, compliance), the filtered stream's NDJSON batches
    "x_search": x.accounts_named,
    "x_stream": x.accounts_named,
    "x_timeline": x.accounts_named,
    "x_lookup": x.accounts_named,
    "x_compliance": x.accounts_named,
    "x_context": x.accounts_named,
    # Bluesky searchPosts / getPosts responses, Jetstream batches (NDJSON frames)
    "bluesky_search": bluesky.accounts_named,
    "bluesky_recheck": bluesky.accounts_named,
    "bluesky_context": bluesky.accounts_named,
    "bluesky_jetstream": bluesky.accounts_named,
    # Mastodon statuses, from the instance the exchange's URL names
    "mastodon_hashtag": mastodon.accounts_named,
    "mastodon_search": mastodon.accounts_named,
    "mastodon_recheck": mastodon.accounts_named,
    "mastodon_context": mastodon.accounts_named,
    # Facebook Graph API
    "facebook_page": facebook.accounts_named,
    "facebook_recheck": facebook.accounts_named,
    # file formats
    "twarc_ndjson": files.twarc_accounts_named,
    "zeeschuimer_ndjson": files.zeeschuimer_accounts_named,
    ndjson.NAME: ndjson.accounts_named,
}


ItemNamer = Callable[[Any, str], frozenset[Named]]

ITEM_NAMERS: dict[str, ItemNamer] = {
    # a v2 post object with its author inlined (the filtered stream adds matching_rules)
    "x_search": x.accounts_in_post,
    "x_stream": x.accounts_in_post,
    "x_timeline": x.accounts_in_post,
    "x_lookup": x.accounts_in_post,
    "x_compliance": x.accounts_in_post,
    "x_context": x.accounts_in_post,
    # a post view; a Jetstream commit frame
    "bluesky_search": bluesky.accounts_in_post,
    "bluesky_recheck": bluesky.accounts_in_post,
    "bluesky_context": bluesky.accounts_in_post,
    "bluesky_jetstream": bluesky.accounts_in_post,
    # a Status entity
    "mastodon_hashtag": mastodon.accounts_in_status,
    "mastodon_search": mastodon.accounts_in_status,
    "mastodon_recheck": mastodon.accounts_in_status,
    "mastodon_context": mastodon.accounts_in_status,
    # a Graph API post or comment
    "facebook_page": facebook.accounts_in_item,
    "facebook_recheck": facebook.accounts_in_item,
    # file formats
    "twarc_ndjson": files.twarc_accounts_in_post,
    "zeeschuimer_ndjson": files.zeeschuimer_accounts_in_post,
    ndjson.NAME: ndjson.accounts_in_item,
}


def accounts_in_item(connector: str, raw: Any, url: str = "") -> frozenset[Named] | None:
    """The accounts one raw post item collected by ``connector`` names (``url``: the page it came
    from, if any); ``None`` when that cannot be told (no item reader for the connector, or an item
    its reader does not know)."""
    namer = ITEM_NAMERS.get(connector)
    if namer is None:
        return None
    try:
        return namer(raw, url)
    except UnreadableBody:
        return None


def accounts_named(connector: str, body: bytes, url: str = "") -> frozenset[Named] | None:
    """The accounts a body collected by ``connector`` (from ``url``) names; ``None`` when that cannot
    be told (a connector without a reader here, or a body its reader cannot read)."""
    namer = NAMERS.get(connector)
    if namer is None:
        return None
    try:
        return namer(bytes(body), url)
    except UnreadableBody:
        return None


class KnownAccount(Protocol):
    @property
    def platform(self) -> str: ...

    @property
    def platform_id(self) -> str: ...

    @property
    def handle(self) -> str: ...


def _fold(handle: str) -> str:
    return handle.lstrip("@").casefold()


def strangers(names: Iterable[Named], accounts: Iterable[KnownAccount]) -> frozenset[Named]:
    """The names that are none of ``accounts``.

    A name with a platform id is that account only if the id matches (handles change hands); a
    name with only a handle matches a handle, ignoring case and a leading '@'; a name with neither
    matches nobody.
    """
    known = list(accounts)
    ids = {(a.platform, a.platform_id) for a in known if a.platform_id}
    handles = {(a.platform, _fold(a.handle)) for a in known if a.handle}

    def is_known(name: Named) -> bool:
        if name.platform_id:
            return (name.platform, name.platform_id) in ids
        return bool(name.handle) and (name.platform, _fold(name.handle)) in handles

    return frozenset(name for name in names if not is_known(name))
