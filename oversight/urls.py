"""Oversight pages: the dashboard, its figures as JSON and CSV, and verifying the audit chain."""

from django.urls import URLPattern, path

from oversight import views

urlpatterns: list[URLPattern] = [
    path("", views.show_dashboard, name="oversight-dashboard"),
    path("figures.json", views.figures_json, name="oversight-figures-json"),
    path("figures.csv", views.figures_csv, name="oversight-figures-csv"),
    path("verify/", views.verify_chain_now, name="oversight-verify"),
]
