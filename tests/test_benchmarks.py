"""Each benchmark runs end to end at a tiny size, so a rename in the code it times cannot break it unseen.

No figure is checked (timings are the benchmarks' business and too noisy here): only that each runs to the
end and reports every phase it times. bench_subscribe_load and bench_abuse are left out: they start a
gunicorn of their own and flush a Redis database, which a test run must not do to its neighbours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

REPO_DIR = Path(__file__).resolve().parent.parent


def _run(script: str, *args: str, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    command = [sys.executable, str(REPO_DIR / "benchmarks" / script), *args]
    done = subprocess.run(
        command, cwd=REPO_DIR, env=env or dict(os.environ), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def _without_database_url() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the daily-run benchmark is PostgreSQL's")
def test_the_daily_run_benchmark_runs_at_a_tiny_size_and_times_every_phase(tmp_path: Path) -> None:
    report = tmp_path / "digests.json"
    name = connection.settings_dict["NAME"]
    env = {**os.environ, "PAPERBOY_BENCH_DB": f"{name}_tinybench"}  # never another run's database
    _run(
        "bench_digests.py", "--subscribers", "40", "--repeat", "1", "--baseline-sample", "3",
        "--render-sample", "5", "--json", str(report), env=env,
    )  # fmt: skip
    ((summary, run),) = [(entry["summary"], *entry["runs"]) for entry in json.loads(report.read_text())]
    assert summary["subscribers"] == 40
    assert run["plan"]["due"] == 40
    assert {"index", "due", "match"} <= set(run["plan"]["phases"])
    assert {"ledger writes", "of which rows inserted"} <= set(run["plan"]["writer_thread"])
    hand_off = run["send"]
    assert hand_off["sent"] == run["plan"]["planned"] > 0
    assert {"claim", "render", "backend", "stamp"} <= set(hand_off["phases_summed_over_workers"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the daily-run benchmark is PostgreSQL's")
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the send workers share their rate through Redis")
def test_the_esp_pace_benchmark_runs_at_a_tiny_size_and_settles_every_row(tmp_path: Path) -> None:
    report = tmp_path / "esp.json"
    name = connection.settings_dict["NAME"]
    env = {**os.environ, "PAPERBOY_BENCH_DB": f"{name}_tinyesp"}
    _run(
        "bench_digests.py", "--esp", "--subscribers", "60", "--repeat", "1", "--phase-seconds", "0,0,2",
        "--warm", "0.2", "--chunk", "10", "--window", "4", "--account-rate", "20", "--json", str(report), env=env,
    )  # fmt: skip
    ((run,),) = json.loads(report.read_text())
    rated, rest = run["phases"]
    assert rated["account_rate"] == 20 and rated["throttled_429"] == 0
    assert rated["worker_cpu_ms_per_message"] > 0 and rated["standin_cpu_ms_per_message"] > 0
    assert rest["accepted"] > 0
    ledger = run["ledger"]
    assert run["esp"]["addresses_with_two_or_more"] == 0
    assert set(ledger) <= {"sent", "failed", "skipped", "failed in doubt"}  # none pending, none still sending
    assert ledger["failed in doubt"] <= 4  # at most the window of the host that was killed
    assert ledger["sent"] + ledger.get("failed", 0) == run["planned"]


def test_the_matching_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    report = tmp_path / "matching.json"
    _run(
        "bench_matching.py", "--subscribers", "300", "--papers", "60", "--repeat", "1", "--sample", "20",
        "--workers", "1", "--json", str(report),
    )  # fmt: skip
    rows = json.loads(report.read_text())
    assert rows and all(row["subscribers"] == 300 for row in rows)


def test_the_ingestion_benchmark_runs_at_a_tiny_size() -> None:
    output = _run("bench_ingest.py", "--papers", "30", "--repeat", "1", env=_without_database_url())
    assert "baseline" in output


def test_the_adversarial_parser_benchmark_runs_at_a_tiny_size() -> None:
    output = _run("bench_parser_adversarial.py", "--sizes", "2", "--repeat", "1")
    assert output.strip()
