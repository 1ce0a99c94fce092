"""The daily-run benchmark's summary of its runs (medians) and the report it prints (bench_digests.py)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any


def summarize(size: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(get: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(get(run) for run in runs)

    def medians(stage: str, key: str) -> dict[str, float]:
        return {name: statistics.median(run[stage][key].get(name, 0.0) for run in runs) for name in runs[0][stage][key]}

    plan_phases = medians("plan", "phases")
    send_phases = medians("send", "phases_summed_over_workers")
    total = median(lambda r: r["daily_seconds"])
    baseline_rate = median(lambda r: r["baseline"]["sent"] / r["baseline"]["seconds"])
    return {
        "subscribers": size,
        "repeats": len(runs),
        "papers": runs[0]["setup"]["papers"],
        "distinct_interests": runs[0]["setup"]["distinct_interests"],
        "planned": runs[0]["plan"]["planned"],
        "skipped": runs[0]["plan"]["skipped"],
        "plan_seconds": median(lambda r: r["plan"]["seconds"]),
        "plan_phases": plan_phases,
        "plan_peak_rss_mb": max(r["plan"]["peak_rss_mb"] for r in runs),
        "plan_writer_thread": medians("plan", "writer_thread"),
        "load_average_before": max(r["load_average_before"] for r in runs),
        "send_seconds": median(lambda r: r["send"]["seconds"]),
        "send_phases_summed_over_workers": send_phases,
        "send_cpu_seconds": median(lambda r: r["send"]["cpu_seconds"]),
        "postgres_cpu_seconds": median(lambda r: r["send"].get("postgres_cpu_seconds", 0.0)),
        "machine_idle_seconds": median(lambda r: r["send"].get("machine_idle_seconds", 0.0)),
        "send_peak_rss_mb": max(max(r["send"]["peak_rss_mb_per_worker"]) for r in runs),
        "total_seconds": total,
        "digests_per_second": median(lambda r: r["plan"]["planned"] / r["daily_seconds"]),
        "render_per_second_one_core": median(lambda r: r["render"]["rendered"] / r["render"]["render_seconds"]),
        "assembly_per_second_one_core": median(lambda r: r["render"]["rendered"] / r["render"]["assembly_seconds"]),
        "render_mean_kb": median(lambda r: r["render"]["mean_digest_kb"]),
        "render_peak_rss_mb": max(r["render"]["peak_rss_mb"] for r in runs),
        "baseline_per_second": baseline_rate,
        "baseline_sample": runs[0]["baseline"]["sample"],
        "baseline_peak_rss_mb": max(r["baseline"]["peak_rss_mb"] for r in runs),
        "runs_total_seconds": [round(r["daily_seconds"], 1) for r in runs],
        "plan_ended_at": median(lambda r: r["send"].get("plan_ended_at", r["plan"]["seconds"])),
    }


def report(row: dict[str, Any], workers: int, *, sequential: bool) -> None:
    ratio = row["digests_per_second"] / row["baseline_per_second"]
    plan_label = "plan" if sequential else f"plan (while {workers - 1} of {workers} processes send)"
    hand_off_label = f"hand-off ({workers} processes)" if sequential else "planning and sending, overlapped,"
    print(
        f"\n{row['subscribers']:,} subscribers ({row['planned']:,} digests, {row['skipped']:,} with nothing new; "
        f"{row['papers']} papers, {row['distinct_interests']:,} distinct interests), median of {row['repeats']}:\n"
        f"  {plan_label} {row['plan_seconds']:.1f} s "
        + " ".join(f"[{k} {v:.1f} s]" for k, v in row["plan_phases"].items())
        + f", peak RSS {row['plan_peak_rss_mb']:,.0f} MB; in the writer's thread, overlapped: "
        + " ".join(f"[{k} {v:.1f} s]" for k, v in row["plan_writer_thread"].items())
        + "\n"
        f"  {hand_off_label} {row['send_seconds']:.1f} s, summed over workers: "
        + " ".join(f"[{k} {v:.1f} s]" for k, v in row["send_phases_summed_over_workers"].items())
        + f", CPU {row['send_cpu_seconds']:.1f} s, peak RSS per worker {row['send_peak_rss_mb']:,.0f} MB\n"
        f"  PostgreSQL's CPU over the run {row['postgres_cpu_seconds']:.1f} s, machine idle "
        f"{row['machine_idle_seconds']:.1f} s of all cores (0 with --sequential: not measured)\n"
        f"  daily run {row['total_seconds']:.1f} s = {row['digests_per_second']:,.0f} digests/s "
        f"(runs {row['runs_total_seconds']}; {'plan + hand-off' if sequential else 'overlapped'}, planning ended "
        f"at {row['plan_ended_at']:.1f} s)\n"
        f"  render only: {row['render_per_second_one_core']:,.0f} digests/s on one core, shared parts included; "
        f"{row['assembly_per_second_one_core']:,.0f} digests/s once they are rendered "
        f"(mean {row['render_mean_kb']:.1f} KB per digest), peak RSS {row['render_peak_rss_mb']:,.0f} MB\n"
        f"  baseline: {row['baseline_per_second']:,.1f} digests/s on one core ({row['baseline_sample']:,} sampled), "
        f"peak RSS {row['baseline_peak_rss_mb']:,.0f} MB\n"
        f"  ratio {ratio:,.0f}x (against the baseline on {workers} cores, {ratio / workers:,.0f}x); "
        f"load average before a run at most {row['load_average_before']:.2f}"
    )
