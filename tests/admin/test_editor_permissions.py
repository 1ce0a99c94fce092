"""Editors: staff in the "Editors" group can curate and nothing more; no admin page shows a secret."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import Group, User
from django.test import Client

from newsletter import links
from newsletter.models import ConfirmationRequest, Delivery, Edition, EditionPaper, Suppression
from newsletter.services.suppressions import email_suppress
from papers.models import Dump, Paper
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db


def test_the_migration_gives_editors_curation_rights_and_nothing_on_users(editors_group: Group) -> None:
    codenames = set(editors_group.permissions.values_list("codename", flat=True))

    assert {"change_paper", "add_dump", "change_edition", "view_subscriber", "view_delivery"} <= codenames
    assert {"add_suppression", "view_suppression", "delete_subscriber"} <= codenames
    assert not {"delete_suppression", "change_suppression", "change_delivery", "delete_paper"} & codenames
    assert not any(code.endswith(("_user", "_group", "_permission")) for code in codenames)


def test_an_editor_is_staff_but_no_superuser_and_cannot_manage_users(editor: User, editor_client: Client) -> None:
    assert editor.is_staff and not editor.is_superuser

    assert editor_client.get("/admin/auth/user/").status_code == 403
    assert editor_client.get("/admin/papers/paper/").status_code == 200


def test_staff_without_the_group_can_open_nothing(client: Client, edition: Edition) -> None:
    client.force_login(User.objects.create_user("visitor", password="pw-123-abc", is_staff=True))
    entry = EditionPaper.objects.filter(edition=edition).first()
    assert entry is not None

    assert client.get("/admin/papers/paper/").status_code == 403
    assert client.get("/admin/papers/dump/upload/").status_code == 403
    assert client.post(f"/admin/newsletter/edition/{edition.pk}/entries/{entry.pk}/feature/").status_code == 403
    assert client.get("/admin/newsletter/subscriber/interests/").status_code == 403
    assert not EditionPaper.objects.get(pk=entry.pk).is_featured


def test_visitors_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get("/admin/papers/dump/upload/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_no_admin_page_shows_a_secret_key_token_or_nonce(
    editor_client: Client, edition: Edition, settings: LazySettings, django_capture_on_commit_callbacks: Callable
) -> None:
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:very-secret-webhook"}
    paper = Paper.objects.order_by("id").first()
    assert paper is not None
    reader = subscriber_create("reader@example.org", ["in-context learning"], status="pending")
    confirmation = ConfirmationRequest.objects.create(subscriber=reader)
    delivery = Delivery.objects.create(
        subscriber=reader, period="2026-11-24", edition=edition, status="sent",
        papers=[{"paper_id": paper.pk, "score": 1.0, "interests": ["in-context learning"], "words": []}],
    )  # fmt: skip
    email_suppress(email="gone@example.org", reason=Suppression.Reason.MANUAL)
    pages = [
        "/admin/", "/admin/papers/paper/", f"/admin/papers/paper/{paper.pk}/change/", "/admin/papers/dump/",
        f"/admin/papers/dump/{Dump.objects.first().pk}/change/", "/admin/newsletter/edition/",  # type: ignore[union-attr]
        f"/admin/newsletter/edition/{edition.pk}/change/",
        f"/admin/newsletter/edition/{edition.pk}/preview/?subscriber={reader.pk}",
        "/admin/newsletter/subscriber/", f"/admin/newsletter/subscriber/{reader.pk}/change/",
        "/admin/newsletter/subscriber/interests/", "/admin/newsletter/delivery/",
        f"/admin/newsletter/delivery/{delivery.pk}/change/", "/admin/newsletter/suppression/",
    ]  # fmt: skip
    secrets = [
        settings.SECRET_KEY, "very-secret-webhook", reader.link_nonce, confirmation.nonce,
        links.manage_url(reader).rsplit("/", 2)[-2].split(":")[0],  # a manage token's signed payload
        "gone@example.org",
    ]  # fmt: skip

    for url in pages:
        response = editor_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in secrets:
            assert secret not in html, (url, secret)
    assert "/admin/newsletter/confirmationrequest/" not in editor_client.get("/admin/").content.decode()
