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
    updated_at = models.DateTimeField(auto_now=True)

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
