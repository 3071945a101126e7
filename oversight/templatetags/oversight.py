"""Template helpers: the nav entry for those who may see the dashboard, and figure cells as people read them."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from oversight import figures
from oversight.roles import CASE_ROLES, SOURCE_ROLES, Role, request_roles, sees_dashboard

register = template.Library()


@register.inclusion_tag("oversight/_nav.html", takes_context=True)
def oversight_nav(context: Any) -> dict[str, Any]:
    """``<li>`` linking to the dashboard, only for roles that may open it."""
    request = context.get("request")
    shown = request is not None and sees_dashboard(request_roles(request))
    current = shown and getattr(request.resolver_match, "url_name", "") == "oversight-dashboard"
    return {"shown": shown, "current": current}


@register.filter
def works_cases(request: Any) -> bool:
    """Whether the signed-in user's role works the case queue (oversight's does not: it sees aggregates)."""
    return bool(request_roles(request) & CASE_ROLES)


@register.filter
def sees_sources(request: Any) -> bool:
    """Whether the signed-in user's role may open the sources pages (reviewers' may not)."""
    return bool(request_roles(request) & SOURCE_ROLES)


@register.filter
def is_operator(request: Any) -> bool:
    """Whether the signed-in user is an operator (the register's member pages are theirs alone)."""
    return Role.OPERATOR in request_roles(request)


@register.filter
def is_lead(request: Any) -> bool:
    """Whether the signed-in user is a lead (second looks at decisions are theirs alone)."""
    return Role.LEAD in request_roles(request)


@register.simple_tag
def figure_cell(cell: figures.Cell, unit: str = "") -> SafeString:
    """One value: a link, a suppressed count (marked so), or the number with its unit."""
    if isinstance(cell, figures.Link):
        return format_html('<a href="{}">{}</a>', cell.href, cell.text)
    if isinstance(cell, figures.Suppressed):
        return format_html('<span class="suppressed {}">{}</span>', cell.reason, str(cell))
    return format_html("{}", figures.format_cell(cell, unit))
