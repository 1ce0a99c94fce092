"""`manage.py embed_papers [--limit N]`: sentence vectors for the stored papers that have none (a backfill)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from papers.embedding import EncoderUnavailable, get_encoder
from papers.services import papers_embed


class Command(BaseCommand):
    help = "Compute the sentence vectors of papers that have none yet (or have another model's)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=0, help="at most this many papers (0: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            get_encoder()
        except EncoderUnavailable as error:
            raise CommandError(str(error)) from error
        done = papers_embed(limit=options["limit"] or None)
        self.stdout.write(f"{done} papers encoded")
