"""Member pages: find a member, what is held about them, subject access export, erase or restrict."""

from django.urls import URLPattern, path

from register import views

urlpatterns: list[URLPattern] = [
    path("members/", views.find_member_page, name="register-find"),
    path("members/<int:member_id>/", views.show_member, name="register-member"),
    path("members/<int:member_id>/export/", views.download_export, name="register-export"),
    path("members/<int:member_id>/erase/", views.erase_or_restrict, name="register-erase"),
]
