"""Subscriber-facing pages. A GET never changes anything (mail scanners follow links); POSTs do."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from newsletter.forms import CONSENT_TEXT, MAX_INTERESTS_FIELD_LENGTH, PreferencesForm, SubscribeForm
from newsletter.links import manage_path
from newsletter.matching.labels import interests_as_typed
from newsletter.models import Subscriber
from newsletter.ratelimits import rate_limit_hit
from newsletter.services import privacy
from newsletter.services import subscriptions as subs
from newsletter.services.first_digest import next_digest_at
from newsletter.services.indexing import interests_preview
from newsletter.services.subscriptions import digest_from_link
from newsletter.tokens import Purpose, TokenExpired, TokenInvalid
from papers.selectors import paper_list_public

RECENT_PAPERS_ON_HOME = 10
View = Callable[..., HttpResponse]


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind proxies the entry of PAPERBOY_CLIENT_IP_HEADER that the
    outermost trusted proxy wrote.

    Each proxy appends the address it received the request from, so the last PAPERBOY_TRUSTED_PROXIES
    entries are written by proxies we run and the one furthest left of them is the client as our first
    proxy saw it. Anything further left came from the client and is ignored: taking the first entry gave a
    client that sends its own X-Forwarded-For a fresh rate-limit bucket and a forged consent IP per request.
    A header with fewer entries than trusted proxies (a request that bypassed them) counts as REMOTE_ADDR.
    """
    remote = _ip_or_none(request.META.get("REMOTE_ADDR", ""))
    header = settings.PAPERBOY_CLIENT_IP_HEADER
    if not header:
        return remote
    entries = [entry.strip() for entry in request.META.get(header, "").split(",")]
    entries = [entry for entry in entries if entry]
    proxies = settings.PAPERBOY_TRUSTED_PROXIES
    if len(entries) < proxies:
        return remote
    return _ip_or_none(entries[-proxies]) or remote


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def friendly_link_errors(view: View) -> View:
    """A bad, expired or spent link gets a page that says so and what to do, never a 500."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except subs.LinkUsed:
            return render(request, "newsletter/link_problem.html", {"problem": "used"}, status=410)
        except TokenExpired:
            return render(request, "newsletter/link_problem.html", {"problem": "expired"}, status=410)
        except TokenInvalid:
            return render(request, "newsletter/link_problem.html", {"problem": "invalid"}, status=400)

    return wrapper


def home(request: HttpRequest, form: SubscribeForm | None = None, status: int = 200) -> HttpResponse:
    context = {
        "form": form or SubscribeForm(),
        "consent_text": CONSENT_TEXT,
        "recent_papers": paper_list_public()[:RECENT_PAPERS_ON_HOME],
    }
    return render(request, "newsletter/home.html", context, status=status)


@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    ip = client_ip(request)
    form = SubscribeForm(request.POST)
    # Validated first: only a valid sign-up counts against a limit, so fixing a typo never locks anyone out.
    if not form.is_valid():
        return home(request, form=form, status=400)
    if rate_limit_hit(
        scope="subscribe-ip", key=ip or "unknown", limit=settings.PAPERBOY_SUBSCRIBES_PER_IP, window_seconds=600
    ):
        form.add_error(None, "Too many sign-ups from your network in the last few minutes. Try again later.")
        return home(request, form=form, status=429)
    if not form.is_bot:
        request_data = subs.SubscribeRequest(
            email=form.cleaned_data["email"], preferences=form.preferences(), ip=ip, consent_text=CONSENT_TEXT
        )
        subs.subscription_request(request=request_data)
    # The same redirect whatever the address was: the response never tells who is subscribed.
    return redirect("newsletter:check_email")


@require_GET
def preview(request: HttpRequest) -> JsonResponse:
    """The live preview of the subscribe form: what these interests would have caught among recent papers."""
    limited = rate_limit_hit(
        scope="preview-ip",
        key=client_ip(request) or "unknown",
        limit=settings.PAPERBOY_PREVIEWS_PER_IP,
        window_seconds=60,
    )
    if limited:
        return JsonResponse({"error": "Too many previews; wait a minute."}, status=429)
    raw = request.GET.get("interests", "")[:MAX_INTERESTS_FIELD_LENGTH]
    return JsonResponse(interests_preview(raw=raw))


@require_GET
def check_email(request: HttpRequest) -> HttpResponse:
    return render(request, "newsletter/check_email.html")


@require_http_methods(["GET", "POST"])
@friendly_link_errors
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        confirmation = subs.confirmation_from_link(token=token)  # a bad link is explained now, not after the click
        preferences = subs.confirmation_preferences(confirmation=confirmation)
        subscriber = confirmation.subscriber
        interests = (
            interests_as_typed(preferences.interests, preferences.interest_labels)
            if preferences
            else interests_as_typed(subscriber.interests, subscriber.interest_labels)
        )
        return render(request, "newsletter/confirm.html", {"token": token, "interests": interests})
    subscriber = subs.subscriber_confirm(token=token)
    return redirect(manage_path(subscriber) + "?welcome=1")


@require_http_methods(["GET", "POST"])
@friendly_link_errors
def manage(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = subs.subscriber_from_link(purpose=Purpose.MANAGE, token=token)
    form = PreferencesForm(initial=PreferencesForm.initial_for(subscriber))
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "save":
            form = PreferencesForm(request.POST)
            if form.is_valid():
                subs.subscriber_update_preferences(subscriber=subscriber, preferences=form.preferences())
                messages.success(request, "Saved. Your next digest uses these settings.")
                return redirect(request.path)
        elif action in _MANAGE_ACTIONS:
            return _MANAGE_ACTIONS[action](request, subscriber)
    welcome = "welcome" in request.GET
    context = {"subscriber": subscriber, "form": form, "token": token, "welcome": welcome}
    if welcome:
        context["next_digest_at"] = next_digest_at(subscriber=subscriber)
    return render(request, "newsletter/manage.html", context, status=400 if form.errors else 200)


def _pause(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    subs.subscriber_pause(subscriber=subscriber)
    messages.success(request, "Paused. No digests until you resume.")
    return redirect(request.path)


def _resume(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    subs.subscriber_resume(subscriber=subscriber)
    messages.success(request, "Resumed. Your next digest arrives on schedule.")
    return redirect(request.path)


def _unsubscribe(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    subs.subscriber_unsubscribe(subscriber=subscriber, cause="their manage page")
    return render(request, "newsletter/unsubscribed.html", {"subscriber": subscriber})


def _erase(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if request.POST.get("confirm_erase") != "yes":
        messages.error(request, "Tick the box to confirm that you want all your data deleted.")
        return redirect(request.path)
    privacy.subscriber_erase(subscriber=subscriber)
    return render(request, "newsletter/erased.html")


_MANAGE_ACTIONS: dict[str, Callable[[HttpRequest, Subscriber], HttpResponse]] = {
    "pause": _pause,
    "resume": _resume,
    "unsubscribe": _unsubscribe,
    "erase": _erase,
}


@require_GET
@friendly_link_errors
def export(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = subs.subscriber_from_link(purpose=Purpose.MANAGE, token=token)
    data = json.dumps(privacy.subscriber_export(subscriber=subscriber), indent=2, ensure_ascii=False)
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="paperboy-my-data.json"'
    return response


@csrf_exempt  # RFC 8058: the mail client POSTs with no cookie and no token; the signed URL is the secret
@require_http_methods(["GET", "POST"])
@friendly_link_errors
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = subs.subscriber_from_link(purpose=Purpose.UNSUBSCRIBE, token=token)
    if request.method == "GET":
        return render(request, "newsletter/unsubscribe.html", {"subscriber": subscriber})
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"  # RFC 8058's body, from a mail client
    subs.subscriber_unsubscribe(
        subscriber=subscriber,
        cause="one-click unsubscribe in their mail client" if one_click else "their unsubscribe link",
    )
    # No redirect: one-click clients expect the answer to this very request.
    return render(request, "newsletter/unsubscribed.html", {"subscriber": subscriber})


@require_GET
@friendly_link_errors
def digest_view(request: HttpRequest, token: str) -> HttpResponse:
    """The 'view in browser' page: the digest exactly as it was mailed, behind a signed link."""
    from newsletter.services.sending import renderer_for

    delivery = digest_from_link(token=token)
    renderer = renderer_for(delivery)
    renderer.explanations_refresh()  # the process's renderer may predate this digest's plan run
    rendered = renderer.render(delivery_id=delivery.pk, subscriber=delivery.subscriber, items=delivery.papers)
    response = HttpResponse(rendered.html)
    response["X-Robots-Tag"] = "noindex"
    return response
