"""The World the `world` fixture builds (see conftest.py), and small helpers for review tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.test import Client

from conftest import PASSWORD
from criteria.models import Hit, Rule, RuleSet
from evidence.models import Account, CollectionRun, Platform, Post
from linkage.models import Link
from register.models import Member
from review.models import Case

POSTED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
_ids = itertools.count(1000)


@dataclass
class World:
    run: CollectionRun
    ruleset: RuleSet
    rules: dict[str, Rule]
    members: dict[str, Member]
    accounts: dict[str, Account]
    links: dict[str, Link]
    posts: list[Post] = field(default_factory=list)

    def account(self, handle: str) -> Account:
        return Account.objects.create(
            platform=Platform.X, platform_id=f"id-{handle}", handle=handle, first_seen=POSTED, last_seen=POSTED
        )

    def post(self, account: Account | None, text: str, **extra: Any) -> Post:
        """A collected post by ``account`` (None: the platform withheld the author)."""
        pid = str(next(_ids))
        raw: dict[str, Any] = {"platform": "x", "id": pid, "text": text}  # as an ndjson import stores it
        if account is not None:
            raw["author"] = {"id": account.platform_id, "handle": account.handle}
        post = Post.objects.create(
            platform=Platform.X,
            platform_id=pid,
            account=account,
            text=text,
            url=f"https://x.example/status/{pid}",
            created_at=POSTED,
            collected_at=POSTED,
            run=self.run,
            raw=raw,
            sha256="0" * 64,
            **extra,
        )
        self.posts.append(post)
        return post

    def hit(self, post: Post, code: str, spans: list[list[int]] | None = None) -> Hit:
        """``post`` matched rule ``code``; by default the span is the rule's word wherever it occurs."""
        if spans is None:
            word = WORDS[code]
            start = post.text.index(word)
            spans = [[start, start + len(word)]]
        return Hit.objects.create(post=post, rule=self.rules[code], ruleset=self.ruleset, spans=spans)

    def hit_text(self, account: Account | None, text: str, code: str) -> Hit:
        return self.hit(self.post(account, text), code)


WORDS = {"ABUSE-1": "idiots", "HATE-2": "vermin", "SPAM-3": "buy now"}


def case_of(subject: Member | Account) -> Case:
    if isinstance(subject, Member):
        return Case.objects.get(member=subject)
    return Case.objects.get(account=subject)


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def assigned(subject: Member | Account, reviewer: Any, *, by: Any) -> Case:
    """Assign the open case about ``subject`` through the service, as an operator or lead would."""
    from review.services import assign_case

    case = case_of(subject)
    return assign_case(case, reviewer, actor=by, expected_version=case.version)
