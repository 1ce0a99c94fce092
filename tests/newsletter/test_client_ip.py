"""The client address behind proxies: what the rate limits count and what consent records.

Only the entries our own proxies append to X-Forwarded-For are trusted; anything a client writes there
itself (further left) must not change its rate-limit bucket or its recorded consent IP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, RequestFactory

from newsletter.models import Subscriber
from newsletter.views import client_ip
from tests.newsletter.conftest import form_data

pytestmark = pytest.mark.django_db
PROXY_SEEN = "198.51.100.7"  # what our proxy appends: the address the request really came from


@pytest.fixture
def behind_one_proxy(settings: Any) -> Any:
    settings.PAPERBOY_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.PAPERBOY_TRUSTED_PROXIES = 1
    return settings


def test_spoofed_leftmost_forwarded_for_values_all_land_in_one_signup_bucket(
    client: Client, behind_one_proxy: Any
) -> None:
    behind_one_proxy.PAPERBOY_SUBSCRIBES_PER_IP = 3
    statuses = [
        client.post(
            "/subscribe/",
            form_data(email=f"s{i}@example.org"),
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.1, {PROXY_SEEN}",  # a forged entry per request, then the proxy's
        ).status_code
        for i in range(6)
    ]

    assert statuses == [302, 302, 302, 429, 429, 429]


def test_spoofed_leftmost_forwarded_for_values_all_land_in_one_preview_bucket(
    client: Client, behind_one_proxy: Any
) -> None:
    behind_one_proxy.PAPERBOY_PREVIEWS_PER_IP = 2
    statuses = [
        client.get(
            "/subscribe/preview.json", {"interests": "agents"}, HTTP_X_FORWARDED_FOR=f"10.1.{i}.1, {PROXY_SEEN}"
        ).status_code
        for i in range(4)
    ]

    assert statuses == [200, 200, 429, 429]


def test_the_consent_ip_is_the_address_the_proxy_appended_not_the_forged_one(
    subscribe: Callable[..., Any], behind_one_proxy: Any, client: Client
) -> None:
    client.defaults["HTTP_X_FORWARDED_FOR"] = f"6.6.6.6, {PROXY_SEEN}"
    subscribe(email="ada@example.org")

    assert Subscriber.objects.get().consent_ip == PROXY_SEEN


def test_with_two_trusted_proxies_the_address_is_the_second_from_the_right(behind_one_proxy: Any) -> None:
    behind_one_proxy.PAPERBOY_TRUSTED_PROXIES = 2  # a CDN (appends the client) in front of nginx (the CDN)
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {PROXY_SEEN}, 203.0.113.50")

    assert client_ip(request) == PROXY_SEEN


def test_a_header_shorter_than_the_proxy_chain_counts_as_the_connecting_address(behind_one_proxy: Any) -> None:
    behind_one_proxy.PAPERBOY_TRUSTED_PROXIES = 2
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="192.0.2.1")

    assert client_ip(request) == "192.0.2.1"


@pytest.mark.parametrize("forwarded", ["", "not-an-ip", "6.6.6.6, garbage", " , "])
def test_a_missing_or_malformed_proxy_entry_counts_as_the_connecting_address(
    behind_one_proxy: Any, forwarded: str
) -> None:
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="192.0.2.1")

    assert client_ip(request) == "192.0.2.1"


def test_without_a_proxy_header_setting_the_forwarded_header_is_ignored(settings: Any) -> None:
    settings.PAPERBOY_CLIENT_IP_HEADER = ""
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=PROXY_SEEN, REMOTE_ADDR="192.0.2.1")

    assert client_ip(request) == "192.0.2.1"


def test_an_ipv6_client_behind_the_proxy_is_recorded_in_canonical_form(behind_one_proxy: Any) -> None:
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 2001:DB8:0:0::1")

    assert client_ip(request) == "2001:db8::1"
