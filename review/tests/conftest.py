"""Review test data: a small fictional organisation built row by row through the ORM.

Members alice (account @alice_x, declared and confirmed) and bob (account @bobby, only a proposed
probabilistic link), an account nobody is linked to (@anon), and one post whose author the
platform withheld. One approved rule set with a rule per severity.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from criteria.models import Rule, RuleSet
from evidence.connectors.base import canonical_sha256
from evidence.models import Account, CollectionRun, Exchange, Platform, Post, Source
from linkage.models import Link, LinkageRun
from register.models import Member
from review.tests.world import POSTED, WORDS, World


@pytest.fixture
def world(cast: dict[str, Any]) -> World:
    source = Source.objects.create(name="x search", platform=Platform.X, connector="ndjson")
    run = CollectionRun.objects.create(
        source=source, connector="ndjson", connector_version="1", started_at=POSTED, status="done"
    )
    ruleset = RuleSet.objects.create(
        name="Code of conduct",
        version=3,
        status=RuleSet.Status.APPROVED,
        created_by=cast["olivia"],
        approved_by=cast["lena"],
        approved_at=POSTED,
    )
    rules = {
        code: Rule.objects.create(
            ruleset=ruleset, code=code, title=title, query=f'"{WORDS[code]}"', clause=clause, severity=severity
        )
        for code, title, clause, severity in [
            ("ABUSE-1", "Abuse of other people", "Rulebook 4.2(a): abuse", 1),
            ("HATE-2", "Dehumanising language", "Rulebook 4.3: dignity", 2),
            ("SPAM-3", "Commercial spam", "Rulebook 9.1: trading", 3),
        ]
    }
    members = {
        "alice": Member.objects.create(number="M-0001", given_name="Alice", family_name="Archer", town="Leeds"),
        "bob": Member.objects.create(number="M-0002", given_name="Bob", family_name="Baker", town="York"),
    }
    accounts = {
        handle: Account.objects.create(
            platform=Platform.X, platform_id=f"id-{handle}", handle=handle, first_seen=POSTED, last_seen=POSTED
        )
        for handle in ["alice_x", "bobby", "anon"]
    }
    linkage_run = LinkageRun.objects.create(policy="declared", model_version="declared-1", started_at=POSTED)
    links = {
        "alice": Link.objects.create(
            account=accounts["alice_x"],
            member=members["alice"],
            method=Link.Method.DECLARED,
            probability=1.0,
            status=Link.Status.CONFIRMED,
            run=linkage_run,
        ),
        "bob": Link.objects.create(
            account=accounts["bobby"],
            member=members["bob"],
            method=Link.Method.PROBABILISTIC,
            probability=0.87,
            explanation={
                "model_version": "test-model-1",
                "evidence": [
                    {"comparison": "prior", "level": "chance two random records match", "weight": -12.0},
                    {"comparison": "given_name", "level": "nickname of the same name", "weight": 6.5},
                    {"comparison": "family_name", "level": "same name", "weight": 7.0},
                    {"comparison": "place", "level": "same town", "weight": 1.4},
                    {"comparison": "birth_year", "level": "missing", "weight": 0.0},
                ],
            },
            status=Link.Status.PROPOSED,
            run=linkage_run,
        ),
    }
    return World(run, ruleset, rules, members, accounts, links)


@pytest.fixture
def hits(world: World) -> World:
    """The standard hits: two for alice, one each for bob's and the unlinked account, one authorless."""
    world.hit_text(world.accounts["alice_x"], "You are all idiots & <fools>", "ABUSE-1")
    world.hit_text(world.accounts["alice_x"], "Great deals, buy now!", "SPAM-3")
    world.hit_text(world.accounts["bobby"], "They are vermin.", "HATE-2")
    world.hit_text(world.accounts["anon"], "buy now, cheap", "SPAM-3")
    world.hit_text(None, "idiots everywhere", "ABUSE-1")
    return world


DECISION_REASON = "Calling other members idiots breaches clause 4.2(a) of the rulebook."


@pytest.fixture
def lars(cast: dict[str, Any]) -> Any:
    """A second lead, who took no part in alice's decision: independent for her appeal."""
    from conftest import PASSWORD
    from oversight.services import create_user

    return create_user("lars", "lead", password=PASSWORD)


@pytest.fixture
def notice(hits: World, cast: dict[str, Any]) -> Any:
    """Alice's case decided (a warning, by rita) and signed off (by lena): its draft notice.

    Alice gave us an email address, so sending it emails her a link.
    """
    from review.models import Notice
    from review.services import record_decision, sign_off, triage
    from review.tests.world import assigned

    alice = hits.members["alice"]
    alice.email = "alice@example.org"
    alice.save()
    triage()
    case = assigned(alice, cast["rita"], by=cast["olivia"])
    record_decision(case, cast["rita"], "warning", DECISION_REASON, expected_version=case.version)
    sign_off(case, cast["lena"], expected_version=case.version)
    return Notice.objects.get(decision__case=case)


def _exchange(world: World, seq: int, body: bytes) -> Exchange:
    return Exchange.objects.create(
        run=world.run,
        seq=seq,
        role=Exchange.Role.PAGE,
        method="GET",
        url=f"https://api.x.example/2/tweets/search/recent?page={seq}",
        status=200,
        body=body,
        retrieved_at=POSTED,
        connector="x_search",
        connector_version="2.1",
        sha256=hashlib.sha256(body).hexdigest(),
    )


@pytest.fixture
def collected(hits: World) -> World:
    """The standard hits with the hashes evidence computes, alice's first post from a page of her own,
    her second from a page shared with bob's post."""
    for post in Post.objects.all():
        Post.objects.filter(pk=post.pk).update(sha256=canonical_sha256(post.raw))
    own = _exchange(hits, 1, b'{"data": [{"id": "alice-1"}]}')
    shared = _exchange(hits, 2, b'{"data": [{"id": "alice-2"}, {"id": "bob-1"}]}')
    alice_first, alice_second, bob_post = hits.posts[:3]
    Post.objects.filter(pk=alice_first.pk).update(exchange=own)
    Post.objects.filter(pk__in=[alice_second.pk, bob_post.pk]).update(exchange=shared)
    return hits


@pytest.fixture
def referred(collected: World, cast: dict[str, Any]) -> Any:
    """alice's case, referred to the panel by rita and signed off by lena."""
    from review.services import triage
    from review.tests.privacy import close_case

    triage()
    return close_case(collected.members["alice"], cast, "refer")
