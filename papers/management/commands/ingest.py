"""`manage.py ingest PATH...`: ingest dump files (or every file in folders) by hand, as the beat job does."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from papers.services import DumpIngestResult, IngestStatus, dump_files_in, dump_ingest_file


class Command(BaseCommand):
    help = "Ingest paper dumps from files or folders, with a progress bar and a summary table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="dump files, or folders of them")

    def handle(self, *args: Any, **options: Any) -> None:
        files = _expand(options["paths"])
        console = Console(file=cast(IO[str], self.stdout), force_terminal=False, width=120)
        results: list[DumpIngestResult] = []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("ingesting", total=len(files))
            for path in files:
                progress.update(task, description=f"ingesting {path.name}")
                results.append(dump_ingest_file(path=path))
                progress.advance(task)
        console.print(_summary_table(results))
        failed = [r for r in results if r.status is IngestStatus.FAILED]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} files failed; the reasons are in the table.")


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(dump_files_in(folder=path))
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{path}: no such file or folder")
    return files


def _summary_table(results: list[DumpIngestResult]) -> Table:
    table = Table(title="Ingestion summary")
    for column in ("file", "status", "format", "papers", "created", "enriched", "unchanged", "error"):
        table.add_column(column, overflow="fold")
    for r in results:
        counts = (r.items, r.created, r.enriched, r.unchanged)
        table.add_row(r.name, r.status, r.source_format, *(str(n) for n in counts), r.error)
    totals = [sum(getattr(r, f) for r in results) for f in ("items", "created", "enriched", "unchanged")]
    failed = sum(1 for r in results if r.status is IngestStatus.FAILED)
    table.add_row("total", f"{failed} failed", "", *(str(n) for n in totals), "", style="bold")
    return table
