"""anymail's tracking signal, the one signal Paperboy uses: it hands each event to the tracking service."""

from __future__ import annotations

from typing import Any

from anymail.signals import tracking
from django.dispatch import receiver

from newsletter.services.tracking import tracking_event_apply


@receiver(tracking, dispatch_uid="paperboy.newsletter.tracking")
def on_tracking_event(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    tracking_event_apply(event=event, esp_name=esp_name)
