"""The purpose form: what a person records about a purpose; the rules are checked by the service."""

from __future__ import annotations

from django import forms

from oversight.lawful_basis import LAWFUL_BASES, PurposeTerms


class PurposeForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="e.g. Conduct review under the published rulebook.")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), help_text="What the processing is for, in plain words."
    )
    lawful_basis = forms.ChoiceField(choices=list(LAWFUL_BASES.items()), help_text="UK GDPR Art. 6(1).")
    review_due = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="Nothing runs under it after this date."
    )
    probabilistic = forms.BooleanField(
        required=False, label="Covers probabilistic matching of accounts to members (needs a DPIA)"
    )
    dpia_reference = forms.CharField(max_length=200, required=False, label="DPIA reference")
    dpia_date = forms.DateField(required=False, label="DPIA date", widget=forms.DateInput(attrs={"type": "date"}))

    def terms(self) -> PurposeTerms:
        data = self.cleaned_data
        return PurposeTerms(
            name=data["name"],
            description=data["description"],
            lawful_basis=data["lawful_basis"],
            review_due=data["review_due"],
            probabilistic=bool(data["probabilistic"]),
            dpia_reference=data["dpia_reference"] or "",
            dpia_date=data["dpia_date"],
        )
