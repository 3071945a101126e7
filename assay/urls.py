"""URL map: login/logout, then each app's pages under its own prefix."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from oversight import twofactor_views
from oversight.views import land
from review.notice_views import member_notice

urlpatterns = [
    path("", land, name="home"),
    path("login/", twofactor_views.StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/code/", twofactor_views.second_factor, name="second-factor"),  # the second factor
    path("login/enrol/", twofactor_views.enrol, name="enrol"),
    path("login/recovery-codes/", twofactor_views.recovery_codes, name="recovery-codes"),
    path("review/", include("review.urls")),
    path("rules/", include("criteria.urls")),
    path("evidence/", include("evidence.urls")),
    path("notice/<str:token>/", member_notice, name="notice-member"),  # a member's notice: no login, the token
    path("oversight/", include("oversight.urls")),
    path("register/", include("register.urls")),
]
