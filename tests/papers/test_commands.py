"""manage.py ingest and dev_superuser."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from papers.models import Paper
from tests.factories import a_paper_text, seed_dump

pytestmark = pytest.mark.django_db


def test_ingest_command_ingests_a_folder_and_prints_a_summary_table(seed_files: list[Path]) -> None:
    out = io.StringIO()
    call_command("ingest", str(seed_files[0].parent), stdout=out)

    text = out.getvalue()
    assert Paper.objects.count() == 287
    assert "Ingestion summary" in text
    assert all(path.name in text for path in seed_files)
    assert "372" in text and "287" in text  # total listings and total created


def test_ingest_command_reports_failures_and_exits_non_zero(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes(seed_dump(a_paper_text()))
    bad.write_bytes(b"")
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 of 2 files failed"):
        call_command("ingest", str(good), str(bad), stdout=out)

    assert "empty" in out.getvalue().lower()
    assert Paper.objects.count() == 1


def test_ingest_command_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("ingest", str(tmp_path / "nope.txt"))


def test_dev_superuser_is_created_once_and_its_password_shown_only_then(settings: Any) -> None:
    settings.SITE_URL = "http://127.0.0.1:8123"  # `make run PORT=8123`
    first, second = io.StringIO(), io.StringIO()
    call_command("dev_superuser", stdout=first)
    call_command("dev_superuser", stdout=second)

    password = first.getvalue().split("password: ")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    assert password not in second.getvalue()
    assert get_user_model().objects.count() == 1
    assert "http://127.0.0.1:8123/admin/" in first.getvalue() and "http://127.0.0.1:8123/admin/" in second.getvalue()
