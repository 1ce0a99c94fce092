"""Benchmark: the whole daily digest run on PostgreSQL, phase by phase, against the straightforward way.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/paperboy \\
        .venv/bin/python benchmarks/bench_digests.py --subscribers 100000,1000000 --repeat 3

Each (size, repeat) builds a database of its own (`paperboy_digestbench`, recreated through Django's test
database creation): the five seed dumps ingested through `dump_ingest_file`, an approved edition from
`edition_prepare`, and N active daily subscribers (send hour 0, four time zones) written with COPY, each with
1-8 interests drawn with Zipf-like popularity from the 1-3 word n-grams of the real titles and abstracts
(seeded RNG). Then the real services run, each stage in a fresh process so its peak RSS is its own:

  - baseline: the straightforward way on a sample of the same subscribers (a query for the subscriber and
    one per interest, `render_to_string` of the full digest templates, CSS inlined, `.send()` through the
    configured backend, a `Delivery` created and saved per subscriber); its rows are deleted afterwards;
  - plan: `digest_plan(at=...)`, its steps timed through the services' timing hook (due query, paper index,
    `subscriber_picks`, the rest is the ledger write);
  - render only: `DigestRenderer.render` over a sample of the pending deliveries, in one process (one core);
  - hand-off: `deliveries_send` on chunks of PAPERBOY_SEND_CHUNK ids, in --workers processes started at once
    (as the Celery workers would), handing each message to a backend that discards it (Django's dummy
    backend) and stamping each; render, hand-off and stamp times are summed inside the workers.

The daily run is plan + hand-off (hand-off includes rendering). Figures printed are medians over repeats.

With --esp, the digests are sent instead through anymail's real HTTP path to a loopback ESP stand-in that
answers in 100 ms +- 30 ms and enforces an account rate: one message in flight per worker against many, an
account limit, a worker host killed mid-run (see benchmarks/esp_pace.py).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))  # run as a script: the repository, for benchmarks.* and the apps

from benchmarks.digests_report import report, summarize  # noqa: E402
from benchmarks.digests_stages import (  # noqa: E402
    stage_check,
    stage_pending,
    stage_plan,
    stage_recover,
    stage_render,
    stage_send_worker,
)
from benchmarks.digests_world import (  # noqa: E402
    machine_idle,
    postgres_cpu,
    stage_baseline,
    stage_setup,
)

# --- Django on the benchmark's database ------------------------------------------------------------------


# --- stage: setup (database, papers, edition, subscribers) -----------------------------------------------


# --- stage: the straightforward way -------------------------------------------------------------------------


# --- stage: plan -----------------------------------------------------------------------------------------


# --- stage: render only ----------------------------------------------------------------------------------


# --- stage: hand-off (one of the send workers) ------------------------------------------------------------


def _run_send_workers(workers: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--stage", "send-worker", "--workers", str(workers)]
    processes = [
        subprocess.Popen([*command, "--worker", str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for n in range(workers)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        output, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"send worker failed with {process.returncode}")
        results.append(json.loads(output.strip().splitlines()[-1]))
    return {"seconds": max(r["ended"] for r in results) - min(r["started"] for r in results), **_summed(results)}


def _summed(results: list[dict[str, Any]]) -> dict[str, Any]:
    phases: dict[str, float] = defaultdict(float)
    for result in results:
        for name, seconds in result["phases"].items():
            phases[name] += seconds
    return {
        "sent": sum(r["sent"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "suppressed": sum(r["suppressed"] for r in results),
        "retry": sum(r["retry"] for r in results),
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "phases_summed_over_workers": dict(phases),
        "peak_rss_mb_per_worker": [r["peak_rss_mb"] for r in results],
    }


Events = queue.Queue[tuple[int, str | None]]  # (0: the planner, n + 1: sender n; a line, or None at its end)


def _run_daily_overlapped(*, at: str, workers: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan and send at once, as `digest_tick` runs them: each committed chunk of the ledger is queued at once
    and sent while planning goes on. The Celery process running the tick sends nothing until it is done, so
    `workers - 1` processes send meanwhile, all of them after. Returns (plan, hand-off); the hand-off's
    "seconds" is the daily run's: from the start of planning to the last digest handed over."""
    command = [sys.executable, __file__, "--stage"]
    senders = [_piped([*command, "send-worker", "--queued", "--workers", str(workers), "--worker", str(n)])
               for n in range(workers)]  # fmt: skip
    processes = list(senders)
    try:
        for sender in senders:
            assert sender.stdout is not None and sender.stdout.readline().strip() == "ready"
        started, postgres, idle = time.time(), postgres_cpu(), machine_idle()
        processes.append(planner := _piped([*command, "plan", "--at", at, "--dispatch"]))
        events: Events = queue.Queue()
        for source, process in enumerate([planner, *senders]):
            threading.Thread(target=_lines_into, args=(process.stdout, source, events), daemon=True).start()
        plan, plan_ended = _senders_fed(events, senders)
        ended, postgres, idle = time.time(), postgres_cpu() - postgres, machine_idle() - idle
        reports = _sender_reports(events, senders)
    except BaseException:
        for process in processes:  # none left behind when a stage fails
            process.kill()
        raise
    hand_off = {"seconds": ended - started, "plan_ended_at": plan_ended - started, "postgres_cpu_seconds": postgres,
                "machine_idle_seconds": idle, **_summed(reports)}  # fmt: skip
    return plan, hand_off


def _senders_fed(events: Events, senders: list[subprocess.Popen[str]]) -> tuple[Any, float]:
    """Give each idle sender the next chunk the planner queued (all but the first sender while it plans) until
    the plan is done and every chunk sent; the plan's report and when it came."""
    chunks: deque[str] = deque()
    idle, busy, plan, plan_ended = list(range(1, len(senders))), 0, None, 0.0
    while plan is None or chunks or busy:
        source, line = events.get()
        if line is None and source == 0 and plan is not None:
            continue  # the planner's end, after its report
        if line is None:
            raise SystemExit(f"{'planner' if source == 0 else 'send worker'} stopped early")
        if source == 0 and line.startswith("chunk "):
            chunks.append(line[len("chunk ") :].strip())
        elif source == 0 and line.startswith("{"):
            plan, plan_ended = json.loads(line), time.time()
            idle.append(0)  # the planning process is free: it sends too
        elif source > 0 and line.strip() == "done":
            busy -= 1
            idle.append(source - 1)
        while chunks and idle:
            _tell(senders[idle.pop()], f"ids {chunks.popleft()}")
            busy += 1
    return plan, plan_ended


def _sender_reports(events: Events, senders: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    for sender in senders:
        _tell(sender, "stop")
    results: dict[int, dict[str, Any]] = {}
    while len(results) < len(senders):
        source, line = events.get()
        if line is None and source - 1 in results:
            continue  # a sender's end, after its report
        if line is None:
            raise SystemExit("send worker stopped early")
        if source > 0 and line.startswith("{"):
            results[source - 1] = json.loads(line)
    return list(results.values())


def _piped(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_DIR)


def _lines_into(stream: Any, source: int, events: Events) -> None:
    for line in stream:
        events.put((source, line))
    events.put((source, None))


def _tell(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


# --- orchestration --------------------------------------------------------------------------------------


def _stage(name: str, *extra: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--stage", name, *extra]
    output = subprocess.run(command, cwd=REPO_DIR, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_once(
    *, size: int, seed: int, workers: int, render_sample: int, baseline_sample: int, sequential: bool
) -> dict[str, Any]:
    load = os.getloadavg()[0]  # other work on the machine skews every figure: recorded with them
    setup = _stage("setup", "--size", str(size), "--seed", str(seed))
    print(f"    setup: {json.dumps(setup)}", flush=True)
    baseline = _stage("baseline", "--sample", str(baseline_sample), "--seed", str(seed))
    print(f"    baseline: {json.dumps(baseline)}", flush=True)
    if sequential:  # plan, then send: the tick before it queued each chunk as soon as it was written
        plan = _stage("plan", "--at", setup["at"])
        print(f"    plan: {json.dumps(plan)}", flush=True)
        send = _run_send_workers(workers)
        daily = plan["seconds"] + send["seconds"]
    else:
        plan, send = _run_daily_overlapped(at=setup["at"], workers=workers)
        print(f"    plan (while sending): {json.dumps(plan)}", flush=True)
        daily = send["seconds"]
    print(f"    hand-off: {json.dumps(send)}", flush=True)
    render = _stage("render", "--sample", str(render_sample))
    print(f"    render only: {json.dumps(render)}", flush=True)
    ledger = _stage("check")
    print(f"    ledger after: {json.dumps(ledger)}", flush=True)
    assert send["sent"] == plan["planned"] and ledger.get("pending", 0) == 0, (send, plan, ledger)
    return {
        "size": size,
        "load_average_before": load,
        "setup": setup,
        "baseline": baseline,
        "plan": plan,
        "render": render,
        "send": send,
        "daily_seconds": daily,
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="send processes (the machine's cores)")
    parser.add_argument("--render-sample", type=int, default=20_000)
    parser.add_argument("--baseline-sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--json", type=Path, help="also write every run and the summaries here")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="plan everything, then send (as the tick did before it queued each chunk)",
    )
    parser.add_argument("--dispatch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--queued", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--at", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--esp", action="store_true", help="send through anymail to a loopback ESP (esp_pace.py)")
    parser.add_argument("--window", type=int, default=64, help="--esp: PAPERBOY_SEND_IN_FLIGHT of the W phases")
    parser.add_argument("--hosts", type=int, default=2, help="--esp: send worker processes")
    parser.add_argument("--chunk", type=int, default=2000, help="--esp: delivery ids per send task")
    parser.add_argument("--account-rate", type=float, default=200.0, help="--esp: the limited account's rate")
    parser.add_argument("--phase-seconds", default="20,30,60", help="--esp: in flight 1, in flight W, rated")
    parser.add_argument("--warm", type=float, default=5.0, help="--esp: seconds of each phase not counted")
    parser.add_argument("--rate-margin", type=float, default=0.0, help="--esp: PAPERBOY_SEND_RATE this much under")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    if args.stage:
        print(json.dumps(_run_stage(args)))
        return
    if args.esp:
        _esp_main(args)
        return
    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}", flush=True)
    everything: list[dict[str, Any]] = []
    for size in (int(s) for s in args.subscribers.split(",")):
        runs = []
        for attempt in range(args.repeat):
            print(f"  {size:,} subscribers, run {attempt + 1}:", flush=True)
            runs.append(
                run_once(size=size, seed=args.seed, workers=args.workers, render_sample=args.render_sample,
                         baseline_sample=args.baseline_sample, sequential=args.sequential)
            )  # fmt: skip
        row = summarize(size, runs)
        report(row, args.workers, sequential=args.sequential)
        everything.append({"summary": row, "runs": runs})
        if args.json:
            args.json.write_text(json.dumps(everything, indent=2))


def _esp_main(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO_DIR))
    from benchmarks import esp_pace, esp_pace_report

    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}", flush=True)
    short, long, rated = (float(s) for s in args.phase_seconds.split(","))
    phases = esp_pace.default_phases(window=args.window, short=short, long=long, rated=rated,
                                     account_rate=args.account_rate, margin=args.rate_margin)  # fmt: skip
    everything = []
    for size in (int(s) for s in args.subscribers.split(",")):
        runs = []
        for attempt in range(args.repeat):
            print(f"  {size:,} subscribers, run {attempt + 1}:", flush=True)
            runs.append(esp_pace.run_once(size=size, seed=args.seed, hosts=args.hosts, chunk=args.chunk,
                                          warm=args.warm, phases=phases, delay=0.1, jitter=0.03))  # fmt: skip
        esp_pace_report.report(runs)
        everything.append(runs)
        if args.json:
            args.json.write_text(json.dumps(everything, indent=2))


def _run_stage(args: argparse.Namespace) -> dict[str, Any]:
    if args.stage == "setup":
        return stage_setup(size=args.size, seed=args.seed)
    if args.stage == "baseline":
        return stage_baseline(sample=args.sample, seed=args.seed)
    if args.stage == "plan":
        return stage_plan(at=args.at, dispatch=args.dispatch)
    if args.stage == "render":
        return stage_render(sample=args.sample)
    if args.stage == "send-worker":
        return stage_send_worker(worker=args.worker, workers=args.workers, queued=args.queued)
    if args.stage == "check":
        return stage_check()
    if args.stage == "pending":
        return stage_pending()  # type: ignore[return-value]
    if args.stage == "recover":
        return stage_recover()
    raise SystemExit(f"unknown stage {args.stage}")


if __name__ == "__main__":
    main()
