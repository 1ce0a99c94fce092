"""Feedback from the email: signed per digest and paper, shown on GET, recorded only on POST, edits that apply
and undo in one click, revoked with the reader's other links, and what editors see of it."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone

from newsletter import links
from newsletter.feedback_selectors import feedback_counts, feedback_rejections_by_interest
from newsletter.matching.percolation import PercolationMemo, percolate_memo
from newsletter.models import Delivery, Edition, Feedback, InterestEdit, Subscriber
from newsletter.services import feedback as fb
from newsletter.services import feedback_effects as effects
from newsletter.services import feedback_proposals as proposals
from newsletter.services.planning import digest_plan
from newsletter.services.privacy import subscriber_erase
from newsletter.services.rendering import DigestRenderer
from newsletter.services.sending import deliveries_send
from newsletter.services.subscriptions import subscriber_unsubscribe
from newsletter.tokens import Purpose, token_make, token_read
from papers.models import Paper
from tests.newsletter.conftest import path_of, subscriber_create

pytestmark = pytest.mark.django_db
INTERESTS = ["in-context learning", "diffusion models"]
_FEEDBACK_LINK = re.compile(r'href="(https?://[^"]+/feedback/[^"]+/(\d+)/(more-like-this|not-for-me)/)"')


def _sent_digest(interests: list[str] | None = None) -> tuple[Subscriber, Delivery]:
    subscriber = subscriber_create("reader@example.org", interests or list(INTERESTS))
    assert deliveries_send(delivery_ids=digest_plan().pending_ids).sent == 1
    return subscriber, Delivery.objects.get(subscriber=subscriber)


def _item(delivery: Delivery, interest: str) -> dict[str, Any]:
    return next(item for item in delivery.papers if item["interests"] == [interest])


def _url(delivery: Delivery, paper_id: int, verdict: str) -> str:
    token = links.feedback_token(delivery_id=delivery.pk, nonce=delivery.subscriber.link_nonce)
    return links.feedback_path(token=token, paper_id=paper_id, verdict=verdict)


def _html_part(message: Any) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


# --- the links in the digest ------------------------------------------------------------------------------


def test_every_paper_of_a_sent_digest_carries_both_links_signed_for_that_digest(edition: Edition) -> None:
    subscriber, delivery = _sent_digest()
    (message,) = mail.outbox
    found = _FEEDBACK_LINK.findall(_html_part(message))

    shown = {item["paper_id"] for item in delivery.papers}
    assert {int(paper) for _, paper, _ in found} <= shown
    assert len(found) == 2 * len({paper for _, paper, _ in found}) >= 2 * 10
    tokens = {path_of(url).split("/")[2] for url, _, _ in found}
    assert len(tokens) == 1  # one per digest
    payload = token_read(purpose=Purpose.VIEW, token=tokens.pop())  # the digest's web-view token
    assert (payload.subject_id, payload.nonce) == (delivery.pk, subscriber.link_nonce)
    first = delivery.papers[0]["paper_id"]
    assert re.search(rf"Not for me: http\S+/feedback/\S+/{first}/not-for-me/", str(message.body))


def test_the_feedback_links_keep_the_renderers_fast_path_equal_to_the_templates(
    edition: Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber, delivery = _sent_digest()
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)  # both renderings' tokens stamp the same second

    def render(*, skeletons: bool) -> tuple[str, str]:
        renderer = DigestRenderer.for_coverage(edition=edition, covers_after_id=None)
        if not skeletons:
            renderer._skeletons_on = False  # the reference path: every block by the templates
        rendered = renderer.render(delivery_id=delivery.pk, subscriber=subscriber, items=delivery.papers)
        if skeletons:
            assert renderer._skeletons_on is True and renderer._skeletons  # the fast path engaged
            assert all(skeleton is not None for skeleton in renderer._skeletons.values())
        return rendered.html, rendered.text

    html, text = render(skeletons=True)
    assert (html, text) == render(skeletons=False)
    assert "More like this" in html and "Not for me: http" in text


# --- GET shows, POST records ------------------------------------------------------------------------------


def test_a_get_shows_the_proposed_edits_and_records_nothing(client: Client, edition: Edition) -> None:
    subscriber, delivery = _sent_digest()
    item = _item(delivery, "in-context learning")

    response = client.get(_url(delivery, item["paper_id"], "less"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Drop the interest “in-context learning”" in html
    assert "Leave out papers that mention" in html
    assert "<mark>" in html  # the papers each edit would have changed, highlighted as the preview does
    assert not Feedback.objects.exists() and not InterestEdit.objects.exists()
    subscriber.refresh_from_db()
    assert subscriber.interests == INTERESTS
    assert "Set-Cookie" not in response.headers and not response.cookies  # no cookie needed, none set
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_a_post_records_the_verdict_once_with_the_interest_that_brought_the_paper(
    client: Client, edition: Edition
) -> None:
    _, delivery = _sent_digest()
    item = _item(delivery, "diffusion models")
    url = _url(delivery, item["paper_id"], "less")

    first = client.post(url, {"action": "record"})
    client.post(url, {"action": "record"})

    assert first.status_code == 302 and first.headers["Location"] == f"{url}?done=record"
    (feedback,) = Feedback.objects.all()
    assert (feedback.delivery, feedback.paper_id, feedback.verdict) == (delivery, item["paper_id"], "less")
    assert feedback.interest == "diffusion models"
    assert "Thanks, noted" in client.get(first.headers["Location"]).content.decode()


def test_applying_a_proposed_edit_changes_the_interests_and_one_click_undoes_it(
    client: Client, edition: Edition
) -> None:
    subscriber, delivery = _sent_digest()
    item = _item(delivery, "in-context learning")
    url = _url(delivery, item["paper_id"], "less")
    target = fb.feedback_target_from_link(token=url.split("/")[2], paper_id=item["paper_id"])
    exclusion = next(p for p in fb.feedback_proposals(target=target, verdict="less") if p.edit.kind == "exclude")

    applied = client.post(url, {"action": "apply", "edit": exclusion.edit.key})

    subscriber.refresh_from_db()
    assert applied.status_code == 302
    assert subscriber.interests == [exclusion.edit.after, "diffusion models"]
    assert exclusion.edit.after.startswith("in-context learning -")
    (edit,) = InterestEdit.objects.all()
    assert edit.feedback.verdict == "less" and edit.undone_at is None
    page = client.get(applied.headers["Location"]).content.decode()
    assert "Done: your interests are now" in page and 'value="undo"' in page

    undone = client.post(url, {"action": "undo", "edit": str(edit.pk)})

    subscriber.refresh_from_db()
    edit.refresh_from_db()
    assert undone.status_code == 302
    assert subscriber.interests == INTERESTS
    assert edit.undone_at is not None
    assert Feedback.objects.count() == 1  # the verdict stands; only the edit is undone
    assert client.post(url, {"action": "undo", "edit": str(edit.pk)}).status_code == 409  # once


def test_undoing_a_dropped_interest_puts_it_back_where_it_was(edition: Edition) -> None:
    subscriber, delivery = _sent_digest(["in-context learning", "diffusion models", "-survey"])
    item = _item(delivery, "in-context learning")
    target = fb.feedback_target_from_link(token=_url(delivery, item["paper_id"], "less").split("/")[2],
                                          paper_id=item["paper_id"])  # fmt: skip
    drop = next(p for p in fb.feedback_proposals(target=target, verdict="less") if p.edit.kind == "drop")

    edit = fb.feedback_edit_apply(target=target, verdict="less", key=drop.edit.key)
    subscriber.refresh_from_db()
    assert subscriber.interests == ["diffusion models", "-survey"]
    fb.feedback_edit_undo(target=target, edit_id=edit.pk)

    subscriber.refresh_from_db()
    assert subscriber.interests == ["in-context learning", "diffusion models", "-survey"]


def test_an_edit_that_is_not_on_offer_is_refused(client: Client, edition: Edition) -> None:
    subscriber, delivery = _sent_digest()
    url = _url(delivery, _item(delivery, "diffusion models")["paper_id"], "less")

    response = client.post(url, {"action": "apply", "edit": "add||protein folding"})

    assert response.status_code == 409
    assert "no longer on offer" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.interests == INTERESTS
    assert not InterestEdit.objects.exists()


def test_more_like_this_offers_terms_the_interests_did_not_match_that_would_have_caught_the_paper(
    edition: Edition,
) -> None:
    _, delivery = _sent_digest()
    item = _item(delivery, "diffusion models")
    target = fb.feedback_target_from_link(token=_url(delivery, item["paper_id"], "more").split("/")[2],
                                          paper_id=item["paper_id"])  # fmt: skip

    offered = fb.feedback_proposals(target=target, verdict="more")

    assert offered and all(p.edit.kind == "add" for p in offered)
    paper_text = f"{target.paper.title} {target.paper.abstract}".lower()
    for proposal in offered:
        assert proposal.edit.after not in INTERESTS
        assert all(word in paper_text for word in proposal.edit.after.split())  # the paper's own terms
        assert "diffusion" not in proposal.edit.after  # words the interests matched are not offered again
        assert proposal.effect.gained <= proposals.ADDITION_MAX_SHARE * Paper.objects.count()


def test_the_effect_of_dropping_an_interest_is_the_window_papers_only_it_brought(edition: Edition) -> None:
    _, delivery = _sent_digest()
    item = _item(delivery, "diffusion models")
    target = fb.feedback_target_from_link(token=_url(delivery, item["paper_id"], "less").split("/")[2],
                                          paper_id=item["paper_id"])  # fmt: skip

    drop = next(p for p in fb.feedback_proposals(target=target, verdict="less") if p.edit.kind == "drop")

    index = effects.window_index()
    result = percolate_memo(
        memo=PercolationMemo(index=index),
        subscribers=[("both", INTERESTS), ("without", ["in-context learning"])],
    )
    only_diffusion = result.paper_bits("both") & ~result.paper_bits("without")
    assert drop.effect.lost == only_diffusion.bit_count() - 1 > 0  # besides this paper
    assert drop.effect.gained == 0
    assert len(drop.effect.lost_papers) == min(effects.EFFECT_PAPERS_SHOWN, drop.effect.lost)
    assert all(any(lit for _, lit in paper["snippet"]) for paper in drop.effect.lost_papers)


def test_papers_older_than_the_window_are_left_out_of_the_effect(edition: Edition) -> None:
    old = Paper.objects.order_by("pk").first()
    assert old is not None
    Paper.objects.filter(pk=old.pk).update(first_seen_at=timezone.now() - timedelta(days=31))

    ids = {indexed.paper.id for indexed in effects.window_index().papers}

    assert old.pk not in ids and len(ids) == Paper.objects.filter(is_hidden=False).count() - 1


# --- bad links --------------------------------------------------------------------------------------------


def test_forged_truncated_or_misused_links_get_the_link_problem_page(client: Client, edition: Edition) -> None:
    subscriber, delivery = _sent_digest()
    paper_id = delivery.papers[0]["paper_id"]
    good = _url(delivery, paper_id, "less")
    token = good.split("/")[2]
    manage_token = token_make(purpose=Purpose.MANAGE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)
    other_digest = token_make(purpose=Purpose.VIEW, subject_id=delivery.pk + 1, nonce=subscriber.link_nonce)
    not_in_digest = Paper.objects.exclude(pk__in=[i["paper_id"] for i in delivery.papers]).first()
    assert not_in_digest is not None

    bad = [
        good.replace(token, token[:-3]),  # truncated by a mail client
        good.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")),  # forged
        good.replace(token, manage_token),  # another purpose's token
        good.replace(token, other_digest),  # a digest that does not exist
        good.replace(f"/{paper_id}/", f"/{not_in_digest.pk}/"),  # a paper that digest did not hold
        good.replace(f"/{paper_id}/", "/999999999/"),
    ]
    for url in bad:
        for response in (client.get(url), client.post(url, {"action": "record"})):
            assert response.status_code == 400, url
            assert "This link doesn't work" in response.content.decode()
    assert not Feedback.objects.exists()


def test_feedback_links_are_revoked_when_the_reader_unsubscribes_or_erases(client: Client, edition: Edition) -> None:
    subscriber, delivery = _sent_digest()
    url = _url(delivery, delivery.papers[0]["paper_id"], "more")
    assert client.get(url).status_code == 200

    subscriber_unsubscribe(subscriber=subscriber)
    assert client.get(url).status_code == 400
    subscriber_erase(subscriber=subscriber)
    assert client.get(url).status_code == 400
    assert client.post(url, {"action": "record"}).status_code == 400


# --- what editors see -------------------------------------------------------------------------------------


def test_the_admin_shows_which_papers_readers_reject_most_per_interest(client: Client, edition: Edition) -> None:
    readers = [subscriber_create(f"r{n}@example.org", ["diffusion models"]) for n in range(3)]
    deliveries_send(delivery_ids=digest_plan().pending_ids)
    papers = Delivery.objects.get(subscriber=readers[0]).papers
    most, other = papers[0]["paper_id"], papers[1]["paper_id"]
    for n, reader in enumerate(readers):
        delivery = Delivery.objects.get(subscriber=reader)
        for paper_id in [most] if n else [most, other]:
            target = fb.feedback_target_from_link(token=_url(delivery, paper_id, "less").split("/")[2],
                                                  paper_id=paper_id)  # fmt: skip
            fb.feedback_record(target=target, verdict="less")
    fb.feedback_record(target=target, verdict="more")

    (group,) = feedback_rejections_by_interest()
    assert (group.interest, group.rejections) == ("diffusion models", 4)
    assert [(p.paper_id, p.rejections) for p in group.papers] == [(most, 3), (other, 1)]
    assert feedback_counts(days=30) == {"more": 1, "less": 4}

    client.force_login(User.objects.create_superuser("editor", "editor@example.org", "pw"))
    changelist = client.get("/admin/newsletter/feedback/").content.decode()
    assert "Papers readers reject most, per interest" in changelist
    assert Paper.objects.get(pk=most).title in changelist
    dashboard = client.get("/admin/").content.decode()
    assert re.search(r'id="feedback-counts"><strong>1</strong> “More like this” · <strong>4</strong>', dashboard)


def test_a_digest_previewed_by_an_editor_links_nowhere_it_could_record(client: Client, edition: Edition) -> None:
    """The admin's preview renders with delivery id 0: its feedback links name no digest and do nothing."""
    subscriber = subscriber_create("reader@example.org", list(INTERESTS))
    from newsletter.services.planning import digest_preview

    rendered = digest_preview(edition=edition, subscriber=subscriber)
    assert rendered is not None
    url = path_of(_FEEDBACK_LINK.findall(rendered.html)[0][0])
    assert client.post(url, {"action": "record"}).status_code == 400
    assert not Feedback.objects.exists()


def test_a_paper_from_a_digest_older_than_the_window_still_gets_proposals(edition: Edition) -> None:
    _, delivery = _sent_digest()
    item = _item(delivery, "diffusion models")
    Paper.objects.filter(pk=item["paper_id"]).update(first_seen_at=timezone.now() - timedelta(days=40))
    target = fb.feedback_target_from_link(token=_url(delivery, item["paper_id"], "less").split("/")[2],
                                          paper_id=item["paper_id"])  # fmt: skip

    offered = fb.feedback_proposals(target=target, verdict="less")

    assert "drop" in {p.edit.kind for p in offered}
    assert item["paper_id"] not in {indexed.paper.id for indexed in effects.window_index().papers}


def test_a_readers_data_export_holds_their_feedback_and_erasing_deletes_it(edition: Edition) -> None:
    from newsletter.services.privacy import subscriber_export

    subscriber, delivery = _sent_digest()
    item = _item(delivery, "diffusion models")
    target = fb.feedback_target_from_link(token=_url(delivery, item["paper_id"], "less").split("/")[2],
                                          paper_id=item["paper_id"])  # fmt: skip
    drop = next(p for p in fb.feedback_proposals(target=target, verdict="less") if p.edit.kind == "drop")
    fb.feedback_edit_apply(target=target, verdict="less", key=drop.edit.key)

    (exported,) = subscriber_export(subscriber=subscriber)["feedback"]
    assert (exported["paper"], exported["verdict"]) == (target.paper.title, "not for me")
    assert exported["edits"][0]["before"] == "diffusion models" and exported["edits"][0]["after"] == ""

    subscriber_erase(subscriber=subscriber)
    assert not Feedback.objects.exists() and not InterestEdit.objects.exists()
