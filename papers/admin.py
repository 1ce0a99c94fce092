"""Admin for papers and dumps (the editors' full curation tools come with the curation issue)."""

from __future__ import annotations

from django.contrib import admin

from papers.models import Dump, Listing, Paper


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ("title", "arxiv_id", "first_listed_on", "upvotes", "is_featured", "is_hidden")
    list_filter = ("is_featured", "is_hidden", "first_listed_on")
    search_fields = ("title", "abstract", "arxiv_id")
    readonly_fields = ("title_key", "first_seen_at", "edited_fields")


class ListingInline(admin.TabularInline):
    model = Listing
    fields = ("rank", "paper", "upvotes", "listed_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(Dump)
class DumpAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "source_format",
        "listing_date",
        "items_count",
        "created_count",
        "ingested_at",
    )
    list_filter = ("status", "source_format")
    search_fields = ("name", "sha256")
    readonly_fields = [f.name for f in Dump._meta.fields]
