"""dump_ingest and the folder scan: counts, dedup, enrichment, idempotency, atomicity, bad input."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from django.conf import LazySettings

from papers.models import Dump, Listing, Paper
from papers.services import IngestStatus, dump_ingest, dump_ingest_file, dumps_scan
from papers.services import ingestion as services
from tests.factories import a_paper_text, seed_dump

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 24)


def test_seed_dumps_hold_287_papers_in_372_listings(seed_files: list[Path]) -> None:
    results = [dump_ingest_file(path=path, today=TODAY) for path in seed_files]

    assert [r.status for r in results] == [IngestStatus.INGESTED] * 5
    assert Paper.objects.count() == 287
    assert Listing.objects.count() == 372
    assert sum(r.created for r in results) == 287
    assert sum(r.enriched + r.unchanged for r in results) == 372 - 287


def test_listing_date_without_a_year_is_the_latest_one_not_after_today() -> None:
    result = dump_ingest(data=seed_dump(a_paper_text(), date="Mar 11"), name="d.txt", today=date(2026, 3, 10))

    assert result.dump_id is not None
    dump = Dump.objects.get(pk=result.dump_id)
    assert dump.listing_date == date(2025, 3, 11)
    assert Paper.objects.get().first_listed_on == date(2025, 3, 11)


def test_the_same_bytes_twice_is_a_no_op() -> None:
    data = seed_dump(a_paper_text(), a_paper_text())
    first = dump_ingest(data=data, name="a.txt", today=TODAY)
    second = dump_ingest(data=data, name="renamed.txt", today=TODAY)

    assert first.status is IngestStatus.INGESTED
    assert second.status is IngestStatus.SKIPPED
    assert (Dump.objects.count(), Paper.objects.count(), Listing.objects.count()) == (1, 2, 2)


def test_a_dump_that_fails_to_parse_is_recorded_with_a_reason_and_leaves_no_rows() -> None:
    title, abstract = a_paper_text()
    truncated = seed_dump((title, abstract)) + b"\nA Title Whose Abstract Never Arrived\n"

    result = dump_ingest(data=truncated, name="truncated.txt", today=TODAY)

    assert result.status is IngestStatus.FAILED
    dump = Dump.objects.get()
    assert dump.status == Dump.Status.FAILED
    assert "line" in dump.error and "abstract" in dump.error
    assert Paper.objects.count() == 0 and Listing.objects.count() == 0


def test_a_failure_halfway_through_storing_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail_after_papers_were_written(**_: object) -> None:
        assert Paper.objects.count() == 3  # the papers really were written inside the transaction
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_listings_create", fail_after_papers_were_written)
    result = dump_ingest(data=seed_dump(*(a_paper_text() for _ in range(3))), name="d.txt", today=TODAY)

    assert result.status is IngestStatus.FAILED
    assert "disk full" in result.error
    assert Paper.objects.count() == 0 and Listing.objects.count() == 0
    assert Dump.objects.get().status == Dump.Status.FAILED


def test_a_failed_dump_is_not_retried_until_its_content_changes(dumps_dir: Path) -> None:
    path = dumps_dir / "dump.txt"
    path.write_bytes(b"\x00\x01\x02binary junk\x00" * 50)
    assert dump_ingest_file(path=path, today=TODAY).status is IngestStatus.FAILED
    assert dump_ingest_file(path=path, today=TODAY).status is IngestStatus.SKIPPED

    path.write_bytes(seed_dump(a_paper_text()))

    assert dump_ingest_file(path=path, today=TODAY).status is IngestStatus.INGESTED
    assert Dump.objects.filter(status=Dump.Status.FAILED).count() == 1
    assert Paper.objects.count() == 1


def test_a_scan_skips_unchanged_files_without_reading_them(dumps_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (dumps_dir / "a.txt").write_bytes(seed_dump(a_paper_text()))
    dumps_scan(folder=dumps_dir)

    def must_not_read(self: Path) -> bytes:
        raise AssertionError(f"{self} was read again")

    monkeypatch.setattr(Path, "read_bytes", must_not_read)
    results = dumps_scan(folder=dumps_dir)

    assert [r.status for r in results] == [IngestStatus.SKIPPED]


def test_one_bad_file_never_stops_the_others_of_a_scan(dumps_dir: Path, seed_files: list[Path]) -> None:
    (dumps_dir / "0-empty.txt").write_bytes(b"")
    (dumps_dir / "1-binary.bin").write_bytes(bytes(range(256)) * 10)
    (dumps_dir / "2-broken.json").write_bytes(
        b'[{"paper": {"id": "2410.1',
    )
    shutil.copy(seed_files[0], dumps_dir / "3-good.txt")
    (dumps_dir / ".hidden").write_bytes(b"ignored")

    results = {r.name: r for r in dumps_scan(folder=dumps_dir)}

    assert set(results) == {"0-empty.txt", "1-binary.bin", "2-broken.json", "3-good.txt"}
    assert results["3-good.txt"].status is IngestStatus.INGESTED
    for name in ("0-empty.txt", "1-binary.bin", "2-broken.json"):
        assert results[name].status is IngestStatus.FAILED, name
        assert results[name].error, name
    assert Paper.objects.count() == results["3-good.txt"].created > 0


def test_a_file_over_the_size_limit_is_rejected_without_being_parsed(
    dumps_dir: Path, settings: LazySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAPERBOY_DUMP_MAX_BYTES = 1000
    path = dumps_dir / "huge.txt"
    path.write_bytes(seed_dump(*(a_paper_text() for _ in range(30))))
    monkeypatch.setattr(services, "parse_dump", lambda *a, **k: pytest.fail("an oversized file was parsed"))

    result = dump_ingest_file(path=path, today=TODAY)

    assert result.status is IngestStatus.FAILED
    assert "limit" in result.error and "PAPERBOY_DUMP_MAX_BYTES" in result.error
    assert Paper.objects.count() == 0


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-8-sig"])
def test_dumps_in_other_encodings_are_read_correctly(encoding: str) -> None:
    title = "Café Society: Naïve Bayes for Résumé Parsing"
    text = seed_dump((title, "We parse résumés with naïve models and report the café results.")).decode()

    result = dump_ingest(data=text.encode(encoding), name="enc.txt", today=TODAY)

    assert result.status is IngestStatus.INGESTED, result.error
    assert Paper.objects.get().title == title


def test_hostile_markup_is_cleaned_out_of_stored_papers() -> None:
    data = seed_dump(
        (
            "Robust Agents<script>alert('x')</script> for the Web",
            "We <b>study</b> agents &amp; tools <img src=x>.",
        )
    )

    result = dump_ingest(data=data, name="hostile.txt", today=TODAY)

    assert result.status is IngestStatus.INGESTED, result.error
    paper = Paper.objects.get()
    assert "<" not in paper.title and "alert" not in paper.title
    assert "<" not in paper.abstract and "&amp;" not in paper.abstract
    assert "agents & tools" in paper.abstract


def test_deeply_nested_json_is_rejected_with_a_reason() -> None:
    result = dump_ingest(data=b"[" * 100_000 + b"]" * 100_000, name="deep.json", today=TODAY)

    assert result.status is IngestStatus.FAILED
    assert result.error
    assert Paper.objects.count() == 0


def test_every_real_data_sample_ingests(realdata_files: list[Path]) -> None:
    results = [dump_ingest_file(path=path, today=TODAY) for path in realdata_files]

    for path, result in zip(realdata_files, results, strict=True):
        assert result.status is IngestStatus.INGESTED, f"{path.name}: {result.error}"
        assert result.items > 0
    assert Paper.objects.filter(arxiv_id__isnull=False).count() >= 10


def test_a_later_dump_enriches_a_paper_but_keeps_the_editors_changes(realdata_files: list[Path]) -> None:
    api_file = next(p for p in realdata_files if p.name.startswith("hf_api_daily_papers"))
    title = "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    dump_ingest(data=seed_dump((title, "Our first, short abstract.")), name="seed.txt", today=TODAY)
    paper = Paper.objects.get()
    paper.title, paper.edited_fields = "Breaking the Memory Barrier (edited)", ["title"]
    paper.save()

    result = dump_ingest_file(path=api_file, today=TODAY)

    paper.refresh_from_db()
    assert result.enriched == 1
    assert paper.arxiv_id == "2410.17243"
    assert "Lidong Bing" in paper.authors
    assert paper.upvotes is not None
    assert paper.title == "Breaking the Memory Barrier (edited)"
    assert paper.abstract == "Our first, short abstract."  # known already: not replaced
    assert Paper.objects.filter(title_key=paper.title_key).count() == 1


def test_one_paper_per_paper_across_formats(realdata_files: list[Path]) -> None:
    atom = next(p for p in realdata_files if p.name.startswith("arxiv_api_atom_legacy_cs.RO"))
    dump_ingest_file(path=atom, today=TODAY)
    paper = Paper.objects.first()
    assert paper is not None
    as_seed_text = seed_dump((paper.title.upper(), "Another source's abstract."))

    result = dump_ingest(data=as_seed_text, name="again.txt", today=TODAY)

    assert (result.created, result.unchanged + result.enriched) == (0, 1)
    assert Paper.objects.filter(title_key=paper.title_key).count() == 1
    assert Listing.objects.filter(paper=paper).count() == 2


def test_papers_with_the_same_title_but_different_arxiv_ids_stay_apart() -> None:
    api_item = (
        '[{"paper": {"id": "%s", "title": "Pointer Networks", "summary": "Abstract %s.", "authors": []},'
        ' "publishedAt": "2024-10-25T00:00:00.000Z", "title": "Pointer Networks"}]'
    )
    dump_ingest(data=(api_item % ("1506.03134", "one")).encode(), name="a.json", today=TODAY)
    dump_ingest(data=(api_item % ("2999.00001", "two")).encode(), name="b.json", today=TODAY)

    assert sorted(filter(None, Paper.objects.values_list("arxiv_id", flat=True))) == [
        "1506.03134",
        "2999.00001",
    ]
