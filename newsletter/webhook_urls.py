"""The ESP tracking webhooks, at anymail's paths (/anymail/<esp>/tracking/), each behind Paperboy's guards.

Only the tracking routes: Paperboy receives no inbound mail, so anymail's inbound routes are not mounted.
"""

from __future__ import annotations

from anymail import urls as anymail_urls
from django.urls import URLPattern, path

from newsletter.webhooks import UnreadablePayloadIsBadRequest, webhook_view_guarded

app_name = "anymail"  # anymail's own namespace, so its URL names keep working


def _guarded_route(route: URLPattern) -> URLPattern:
    anymail_view = route.callback.view_class  # type: ignore[attr-defined]
    view_class = type(anymail_view.__name__, (UnreadablePayloadIsBadRequest, anymail_view), {})
    esp = str(route.name).removesuffix("_tracking_webhook")
    view = view_class.as_view(**route.callback.view_initkwargs)  # type: ignore[attr-defined]
    return path(str(route.pattern), webhook_view_guarded(view, esp=esp), name=route.name)


urlpatterns = [
    _guarded_route(route)
    for route in anymail_urls.urlpatterns
    if isinstance(route, URLPattern) and str(route.name).endswith("_tracking_webhook")
]
