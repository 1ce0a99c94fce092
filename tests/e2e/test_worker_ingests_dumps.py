"""End to end: a real Celery worker with its embedded beat picks up dumps dropped into the folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from papers.models import Dump, Listing, Paper
from papers.parsers import parse_dump
from tests.e2e.conftest import WorkerProcess, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_beat_and_worker_ingest_a_dropped_dump_and_record_a_broken_one(
    start_worker: Callable[..., WorkerProcess], tmp_path: Path, seed_files: list[Path]
) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    shutil.copy(seed_files[0], dumps / seed_files[0].name)
    expected = len(parse_dump(seed_files[0].read_bytes(), today=date.today()).items)
    worker = start_worker(beat=True, env={"PAPERBOY_DUMPS_DIR": str(dumps), "PAPERBOY_DUMPS_SCAN_INTERVAL": "1"})

    wait_for(
        lambda: Dump.objects.filter(status="ingested").exists(),
        timeout=60,
        worker=worker,
        what="the beat job to ingest the seed dump",
    )
    assert Paper.objects.count() == expected
    assert Listing.objects.count() == expected

    (dumps / "zz-broken.json").write_bytes(b'[{"paper": {"id": "2410.0')
    wait_for(
        lambda: Dump.objects.filter(status="failed").exists(),
        timeout=30,
        worker=worker,
        what="the broken dump to be recorded as failed",
    )

    failed = Dump.objects.get(status="failed")
    assert failed.name == "zz-broken.json" and failed.error
    assert Paper.objects.count() == expected  # nothing half-written, nothing lost
    assert Dump.objects.count() == 2  # later scans skip both files: no duplicates
