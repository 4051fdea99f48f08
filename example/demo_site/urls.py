"""URL configuration of the demo site."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", include("articles.urls")),
    path("admin/", admin.site.urls),
    # Cached pages must not hold a CSRF token (they are shared by all of a user's browsers),
    # so they link to this uncached page, which holds the POST form that logs out.
    path(
        "accounts/logout/confirm/",
        TemplateView.as_view(template_name="registration/logout_confirm.html"),
        name="logout_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
]
