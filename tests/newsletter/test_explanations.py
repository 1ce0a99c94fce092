"""Why each paper matched is explained once per edition when planning, and read back by whoever shows it."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from newsletter.matching import Explanation
from newsletter.models import Delivery, DigestExplanation, Edition
from newsletter.paper_indexes import acronyms_current
from newsletter.selectors import delivered_papers, delivery_item_words
from newsletter.services.explanations import digest_explanations
from newsletter.services.indexing import interest_matches
from newsletter.services.planning import _coverage_index, digest_plan
from newsletter.services.rendering import renderer as rendering
from newsletter.services.sending import renderer_for
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db


def _matcher_explanations(edition: Edition, interest: str) -> dict[object, Explanation]:
    _, index = _coverage_index(edition, None, acronyms_current())
    return {match.paper_id: match.explanation for match in interest_matches(index=index, interest=interest)}


def test_planning_stores_each_paper_and_best_interest_once_as_the_matcher_explains_it(edition: Edition) -> None:
    for n in range(3):  # three digests share every pair
        subscriber_create(f"s{n}@example.org", ["in-context learning", "chain-of-thought"])

    digest_plan()

    items = Delivery.objects.filter(status=Delivery.Status.PENDING).first().papers  # type: ignore[union-attr]
    pairs = {(item["paper_id"], item["interests"][0]) for item in items}
    stored = digest_explanations(edition_id=edition.pk)
    assert set(stored) == pairs and DigestExplanation.objects.count() == len(pairs)
    expected = {i: _matcher_explanations(edition, i) for i in ("in-context learning", "chain-of-thought")}
    for (paper_id, interest), explanation in stored.items():
        assert explanation == expected[interest][paper_id]
    assert any(explanation.words for explanation in stored.values())


def test_planning_again_keeps_the_stored_explanations_as_they_are(edition: Edition) -> None:
    subscriber_create("a@example.org", ["in-context learning"])
    digest_plan()
    before = DigestExplanation.objects.count()
    subscriber_create("b@example.org", ["in-context learning"])

    digest_plan()

    assert DigestExplanation.objects.count() == before > 0


def test_rendering_reads_the_stored_explanations_and_matches_nothing_again(
    edition: Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber_create("a@example.org", ["in-context learning", "agents"])
    (delivery_id,) = digest_plan().pending_ids
    delivery = Delivery.objects.select_related("subscriber", "edition").get(pk=delivery_id)
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)  # both renders sign their links in one second
    rendering_args = {"delivery_id": delivery.pk, "subscriber": delivery.subscriber, "items": delivery.papers}
    from_matcher = rendering.DigestRenderer.for_coverage(edition=edition, covers_after_id=delivery.covers_after_id)
    from_matcher._stored = {}  # as if nothing were stored: every block explained by the matcher
    expected = from_matcher.render(**rendering_args)

    def no_matching(**_: object) -> None:
        raise AssertionError("rendering matched again")

    monkeypatch.setattr(rendering, "interest_matches", no_matching)
    rendered = renderer_for(delivery).render(**rendering_args)

    assert rendered == expected
    assert "<mark" in rendered.html


def test_the_ledger_views_show_the_words_of_each_papers_best_interest(edition: Edition) -> None:
    subscriber_create("a@example.org", ["in-context learning"])
    (delivery_id,) = digest_plan().pending_ids
    delivery = Delivery.objects.get(pk=delivery_id)
    stored = digest_explanations(edition_id=edition.pk)
    expected = [list(stored[item["paper_id"], item["interests"][0]].words) for item in delivery.papers]

    (words,) = delivery_item_words(deliveries=[delivery])
    (papers,) = delivered_papers(deliveries=[delivery])

    assert words == expected and any(expected)
    assert [paper.words for paper in papers] == expected


def test_rows_that_carry_their_own_words_keep_them(edition: Edition) -> None:
    subscriber = subscriber_create("a@example.org", ["x"])
    delivery = Delivery.objects.create(
        subscriber=subscriber, period="2020-01-01", edition=edition,
        papers=[{"paper_id": 1, "score": 1.0, "interests": ["x"], "words": ["old", "words"]}],
    )  # fmt: skip

    assert delivery_item_words(deliveries=[delivery]) == [[["old", "words"]]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index definitions on PostgreSQL")
def test_the_ledger_has_only_the_indexes_its_queries_use() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [Delivery._meta.db_table])
        definitions = sorted(row[0].split(" USING ")[1] for row in cursor.fetchall())

    assert definitions == [
        "btree (created_at)",
        "btree (created_at) WHERE ((status)::text = 'pending'::text)",
        "btree (edition_id, status)",
        "btree (esp_message_id) WHERE (NOT ((esp_message_id)::text = ''::text))",
        "btree (id)",
        "btree (sending_at) WHERE ((status)::text = 'sending'::text)",
        "btree (subscriber_id, period)",
    ]


def test_a_renderer_finds_the_explanations_a_later_plan_run_of_its_edition_stored(
    edition: Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber_create("a@example.org", ["in-context learning"])
    (first_id,) = digest_plan().pending_ids
    first = Delivery.objects.select_related("subscriber", "edition").get(pk=first_id)
    renderer = rendering.DigestRenderer.for_coverage(edition=edition, covers_after_id=first.covers_after_id)
    renderer.render(delivery_id=first.pk, subscriber=first.subscriber, items=first.papers)
    subscriber_create("b@example.org", ["chain-of-thought"])  # the next hour's run: pairs the renderer never read
    (second_id,) = digest_plan().pending_ids
    second = Delivery.objects.select_related("subscriber").get(pk=second_id)

    def no_matching(**_: object) -> None:
        raise AssertionError("rendering matched again")

    monkeypatch.setattr(rendering, "interest_matches", no_matching)
    renderer.explanations_refresh()  # as the sender does for each batch it claims
    rendered = renderer.render(delivery_id=second.pk, subscriber=second.subscriber, items=second.papers)

    assert "<mark" in rendered.html and rendered.paper_count == len(second.papers)
