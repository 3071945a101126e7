"""The roles people have in assay, as Django groups. Need-to-know follows from the role."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    OPERATOR = "operator"  # compliance staff: run collections, rule sets, triage, assign cases
    REVIEWER = "reviewer"  # volunteer reviewers: only the cases assigned to them
    LEAD = "lead"  # senior reviewers: all cases, sign-off of adverse decisions
    OVERSIGHT = "oversight"  # the oversight body: aggregates and rule sets, never members' posts


ROLE_HELP = {
    Role.OPERATOR: "runs collections, rule sets and triage; sees and assigns all cases",
    Role.REVIEWER: "sees and decides only the cases assigned to them",
    Role.LEAD: "sees all cases; signs off adverse decisions",
    Role.OVERSIGHT: "sees aggregates and rule sets, never members' posts",
}


def roles_of(user: Any) -> set[Role]:
    """The roles a user holds (superusers count as operators)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    names = {g.name for g in user.groups.all()}
    found = {r for r in Role if r.value in names}
    if user.is_superuser:
        found.add(Role.OPERATOR)
    return found


def has_role(user: Any, *roles: Role) -> bool:
    return bool(roles_of(user) & set(roles))


def request_roles(request: Any) -> set[Role]:
    """The signed-in user's roles, looked up once per request (views ask several times)."""
    cached: set[Role] | None = getattr(request, "_assay_roles", None)
    if cached is None:
        cached = roles_of(request.user)
        request._assay_roles = cached
    return cached


# Who opens the oversight dashboard: the oversight body, and the staff whose work it counts.
DASHBOARD_ROLES = frozenset({Role.OVERSIGHT, Role.OPERATOR, Role.LEAD})
# Roles whose work is the case queue.
CASE_ROLES = frozenset({Role.OPERATOR, Role.LEAD, Role.REVIEWER})
# The sources pages: operators and leads in full, oversight their counts; reviewers work cases only.
SOURCE_ROLES = frozenset({Role.OPERATOR, Role.LEAD, Role.OVERSIGHT})


def sees_dashboard(roles: set[Role]) -> bool:
    return bool(roles & DASHBOARD_ROLES)


def landing(roles: set[Role]) -> str:
    """The URL name where a user with ``roles`` starts: the queue if they work cases, else the dashboard."""
    if roles & CASE_ROLES or not roles & DASHBOARD_ROLES:
        return "review-queue"
    return "oversight-dashboard"
