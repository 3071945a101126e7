"""Evidence: where posts came from, the accounts that wrote them, and the posts themselves.

A Post's raw payload and its sha256 never change after collection; a platform deletion sets
``deleted_at`` and never removes the row.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models


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
    query = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CollectionRun(models.Model):
    """One run of a source: its provenance, counts and resumable cursor."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="runs")
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

    def __str__(self) -> str:
        return f"run {self.pk} of {self.source}"


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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "platform_id"], name="post_unique_platform_id")]

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
