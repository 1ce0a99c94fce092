from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from newsletter import views as newsletter_views

urlpatterns = [
    path("", newsletter_views.home, name="home"),
    path("", include("newsletter.urls")),
    path("", include("newsletter.public_urls")),  # /editions/ and /feeds/
    path("papers/", include("papers.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the pages link to: sent on to the static file (hashed in production).
    path("favicon.ico", lambda request: _favicon(request), name="favicon"),
    path("anymail/", include("newsletter.webhook_urls")),  # ESP tracking webhooks: /anymail/<esp>/tracking/
]


def _favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    return HttpResponsePermanentRedirect(static("favicon.ico"))  # per request: the manifest is read at runtime


handler404 = "papers.views.not_found"
