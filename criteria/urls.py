"""Rule-set pages: the list, one version, the diff between versions, drafting, the rule editor."""

from django.urls import URLPattern, path

from criteria import views

urlpatterns: list[URLPattern] = [
    path("", views.list_rulesets, name="criteria-rulesets"),
    path("new/", views.new_ruleset, name="criteria-new"),
    path("lint/", views.lint_query, name="criteria-lint"),
    path("<int:ruleset_id>/", views.show_ruleset, name="criteria-ruleset"),
    path("<int:ruleset_id>/diff/", views.compare_versions, name="criteria-diff"),
    path("<int:ruleset_id>/draft/", views.start_draft, name="criteria-draft"),
    path("<int:ruleset_id>/approve/", views.approve_ruleset, name="criteria-approve"),
    path("<int:ruleset_id>/rules/new/", views.edit_rule, name="criteria-rule-new"),
    path("<int:ruleset_id>/rules/<int:rule_id>/", views.edit_rule, name="criteria-rule-edit"),
    path("<int:ruleset_id>/rules/<int:rule_id>/remove/", views.remove_rule, name="criteria-rule-remove"),
]
