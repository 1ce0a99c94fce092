"""bench_digests.py --esp, the figures: what one phase measured (from the stand-in's and the workers' own
counts), and the printed report over runs. Split from esp_pace.py (the module size limit)."""

from __future__ import annotations

import os
import statistics
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.esp_pace import Phase


def phase_figures(
    phase: Phase,
    *,
    standin_stats: tuple[dict[str, Any], dict[str, Any]],
    started: float,
    ended: float,
    warm: float,
    killed_at: float | None,
    reports: list[dict[str, Any]],
    postgres_cpu: float,
    killed_chunks: list[list[int]],
) -> dict[str, Any]:
    from tests.esp_loopback import accepted_between, most_within

    before, after = standin_stats
    arrivals = after["arrivals"]
    accepted = len(arrivals)
    steady_end = ended if phase.seconds is None else min(ended, started + phase.seconds)
    if phase.seconds is None and arrivals:
        steady_end = arrivals[-1] - 1.0  # the last chunks' tail, fewer in flight, is not the sustained rate
    spans = {"steady": (started + warm, steady_end)}
    if killed_at is not None:
        spans = {"both hosts": (started + warm, killed_at), "one host after the kill": (killed_at + 1.0, steady_end)}
    rates = {name: accepted_between(arrivals, a, b) / (b - a) for name, (a, b) in spans.items() if b > a}
    sent = sum(r.get("sent", 0) for r in reports)
    worker_cpu = sum(r["cpu_seconds"] for r in reports)
    standin_cpu = after["cpu_seconds"] - before["cpu_seconds"]
    phases: dict[str, float] = {}
    for report in reports:
        for name, seconds in report["phases"].items():
            phases[name] = phases.get(name, 0.0) + seconds
    return {
        "phase": phase.name,
        "window": phase.window,
        "account_rate": phase.rate,
        "seconds": ended - started,
        "accepted": accepted,
        "sent_by_surviving_workers": sent,
        "rates": rates,
        "throttled_429": after["throttled"] - before["throttled"],
        "most_in_1s": most_within(arrivals, 1.0),
        "most_in_10s": most_within(arrivals, 10.0),
        "most_in_flight_at_the_esp": after["most_in_flight"],
        "worker_cpu_ms_per_message": 1000 * worker_cpu / max(sent, 1),
        "standin_cpu_ms_per_message": 1000 * standin_cpu / max(accepted, 1),
        "postgres_cpu_ms_per_message": 1000 * postgres_cpu / max(accepted, 1),
        "worker_phases_seconds": phases,
        "killed_chunks": killed_chunks,
        "load_average_after": os.getloadavg()[0],
    }


def report(runs: list[dict[str, Any]]) -> None:
    print(f"\n{runs[0]['size']:,} subscribers ({runs[0]['planned']:,} digests), {len(runs)} runs:")
    for index, phase in enumerate(runs[0]["phases"]):
        rates = {name: [run["phases"][index]["rates"].get(name, 0.0) for run in runs] for name in phase["rates"]}
        shown = "; ".join(f"{name} {statistics.median(v):,.1f}/s (runs {[round(x, 1) for x in v]})"
                          for name, v in rates.items())  # fmt: skip
        each = [run["phases"][index] for run in runs]
        print(
            f"  {phase['phase']}: {shown}; 429s {[p['throttled_429'] for p in each]}, most in 1 s "
            f"{[p['most_in_1s'] for p in each]}, in 10 s {[p['most_in_10s'] for p in each]}; CPU per message: "
            f"workers {statistics.median(p['worker_cpu_ms_per_message'] for p in each):.2f} ms, stand-in "
            f"{statistics.median(p['standin_cpu_ms_per_message'] for p in each):.2f} ms, PostgreSQL "
            f"{statistics.median(p['postgres_cpu_ms_per_message'] for p in each):.2f} ms"
        )
        phases = {name: statistics.median(p["worker_phases_seconds"].get(name, 0.0) for p in each)
                  for name in phase["worker_phases_seconds"]}  # fmt: skip
        print(
            "    worker time (summed over workers; backend: over threads): "
            + " ".join(f"[{k} {v:.1f} s]" for k, v in phases.items())
        )
    for run in runs:
        print(
            f"  run: ledger {run['ledger']}, addresses with two emails {run['esp']['addresses_with_two_or_more']}, "
            f"sending end to end {run['sending_seconds_end_to_end']:.1f} s, load before {run['load_average_before']}"
        )
