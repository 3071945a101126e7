"""The conversation above a post: what it replied to, quoted, reposted or commented on.

A reviewer judging "You'll pay for this" has to see what it answered. Collected posts name their
parent (``Post.parent_platform_id``, in the same form as the parent's own ``platform_id``), but the
parent is held only when a collection or a context fetch (:mod:`evidence.context`) brought it in.
:func:`ancestors` walks up from each post as far as we hold the thread (a query or two per level and
platform for all the posts asked about) and says where it stops: at the top of the conversation, at a
post we do not hold (and whether a context fetch found the platform no longer shows it), or at the
depth asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from evidence import context
from evidence.models import ParentLookup, Post

DEPTH = 3  # a reply, what it replied to, and that one's parent: enough to read the exchange

_RELATION = {
    Post.Kind.REPLY: "in reply to",
    Post.Kind.QUOTE: "quoting",
    Post.Kind.REPOST: "reposting",
    Post.Kind.COMMENT: "a comment on",
}


@dataclass(frozen=True)
class Ancestor:
    """One step up the thread: the post ``child`` answers (or the fact that we do not hold it)."""

    relation: str  # how the child relates to it: "in reply to", "quoting", …
    platform: str
    platform_id: str  # as the child names it
    post: Post | None  # None: not collected
    unavailable: ParentLookup | None = None  # not held, and a context fetch found the platform no longer shows it

    @property
    def platform_url(self) -> str:
        """Where a person can look for it on the platform ('' when the id gives no address)."""
        if self.post is not None and self.post.url:
            return self.post.url
        return platform_url(self.platform, self.platform_id)


@dataclass(frozen=True)
class Thread:
    """What is above one post, nearest first, and why the walk stopped."""

    above: tuple[Ancestor, ...]
    truncated: bool  # the thread goes on above the last ancestor shown (the depth was reached)

    @property
    def top_first(self) -> tuple[Ancestor, ...]:
        return tuple(reversed(self.above))

    @property
    def missing(self) -> Ancestor | None:
        """The post the thread stops at because we do not hold it."""
        return self.above[-1] if self.above and self.above[-1].post is None else None


def parent_of(post: Post) -> tuple[str, str] | None:
    """(relation, parent id) if the post answers another, else None."""
    parent = post.parent_platform_id
    if not parent or parent == post.platform_id:
        return None
    return _RELATION.get(Post.Kind(post.kind), "answering"), parent


def ancestors(posts: Iterable[Post], depth: int = DEPTH) -> dict[int, Thread]:
    """Each post's thread above it, as far as we hold it, at most ``depth`` posts up.

    Posts that answer nothing get an empty thread. One query per level for all the posts together.
    """
    posts = list(posts)
    chains: dict[int, list[Ancestor]] = {p.pk: [] for p in posts}
    seen: dict[int, set[tuple[str, str]]] = {p.pk: {(p.platform, p.platform_id)} for p in posts}
    frontier: dict[int, Post] = {p.pk: p for p in posts}  # whose parent to look up next, by the post asked about
    truncated: set[int] = set()
    for level in range(depth + 1):
        wanted: dict[int, tuple[str, str, str]] = {}
        for origin, post in frontier.items():
            parent = parent_of(post)
            if parent is None or (post.platform, parent[1]) in seen[origin]:
                continue  # the top of the thread (or a loop, which a platform should never give)
            if level == depth:
                truncated.add(origin)
                continue
            wanted[origin] = (parent[0], post.platform, parent[1])
        if not wanted:
            break
        held, unavailable = _held({(platform, pid) for _, platform, pid in wanted.values()})
        frontier = {}
        for origin, (relation, platform, pid) in wanted.items():
            found = held.get((platform, pid))
            chains[origin].append(Ancestor(relation, platform, pid, found, unavailable.get((platform, pid))))
            seen[origin].add((platform, pid))
            if found is not None:
                frontier[origin] = found
    return {pk: Thread(tuple(chain), pk in truncated) for pk, chain in chains.items()}


def _held(
    keys: set[tuple[str, str]],
) -> tuple[dict[tuple[str, str], Post], dict[tuple[str, str], ParentLookup]]:
    """The posts held for these (platform, id as a child names it), and those a context fetch found gone."""
    by_platform: dict[str, list[str]] = {}
    for platform, pid in keys:
        by_platform.setdefault(platform, []).append(pid)
    held: dict[tuple[str, str], Post] = {}
    unavailable: dict[tuple[str, str], ParentLookup] = {}
    for platform, ids in sorted(by_platform.items()):
        held.update(((platform, pid), post) for pid, post in context.held(platform, ids).items())
        missing = [pid for pid in ids if (platform, pid) not in held]
        if missing:
            unavailable.update(((platform, pid), lk) for pid, lk in context.gone(platform, missing).items())
    return held, unavailable


def platform_url(platform: str, platform_id: str) -> str:
    """A public address for a post known only by its id, where the platform has one."""
    if platform == "x" and platform_id.isdigit():
        return f"https://x.com/i/web/status/{platform_id}"
    if platform == "bluesky" and platform_id.startswith("at://"):
        parts = platform_id[len("at://") :].split("/")
        if len(parts) == 3 and parts[1] == "app.bsky.feed.post":
            return f"https://bsky.app/profile/{quote(parts[0], safe=':.')}/post/{quote(parts[2], safe='')}"
        return ""
    if platform == "mastodon" and platform_id.startswith("https://") and "/api/" not in platform_id:
        return platform_id  # a status's uri is its public address
    if platform == "facebook" and platform_id.replace("_", "").isdigit():
        return f"https://www.facebook.com/{platform_id}"
    return ""
