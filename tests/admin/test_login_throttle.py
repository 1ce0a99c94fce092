"""Admin logins: after N failures from one address or for one account, even the right password is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

PASSWORD = "the-right-password-1"


@pytest.fixture(autouse=True)
def limit(settings: LazySettings) -> Iterator[int]:
    cache.clear()  # the counts live in the shared cache
    settings.PAPERBOY_ADMIN_LOGIN_FAILURES = 3
    yield 3
    cache.clear()


@pytest.fixture
def admin_user(db: None) -> User:
    return User.objects.create_superuser("boss", email="boss@paperboy.example", password=PASSWORD)


def _login(username: str, password: str, ip: str = "198.51.100.7") -> tuple[Client, str]:
    client = Client(REMOTE_ADDR=ip)
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    return client, response.content.decode() if response.status_code == 200 else response["Location"]


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_n_failures_the_right_password_is_refused(admin_user: User, limit: int) -> None:
    for _ in range(limit):
        client, page = _login("boss", "wrong")
        assert not _logged_in(client) and "Please enter the correct username and password" in page

    client, page = _login("boss", PASSWORD)

    assert not _logged_in(client)
    assert "Too many failed logins" in page


def test_failures_for_one_account_from_many_addresses_lock_that_account(admin_user: User, limit: int) -> None:
    for n in range(limit):
        _login("boss", "wrong", ip=f"203.0.113.{n + 1}")

    client, page = _login("boss", PASSWORD, ip="192.0.2.99")

    assert not _logged_in(client) and "Too many failed logins" in page


def test_failures_from_one_address_over_many_accounts_lock_that_address(admin_user: User, limit: int) -> None:
    for n in range(limit):
        _login(f"guess{n}", "wrong", ip="198.51.100.7")

    locked, _ = _login("boss", PASSWORD, ip="198.51.100.7")
    elsewhere, _ = _login("boss", PASSWORD, ip="192.0.2.99")

    assert not _logged_in(locked)
    assert _logged_in(elsewhere)


def test_a_successful_login_resets_the_count(admin_user: User, limit: int) -> None:
    for _ in range(limit - 1):
        _login("boss", "wrong")
    first, _ = _login("boss", PASSWORD)
    for _ in range(limit - 1):
        _login("boss", "wrong")

    second, _ = _login("boss", PASSWORD)

    assert _logged_in(first) and _logged_in(second)
