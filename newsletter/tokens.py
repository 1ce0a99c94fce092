"""Signed links: one salt per purpose, so a token made for one purpose never works for another.

A token carries the subscriber's id and a nonce; rotating the nonce (Subscriber.link_nonce, or a
ConfirmationRequest's) revokes it. Signatures are HMACs under SECRET_KEY (and SECRET_KEY_FALLBACKS).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from json.encoder import encode_basestring_ascii  # how json.dumps writes a str (ensure_ascii, the default)

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes


class Purpose(StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"
    VIEW = "view"  # the web view of a digest
    ARCHIVE = "archive"  # the reader's own archive of digests and its private Atom feed


# Confirmation links expire; the others live as long as the emails that carry them.
MAX_AGE: dict[Purpose, timedelta | None] = {
    Purpose.CONFIRM: timedelta(days=7),
    Purpose.MANAGE: None,
    Purpose.UNSUBSCRIBE: None,
    Purpose.VIEW: None,
    Purpose.ARCHIVE: None,
}


class TokenInvalid(Exception):
    """Not a token we made for this purpose (mutated, truncated, or made for something else)."""


class TokenExpired(TokenInvalid):
    """A genuine token past its purpose's MAX_AGE."""


@dataclass(frozen=True, slots=True)
class TokenPayload:
    subject_id: int
    nonce: str
    extra: str = ""


def token_make(*, purpose: Purpose, subject_id: int, nonce: str, extra: str = "") -> str:
    """The token `signing.dumps([subject_id, nonce, extra], salt=...)` makes, to the character.

    Spelled out because every digest carries three: `signing.dumps` builds a signer and derives its HMAC key
    (a SHA-256 of salt and secret) and a JSON encoder on each call. Here the keyed HMAC is derived once per
    (salt, secret) and copied for each token, and the payload is written directly. `token_read` reads with
    `signing` itself (SECRET_KEY_FALLBACKS included); a test pins the equality.
    """
    # json.dumps([subject_id, nonce, extra], separators=(",", ":")) as JSONSerializer writes it, without building
    # an encoder per call (a third of the token's cost).
    data = f"[{int.__repr__(subject_id)},{encode_basestring_ascii(nonce)},{encode_basestring_ascii(extra)}]"
    value = f"{signing.b64_encode(data.encode('latin-1')).decode()}:{_timestamp_b62(int(time.time()))}"
    mac = _keyed_hmac(_salt(purpose), settings.SECRET_KEY).copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


@lru_cache(maxsize=2)
def _timestamp_b62(seconds: int) -> str:
    """signing's base 62 timestamp: the same for every token made within one second."""
    return signing.b62_encode(seconds)


@lru_cache(maxsize=16)
def _keyed_hmac(salt: str, secret: str | bytes) -> hmac.HMAC:
    """What django.utils.crypto.salted_hmac(salt + "signer", ..., secret) keys before it reads a message."""
    key = hashlib.sha256(f"{salt}signer".encode() + force_bytes(secret)).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def token_read(*, purpose: Purpose, token: str) -> TokenPayload:
    try:
        raw = signing.loads(token, salt=_salt(purpose), max_age=MAX_AGE[purpose])
    except signing.SignatureExpired as exc:
        raise TokenExpired(str(exc)) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise TokenInvalid(str(exc)) from exc
    if not (isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], int)):
        raise TokenInvalid("unexpected payload")
    return TokenPayload(subject_id=raw[0], nonce=str(raw[1]), extra=str(raw[2]))


def _salt(purpose: Purpose) -> str:
    return f"paperboy.newsletter.{purpose}"
