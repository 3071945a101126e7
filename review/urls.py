"""Review pages: the queue, a case, and the steps that move a case along."""

from django.urls import URLPattern, path

from review import views

urlpatterns: list[URLPattern] = [
    path("", views.show_queue, name="review-queue"),
    path("case/<int:case_id>/", views.show_case, name="review-case"),
    path("case/<int:case_id>/assign/", views.assign, name="review-assign"),
    path("case/<int:case_id>/decide/", views.decide, name="review-decide"),
    path("case/<int:case_id>/sign-off/", views.sign_off_or_send_back, name="review-sign-off"),
    path("case/<int:case_id>/link/<int:link_id>/", views.resolve_link, name="review-link"),
]
