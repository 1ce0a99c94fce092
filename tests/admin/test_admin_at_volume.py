"""The admin over a big list: 100,000 subscribers, 50,000 papers, 30,000 deliveries. Query counts are pinned,
so a page that starts querying per row (N+1) fails here; the data is built once for the whole module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tests.admin.volume import PAPERS, SUBSCRIBERS, Volume, volume_create, volume_delete

pytestmark = [pytest.mark.volume, pytest.mark.django_db]
# Far above what any page takes (under 0.5 s on SQLite here); a page reading the big tables row by row would not.
SECONDS_PER_PAGE = 5.0


@pytest.fixture(scope="module")
def volume(django_db_setup: None, django_db_blocker: Any) -> Iterator[Volume]:
    with django_db_blocker.unblock():
        built = volume_create()
        try:
            yield built
        finally:
            volume_delete()


# (url, the most queries it may take, what it must show: rows listed, or a text). Each count includes the 4
# queries of the admin itself: the session, the user, the user's and the group's permissions.
PAGES: list[tuple[str, int, int | str]] = [
    # The dashboard: + the sources (3) and their warnings (2, and 1-3 per source format), subscribers over time
    # from their events (4 aggregates instead of 2); readers' feedback counted (1, issue 19).
    ("/admin/", 24, 'id="deliveries-chart"'),
    ("/admin/papers/paper/", 7, 50),
    ("/admin/papers/paper/?q=4999", 7, 15),  # 4999, 14999 … 44999 and 49990-49999
    ("/admin/papers/paper/?dump={dump}", 7, 50),
    ("/admin/papers/paper/?has_arxiv_id=no&is_featured__exact=1", 7, 50),  # every 70th paper of the even ones
    ("/admin/papers/dump/", 7, 1),
    ("/admin/newsletter/subscriber/", 6, 50),
    ("/admin/newsletter/subscriber/?q=reader9999", 6, 11),
    ("/admin/newsletter/subscriber/?status__exact=active&frequency__exact=weekly", 6, 50),
    ("/admin/newsletter/subscriber/{subscriber}/change/", 9, "words found: agent"),  # + their status changes
    ("/admin/newsletter/subscriber/interests/", 10, "topic "),
    ("/admin/newsletter/delivery/", 7, 100),
    ("/admin/newsletter/delivery/?status__exact=failed", 7, 100),
    ("/admin/newsletter/delivery/?q=reader1", 7, 100),
    ("/admin/newsletter/edition/", 6, 1),
    # + the readers per paper (the ledger's size and newest row: the counts are shared), the dumps covered.
    ("/admin/newsletter/edition/{edition}/change/", 10, "Papers (300)"),
    ("/admin/newsletter/suppression/", 6, 0),
    ("/admin/newsletter/feedback/", 8, "Papers readers reject most, per interest"),
]


@pytest.mark.parametrize(("url", "max_queries", "shows"), PAGES, ids=[page[0] for page in PAGES])
def test_admin_pages_read_a_big_list_in_a_few_queries(
    volume: Volume, editor_client: Client, django_assert_max_num_queries: Any, url: str, max_queries: int,
    shows: int | str,
) -> None:  # fmt: skip
    url = url.format(dump=volume.dump.pk, subscriber=volume.subscriber.pk, edition=volume.edition.pk)
    editor_client.get(url)  # content types and the like are cached per process: measure the steady state

    started = time.monotonic()
    with django_assert_max_num_queries(max_queries):
        response = editor_client.get(url)

    assert time.monotonic() - started < SECONDS_PER_PAGE
    assert response.status_code == 200
    if isinstance(shows, int):
        assert len(response.context["cl"].result_list) == shows
    else:
        assert shows in response.content.decode()


def test_the_big_list_is_as_big_as_it_says(volume: Volume) -> None:
    from newsletter.models import Subscriber
    from papers.models import Paper

    assert (Subscriber.objects.count(), Paper.objects.count()) == (SUBSCRIBERS, PAPERS)


def _select_all(client: Client, changelist: str, action: str) -> list[str]:
    """Run an action on every row of the list ("select all 50,000"), as the admin's action bar does."""
    data = {"action": action, "select_across": "1", "index": "0", "_selected_action": ["1"]}
    response = client.post(changelist, data, follow=True)
    return [str(message) for message in response.context["messages"]]


def test_hiding_every_paper_at_once_hides_all_fifty_thousand(volume: Volume, editor_client: Client) -> None:
    from papers.models import Paper

    already = Paper.objects.filter(is_hidden=True).count()

    messages = _select_all(editor_client, "/admin/papers/paper/", "hide")

    assert messages == [f"{PAPERS - already} papers hidden."]
    assert not Paper.objects.filter(is_hidden=False).exists()  # rolled back after the test


def test_actions_over_the_whole_list_of_subscribers_are_refused_with_a_reason(
    volume: Volume, editor_client: Client
) -> None:
    from newsletter.models import Suppression

    messages = _select_all(editor_client, "/admin/newsletter/subscriber/", "suppress")

    assert messages == ["Select at most 2,000 subscribers for this action."]
    assert not Suppression.objects.exists()
