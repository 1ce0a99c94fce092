"""Subscribers in the admin: find, filter, see interests and what each digest held and why; care actions.

Subscriber pages are read-only: a subscriber's settings are theirs to change (through their signed link).
Editors act on them only through the actions below, each one service. The admin's own delete is off: erasing
goes through `subscriber_erase`, which keeps the suppression hash so the address is never mailed again.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from newsletter.admin.history import subscriber_history
from newsletter.models import Subscriber, Suppression
from newsletter.selectors import edition_latest, subscriber_recent_deliveries
from newsletter.services.curation import subscriber_confirmation_resend
from newsletter.services.edition_index import interests_report
from newsletter.services.privacy import subscriber_erase, subscriber_export
from newsletter.services.suppressions import email_suppress

# Each export reads, and each erasure deletes, a subscriber's whole ledger: a bounded batch keeps the request
# short (and the confirmation page small).
BATCH_LIMIT = 100
# Suppressing or re-confirming is a query or two per address: a few thousand at most per request.
ACTION_LIMIT = 2000


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ("email", "status", "frequency", "schedule", "interest_count", "created_at", "confirmed_at")
    list_filter = ("status", "frequency")
    search_fields = ("email",)
    search_help_text = "Part of an address."
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) over 100,000 rows per page view is enough
    fieldsets = (
        (None, {"fields": ("email", "status", "interest_list", "schedule", "preview_link")}),
        (
            "History",
            {"fields": ("created_at", "confirmed_at", "unsubscribed_at", "status_history", "recent_deliveries")},
        ),
        ("Consent", {"fields": ("consent_at", "consent_ip", "consent_text")}),
    )
    readonly_fields = (
        "email", "status", "interest_list", "schedule", "preview_link", "created_at", "confirmed_at",
        "unsubscribed_at", "status_history", "recent_deliveries", "consent_at", "consent_ip", "consent_text",
    )  # fmt: skip
    actions = ("resend_confirmation", "suppress", "export", "erase")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_care_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("newsletter.change_subscriber")

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("newsletter.delete_subscriber")

    # --- columns and fields ---------------------------------------------------------------------------

    @admin.display(description="schedule")
    def schedule(self, subscriber: Subscriber) -> str:
        when = f"{subscriber.send_hour:02d}:00 {subscriber.timezone}"
        if subscriber.frequency == Subscriber.Frequency.WEEKLY:
            return f"weekly, {subscriber.get_weekday_display()} at {when}"
        return f"daily at {when}"

    @admin.display(description="interests")
    def interest_count(self, subscriber: Subscriber) -> int:
        return len(subscriber.interests or [])

    @admin.display(description="interests")
    def interest_list(self, subscriber: Subscriber) -> str:
        if not subscriber.interests:
            return "none"
        return format_html("<ul class='paperboy-list'>{}</ul>", format_html_join("", "<li>{}</li>", (
            (interest,) for interest in subscriber.interests
        )))  # fmt: skip

    @admin.display(description="status changes")
    def status_history(self, subscriber: Subscriber) -> str:
        events = subscriber_history(subscriber=subscriber)
        return render_to_string("admin/newsletter/subscriber/_history.html", {"events": events})

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, subscriber: Subscriber) -> str:
        rows = subscriber_recent_deliveries(subscriber=subscriber, limit=10)
        return render_to_string("admin/newsletter/subscriber/_deliveries.html", {"rows": rows})

    @admin.display(description="preview")
    def preview_link(self, subscriber: Subscriber) -> str:
        edition = edition_latest()
        if edition is None:
            return "no edition yet"
        url = reverse("admin:newsletter_edition_preview", args=[edition.pk])
        return format_html(
            '<a href="{}?{}">Preview {} as this reader gets it</a>', url, urlencode({"subscriber": subscriber.pk}),
            edition,
        )  # fmt: skip

    # --- actions ----------------------------------------------------------------------------------------

    @admin.action(description="Resend the confirmation email (waiting subscribers only)", permissions=["care"])
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        if not self._within(request, queryset, ACTION_LIMIT):
            return
        sent = sum(subscriber_confirmation_resend(subscriber=s) for s in queryset.filter(status="pending"))
        skipped = queryset.count() - sent
        note = f"; {skipped} skipped (not waiting for confirmation)" if skipped else ""
        self.message_user(request, f"{sent} confirmation email{'s' * (sent != 1)} queued{note}.", messages.SUCCESS)

    @admin.action(description="Suppress: never mail these addresses again", permissions=["care"])
    def suppress(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        if not self._within(request, queryset, ACTION_LIMIT):
            return
        emails = list(queryset.values_list("email", flat=True))
        by = f"suppressed by editor {request.user}"
        added = sum(email_suppress(email=email, reason=Suppression.Reason.MANUAL, by=by) for email in emails)
        self.message_user(
            request, f"{added} address{'es' * (added != 1)} suppressed ({len(emails) - added} already were).",
            messages.SUCCESS,
        )  # fmt: skip

    @admin.action(description="Export their data (JSON)", permissions=["care"])
    def export(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse | None:
        subscribers = list(queryset[: BATCH_LIMIT + 1])
        if len(subscribers) > BATCH_LIMIT:
            self.message_user(request, f"Export at most {BATCH_LIMIT} subscribers at a time.", messages.ERROR)
            return None
        data: Any = [subscriber_export(subscriber=s) for s in subscribers]
        name = f"paperboy-subscriber-{subscribers[0].pk}.json" if len(data) == 1 else "paperboy-subscribers.json"
        response = HttpResponse(
            json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Erase all their data (keeps only a suppression hash)", permissions=["erase"])
    def erase(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse | None:
        subscribers = list(queryset[: BATCH_LIMIT + 1])
        if len(subscribers) > BATCH_LIMIT:
            self.message_user(request, f"Erase at most {BATCH_LIMIT} subscribers at a time.", messages.ERROR)
            return None
        if request.POST.get("post") != "yes":  # first pass: say what will happen, ask again
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Erase subscribers' data",
                "subscribers": subscribers,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/newsletter/subscriber/erase.html", context)
        for subscriber in subscribers:
            subscriber_erase(subscriber=subscriber)
        erased = len(subscribers)
        self.message_user(request, f"Erased the data of {erased} subscriber{'s' * (erased != 1)}.", messages.SUCCESS)
        return None

    def _within(self, request: HttpRequest, queryset: QuerySet[Subscriber], limit: int) -> bool:
        if queryset[limit : limit + 1].exists():
            self.message_user(request, f"Select at most {limit:,} subscribers for this action.", messages.ERROR)
            return False
        return True

    # --- the interests report ---------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.interests_view)
        return [path("interests/", view, name="newsletter_subscriber_interests"), *super().get_urls()]

    def interests_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        edition, rows = interests_report(limit=50)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "What readers care about",
            "edition": edition,
            "rows": rows,
            "never": [row for row in rows if row.matches == 0],
        }
        return TemplateResponse(request, "admin/newsletter/subscriber/interests.html", context)
