"""Forms for the rule-set pages. A rule's query is linted here, and again by the service on save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from criteria.models import Rule, RuleSet
from criteria.query import MAX_RULE_LENGTH, lint
from criteria.services import RuleSpec

_CODE = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", "Letters, digits, dots, dashes and underscores, e.g. ABUSE-1.")


class NewRuleSetForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. Code of conduct. Versions are numbered for you.")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="What this rule set is for."
    )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if RuleSet.objects.filter(name=name).exists():
            raise forms.ValidationError("A rule set with this name exists already: open it and edit it instead.")
        return name


class RuleForm(forms.Form):
    code = forms.CharField(max_length=32, validators=[_CODE], help_text="Short and stable, e.g. ABUSE-1.")
    title = forms.CharField(max_length=200)
    query = forms.CharField(
        max_length=MAX_RULE_LENGTH,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "class": "query",
                "spellcheck": "false",
                "autocomplete": "off",
                "aria-describedby": "id_query-help query-diagnostics",
            }
        ),
        help_text='For example: ("go back to" OR "send them home") AND NOT lang:fr. See docs/rules.md.',
    )
    clause = forms.CharField(
        label="Rulebook clause", max_length=200, help_text="The rulebook clause this rule enforces, e.g. 4.2(a) Abuse."
    )
    severity = forms.TypedChoiceField(choices=Rule.Severity.choices, coerce=int, initial=Rule.Severity.MEDIUM)

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip()

    def clean_query(self) -> str:
        query = str(self.cleaned_data["query"])
        errors = [d for d in lint(query) if d.severity == "error"]
        if errors:
            first = errors[0]
            hint = f" ({first.hint})" if first.hint else ""
            raise forms.ValidationError(f"Error at position {first.position}: {first.message}{hint}")
        return query

    def spec(self) -> RuleSpec:
        data: dict[str, Any] = self.cleaned_data
        return RuleSpec(data["code"], data["title"], data["query"], data["clause"], data["severity"])

    @classmethod
    def initial_for(cls, rule: Rule) -> dict[str, Any]:
        return {
            "code": rule.code,
            "title": rule.title,
            "query": rule.query,
            "clause": rule.clause,
            "severity": rule.severity,
        }
