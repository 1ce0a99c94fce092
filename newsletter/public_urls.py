"""The public archive of editions and its feeds (mounted at the site's root, namespace "archive")."""

from __future__ import annotations

from django.urls import path

from newsletter import views_public
from newsletter.feeds import EditionsFeed

app_name = "archive"
urlpatterns = [
    path("editions/", views_public.edition_list, name="edition_list"),
    path("editions/<str:day>/", views_public.edition_detail, name="edition_detail"),
    path("feeds/editions/", EditionsFeed(), name="feed_editions"),
    path("feeds/interest/", views_public.interest_feed, name="feed_interest"),
]
