"""Refuse a request by its declared size, before anything reads its body.

The check cannot wait for the upload view: CsrfViewMiddleware reads `request.POST` of every POST in its
process_view, and for a multipart upload that streams the whole file to a temporary file first. So this runs
in process_view too, placed before CSRF in MIDDLEWARE, and looks only at CONTENT_LENGTH.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

_MB = 1024 * 1024
# The form around the file: multipart boundaries, part headers, the CSRF token. A few hundred bytes in practice.
FORM_OVERHEAD_BYTES = 64 * 1024
DUMP_UPLOAD_VIEW = "papers_dump_upload"


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        declared = _content_length(request)
        is_dump_upload = request.resolver_match is not None and request.resolver_match.url_name == DUMP_UPLOAD_VIEW
        if is_dump_upload:
            limit = settings.PAPERBOY_DUMP_MAX_BYTES
            if declared > limit + FORM_OVERHEAD_BYTES:
                return _dump_too_large(declared=declared, limit=limit)
            return None
        # Elsewhere no form carries a file: Django would refuse the fields over this size anyway, but only
        # after a multipart body's file parts had been written to disk.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and declared > limit + FORM_OVERHEAD_BYTES:
            return HttpResponse("Request body too large.\n", status=413, content_type="text/plain")
        return None


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0  # Django reads no body it cannot size


def _dump_too_large(*, declared: int, limit: int) -> HttpResponse:
    body = format_html(
        "<!doctype html><title>Dump too large</title><h1>Dump too large</h1>"
        "<p>The upload is {} MB; the limit for a dump is {} MB (PAPERBOY_DUMP_MAX_BYTES). Nothing was read or "
        'stored. Split the file, or raise the limit.</p><p><a href="{}">Back to the upload page</a></p>',
        f"{declared / _MB:.1f}",
        f"{limit / _MB:.1f}",
        reverse(f"admin:{DUMP_UPLOAD_VIEW}"),
    )
    return HttpResponse(body, status=413)
