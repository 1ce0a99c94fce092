"""No silent misses: each source's last listing date and papers per day, and warnings when papers stop coming.

Two ways a source fails quietly: the dumps folder gets no new papers for hours on a weekday (the scraper
stopped, the folder moved), or a source's newest dump lists the same papers as its previous one (the page was
captured before it updated). Both are read from the Dump and Listing rows, in a few aggregate queries; the
beat task `papers.tasks.sources_check` logs them and mails them to the editors (PAPERBOY_EDITOR_EMAILS).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db.models import Max, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from papers.models import Dump, Listing, Paper

logger = logging.getLogger(__name__)
DAYS_SHOWN = 7


@dataclass(frozen=True, slots=True)
class SourceFreshness:
    source: str  # the dump format ("hf_text", "arxiv_atom", ...)
    last_listed_on: date | None
    last_ingested_at: datetime | None
    new_per_day: list[int] = field(default_factory=list)  # new papers on each of the last DAYS_SHOWN days


def sources_freshness(*, today: date | None = None) -> tuple[list[date], list[SourceFreshness]]:
    """Each source's newest listing date, newest dump and new papers per day (the days, oldest first)."""
    today = today or timezone.localdate()
    days = [today - timedelta(days=n) for n in range(DAYS_SHOWN - 1, -1, -1)]
    ingested = Dump.objects.filter(status=Dump.Status.INGESTED)
    by_source = ingested.order_by().values_list("source_format")
    latest = dict(by_source.annotate(at=Max("ingested_at")).values_list("source_format", "at"))
    listed = dict(
        Listing.objects.order_by().values_list("dump__source_format").annotate(on=Max("listed_on"))
        .values_list("dump__source_format", "on")
    )  # fmt: skip
    start = timezone.make_aware(datetime.combine(days[0], datetime.min.time()))
    per_day: dict[tuple[str, date], int] = {
        (source, day): n or 0
        for source, day, n in ingested.filter(ingested_at__gte=start).order_by()
        .annotate(day=TruncDate("ingested_at")).values_list("source_format", "day").annotate(n=Sum("created_count"))
    }  # fmt: skip
    sources = [
        SourceFreshness(source, listed.get(source), at, [per_day.get((source, day), 0) for day in days])
        for source, at in sorted(latest.items())
    ]
    return days, sources


def freshness_warnings(*, now: datetime | None = None) -> list[str]:
    """What an editor must hear about now: no new papers for too long on a weekday, repeated dumps."""
    now = now or timezone.now()
    warnings = []
    if (quiet := _no_new_papers(now)) is not None:
        warnings.append(quiet)
    warnings.extend(_repeated_dumps())
    return warnings


def _no_new_papers(now: datetime) -> str | None:
    hours = settings.PAPERBOY_STALE_AFTER_HOURS
    if not hours or timezone.localtime(now).weekday() not in settings.PAPERBOY_STALE_WEEKDAYS:
        return None
    newest = Paper.objects.aggregate(at=Max("first_seen_at"))["at"]
    if newest is not None and now - newest < timedelta(hours=hours):
        return None
    local = timezone.localtime(newest) if newest else None
    since = f"since {local:%b} {local.day} at {local:%H:%M}" if local else "yet"
    return (
        f"No new papers have arrived {since} (more than {_duration(hours)} on a weekday). Check that dumps still "
        f"reach the dumps folder ({settings.PAPERBOY_DUMPS_DIR}) and that the scan runs."
    )


def _duration(hours: float) -> str:
    if hours >= 1:
        return f"{hours:g} hour{'s' * (hours != 1)}"
    minutes = hours * 60
    if minutes >= 1:
        return f"{minutes:.0f} minute{'s' * (round(minutes) != 1)}"
    return f"{minutes * 60:.0f} seconds"


def _repeated_dumps() -> list[str]:
    """A source whose newest dump lists exactly the papers of its previous one, and brought nothing new."""
    warnings = []
    sources = Dump.objects.filter(status=Dump.Status.INGESTED).order_by().values_list("source_format", flat=True)
    for source in sorted(set(sources)):
        latest_two = list(Dump.objects.filter(status=Dump.Status.INGESTED, source_format=source)[:2])
        if len(latest_two) < 2 or latest_two[0].created_count or not latest_two[0].items_count:
            continue
        newest, previous = latest_two
        if _listed(newest) == _listed(previous):
            at = timezone.localtime(newest.ingested_at)
            warnings.append(
                f"The newest {source} dump, {newest.name} (ingested {at:%b} {at.day} at {at:%H:%M}), lists the same "
                f"{newest.items_count} papers as the one before it, {previous.name}: the source may not have updated."
            )
    return warnings


def _listed(dump: Dump) -> set[int]:
    return set(Listing.objects.filter(dump=dump).values_list("paper_id", flat=True))


def sources_check(*, now: datetime | None = None) -> list[str]:
    """Log each warning, and mail it to the editors once a day (PAPERBOY_EDITOR_EMAILS, when set)."""
    warnings = freshness_warnings(now=now)
    today = timezone.localdate(now)
    for warning in warnings:
        logger.warning("sources: %s", warning)
    fresh = [w for w in warnings if cache.add(f"paperboy:sources-warned:{today}:{_digest(w)}", 1, 36 * 3600)]
    if fresh and settings.PAPERBOY_EDITOR_EMAILS:
        send_mail(
            subject=f"Paperboy: {len(fresh)} warning{'s' * (len(fresh) != 1)} about the paper sources",
            message="\n\n".join(fresh),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=list(settings.PAPERBOY_EDITOR_EMAILS),
        )
    return warnings


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
