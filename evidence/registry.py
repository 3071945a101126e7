"""Which connectors a Source can name, how each is built from it, and how to re-derive its pages.

The connectors themselves are pure (``evidence/connectors/``); this module is the bridge: it reads
the source's options and credential (from the environment or a ``*_FILE``, never the database),
and knows, for each connector, how to turn a stored exchange back into records.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from evidence.connectors import bluesky, facebook, files, jetstream, mastodon, x, x_stream, x_timeline
from evidence.connectors import context as contexts
from evidence.connectors import recheck as rechecks
from evidence.connectors import x_compliance as compliance
from evidence.connectors.base import AccountRecord
from evidence.connectors.http import ClientOptions
from evidence.connectors.page import Connector, Derived

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")


class StoredExchange(Protocol):
    """What re-deriving needs of a stored exchange (the model satisfies it)."""

    url: str
    body: bytes | memoryview
    page: int


class ConfigError(ValueError):
    """A source cannot be collected as configured; the message says what to fix."""


@dataclass(frozen=True)
class Spec:
    name: str
    platform: str  # the Source's platform
    record_platform: str  # the platform of the posts it yields (twarc files hold X posts)
    build: Callable[[Any, str, ClientOptions | None], Connector]  # (source, credential, options)
    credential_env: str = ""  # the default variable; "" for connectors that need none
    credential_required: bool = False
    page_size: int = 0  # posts per page, for spending caps
    derive: Callable[[StoredExchange, Any], Derived] | None = None  # (exchange, source) -> records
    file: bool = False

    @property
    def version(self) -> str:
        """The connector's version, without building it (building needs credentials)."""
        return str(_CLASSES[self.name].version)


def _opt(source: Any, key: str, default: Any) -> Any:
    options: Mapping[str, Any] = source.options or {}
    return options.get(key, default)


def _base(source: Any, default: str) -> str:
    return str(source.base_url or default)


def _body(exchange: StoredExchange) -> Any:
    return json.loads(bytes(exchange.body))


def _build_x(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    return x.XSearch(
        credential,
        base_url=_base(source, "https://api.x.com"),
        full_archive=bool(_opt(source, "full_archive", False)),
        max_results=int(_opt(source, "page_size", 100)),
        options=options,
    )


def _build_x_stream(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    rules = _opt(source, "stream_rules", [])
    if not isinstance(rules, list) or not rules:
        raise ConfigError(
            f"{source.name} has no stream rules yet: compute them with `assay stream-rules {source.name}`"
        )
    return x_stream.XStream(
        credential,
        rules,
        base_url=_base(source, "https://api.x.com"),
        duration_seconds=float(_opt(source, "duration_seconds", 300)),
        max_posts=int(_opt(source, "max_posts", 10_000)),
        batch_size=int(_opt(source, "page_size", 100)),
        batch_seconds=float(_opt(source, "batch_seconds", 60)),
        backfill_minutes=int(_opt(source, "backfill_minutes", 0)),
        options=options,
    )


def _build_x_timeline(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    try:
        x_timeline.accounts(source.query)
        return x_timeline.XTimeline(
            credential,
            base_url=_base(source, "https://api.x.com"),
            max_results=int(_opt(source, "page_size", 100)),
            exclude=_opt(source, "exclude", ""),
            since_id=str(_opt(source, "since_id", "")),
            options=options,
        )
    except ValueError as exc:
        raise ConfigError(f"{source.name}: {exc}") from None


def read_secret(name: str) -> str:
    """A second credential (``NAME_FILE`` or ``NAME``), '' when unset; never stored, never logged."""
    file_path = os.environ.get(f"{name}_FILE")
    return Path(file_path).read_text(encoding="utf-8").strip() if file_path else os.environ.get(name, "").strip()


def _bluesky_session(source: Any) -> bluesky.Session:
    """How an expired access JWT is renewed: BLUESKY_REFRESH_JWT, or BLUESKY_IDENTIFIER + BLUESKY_APP_PASSWORD."""
    return bluesky.Session(
        refresh_jwt=read_secret("BLUESKY_REFRESH_JWT"),
        identifier=read_secret("BLUESKY_IDENTIFIER"),
        app_password=read_secret("BLUESKY_APP_PASSWORD"),
        service=str(_opt(source, "session_host", "https://bsky.social")),
    )


def _build_bluesky(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    session = _bluesky_session(source)
    if not credential and not (session.identifier and session.app_password):
        raise ConfigError(
            f"bluesky_search needs a token: set {credential_name(source)} (or its _FILE), "
            "or BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD, in the worker's environment"
        )
    return bluesky.BlueskySearch(
        credential,
        base_url=_base(source, "https://api.bsky.app"),
        limit=int(_opt(source, "page_size", 100)),
        options=options,
        session=session or None,
    )


def _build_jetstream(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    dids = _opt(source, "dids", [])
    if not isinstance(dids, list) or not all(isinstance(d, str) and d.startswith("did:") for d in dids):
        raise ConfigError("a Jetstream source's option 'dids' must be a list of DIDs (did:plc:…, did:web:…)")
    try:
        match = jetstream.TextQuery.parse(str(source.query))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if match.everything and not dids:
        raise ConfigError("a Jetstream query '*' needs the option 'dids'; without it Jetstream is the whole network")
    url = _base(source, jetstream.DEFAULT_URL)
    if not url.startswith(("ws://", "wss://")):
        raise ConfigError(f"a Jetstream URL starts with wss:// (or ws://): {url!r}")
    if urlsplit(url).path in ("", "/"):
        url = url.rstrip("/") + "/subscribe"
    limits = {k: _opt(source, k, None) for k in ("duration_seconds", "max_posts", "max_message_size")}
    return jetstream.BlueskyJetstream(
        url=url,
        dids=dids,
        authors=() if dids else _bluesky_authors(),
        profiles=_bluesky_profiles,
        batch_size=int(_opt(source, "page_size", 100)),
        batch_seconds=float(_opt(source, "batch_seconds", 10)),
        idle_seconds=float(_opt(source, "idle_seconds", 30)),
        rewind_seconds=float(_opt(source, "rewind_seconds", 5)),
        duration_seconds=float(limits["duration_seconds"]) if limits["duration_seconds"] is not None else None,
        max_posts=int(limits["max_posts"]) if limits["max_posts"] is not None else None,
        max_message_size=int(limits["max_message_size"]) if limits["max_message_size"] is not None else None,
        options=options,
    )


def _bluesky_authors() -> set[str]:
    """DIDs of authors whose posts we hold: their deletions matter even when Jetstream is the whole network."""
    from evidence.models import Post

    rows = Post.objects.filter(platform="bluesky", account__isnull=False).values_list("account__platform_id", flat=True)
    return set(rows.distinct())


def _bluesky_profiles(dids: Any) -> dict[str, AccountRecord]:
    """Profiles already known, so a commit's bare DID does not blank a handle or name learnt from search."""
    from evidence.models import Account

    fields = ("platform_id", "handle", "display_name", "bio", "location", "url")
    rows = Account.objects.filter(platform="bluesky", platform_id__in=list(dids)).values_list(*fields)
    return {row[0]: AccountRecord("bluesky", *row) for row in rows}


def _mastodon_base(source: Any) -> str:
    if not source.base_url:
        raise ConfigError("a Mastodon source needs the instance's URL (--base-url https://instance.example)")
    return str(source.base_url)


def _build_mastodon_hashtag(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    limit = int(_opt(source, "page_size", 40))
    return mastodon.MastodonHashtag(_mastodon_base(source), credential, limit=limit, options=options)


def _build_mastodon_search(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    limit = int(_opt(source, "page_size", 40))
    return mastodon.MastodonSearch(_mastodon_base(source), credential, limit=limit, options=options)


def _build_facebook(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    return facebook.FacebookPage(
        credential,
        base_url=_base(source, "https://graph.facebook.com"),
        limit=int(_opt(source, "page_size", 25)),
        comments=bool(_opt(source, "comments", True)),
        options=options,
    )


def _derive_x(exchange: StoredExchange, source: Any) -> Derived:
    return x.derive_response(_body(exchange), f"page {exchange.page}")


def _derive_x_stream(exchange: StoredExchange, source: Any) -> Derived:
    if x_stream.RULES_PATH in exchange.url:  # a rule sync: evidence of the rules in force, no posts
        return Derived()
    return x_stream.derive_batch(bytes(exchange.body), f"page {exchange.page}")


def _derive_x_timeline(exchange: StoredExchange, source: Any) -> Derived:
    return x_timeline.derive_exchange(exchange.url, bytes(exchange.body), f"page {exchange.page}")


def _derive_jetstream(exchange: StoredExchange, source: Any) -> Derived:
    return jetstream.derive_batch(bytes(exchange.body), f"batch {exchange.page}")


def _derive_bluesky(exchange: StoredExchange, source: Any) -> Derived:
    return bluesky.derive_search(_body(exchange), f"page {exchange.page}")


def _derive_mastodon(exchange: StoredExchange, source: Any) -> Derived:
    body = _body(exchange)
    instance = str(source.base_url).rstrip("/")
    if "/api/v1/statuses/" in exchange.url:  # a recheck of one status
        return mastodon.derive_statuses([body], "status", instance)
    statuses = body.get("statuses") if isinstance(body, dict) else body
    return mastodon.derive_statuses(statuses, f"page {exchange.page}", instance)


def _derive_facebook(exchange: StoredExchange, source: Any) -> Derived:
    body = _body(exchange)
    segments = urlsplit(exchange.url).path.rstrip("/").split("/")
    prefix = f"page {exchange.page}"
    if segments[-1] == "comments":
        return facebook.derive_comments(body, prefix, unquote(segments[-2]))
    return facebook.derive_posts(body, prefix)


def _csv(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    mapping = _opt(source, "mapping", {})
    if not isinstance(mapping, dict):
        raise ConfigError("a CSV source needs a column mapping in its options: {'mapping': {'id': 'col', ...}}")
    return files.CsvFile(mapping, str(_opt(source, "record_platform", "file")))


SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("x_search", "x", "x", _build_x, "X_BEARER_TOKEN", True, 100, _derive_x),
        Spec("x_stream", "x", "x", _build_x_stream, "X_BEARER_TOKEN", True, 100, _derive_x_stream),
        Spec("x_timeline", "x", "x", _build_x_timeline, "X_BEARER_TOKEN", True, 100, _derive_x_timeline),
        Spec("bluesky_search", "bluesky", "bluesky", _build_bluesky, "BLUESKY_ACCESS_JWT", False, 100, _derive_bluesky),
        Spec("bluesky_jetstream", "bluesky", "bluesky", _build_jetstream, "", False, 100, _derive_jetstream),
        Spec("mastodon_hashtag", "mastodon", "mastodon", _build_mastodon_hashtag, "MASTODON_ACCESS_TOKEN", False, 40,
             _derive_mastodon),
        Spec("mastodon_search", "mastodon", "mastodon", _build_mastodon_search, "MASTODON_ACCESS_TOKEN", True, 40,
             _derive_mastodon),
        Spec("facebook_page", "facebook", "facebook", _build_facebook, "FACEBOOK_PAGE_TOKEN", True, 25,
             _derive_facebook),
        Spec("twarc_ndjson", "file", "x", lambda s, c, o: files.TwarcNdjson(), file=True),
        Spec("zeeschuimer_ndjson", "file", "x", lambda s, c, o: files.ZeeschuimerNdjson(), file=True),
        Spec("csv", "file", "file", _csv, file=True),
    )
}  # fmt: skip


_CLASSES: dict[str, Any] = {
    "x_search": x.XSearch,
    "x_stream": x_stream.XStream,
    "x_timeline": x_timeline.XTimeline,
    "bluesky_search": bluesky.BlueskySearch,
    "bluesky_jetstream": jetstream.BlueskyJetstream,
    "mastodon_hashtag": mastodon.MastodonHashtag,
    "mastodon_search": mastodon.MastodonSearch,
    "facebook_page": facebook.FacebookPage,
    "twarc_ndjson": files.TwarcNdjson,
    "zeeschuimer_ndjson": files.ZeeschuimerNdjson,
    "csv": files.CsvFile,
}


# Rechecks (evidence/recheck.py, `assay recheck`) record their runs under these names: known here so
# their runs show a version and their exchanges re-derive; they are not connectors a source can name.


def _not_a_source(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    raise ConfigError(f"{source.connector} rechecks collected posts (`assay recheck`); a source cannot use it")


def _derive_x_compliance(exchange: StoredExchange, source: Any) -> Derived:
    return compliance.derive_exchange(exchange.url, bytes(exchange.body))


def _derive_x_lookup(exchange: StoredExchange, source: Any) -> Derived:
    return compliance.derive_stored_lookup(exchange.url, bytes(exchange.body))


def _derive_bluesky_recheck(exchange: StoredExchange, source: Any) -> Derived:
    return rechecks.derive_stored_get_posts(exchange.url, bytes(exchange.body))


def _derive_mastodon_recheck(exchange: StoredExchange, source: Any) -> Derived:
    ok = getattr(exchange, "status", 200) == 200  # a 404/410 was a deletion, applied when it was seen
    return _derive_mastodon(exchange, source) if ok else Derived()


RECHECK_SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("x_compliance", "x", "x", _not_a_source, derive=_derive_x_compliance),
        Spec("x_lookup", "x", "x", _not_a_source, derive=_derive_x_lookup),
        Spec("bluesky_recheck", "bluesky", "bluesky", _not_a_source, derive=_derive_bluesky_recheck),
        Spec("mastodon_recheck", "mastodon", "mastodon", _not_a_source, derive=_derive_mastodon_recheck),
        Spec("facebook_recheck", "facebook", "facebook", _not_a_source, derive=lambda e, s: Derived()),
    )
}
_CLASSES.update(x_compliance=compliance.XCompliance, x_lookup=compliance.XLookup,
                bluesky_recheck=rechecks.BlueskyRecheck, mastodon_recheck=rechecks.MastodonRecheck,
                facebook_recheck=rechecks.FacebookRecheck)  # fmt: skip


# Context fetches (evidence/context.py, `assay fetch-context`) ask for the posts collected posts
# answered, through the recheck lookups under their own names; not connectors a source can name either.


def _not_a_source_context(source: Any, credential: str, options: ClientOptions | None) -> Connector:
    raise ConfigError(f"{source.connector} fetches conversation context (`assay fetch-context`); not a source's")


CONTEXT_SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("x_context", "x", "x", _not_a_source_context, derive=_derive_x_lookup),
        Spec("bluesky_context", "bluesky", "bluesky", _not_a_source_context, derive=_derive_bluesky_recheck),
        Spec("mastodon_context", "mastodon", "mastodon", _not_a_source_context, derive=_derive_mastodon_recheck),
    )
}
_CLASSES.update(x_context=contexts.XContext, bluesky_context=contexts.BlueskyContext,
                mastodon_context=contexts.MastodonContext)  # fmt: skip

# Runs of a source that are not its collection: a collection never resumes or windows from them.
NOT_COLLECTIONS = frozenset(RECHECK_SPECS) | frozenset(CONTEXT_SPECS)


def spec_for(connector: str) -> Spec:
    try:
        if connector in SPECS:
            return SPECS[connector]
        return RECHECK_SPECS[connector] if connector in RECHECK_SPECS else CONTEXT_SPECS[connector]
    except KeyError:
        raise ConfigError(f"unknown connector {connector!r}; choose one of {', '.join(SPECS)}") from None


def credential_name(source: Any) -> str:
    return str(source.credential_env or spec_for(source.connector).credential_env)


def read_credential(source: Any) -> str:
    """The source's token from ``NAME_FILE`` (a path) or ``NAME``; '' when neither is set.

    Raises :class:`ConfigError` when the connector needs one and none is set; the message names
    the variable, never a value.
    """
    spec = spec_for(source.connector)
    name = credential_name(source)
    if not name:
        return ""
    if not ENV_NAME.match(name):
        raise ConfigError(f"credential variable {name!r} is not an environment variable name")
    file_path = os.environ.get(f"{name}_FILE")
    value = Path(file_path).read_text(encoding="utf-8").strip() if file_path else os.environ.get(name, "").strip()
    if not value and spec.credential_required:
        raise ConfigError(f"{source.connector} needs a token: set {name} (or {name}_FILE) in the worker's environment")
    return value
