"""The renderer's per-process caches and the one policy for the garbage collector, for planning and sending.

A send worker keeps every renderer's shared parts (hundreds of thousands of blocks and explanations) from
batch to batch, and planning holds as many long-lived objects while it runs; both free what they make by
reference counting. The collector's passes over those objects were 6-17 % of their time, so:
- `gc_settle()` after each send batch: collect the batch's garbage, then freeze what is left (gc.freeze);
- `gc_paused()` around planning and the building of a shared paper index: no collection while it runs, one at the end;
- `LongLivedMemo` for memos that must stay frozen.
(The matcher's forked children disable the collector for their short life: matching/evaluation.py, pure,
cannot import this.)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Memo sizes (entries), bounds on memory; on overflow a memo starts over. A (paper, interest) block is
# ~2 KB and the pairs are at most the matches of the distinct interests: ~320,000 for a day of 287 papers
# and 49,000 distinct interests, 700 MB. An interest's explanations are ~6 KB; evicting them while blocks
# are still being built would recompute them (1 ms each), so that bound is well above a day's interests.
BLOCKS_LIMIT = 500_000


MATCHES_LIMIT = 100_000


MEMO_LIMIT = 200_000  # subjects and escaped interest lists: small strings


class LongLivedMemo(dict):
    """A memo dict that the garbage collector never untracks.

    CPython untracks a plain dict whose keys and values are all untracked (tuples of strings, once a collection
    has seen them), then tracks it again in the youngest generation as soon as a new tuple key arrives. A send
    worker's block memo was so put back among the collected objects by every batch, and walked whole by each
    collection after it: 10 ms a batch at 130,000 entries, growing with it. A subclass is never untracked, so
    once gc.freeze() has set it aside (see gc_settle) it stays there.
    """

    __slots__ = ()


def gc_settle() -> None:
    """Collect the batch's garbage, then exempt what is left from later collections (gc.freeze).

    A worker process keeps every renderer's shared parts (hundreds of thousands of blocks and explanations)
    from batch to batch; each full collection walked all of them again: 17% of sending 30,000 digests, 6% once
    they are frozen. What is frozen is still freed by reference counting when dropped (nothing there is
    cyclic); the batch's own objects, gone by now, were collected first.
    """
    gc.collect()
    gc.freeze()


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while planning, one at the end.

    Planning holds hundreds of thousands of long-lived objects (the explained pairs, formatted items, a chunk's
    rows) and frees what it makes by reference counting; the collector's full passes over them took 10% of
    planning at 100,000 subscribers, more as they grow.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect()
