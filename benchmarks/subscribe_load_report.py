"""The subscribe-load benchmark's samples and what it reports of them (bench_subscribe_load.py)."""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

KINDS = ("new", "active", "unsubscribed", "suppressed")
TARGET_P95_MS = 150.0


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str
    ok: bool
    status: int | None  # None: no response (exception or timeout)
    latency_s: float  # from the scheduled send time to the end of the response
    lag_s: float  # how late the request actually left versus its schedule (client-side delay)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def summarize(samples: list[Sample], *, achieved_rate: float) -> dict[str, float]:
    ms = [s.latency_s * 1000 for s in samples]
    figures = {"requests": float(len(samples)), "achieved_rate": achieved_rate,
               "errors": float(sum(not s.ok for s in samples)), "p50": percentile(ms, 50),
               "p95": percentile(ms, 95), "p99": percentile(ms, 99), "max": max(ms),
               "max_client_lag": max(s.lag_s for s in samples) * 1000}  # fmt: skip
    for kind in KINDS:
        kind_ms = [s.latency_s * 1000 for s in samples if s.kind == kind]
        figures[f"{kind}_p50"] = percentile(kind_ms, 50)
        figures[f"{kind}_p95"] = percentile(kind_ms, 95)
    return figures


def timeline(samples: list[Sample], *, rate: float, window_s: float = 5.0) -> str:
    """p95 per window of the schedule: a steady server is flat, a stall or CPU starvation shows as a bump."""
    per_window = max(1, int(rate * window_s))
    windows = [samples[i : i + per_window] for i in range(0, len(samples), per_window)]
    return " ".join(f"{percentile([s.latency_s * 1000 for s in w], 95):.0f}" for w in windows)


def report(figures: dict[str, float], *, rate: float) -> bool:
    f = figures
    print(f"requests {f['requests']:.0f}, achieved rate {f['achieved_rate']:.1f}/s (target {rate:g}/s), "
          f"errors {f['errors']:.0f}, max client-side send lag {f['max_client_lag']:.1f} ms")  # fmt: skip
    print(f"CPU: gunicorn workers {f['worker_cpu_ms']:.1f} ms per request; this client "
          f"{f['client_cpu_pct']:.0f}% of one CPU; whole machine {f['machine_busy_pct']:.0f}% busy (all "
          "CPUs: server, PostgreSQL, Redis, client and anything else running)")  # fmt: skip
    print(f"latency ms: p50 {f['p50']:.1f}  p95 {f['p95']:.1f}  p99 {f['p99']:.1f}  max {f['max']:.1f}")
    for kind in KINDS:
        print(f"  {kind:>12}: p50 {f[kind + '_p50']:6.1f}  p95 {f[kind + '_p95']:6.1f}")
    passed = f["p95"] < TARGET_P95_MS and f["errors"] == 0
    print(f"{'PASS' if passed else 'FAIL'}: p95 {f['p95']:.1f} ms (target < {TARGET_P95_MS:g}), "
          f"errors {f['errors']:.0f} (target 0)")  # fmt: skip
    return passed


def cpu_snapshot(master: int) -> dict[str, float]:
    """CPU seconds so far of the gunicorn workers and of this process, and the machine's busy/total ticks."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    workers = 0.0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        workers += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"workers": workers, "client": own.ru_utime + own.ru_stime, "wall": time.monotonic(),
            "busy_ticks": float(sum(ticks) - idle), "all_ticks": float(sum(ticks))}  # fmt: skip


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Worker CPU seconds, and client and machine busy shares, between two snapshots."""
    wall = after["wall"] - before["wall"]
    all_ticks = after["all_ticks"] - before["all_ticks"]
    return {"workers": after["workers"] - before["workers"],
            "client": (after["client"] - before["client"]) / wall,
            "busy": (after["busy_ticks"] - before["busy_ticks"]) / all_ticks}  # fmt: skip


def log_problems(log_path: Path) -> int:
    """Count log lines with a traceback or an ERROR; show the first one (the log is deleted afterwards)."""
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    problems = [n for n, line in enumerate(lines) if "Traceback" in line or " ERROR " in line]
    if problems:
        print("first problem in the gunicorn log:", *lines[problems[0] : problems[0] + 40], sep="\n  ")
    return len(problems)
