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


def test_the_case_page_offers_the_fetch_queues_it_and_then_shows_the_conversation(
    world, fake, clock, client, django_capture_on_commit_callbacks
):
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from oversight.models import AuditEvent
    from review.tests.world import login

    case, gone_case = _case(world, REPLY), _case(world, _reply_to(MISSING))
    page = reverse("review-case", args=[case.pk])
    login(client, "lena")

    before = client.get(page).text
    assert "This post is in reply to a post assay has not collected" in before
    assert "Fetch the conversation" in before

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("review-fetch-context", args=[case.pk]))

    assert response.status_code == 302
    assert DBTaskResult.objects.filter(task_path__endswith="fetch_context_job").count() == 1  # for the worker
    assert AuditEvent.objects.filter(action="context.requested", actor="lena").exists()
    assert not _asked(fake)  # nothing asked during the request

    _run(clock, "--case", str(case.pk), "--case", str(gone_case.pk))  # what the worker's job does
    after = client.get(page).text

    assert Post.objects.get(platform="x", platform_id=A).text.split()[0] in after
    assert "Die Wurzel des Gesprächs" in after and "Fetch the conversation" not in after
    gone_page = client.get(reverse("review-case", args=[gone_case.pk])).text
    assert "the platform no longer showed it" in gone_page and "Fetch the conversation" not in gone_page


def _reply_to(parent: str) -> str:
    return Post.objects.get(platform="x", parent_platform_id=parent).platform_id


def test_a_closed_case_offers_no_fetch_and_refuses_one(world, fake, clock, client, django_capture_on_commit_callbacks):
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from review.tests.world import login

    case = _case(world, REPLY, state="closed")
    login(client, "lena")

    assert "Fetch the conversation" not in client.get(reverse("review-case", args=[case.pk])).text
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("review-fetch-context", args=[case.pk]))

    assert not DBTaskResult.objects.exists()


def test_rules_never_run_over_posts_fetched_as_context(world, fake, clock):
    from criteria.models import Rule
    from criteria.services import run_rules

    _run(clock, "--case", str(_case(world, REPLY).pk))
    context_posts = set(Post.objects.filter(run__connector="x_context").values_list("pk", flat=True))
    assert len(context_posts) == 2
    # A rule that matches the fetched root ("Die Wurzel des Gesprächs") and nothing the search collected.
    Rule.objects.create(ruleset=world.ruleset, code="ROOT-1", title="t", query='"Wurzel"', clause="c", severity=1)
    world.ruleset.scanned_through = 0
    world.ruleset.save(update_fields=["scanned_through"])

    run_rules()

    assert not Hit.objects.filter(post_id__in=context_posts).exists()
