"""Benchmark: POST /subscribe/ at a fixed open-loop rate against gunicorn + PostgreSQL + Redis on loopback.

    .venv/bin/python benchmarks/bench_subscribe_load.py [--rate 50] [--duration 30] [--workers 3] [--repeat 3]
        [--conn-max-age SECONDS]

Target (from the issue): p95 under 150 ms and no errors at 50 requests per second.

Each invocation builds its own world and tears it down: a fresh PostgreSQL database (paperboy_loadbench,
dropped and recreated), `migrate`, `collectstatic` into a temporary var/ dir, Redis db 14 flushed, then
gunicorn with the production settings module (config.settings: DEBUG off, whitenoise, Redis cache for the
rate limits, confirmation emails queued to the Redis broker with `delay_on_commit`; no worker consumes them).

The database is seeded with subscribers in every state, and the load mixes address kinds in a fixed
interleaving (7 in 10 new, then one each active, unsubscribed, suppressed), so every kind sees the same
load and their latencies can be compared (the issue asks for the same response and timing whatever the
address). Each existing address is used once per invocation, well under the 4-per-5-minutes address limit.

Requests leave on a wall-clock schedule (open loop): latency runs from the scheduled send time to the end of
the response, so a slow server is not hidden by a client that waits for it. An error is any status other
than a 302 to the check-your-inbox page, any exception, or a timeout. With --repeat, every figure printed
is the median of that figure across the runs.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from benchmarks.subscribe_load_report import (
    KINDS,
    Sample,
    cpu_snapshot,
    cpu_used,
    log_problems,
    report,
    summarize,
    timeline,
)

REPO_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_DIR / ".venv" / "bin"
DB_NAME = "paperboy_loadbench"
PG_ARGS = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
REDIS_URL = "redis://127.0.0.1:6379/14"
HOST = "127.0.0.1"
CHECK_EMAIL_PATH = "/subscribe/check-your-inbox/"
# Position in each block of 10 requests -> address kind: mostly new sign-ups, interleaved so that every kind
# meets the same server state and the per-kind latencies are comparable.
KIND_PATTERN = ("new",) * 7 + ("active", "unsubscribed", "suppressed")
EXISTING_SHARE = KIND_PATTERN.count("active") / len(KIND_PATTERN)
# Other subscribers already in the table, so lookups run against a table of realistic size, not a tiny one.
BACKGROUND_SUBSCRIBERS = 10_000
REQUEST_TIMEOUT_S = 10.0
# Enough client threads that a slow server shows up as latency, not as a client that stops sending.
MAX_IN_FLIGHT = 200
WARMUP_REQUESTS = 60  # a few per gunicorn worker: loads code, opens DB/Redis connections; not counted


@dataclass(frozen=True, slots=True)
class Server:
    port: int
    csrf_cookie: str
    csrf_token: str


def bench_env(var_dir: Path) -> dict[str, str]:
    """The environment of every child process: the caller's, minus anything the settings would read."""
    prefixes = ("DJANGO_", "PAPERBOY_", "CELERY_", "DATABASE_", "REDIS_", "EMAIL_", "ANYMAIL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "DJANGO_SECRET_KEY": "bench",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SECURE_COOKIES": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        # All load comes from one loopback address; the per-IP limiter still counts every request.
        "PAPERBOY_SUBSCRIBES_PER_IP": "1000000000",
        "PAPERBOY_VAR_DIR": str(var_dir),
    })  # fmt: skip
    return env


def _run(command: list[str], *, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, cwd=REPO_DIR, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def redis_flush() -> None:
    import redis  # in the venv (Django's Redis cache backend needs it)

    redis.Redis.from_url(REDIS_URL).flushdb()


def redis_queue_length(queue: str = "paperboy") -> int:
    import redis

    return int(redis.Redis.from_url(REDIS_URL).llen(queue))


def database_prepare(*, env: dict[str, str], addresses_per_kind: int) -> None:
    _run(["dropdb", *PG_ARGS, "--if-exists", "--force", DB_NAME])
    _run(["createdb", *PG_ARGS, DB_NAME])
    _run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput"], env=env)
    # DEBUG off means CompressedManifestStaticFilesStorage: GET / needs the manifest collectstatic writes.
    _run([str(VENV_BIN / "python"), "manage.py", "collectstatic", "--noinput"], env=env)
    # Seeding runs with the bench's own SECRET_KEY so suppression hashes match what the server computes.
    _run([sys.executable, __file__, "--seed-only", str(addresses_per_kind)], env=env)


def seed(*, addresses_per_kind: int) -> None:
    """Subscribers in every state; suppressed addresses exist only as keyed hashes (erased or bounced)."""
    sys.path.insert(0, str(REPO_DIR))
    import django

    django.setup()
    from django.utils import timezone

    from newsletter.models import Subscriber, Suppression
    from newsletter.services.suppressions import email_hash

    now = timezone.now()

    def subscriber(email: str, status: str) -> Subscriber:
        return Subscriber(email=email, status=status, interests=["diffusion", "rlhf"], confirmed_at=now,
                          unsubscribed_at=now if status == "unsubscribed" else None)  # fmt: skip

    rows = [subscriber(f"reader-{n}@elsewhere.example", "active") for n in range(BACKGROUND_SUBSCRIBERS)]
    for kind in ("active", "unsubscribed"):
        rows += [subscriber(address(kind, n), kind) for n in range(addresses_per_kind)]
    Subscriber.objects.bulk_create(rows, batch_size=2000)
    hashes = [Suppression(email_hash=email_hash(address("suppressed", n)), reason="bounced")
              for n in range(addresses_per_kind)]  # fmt: skip
    Suppression.objects.bulk_create(hashes, batch_size=2000)


def address(kind: str, n: int) -> str:
    return f"{kind}-{n}@loadbench.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(*, env: dict[str, str], workers: int, log_path: Path) -> Iterator[tuple[int, int]]:
    """Start gunicorn; yield its port and master pid."""
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), "config.wsgi:application",
               "--bind", f"{HOST}:{port}", "--workers", str(workers)]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield port, process.pid
        finally:
            process.terminate()  # SIGTERM: gunicorn finishes in-flight requests, then exits
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def server_ready(port: int, *, timeout_s: float = 30.0) -> Server:
    """Wait for GET / to answer, then keep its CSRF cookie and form token for every POST."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read().decode()
            if response.status != 200:
                raise RuntimeError(f"GET / answered {response.status}")
            cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
            if not (cookie and token):
                raise RuntimeError("GET / gave no CSRF cookie or token")
            return Server(port=port, csrf_cookie=cookie.group(1), csrf_token=token.group(1))
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def post_subscribe(server: Server, *, email: str, kind: str, due: float) -> Sample:
    form = {"email": email, "interests": "in-context learning\nRLHF", "frequency": "weekly", "weekday": "2",
            "send_hour": "7", "timezone": "Europe/Paris", "website": "",
            "csrfmiddlewaretoken": server.csrf_token}  # fmt: skip
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={server.csrf_cookie}",
        "Origin": f"http://{HOST}:{server.port}",  # as a browser sends it; Django's CSRF check compares it
    }
    lag = time.perf_counter() - due
    status: int | None = None
    location = ""
    try:
        # A new connection per request: gunicorn's sync workers close the connection after each response.
        connection = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT_S)
        connection.request("POST", "/subscribe/", body=urlencode(form), headers=headers)
        response = connection.getresponse()
        response.read()
        status, location = response.status, response.getheader("Location") or ""
        connection.close()
    except (OSError, http.client.HTTPException):
        pass
    ok = status == 302 and location == CHECK_EMAIL_PATH
    return Sample(kind=kind, ok=ok, status=status, latency_s=time.perf_counter() - due, lag_s=lag)


def load(server: Server, *, rate: float, emails: list[tuple[str, str]]) -> tuple[list[Sample], float]:
    """Send one POST per (kind, email) on a fixed schedule; the samples and the achieved sending rate."""
    start = time.perf_counter() + 0.1
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        futures = []
        for i, (kind, email) in enumerate(emails):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            futures.append(pool.submit(post_subscribe, server, email=email, kind=kind, due=due))
        # n requests span n - 1 intervals from the first to the last one handed to a sending thread.
        sent_over_s = time.perf_counter() - start
        samples = [future.result() for future in futures]
    return samples, (len(emails) - 1) / max(sent_over_s, 1e-9)


def run_emails(*, run: int, count: int, used: dict[str, int]) -> list[tuple[str, str]]:
    """The addresses of one run: distinct new ones, and existing ones never used before in this invocation."""
    emails = []
    for i in range(count):
        kind = KIND_PATTERN[i % len(KIND_PATTERN)]
        if kind == "new":
            emails.append((kind, f"new-r{run}-{i}@loadbench.example"))
        else:
            emails.append((kind, address(kind, used[kind])))
            used[kind] += 1
    return emails


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per run")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--conn-max-age", type=int, help="DATABASE_CONN_MAX_AGE (default: the settings' 0, "
                        "a new PostgreSQL connection per request)")  # fmt: skip
    parser.add_argument("--seed-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only is not None:
        seed(addresses_per_kind=args.seed_only)
        return
    count = int(args.rate * args.duration)
    per_kind = math.ceil(count * args.repeat * EXISTING_SHARE) + WARMUP_REQUESTS
    var_dir = Path(tempfile.mkdtemp(prefix="paperboy-loadbench-"))
    env = bench_env(var_dir)
    if args.conn_max_age is not None:
        env["DATABASE_CONN_MAX_AGE"] = str(args.conn_max_age)
    try:
        redis_flush()
        database_prepare(env=env, addresses_per_kind=per_kind)
        with gunicorn(env=env, workers=args.workers, log_path=var_dir / "gunicorn.log") as (port, master):
            runs = measure(server_ready(port), master=master, args=args, count=count)
        server_errors = log_problems(var_dir / "gunicorn.log")
    finally:
        redis_flush()
        subprocess.run(["dropdb", *PG_ARGS, "--if-exists", "--force", DB_NAME], check=False)
        shutil.rmtree(var_dir, ignore_errors=True)
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"\nmedian of {len(runs)} run(s); gunicorn log lines with a traceback or ERROR: {server_errors}")
    sys.exit(0 if report(medians, rate=args.rate) else 1)


def measure(server: Server, *, master: int, args: argparse.Namespace, count: int) -> list[dict[str, float]]:
    conn_max_age = "0 (settings default)" if args.conn_max_age is None else args.conn_max_age
    load_average = os.getloadavg()[0]
    print(f"gunicorn {args.workers} sync workers on {HOST}:{server.port}; DATABASE_CONN_MAX_AGE "
          f"{conn_max_age}; {os.cpu_count()} CPUs; load average before: {load_average:.2f}")  # fmt: skip
    print("all requests come from one client IP (loopback); PAPERBOY_SUBSCRIBES_PER_IP is raised so the "
          "per-IP limiter counts every request but never refuses one")  # fmt: skip
    used = dict.fromkeys(KINDS, 0)
    warmup = run_emails(run=0, count=WARMUP_REQUESTS, used=used)
    load(server, rate=args.rate, emails=warmup)  # not counted: first requests of each worker
    runs = []
    for run in range(1, args.repeat + 1):
        print(f"\nrun {run}/{args.repeat}, started {time.strftime('%H:%M:%S')}")
        emails = run_emails(run=run, count=count, used=used)
        runs.append(measure_run(server, master=master, rate=args.rate, emails=emails))
    return runs


def measure_run(server: Server, *, master: int, rate: float, emails: list[tuple[str, str]]) -> dict[str, float]:
    """One run: the load, then its figures, with checks that the work really happened server-side."""
    queued_before, cpu_before = redis_queue_length(), cpu_snapshot(master)
    samples, achieved = load(server, rate=rate, emails=emails)
    queued, cpu = redis_queue_length() - queued_before, cpu_used(cpu_before, cpu_snapshot(master))
    # Every answered request queues exactly one sign-up task, whatever the address (the enumeration guard).
    expected = sum(s.ok for s in samples)
    print(f"tasks queued to Redis {queued} (expected {expected}: one per answered request)")
    failed = Counter(f"{s.kind}:{s.status or 'no response'}" for s in samples if not s.ok)
    if failed:
        print("errors by kind:status:", dict(failed))
    print(f"p95 ms per 5 s of the run: {timeline(samples, rate=rate)}")
    figures = summarize(samples, achieved_rate=achieved)
    figures["worker_cpu_ms"] = cpu["workers"] * 1000 / len(samples)
    figures["machine_busy_pct"] = cpu["busy"] * 100
    figures["client_cpu_pct"] = cpu["client"] * 100
    report(figures, rate=rate)
    return figures


if __name__ == "__main__":
    main()
