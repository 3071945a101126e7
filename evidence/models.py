"""Evidence: where posts came from, the accounts that wrote them, and the posts themselves.

The raw HTTP :class:`Exchange` is the evidence, stored append-only; Posts and Accounts are derived
from it (``assay`` can re-derive them when a mapping is fixed). A Post's raw payload and its sha256
never change after collection; a platform deletion sets ``deleted_at`` and never removes the row.
Credentials are never stored: a Source names the environment variable that holds its token.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models

from oversight.models import Purpose


class Platform(models.TextChoices):
    X = "x", "X"
    BLUESKY = "bluesky", "Bluesky"
    MASTODON = "mastodon", "Mastodon"
    FACEBOOK = "facebook", "Facebook"
    FILE = "file", "File import"


class Source(models.Model):
    """A configured origin of posts: a platform query, or a kind of file import."""

    name = models.CharField(max_length=100, unique=True)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    connector = models.CharField(max_length=64, help_text="connector module, e.g. 'ndjson' or 'x_search'")
    query = models.TextField(blank=True, help_text="the platform query (a page id for Facebook, a path for files)")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    base_url = models.CharField(
        max_length=500, blank=True, help_text="API base URL or Mastodon instance; blank: the platform's own"
    )
    since = models.DateTimeField(null=True, blank=True, help_text="start of the query window")
    until = models.DateTimeField(null=True, blank=True, help_text="end of the query window; blank: now")
    every_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="collect on this schedule; blank: only when asked"
    )
    credential_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="name of the environment variable holding the token (NAME_FILE also works); never the token",
    )
    spending_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="X bills per post read: the most posts to read in a calendar month"
    )
    options = models.JSONField(default=dict, blank=True, help_text="connector options (page_size, full_archive, …)")
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="when the worker next collects it")
    queued_at = models.DateTimeField(null=True, blank=True, help_text="a collection job is waiting for a worker")
    purpose = models.ForeignKey(
        Purpose,
        on_delete=models.PROTECT,
        null=True,
        related_name="sources",
        help_text="the recorded purpose it collects for; it collects only while that purpose is approved and current",
    )

    def __str__(self) -> str:
        return self.name


class CollectionRun(models.Model):
    """One run of a source: its provenance, counts and resumable cursor."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        STOPPED = "stopped"  # the platform said stop (auth, quota, permission, query, long rate limit)
        FAILED = "failed"  # an unexpected error; the cursor is still valid

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="runs")
    trigger = models.CharField(max_length=16, blank=True, help_text="cli, worker or ui")
    connector = models.CharField(max_length=64)
    connector_version = models.CharField(max_length=32)
    query = models.TextField(blank=True, help_text="query, or the imported file's path")
    input_sha256 = models.CharField(max_length=64, blank=True, help_text="for file imports: the file's sha256")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    cursor = models.JSONField(default=dict, blank=True, help_text="where to resume; committed with the data")
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    window_since = models.DateTimeField(null=True, blank=True)
    window_until = models.DateTimeField(null=True, blank=True)
    deleted = models.PositiveIntegerField(default=0, help_text="posts the platform reported gone")
    skipped = models.PositiveIntegerField(default=0, help_text="items not collected by policy (protected, noindex)")
    unlinkable = models.PositiveIntegerField(default=0, help_text="posts imported without an author")
    read = models.PositiveIntegerField(default=0, help_text="items the platform returned (X bills these)")
    pages = models.PositiveIntegerField(default=0)
    exchanges = models.PositiveIntegerField(default=0)
    stop_action = models.CharField(max_length=32, blank=True, help_text="why the platform made the run stop")
    resume_after = models.DateTimeField(null=True, blank=True)
    owner = models.CharField(max_length=200, blank=True, help_text="host:pid of the process running it")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    purpose = models.ForeignKey(
        Purpose,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="collection_runs",
        help_text="the purpose version the run collected under",
    )

    def __str__(self) -> str:
        return f"run {self.pk} of {self.source}"


class Exchange(models.Model):
    """One HTTP request and its response exactly as received: the evidence Posts are derived from.

    Append-only. Request headers (where credentials travel) are never captured.
    """

    class Role(models.TextChoices):
        PAGE = "page"  # a response that records were derived from
        ATTEMPT = "attempt"  # a failed try before it (429, 5xx): shows the limits were obeyed
        STOP = "stop"  # the response that stopped the run

    run = models.ForeignKey(CollectionRun, on_delete=models.PROTECT, related_name="exchange_set")
    seq = models.PositiveIntegerField(help_text="order within the run")
    page = models.PositiveIntegerField(default=0, help_text="the run's page number this exchange belongs to")
    role = models.CharField(max_length=8, choices=Role.choices)
    method = models.CharField(max_length=8)
    url = models.TextField()
    params = models.JSONField(default=dict)
    status = models.PositiveSmallIntegerField()
    headers = models.JSONField(default=list, help_text="response headers as [name, value] pairs")
    body = models.BinaryField()
    retrieved_at = models.DateTimeField()
    connector = models.CharField(max_length=64)
    connector_version = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64, help_text="sha256 of the body bytes")
    purged_at = models.DateTimeField(
        null=True, blank=True, help_text="retention emptied the body once every post from it was purged; sha256 stays"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="exchange_unique_seq")]

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("an exchange is evidence: it is never changed once stored")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("an exchange is evidence: it is never deleted")


class Account(models.Model):
    """A platform account, keyed by its stable platform id (not its handle, which can change)."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    platform_id = models.CharField(max_length=255)
    handle = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    bio = models.TextField(blank=True)
    location = models.CharField(max_length=255, blank=True)
    url = models.URLField(max_length=500, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "platform_id"], name="account_unique_platform_id")]
        indexes = [models.Index(fields=["platform", "handle"])]

    def __str__(self) -> str:
        return (
            f"@{self.handle} ({self.get_platform_display()})" if self.handle else f"{self.platform}:{self.platform_id}"
        )


class AccountObservation(models.Model):
    """A handle and name an account was seen with: a row when first seen and whenever they change,
    so linkage can match handles the account used before."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="observations")
    handle = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    observed_at = models.DateTimeField()
    run = models.ForeignKey(CollectionRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["handle"])]

    def __str__(self) -> str:
        return f"{self.account_id}: @{self.handle} at {self.observed_at:%Y-%m-%d}"


class Post(models.Model):
    """A collected public post, reply, repost, quote or comment, kept as evidence."""

    class Kind(models.TextChoices):
        POST = "post"
        REPLY = "reply"
        REPOST = "repost"
        QUOTE = "quote"
        COMMENT = "comment"

    platform = models.CharField(max_length=16, choices=Platform.choices)
    platform_id = models.CharField(max_length=255)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="posts", null=True, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.POST)
    parent_platform_id = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True)
    lang = models.CharField(max_length=16, blank=True)
    url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="when the author posted it")
    collected_at = models.DateTimeField()
    run = models.ForeignKey(CollectionRun, on_delete=models.PROTECT, related_name="posts")
    raw = models.JSONField(help_text="the record exactly as collected")
    sha256 = models.CharField(max_length=64, help_text="sha256 of the canonical JSON of raw")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="when the platform reported it deleted")
    deleted_reason = models.CharField(max_length=300, blank=True, db_default="")
    exchange = models.ForeignKey(
        Exchange, on_delete=models.PROTECT, null=True, blank=True, related_name="posts", help_text="derived from"
    )
    purged_at = models.DateTimeField(
        null=True, blank=True, help_text="retention or erasure dropped text and raw; id, times and sha256 stay"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "platform_id"], name="post_unique_platform_id")]
        indexes = [
            # Deleted posts are few: oversight's figures and retention find them without reading every post.
            # (platform first: the figure counts them by platform from the index alone.)
            models.Index(
                fields=["platform", "deleted_at"], condition=models.Q(deleted_at__isnull=False), name="post_deleted"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.platform_id}"


class Quarantine(models.Model):
    """A record that could not be imported, kept with where it came from and why."""

    run = models.ForeignKey(CollectionRun, on_delete=models.CASCADE, related_name="quarantine", null=True, blank=True)
    origin = models.CharField(max_length=500, help_text="file path or source name")
    position = models.CharField(max_length=64, help_text="line number, row or page")
    reason = models.TextField()
    raw = models.TextField(blank=True)
    raw_sha256 = models.CharField(
        max_length=64, default="", help_text="sha256 of raw: the same bad record is kept once"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "quarantine"
        constraints = [
            models.UniqueConstraint(fields=["origin", "position", "raw_sha256"], name="quarantine_unique_record")
        ]

    def __str__(self) -> str:
        return f"{self.origin}:{self.position}: {self.reason}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.raw_sha256 = self.digest(self.raw)
        super().save(*args, **kwargs)

    @staticmethod
    def digest(raw: str) -> str:
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class ParentLookup(models.Model):
    """A parent post a context fetch asked its platform for, by the id its children name it with,
    and what the platform answered: the post (now held), gone, or withheld by policy.

    One row per (platform, asked id), so a parent is asked once: one the platform no longer shows
    is not asked again, and the case page can say so. ``asked_id`` is the child's
    ``parent_platform_id`` as stored; it differs from the post's own id only on Mastodon, where a
    child may name its parent by the instance API URL while the post is keyed by its ``uri``.
    """

    class Outcome(models.TextChoices):
        FETCHED = "fetched"  # the platform returned it: ``post`` is it
        GONE = "gone"  # deleted, or no longer visible (protected, suspended, taken down)
        WITHHELD = "withheld"  # returned, but not collected by policy (protected, noindex, logged-out opt-out)

    platform = models.CharField(max_length=16, choices=Platform.choices)
    asked_id = models.CharField(max_length=500, help_text="the parent's id as its children name it")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True, help_text="the platform's word for gone or withheld")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, null=True, blank=True, related_name="asked_as")
    run = models.ForeignKey(CollectionRun, on_delete=models.PROTECT, related_name="parent_lookups")
    exchange = models.ForeignKey(
        Exchange, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="the answer"
    )
    asked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "asked_id"], name="parentlookup_unique_asked")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.asked_id} {self.outcome}"
