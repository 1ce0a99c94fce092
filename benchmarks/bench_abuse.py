"""Benchmark the abuse cases of issue 15 (items 4, 5, 6) in one process, through Django's test client.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python benchmarks/bench_abuse.py [--repeat 5]

It builds a throw-away test database (Django's test-database machinery: `test_<name>` of DATABASE_URL), ingests
the seed dumps, clears the cache, and counts:

- proxy spoofing (item 4): with PAPERBOY_CLIENT_IP_HEADER=HTTP_X_FORWARDED_FOR and one trusted proxy, 30
  sign-ups and 200 previews from one client, each with a fresh forged X-Forwarded-For entry before the one
  its proxy appends: how many were accepted (the limits are 20 sign-ups and 120 previews per IP);
- look-alike addresses (item 5): sign-ups for one suppressed mailbox and one ordinary mailbox, through
  variants of the address that mail servers deliver to the same mailbox (full-width letters, upper case), 6
  posts per variant (the per-address limit is 4): how many confirmation emails reach each mailbox. The mailbox
  a message reaches is its address as Django's SMTP layer sends it: the domain IDNA-encoded. Also whether a
  Latin+Cyrillic look-alike domain is stored as a second subscriber;
- preview cost (item 6): the median time of an adversarial preview (20 interests `word -x -y ...`) and of an
  ordinary one, --repeat runs each after one warm-up call; then, against gunicorn (2 sync workers) on
  loopback serving the same database, the median latency of 40 sequential GET /papers/ alone, and while one
  client sends the adversarial preview at 2 a second (120 a minute: within its limit).

Emails go to Django's locmem backend and tasks run eagerly, as in the tests; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core import mail  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

FORM = {"interests": "in-context learning", "frequency": "daily", "weekday": "0", "send_hour": "7"}
FORM |= {"timezone": "UTC", "website": ""}
PROXY_SEEN = "198.51.100.7"  # the attacker's real address, as the trusted proxy appends it
SUPPRESSED = "victim@example.org"
ORDINARY = "alice@example.org"
VARIANTS = (
    "{local}@example.org",
    "{local}@\uff45xample.org",  # full-width e
    "{local}@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org",  # full-width domain
    "{local}@EXAMPLE.ORG",
    "{local}@ex\uff41mple.\uff4frg",
)
POSTS_PER_VARIANT = 6
# 20 broad interests, each with 10 exclusions of other common words (200 in all): the words of the seed
# papers' abstracts, so every interest matches many papers and every exclusion has postings to check.
HEADS = "models learning language data training tasks performance methods large neural network approach"
HEADS += " results framework generation reasoning evaluation agents images benchmark"
EXCLUDED = "show propose work different using new study paper existing present"
ADVERSARIAL = "\n".join(f"{head} " + " ".join(f"-{word}" for word in EXCLUDED.split()) for head in HEADS.split())
ORDINARY_PREVIEW = "in-context learning\nRLHF\nprotein folding"


def delivered_mailbox(address: str) -> str:
    """Where a message to `address` lands: Django's sanitize_address IDNA-encodes the domain."""
    local, _, domain = address.rpartition("@")
    return f"{local.lower()}@{domain.encode('idna').decode('ascii').lower()}"


def bench_spoofing() -> dict[str, int]:
    cache.clear()
    client = Client(REMOTE_ADDR="127.0.0.1")
    with override_settings(PAPERBOY_CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", PAPERBOY_TRUSTED_PROXIES=1):
        signups = sum(
            client.post(
                "/subscribe/", {**FORM, "email": f"s{i}@example.net"}, HTTP_X_FORWARDED_FOR=f"10.0.{i}.1, {PROXY_SEEN}"
            ).status_code
            == 302
            for i in range(30)
        )
        previews = sum(
            client.get(
                "/subscribe/preview.json", {"interests": "agents"}, HTTP_X_FORWARDED_FOR=f"10.1.{i}.1, {PROXY_SEEN}"
            ).status_code
            == 200
            for i in range(200)
        )
    return {"sign-ups accepted of 30": signups, "previews accepted of 200": previews}


def bench_lookalikes() -> dict[str, int]:
    from newsletter.models import Subscriber, Suppression
    from newsletter.services.suppressions import email_suppress

    cache.clear()
    mail.outbox.clear()
    email_suppress(email=SUPPRESSED, reason=Suppression.Reason.MANUAL)
    client = Client()
    for base in (SUPPRESSED, ORDINARY):
        local = base.split("@")[0]
        for n, variant in enumerate(VARIANTS):
            for k in range(POSTS_PER_VARIANT):  # a fresh IP each time: only the per-address limit counts here
                email = variant.format(local=local)
                client.post("/subscribe/", {**FORM, "email": email}, REMOTE_ADDR=f"10.2.{n}.{k + 1}")
    reached = [delivered_mailbox(address) for message in mail.outbox for address in message.to]
    cache.clear()
    client.post("/subscribe/", {**FORM, "email": "alice@ex\u0430mple.org"}, REMOTE_ADDR="10.3.0.1")  # Cyrillic a
    alice_rows = Subscriber.objects.filter(email__startswith="alice@").count()
    tries = f"{len(VARIANTS)} variants x {POSTS_PER_VARIANT}"
    return {
        f"emails reaching suppressed {SUPPRESSED} ({tries})": reached.count(SUPPRESSED),
        f"emails reaching {ORDINARY} ({tries}; the limit per address is 4)": reached.count(ORDINARY),
        "subscriber rows for alice@ after a Cyrillic-a look-alike": alice_rows,
    }


def _median_ms(client: Client, interests: str, repeat: int, *, cold: bool = False) -> float:
    from newsletter.services.indexing import preview_index

    client.get("/subscribe/preview.json", {"interests": interests})  # warm-up: builds the process's index
    times = []
    for _ in range(repeat):
        cache.clear()  # the preview limit is not what is measured here
        if cold:  # as if every word and exclusion were new to the index: what a rotating attacker costs
            preview_index().unit_plans.clear()
            preview_index().interest_plans.clear()
        start = time.perf_counter()
        response = client.get("/subscribe/preview.json", {"interests": interests})
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times)


def bench_preview(repeat: int) -> dict[str, float]:
    client = Client()
    return {
        "adversarial preview, median ms": round(_median_ms(client, ADVERSARIAL, repeat), 1),
        "adversarial preview, index plans dropped first, median ms": round(
            _median_ms(client, ADVERSARIAL, repeat, cold=True), 1
        ),
        "ordinary preview, median ms": round(_median_ms(client, ORDINARY_PREVIEW, repeat), 1),
    }


def _get_ms(port: int, path: str) -> float:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status in (200, 429), (path[:40], response.status)
    return (time.perf_counter() - start) * 1000


def _papers_median(port: int, requests: int = 40) -> float:
    times = []
    for _ in range(requests):
        times.append(_get_ms(port, "/papers/"))
        time.sleep(0.05)
    return statistics.median(times)


def bench_papers_under_load() -> dict[str, float]:
    from django.db import connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"}
    env["DATABASE_URL"] += database["NAME"]
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                _get_ms(port, "/papers/")
                break
            except OSError:
                time.sleep(0.1)
        preview = "/subscribe/preview.json?" + urlencode({"interests": ADVERSARIAL})
        for _ in range(4):
            _get_ms(port, preview)  # both workers build their preview index before anything is measured
        cache.clear()
        alone = _papers_median(port)
        stop = threading.Event()

        def adversary() -> None:
            while not stop.is_set():
                started = time.monotonic()
                _get_ms(port, preview)
                stop.wait(max(0.0, 0.5 - (time.monotonic() - started)))  # 2 a second, when they are quick

        cache.clear()
        thread = threading.Thread(target=adversary)
        thread.start()
        try:
            loaded = _papers_median(port)
        finally:
            stop.set()
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"/papers/ alone, median ms": round(alone, 1), "/papers/ with the adversary, median ms": round(loaded, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        from papers.services import dump_ingest_file

        for path in sorted((ROOT / "seeds").glob("*.txt")):
            dump_ingest_file(path=path, today=date(2026, 11, 24))
        results: dict[str, float] = {}
        results |= bench_spoofing()
        results |= bench_lookalikes()
        results |= bench_preview(args.repeat)
        results |= bench_papers_under_load()
        for name, value in results.items():
            print(f"{name:>75}: {value}")
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
