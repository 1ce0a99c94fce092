"""Signed links: one salt per purpose, so a token made for one purpose never works for another.

A token carries the subscriber's id and a nonce; rotating the nonce (Subscriber.link_nonce, or a
ConfirmationRequest's) revokes it. Signatures are HMACs under SECRET_KEY (and SECRET_KEY_FALLBACKS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.core import signing


class Purpose(StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"
    VIEW = "view"  # the web view of a digest


# Confirmation links expire; the others live as long as the emails that carry them.
MAX_AGE: dict[Purpose, timedelta | None] = {
    Purpose.CONFIRM: timedelta(days=7),
    Purpose.MANAGE: None,
    Purpose.UNSUBSCRIBE: None,
    Purpose.VIEW: None,
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
    return signing.dumps([subject_id, nonce, extra], salt=_salt(purpose))


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
