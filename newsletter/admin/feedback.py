"""Readers' feedback in the admin: every "More like this" / "Not for me", read-only, and above the list the
papers readers reject most, per interest (what brings papers readers do not want)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from newsletter.feedback_selectors import feedback_rejections_by_interest
from newsletter.models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "verdict", "paper", "interest", "delivery")
    list_select_related = ("paper", "delivery")
    list_filter = ("verdict", "created_at")
    search_fields = ("=interest", "paper__title")
    search_help_text = "An exact interest, or part of a paper's title."
    show_full_result_count = False
    fields = ("delivery", "paper", "verdict", "interest", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {**(extra_context or {}), "rejections": feedback_rejections_by_interest()}
        return super().changelist_view(request, extra_context=context)
