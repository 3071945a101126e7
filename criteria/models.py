"""Criteria: versioned rule sets, each rule citing a rulebook clause, and the hits they find."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from evidence.models import Post


class RuleSet(models.Model):
    """One version of a named rule set. Editing makes a new draft; a second person approves."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        APPROVED = "approved"
        RETIRED = "retired"

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    scanned_through = models.BigIntegerField(
        default=0, help_text="highest Post id this version has scanned (posts are append-only)"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="ruleset_unique_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.status})"


class Rule(models.Model):
    class Severity(models.IntegerChoices):
        HIGH = 1, "high"
        MEDIUM = 2, "medium"
        LOW = 3, "low"

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    code = models.CharField(max_length=32, help_text="short stable name, e.g. ABUSE-1")
    title = models.CharField(max_length=200)
    query = models.TextField()
    clause = models.CharField(max_length=200, help_text="the rulebook clause this rule enforces")
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ruleset", "code"], name="rule_unique_code")]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"


class Hit(models.Model):
    """A post matched a rule of an approved rule-set version, at these character spans."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="hits")
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="hits")
    ruleset = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="hits")
    spans = models.JSONField(help_text="[[start, end], ...] character offsets into post.text")
    scores = models.JSONField(
        default=dict,
        blank=True,
        help_text="classifier evidence: {predicate: score} for the rule's predicates scored on this post",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "rule"], name="hit_unique_post_rule")]

    def __str__(self) -> str:
        return f"{self.rule.code} on {self.post}"
