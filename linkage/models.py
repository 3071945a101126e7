"""Linkage: which member (if any) an account belongs to, how sure we are, and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from evidence.models import Account
from oversight.models import Purpose
from register.models import Member


class TrainedModel(models.Model):
    """A trained probabilistic linkage model (Splink settings with estimated parameters), versioned."""

    version = models.CharField(max_length=64, unique=True)
    trained_at = models.DateTimeField()
    trained_by = models.CharField(max_length=150)
    backend = models.CharField(max_length=16)
    document = models.JSONField(help_text="the model as LinkageModel.save writes it")
    members = models.PositiveIntegerField(default=0)
    accounts = models.PositiveIntegerField(default=0)
    labels = models.PositiveIntegerField(default=0, help_text="reviewer-confirmed pairs used to estimate it")

    class Meta:
        ordering = ["-trained_at", "-pk"]

    def __str__(self) -> str:
        return f"linkage model {self.version}"


class LinkageRun(models.Model):
    policy = models.CharField(max_length=16)
    model_version = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_considered = models.PositiveIntegerField(default=0)
    links_created = models.PositiveIntegerField(default=0)
    proposals_created = models.PositiveIntegerField(default=0)
    accounts_through = models.BigIntegerField(
        default=0, help_text="highest Account id the model has considered (incremental linking)"
    )
    purpose = models.ForeignKey(
        Purpose,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="linkage_runs",
        help_text="the purpose version it ran under (declared linking runs without one)",
    )

    def __str__(self) -> str:
        return f"linkage run {self.pk} ({self.policy})"


class Link(models.Model):
    class Method(models.TextChoices):
        DECLARED = "declared", "declared by the member"
        PROBABILISTIC = "probabilistic", "probabilistic match"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "proposed (needs a reviewer)"
        CONFIRMED = "confirmed"
        REJECTED = "rejected"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="links")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="links")
    method = models.CharField(max_length=16, choices=Method.choices)
    probability = models.FloatField()
    explanation = models.JSONField(default=dict, help_text="what matched and how much each piece counted")
    status = models.CharField(max_length=16, choices=Status.choices)
    run = models.ForeignKey(LinkageRun, on_delete=models.PROTECT, related_name="links")
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "member"], name="link_unique_pair")]

    def __str__(self) -> str:
        return f"{self.account} → {self.member} ({self.method}, {self.status})"
