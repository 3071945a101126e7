"""assay fetch-context: fetch the posts that the posts under review replied to, quoted or reposted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.context import MAX_DEPTH, fetch_context, posts_of_source
from evidence.management.commands.collect import _chosen
from evidence.models import Post
from oversight.console import progress_bar
from review.models import Case
from review.workflow import State


class Command(BaseCommand):
    help = (
        "Fetch conversation context: the posts that collected posts replied to, quoted or reposted, "
        "when they are not held, up to --depth levels up.\n\n"
        "It asks each platform only for public posts, by id, with the source's credential (X lookup, "
        "Bluesky getPosts, Mastodon statuses/:id), under the source's purpose; protected, private and "
        "opted-out posts are skipped as collection skips them. What comes back is stored as evidence like "
        "any collected post; a parent the platform no longer shows is recorded and not asked again. File "
        "imports are skipped (no platform to ask). Running it again asks nothing already answered."
    )
    stealth_options = ("client_options",)  # tests inject the connector client's clock and sleep

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", type=int, action="append", default=[], metavar="N",
                            help="the posts of case N (repeatable)")  # fmt: skip
        parser.add_argument("--open-cases", action="store_true", help="the posts of every case not closed")
        parser.add_argument("--source", action="append", default=[], metavar="NAME",
                            help="the posts a source collected (name or id; repeatable)")  # fmt: skip
        parser.add_argument("--post", type=int, action="append", default=[], metavar="ID",
                            help="one post, by its id in assay (repeatable)")  # fmt: skip
        parser.add_argument(
            "--depth",
            type=int,
            default=3,
            help=f"levels up to fetch: parents, their parents, ... (1 to {MAX_DEPTH}; default 3)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["depth"] <= MAX_DEPTH:
            raise CommandError(f"--depth must be 1 to {MAX_DEPTH}, not {options['depth']}")
        ids = _selected(options)
        with progress_bar("fetching context", None) as update:
            summary = fetch_context(ids, depth=options["depth"], trigger="cli",
                                    options=options.get("client_options"),
                                    on_progress=lambda s: update(s.asked))  # fmt: skip
        self.stdout.write(f"{len(ids)} post(s) selected")
        self.stdout.write(summary.describe())
        if summary.stopped:
            raise CommandError("some sources stopped (see above); run it again to go on")


def _selected(options: dict[str, Any]) -> list[int]:
    """The ids of the posts chosen; at least one selection is required, and each must exist."""
    if not (options["case"] or options["open_cases"] or options["source"] or options["post"]):
        raise CommandError("choose posts: --case N, --open-cases, --source NAME or --post ID")
    ids: set[int] = set()
    for case_id in options["case"]:
        if not Case.objects.filter(pk=case_id).exists():
            raise CommandError(f"--case {case_id}: no such case")
        ids.update(Post.objects.filter(hits__cases=case_id).values_list("pk", flat=True))
    if options["open_cases"]:
        open_cases = Case.objects.exclude(state=State.CLOSED.value)
        ids.update(Post.objects.filter(hits__cases__in=open_cases).values_list("pk", flat=True))
    for source in _chosen(options["source"]) if options["source"] else []:  # none named is none, not all
        ids.update(posts_of_source(source))
    for post_id in options["post"]:
        if not Post.objects.filter(pk=post_id).exists():
            raise CommandError(f"--post {post_id}: no such post")
        ids.add(post_id)
    return sorted(ids)
