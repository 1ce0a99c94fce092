"""Papers in the admin: search, filters, bulk picks and hides, edits that survive re-ingestion, merges."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.test import Client

from newsletter.models import Delivery, Edition, EditionPaper
from newsletter.services.curation import papers_feature, papers_merge
from newsletter.services.editions import edition_prepare
from newsletter.services.planning import digest_preview
from papers.models import Dump, Listing, Paper
from papers.services import dump_ingest, paper_edit
from tests.admin.conftest import messages_of
from tests.factories import paper_create, seed_dump
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 24)
CHANGELIST = "/admin/papers/paper/"


def _titles(response: object) -> set[str]:
    return {str(p.title) for p in response.context["cl"].result_list}  # type: ignore[attr-defined]


def _hidden_inputs(client: Client, url: str) -> dict[str, str]:
    """The change form's hidden inputs (the listings inline's management form), as a browser would send them."""
    html = client.get(url).content.decode()
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _act(client: Client, action: str, papers: list[Paper], **extra: str) -> object:
    data = {"action": action, "_selected_action": [str(p.pk) for p in papers], **extra}
    return client.post(CHANGELIST, data, follow=True)


def _api_dump(*, authors: list[str], upvotes: int) -> bytes:
    """A Hugging Face API dump of one paper: a format that carries authors, which a later dump may extend."""
    paper = {
        "id": "2411.01234", "title": "Sparse Routers at Scale", "summary": "We route tokens sparsely.",
        "authors": [{"name": name} for name in authors], "upvotes": upvotes,
    }  # fmt: skip
    return json.dumps([{"paper": paper, "publishedAt": "2026-11-23T08:00:00.000Z"}]).encode()


def test_an_editors_edits_stay_when_a_later_dump_lists_the_paper_again(editor_client: Client) -> None:
    dump_ingest(data=_api_dump(authors=["A. Author"], upvotes=3), name="first.json", today=TODAY)
    paper = Paper.objects.get()
    url = f"/admin/papers/paper/{paper.pk}/change/"

    response = editor_client.post(
        url,
        {**_hidden_inputs(editor_client, url), "title": "Routing Tokens Sparsely", "abstract": "An editor's abstract.",
         "authors": "Ada Lovelace\nAlan Turing", "links": json.dumps(paper.links), "editor_note": "Read this one.",
         "is_featured": "", "is_hidden": ""},
    )  # fmt: skip
    assert response.status_code == 302
    # The same paper again, with more authors: ingestion would take them if the editor had not set them.
    again = dump_ingest(data=_api_dump(authors=["X", "Y", "Z"], upvotes=9), name="again.json", today=TODAY)

    paper.refresh_from_db()
    assert again.status == "ingested" and again.enriched == 1  # the upvotes did change
    assert (paper.title, paper.abstract) == ("Routing Tokens Sparsely", "An editor's abstract.")
    assert paper.authors == ["Ada Lovelace", "Alan Turing"]
    assert (paper.editor_note, paper.upvotes) == ("Read this one.", 9)
    assert set(paper.edited_fields) == {"title", "abstract", "authors"}
    assert Listing.objects.filter(paper=paper).count() == 2


def test_editing_records_only_the_fields_that_changed() -> None:
    paper = paper_create(title="Same", abstract="Old")

    changed = paper_edit(paper=paper, changes={"title": "Same", "abstract": "New"})

    assert changed == ["abstract"]
    assert Paper.objects.get(pk=paper.pk).edited_fields == ["abstract"]
    with pytest.raises(ValueError, match="not editable"):
        paper_edit(paper=paper, changes={"arxiv_id": "2401.00001"})


def test_search_finds_papers_by_title_abstract_author_and_arxiv_id(editor_client: Client) -> None:
    paper_create(title="Sparse Routers", abstract="On mixture of experts.", authors=["Grace Hopper"])
    paper_create(title="Dense Models", abstract="Nothing sparse here.", arxiv_id="2405.12345")
    paper_create(title="Unrelated", abstract="Gardening.")

    assert _titles(editor_client.get(CHANGELIST, {"q": "sparse"})) == {"Sparse Routers", "Dense Models"}
    assert _titles(editor_client.get(CHANGELIST, {"q": "hopper"})) == {"Sparse Routers"}
    assert _titles(editor_client.get(CHANGELIST, {"q": "2405.12345"})) == {"Dense Models"}


def test_filters_narrow_by_dump_arxiv_id_featured_and_hidden(editor_client: Client) -> None:
    dump_ingest(data=seed_dump(("From The Dump", "Listed in a dump.")), name="d.txt", today=TODAY)
    paper_create(title="With Id", arxiv_id="2401.00001", is_featured=True)
    paper_create(title="Hidden One", is_hidden=True)
    dump = Dump.objects.get()

    assert _titles(editor_client.get(CHANGELIST, {"dump": dump.pk})) == {"From The Dump"}
    assert _titles(editor_client.get(CHANGELIST, {"has_arxiv_id": "yes"})) == {"With Id"}
    assert _titles(editor_client.get(CHANGELIST, {"is_featured__exact": "1"})) == {"With Id"}
    assert _titles(editor_client.get(CHANGELIST, {"is_hidden__exact": "1"})) == {"Hidden One"}


def test_the_list_links_each_visible_paper_to_its_public_page(editor_client: Client) -> None:
    visible = paper_create(title="Visible")
    paper_create(title="Secret", is_hidden=True)

    html = editor_client.get(CHANGELIST).content.decode()

    assert f'href="/papers/{visible.pk}/"' in html
    assert html.count('target="_blank"') == 1


def test_bulk_feature_and_hide_reach_the_edition_not_sent_yet(editor_client: Client, edition: Edition) -> None:
    first, second = (e.paper for e in EditionPaper.objects.filter(edition=edition).order_by("position")[:2])

    response = _act(editor_client, "feature", [first])
    _act(editor_client, "hide", [second])

    assert "1 paper featured." in messages_of(response)
    assert Paper.objects.get(pk=first.pk).is_featured
    assert EditionPaper.objects.get(edition=edition, paper=first).is_featured
    assert Paper.objects.get(pk=second.pk).is_hidden
    subscriber = subscriber_create("r@example.org", [second.title])
    preview = digest_preview(edition=edition, subscriber=subscriber)
    assert preview is None or second.title not in preview.text


def test_featuring_leaves_editions_that_went_out_as_their_readers_got_them(edition: Edition) -> None:
    entry = EditionPaper.objects.filter(edition=edition, is_featured=False).first()
    assert entry is not None
    subscriber = subscriber_create("r@example.org", ["x"])
    Delivery.objects.create(subscriber=subscriber, period="2026-11-24", edition=edition, status="sent")

    papers_feature(paper_ids=[entry.paper_id], featured=True)

    assert Paper.objects.get(pk=entry.paper_id).is_featured
    assert not EditionPaper.objects.get(pk=entry.pk).is_featured


def test_unhide_and_unfeature_undo_the_flags(editor_client: Client) -> None:
    paper = paper_create(is_hidden=True, is_featured=True)

    _act(editor_client, "unhide", [paper])
    _act(editor_client, "unfeature", [paper])

    paper.refresh_from_db()
    assert not paper.is_hidden and not paper.is_featured


def test_merge_asks_which_record_to_keep_then_folds_the_other_into_it(editor_client: Client) -> None:
    dump_ingest(data=seed_dump(("Attention Is Enough", "Short.")), name="a.txt", today=TODAY)
    duplicate = Paper.objects.get()
    keep = paper_create(title="Attention is enough!", arxiv_id="2406.00001", abstract="")

    confirm = _act(editor_client, "merge", [keep, duplicate])
    done = _act(editor_client, "merge", [keep, duplicate], keep=str(keep.pk))

    assert b'name="keep"' in confirm.content  # type: ignore[attr-defined]
    assert f"Merged paper #{duplicate.pk}" in messages_of(done)[0]
    assert not Paper.objects.filter(pk=duplicate.pk).exists()
    keep.refresh_from_db()
    assert keep.abstract == "Short." and keep.arxiv_id == "2406.00001"
    assert Listing.objects.get().paper_id == keep.pk


def test_merging_needs_exactly_two_papers(editor_client: Client) -> None:
    papers = [paper_create(), paper_create(), paper_create()]

    response = _act(editor_client, "merge", papers)

    assert messages_of(response) == ["Select exactly two papers to merge."]
    assert Paper.objects.count() == 3


def test_merge_respects_one_listing_per_dump_and_one_entry_per_edition() -> None:
    shared = dump_ingest(data=seed_dump(("Paper A", "A."), ("Paper B", "B.")), name="s.txt", today=TODAY)
    dump_ingest(data=seed_dump(("Paper B", "B."), date="Mar 12"), name="only-b.txt", today=TODAY)
    edition = edition_prepare()
    assert edition is not None and shared.dump_id is not None
    keep, duplicate = Paper.objects.get(title="Paper A"), Paper.objects.get(title="Paper B")
    EditionPaper.objects.filter(edition=edition, paper=duplicate).update(is_featured=True)
    subscriber = subscriber_create("r@example.org", ["b"])
    delivery = Delivery.objects.create(
        subscriber=subscriber, period="p", edition=edition,
        papers=[{"paper_id": duplicate.pk, "score": 2.0, "interests": ["b"], "words": ["b"]}],
    )  # fmt: skip

    papers_merge(keep=keep, duplicate=duplicate)

    assert sorted(Listing.objects.values_list("dump_id", "paper_id")) == sorted(
        [(shared.dump_id, keep.pk), (Dump.objects.get(name="only-b.txt").pk, keep.pk)]
    )
    entry = EditionPaper.objects.get(edition=edition)
    assert entry.paper_id == keep.pk and entry.is_featured
    delivery.refresh_from_db()
    assert [item["paper_id"] for item in delivery.papers] == [keep.pk]


def test_merge_fills_gaps_but_keeps_the_kept_records_edits() -> None:
    keep = paper_create(title="Kept", abstract="Edited abstract.", edited_fields=["abstract"], authors=[])
    duplicate = paper_create(
        title="Dup", abstract="Other.", authors=["A", "B"], links={"pdf": "https://x/p.pdf"}, upvotes=40,
        arxiv_id="2407.00002",
    )  # fmt: skip

    papers_merge(keep=keep, duplicate=duplicate)

    keep.refresh_from_db()
    assert (keep.abstract, keep.authors, keep.arxiv_id, keep.upvotes) == (
        "Edited abstract.", ["A", "B"], "2407.00002", 40,
    )  # fmt: skip
    assert keep.links == {"pdf": "https://x/p.pdf"}
    with pytest.raises(ValueError, match="both papers"):
        papers_merge(keep=keep, duplicate=keep)
