"""Dumps in the admin: upload through the same ingestion, counts and errors in plain words, re-ingest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from papers.models import Dump, Paper
from papers.services import dump_ingest_file
from tests.admin.conftest import messages_of
from tests.factories import a_paper_text, seed_dump

pytestmark = pytest.mark.django_db
UPLOAD = "/admin/papers/dump/upload/"


def _upload(client: Client, name: str, data: bytes) -> object:
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)}, follow=True)


def test_an_uploaded_dump_is_ingested_and_its_counts_shown(editor_client: Client, seed_files: list[Path]) -> None:
    response = _upload(editor_client, seed_files[0].name, seed_files[0].read_bytes())

    dump = Dump.objects.get()
    assert dump.status == Dump.Status.INGESTED and dump.name == seed_files[0].name
    today = timezone.localdate()
    assert messages_of(response) == [
        f"Ingested {dump.name} (hf_text): 56 papers, 56 new, 0 enriched, 0 unchanged.",
        f"The 56 new papers go to today's edition ({today:%b} {today.day}, {today.year}), which is not sent yet.",
    ]
    assert Paper.objects.count() == 56
    assert f">{dump.name}</a>" in response.content.decode()  # type: ignore[attr-defined]


def test_the_same_file_twice_says_nothing_new(editor_client: Client) -> None:
    data = seed_dump(a_paper_text())
    _upload(editor_client, "a.txt", data)

    response = _upload(editor_client, "a-again.txt", data)

    assert Dump.objects.count() == 1
    at = timezone.localtime(Dump.objects.get().ingested_at)
    assert messages_of(response) == [
        f"This file was ingested before, as a.txt on {at:%b} {at.day}, {at.year} at {at:%H:%M}: nothing new."
    ]


def test_a_broken_upload_is_a_failed_dump_with_the_parsers_reason(editor_client: Client) -> None:
    broken = seed_dump(a_paper_text()) + b"\nA Title Whose Abstract Never Arrived\n"

    response = _upload(editor_client, "broken.txt", broken)

    dump = Dump.objects.get()
    assert dump.status == Dump.Status.FAILED and Paper.objects.count() == 0
    [message] = messages_of(response)
    assert message == f"Could not ingest broken.txt: {dump.error}"
    assert "line" in message and "abstract" in message


def test_an_upload_over_the_size_limit_is_refused_unread(editor_client: Client, settings: LazySettings) -> None:
    settings.PAPERBOY_DUMP_MAX_BYTES = 100

    response = _upload(editor_client, "big.txt", b"x" * 2000)

    assert Dump.objects.count() == 0
    assert "the limit is 0.0 MB (PAPERBOY_DUMP_MAX_BYTES)" in response.content.decode()  # type: ignore[attr-defined]


def test_the_dump_list_shows_format_status_counts_and_error(editor_client: Client) -> None:
    _upload(editor_client, "good.txt", seed_dump(a_paper_text(), a_paper_text()))
    _upload(editor_client, "bad.txt", b"\x00\x01 not a dump")

    html = editor_client.get("/admin/papers/dump/").content.decode()

    assert "hf_text" in html and "good.txt" in html and "bad.txt" in html
    assert Dump.objects.get(name="bad.txt").error[:40] in html


def test_a_failed_dump_is_ingested_again_once_its_file_is_fixed(editor_client: Client, dumps_dir: Path) -> None:
    path = dumps_dir / "today.txt"
    path.write_bytes(seed_dump(a_paper_text()) + b"\nDangling Title\n")
    dump_ingest_file(path=path)
    failed = Dump.objects.get()

    unchanged = editor_client.post(f"/admin/papers/dump/{failed.pk}/reingest/", follow=True)
    path.write_bytes(seed_dump(a_paper_text(), a_paper_text()))
    fixed = editor_client.post(f"/admin/papers/dump/{failed.pk}/reingest/", follow=True)

    assert messages_of(unchanged)[0].startswith(f"today.txt: the file at {path} has not changed since it failed.")
    assert messages_of(fixed)[0].startswith("Ingested today.txt (hf_text): 2 papers, 2 new")
    # The fixed file replaces the failed record (which held no papers).
    assert list(Dump.objects.values_list("status", flat=True)) == [Dump.Status.INGESTED]
    assert Paper.objects.count() == 2


def test_an_uploaded_failed_dump_asks_for_the_fixed_file(editor_client: Client) -> None:
    _upload(editor_client, "bad.txt", b"\x00\x01 not a dump")
    failed = Dump.objects.get()

    response = editor_client.post(
        "/admin/papers/dump/", {"action": "reingest", "_selected_action": [failed.pk]}, follow=True
    )

    assert messages_of(response) == [
        "bad.txt: this dump was uploaded, not read from the dumps folder: upload the fixed file."
    ]


def test_reingest_is_a_post_and_only_for_editors(client: Client, editor_client: Client) -> None:
    _upload(editor_client, "bad.txt", b"\x00\x01 not a dump")
    url = f"/admin/papers/dump/{Dump.objects.get().pk}/reingest/"

    assert editor_client.get(url).status_code == 405
    assert client.post(url).status_code == 302  # to the login page
    assert Dump.objects.count() == 1


def test_the_failed_dumps_page_offers_reingest_and_add_leads_to_upload(editor_client: Client) -> None:
    _upload(editor_client, "bad.txt", b"\x00\x01 not a dump")
    dump = Dump.objects.get()

    page = editor_client.get(f"/admin/papers/dump/{dump.pk}/change/").content.decode()
    add = editor_client.get("/admin/papers/dump/add/")

    assert f'action="/admin/papers/dump/{dump.pk}/reingest/"' in page
    assert add.status_code == 302 and add["Location"] == UPLOAD


class _UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args: object) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def _announced(size: int) -> dict[str, Any]:
    """WSGI environ of a request that announces `size` bytes of body and fails the test if one is read."""
    return {"CONTENT_LENGTH": str(size), "wsgi.input": _UnreadableBody()}


def test_an_upload_declared_over_the_limit_is_refused_before_its_body_is_read(
    editor_client: Client, settings: LazySettings, tmp_path: Path
) -> None:
    settings.PAPERBOY_DUMP_MAX_BYTES = 20 * 1024 * 1024
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)  # where Django would spool the upload

    response = editor_client.post(
        UPLOAD,
        data=b"",
        content_type="multipart/form-data; boundary=BoUnDaRy",
        **_announced(10 * 1024**3),  # 10 GB
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert "10240.0 MB" in page and "the limit for a dump is 20.0 MB (PAPERBOY_DUMP_MAX_BYTES)" in page
    assert "Nothing was read or stored" in page
    assert Dump.objects.count() == 0 and not list(tmp_path.iterdir())


def test_a_large_body_to_any_other_page_is_refused_unread(client: Client) -> None:
    response = client.post(
        "/subscribe/",
        data=b"",
        content_type="multipart/form-data; boundary=BoUnDaRy",
        **_announced(1024**3),
    )

    assert response.status_code == 413
