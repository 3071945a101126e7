"""Oversight pages: the dashboard, its figures as JSON and CSV, verifying the audit chain, and purposes."""

from django.urls import URLPattern, path

from oversight import views

urlpatterns: list[URLPattern] = [
    path("", views.show_dashboard, name="oversight-dashboard"),
    path("figures.json", views.figures_json, name="oversight-figures-json"),
    path("figures.csv", views.figures_csv, name="oversight-figures-csv"),
    path("verify/", views.verify_chain_now, name="oversight-verify"),
    path("purposes/", views.list_purposes, name="oversight-purposes"),
    path("purposes/new/", views.new_purpose, name="oversight-purpose-new"),
    path("purposes/<int:purpose_id>/edit/", views.new_purpose, name="oversight-purpose-edit"),
    path("purposes/<int:purpose_id>/approve/", views.approve_purpose, name="oversight-purpose-approve"),
    path("purposes/<int:purpose_id>/retire/", views.retire_purpose, name="oversight-purpose-retire"),
]
