"""Email addresses in one form: the form every lookup, rate limit, suppression hash and stored row uses.

Mail to `victim@ｅxample.org` (a full-width "e") reaches victim@example.org: Django and the ESPs encode the
domain with IDNA, which folds full-width letters and case. Compared as typed, such variants were different
addresses, so each got past the suppression list and had a per-address limit of its own. So every address is
compared and stored as `email_normalize` gives it: NFKC, lower case, and the domain as IDNA A-labels (UTS #46
mapping, non-transitional as in IDNA 2008: "ß" stays "ß", so "straße.de" and "strasse.de" differ, as their
registries treat them).

A look-alike of another domain (`exаmple.org` with a Cyrillic "а") is a different domain, and so a different
mailbox, but one made to deceive: `email_checked` refuses a domain label whose letters mix scripts, and a local
part that does, for the subscribe form. Labels written wholly in one other script (all-Cyrillic "аррӏе.com")
are legitimate names and are accepted.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import idna

# Scripts that legitimately share one label (UTS #39 "highly restrictive"): Japanese mixes Han, Hiragana
# and Katakana, Chinese Han and Bopomofo, Korean Han and Hangul, each also with Latin. Any other mix (Latin
# with Cyrillic or Greek, say) is refused.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)


class AddressError(ValueError):
    """An address the subscribe form refuses; the message is for the person who typed it."""


def email_normalize(email: str) -> str:
    """The one form of an address. Never fails: an address IDNA cannot encode keeps its domain lower-cased
    (the form refuses such an address first, through `email_checked`; a webhook or an old row may hold one)."""
    text = unicodedata.normalize("NFKC", email).strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    return f"{local.lower()}@{_domain_normalize(domain)}"


@lru_cache(maxsize=4096)  # a send batch normalizes every recipient; most share a few domains (IDNA: ~60 µs)
def _domain_normalize(domain: str) -> str:
    domain = domain.rstrip(".")  # "example.org." is the same host
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return domain.lower()


def email_checked(email: str) -> str:
    """`email_normalize(email)`, or AddressError when the domain is not a valid IDNA name or a label of it,
    or the local part, mixes scripts (a look-alike of another address)."""
    normalized = email_normalize(email)
    local, _, domain = normalized.rpartition("@")
    if domain.startswith("[") and domain.endswith("]"):
        return normalized  # an address literal such as [192.0.2.1]: Django's validator vouched for it
    try:
        unicode_domain = idna.decode(domain)  # A-labels typed as such ("xn--...") are checked as what they show
    except (idna.IDNAError, UnicodeError) as exc:
        raise AddressError("This email domain is not a valid domain name.") from exc
    for label in unicode_domain.split("."):
        scripts = _scripts_mixed(label)
        if scripts:
            raise AddressError(
                f"The domain “{unicode_domain}” mixes {scripts} letters in one name, as look-alike addresses "
                "do. Type it in one alphabet."
            )
    scripts = _scripts_mixed(local)
    if scripts:
        raise AddressError(f"The part before @ mixes {scripts} letters. Type it in one alphabet.")
    return normalized


def _scripts_mixed(text: str) -> str:
    """'' when the letters of `text` come from one script (or an allowed mix), else the scripts, e.g.
    'Cyrillic and Latin'."""
    scripts = {_script(char) for char in text if unicodedata.category(char) in ("Lu", "Ll", "Lt", "Lo")}
    if len(scripts) <= 1 or any(scripts <= allowed for allowed in _ALLOWED_MIXES):
        return ""
    names = sorted(name.title() for name in scripts)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _script(char: str) -> str:
    # The Unicode name starts with the script: "LATIN SMALL LETTER A", "CYRILLIC SMALL LETTER A",
    # "CJK UNIFIED IDEOGRAPH-4E00". Modifier letters (category Lm, e.g. the Japanese prolonged sound mark)
    # and marks are left out by the caller: they belong to whatever script they follow.
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]
