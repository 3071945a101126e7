"""Review: cases, their assignment and the decisions reviewers record."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from criteria.models import Hit, Rule
from evidence.models import Account
from register.models import Member
from review.workflow import (
    APPEAL_OUTCOME_LABELS,
    OUTCOME_LABELS,
    AppealOutcome,
    AppealState,
    Outcome,
    State,
    is_adverse,
)


def update_versioned(row: Any, expected_version: int, **changes: Any) -> bool:
    """Write ``changes`` to ``row`` (a Case or an Appeal) only if nobody changed it since ``expected_version``.

    Bumps its ``version``; False, and nothing written, when the row moved on (a stale form).
    """
    manager = type(row)._default_manager
    if manager.filter(pk=row.pk, version=expected_version).update(version=F("version") + 1, **changes) != 1:
        return False
    for field, value in changes.items():
        setattr(row, field, value)
    row.version = expected_version + 1
    return True


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

    @property
    def notices(self) -> NoticeQuerySet:
        """The notices of this case's decisions (found through each notice's decision)."""
        return Notice.objects.of_cases([self.pk])

    @property
    def appeals(self) -> AppealQuerySet:
        """The appeals against this case's notices (found through notice → decision → case)."""
        return Appeal.objects.of_cases([self.pk])


class DecisionQuerySet(models.QuerySet["Decision"]):
    def standing(self) -> DecisionQuerySet:
        """Decisions no appeal has overturned."""
        return self.filter(overturned_at__isnull=True)


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
    overturned_at = models.DateTimeField(null=True, blank=True, help_text="an appeal against it was allowed")
    overturned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ["decided_at"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} on {self.case}"

    @property
    def is_pending(self) -> bool:
        """An adverse decision nobody has yet signed off or sent back."""
        return is_adverse(Outcome(self.outcome)) and self.signed_off_at is None and self.sent_back_at is None


class NoticeQuerySet(models.QuerySet["Notice"]):
    def of_cases(self, cases: Any) -> NoticeQuerySet:
        """Notices on ``cases`` (case ids or a Case queryset): a notice's case is its decision's."""
        return self.filter(decision__case__in=cases)


class Notice(models.Model):
    """What a member is told of a signed-off adverse decision: outcome, reasons, rules, evidence, appeal.

    Drafted at sign-off from the case as it then stood, so the member reads exactly what was
    decided on; an operator or lead checks the draft and sends it. The member's link carries a
    random token of which only the sha256 is stored.

    Its case and member are not stored: they are ``decision.case`` and ``decision.case.member``
    (select_related ``decision__case__member`` where they are shown).
    ``views``, ``first_viewed_at`` and ``last_viewed_at`` are a cache for cheap lists; the record of
    each time the member opened their link is the audit log's ``notice.viewed`` events.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        SENT = "sent", "sent by email"
        TO_POST = "to_post", "to post (no email address)"
        POSTED = "posted", "posted"

    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="notice")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    outcome = models.CharField(max_length=16, choices=Decision.OUTCOME_CHOICES)
    reasons = models.TextField()
    clauses = models.JSONField(default=list, help_text="[{code, title, clause}] of the rules the evidence hit")
    evidence = models.JSONField(
        default=list, help_text="[{text, url, posted_at, sha256, account, rules, linked_by}] as collected"
    )
    appeal_days = models.PositiveSmallIntegerField()
    appeal_contact = models.CharField(max_length=300, blank=True)
    drafted_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True, help_text="emailed, or marked for post")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    email = models.EmailField(blank=True, help_text="the address it was sent to")
    posted_at = models.DateTimeField(null=True, blank=True)
    appeal_due_at = models.DateTimeField(null=True, blank=True, help_text="set when the notice reaches the member")
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, help_text="sha256 of the link's token")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # A cache of the audit log's notice.viewed events (the record), kept for cheap lists and filters.
    first_viewed_at = models.DateTimeField(null=True, blank=True, help_text="cache: the first notice.viewed event")
    last_viewed_at = models.DateTimeField(null=True, blank=True, help_text="cache: the last notice.viewed event")
    views = models.PositiveIntegerField(default=0, help_text="cache: how many notice.viewed events")

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-drafted_at", "-pk"]

    def __str__(self) -> str:
        return f"notice {self.pk} on case {self.case_id}"

    @property
    def case(self) -> Case:
        return self.decision.case

    @property
    def case_id(self) -> int:
        return self.decision.case_id

    @property
    def member(self) -> Member:
        """The member the notice is to: its case's (only a case about a member gets a notice)."""
        member = self.decision.case.member
        if member is None:
            raise ValueError(f"notice {self.pk}: its case {self.case_id} is about no member")
        return member

    @property
    def member_id(self) -> int:
        return self.member.pk

    @property
    def by_post(self) -> bool:
        """It goes to the member on paper (no email address when it was sent): letters, not emails."""
        return self.status in (Notice.Status.TO_POST, Notice.Status.POSTED)

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[Outcome(self.outcome)]


class AppealQuerySet(models.QuerySet["Appeal"]):
    def of_cases(self, cases: Any) -> AppealQuerySet:
        """Appeals on ``cases`` (case ids or a Case queryset), through notice → decision → case."""
        return self.filter(notice__decision__case__in=cases)


class Appeal(models.Model):
    """A member's appeal against a notified decision, decided by a lead independent of it.

    Its decision and case are not stored: they are ``notice.decision`` and ``notice.decision.case``.
    """

    class Via(models.TextChoices):
        MEMBER_PAGE = "member_page", "the member's notice page"
        LETTER = "letter", "letter"
        EMAIL = "email", "email"
        PHONE = "phone", "telephone"
        IN_PERSON = "in_person", "in person"

    class Contact(models.TextChoices):
        ANY = "", "no preference"
        EMAIL = "email", "by email"
        POST = "post", "by post"
        PHONE = "phone", "by telephone"

    STATE_CHOICES = [(s.value, s.value) for s in AppealState]
    OUTCOME_CHOICES = [(o.value, APPEAL_OUTCOME_LABELS[o]) for o in AppealOutcome]

    notice = models.OneToOneField(Notice, on_delete=models.PROTECT, related_name="appeal")
    grounds = models.TextField()
    contact_preference = models.CharField(max_length=8, choices=Contact.choices, blank=True)
    contact_detail = models.CharField(max_length=200, blank=True, help_text="a phone number or address, if given")
    received_at = models.DateTimeField()
    received_via = models.CharField(max_length=16, choices=Via.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="the operator who recorded it for the member; empty when the member appealed online",
    )
    state = models.CharField(max_length=16, choices=STATE_CHOICES, default=AppealState.RECEIVED.value)
    due_at = models.DateTimeField()
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assigned_appeals", null=True, blank=True
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=OUTCOME_CHOICES, blank=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    result_emailed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change; guards concurrent edits")

    objects = AppealQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"appeal {self.pk} on case {self.case_id}"

    @property
    def decision(self) -> Decision:
        return self.notice.decision

    @property
    def decision_id(self) -> int:
        return self.notice.decision_id

    @property
    def case(self) -> Case:
        return self.notice.decision.case

    @property
    def case_id(self) -> int:
        return self.notice.decision.case_id


class EvidencePack(models.Model):
    """One build of a case's evidence pack for the disciplinary panel.

    The pack itself is a file handed to the panel (assay keeps no copy); this row records that it
    was built, by whom, and its sha256, so the organisation can confirm a pack is the one it gave.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="packs")
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="empty when built with `assay evidence-pack` on the server",
    )
    built_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64, help_text="sha256 of the zip")
    size = models.PositiveBigIntegerField(help_text="bytes")

    class Meta:
        ordering = ["built_at", "pk"]

    def __str__(self) -> str:
        return f"evidence pack {self.pk} of {self.case}"


class ConflictQuerySet(models.QuerySet["Conflict"]):
    def about(self, case: Case) -> ConflictQuerySet:
        """Conflicts with the person ``case`` is about: its member (and their confirmed accounts), or its account."""
        if case.member_id is None:
            return self.filter(account_id=case.account_id) if case.account_id is not None else self.none()
        from linkage.models import Link  # linkage sits below review: the import is allowed, kept local for startup

        confirmed = Link.objects.filter(member_id=case.member_id, status=Link.Status.CONFIRMED).values("account_id")
        return self.filter(Q(member_id=case.member_id) | Q(account_id__in=confirmed))

    def cases(self) -> models.QuerySet[Case]:
        """The cases about the people these conflicts are with: the inverse of :meth:`about`."""
        from linkage.models import Link

        accounts = self.filter(account__isnull=False).values("account_id")
        owners = Link.objects.filter(account_id__in=accounts, status=Link.Status.CONFIRMED).values("member_id")
        members = self.filter(member__isnull=False).values("member_id")
        return Case.objects.filter(Q(member_id__in=members) | Q(member_id__in=owners) | Q(account_id__in=accounts))


class Conflict(models.Model):
    """A reviewer or lead's declared conflict of interest with the person a case is about.

    It is about the person, not the case: they are never given that person's cases, never sign off a
    decision about them and never decide their appeal, now or later. The reason stays here, not in the
    append-only audit log (it may say how they know the member), so erasure can remove it.
    """

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conflicts")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="conflicts", null=True, blank=True)
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="conflicts", null=True, blank=True,
        help_text="set when the case was about an account no member is confirmed to own",
    )  # fmt: skip
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, related_name="conflicts", null=True, blank=True,
        help_text="the case it was declared on",
    )  # fmt: skip
    reason = models.TextField()
    declared_at = models.DateTimeField()

    objects = ConflictQuerySet.as_manager()

    class Meta:
        ordering = ["declared_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(member__isnull=False) | Q(account__isnull=False), name="conflict_has_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"conflict of {self.person_id} with {self.member_id or self.account_id}"


class SecondLook(models.Model):
    """A decision that found no breach, picked at random for a second look by a lead who took no part in it.

    The decision stands as recorded whatever the lead finds. Disagreeing puts the case's hits before
    a reviewer again: in a new case, or the member's (or account's) open one (``reopened_case``).
    The reviewer who decided is never told their decision was picked.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="second_looks")
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="second_look")
    selected_at = models.DateTimeField()
    looked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    looked_at = models.DateTimeField(null=True, blank=True)
    agrees = models.BooleanField(null=True, blank=True, help_text="empty until a lead has looked")
    note = models.TextField(blank=True)
    reopened_case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, related_name="+", null=True, blank=True,
        help_text="where a disagreement put the hits: a new case, or the subject's open one",
    )  # fmt: skip

    class Meta:
        ordering = ["selected_at", "pk"]
        indexes = [models.Index(fields=["looked_at", "selected_at"])]

    def __str__(self) -> str:
        return f"second look {self.pk} at {self.case}"

    @property
    def pending(self) -> bool:
        return self.looked_at is None
