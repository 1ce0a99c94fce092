"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings

REPO_DIR = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_DIR / "seeds"
# ../shared/realdata beside the clone: read in place, never copied into the project (see its README).
REALDATA_DIR = REPO_DIR.parent / "shared" / "realdata"
TEST_OUTPUT_DIR = REPO_DIR / "test-output"


@pytest.fixture
def seed_files() -> list[Path]:
    return sorted(SEEDS_DIR.glob("*.txt"))


def require_realdata() -> None:
    """Skip the calling test when the real third-party samples are absent; under CI=true, fail it instead.

    A clone of the public repository has no ../shared beside it, and its tests must pass there (the project's
    own fixtures cover every parser); CI has the samples, so there their absence is a broken set-up.
    """
    if any(p.name != "README.md" for p in REALDATA_DIR.glob("*")):
        return
    reason = f"the real third-party samples are not in {REALDATA_DIR} (not part of the repository)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires them")
    pytest.skip(reason)


def is_realdata(path: Path) -> bool:
    return path.is_relative_to(REALDATA_DIR)


@pytest.fixture
def realdata_files() -> list[Path]:
    require_realdata()
    return sorted(p for p in REALDATA_DIR.glob("*") if p.name != "README.md")


@pytest.fixture
def dumps_dir(tmp_path: Path, settings: LazySettings) -> Path:
    folder = tmp_path / "dumps"
    folder.mkdir()
    settings.PAPERBOY_DUMPS_DIR = folder
    return folder


@pytest.fixture
def test_output_dir() -> Path:
    TEST_OUTPUT_DIR.mkdir(exist_ok=True)
    return TEST_OUTPUT_DIR


@pytest.fixture(autouse=True)
def _fresh_renderers() -> None:
    """A send worker keeps one renderer per coverage for its life, keyed by edition ids; SQLite gives a rolled
    back test's ids out again, so a renderer left by one test would render another test's edition (for every
    test that sends: tests/test_link_rendering.py sends digests too)."""
    from newsletter.services import sending

    sending._renderers.clear()


@pytest.fixture
def allow_sync_orm_in_event_loop() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test thread; Django's ORM refuses that by default."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def seed_papers(seed_files: list) -> None:
    from datetime import date

    from papers.services import dump_ingest_file

    for path in seed_files:
        dump_ingest_file(path=path, today=date(2026, 11, 24))


@pytest.fixture
def edition(seed_papers: None) -> object:
    from newsletter.services.editions import edition_prepare

    prepared = edition_prepare()
    assert prepared is not None
    return prepared
