"""The test site's urls, and those of the views that tests with several processes need."""

from django.urls import path

from tests.server_views import counted, ping, tier_listener, write
from tests.testapp.urls import urlpatterns as testapp_urlpatterns

urlpatterns = [
    *testapp_urlpatterns,
    path("counted/", counted),
    path("ping/", ping),
    path("write/", write),
    path("tier/<str:action>/", tier_listener),
]
