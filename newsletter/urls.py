from __future__ import annotations

from django.urls import path

from newsletter import views, views_reader

app_name = "newsletter"
urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/preview.json", views.preview, name="preview"),
    path("subscribe/check-your-inbox/", views.check_email, name="check_email"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("manage/<str:token>/my-data.json", views.export, name="export"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("digest/<str:token>/", views.digest_view, name="digest_view"),
    # The reader's loop (views_reader): feedback on one paper of a digest, their archive and its private feed.
    path(
        "feedback/<str:token>/<int:paper_id>/more-like-this/",
        views_reader.feedback,
        {"verdict": "more"},
        name="feedback_more",
    ),
    path(
        "feedback/<str:token>/<int:paper_id>/not-for-me/",
        views_reader.feedback,
        {"verdict": "less"},
        name="feedback_less",
    ),
    path("manage/<str:token>/archive/", views_reader.manage_archive, name="manage_archive"),
    path("archive/<str:token>/", views_reader.archive, name="reader_archive"),
    path("archive/<str:token>/feed.atom", views_reader.archive_feed, name="reader_archive_feed"),
]
