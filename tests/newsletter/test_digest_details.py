"""A digest that is right in every detail (issue 19): what it covers, what it counts, how it names the reader's
interests, why each paper is there, how it reads in dark mode and plain text, and the headers it goes with.

Every kind of email the project sends is checked: the confirmation, the "already subscribed" notice, a
scheduled digest and the first digest a reader gets at once after confirming.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from django.conf import LazySettings
from django.core import mail
from django.test import Client
from django.utils import timezone

from newsletter.contrast import AA_TEXT, contrast_ratio
from newsletter.digest_wording import listings_label, shown_count, words_distinct
from newsletter.matching.labels import interest_labels
from newsletter.models import Delivery, DigestExplanation, Edition, Subscriber
from newsletter.plain_text import wrapped
from newsletter.services.first_digest import next_digest_at
from newsletter.services.planning import digest_plan
from newsletter.services.rendering import DigestRenderer
from newsletter.services.sending import deliveries_send
from tests.newsletter.conftest import links_in_last_email, path_of
from tests.newsletter.email_css import EmailStyles
from tests.newsletter.email_kinds import PICK_NOTE, digest_sent, html_of, mime_of, reader, visible_text

pytestmark = pytest.mark.django_db

URL_LINE = re.compile(r"\s*([A-Za-z ]+: )?https?://\S+")


# --- what the digest covers and counts -----------------------------------------------------------------------


def test_listing_ranges_read_as_people_say_them() -> None:
    assert listings_label([date(2026, 3, 14), date(2026, 3, 11)], this_year=2026) == "Mar 11–14"
    assert listings_label([date(2026, 3, 11)], this_year=2026) == "Mar 11"
    assert listings_label([date(2026, 3, 30), date(2026, 4, 2)], this_year=2026) == "Mar 30 – Apr 2"
    assert listings_label([date(2025, 12, 30), date(2026, 1, 2)], this_year=2026) == "Dec 30, 2025 – Jan 2, 2026"
    assert listings_label([date(2025, 3, 11), date(2025, 3, 14)], this_year=2026) == "Mar 11–14, 2025"
    with pytest.raises(ValueError, match="at least one"):
        listings_label([], this_year=2026)


def test_subject_and_header_name_the_listings_covered_not_the_send_date(march_edition: Edition) -> None:
    reader()
    message = digest_sent()

    assert "listed Mar 11–14" in message.subject
    assert "from the papers listed Mar 11–14." in visible_text(html_of(message))
    assert "Picked for your interests from the papers listed Mar 11–14." in message.body
    sent_on = march_edition.issue_date
    for text in (message.subject, html_of(message), message.body):
        assert f"{sent_on:%B} {sent_on.day}" not in text


def test_the_heading_counts_the_editors_pick_shown_with_its_abstract_and_why(march_edition: Edition) -> None:
    reader()
    message = digest_sent()
    own = len(Delivery.objects.get().papers)
    visible = visible_text(html_of(message))

    assert own == 2  # the pick matches neither interest: it is shown as a pick only
    assert message.subject.startswith("3 new papers for you, ")
    assert visible.startswith("3 new papers for you") and message.body.startswith("3 new papers for you\n")
    assert "predictable latency" in visible  # the pick's abstract
    assert f"Why the editors picked it: {PICK_NOTE}" in visible
    assert "Why the editors picked it: The clearest account yet" in message.body
    assert "predictable latency" in " ".join(message.body.split())


def test_a_pick_that_also_matched_is_counted_once() -> None:
    class Pick:
        def __init__(self, pk: int) -> None:
            self.id = pk

    items = [{"paper_id": 1}, {"paper_id": 2}]
    assert shown_count(items, [Pick(2)]) == 2
    assert shown_count(items, [Pick(3)]) == 3
    assert shown_count(items, []) == 2


# --- interests as typed, why words without repeats -----------------------------------------------------------


def test_interest_labels_keep_the_readers_spelling_only_where_it_differs() -> None:
    raw = 'RLHF\nin-context learning, Diffusion   Models\n"Exact Phrase" -Survey\nrlhf'
    assert interest_labels(raw) == {
        "rlhf": "RLHF",
        "diffusion models": "Diffusion Models",
        '"exact phrase" -survey': '"Exact Phrase" -Survey',
    }


def test_the_digest_names_interests_as_the_reader_typed_them(march_edition: Edition) -> None:
    reader()
    message = digest_sent()
    visible, text = visible_text(html_of(message)), message.body

    assert "Matched your interest RLHF:" in visible and "Matched your interest RLHF:" in text
    assert "Matched your interest Diffusion Models:" in visible
    assert "with the interests: RLHF, Diffusion Models." in visible
    assert "RLHF, Diffusion Models" in text
    assert "rlhf" not in visible and "rlhf" not in text
    assert "interest diffusion models" not in visible and "interests: rlhf" not in text


def test_a_reader_written_in_bulk_without_labels_gets_canonical_interests(march_edition: Edition) -> None:
    reader()
    Subscriber.objects.update(interest_labels=None)  # as COPY or raw SQL leave it: NULL
    message = digest_sent()
    assert "Matched your interest rlhf:" in message.body


def test_typed_interests_are_shown_back_in_the_preview_the_confirmation_and_the_manage_page(
    client: Client, subscribe: Callable[..., object], django_capture_on_commit_callbacks: Callable
) -> None:
    preview = client.get("/subscribe/preview.json", {"interests": "RLHF\nDiffusion Models"}).json()
    assert [entry["interest"] for entry in preview["interests"]] == ["RLHF", "Diffusion Models"]

    subscribe(interests="RLHF\nDiffusion Models")
    confirmation = mail.outbox[-1]
    assert "RLHF" in confirmation.body and "rlhf" not in confirmation.body
    assert "<li>RLHF</li>" in html_of(confirmation)
    confirm_path = path_of(links_in_last_email("/confirm/")[0])
    assert "<li>RLHF</li>" in client.get(confirm_path).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_path, follow=True)
    subscriber = Subscriber.objects.get()
    assert subscriber.interests == ["rlhf", "diffusion models"]  # matched as canonical text
    page = response.content.decode()
    assert "RLHF\nDiffusion Models" in page and "rlhf" not in page  # the manage form, as typed


def test_the_why_line_does_not_repeat_itself() -> None:
    assert words_distinct(["Diffusion", "diffusion models", "models", "model"]) == ["diffusion models"]
    assert words_distinct(["RLHF", "rlhf", "reward model", "reward models"]) == ["RLHF", "reward model"]
    assert words_distinct(["in-context learning", "learning", "context"]) == ["in-context learning"]
    assert words_distinct(["transformers", "attention"]) == ["transformers", "attention"]


def test_a_stored_explanation_with_repeats_is_shown_without_them(march_edition: Edition) -> None:
    reader()
    report = digest_plan()
    DigestExplanation.objects.filter(interest="diffusion models").update(
        words=["Diffusion", "diffusion models", "models", "model"]
    )
    deliveries_send(delivery_ids=report.pending_ids)
    message = mail.outbox[-1]

    assert "Matched your interest Diffusion Models: diffusion models" in visible_text(html_of(message))
    assert "Matched your interest Diffusion Models:\n  diffusion models\n" in message.body
    assert "models, model" not in message.body


# --- dark mode, layout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_text_of_every_email_has_at_least_aa_contrast(every_email: dict, dark: bool) -> None:
    for kind, message in every_email.items():
        styles = EmailStyles(html_of(message), dark=dark)
        checked = 0
        for element, text in styles.texts():
            ratio = contrast_ratio(styles.color(element), styles.background(element))
            assert ratio >= AA_TEXT, f"{kind}: {text[:60]!r} <{element.tag!s} class={element.get('class')}> {ratio:.2f}"
            checked += 1
        assert checked > 3, kind


def test_the_former_low_contrast_lines_are_now_readable_in_dark_mode(every_email: dict) -> None:
    styles = EmailStyles(html_of(every_email["digest"]), dark=True)
    found = dict.fromkeys(("why", "section", "meta"), 0)
    for element, _ in styles.texts():
        cls = element.get("class") or ""
        if cls in found:
            found[cls] += 1
            assert contrast_ratio(styles.color(element), styles.background(element)) >= AA_TEXT
    assert all(found.values()), found


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_title_links_stand_out_from_the_text_around_them(every_email: dict, dark: bool) -> None:
    styles = EmailStyles(html_of(every_email["digest"]), dark=dark)
    titles = styles.document.cssselect(".paper h3 a, .pick h3 a")
    assert len(titles) == 3
    for title in titles:
        (block,) = title.iterancestors("div")  # the paper's or the pick's block, in the card
        card = block.getparent()
        assert card is not None and card.get("class") == "card"
        body_text = styles.color(card)
        assert styles.color(title) != body_text
        assert "underline" in (styles.value(title, "text-decoration") or "")
        assert contrast_ratio(styles.color(title), styles.background(title)) >= AA_TEXT


def test_every_email_sits_in_a_centred_600px_presentation_table_carrying_fonts_and_colours(
    every_email: dict,
) -> None:
    for kind, message in every_email.items():
        document = lxml.html.document_fromstring(html_of(message))
        (outer,) = document.xpath("//body/table")
        assert outer.get("role") == "presentation" and outer.get("width") == "100%", kind
        (inner,) = outer.xpath("./tbody/tr/td/table | ./tr/td/table")  # the inliner's parser adds <tbody>
        assert inner.get("role") == "presentation" and inner.get("width") == "600" and inner.get("align") == "center"
        assert outer.xpath(".//td")[0].get("align") == "center"
        for wrapper in (outer, inner, *inner.xpath("./tbody/tr/td | ./tr/td")):
            style = wrapper.get("style") or ""
            assert "font-family" in style and re.search(r"(^|;)\s*color:", style), (kind, wrapper.get("class"))
        assert "background" in (outer.get("style") or "") and outer.get("bgcolor")
        assert "max-width: 600px" in (inner.get("style") or "")


# --- headers, preheader, plain text --------------------------------------------------------------------------


def test_every_email_has_a_message_id_on_the_sending_domain_and_the_list_headers(every_email: dict) -> None:
    for kind, message in every_email.items():
        parsed = mime_of(message)
        assert re.fullmatch(r"<[^@<>\s]+@paperboy\.localhost>", parsed["Message-ID"]), (kind, parsed["Message-ID"])
        assert "localhost>" not in parsed["Message-ID"].replace("@paperboy.localhost>", "")
        unsubscribe = parsed["List-Unsubscribe"]
        assert re.search(r"<https?://[^>]+/unsubscribe/[^>]+/>", unsubscribe), kind
        assert "<mailto:" in unsubscribe, kind
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", kind
        assert parsed["List-Id"] == "Paperboy digest <digest.paperboy.localhost>", kind


def test_a_from_address_without_a_domain_is_refused_at_start(settings: LazySettings) -> None:
    from newsletter.checks import sending_domain_check

    assert sending_domain_check() == []
    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@localhost>"
    (error,) = sending_domain_check()
    assert error.id == "paperboy.E002" and "no fully qualified domain" in error.msg


def test_the_one_click_unsubscribe_url_takes_a_post_without_a_cookie(every_email: dict, client: Client) -> None:
    parsed = mime_of(every_email["digest"])
    url = re.search(r"<(https?://[^>]+)>", parsed["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    csrf_checking = Client(enforce_csrf_checks=True)
    response = csrf_checking.post(path_of(url), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscriber.objects.get(email="ada@example.org").status == Subscriber.Status.UNSUBSCRIBED


def test_every_email_has_a_hidden_preheader_that_says_what_it_is(every_email: dict) -> None:
    expected = {
        "confirmation": "One click to start your digest of new papers on RLHF, Diffusion Models.",
        "first digest": "New papers listed Mar 11–14 that match your interests: RLHF, Diffusion Models.",
        "already subscribed notice": "Your personal link to change your interests",
        "digest": "New papers listed Mar 11–14 that match your interests: RLHF, Diffusion Models.",
    }
    for kind, message in every_email.items():
        document = lxml.html.document_fromstring(html_of(message))
        (preheader,) = document.xpath("//body/*[1]")
        assert preheader.get("class") == "preheader", kind
        assert "display: none" in preheader.get("style", ""), kind
        assert preheader.text_content().startswith(expected[kind]), kind


def test_plain_text_lines_are_wrapped_near_78_characters(every_email: dict) -> None:
    for kind, message in every_email.items():
        lines = message.body.splitlines()
        long = [line for line in lines if len(line) > 78 and not URL_LINE.fullmatch(line)]
        assert not long, (kind, long)
        assert max(len(line) for line in lines if not URL_LINE.fullmatch(line)) > 60, kind  # wrapped, not chopped


def test_wrapping_keeps_every_word_and_indents_the_continuation() -> None:
    text = "word " * 40 + "https://example.org/" + "x" * 90
    lines = wrapped(text.strip()).split("\n")
    assert " ".join(line.strip() for line in lines) == text.strip()
    assert all(line.startswith("  ") for line in lines[1:])
    assert all(len(line) <= 76 for line in lines[:-1])


# --- the first digest ----------------------------------------------------------------------------------------


def test_a_new_reader_gets_a_first_digest_at_once_and_is_told_when_the_next_comes(
    march_edition: Edition,
    client: Client,
    subscribe: Callable[..., object],
    django_capture_on_commit_callbacks: Callable,
) -> None:
    subscribe(interests="RLHF", timezone="America/Los_Angeles", send_hour="9")
    confirm_path = path_of(links_in_last_email("/confirm/")[0])
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_path, follow=True)

    (first,) = mail.outbox
    assert first.to == ["ada@example.org"] and "Reinforcement Learning from Human Feedback" in first.body
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT and delivery.edition == march_edition
    subscriber = Subscriber.objects.get()
    page = response.content.decode()
    expected = next_digest_at(subscriber=subscriber).astimezone(ZoneInfo("America/Los_Angeles"))
    assert expected.hour == 9 and expected.date() > timezone.now().astimezone(expected.tzinfo).date()
    assert f"{expected:%A, %B} {expected.day} at 09:00 (America/Los_Angeles time)" in page
    assert "first digest" in page

    # The schedule carries on from the next period: planning now finds nothing due, and re-running sends nothing.
    assert digest_plan().due == 0
    from newsletter.services.first_digest import first_digest_send

    assert first_digest_send(subscriber_id=subscriber.pk) == 0
    assert len(mail.outbox) == 1


def test_the_next_digest_is_the_readers_hour_in_a_later_period() -> None:
    paris = ZoneInfo("Europe/Paris")
    daily = Subscriber(frequency="daily", send_hour=7, timezone="Europe/Paris")
    weekly = Subscriber(frequency="weekly", weekday=0, send_hour=7, timezone="Europe/Paris")
    monday_early = datetime(2026, 12, 7, 5, 0, tzinfo=paris)  # before the hour: today's period is the first's
    assert next_digest_at(subscriber=daily, now=monday_early) == datetime(2026, 12, 8, 7, 0, tzinfo=paris)
    assert next_digest_at(subscriber=weekly, now=monday_early) == datetime(2026, 12, 14, 7, 0, tzinfo=paris)
    wednesday = datetime(2026, 12, 9, 23, 30, tzinfo=paris)
    assert next_digest_at(subscriber=weekly, now=wednesday) == datetime(2026, 12, 14, 7, 0, tzinfo=paris)


# --- the fast path --------------------------------------------------------------------------------------------


def test_the_block_fast_path_engages_and_equals_the_templates(march_edition: Edition, monkeypatch) -> None:
    import time

    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)  # both renders sign their links in one second
    long_labels = {"rlhf": "RLHF", "diffusion models": "Diffusion Models (Protein Backbones, Sampling, Scoring)"}
    subscriber = reader()
    subscriber.interest_labels = long_labels
    subscriber.save()
    digest_plan()
    delivery = Delivery.objects.get()

    def render(*, fast: bool) -> tuple[str, str, DigestRenderer]:
        renderer = DigestRenderer.for_coverage(edition=march_edition, covers_after_id=delivery.covers_after_id)
        if not fast:
            renderer._skeletons_on = False
        rendered = renderer.render(delivery_id=delivery.pk, subscriber=subscriber, items=delivery.papers)
        rendered_again = renderer.render(delivery_id=delivery.pk, subscriber=subscriber, items=delivery.papers)
        assert rendered_again == rendered  # the second from the memo of blocks
        return rendered.html, rendered.text, renderer

    html, text, renderer = render(fast=True)
    assert renderer._skeletons_on is True
    assert renderer._skeletons and all(skeleton is not None for skeleton in renderer._skeletons.values())
    assert renderer._checked == set(renderer._skeletons)  # each checked against the templates, and kept
    renderer._blocks.clear()
    renderer.render(delivery_id=delivery.pk, subscriber=subscriber, items=delivery.papers)
    assert renderer._skeletons_on is True  # blocks built from the skeletons alone still agree
    slow_html, slow_text, _ = render(fast=False)
    assert (html, text) == (slow_html, slow_text)
    assert all(len(line) <= 78 for line in text.splitlines() if not URL_LINE.fullmatch(line))
