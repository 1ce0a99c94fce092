"""SpamAssassin (Debian's package, network tests off) scores every kind of email the project sends at or below 0.

Run with its local rules only (`-L`: no DNS blocklists, no Razor/Pyzor, no sa-update at run time) and without
Bayes (untrained here, and it would learn from the test's own mail). The score is summed from each rule's own
score (_TESTSSCORES_), not the one-decimal total, so 0.04 is not read as 0.0.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core import mail

from tests.conftest import TEST_OUTPUT_DIR

pytestmark = pytest.mark.django_db

SPAMASSASSIN = shutil.which("spamassassin") or "/usr/bin/spamassassin"
_OPTIONS = [
    "-L",  # local tests only
    "-t",  # test mode: the report, nothing learned
    "--cf=use_bayes 0",
    "--cf=bayes_auto_learn 0",
    "--cf=add_header all Tests-Scores _TESTSSCORES(,)_",
]


def _require_spamassassin() -> None:
    if Path(SPAMASSASSIN).exists():
        return
    reason = "spamassassin is not installed (scripts/ensure-spamassassin.sh installs Debian's package as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires it")
    pytest.skip(reason)


def spam_rules(raw: bytes, home: Path) -> dict[str, float]:
    """{rule: score} of the rules SpamAssassin's local tests hit on the message `raw`."""
    result = subprocess.run(
        [SPAMASSASSIN, *_OPTIONS],
        input=raw,
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(home)},  # its user files (none used) away from the real home
        check=True,
    )
    headers = result.stdout.split(b"\n\n", 1)[0].decode("utf-8", "replace").replace("\n\t", " ")
    line = next(h for h in headers.splitlines() if h.startswith("X-Spam-Tests-Scores:"))
    rules = {}
    for pair in line.split(":", 1)[1].replace(" ", "").split(","):
        if pair and pair != "none":
            name, score = pair.split("=")
            rules[name] = float(score)
    return rules


@pytest.fixture
def served_site(settings: LazySettings) -> None:
    """Links and addresses as a deployment has them (https, a real domain), not the dev server's port."""
    settings.SITE_URL = "https://paperboy.example.org"
    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@paperboy.example.org>"
    settings.PAPERBOY_UNSUBSCRIBE_MAILTO = "unsubscribe@paperboy.example.org"
    settings.PAPERBOY_LIST_ID = "Paperboy digest <digest.paperboy.example.org>"


def test_every_kind_of_email_scores_at_most_zero(served_site: None, every_email: dict, tmp_path: Path) -> None:
    _require_spamassassin()
    report = []
    for kind, message in every_email.items():
        assert isinstance(message, mail.EmailMessage)
        rules = spam_rules(message.message().as_bytes(), tmp_path)
        score = round(sum(rules.values()), 3)  # rules score in thousandths
        report.append(f"{kind}: {score:+.3f} {sorted(rules.items())}")
        assert score <= 0, f"{kind} scores {score:+.3f}: {rules}"
    TEST_OUTPUT_DIR.mkdir(exist_ok=True)
    (TEST_OUTPUT_DIR / "spamassassin-scores.txt").write_text("\n".join(report) + "\n")


def test_the_rules_are_loaded_and_score_spam(tmp_path: Path) -> None:
    """The check above could pass with no rules at all: the standard spam test message must score high."""
    _require_spamassassin()
    gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
    raw = f"From: a@example.org\nTo: b@example.org\nSubject: test\n\n{gtube}\n".encode()
    assert sum(spam_rules(raw, tmp_path).values()) >= 1000
