"""Forms for the member pages."""

from __future__ import annotations

from django import forms

from oversight.erasure import MIN_REASON_LENGTH


class FindMemberForm(forms.Form):
    number = forms.CharField(label="Membership number", max_length=32)


class EraseForm(forms.Form):
    ERASE, RESTRICT = "erase", "restrict"

    action = forms.ChoiceField(
        choices=[
            (ERASE, "Erase their personal data"),
            (RESTRICT, "Restrict processing: keep it, but no new links or cases"),
        ],
        widget=forms.RadioSelect,
        initial=ERASE,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=MIN_REASON_LENGTH,
        help_text=f"At least {MIN_REASON_LENGTH} characters: the request's reference and basis, not a name. "
        "It is kept in the audit log.",
    )
