"""bench_digests.py --esp: sending at the ESP's pace, through anymail's real HTTP path, phase by phase.

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python benchmarks/bench_digests.py --esp --subscribers 100000 --repeat 2

One database of N subscribers is set up and planned (bench_digests' own stages), then every pending digest is
sent to a loopback ESP stand-in (tests/esp_loopback.py, a process of its own: Postmark's API answered after
100 ms +- 30 ms, an account rate enforced with 429 + Retry-After) by `--hosts` send-worker processes (as Celery
worker processes on separate hosts would: each its own process, database session and ESP connections, one
fleet rate in Redis), fed chunk by chunk. The phases, alternating so that load on the machine hits both sides:

  1. in flight 1 (today's way), no account limit, `--short` seconds;
  2. in flight W, no account limit, `--long` seconds;      3./4. the same two again;
  5. in flight W, account limited to `--account-rate` and PAPERBOY_SEND_RATE set to it, `--rated` seconds;
     the first host is killed with SIGKILL half way (the other goes on alone); then the recovery job runs;
  6. in flight W, no limit, until every digest is sent: the run end to end.

Each phase's rate is what the stand-in accepted per second, after its first `--warm` seconds (workers start,
renderers fill). CPU per message: the send workers' (every thread), the stand-in's, PostgreSQL's.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.esp_pace_report import phase_figures

REPO_DIR = Path(__file__).resolve().parent.parent
BENCH = str(REPO_DIR / "benchmarks" / "bench_digests.py")
POSTMARK = "anymail.backends.postmark.EmailBackend"


@dataclass
class Phase:
    name: str
    window: int
    seconds: float | None  # None: until every chunk is sent
    rate: float = 0.0  # the account's limit (messages per second); 0: no limit
    send_rate: float = 0.0  # PAPERBOY_SEND_RATE: the account's, or a little under it (--rate-margin)
    kill_at: float | None = None  # seconds into the phase: SIGKILL the first host


@dataclass
class Standin:
    process: subprocess.Popen[str]
    url: str

    def call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data), timeout=60) as answer:
            return json.loads(answer.read())


def standin_start(*, delay: float, jitter: float) -> Standin:
    command = [sys.executable, "-m", "tests.esp_loopback", "--delay", str(delay), "--jitter", str(jitter)]
    process = subprocess.Popen(command, cwd=REPO_DIR, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline().split()[1])
    return Standin(process=process, url=f"http://127.0.0.1:{port}")


@dataclass
class Sender:
    process: subprocess.Popen[str]
    index: int
    holding: list[int] = field(default_factory=list)  # the chunk it is sending
    killed: bool = False


def _sender_env(*, standin: Standin, window: int, rate: float, chunk: int) -> dict[str, str]:
    return {
        **os.environ,
        "BENCH_EMAIL_BACKEND": POSTMARK,
        "POSTMARK_SERVER_TOKEN": "bench",
        "POSTMARK_API_URL": standin.url + "/",
        "ANYMAIL_REQUESTS_TIMEOUT": "30",
        "PAPERBOY_SEND_IN_FLIGHT": str(window),
        "PAPERBOY_SEND_RATE": str(rate) if rate else "",
        "PAPERBOY_SEND_CHUNK": str(chunk),
    }


def phase_run(
    phase: Phase, *, chunks: deque[list[int]], standin: Standin, hosts: int, chunk: int, warm: float
) -> dict[str, Any]:
    """Feed chunks to `hosts` fresh send workers for the phase's time; what the stand-in and workers saw."""
    env = _sender_env(standin=standin, window=phase.window, rate=phase.send_rate or phase.rate, chunk=chunk)
    standin.call("/config", {"rate": phase.rate, "burst": 1.0})
    _fleet_rate_reset(env)
    command = [sys.executable, BENCH, "--stage", "send-worker", "--queued", "--workers", str(hosts)]
    senders = [Sender(_popen([*command, "--worker", str(n)], env), n) for n in range(hosts)]
    events: queue.Queue[tuple[int, str | None]] = queue.Queue()
    for sender in senders:
        assert sender.process.stdout is not None and sender.process.stdout.readline().strip() == "ready"
        threading.Thread(target=_lines_into, args=(sender, events), daemon=True).start()
    before = standin.call("/stats?since=999999999")
    postgres_cpu = _postgres_cpu()
    started = time.monotonic()
    killed_at = _feed(phase, senders=senders, events=events, chunks=chunks, chunk=chunk, started=started)
    ended = time.monotonic()
    reports = _reports_collect(senders, events)
    postgres_cpu = _postgres_cpu() - postgres_cpu
    after = standin.call(f"/stats?since={before['accepted']}")
    lost = [s.holding for s in senders if s.killed]
    return phase_figures(phase, standin_stats=(before, after), started=started, ended=ended, warm=warm,
                         killed_at=killed_at, reports=list(reports.values()), postgres_cpu=postgres_cpu,
                         killed_chunks=lost)  # fmt: skip


def _feed(
    phase: Phase,
    *,
    senders: list[Sender],
    events: queue.Queue[tuple[int, str | None]],
    chunks: deque[list[int]],
    chunk: int,
    started: float,
) -> float | None:
    """Hand a chunk to each idle worker while the phase lasts (killing one when the phase says); return when
    the host was killed (None: none was)."""
    idle = list(senders)
    busy = 0
    killed_at: float | None = None
    while True:
        now = time.monotonic()
        open_for_more = phase.seconds is None or now - started < phase.seconds
        if phase.kill_at is not None and killed_at is None and now - started >= phase.kill_at:
            victim = senders[0]
            victim.process.send_signal(signal.SIGKILL)  # no warm shutdown, no acknowledgement, no cleanup
            victim.killed, killed_at = True, now
            idle = [s for s in idle if s is not victim]
            busy -= 1 if victim.holding else 0
        while open_for_more and idle and chunks:
            sender = idle.pop()
            sender.holding = _take(chunks, ONE_AT_A_TIME_CHUNK if phase.window == 1 else chunk)
            _tell(sender, "ids " + json.dumps(sender.holding))
            busy += 1
        if busy == 0 and (not open_for_more or not chunks):
            return killed_at
        try:
            index, line = events.get(timeout=0.2)
        except queue.Empty:
            continue
        sender = senders[index]
        if sender.killed:
            continue
        if line is None:
            raise SystemExit(f"send worker {index} stopped early")
        if line.strip() == "done":
            busy -= 1
            sender.holding = []
            idle.append(sender)


def _reports_collect(senders: list[Sender], events: queue.Queue[tuple[int, str | None]]) -> dict[int, dict[str, Any]]:
    """Stop the live workers and read each one's report."""
    for sender in senders:
        if not sender.killed:
            _tell(sender, "stop")
    reports: dict[int, dict[str, Any]] = {}
    while len(reports) < sum(1 for s in senders if not s.killed):
        index, line = events.get()
        if line is not None and line.startswith("{") and not senders[index].killed:
            reports[index] = json.loads(line)
    for sender in senders:
        sender.process.wait(timeout=60)
    return reports


# One message at a time sends about 7 a second: a task of this many ids ends within the phase.
ONE_AT_A_TIME_CHUNK = 50


def _take(chunks: deque[list[int]], size: int) -> list[int]:
    taken = chunks.popleft()
    if len(taken) > size:
        chunks.appendleft(taken[size:])
    return taken[:size]


def _fleet_rate_reset(env: dict[str, str]) -> None:
    """Each phase starts with the fleet's schedule and pause cleared (a phase's rate is not the next one's)."""
    url = env.get("REDIS_URL", "")
    if url:
        import redis

        client = redis.Redis.from_url(url)
        client.delete("paperboy:send-rate:postmark", "paperboy:send-pause:postmark")


def _popen(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_DIR, env=env)


def _lines_into(sender: Sender, events: queue.Queue[tuple[int, str | None]]) -> None:
    assert sender.process.stdout is not None
    for line in sender.process.stdout:
        events.put((sender.index, line))
    events.put((sender.index, None))


def _tell(sender: Sender, line: str) -> None:
    assert sender.process.stdin is not None
    try:
        sender.process.stdin.write(line + "\n")
        sender.process.stdin.flush()
    except BrokenPipeError:
        pass


def _postgres_cpu() -> float:
    sys.path.insert(0, str(REPO_DIR))
    from benchmarks.digests_world import postgres_cpu

    return postgres_cpu()


def _stage(name: str, *extra: str) -> Any:
    command = [sys.executable, BENCH, "--stage", name, *extra]
    output = subprocess.run(command, cwd=REPO_DIR, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def default_phases(
    *, window: int, short: float, long: float, rated: float, account_rate: float, margin: float = 0.0
) -> list[Phase]:
    """The alternating comparison (phases 1-4; none when `short` and `long` are 0), the rated phase, the rest."""
    send_rate = account_rate * (1 - margin)
    rated_name = f"in flight {window}, account {account_rate:g}/s, PAPERBOY_SEND_RATE {send_rate:g}, first host killed"
    compared = [
        Phase("in flight 1", 1, short),
        Phase(f"in flight {window}", window, long),
        Phase("in flight 1, again", 1, short),
        Phase(f"in flight {window}, again", window, long),
    ]
    return [
        *(compared if short or long else []),
        Phase(rated_name, window, rated, rate=account_rate, send_rate=send_rate, kill_at=rated / 2),
        Phase(f"in flight {window}, the rest", window, None),
    ]


def run_once(*, size: int, seed: int, hosts: int, chunk: int, warm: float, phases: list[Phase],
             delay: float, jitter: float) -> dict[str, Any]:  # fmt: skip
    load = os.getloadavg()
    setup = _stage("setup", "--size", str(size), "--seed", str(seed))
    print(f"    setup: {json.dumps(setup)}", flush=True)
    plan = _stage("plan", "--at", setup["at"])
    print(f"    plan: {json.dumps(plan)}", flush=True)
    ids: list[int] = _stage("pending")
    chunks = deque(ids[start : start + chunk] for start in range(0, len(ids), chunk))
    standin = standin_start(delay=delay, jitter=jitter)
    started = time.monotonic()
    results = []
    try:
        for phase in phases:
            figures = phase_run(phase, chunks=chunks, standin=standin, hosts=hosts, chunk=chunk, warm=warm)
            killed = figures.pop("killed_chunks")
            if killed:  # what the recovery job does once the lease is over: settle, put back, resend
                figures["recovered"] = _stage("recover")
                back: list[int] = _stage("pending")
                chunks.extendleft(reversed([back[i : i + chunk] for i in range(0, len(back), chunk)]))
                figures["killed_chunk_rows"] = sum(len(c) for c in killed)
            print(f"    {phase.name}: {json.dumps(_brief(figures))}", flush=True)
            results.append(figures)
        end_to_end = time.monotonic() - started
        esp = standin.call("/stats?since=999999999")
    finally:
        standin.process.kill()
    ledger = _stage("check")
    print(f"    ledger after: {json.dumps(ledger)}; the stand-in: {json.dumps(esp)}", flush=True)
    return {"size": size, "load_average_before": load, "plan": plan, "phases": results, "ledger": ledger,
            "esp": esp, "sending_seconds_end_to_end": end_to_end, "planned": plan["planned"]}  # fmt: skip


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in figures.items() if k != "worker_phases_seconds"}
