"""A paper index as bytes, to share it between processes through Django's cache (services/edition_index.py).

Built from the papers' texts, an edition's index takes 1.4-3.3 s here (tokenising 287 papers). Pickled it is
as slow to load (its 40,000 postings are slotted dataclasses, each restored by a Python `__setstate__`, and
the cyclic collector runs over them as they are made). As builtins through `marshal` (lists, tuples, dicts,
ints, strs: restored in C) with the collector paused, it loads in 0.1-0.3 s. The acronym lookup is not in
the bytes: it is read as a build reads it (`acronyms_current`), and only compiling interests uses it.
A test pins that an index loaded from bytes matches as the built one does.
"""

from __future__ import annotations

import marshal

from newsletter.matching import PaperIndex, PaperText
from newsletter.matching.acronyms import AcronymLookup
from newsletter.matching.index import IndexedPaper, Posting
from newsletter.services.rendering.cache import gc_paused  # the one GC policy: none while building, one at the end

FORMAT = 1  # bumped whenever PaperIndex, IndexedPaper or Posting change shape: older bytes are then ignored


def index_to_bytes(index: PaperIndex) -> bytes:
    papers = [
        (p.paper.id, p.paper.title, p.paper.abstract, p.text, p.title_chars, p.title_tokens, p.surfaces, p.stems,
         p.starts, p.ends, p.sentences, p.definitions, p.abstract_tokens)
        for p in index.papers
    ]  # fmt: skip
    postings = {
        stem: {number: (posting.spans, posting.sentences, posting.title) for number, posting in by_paper.items()}
        for stem, by_paper in index.postings.items()
    }
    return marshal.dumps(
        (FORMAT, papers, postings, index.bits, index.title_bits, index.sentence_bits, index.sentence_paper_bit,
         index.average_abstract_tokens)
    )  # fmt: skip


def index_from_bytes(data: bytes, *, acronyms: AcronymLookup) -> PaperIndex | None:
    """The index `index_to_bytes` wrote, with `acronyms`; None for bytes of another format."""
    with gc_paused():
        loaded = marshal.loads(data)
        if not isinstance(loaded, tuple) or loaded[0] != FORMAT:
            return None
        _, papers, postings, bits, title_bits, sentence_bits, sentence_paper_bit, average = loaded
        return PaperIndex(
            papers=[IndexedPaper(PaperText(p[0], p[1], p[2]), *p[3:]) for p in papers],
            acronyms=acronyms,
            postings={stem: {n: Posting(*v) for n, v in by_paper.items()} for stem, by_paper in postings.items()},
            bits=bits,
            title_bits=title_bits,
            sentence_bits=sentence_bits,
            sentence_paper_bit=sentence_paper_bit,
            average_abstract_tokens=average,
        )
