"""The sentence encoder: unit vectors, deterministic, meaning over words, and a clear error without its model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from papers import embedding
from papers.embedding import Encoder, EncoderFiles, EncoderUnavailable, get_encoder, paper_sentences, paper_texts


def test_vectors_are_unit_length_and_384_wide() -> None:
    vectors = get_encoder().encode(["in-context learning", "A study of retrieval-augmented generation.", ""])
    assert vectors.shape == (3, embedding.DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_same_text_gets_the_same_vector_whatever_it_is_encoded_with() -> None:
    encoder = get_encoder()
    alone = encoder.encode(["contrastive pre-training of text encoders"])[0]
    beside = encoder.encode(
        [
            "a much longer sentence about something else entirely, padded or not",
            "contrastive pre-training of text encoders",
        ]
    )[1]
    assert np.array_equal(alone, beside)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence() -> None:
    query, paraphrase, unrelated = get_encoder().encode(
        [
            "multimodal models",
            "vision-language models that read images and text",
            "a lock-free hash table for databases",
        ]
    )
    assert query @ paraphrase > query @ unrelated + 0.2


def test_the_encoder_loads_once_per_process_even_when_threads_race() -> None:
    seen: list[Encoder] = []
    threads = [threading.Thread(target=lambda: seen.append(get_encoder())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(encoder) for encoder in seen}) == 1


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    files = EncoderFiles(model=tmp_path / "model.onnx", tokenizer=embedding.TOKENIZER_PATH)
    with pytest.raises(EncoderUnavailable, match=r"model file .*model\.onnx does not exist \(run `make install`\)"):
        Encoder(files)


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not an onnx graph")
    files = EncoderFiles(model=broken, tokenizer=embedding.TOKENIZER_PATH)
    with pytest.raises(EncoderUnavailable, match="is not the expected one"):
        Encoder(files)


def test_the_start_up_check_reports_a_missing_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(embedding.ENV_MODEL_PATH, str(tmp_path / "gone.onnx"))
    with pytest.raises(SystemCheckError, match=r"papers\.E001.*gone\.onnx does not exist"):
        call_command("check")


def test_a_paper_is_encoded_as_whole_text_title_and_each_sentence() -> None:
    abstract = "We study the first thing at length. Then we measure the second thing, e.g. Fig. 2 shows it all."
    assert paper_sentences("T", abstract) == [
        "We study the first thing at length.",
        "Then we measure the second thing, e.g. Fig. 2 shows it all.",
    ]
    assert paper_texts("A title", abstract)[:2] == [f"A title. {abstract}", "A title"]
