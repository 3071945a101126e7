"""Review: cases, their assignment and the decisions reviewers record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from criteria.models import Hit, Rule
from evidence.models import Account
from register.models import Member
from review.workflow import OUTCOME_LABELS, Outcome, State, is_adverse


class Case(models.Model):
    """The hits against one member (or one unlinked account) put before a reviewer."""

    STATE_CHOICES = [(s.value, s.value.replace("_", " ")) for s in State]

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="cases", null=True, blank=True)
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="cases",
        null=True,
        blank=True,
        help_text="set when the author is not linked to a member",
    )
    state = models.CharField(max_length=20, choices=STATE_CHOICES, default=State.OPEN.value)
    severity = models.PositiveSmallIntegerField(help_text="the most severe rule hit (1 = high)")
    hits = models.ManyToManyField(Hit, related_name="cases")
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_cases", null=True, blank=True
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change; guards concurrent edits")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=~Q(state=State.CLOSED.value) & Q(member__isnull=False),
                name="case_one_open_per_member",
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=~Q(state=State.CLOSED.value) & Q(account__isnull=False),
                name="case_one_open_per_account",
            ),
            models.CheckConstraint(
                condition=Q(member__isnull=False) | Q(account__isnull=False), name="case_has_subject"
            ),
        ]
        indexes = [models.Index(fields=["state", "severity", "due_at"])]

    def __str__(self) -> str:
        return f"case {self.pk}"

    @property
    def severity_label(self) -> str:
        return str(Rule.Severity(self.severity).label)

    @property
    def subject_label(self) -> str:
        if self.member_id is not None:
            return str(self.member)
        return f"unlinked account {self.account}"


class Decision(models.Model):
    OUTCOME_CHOICES = [(o.value, OUTCOME_LABELS[o]) for o in Outcome]

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=OUTCOME_CHOICES)
    reason = models.TextField()
    decided_at = models.DateTimeField()
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    sent_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    sent_back_at = models.DateTimeField(null=True, blank=True)
    sent_back_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["decided_at"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} on {self.case}"

    @property
    def is_pending(self) -> bool:
        """An adverse decision nobody has yet signed off or sent back."""
        return is_adverse(Outcome(self.outcome)) and self.signed_off_at is None and self.sent_back_at is None
