"""Real processes for end-to-end tests: a Celery worker (with beat) on the test database and broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import REPO_DIR


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    queue: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def database_url_of_test_database() -> str:
    """The URL of the database this test process uses, for a subprocess to connect to the same one."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition: Callable[[], bool], *, timeout: float, worker: WorkerProcess, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited ({worker.process.returncode}) before {what}:\n{worker.log_tail()}")
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; worker log:\n{worker.log_tail()}")


@pytest.fixture
def start_worker(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `celery worker` (optionally with --beat) as a real subprocess, on a queue of its own."""
    started: list[WorkerProcess] = []

    def start(
        *,
        beat: bool = False,
        env: dict[str, str] | None = None,
        concurrency: int = 1,
        queues: tuple[str, ...] = (),
        hostname: str = "",
    ) -> WorkerProcess:
        queue = f"e2e-{uuid.uuid4().hex[:10]}"
        log_path = tmp_path / f"worker-{len(started)}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": database_url_of_test_database(),
            "CELERY_TASK_DEFAULT_QUEUE": queue,  # beat publishes here too, so parallel runs never mix
            "PAPERBOY_INGEST_QUEUE": f"{queue}-ingest",  # the ingestion tasks' queue, as unique
            "CELERY_TASK_ALWAYS_EAGER": "false",  # or beat would run its jobs itself instead of queueing them
            **(env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            ",".join(queues or (queue, f"{queue}-ingest")),
            "--loglevel=info",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
        ]
        if hostname:  # as a worker on another machine would be named
            command += ["--hostname", hostname]
        if beat:
            command += ["--beat", "--schedule", str(tmp_path / f"beat-schedule-{len(started)}")]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=REPO_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT)
        worker = WorkerProcess(process=process, queue=queue, log_path=log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        _stop(worker.process)
    connection.close()  # the test DB is flushed next; drop any connection this thread kept


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
