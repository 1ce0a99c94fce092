"""Signed links: made fast, read by Django's signing, shaped exactly as reverse() shapes them."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.test import override_settings
from django.urls import reverse

from newsletter import links
from newsletter.tokens import Purpose, TokenInvalid, _salt, token_make, token_read
from tests.newsletter.conftest import subscriber_create


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_token_is_the_one_django_signing_makes(purpose: Purpose, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)  # both stamp the same second

    made = token_make(purpose=purpose, subject_id=42, nonce="nönce", extra="x")

    assert made == signing.dumps([42, "nönce", "x"], salt=_salt(purpose))
    assert token_read(purpose=purpose, token=made).subject_id == 42
    # JSON's escapes are written as json.dumps writes them: quotes, backslashes, control characters, non-BMP.
    odd = token_make(purpose=purpose, subject_id=10**12, nonce='q"\\\n\t\u2028😀', extra="")
    assert odd == signing.dumps([10**12, 'q"\\\n\t\u2028😀', ""], salt=_salt(purpose))


def test_a_token_follows_the_secret_key_and_its_fallbacks() -> None:
    with override_settings(SECRET_KEY="old-secret-" * 5):
        old = token_make(purpose=Purpose.MANAGE, subject_id=7, nonce="n")
    with override_settings(SECRET_KEY="new-secret-" * 5):
        assert token_make(purpose=Purpose.MANAGE, subject_id=7, nonce="n") != old
        with pytest.raises(TokenInvalid):
            token_read(purpose=Purpose.MANAGE, token=old)
    with override_settings(SECRET_KEY="new-secret-" * 5, SECRET_KEY_FALLBACKS=["old-secret-" * 5]):
        assert token_read(purpose=Purpose.MANAGE, token=old).subject_id == 7


@pytest.mark.parametrize("name", ["newsletter:manage", "newsletter:unsubscribe", "newsletter:digest_view"])
def test_a_token_path_is_what_reverse_makes(name: str) -> None:
    token = token_make(purpose=Purpose.VIEW, subject_id=3, nonce="abc")

    assert links.token_path(name, token) == reverse(name, kwargs={"token": token})
    assert links.token_path(name, "needs quoting é") == reverse(name, kwargs={"token": "needs quoting é"})


@pytest.mark.urls("tests.newsletter.moved_urls")
def test_a_token_path_follows_another_urlconf() -> None:
    assert links.token_path("newsletter:manage", "abc").startswith("/moved/")


@pytest.mark.django_db
@pytest.mark.parametrize("urlconf", [None, "tests.newsletter.moved_urls"])
def test_a_digests_links_are_the_ones_each_link_function_makes(
    urlconf: str | None, monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)  # every token stamps the same second
    if urlconf:
        settings.ROOT_URLCONF = urlconf  # type: ignore[attr-defined]
    subscriber = subscriber_create("ada@example.org", ["agents"])

    signed = links.digest_links(delivery_id=41, subscriber=subscriber)

    assert signed.manage == links.manage_url(subscriber)
    assert signed.unsubscribe == links.unsubscribe_url(subscriber)
    assert signed.view == links.digest_view_url(delivery_id=41, subscriber=subscriber)
    assert signed.archive == links.manage_archive_url(subscriber)
    assert signed.feedback == links.feedback_token(delivery_id=41, nonce=subscriber.link_nonce)
    assert signed.headers == links.list_unsubscribe_headers(subscriber)
    assert f"<{signed.unsubscribe}>" in signed.headers["List-Unsubscribe"]
    assert ("/moved/" in signed.manage) == bool(urlconf)


@pytest.mark.parametrize(
    "token",
    [
        token_make(purpose=Purpose.UNSUBSCRIBE, subject_id=42, nonce="n0nce"),
        "abc-_:XYZ:09",
        "with space/slash%and:colon",
        "ünïcode:✓",
        "",
    ],
)
def test_the_mailto_subject_is_quoted_as_urllib_quotes_it(token: str) -> None:
    from urllib.parse import quote

    assert links._subject_quoted(token) == quote("unsubscribe " + token)
