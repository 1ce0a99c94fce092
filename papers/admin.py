"""The editors' tools for papers and dumps: search, filters, bulk feature / hide, edits, merges, uploads.

Thin: every write is one call to `papers.services` or `newsletter.services.curation` (picks and hides reach
the editions not sent yet, which the newsletter owns).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from papers.models import Dump, Listing, Paper
from papers.selectors import dumps_recent
from papers.services import (
    DumpIngestResult,
    IngestStatus,
    ReingestRefused,
    dump_ingest,
    dump_reingest,
    paper_edit,
    papers_flag,
    papers_merge_records,
)

_MB = 1024 * 1024


class DumpFilter(admin.SimpleListFilter):
    title = "dump"
    parameter_name = "dump"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (str(pk), name) for pk, name in dumps_recent(limit=30)
        ]  # the latest ones: the list of all dumps grows every day

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        value = self.value()
        return queryset.filter(listings__dump_id=int(value)) if value and value.isdigit() else queryset


class HasArxivIdFilter(admin.SimpleListFilter):
    title = "arXiv id"
    parameter_name = "has_arxiv_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "has one"), ("no", "has none")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Paper]) -> QuerySet[Paper]:
        if self.value() in ("yes", "no"):
            return queryset.filter(arxiv_id__isnull=self.value() == "no")
        return queryset


class AuthorsField(forms.CharField):
    """Authors one per line: easier to edit than a JSON list."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]


class PaperForm(forms.ModelForm):
    authors = AuthorsField(required=False, help_text="One author per line.")

    class Meta:
        model = Paper
        fields = ("title", "abstract", "authors", "links", "editor_note", "is_featured", "is_hidden")

    def clean_links(self) -> Any:
        # Blanks around a pasted URL are forgiven; the model's validator then refuses any non-http(s) link.
        links = self.cleaned_data["links"]
        if isinstance(links, dict):
            return {name: url.strip() if isinstance(url, str) else url for name, url in links.items()}
        return links


class ListingInline(admin.TabularInline):
    """A paper's listings (on a paper's page) or a dump's (on a dump's page): read-only, one query."""

    model = Listing
    fields = ("dump", "rank", "upvotes", "listed_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    shows = "dump"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Listing]:
        return super().get_queryset(request).select_related(self.shows)


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    form = PaperForm
    list_display = ("title", "arxiv_id", "first_listed_on", "upvotes", "is_featured", "is_hidden", "public_page")
    list_filter = (DumpFilter, "first_listed_on", "is_featured", "is_hidden", HasArxivIdFilter)
    search_fields = ("title", "abstract", "authors", "arxiv_id")
    search_help_text = "Words of the title, abstract or authors, or an arXiv id."
    readonly_fields = (
        "public_page", "arxiv_id", "published_on", "upvotes", "first_seen_at", "first_listed_on", "last_listed_on",
        "edited_fields",
    )  # fmt: skip
    inlines = (ListingInline,)
    actions = ("feature", "unfeature", "hide", "unhide", "merge")
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) over the whole table per page view is enough

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # papers come from dumps

    # What a flag or a merge does beyond the paper records. Papers knows nothing of its consumers: the
    # newsletter's admin (newsletter/admin/papers.py) overrides these to carry them into editions not sent yet.
    def papers_feature(self, *, paper_ids: list[int], featured: bool) -> int:
        return papers_flag(paper_ids=paper_ids, featured=featured)

    def papers_hide(self, *, paper_ids: list[int], hidden: bool) -> int:
        return papers_flag(paper_ids=paper_ids, hidden=hidden)

    def papers_merge(self, *, keep: Paper, duplicate: Paper) -> Paper:
        with transaction.atomic():
            return papers_merge_records(keep=keep, duplicate=duplicate)

    @admin.display(description="public page")
    def public_page(self, paper: Paper) -> str:
        if paper.is_hidden:
            return "hidden"
        return format_html('<a href="{}" target="_blank" rel="noopener">view</a>', paper.get_absolute_url())

    def save_model(self, request: HttpRequest, obj: Paper, form: forms.ModelForm, change: bool) -> None:
        # The form has already set the new values on `obj`: the service gets the stored paper and the changes.
        stored = Paper.objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in PaperForm.Meta.fields}
        flags = {name: changes.pop(name) for name in ("is_featured", "is_hidden") if name in changes}
        paper_edit(paper=stored, changes=changes, editor=request.user)
        if "is_featured" in flags:
            self.papers_feature(paper_ids=[obj.pk], featured=flags["is_featured"])
        if "is_hidden" in flags:
            self.papers_hide(paper_ids=[obj.pk], hidden=flags["is_hidden"])

    @admin.action(description="Feature the selected papers (editor's picks)", permissions=["change"])
    def feature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = self.papers_feature(paper_ids=list(queryset.values_list("pk", flat=True)), featured=True)
        self.message_user(request, f"{n} paper{'s' * (n != 1)} featured.", messages.SUCCESS)

    @admin.action(description="Unfeature the selected papers", permissions=["change"])
    def unfeature(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = self.papers_feature(paper_ids=list(queryset.values_list("pk", flat=True)), featured=False)
        self.message_user(request, f"{n} paper{'s' * (n != 1)} no longer featured.", messages.SUCCESS)

    @admin.action(description="Hide the selected papers (from pages and unsent digests)", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = self.papers_hide(paper_ids=list(queryset.values_list("pk", flat=True)), hidden=True)
        self.message_user(request, f"{n} paper{'s' * (n != 1)} hidden.", messages.SUCCESS)

    @admin.action(description="Unhide the selected papers", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Paper]) -> None:
        n = self.papers_hide(paper_ids=list(queryset.values_list("pk", flat=True)), hidden=False)
        self.message_user(request, f"{n} paper{'s' * (n != 1)} visible again.", messages.SUCCESS)

    @admin.action(description="Merge the two selected records of the same paper", permissions=["change"])
    def merge(self, request: HttpRequest, queryset: QuerySet[Paper]) -> HttpResponse | None:
        papers = list(queryset.order_by("id")[:3])
        if len(papers) != 2:
            self.message_user(request, "Select exactly two papers to merge.", messages.ERROR)
            return None
        keep_id = request.POST.get("keep", "")
        if not keep_id:  # first pass: ask which record to keep
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Merge two records of the same paper",
                "papers": papers,
                "suggested": next((p for p in papers if p.arxiv_id), papers[0]),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/papers/paper/merge.html", context)
        keep, duplicate = papers if str(papers[0].pk) == keep_id else papers[::-1]
        self.papers_merge(keep=keep, duplicate=duplicate)
        self.message_user(request, f"Merged paper #{duplicate.pk} into “{keep.title}” (#{keep.pk}).", messages.SUCCESS)
        return None


# --- dumps ----------------------------------------------------------------------------------------------


class DumpUploadForm(forms.Form):
    file = forms.FileField(help_text="Any format Paperboy reads: the Daily Papers page as text or HTML, its API "
                           "JSON, a JSON Feed, arXiv Atom or RSS.")  # fmt: skip

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.PAPERBOY_DUMP_MAX_BYTES
        if upload.size > limit:  # refused before reading it into memory
            raise forms.ValidationError(
                f"The file is {upload.size / _MB:.1f} MB; the limit is {limit / _MB:.1f} MB "
                "(PAPERBOY_DUMP_MAX_BYTES). Split it, or raise the limit."
            )
        return upload


class DumpListingInline(ListingInline):
    fields = ("rank", "paper", "upvotes", "listed_on")
    readonly_fields = fields
    shows = "paper"


@admin.register(Dump)
class DumpAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "source_format", "listing_date", "counts", "ingested_at", "short_error")
    list_filter = ("status", "source_format")
    search_fields = ("name", "sha256")
    readonly_fields = [f.name for f in Dump._meta.fields]
    inlines = (DumpListingInline,)
    actions = ("reingest",)
    show_full_result_count = False

    # Dumps are read-only records of what arrived; "add" is the upload page, "change" is re-ingesting.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_reingest_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("papers.change_dump")

    @admin.display(description="papers")
    def counts(self, dump: Dump) -> str:
        if dump.status == Dump.Status.FAILED:
            return "—"
        return (
            f"{dump.items_count}: {dump.created_count} new, {dump.enriched_count} enriched, {dump.unchanged_count} same"
        )

    @admin.display(description="error")
    def short_error(self, dump: Dump) -> str:
        return dump.error if len(dump.error) <= 120 else dump.error[:119] + "…"

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="papers_dump_upload"),
            path("<int:dump_id>/reingest/", wrap(require_POST(self.reingest_view)), name="papers_dump_reingest"),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:papers_dump_upload"))

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DumpUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            result = dump_ingest(data=upload.read(), name=upload.name)
            _report(request, result)
            if result.created and (note := self.upload_note(created=result.created)):
                messages.info(request, note)
            return HttpResponseRedirect(reverse("admin:papers_dump_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": "Upload a dump",
            "intro": "The file goes through the same ingestion as the dumps folder: the same bytes twice change "
            "nothing, and a file that cannot be read is kept as a failed dump, with the reason.",
            "submit": "Upload and ingest",
        }
        return TemplateResponse(request, "admin/paperboy_form.html", context)

    def upload_note(self, *, created: int) -> str:
        """Where the new papers of an upload go next, in a sentence: papers know nothing of editions, so the
        newsletter's admin fills this in (newsletter/admin/uploads.py)."""
        return ""

    def reingest_view(self, request: HttpRequest, dump_id: int) -> HttpResponse:
        if not self.has_reingest_permission(request):
            raise PermissionDenied
        _reingest(request, get_object_or_404(Dump, pk=dump_id))
        return HttpResponseRedirect(reverse("admin:papers_dump_changelist"))

    @admin.action(
        description="Re-ingest the selected failed dumps (after fixing their files)", permissions=["reingest"]
    )
    def reingest(self, request: HttpRequest, queryset: QuerySet[Dump]) -> None:
        for dump in queryset:
            _reingest(request, dump)


def _reingest(request: HttpRequest, dump: Dump) -> None:
    try:
        result = dump_reingest(dump=dump)
    except ReingestRefused as exc:
        messages.warning(request, f"{dump.name}: {exc}")
    else:
        _report(request, result)


def _report(request: HttpRequest, result: DumpIngestResult) -> None:
    """The outcome of an ingestion in plain words: the counts, or what went wrong."""
    if result.status is IngestStatus.INGESTED:
        messages.success(
            request,
            f"Ingested {result.name} ({result.source_format}): {result.items} papers, {result.created} new, "
            f"{result.enriched} enriched, {result.unchanged} unchanged.",
        )
    elif result.status is IngestStatus.FAILED:
        messages.error(request, f"Could not ingest {result.name}: {result.error}")
    elif result.error:
        messages.warning(request, f"This file is the same as {_earlier(result.dump_id)}, which failed: {result.error}")
    else:
        messages.info(request, f"This file was ingested before, as {_earlier(result.dump_id)}: nothing new.")


def _earlier(dump_id: int | None) -> str:
    """The earlier dump of the same bytes, by its name and when it came (its id is shown nowhere else)."""
    dump = Dump.objects.filter(pk=dump_id).first() if dump_id is not None else None
    if dump is None:
        return "an earlier dump"
    at = timezone.localtime(dump.ingested_at)
    return f"{dump.name} on {at:%b} {at.day}, {at.year} at {at:%H:%M}"
