"""The papers admin as the newsletter sees it: a flag or a merge also reaches the editions not sent yet.

papers/admin.py knows nothing of the newsletter; this subclass replaces its registration and sends the
editors' curation through newsletter.services.curation (the paper's write and the editions' in one
transaction).
"""

from __future__ import annotations

from django.contrib import admin

from newsletter.services import curation
from papers.admin import PaperAdmin
from papers.models import Paper


class CuratedPaperAdmin(PaperAdmin):
    def papers_feature(self, *, paper_ids: list[int], featured: bool) -> int:
        return curation.papers_feature(paper_ids=paper_ids, featured=featured)

    def papers_hide(self, *, paper_ids: list[int], hidden: bool) -> int:
        return curation.papers_hide(paper_ids=paper_ids, hidden=hidden)

    def papers_merge(self, *, keep: Paper, duplicate: Paper) -> Paper:
        return curation.papers_merge(keep=keep, duplicate=duplicate)


def install(site: admin.AdminSite) -> None:
    """Replace papers' own registration (papers comes first in INSTALLED_APPS, so it is registered by now)."""
    if site.is_registered(Paper):
        site.unregister(Paper)
    site.register(Paper, CuratedPaperAdmin)
