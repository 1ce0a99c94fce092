"""The reader's loop: feedback on a paper of a digest, their own archive of digests and its private feed.

No account and no cookie: each page is reached by a signed link from a digest, and the link's token is the only
secret. A GET never changes anything (mail scanners fetch every link before the reader does); the feedback
page's buttons POST back to the same signed URL. CSRF protection is not needed there for the reason the
one-click unsubscribe does without it: a forged cross-site POST would have to know the reader's token.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from newsletter.models import Feedback, Subscriber
from newsletter.services import feedback as fb
from newsletter.services import reader_archive
from newsletter.services import subscriptions as subs
from newsletter.tokens import Purpose
from newsletter.views import friendly_link_errors

_VERDICT_HEADINGS = {"more": "More like this", "less": "Not for me"}


@csrf_exempt  # the signed URL is the secret (see the module docstring)
@require_http_methods(["GET", "POST"])
@friendly_link_errors
def feedback(request: HttpRequest, token: str, paper_id: int, verdict: str) -> HttpResponse:
    target = fb.feedback_target_from_link(token=token, paper_id=paper_id)
    if request.method == "POST":
        return _feedback_post(request, target, verdict)
    context = {
        "target": target,
        "verdict": verdict,
        "heading": _VERDICT_HEADINGS[verdict],
        "proposals": fb.feedback_proposals(target=target, verdict=verdict),
        "applied": fb.feedback_edits_applied(target=target),
        "recorded": Feedback.objects.filter(delivery=target.delivery, paper=target.paper, verdict=verdict).exists(),
        "done": request.GET.get("done", ""),
        "interests": target.subscriber.interests,
    }
    return _private(render(request, "newsletter/feedback.html", context))


def _feedback_post(request: HttpRequest, target: fb.FeedbackTarget, verdict: str) -> HttpResponse:
    """Record, apply or undo; then back to the page (a GET), which shows the result and the way back."""
    action = request.POST.get("action", "record")
    try:
        if action == "apply":
            fb.feedback_edit_apply(target=target, verdict=verdict, key=request.POST.get("edit", ""))
        elif action == "undo":
            edit_id = request.POST.get("edit", "")
            if not edit_id.isdigit():
                raise fb.EditUnavailable("That change was undone already.")
            fb.feedback_edit_undo(target=target, edit_id=int(edit_id))
        else:
            action = "record"
            fb.feedback_record(target=target, verdict=verdict)
    except fb.EditUnavailable as problem:
        context = {"problem": str(problem), "back": request.path}
        return _private(render(request, "newsletter/feedback_problem.html", context, status=409))
    return HttpResponseRedirect(f"{request.path}?done={action}")


@require_GET
@friendly_link_errors
def manage_archive(request: HttpRequest, token: str) -> HttpResponse:
    """The archive from a digest's footer, under the reader's manage token (their own pages, as the export)."""
    return _archive_page(request, subs.subscriber_from_link(purpose=Purpose.MANAGE, token=token))


@require_GET
@friendly_link_errors
def archive(request: HttpRequest, token: str) -> HttpResponse:
    """The archive by its own token, as the private feed links it; revoked with the feed."""
    return _archive_page(request, reader_archive.archive_subscriber_from_link(token=token))


def _archive_page(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    context = {
        "subscriber": subscriber,
        "digests": reader_archive.archive_digests(subscriber=subscriber),
        # The feed has a token of its own (it goes to feed readers, the manage token must not).
        "feed_url": reader_archive.archive_feed_url_or_none(subscriber=subscriber),
    }
    return _private(render(request, "newsletter/reader_archive.html", context))


@require_GET
@friendly_link_errors
def archive_feed(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = reader_archive.archive_subscriber_from_link(token=token)
    xml = reader_archive.archive_feed(subscriber=subscriber, token=token)
    return _private(HttpResponse(xml, content_type="application/atom+xml; charset=utf-8"))


def _private(response: HttpResponse) -> HttpResponse:
    """A reader's page: kept out of search engines and shared caches."""
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, no-store"
    return response
