"""Previews and the interests report from the edition's kept index: the same digests as the plain way, built
once per version of the edition's papers, and a handful of queries per click (issue 20)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from newsletter.models import Edition, EditionPaper
from newsletter.services import edition_index
from newsletter.services.curation import _personal_links_disabled, edition_preview, papers_hide
from newsletter.services.edition_index import coverage_index, coverage_of, digest_preview_cached, edition_index_forget
from newsletter.services.editions import edition_move
from newsletter.services.planning import digest_preview
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db

INTERESTS = ["large language models", "diffusion", "reinforcement learning", "agents"]


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    edition_index_forget()
    yield
    edition_index_forget()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of papers of each index built (a spy that still builds)."""
    built: list[int] = []
    real = edition_index.paper_index_build

    def counting(*, papers: list[tuple[int, str, str]], acronyms: Any = None) -> Any:
        built.append(len(papers))
        return real(papers=papers, acronyms=acronyms)

    monkeypatch.setattr(edition_index, "paper_index_build", counting)
    return built


def _preview(client: Client, edition: Edition, subscriber: object) -> Any:
    return client.get(f"/admin/newsletter/edition/{edition.pk}/preview/", {"subscriber": subscriber.pk})  # type: ignore[attr-defined]


def test_the_kept_index_renders_the_same_digest_as_the_plain_way(edition: Edition) -> None:
    reader = subscriber_create("reader@example.org", INTERESTS)

    fast = digest_preview_cached(edition=edition, subscriber=reader)
    plain = digest_preview(edition=edition, subscriber=reader)

    assert fast is not None and plain is not None and fast.paper_count == plain.paper_count > 5
    # Signed links are timestamped: compared with them disabled, as every preview shows them.
    assert _personal_links_disabled(fast) == _personal_links_disabled(plain)


def test_previews_of_many_readers_build_the_index_once(
    edition: Edition, editor_client: Client, builds: list[int]
) -> None:
    readers = [subscriber_create(f"r{n}@example.org", [INTERESTS[n % 4]]) for n in range(4)]

    for reader in readers:
        assert _preview(editor_client, edition, reader).context["rendered"] is not None

    assert builds == [EditionPaper.objects.filter(edition=edition).count()]


def test_a_preview_after_the_first_takes_a_few_queries(
    edition: Edition, editor_client: Client, django_assert_max_num_queries: Any
) -> None:
    first, second = (subscriber_create(f"r{n}@example.org", INTERESTS[n:]) for n in range(2))
    _preview(editor_client, edition, first)

    # The admin's 4 (session, user, permissions), the subscriber, the edition, the coverage's version (2).
    with django_assert_max_num_queries(9):
        response = _preview(editor_client, edition, second)

    assert response.context["rendered"] is not None


def test_moving_a_pick_keeps_the_index_and_shows_the_new_order(edition: Edition, builds: list[int]) -> None:
    reader = subscriber_create("reader@example.org", INTERESTS)
    before = coverage_of(edition=edition)
    digest_preview_cached(edition=edition, subscriber=reader)
    last = EditionPaper.objects.filter(edition=edition).order_by("-position").first()
    assert last is not None

    edition_move(entry=last, offset=-1)
    after = coverage_of(edition=edition)
    digest_preview_cached(edition=edition, subscriber=reader)

    assert after.index_version == before.index_version and after.order_version != before.order_version
    assert len(builds) == 1


def test_hiding_a_paper_is_a_new_version_and_the_preview_leaves_it_out(edition: Edition, builds: list[int]) -> None:
    reader = subscriber_create("reader@example.org", INTERESTS)
    shown = digest_preview_cached(edition=edition, subscriber=reader)
    assert shown is not None
    paper_id = _first_paper_in(shown.text, edition)

    papers_hide(paper_ids=[paper_id], hidden=True)
    again = digest_preview_cached(edition=edition, subscriber=reader)

    assert len(builds) == 2
    assert again is None or f"/papers/{paper_id}/" not in again.text


def _first_paper_in(text: str, edition: Edition) -> int:
    ids = EditionPaper.objects.filter(edition=edition).values_list("paper_id", flat=True)
    return min((text.index(f"/papers/{pk}/"), pk) for pk in ids if f"/papers/{pk}/" in text)[1]


def test_a_finished_preview_is_shared_with_other_processes(edition: Edition, editor_client: Client) -> None:
    reader = subscriber_create("reader@example.org", INTERESTS)
    shown = _preview(editor_client, edition, reader).context["rendered"]
    edition_index_forget()  # as another process would start: nothing kept in memory

    def no_build(**_: Any) -> Any:
        raise AssertionError("the shared preview should have been used")

    original = edition_index.coverage_index
    edition_index.coverage_index = no_build
    try:
        again = _preview(editor_client, edition, reader).context["rendered"]
    finally:
        edition_index.coverage_index = original

    assert again == shown


def test_a_reader_who_changed_interests_gets_a_new_preview(edition: Edition) -> None:
    reader = subscriber_create("reader@example.org", ["diffusion"])

    first = edition_preview(edition=edition, subscriber=reader)
    reader.interests = ["xylophone restoration"]
    reader.save()

    assert first is not None and edition_preview(edition=edition, subscriber=reader) is None


def test_the_interests_report_counts_from_the_kept_index(
    edition: Edition, editor_client: Client, builds: list[int], django_assert_max_num_queries: Any
) -> None:
    for n in range(3):
        subscriber_create(f"r{n}@example.org", INTERESTS[: n + 1])
    editor_client.get("/admin/newsletter/subscriber/interests/")
    cache.clear()  # the counts are shared: without them, the kept index must answer

    with django_assert_max_num_queries(9):
        response = editor_client.get("/admin/newsletter/subscriber/interests/")

    rows = {row.interest: row for row in response.context["rows"]}
    assert rows["large language models"].subscribers == 3 and rows["large language models"].matches
    assert len(builds) == 1


def test_an_index_loaded_from_bytes_matches_as_the_built_one(edition: Edition) -> None:
    from newsletter.services.index_sharing import index_from_bytes, index_to_bytes
    from newsletter.services.indexing import interest_matches, subscriber_picks

    built = coverage_index(coverage=coverage_of(edition=edition))
    loaded = index_from_bytes(index_to_bytes(built), acronyms=built.acronyms)
    readers = [(n, [interest]) for n, interest in enumerate([*INTERESTS, "LLM agents", '"chain of thought"'])]

    assert loaded is not None and len(loaded) == len(built) == 287
    assert subscriber_picks(index=loaded, subscribers=readers) == subscriber_picks(index=built, subscribers=readers)
    for interest in INTERESTS:
        assert interest_matches(index=loaded, interest=interest) == interest_matches(index=built, interest=interest)


def test_another_process_loads_the_shared_index_instead_of_building_it(
    edition: Edition, editor_client: Client, builds: list[int]
) -> None:
    first, second = (subscriber_create(f"r{n}@example.org", INTERESTS[n:]) for n in range(2))
    shown = _preview(editor_client, edition, second).context["rendered"]
    edition_index_forget()  # as another process would start: nothing kept in memory

    again = digest_preview_cached(edition=edition, subscriber=second)
    other = _preview(editor_client, edition, first).context["rendered"]

    assert len(builds) == 1 and other is not None and again is not None
    assert _personal_links_disabled(again) == shown
