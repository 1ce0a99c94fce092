"""Benchmark: the two inputs the audit (issue 15, item 3) found quadratic, parsed through `parse_dump`.

    .venv/bin/python benchmarks/bench_parser_adversarial.py [--repeat 3] [--sizes 70,140,280]

- "url": a seed text dump whose abstract is "http://" * N + "{" (it made `latex._URL_THEN_LINK_WORD`
  rescan the rest of the abstract from every "http://"), at 70, 140 and 280 KB;
- "comment": "<" + "<!--" * 16000 (64 KB; it made format detection rescan from every unclosed comment).

Prints the median of the repeats for each. Only the parser runs: no Django, no database.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from papers.parsers import DumpParseError, parse_dump


def url_dump(*, kilobytes: int) -> bytes:
    abstract = "http://" * (kilobytes * 1024 // 7) + "{"
    return f"Daily Papers\n\nMar 11\n\nA title\n\n{abstract}\n".encode()


def comment_dump() -> bytes:
    return ("<" + "<!--" * 16000).encode()


def seconds(data: bytes) -> float:
    started = time.perf_counter()
    with contextlib.suppress(DumpParseError):  # a clear refusal is a fine outcome; only the time counts
        parse_dump(data, today=date(2026, 3, 11))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="70,140,280", help="KB sizes of the url input")
    args = parser.parse_args()
    cases = [(f"url {kb} KB", url_dump(kilobytes=int(kb))) for kb in args.sizes.split(",")]
    cases.append(("comment 64 KB", comment_dump()))
    for name, data in cases:
        times = [seconds(data) for _ in range(args.repeat)]
        print(f"{name:>14}: median {statistics.median(times):.4f} s of {args.repeat} ({len(data):,} bytes)", flush=True)


if __name__ == "__main__":
    main()
