"""Public paper pages: thin views over the selectors and the search."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from papers.pages import paper_page
from papers.search import MAX_QUERY_LENGTH, SearchSyntaxError, papers_search_page
from papers.selectors import paper_list_public

PAPERS_PER_PAGE = 25


def paper_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    context: dict[str, object] = {"query": query[:MAX_QUERY_LENGTH], "max_query_length": MAX_QUERY_LENGTH}
    if not query:
        context["page"] = Paginator(paper_list_public(), PAPERS_PER_PAGE).get_page(request.GET.get("page"))
        return render(request, "papers/paper_list.html", context)
    try:
        page, hits = papers_search_page(query=query, page=request.GET.get("page"), per_page=PAPERS_PER_PAGE)
    except SearchSyntaxError as error:
        # A query the syntax cannot read says why, next to the search box, with the list as it was.
        context.update(search_errors=error.errors, page=Paginator([], PAPERS_PER_PAGE).get_page(1))
        return render(request, "papers/paper_list.html", context, status=400)
    context.update(page=page, hits=hits)
    return render(request, "papers/paper_list.html", context)


def paper_detail(request: HttpRequest, pk: int) -> HttpResponse:
    page = paper_page(pk=pk)
    if page is None:
        raise Http404("No such paper")
    return render(
        request, "papers/paper_detail.html", {"paper": page.paper, "links": page.links, "listings": page.listings}
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
