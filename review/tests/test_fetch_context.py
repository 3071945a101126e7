"""`assay fetch-context` chooses the posts under review (a case's, every open case's, a source's, one
post) and fetches what they answered from the platform's fake on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from criteria.models import Hit
from evidence.collect import collect
from evidence.models import CollectionRun, ParentLookup, Post
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.server import FakeClock
from evidence.tests.fakes.x_compliance import LOOKUP, XRecheckFake
from evidence.tests.platforms import PLATFORMS
from evidence.tests.test_context import HIDDEN, MISSING, ROOT, A, _x_conversation
from review.models import Case
from review.tests.world import World

pytestmark = pytest.mark.django_db

REPLY = "2006812999999999999"  # the documented reply to A
QUOTE = "2006813111111111111"  # the documented quote of A


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[XRecheckFake]:
    platform = PLATFORMS["x"]
    monkeypatch.setenv(*platform.env)
    with XRecheckFake(n=25, clock=clock) as server:
        _x_conversation(server)
        source = platform.source(server, "x-src")
        assert collect(source, options=options(clock)).status == "done"
        yield server
    assert server.errors == []


def _case(world: World, platform_id: str, state: str = "open") -> Case:
    post = Post.objects.get(platform="x", platform_id=platform_id)
    now = timezone.now()
    case = Case.objects.create(account=post.account, severity=1, opened_at=now, due_at=now + timedelta(days=7),
                               state=state, closed_at=now if state == "closed" else None)  # fmt: skip
    case.hits.add(Hit.objects.create(post=post, rule=world.rules["ABUSE-1"], ruleset=world.ruleset, spans=[]))
    return case


def _run(clock: FakeClock, *args: str) -> str:
    out = StringIO()
    call_command("fetch_context", *args, client_options=options(clock), stdout=out)
    return out.getvalue()


def _asked(fake: XRecheckFake) -> list[list[str]]:
    return [sorted(r.params["ids"].split(",")) for r in fake.requests if r.path == LOOKUP]


def test_a_cases_posts_get_their_parents_two_levels_up(world, fake, clock):
    case = _case(world, REPLY)

    out = _run(clock, "--case", str(case.pk))

    assert _asked(fake) == [[A], [ROOT]]  # the reply's parent, then its parent: nothing for other posts
    assert Post.objects.filter(platform_id__in=[A, ROOT], run__connector="x_context").count() == 2
    assert "1 post(s) selected" in out
    assert "context: 2 parent(s) asked, 2 fetched, 0 gone, 0 withheld by policy" in out and "2 level(s) up" in out
    run = CollectionRun.objects.get(connector="x_context")
    assert f"run {run.pk} (x-src, x_context): done" in out


def test_open_cases_leave_closed_ones_out(world, fake, clock):
    _case(world, QUOTE, state="closed")
    generated = Post.objects.filter(parent_platform_id=MISSING).get()
    opened = Case.objects.create(account=generated.account, severity=1, opened_at=timezone.now(), due_at=timezone.now())
    opened.hits.add(Hit.objects.create(post=generated, rule=world.rules["ABUSE-1"], ruleset=world.ruleset, spans=[]))

    out = _run(clock, "--open-cases", "--depth", "1")

    assert _asked(fake) == [[MISSING]]  # the closed case's quote of A is not asked about
    assert ParentLookup.objects.get().outcome == "gone" and "1 gone" in out


def test_a_source_and_single_posts_can_be_chosen(fake, clock):
    hidden_child = Post.objects.get(parent_platform_id=HIDDEN)
    out = _run(clock, "--post", str(hidden_child.pk), "--depth", "1")
    assert _asked(fake) == [[HIDDEN]] and "1 withheld by policy" in out

    out = _run(clock, "--source", "x-src")
    assert _asked(fake)[1:] == [sorted([A, MISSING]), [ROOT]] and "1 already known" in out  # HIDDEN: asked before


def test_a_stopped_source_fails_the_command_saying_it_resumes(fake, clock):
    fake.push(fake.rate_limit(3600), path=LOOKUP)
    with pytest.raises(CommandError, match="run it again"):
        _run(clock, "--source", "x-src")
    assert CollectionRun.objects.get(connector="x_context").status == "stopped"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "choose posts: --case N, --open-cases, --source NAME or --post ID"),
        (("--case", "999"), "--case 999: no such case"),
        (("--post", "999999"), "--post 999999: no such post"),
        (("--source", "nowhere"), "no source 'nowhere'"),
        (("--open-cases", "--depth", "0"), "--depth must be 1 to 10, not 0"),
    ],
)
def test_bad_selections_say_what_is_wrong(db: Any, args: tuple[str, ...], message: str):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        call_command("fetch_context", *args, stdout=StringIO())


def test_the_help_says_it_only_asks_for_public_posts_by_id(capsys):
    with pytest.raises(SystemExit):
        call_command("fetch_context", "--help")
    said = " ".join(capsys.readouterr().out.split())
    assert "asks each platform only for public posts, by id" in said and "--open-cases" in said
