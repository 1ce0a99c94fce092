"""What the public paper page shows, read in a fixed number of queries: the paper, where it leads, and the
listings (dump, source, date) it appeared in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from papers.models import Listing, Paper
from papers.parsers.urls import http_url

# Ids as arXiv writes them (papers/parsers/identifiers.py); anything else stored in the field makes no link.
_ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}|[a-z][a-z-]{0,15}(?:\.[A-Z]{2})?/\d{7}", re.IGNORECASE)
# The names of Paper.links shown as they are known, in this order; other names follow, as stored.
_LINK_LABELS = {"arxiv": "arXiv", "pdf": "PDF", "paper": "Paper page", "project": "Project page", "github": "Code"}


@dataclass(frozen=True, slots=True)
class PaperLink:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class ListingRow:
    listed_on: date
    source: str  # the dump's name
    source_format: str
    rank: int
    upvotes: int | None


@dataclass(frozen=True, slots=True)
class PaperPage:
    paper: Paper
    links: list[PaperLink]
    listings: list[ListingRow]


def arxiv_links(arxiv_id: str | None) -> list[PaperLink]:
    """The abstract and PDF on arXiv, for an id of arXiv's shape only."""
    if not arxiv_id or not _ARXIV_ID.fullmatch(arxiv_id):
        return []
    return [
        PaperLink("arXiv abstract", f"https://arxiv.org/abs/{arxiv_id}"),
        PaperLink("PDF", f"https://arxiv.org/pdf/{arxiv_id}"),
    ]


def paper_links(paper: Paper) -> list[PaperLink]:
    """Where the paper leads: arXiv first, then its stored links; only http(s), each address once."""
    links = arxiv_links(paper.arxiv_id)
    seen = {link.url.rstrip("/") for link in links}
    stored = dict(paper.links) if isinstance(paper.links, dict) else {}
    names = [name for name in _LINK_LABELS if name in stored] + sorted(set(stored) - set(_LINK_LABELS))
    for name in names:
        url = http_url(stored[name])  # rows stored before links were checked may hold javascript: and the like
        if url and url.rstrip("/") not in seen:
            links.append(PaperLink(_LINK_LABELS.get(name, str(name)), url))
            seen.add(url.rstrip("/"))
    return links


def paper_listings(paper: Paper) -> list[ListingRow]:
    rows = (
        Listing.objects.filter(paper=paper)
        .select_related("dump")
        .order_by("-listed_on", "dump_id")
        .only("listed_on", "rank", "upvotes", "dump__name", "dump__source_format")
    )
    return [ListingRow(row.listed_on, row.dump.name, row.dump.source_format, row.rank, row.upvotes) for row in rows]


def paper_page(*, pk: int) -> PaperPage | None:
    """A visible paper with its links and listings (two queries); None when hidden or absent."""
    paper = Paper.objects.filter(pk=pk, is_hidden=False).first()
    if paper is None:
        return None
    return PaperPage(paper=paper, links=paper_links(paper), listings=paper_listings(paper))
