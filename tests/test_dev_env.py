"""A checkout with no environment runs the README's commands after `make run`; production still needs a key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_DIR

_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "var", ".env", "test-output", "*_cache", "__pycache__")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the project as a fresh clone has it: no .env, no var/."""
    copy = tmp_path / "paperboy"
    shutil.copytree(REPO_DIR, copy, ignore=_NOT_COPIED)
    return copy


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # No environment at all but PATH: what a new user's shell gives the README's commands.
    return subprocess.run(
        command, cwd=cwd, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=120
    )


def test_make_writes_a_development_env_once_and_never_overwrites_it(checkout: Path) -> None:
    assert _run(["make", ".env"], checkout).returncode == 0
    written = (checkout / ".env").read_text()
    (checkout / ".env").write_text(written + "LOG_LEVEL=DEBUG\n")  # the developer's own addition

    second = _run(["make", ".env"], checkout)

    assert "DJANGO_DEBUG=true" in written.splitlines()
    assert second.returncode == 0
    assert (checkout / ".env").read_text() == written + "LOG_LEVEL=DEBUG\n"
    assert ".env" in (REPO_DIR / ".gitignore").read_text().splitlines()
    assert ".env" in (REPO_DIR / ".dockerignore").read_text().splitlines()  # never baked into the image


def test_manage_py_commands_work_with_no_environment_once_make_has_written_env(checkout: Path) -> None:
    assert _run(["make", ".env"], checkout).returncode == 0

    result = _run([sys.executable, "manage.py", "check"], checkout)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_a_key_and_without_debug_the_app_refuses_to_start(checkout: Path) -> None:
    result = _run([sys.executable, "manage.py", "check"], checkout)

    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr
