"""Every kind of email the project sends, built the way it is sent, for the email tests (details, spam score).

The papers were listed Mar 11-14 and arrive in today's edition: two match the reader's interests ("RLHF" and
"Diffusion Models", as typed), one is an editor's pick that matches neither.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from email.message import Message
from email.parser import BytesParser
from email.policy import default as default_policy

import lxml.html
import pytest
from django.core import mail
from django.test import Client

from newsletter.models import Edition, Subscriber
from newsletter.services.editions import edition_prepare
from newsletter.services.planning import digest_plan
from newsletter.services.sending import deliveries_send
from newsletter.services.subscriptions import manage_link_send
from tests.factories import paper_create

PICK_NOTE = "The clearest account yet of why reward models drift; every group training with feedback should read it."


@pytest.fixture
def march_edition() -> Edition:
    return march_edition_make()


def march_edition_make() -> Edition:
    """Papers listed Mar 11-14 (first seen now, so in today's edition): two that match, one editor's pick."""
    paper_create(
        title="Reinforcement Learning from Human Feedback without Reward Hacking",
        abstract="We study RLHF for large language models. Our method keeps the policy close to the reference "
        "model and stops reward hacking on three benchmarks.",
        authors=["Ada Lovelace", "Grace Hopper"],
        first_listed_on=date(2026, 3, 11),
    )
    paper_create(
        title="Diffusion Models for Protein Backbones",
        abstract="Diffusion has changed image generation. We train diffusion models on protein structures; "
        "the models sample backbones, and one model beats the baselines.",
        first_listed_on=date(2026, 3, 14),
    )
    paper_create(
        title="Graph Databases at Petabyte Scale",
        abstract="We describe how a graph database serves petabytes of edges with predictable latency, and "
        "what we learned operating it for five years.",
        authors=["Barbara Liskov"],
        first_listed_on=date(2026, 3, 12),
        is_featured=True,
        editor_note=PICK_NOTE,
    )
    edition = edition_prepare()
    assert edition is not None and edition.issue_date != date(2026, 3, 14)
    return edition


def reader(**fields: object) -> Subscriber:
    """A reader who typed "RLHF" and "Diffusion Models" (stored canonical, shown as typed)."""
    from tests.newsletter.conftest import subscriber_create  # it imports this module's fixtures

    return subscriber_create(
        "ada@example.org",
        ["rlhf", "diffusion models"],
        interest_labels={"rlhf": "RLHF", "diffusion models": "Diffusion Models"},
        **fields,
    )


def digest_sent() -> mail.EmailMessage:
    report = digest_plan()
    assert deliveries_send(delivery_ids=report.pending_ids).sent == 1
    return mail.outbox[-1]


def html_of(message: mail.EmailMessage) -> str:
    (html, mimetype), *_ = message.alternatives  # type: ignore[attr-defined]
    assert mimetype == "text/html"
    return str(html)


def mime_of(message: mail.EmailMessage) -> Message:
    return BytesParser(policy=default_policy).parsebytes(message.message().as_bytes())


def visible_text(html: str) -> str:
    document = lxml.html.document_fromstring(html)
    for hidden in document.xpath("//head | //*[contains(@class, 'preheader')]"):
        hidden.getparent().remove(hidden)
    return " ".join(document.text_content().split())


def _all_kinds_of_email(client: Client, subscribe: Callable[..., object], capture: Callable) -> dict[str, object]:
    """Every kind of email the project sends, as sent: confirmation, first digest, notice, digest."""
    from tests.newsletter.conftest import links_in_last_email, path_of  # it imports this module's fixtures

    kinds: dict[str, object] = {}
    subscribe(email="new@example.org", interests="RLHF\nDiffusion Models")
    kinds["confirmation"] = mail.outbox[-1]
    with capture(execute=True):
        client.post(path_of(links_in_last_email("/confirm/")[0]))
    kinds["first digest"] = mail.outbox[-1]
    assert kinds["first digest"] is not kinds["confirmation"], "no first digest was sent"
    manage_link_send(subscriber_id=Subscriber.objects.get(email="new@example.org").pk)
    kinds["already subscribed notice"] = mail.outbox[-1]
    reader()
    kinds["digest"] = digest_sent()
    return kinds


@pytest.fixture
def every_email(
    march_edition: Edition,
    client: Client,
    subscribe: Callable[..., object],
    django_capture_on_commit_callbacks: Callable,
) -> dict[str, mail.EmailMessage]:
    return _all_kinds_of_email(client, subscribe, django_capture_on_commit_callbacks)  # type: ignore[return-value]
