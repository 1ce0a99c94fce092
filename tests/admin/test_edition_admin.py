"""Editions in the admin: papers in order, picks, hides and moves by button, review, previews, counts."""

from __future__ import annotations

import pytest
from django.conf import LazySettings
from django.core import mail
from django.test import Client

from newsletter.models import Delivery, Edition, EditionPaper, Subscriber
from newsletter.services.curation import DISABLED_LINK, edition_preview
from newsletter.services.editions import edition_prepare
from papers.models import Paper
from tests.admin.conftest import messages_of
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db


def _page(edition: Edition) -> str:
    return f"/admin/newsletter/edition/{edition.pk}/change/"


def _entry_url(entry: EditionPaper, operation: str) -> str:
    return f"/admin/newsletter/edition/{entry.edition_id}/entries/{entry.pk}/{operation}/"


def _order(edition: Edition) -> list[int]:
    return list(EditionPaper.objects.filter(edition=edition).order_by("position", "id").values_list("pk", flat=True))


def _reader_of(paper: Paper) -> Subscriber:
    """An active reader whose interest is the paper's own title (it matches that paper)."""
    return subscriber_create("reader@example.org", [paper.title.split(":")[0][:80]])


def test_the_edition_page_lists_its_papers_in_order_with_a_button_for_each_control(
    editor_client: Client, edition: Edition
) -> None:
    entries = list(EditionPaper.objects.filter(edition=edition).select_related("paper").order_by("position", "id"))

    html = editor_client.get(_page(edition)).content.decode()

    positions = [html.index(f'id="entry-{entry.pk}"') for entry in entries[:5]]
    assert positions == sorted(positions)
    for operation in ("up", "down", "feature", "hide"):
        assert f'formaction="{_entry_url(entries[1], operation)}"' in html
    # One form serves every button (the other token is the admin's log-out form).
    assert html.count("csrfmiddlewaretoken") == 2


def test_featuring_from_the_edition_puts_the_paper_first_in_a_readers_digest(
    editor_client: Client, edition: Edition
) -> None:
    entry = EditionPaper.objects.filter(edition=edition).select_related("paper").order_by("-position").first()
    assert entry is not None
    reader = _reader_of(entry.paper)

    response = editor_client.post(_entry_url(entry, "feature"), follow=True)

    assert messages_of(response) == [f"“{entry.paper.title}” is an editor's pick."]
    preview = edition_preview(edition=edition, subscriber=reader)
    assert preview is not None
    picks = preview.text.split("EDITOR'S PICKS", 1)[1]
    assert picks.lstrip().startswith(f"* {entry.paper.title}")
    editor_client.post(_entry_url(entry, "unfeature"))
    assert not EditionPaper.objects.get(pk=entry.pk).is_featured


def test_moving_a_paper_swaps_it_with_its_neighbour(editor_client: Client, edition: Edition) -> None:
    first, second, *_ = _order(edition)

    editor_client.post(_entry_url(EditionPaper.objects.get(pk=second), "up"))
    assert _order(edition)[:2] == [second, first]
    editor_client.post(_entry_url(EditionPaper.objects.get(pk=second), "down"))
    assert _order(edition)[:2] == [first, second]


def test_hiding_from_the_edition_takes_the_paper_out_of_every_unsent_digest(
    editor_client: Client, edition: Edition
) -> None:
    entry = EditionPaper.objects.filter(edition=edition).select_related("paper").first()
    assert entry is not None
    reader = _reader_of(entry.paper)
    before = edition_preview(edition=edition, subscriber=reader)
    assert before is not None and entry.paper.title in " ".join(before.text.split())  # wrapped near 78 characters

    editor_client.post(_entry_url(entry, "hide"))

    after = edition_preview(edition=edition, subscriber=reader)
    assert Paper.objects.get(pk=entry.paper_id).is_hidden
    assert after is None or entry.paper.title not in after.text
    assert EditionPaper.objects.filter(pk=entry.pk).exists()  # back in place if unhidden


def test_entry_controls_are_posts_for_that_edition_only(editor_client: Client, edition: Edition) -> None:
    entry = EditionPaper.objects.filter(edition=edition).first()
    assert entry is not None

    assert editor_client.get(_entry_url(entry, "feature")).status_code == 405
    assert editor_client.post(_entry_url(entry, "explode")).status_code == 404
    wrong_edition = f"/admin/newsletter/edition/{edition.pk + 1}/entries/{entry.pk}/feature/"
    assert editor_client.post(wrong_edition).status_code == 404
    assert not EditionPaper.objects.get(pk=entry.pk).is_featured


def test_an_edition_awaiting_review_is_approved_or_held_by_button(
    editor_client: Client, editor: object, seed_papers: None, settings: LazySettings
) -> None:
    settings.EDITION_REVIEW_REQUIRED = True
    edition = edition_prepare()
    assert edition is not None and edition.status == Edition.Status.AWAITING_REVIEW
    html = editor_client.get(_page(edition)).content.decode()
    assert "/review/approve/" in html and "/review/hold/" in html

    editor_client.post(f"/admin/newsletter/edition/{edition.pk}/review/hold/")
    assert Edition.objects.get(pk=edition.pk).status == Edition.Status.HELD
    editor_client.post(f"/admin/newsletter/edition/{edition.pk}/review/approve/")
    edition.refresh_from_db()
    assert edition.status == Edition.Status.APPROVED and edition.approved_by == editor


def test_the_page_counts_the_editions_deliveries_by_status(editor_client: Client, edition: Edition) -> None:
    statuses = ["sent", "sent", "sent", "failed", "skipped"]
    for n, status in enumerate(statuses):
        subscriber = subscriber_create(f"r{n}@example.org", ["x"])
        Delivery.objects.create(subscriber=subscriber, period="2026-11-24", edition=edition, status=status)

    response = editor_client.get(_page(edition))

    assert response.context["counts"] == {
        "pending": 0, "sending": 0, "sent": 3, "skipped": 1, "failed": 1, "suppressed": 0,
    }  # fmt: skip
    assert '<td data-status="sent">3</td>' in response.content.decode()


def test_the_preview_shows_the_digest_as_html_and_text_without_the_readers_keys(
    editor_client: Client, edition: Edition
) -> None:
    entry = EditionPaper.objects.filter(edition=edition).select_related("paper").first()
    assert entry is not None
    reader = _reader_of(entry.paper)

    response = editor_client.get(f"/admin/newsletter/edition/{edition.pk}/preview/", {"subscriber": reader.email})

    rendered = response.context["rendered"]
    html = response.content.decode()
    assert rendered is not None and entry.paper.title in " ".join(rendered.text.split())  # wrapped
    assert 'sandbox srcdoc="' in html and '<pre class="paperboy-preview-text"' in html
    assert "/manage/" not in html and "/unsubscribe/" not in html and "/digest/" not in html
    assert DISABLED_LINK in rendered.html and DISABLED_LINK in rendered.headers["List-Unsubscribe"]


def test_a_reader_nothing_matches_gets_a_plain_answer(editor_client: Client, edition: Edition) -> None:
    reader = subscriber_create("nobody@example.org", ["xylophone restoration"])

    response = editor_client.get(f"/admin/newsletter/edition/{edition.pk}/preview/", {"subscriber": str(reader.pk)})

    assert response.context["rendered"] is None
    assert "Nothing in this edition matches this reader" in response.content.decode()


def test_an_unknown_reader_sends_the_editor_back_with_a_message(editor_client: Client, edition: Edition) -> None:
    response = editor_client.get(
        f"/admin/newsletter/edition/{edition.pk}/preview/", {"subscriber": "ghost@example.org"}, follow=True
    )

    assert messages_of(response) == ["No subscriber with the address or id “ghost@example.org”."]


def test_send_this_preview_to_me_mails_the_editor_a_marked_copy(editor_client: Client, edition: Edition) -> None:
    entry = EditionPaper.objects.filter(edition=edition).select_related("paper").first()
    assert entry is not None
    reader = _reader_of(entry.paper)

    response = editor_client.post(
        f"/admin/newsletter/edition/{edition.pk}/preview/send/", {"subscriber": reader.pk}, follow=True
    )

    assert messages_of(response) == ["The preview was sent to ed@paperboy.example."]
    [message] = mail.outbox
    assert message.to == ["ed@paperboy.example"] and message.subject.startswith("[Preview] ")
    assert "List-Unsubscribe" not in message.extra_headers
    html = message.alternatives[0][0]  # type: ignore[attr-defined]
    paper_url = f"/papers/{entry.paper_id}/"
    assert paper_url in message.body and paper_url in html
    assert "/unsubscribe/" not in message.body + html and "/manage/" not in message.body + html
    assert Delivery.objects.count() == 0  # a preview is not a delivery


def test_an_editor_without_an_address_is_told_so(editor_client: Client, editor: object, edition: Edition) -> None:
    editor.email = ""  # type: ignore[attr-defined]
    editor.save()  # type: ignore[attr-defined]
    reader = subscriber_create("reader@example.org", ["in-context learning"])

    response = editor_client.post(
        f"/admin/newsletter/edition/{edition.pk}/preview/send/", {"subscriber": reader.pk}, follow=True
    )

    assert messages_of(response) == ["Your account has no email address: add one to receive previews."]
    assert mail.outbox == []


def test_the_edition_list_counts_papers_picks_and_deliveries(editor_client: Client, edition: Edition) -> None:
    EditionPaper.objects.filter(pk__in=_order(edition)[:2]).update(is_featured=True)
    subscriber = subscriber_create("r@example.org", ["x"])
    Delivery.objects.create(subscriber=subscriber, period="2026-11-24", edition=edition, status="sent")

    [row] = editor_client.get("/admin/newsletter/edition/").context["cl"].result_list

    assert (row.paper_count, row.pick_count, row.delivery_count, row.sent_count) == (287, 2, 1, 1)
