"""The ledger and the suppression list in the admin: read-only records, and adding a suppression by address.

The suppression list holds keyed hashes only: the admin never shows an address there, and a search or an
addition takes an address and hashes it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse

from newsletter.models import Delivery, Suppression
from newsletter.selectors import DeliveryView, delivered_papers
from newsletter.services.suppressions import email_hash, email_suppress


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly):
    list_display = ("period", "subscriber", "status", "edition", "paper_count", "attempts", "created_at", "sent_at")
    list_select_related = ("subscriber", "edition")
    list_filter = ("status", "edition")
    search_fields = ("subscriber__email", "=period", "=esp_message_id")
    search_help_text = "Part of an address, or an exact period (2026-11-24, 2026-W48) or ESP message id."
    show_full_result_count = False
    fields = (
        "subscriber", "period", "status", "edition", "covers_after", "contents", "attempts", "error",
        "esp_message_id", "created_at", "sending_at", "sent_at",
    )  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).select_related("subscriber", "edition", "covers_after")

    @admin.display(description="papers")
    def paper_count(self, delivery: Delivery) -> int:
        return len(delivery.papers or [])

    @admin.display(description="what it held, and why")
    def contents(self, delivery: Delivery) -> str:
        view = DeliveryView(delivery=delivery, papers=delivered_papers(deliveries=[delivery])[0])
        return render_to_string("admin/newsletter/subscriber/_deliveries.html", {"rows": [view]})


class SuppressionAddForm(forms.Form):
    email = forms.EmailField(help_text="Only a keyed hash of the address is stored; it cannot be read back.")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("short_hash", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email_hash",)
    search_help_text = "An exact address: it is hashed, then looked up."
    fields = ("email_hash", "reason", "created_at")
    readonly_fields = fields
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="address hash")
    def short_hash(self, suppression: Suppression) -> str:
        return f"{suppression.email_hash[:16]}…"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Suppression], search_term: str
    ) -> tuple[QuerySet[Suppression], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(email_hash__in=[email_hash(term), term.lower()]), False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SuppressionAddForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            added = email_suppress(
                email=form.cleaned_data["email"],
                reason=Suppression.Reason.MANUAL,
                by=f"suppressed by editor {request.user}",
            )
            if added:
                messages.success(request, "The address is suppressed: Paperboy will never mail it again.")
            else:
                messages.info(request, "That address was suppressed already.")
            return HttpResponseRedirect(reverse("admin:newsletter_suppression_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": "Suppress an address",
            "intro": "The address will never be mailed again, whatever its status.",
            "submit": "Suppress",
        }
        return TemplateResponse(request, "admin/paperboy_form.html", context)
