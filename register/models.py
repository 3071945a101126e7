"""Register: the organisation's members and the identifiers they gave us."""

from __future__ import annotations

from django.db import models


class Member(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        LAPSED = "lapsed"
        SUSPENDED = "suspended"

    number = models.CharField(max_length=32, unique=True, help_text="membership number")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    town = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    joined_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # When an import first marked the membership lapsed (cleared if it is renewed): retention erases a
    # lapsed member ASSAY_RETENTION_LAPSED_MEMBER_DAYS after it, unless a hold applies (register/personal_data.py).
    lapsed_at = models.DateTimeField(null=True, blank=True, help_text="membership lapsed (first seen so) at")
    updated_at = models.DateTimeField(auto_now=True)
    # Data protection (oversight/erasure.py): a restricted member is kept but never newly linked or
    # put in a case (UK GDPR Art. 18); an erased one is an anonymised row whose number_digest stops
    # a later register import from adding the same membership number back (Art. 17).
    restricted_at = models.DateTimeField(null=True, blank=True, help_text="no new links or cases since then")
    restriction_reason = models.TextField(blank=True)
    erased_at = models.DateTimeField(null=True, blank=True, help_text="personal data erased; the row is a tombstone")
    number_digest = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="erased members: sha256 of the old membership number"
    )

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.number})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class DeclaredIdentifier(models.Model):
    """A handle, email or profile URL a member gave us, normalised for exact matching."""

    class Kind(models.TextChoices):
        EMAIL = "email"
        HANDLE = "handle"
        URL = "url"
        PLATFORM_ID = "platform_id", "platform account id"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    platform = models.CharField(max_length=16, blank=True, help_text="empty for emails")
    value = models.CharField(max_length=320, help_text="normalised: lower case, no leading @")
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "kind", "platform", "value"], name="identifier_unique"),
        ]
        indexes = [models.Index(fields=["kind", "platform", "value"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.platform}:{self.value}"
