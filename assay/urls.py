"""URL map: login/logout, then each app's pages under its own prefix."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="review-queue", permanent=False)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("review/", include("review.urls")),
    path("rules/", include("criteria.urls")),
    path("evidence/", include("evidence.urls")),
    path("register/", include("register.urls")),
]
