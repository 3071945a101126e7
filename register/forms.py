"""Forms for the member pages."""

from __future__ import annotations

from typing import Any

from django import forms

from oversight.erasure import MIN_REASON_LENGTH


class FindMemberForm(forms.Form):
    number = forms.CharField(label="Membership number", max_length=32)


class EraseForm(forms.Form):
    ERASE, RESTRICT, LIFT = "erase", "restrict", "lift"
    CHOICES = [
        (ERASE, "Erase their personal data"),
        (RESTRICT, "Restrict processing: keep it, but no new links or cases"),
        (LIFT, "Lift the restriction"),
    ]

    action = forms.ChoiceField(
        choices=CHOICES,
        widget=forms.RadioSelect,
        initial=ERASE,
    )

    def __init__(self, *args: Any, restricted: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["action"]
        assert isinstance(field, forms.ChoiceField)
        drop = self.RESTRICT if restricted else self.LIFT
        field.choices = [(value, label) for value, label in self.CHOICES if value != drop]

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=MIN_REASON_LENGTH,
        help_text=f"At least {MIN_REASON_LENGTH} characters: the request's reference and basis, not a name. "
        "It is kept in the audit log.",
    )
