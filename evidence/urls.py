"""Sources pages: the list, one source, one run, and "collect now"."""

from django.urls import URLPattern, path

from evidence import views

urlpatterns: list[URLPattern] = [
    path("sources/", views.list_sources, name="evidence-sources"),
    path("sources/<int:source_id>/", views.show_source, name="evidence-source"),
    path("sources/<int:source_id>/collect/", views.collect_now, name="evidence-collect"),
    path("runs/<int:run_id>/", views.show_run, name="evidence-run"),
]
