"""Review pages: the queue, a case, and the steps that move a case along."""

from django.urls import URLPattern, path

from review import notice_views, views

urlpatterns: list[URLPattern] = [
    path("", views.show_queue, name="review-queue"),
    path("assign-next/", views.assign_next, name="review-assign-next"),
    path("case/<int:case_id>/", views.show_case, name="review-case"),
    path("case/<int:case_id>/assign/", views.assign, name="review-assign"),
    path("case/<int:case_id>/decide/", views.decide, name="review-decide"),
    path("case/<int:case_id>/sign-off/", views.sign_off_or_send_back, name="review-sign-off"),
    path("case/<int:case_id>/conflict/", views.declare_conflict, name="review-conflict"),
    path("case/<int:case_id>/link/<int:link_id>/", views.resolve_link, name="review-link"),
    path("case/<int:case_id>/second-look/", views.take_second_look, name="review-second-look"),
    path("case/<int:case_id>/context/", views.fetch_context, name="review-fetch-context"),
    path("second-looks/", views.list_second_looks, name="review-second-looks"),
    path("case/<int:case_id>/evidence-pack/", views.build_evidence_pack, name="review-evidence-pack"),
    path("notices/", notice_views.list_notices, name="review-notices"),
    path("notices/<int:notice_id>/", notice_views.show_notice, name="review-notice"),
    path("notices/<int:notice_id>/send/", notice_views.send_notice, name="review-notice-send"),
    path("notices/<int:notice_id>/reissue/", notice_views.reissue_link, name="review-notice-reissue"),
    path("notices/<int:notice_id>/posted/", notice_views.mark_posted, name="review-notice-posted"),
    path("notices/<int:notice_id>/appeal/", notice_views.record_appeal, name="review-notice-appeal"),
    path("appeals/", notice_views.list_appeals, name="review-appeals"),
    path("appeals/<int:appeal_id>/", notice_views.show_appeal, name="review-appeal"),
    path("appeals/<int:appeal_id>/assign/", notice_views.assign_appeal, name="review-appeal-assign"),
    path("appeals/<int:appeal_id>/decide/", notice_views.decide_appeal, name="review-appeal-decide"),
]
