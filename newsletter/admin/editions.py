"""Editions in the admin: the day's papers in order with feature / hide / move buttons, review, previews.

No drag and drop: every control is a small POST form (CSRF-protected) that calls one service and comes back.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from newsletter.admin import desk
from newsletter.emails import TRANSIENT_ERRORS
from newsletter.models import Edition, EditionPaper, Subscriber
from newsletter.selectors import edition_delivery_counts, edition_entries, edition_list_admin, subscriber_find
from newsletter.services.curation import edition_preview, edition_preview_send, papers_hide
from newsletter.services.editions import edition_approve, edition_feature, edition_hold, edition_move

ENTRY_OPERATIONS = {"feature", "unfeature", "hide", "unhide", "up", "down", "top", "to"}


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = ("issue_date", "status", "paper_count", "pick_count", "delivery_count", "sent_count", "approved_by")
    list_filter = ("status",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Edition]:
        return edition_list_admin()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # editions are prepared from the papers that arrived

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the ledger points at them

    @admin.display(description="papers", ordering="paper_count")
    def paper_count(self, edition: Any) -> int:
        return int(edition.paper_count)

    @admin.display(description="picks")
    def pick_count(self, edition: Any) -> int:
        return int(edition.pick_count)

    @admin.display(description="deliveries")
    def delivery_count(self, edition: Any) -> int:
        return int(edition.delivery_count)

    @admin.display(description="sent")
    def sent_count(self, edition: Any) -> int:
        return int(edition.sent_count)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:edition_id>/entries/<int:entry_id>/<str:operation>/",
                wrap(require_POST(self.entry_view)),
                name="newsletter_edition_entry",
            ),
            path(
                "<int:edition_id>/review/<str:decision>/",
                wrap(require_POST(self.review_view)),
                name="newsletter_edition_review",
            ),
            path("<int:edition_id>/preview/", wrap(require_GET(self.preview_view)), name="newsletter_edition_preview"),
            path(
                "<int:edition_id>/preview/send/",
                wrap(require_POST(self.preview_send_view)),
                name="newsletter_edition_preview_send",
            ),
            *super().get_urls(),
        ]

    # --- the edition's page -------------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The edition's own page: nothing on an edition is edited as a form; every change is a button."""
        if not object_id.isdigit():
            raise Http404
        edition = get_object_or_404(Edition.objects.select_related("approved_by"), pk=int(object_id))
        if not self.has_view_or_change_permission(request, edition):
            raise PermissionDenied
        entries = edition_entries(edition=edition)
        reach = desk.edition_reach(edition=edition)
        query, show = request.GET.get("q", "")[:200], request.GET.get("show", "")
        shown = desk.entries_shown(entries=entries, query=query, show=show, reach=reach)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(edition),
            "edition": edition,
            "entries": entries,
            "rows": desk.desk_rows(edition=edition, entries=entries, shown=shown, reach=reach),
            "reach": reach,
            "query": query,
            "show": show if show in desk.FILTERS else "",
            "filters": desk.FILTERS,
            "review_sentence": desk.review_sentence(edition=edition),
            "window_sentence": desk.window_sentence(edition=edition),
            "dumps": desk.edition_dumps(edition=edition),
            "counts": edition_delivery_counts(edition=edition),
            "can_change": self.has_change_permission(request, edition),
            "can_hide": request.user.has_perm("papers.change_paper"),
            "can_preview": _can_preview(request),
            "review_required": settings.EDITION_REVIEW_REQUIRED,
        }
        return TemplateResponse(request, "admin/newsletter/edition/detail.html", context)

    def entry_view(self, request: HttpRequest, edition_id: int, entry_id: int, operation: str) -> HttpResponse:
        entry = get_object_or_404(EditionPaper.objects.select_related("edition", "paper"), pk=entry_id)
        if entry.edition_id != edition_id or operation not in ENTRY_OPERATIONS:
            raise Http404
        if not self.has_change_permission(request, entry.edition):
            raise PermissionDenied
        title = entry.paper.title
        if operation in ("feature", "unfeature"):
            edition_feature(edition=entry.edition, paper_ids=[entry.paper_id], featured=operation == "feature")
            done = "is an editor's pick" if operation == "feature" else "is no longer an editor's pick"
        elif operation in ("hide", "unhide"):
            if not request.user.has_perm("papers.change_paper"):
                raise PermissionDenied
            papers_hide(paper_ids=[entry.paper_id], hidden=operation == "hide")
            done = "is hidden everywhere" if operation == "hide" else "is visible again"
        elif operation in ("top", "to"):
            position = 1 if operation == "top" else _position(request, entry_id)
            if position is None:
                messages.error(request, "Give the position to move the paper to: a whole number, 1 for the top.")
                return _back_to(edition_id, anchor=f"entry-{entry.pk}", query=request.POST.get("back", ""))
            edition_move(entry=entry, offset=desk.move_offset(entry=entry, position=position))
            done = "is now first in the edition" if position == 1 else f"is now at position {position}"
        else:
            edition_move(entry=entry, offset=-1 if operation == "up" else 1)
            done = f"moved {operation}"
        messages.success(request, f"“{title}” {done}.")
        return _back_to(edition_id, anchor=f"entry-{entry.pk}", query=request.POST.get("back", ""))

    def review_view(self, request: HttpRequest, edition_id: int, decision: str) -> HttpResponse:
        edition = get_object_or_404(Edition, pk=edition_id)
        if not self.has_change_permission(request, edition):
            raise PermissionDenied
        if decision == "approve":
            edition_approve(edition=edition, user=request.user)
            messages.success(request, f"{edition} is approved: digests go out at each reader's hour.")
        elif decision == "hold":
            edition_hold(edition=edition)
            messages.warning(request, f"{edition} is held: no new digest is planned from it until it is approved.")
        else:
            raise Http404
        return _back_to(edition_id)

    # --- previews -----------------------------------------------------------------------------------------

    def preview_view(self, request: HttpRequest, edition_id: int) -> HttpResponse:
        if not _can_preview(request):
            raise PermissionDenied
        edition = get_object_or_404(Edition, pk=edition_id)
        query = request.GET.get("subscriber", "")[:254]
        subscriber = subscriber_find(query=query)
        if subscriber is None:
            messages.error(request, f"No subscriber with the address or id “{query}”.")
            return _back_to(edition_id, anchor="preview")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{edition} as {subscriber.email} gets it",
            "edition": edition,
            "subscriber": subscriber,
            "rendered": edition_preview(edition=edition, subscriber=subscriber),
            "editor_email": request.user.email,  # type: ignore[union-attr]
        }
        return TemplateResponse(request, "admin/newsletter/edition/preview.html", context)

    def preview_send_view(self, request: HttpRequest, edition_id: int) -> HttpResponse:
        if not _can_preview(request):
            raise PermissionDenied
        edition = get_object_or_404(Edition, pk=edition_id)
        subscriber = subscriber_find(query=request.POST.get("subscriber", "")[:254])
        if subscriber is None:
            raise Http404
        to = request.user.email  # type: ignore[union-attr]
        back = HttpResponseRedirect(_preview_url(edition_id, subscriber))
        if not to:
            messages.error(request, "Your account has no email address: add one to receive previews.")
            return back
        try:
            sent = edition_preview_send(edition=edition, subscriber=subscriber, to=to)
        except TRANSIENT_ERRORS as exc:
            messages.error(request, f"The email service did not take the preview ({exc}); try again shortly.")
            return back
        if sent:
            messages.success(request, f"The preview was sent to {to}.")
        else:
            messages.warning(request, "Nothing in this edition matches this reader: there is nothing to send.")
        return back


def _can_preview(request: HttpRequest) -> bool:
    # A preview shows the reader's interests and picks: it needs the right to see subscribers.
    return request.user.has_perms(["newsletter.view_edition", "newsletter.view_subscriber"])


def _position(request: HttpRequest, entry_id: int) -> int | None:
    # One form serves every row: each row's position box is named after its entry.
    value = request.POST.get(f"position-{entry_id}", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _back_to(edition_id: int, *, anchor: str = "", query: str = "") -> HttpResponse:
    """Back to the edition's page, with the search and filter the editor had (`query`: q and show only)."""
    url = reverse("admin:newsletter_edition_change", args=[edition_id])
    asked = QueryDict(query)
    kept = {name: str(asked.get(name, "")) for name in ("q", "show") if asked.get(name)}
    if kept:
        url = f"{url}?{urlencode(kept)}"
    return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)


def _preview_url(edition_id: int, subscriber: Subscriber) -> str:
    base = reverse("admin:newsletter_edition_preview", args=[edition_id])
    return f"{base}?{urlencode({'subscriber': subscriber.pk})}"
