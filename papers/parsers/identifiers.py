"""arXiv identifiers, found in ids and URLs of every shape the sources use, returned without version."""

from __future__ import annotations

import re

# New style since 2007: YYMM.NNNN (4 digits until 2014, 5 since). Old style: archive[.SUBJ]/YYMMNNN.
# The longest old archive name is 8 letters ("plasm-ph"); bounding it keeps the search linear, where
# "[a-z-]*" rescanned the rest of "a-a-a-..." from every letter after a hyphen.
_ARXIV_ID = re.compile(
    r"(?<![\w.])(?:arXiv:)?(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]{0,15}(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?!\w|\.\d)",
    re.IGNORECASE,
)
_HF_PAPER_URL = re.compile(r"https?://huggingface\.co/papers/(?P<id>[^\s/?#)\]]+)")
HF_PAPER_URL_BASE = "https://huggingface.co/papers/"


def arxiv_id_from(text: str) -> str | None:
    """ "http://arxiv.org/abs/2510.12345v2" -> "2510.12345"; "hep-th/9901001v1" -> "hep-th/9901001"."""
    match = _ARXIV_ID.search(text)
    return match.group("id") if match else None


def hf_paper_id_from(url: str) -> str | None:
    """The id in a Hugging Face paper URL (an arXiv id for every paper the site lists)."""
    match = _HF_PAPER_URL.search(url)
    return match.group("id") if match else None


def hf_paper_url(paper_id: str) -> str:
    return f"{HF_PAPER_URL_BASE}{paper_id}"
