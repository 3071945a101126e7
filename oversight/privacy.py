"""The personal-data registry: what each app holds about a member, and how to export, erase and expire it.

``oversight`` imports no other app, so each app declares its own models in ``<app>/personal_data.py``
(found by :meth:`oversight.apps.OversightConfig.ready`) with three kinds of declaration:

- :class:`Category`: rows about a person (``rows(scope)``), how to export them for a subject access
  request, how to erase them, and the retention rule in words;
- :class:`RetentionRule`: rows past a window (``ASSAY_RETENTION_*`` days) and how to purge them;
- holds: :func:`register_member_hold` (why a member's data cannot be erased yet, and until when) and
  :func:`register_held_rows` (rows that retention must not touch, e.g. posts under an open case);
- :class:`FileCategory`: personal data kept in files rather than rows (the mail outbox,
  :mod:`oversight.outbox`), found by the member's email addresses (:func:`register_addresses_of`).

Adding a model is one ``register_category(Category(...))`` call in its app's ``personal_data.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class Scope:
    """Whom a request is about: a member, and the platform accounts linked to them."""

    member_id: int
    account_ids: tuple[int, ...] = ()
    # Erasure narrows this to accounts linked to nobody else; subject access takes every linked account.
    addresses: tuple[str, ...] = ()  # the member's email addresses, lower case (now, and any we wrote to)


@dataclass(frozen=True)
class Hold:
    """A reason a member's data must be kept for now (an open case, an appeal window, ...)."""

    what: str
    until: datetime | None  # None: until the thing named in ``what`` ends (e.g. the case closes)

    def __str__(self) -> str:
        return f"{self.what} (until {self.until:%Y-%m-%d})" if self.until else f"{self.what} (until it ends)"


def _values(rows: QuerySet[Any]) -> list[dict[str, Any]]:
    return list(rows.values())


def _delete(rows: QuerySet[Any]) -> int:
    return int(rows.delete()[1].get(rows.model._meta.label, 0))


@dataclass(frozen=True)
class Category:
    """One kind of personal data one app holds (usually one model)."""

    key: str  # "app.thing", also the file name in a subject access export
    label: str  # for people: "identifiers the member gave us"
    retention: str  # the retention rule, in words, shown in exports and on the member page
    rows: Callable[[Scope], QuerySet[Any]]
    export: Callable[[QuerySet[Any]], list[dict[str, Any]]] = _values
    erase: Callable[[QuerySet[Any]], int] = _delete
    erase_order: int = 50  # lower first: dependants before the rows they point at
    # Rows that belong to given cases (decisions, notices, appeals): erased before an expired case is deleted.
    of_cases: Callable[[Sequence[int]], QuerySet[Any]] | None = None
    # Erasure that needs to know whom it is about, not only which rows (e.g. to redact their handles out
    # of collection requests): called with the scope instead of ``erase(rows(scope))``.
    erase_scope: Callable[[Scope], int] | None = None
    # An export that needs to know whom it is about (e.g. to leave out records that also name others,
    # UK GDPR Art. 15(4)): called with the scope and the rows instead of ``export(rows)``.
    export_scope: Callable[[Scope, QuerySet[Any]], list[dict[str, Any]]] | None = None

    def erase_for(self, scope: Scope) -> int:
        return self.erase_scope(scope) if self.erase_scope is not None else self.erase(self.rows(scope))

    def export_for(self, scope: Scope, rows: QuerySet[Any]) -> list[dict[str, Any]]:
        return self.export_scope(scope, rows) if self.export_scope is not None else self.export(rows)

    @property
    def model_label(self) -> str:
        return str(self.rows(Scope(0)).model._meta.label_lower)


@dataclass(frozen=True)
class FileCategory:
    """Personal data kept in files, not rows (e.g. copies of sent email): no model, found by address.

    ``find(scope)`` lists what is held about the member (a subject access export lists it through
    ``export``, it need not include it); ``erase(scope)`` removes it and says how much went.
    """

    key: str
    label: str
    retention: str
    find: Callable[[Scope], list[Any]]
    export: Callable[[list[Any]], list[dict[str, Any]]]
    erase: Callable[[Scope], int]


@dataclass(frozen=True)
class RetentionRule:
    """Rows past their window: ``candidates(cutoff)``; held rows are excluded by the registry.

    ``candidates`` may also give a list (files, not rows): nothing holds those.
    """

    key: str
    label: str
    setting: str  # Django setting with the window in days, e.g. "RETENTION_UNMATCHED_POST_DAYS"
    candidates: Callable[[datetime], QuerySet[Any] | list[Any]]
    apply: Callable[[Any], int]  # purge or delete what candidates gave (less held rows); returns how many
    action: str = "purged"  # what apply does, for the summary: "purged", "deleted"
    order: int = 50  # lower first: cases expire (purging their posts) before spent pages are emptied
    # The rows are members (register.Member): erasure's holds (:func:`holds_on`) keep them too.
    member_holds: bool = False


AccountsOf = Callable[[int, bool], list[int]]  # (member id, only_theirs) -> account ids
# (member id, only_theirs) -> email addresses they have or we wrote to; only_theirs leaves out an address
# another member has too (a family's shared address): erasing one must not remove mail about the other.
AddressesOf = Callable[[int, bool], list[str]]


@dataclass
class Registry:
    categories: dict[str, Category] = field(default_factory=dict)
    files: dict[str, FileCategory] = field(default_factory=dict)
    rules: dict[str, RetentionRule] = field(default_factory=dict)
    member_holds: list[Callable[[Scope, datetime], list[Hold]]] = field(default_factory=list)
    held_rows: dict[str, list[Callable[[datetime], QuerySet[Any]]]] = field(default_factory=dict)
    accounts_of: list[AccountsOf] = field(default_factory=list)
    addresses_of: list[AddressesOf] = field(default_factory=list)


registry = Registry()


def register_category(category: Category) -> Category:
    if category.key in registry.categories:
        raise ValueError(f"personal-data category {category.key!r} is declared twice")
    registry.categories[category.key] = category
    return category


def register_file_category(category: FileCategory) -> FileCategory:
    if category.key in registry.files or category.key in registry.categories:
        raise ValueError(f"personal-data category {category.key!r} is declared twice")
    registry.files[category.key] = category
    return category


def register_retention(rule: RetentionRule) -> RetentionRule:
    if rule.key in registry.rules:
        raise ValueError(f"retention rule {rule.key!r} is declared twice")
    registry.rules[rule.key] = rule
    return rule


def register_member_hold(check: Callable[[Scope, datetime], list[Hold]]) -> None:
    registry.member_holds.append(check)


def register_held_rows(model: type[Model], rows: Callable[[datetime], QuerySet[Any]]) -> None:
    """Rows of ``model`` retention must not purge at a given time (``rows`` yields them, any columns)."""
    registry.held_rows.setdefault(model._meta.label_lower, []).append(rows)


def register_accounts_of(resolver: AccountsOf) -> None:
    """How to find a member's platform accounts (linkage declares it; evidence cannot know)."""
    registry.accounts_of.append(resolver)


def register_addresses_of(resolver: AddressesOf) -> None:
    """How to find a member's email addresses (register: theirs now; review: those notices went to)."""
    registry.addresses_of.append(resolver)


# ---------------------------------------------------------------------------------------------
# using the registry


def categories() -> list[Category]:
    """Every declared category, in erasure order."""
    return sorted(registry.categories.values(), key=lambda c: (c.erase_order, c.key))


def file_categories() -> list[FileCategory]:
    """Every declared file category: erased before the rows, while the member's addresses are still known."""
    return sorted(registry.files.values(), key=lambda c: c.key)


def scope_of(member_id: int, *, only_theirs: bool = False, addresses: bool = True) -> Scope:
    """Whom a request is about; ``addresses=False`` skips looking up their email addresses (holds need none)."""
    accounts = sorted({a for resolve in registry.accounts_of for a in resolve(member_id, only_theirs)})
    found = (
        {a.strip().lower() for resolve in registry.addresses_of for a in resolve(member_id, only_theirs)}
        if addresses
        else set()
    )
    return Scope(member_id, tuple(accounts), tuple(sorted(found - {""})))


def without_held(rows: QuerySet[Any], now: datetime) -> QuerySet[Any]:
    """``rows`` minus those any app holds at ``now``."""
    for held in registry.held_rows.get(rows.model._meta.label_lower, []):
        rows = rows.exclude(pk__in=held(now).values("pk"))
    return rows


def holds_on(scope: Scope, now: datetime) -> list[Hold]:
    return [hold for check in registry.member_holds for hold in check(scope, now)]


def without_member_holds(members: QuerySet[Any], now: datetime) -> QuerySet[Any]:
    """``members`` less those a member hold keeps (an open case, an appeal, ...), as erasure would refuse them."""
    held = [
        pk
        for pk in members.values_list("pk", flat=True)
        if holds_on(scope_of(pk, only_theirs=True, addresses=False), now)
    ]
    return members.exclude(pk__in=held) if held else members


def counts(scope: Scope) -> list[tuple[Category | FileCategory, int]]:
    """How much of each category is held about ``scope``: files first, then rows in erasure order."""
    held: list[tuple[Category | FileCategory, int]] = [(f, len(f.find(scope))) for f in file_categories()]
    return held + [(c, c.rows(scope).count()) for c in categories()]


def erase_case_dependants(case_ids: Iterable[int]) -> dict[str, int]:
    """Erase rows hanging off the given cases (decisions, notices, ...), before the cases go."""
    ids = list(case_ids)
    done: dict[str, int] = {}
    for category in categories():
        if category.of_cases is not None:
            done[category.key] = category.erase(category.of_cases(ids))
    return done


def staff_as_roles(user_ids: Iterable[int | None]) -> dict[int, str]:
    """User id -> its role names ("reviewer", "lead, operator"): exports name staff by role, not by name."""
    from django.contrib.auth import get_user_model

    from oversight.roles import Role

    ids = {i for i in user_ids if i is not None}
    users = get_user_model().objects.filter(pk__in=ids).prefetch_related("groups")
    known = {r.value for r in Role}
    roles = {u.pk: ", ".join(sorted(g.name for g in u.groups.all() if g.name in known)) for u in users}
    return {i: roles.get(i) or "staff" for i in ids}
