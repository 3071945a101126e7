"""Criteria's personal data: rule hits on a member's posts (which rule, where in the text).

A post with a hit that triage has not yet put in a case is held: retention waits for the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from criteria.models import Hit
from evidence.models import Post
from oversight.privacy import Category, register_category, register_held_rows


def _export_hits(hits: QuerySet[Hit]) -> list[dict[str, Any]]:
    rows = hits.select_related("rule", "ruleset", "post").order_by("post__created_at", "pk")
    return [
        {
            "post_id": hit.post_id,
            "post_sha256": hit.post.sha256,
            "rule": hit.rule.code,
            "rule_title": hit.rule.title,
            "rulebook_clause": hit.rule.clause,
            "severity": hit.rule.get_severity_display(),
            "ruleset": f"{hit.ruleset.name} v{hit.ruleset.version}",
            "spans": hit.spans,
            "scores": hit.scores,
            "found_at": hit.created_at,
        }
        for hit in rows
    ]


def _awaiting_triage(now: datetime) -> QuerySet[Post]:
    return Post.objects.filter(pk__in=Hit.objects.filter(cases__isnull=True).values("post_id"))


register_held_rows(Post, _awaiting_triage)
register_category(
    Category(
        key="criteria.hit",
        label="rule hits on those posts",
        retention="kept with the case they are in; deleted when it expires or on erasure",
        rows=lambda scope: Hit.objects.filter(post__account_id__in=scope.account_ids),
        export=_export_hits,
        erase_order=20,
    )
)
