from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from newsletter import views as newsletter_views

urlpatterns = [
    path("", newsletter_views.home, name="home"),
    path("", include("newsletter.urls")),
    path("", include("newsletter.public_urls")),  # /editions/ and /feeds/
    path("papers/", include("papers.urls")),
    path("admin/", admin.site.urls),
    path("anymail/", include("newsletter.webhook_urls")),  # ESP tracking webhooks: /anymail/<esp>/tracking/
]

handler404 = "papers.views.not_found"
