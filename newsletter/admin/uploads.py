"""Uploads say which edition their papers go to: papers' dump admin, with the newsletter's answer filled in.

Papers know nothing of editions (papers/ never imports newsletter/), so papers' DumpAdmin leaves
`upload_note` empty and the newsletter's admin registers this subclass in its place.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

from newsletter.models import Delivery, Edition
from papers.admin import DumpAdmin
from papers.models import Dump


def _day(value: object) -> str:
    return f"{value:%b} {value.day}, {value.year}"  # type: ignore[attr-defined]


def upload_edition_note(*, created: int) -> str:
    """Today's edition takes new papers until its first digest is planned; after that, tomorrow's does."""
    today = timezone.localdate()
    papers = f"{created} new paper{'s' * (created != 1)}"
    edition = Edition.objects.filter(issue_date=today).first()
    if edition is not None and Delivery.objects.filter(edition=edition).exists():
        return (
            f"Today's edition ({_day(today)}) is already going out: the {papers} go to tomorrow's edition "
            f"({_day(today + timedelta(days=1))})."
        )
    return f"The {papers} go to today's edition ({_day(today)}), which is not sent yet."


class DumpAdminWithEditions(DumpAdmin):
    def upload_note(self, *, created: int) -> str:
        return upload_edition_note(created=created)


def install(site: admin.AdminSite) -> None:
    if site.is_registered(Dump):
        site.unregister(Dump)
    site.register(Dump, DumpAdminWithEditions)
