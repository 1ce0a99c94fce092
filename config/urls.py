from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from papers import views as paper_views

urlpatterns = [
    path("", paper_views.home, name="home"),
    path("papers/", include("papers.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "papers.views.not_found"
