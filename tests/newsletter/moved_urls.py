"""The project's URLs under another prefix: link helpers must not keep the first URLconf's shapes."""

from django.urls import include, path

urlpatterns = [path("moved/", include("newsletter.urls"))]
