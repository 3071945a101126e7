"""Forms for the reviewer's steps. Each carries the case version the page was built from."""

from __future__ import annotations

from typing import Any

from django import forms

from review.models import Appeal
from review.workflow import (
    APPEAL_OUTCOME_LABELS,
    MIN_REASON_LENGTH,
    OUTCOME_LABELS,
    AppealOutcome,
    Outcome,
    outcomes_for,
)

_REASON_HELP = f"At least {MIN_REASON_LENGTH} characters. The member will read this."


class _VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AssignForm(_VersionedForm):
    reviewer = forms.IntegerField(min_value=1)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class AssignNextForm(forms.Form):
    reviewer = forms.IntegerField(min_value=1)
    count = forms.IntegerField(min_value=1, max_value=200, initial=10)


class DecisionForm(_VersionedForm):
    outcome = forms.ChoiceField(
        choices=[("", "Choose an outcome")] + [(o.value, OUTCOME_LABELS[o]) for o in Outcome],
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), min_length=MIN_REASON_LENGTH, help_text=_REASON_HELP
    )

    def __init__(self, *args: Any, about_member: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer only what the workflow allows: no adverse outcome until the account's owner is settled.
        self.fields["outcome"].choices = [("", "Choose an outcome")] + [  # type: ignore[attr-defined]
            (o.value, OUTCOME_LABELS[o]) for o in outcomes_for(about_member=about_member)
        ]
        if not about_member:  # no member is told of a decision about an account nobody is confirmed to own
            self.fields["reason"].help_text = f"At least {MIN_REASON_LENGTH} characters. It stays on the case's record."


class ConflictForm(_VersionedForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=MIN_REASON_LENGTH,
        label="Why",
        help_text=(
            f"How you know them, or what else makes it a conflict, in at least {MIN_REASON_LENGTH} characters. "
            "Leads and operators can read it; it is not put in the audit log, and it goes if the member is erased."
        ),
    )


class LinkForm(_VersionedForm):
    CONFIRM = "confirm"
    REJECT = "reject"

    action = forms.ChoiceField(
        choices=[(CONFIRM, "Confirm: this is the member's account"), (REJECT, "Reject: not the member's account")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=MIN_REASON_LENGTH,
        help_text=f"What you checked, in at least {MIN_REASON_LENGTH} characters. It is kept in the audit log.",
    )


class SignOffForm(_VersionedForm):
    SIGN_OFF = "sign_off"
    SEND_BACK = "send_back"

    action = forms.ChoiceField(choices=[(SIGN_OFF, "Sign off"), (SEND_BACK, "Send back to the reviewer")])
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=f"Needed to send back: at least {MIN_REASON_LENGTH} characters.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == self.SEND_BACK and len(data.get("reason", "")) < MIN_REASON_LENGTH:
            self.add_error("reason", f"Say why you are sending it back, in at least {MIN_REASON_LENGTH} characters.")
        return data


class MemberAppealForm(forms.Form):
    """The member's appeal, on their notice page."""

    grounds = forms.CharField(
        label="Your grounds for appeal",
        widget=forms.Textarea(attrs={"rows": 6}),
        min_length=MIN_REASON_LENGTH,
        help_text=f"Why the decision is wrong, in at least {MIN_REASON_LENGTH} characters: for example, that the "
        "account is not yours, or what the posts meant.",
    )
    contact_preference = forms.ChoiceField(
        label="How should we contact you about it? (optional)", choices=Appeal.Contact.choices, required=False
    )
    contact_detail = forms.CharField(
        label="Phone number or address, if not the ones we hold (optional)", max_length=200, required=False
    )


class StaffAppealForm(MemberAppealForm):
    """An appeal staff record for the member (a letter, a call)."""

    via = forms.ChoiceField(
        label="Received by", choices=[(v.value, v.label) for v in Appeal.Via if v != Appeal.Via.MEMBER_PAGE]
    )


class AppealAssignForm(_VersionedForm):
    lead = forms.IntegerField(min_value=1)


class AppealDecisionForm(_VersionedForm):
    outcome = forms.ChoiceField(
        choices=[("", "Choose an outcome")] + [(o.value, APPEAL_OUTCOME_LABELS[o]) for o in AppealOutcome]
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        min_length=MIN_REASON_LENGTH,
        help_text=f"At least {MIN_REASON_LENGTH} characters. The member will read this.",
    )


class SecondLookForm(forms.Form):
    AGREE = "agree"
    DISAGREE = "disagree"

    verdict = forms.ChoiceField(
        choices=[
            (AGREE, "Agree: no breach, the case stays closed"),
            (DISAGREE, "Disagree: put the posts before another reviewer"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=MIN_REASON_LENGTH,
        help_text=(
            f"What you checked and why, in at least {MIN_REASON_LENGTH} characters. Leads read it; "
            "the reviewer who decided is not shown it. The decision stands as recorded."
        ),
    )
