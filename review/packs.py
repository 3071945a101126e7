"""Evidence packs: a self-contained, verifiable bundle of a case for the disciplinary panel.

A pack is a zip a panel member (not an assay user) reads offline and checks with the script in it:
``index.html`` (the case, the member, the rules and their clauses, each post with its collection
provenance and how the account was linked, the decisions, sign-off, notice and appeal),
``posts/<id>.json`` (each raw post as stored, when it names no one else), ``exchanges/<id>`` (the
HTTP body a post was derived from), ``audit.json`` (the audit events about the case, its posts,
links, notices and appeals), ``manifest.json`` and ``verify.py`` (see :mod:`review.pack_zip`,
:mod:`review.pack_verify`).

Need-to-know: a pack holds only the case's member's data. A probabilistic link says how many other
members were considered, never who. A collected page is included only when every account it names
is one of the case's accounts (:mod:`evidence.connectors.named`: mentions, replies, quoted and
reposted posts, their authors); a page that also carried other accounts' posts, names other
accounts, or comes from a connector whose pages cannot be checked is withheld: listed with its
sha256 and the reason in ``index.html`` and ``manifest.json``, so the organisation can show it on
request. A post's raw item is held to the same rule (:func:`evidence.connectors.named.accounts_in_item`:
a reblog or quoted post with its author and text, mentions, the account replied to): when it names
anyone else, or its shape cannot be read, ``posts/<id>.json`` is left out and listed the same way
(``withheld_posts``); the post's own text, URL, time and sha256 stay in ``index.html``, since the
post's own words are the evidence. The conversation above each post (:mod:`evidence.threads`) is
shown in full where the member wrote it; a post by anyone else is referred to (its platform id, when
it was posted and collected, its sha256), not shown, so the panel knows it exists and can ask for it.

Deterministic: the same case gives a byte-identical pack, so views of the case and earlier builds
are left out of ``audit.json`` (both are in the organisation's audit log). Each build is recorded
(:class:`~review.models.EvidencePack`) and audited as ``case.pack_built`` with the pack's sha256.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from criteria.models import Hit, Rule
from evidence.connectors.base import canonical_json
from evidence.connectors.named import accounts_in_item, accounts_named, strangers
from evidence.highlight import highlight
from evidence.models import Account, Exchange, Post
from evidence.threads import Ancestor, ancestors
from linkage.models import Link
from oversight.models import AuditEvent
from oversight.roles import Role, has_role
from oversight.services import record
from review import pack_zip, workflow
from review.models import Case, Decision, EvidencePack, Notice
from review.notices import CLI_ACTOR
from review.waterfall import Bar, rivals, waterfall
from review.workflow import ADVERSE, Outcome, State

PACK_BUILT = "case.pack_built"
_OTHERS_COUNT = re.compile(r"^(\d+)\b")


class PackError(Exception):
    """A pack that may not be built; the message says why, for the person who asked."""


@dataclass(frozen=True)
class Built:
    record: EvidencePack
    data: bytes
    manifest_sha256: str

    @property
    def filename(self) -> str:
        return f"evidence-pack-case-{self.record.case_id}.zip"


# ---------------------------------------------------------------------------------------------
# who may build one, for which case


def standing_decision(case: Case) -> Decision | None:
    """The case's signed-off adverse decision (the last one), overturned or not."""
    adverse = [o.value for o in ADVERSE]
    signed = case.decisions.filter(outcome__in=adverse, signed_off_at__isnull=False)
    return signed.order_by("-signed_off_at", "-pk").first()


def pack_problem(case: Case) -> str:
    """Why no pack may be built for ``case`` ("" when one may)."""
    if case.member_id is None:
        return "it is about an unlinked account, and a pack is about a member"
    decision = standing_decision(case)
    outcome = Outcome(decision.outcome) if decision is not None else None
    overturned = decision is not None and decision.overturned_at is not None
    problem = workflow.pack_problem(State(case.state), outcome, overturned=overturned)
    if problem:
        return problem
    member = case.member
    if member is not None and member.erased_at is not None:
        return "the member's data was erased"
    if member is not None and member.restricted_at is not None:
        return f"processing of the member's data is restricted (since {member.restricted_at:%Y-%m-%d})"
    return ""


def may_build(actor: Any) -> bool:
    """Operators and leads build packs; the CLI runs with the server's authority."""
    return actor == CLI_ACTOR or has_role(actor, Role.OPERATOR, Role.LEAD)


# ---------------------------------------------------------------------------------------------
# what goes in


# Why a collected page is withheld (manifest.json says it in these words; index.html says more).
CARRIES_OTHERS = "carries posts by other accounts"
NAMES_OTHERS = "names other accounts"
UNCHECKED = "cannot be checked for the accounts it names"


@dataclass
class _ExchangeItem:
    exchange: Exchange
    file: str  # "" when withheld or purged
    other_posts: int  # posts by other accounts derived from the same page
    withheld: str = ""  # why the page is left out (one of the reasons above); "" when included or purged

    @property
    def why(self) -> str:
        """The reason the page is withheld, in full, for index.html."""
        if self.withheld == CARRIES_OTHERS:
            others = self.other_posts
            return f"the page also carried {others} post(s) by other accounts, which are not this member's data"
        if self.withheld == NAMES_OTHERS:
            return (
                "the page names other accounts (mentioned, replied to, quoted or reposted), "
                "whose data is not this member's"
            )
        if self.withheld == UNCHECKED:
            return (
                f"the page's format (connector {self.exchange.connector}) cannot be checked for the accounts "
                "it names, so it may hold other people's data"
            )
        return ""


@dataclass(frozen=True)
class _ContextItem:
    """A post above one of the case's posts in its conversation, as the pack may show it."""

    ancestor: Ancestor
    own: bool  # by one of the member's accounts: shown in full; anyone else's: referred to, not shown


@dataclass
class _PostItem:
    post: Post
    hits: list[Hit] = field(default_factory=list)
    file: str = ""  # "" when withheld or purged
    exchange: _ExchangeItem | None = None
    withheld: str = ""  # why the raw item is left out (NAMES_OTHERS or UNCHECKED); "" when included or purged
    context: list[_ContextItem] = field(default_factory=list)  # the conversation above it, top first
    context_truncated: bool = False

    @property
    def why(self) -> str:
        """The reason the raw item is withheld, in full, for index.html."""
        if self.withheld == NAMES_OTHERS:
            return (
                "the raw record names other accounts (mentioned, replied to, quoted or reposted), "
                "whose data is not this member's"
            )
        if self.withheld == UNCHECKED:
            return (
                f"the raw record's format (connector {self.post.run.connector}) cannot be checked for the "
                "accounts it names, so it may hold other people's data"
            )
        return ""

    @property
    def marked_text(self) -> SafeString:
        # highlight() escapes every character of the text; only its own <mark> tags are markup.
        return mark_safe(highlight(self.post.text, [span for hit in self.hits for span in hit.spans]))  # noqa: S308


@dataclass
class _LinkItem:
    link: Link
    bars: list[Bar]
    declared: str
    others: str  # "N other members were considered", never who


def _posts(case: Case) -> tuple[list[_PostItem], list[Account]]:
    """The case's posts with their hits, and the accounts that count as the member's (for both the
    posts' raw items and the pages they came from)."""
    hits = case.hits.select_related("post__account", "post__run__source", "post__exchange", "rule__ruleset").order_by(
        "post__created_at", "post_id", "rule__severity", "rule__code"
    )
    items: dict[int, _PostItem] = {}
    for hit in hits:
        items.setdefault(hit.post_id, _PostItem(hit.post)).hits.append(hit)
    own = _members_accounts(case, {i.post.account_id for i in items.values() if i.post.account_id is not None})
    own_ids = {a.pk for a in own}
    threads = ancestors(item.post for item in items.values())
    for item in items.values():
        if item.post.purged_at is None:
            item.withheld = _raw_withheld(item.post, own)
            item.file = "" if item.withheld else f"posts/{item.post.pk}.json"
        thread = threads[item.post.pk]
        item.context = [_ContextItem(a, a.post is not None and a.post.account_id in own_ids) for a in thread.top_first]
        item.context_truncated = thread.truncated
    return list(items.values()), own


def _members_accounts(case: Case, authors: set[int]) -> list[Account]:
    """The accounts that count as the member's in a pack: its posts' authors and every account a link
    ties to the member for certain (declared, or confirmed by a person): a page naming the member's
    other account names nobody else."""
    if case.member_id is None:
        return list(Account.objects.filter(pk__in=authors).order_by("pk"))
    linked = Link.objects.filter(member_id=case.member_id, status=Link.Status.CONFIRMED).values_list(
        "account_id", flat=True
    )
    ids = authors | set(linked)
    return list(Account.objects.filter(pk__in=ids).order_by("pk"))


def _raw_withheld(post: Post, own: list[Account]) -> str:
    """Why ``post``'s raw item may not go in a pack about ``own`` accounts ("" when it may)."""
    url = post.exchange.url if post.exchange is not None else ""
    names = accounts_in_item(post.run.connector, post.raw, url)
    if names is None:
        return UNCHECKED
    return NAMES_OTHERS if strangers(names, own) else ""


def _exchanges(items: list[_PostItem], own: list[Account]) -> dict[int, _ExchangeItem]:
    """The pages the posts came from; one is included only when every account it names is the case's.

    Withheld: a page that also carried other accounts' posts, one that names any other account
    (a mention, a reply, a quoted or reposted post), and one whose connector or body cannot be read
    for the accounts it names.
    """
    ids = {i.post.exchange_id for i in items if i.post.exchange_id is not None}
    others = dict(
        Post.objects.filter(exchange_id__in=ids)
        .exclude(account_id__in=[a.pk for a in own])
        .values_list("exchange_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found = {}
    for exchange in Exchange.objects.filter(pk__in=ids).order_by("pk"):
        shared = others.get(exchange.pk, 0)
        withheld = "" if exchange.purged_at is not None else _withheld(exchange, shared, own)
        included = exchange.purged_at is None and not withheld
        found[exchange.pk] = _ExchangeItem(exchange, f"exchanges/{exchange.pk}" if included else "", shared, withheld)
    for item in items:
        if item.post.exchange_id is not None:
            item.exchange = found[item.post.exchange_id]
    return found


def _withheld(exchange: Exchange, other_posts: int, own: list[Account]) -> str:
    """Why ``exchange`` may not go in a pack about ``own`` accounts ("" when it may)."""
    if other_posts:
        return CARRIES_OTHERS
    names = accounts_named(exchange.connector, bytes(exchange.body), exchange.url)
    if names is None:
        return UNCHECKED
    return NAMES_OTHERS if strangers(names, own) else ""


def _others_considered(explanation: dict[str, Any]) -> str:
    """How many other members the model weighed for the account, without naming any of them."""
    for step in explanation.get("evidence", []):
        if step.get("comparison") == "other candidates":
            counted = _OTHERS_COUNT.match(str(step.get("level", "")))
            if counted:
                return f"{counted.group(1)} other member(s) were considered (not named here)"
    found = rivals(explanation)
    if found is None:
        return "whether other members were considered was not recorded"
    return f"{len(found)} other member(s) were considered (not named here)"


def _bars(explanation: dict[str, Any]) -> list[Bar]:
    # The "other candidates" bar stays: its weight is part of the probability; its label is a count.
    return waterfall(explanation.get("evidence", []))


def _links(case: Case, items: list[_PostItem]) -> list[_LinkItem]:
    accounts = {i.post.account_id for i in items if i.post.account_id is not None}
    links = (
        Link.objects.filter(member=case.member, account_id__in=accounts)
        .select_related("account", "reviewed_by", "run")
        .order_by("account_id", "pk")
    )
    out = []
    for link in links:
        explanation = link.explanation or {}
        declared = str(explanation.get("declared", "")) if link.method == Link.Method.DECLARED else ""
        others = _others_considered(explanation) if link.method == Link.Method.PROBABILISTIC else ""
        bars = _bars(explanation) if link.method == Link.Method.PROBABILISTIC else []
        out.append(_LinkItem(link, bars, declared, others))
    return out


def _rules(items: list[_PostItem]) -> list[Rule]:
    rules = {hit.rule_id: hit.rule for item in items for hit in item.hits}
    return sorted(rules.values(), key=lambda r: (r.severity, r.code))


def _audit(case: Case, items: list[_PostItem], links: list[_LinkItem], notices: list[Notice]) -> list[AuditEvent]:
    """The audit events about the case, its posts, links, notices and appeals (views and builds left out)."""

    def about(label: str, ids: list[int]) -> Q:
        return Q(object_type=label, object_id__in=[str(i) for i in ids])

    appeals = [n.appeal.pk for n in notices if hasattr(n, "appeal")]
    refs = (
        about("review.case", [case.pk])
        | about("evidence.post", [i.post.pk for i in items])
        | about("linkage.link", [li.link.pk for li in links])
        | about("review.notice", [n.pk for n in notices])
        | about("review.appeal", appeals)
    )
    events = AuditEvent.objects.filter(refs).exclude(action__endswith="viewed").exclude(action=PACK_BUILT)
    return list(events.order_by("seq"))


def _audit_json(events: list[AuditEvent]) -> bytes:
    document = {
        "about": (
            "The audit events about this case, its posts, account links, notice and appeal, from the "
            "organisation's hash-chained audit log. Views of the case and builds of this pack are left out "
            "(they are in the log). Each event's hash is sha256(prev_hash + newline + canonical JSON of body)."
        ),
        "events": [{"seq": e.seq, "prev_hash": e.prev_hash, "hash": e.hash, "body": e.body()} for e in events],
    }
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _index(case: Case, **context: Any) -> bytes:
    return render_to_string("review/pack/index.html", {"case": case, "member": case.member, **context}).encode()


def render_pack(case: Case) -> pack_zip.Pack:
    """The pack's zip for ``case`` (no checks, no record: see :func:`build_pack`)."""
    items, own = _posts(case)
    exchanges = _exchanges(items, own)
    links = _links(case, items)
    notices = list(case.notices.select_related("appeal", "sent_by").order_by("drafted_at", "pk"))
    decisions = list(
        case.decisions.select_related("reviewer", "signed_off_by", "sent_back_by", "overturned_by").order_by(
            "decided_at", "pk"
        )
    )
    events = _audit(case, items, links, notices)
    index = _index(
        case,
        posts=items,
        links=links,
        rules=_rules(items),
        decisions=decisions,
        standing=standing_decision(case),
        notices=notices,
        events=events,
        exchanges=list(exchanges.values()),
    )
    files: dict[str, bytes] = {"index.html": index, "audit.json": _audit_json(events)}
    posts, withheld_posts = [], []
    for item in sorted(items, key=lambda i: i.post.pk):
        if item.file:
            files[item.file] = canonical_json(item.post.raw)
            posts.append(pack_zip.Raw(item.post.pk, item.file, item.post.sha256))
        elif item.withheld:
            withheld_posts.append(pack_zip.Withheld(item.post.pk, item.post.sha256, item.withheld))
    raws, withheld = [], []
    for ex in sorted(exchanges.values(), key=lambda e: e.exchange.pk):
        if ex.file:
            files[ex.file] = bytes(ex.exchange.body)
            raws.append(pack_zip.Raw(ex.exchange.pk, ex.file, ex.exchange.sha256))
        elif ex.withheld:
            withheld.append(pack_zip.Withheld(ex.exchange.pk, ex.exchange.sha256, ex.withheld))
    return pack_zip.assemble(
        case.pk,
        files,
        posts=posts,
        exchanges=raws,
        withheld=withheld,
        withheld_posts=withheld_posts,
        when=case.closed_at,
    )


def build_pack(case: Case, *, actor: Any) -> Built:
    """Build the pack for ``case``, record and audit the build; raises :class:`PackError` when not allowed."""
    if not may_build(actor):
        raise PackError("only operators and leads build evidence packs")
    with transaction.atomic():
        case = Case.objects.select_related("member").get(pk=case.pk)
        problem = pack_problem(case)
        if problem:
            raise PackError(f"no evidence pack for case {case.pk}: {problem}")
        pack = render_pack(case)
        built = EvidencePack.objects.create(
            case=case,
            built_by=None if actor == CLI_ACTOR else actor,
            built_at=timezone.now(),
            sha256=pack.sha256,
            size=len(pack.data),
        )
        record(
            PACK_BUILT,
            actor=actor,
            obj=case,
            pack=built.pk,
            sha256=pack.sha256,
            size=len(pack.data),
            manifest_sha256=pack.manifest_sha256,
            files=len(pack.names),
        )
    return Built(built, pack.data, pack.manifest_sha256)
