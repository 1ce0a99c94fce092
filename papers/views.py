"""Public paper pages: thin views over the selectors."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from papers.selectors import paper_get_public, paper_list_public

PAPERS_PER_PAGE = 25


def paper_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    page = Paginator(paper_list_public(query=query), PAPERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "papers/paper_list.html", {"page": page, "query": query})


def paper_detail(request: HttpRequest, pk: int) -> HttpResponse:
    paper = paper_get_public(pk=pk)
    if paper is None:
        raise Http404("No such paper")
    return render(request, "papers/paper_detail.html", {"paper": paper})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
