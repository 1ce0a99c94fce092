"""`manage.py check --deploy` under production settings, and under docker-compose's, prints no warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_DIR

LONG_KEY = "k3y-" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _check_deploy(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",  # the real settings, not the tests'
        "PAPERBOY_VAR_DIR": str(tmp_path / "var"),
        # DEBUG's default, which a server has (the image has no .env: .dockerignore), stated so that a
        # developer's .env from `make run` (DJANGO_DEBUG=true), read by the settings, cannot change it.
        "DJANGO_DEBUG": "false",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _compose_environment() -> dict[str, str]:
    """The app's environment as docker-compose gives it when nothing is set but the required key."""
    compose = yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())
    environment: dict[str, str] = {}
    for name, value in compose["x-app"]["environment"].items():
        # ${NAME:-default} takes its default; ${NAME:?message} is required (only the secret key is).
        value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), str(value))
        environment[name] = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: LONG_KEY, value)
    return environment


def test_check_deploy_passes_with_production_settings(tmp_path: Path) -> None:
    result = _check_deploy(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": LONG_KEY,
            "DJANGO_ALLOWED_HOSTS": "paperboy.example.org",
            "PAPERBOY_SITE_URL": "https://paperboy.example.org",
            "ANYMAIL_WEBHOOK_SECRET": "hook:a-long-webhook-secret",
        },
        tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_check_deploy_passes_with_docker_composes_defaults(tmp_path: Path) -> None:
    environment = _compose_environment()
    # Paths inside the container; the check only needs them to be writable folders.
    environment.update(PAPERBOY_VAR_DIR=str(tmp_path / "var"), PAPERBOY_DUMPS_DIR=str(tmp_path / "dumps"))

    result = _check_deploy(environment, tmp_path)

    assert environment["PAPERBOY_SITE_URL"].startswith("http://")  # compose serves plain http on localhost
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_redirects_to_https_and_sends_hsts_by_default(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS >= 3600, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PAPERBOY_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": LONG_KEY,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # The last line: `shell` first says how many objects it imported.
    assert result.stdout.splitlines()[-1].split() == ["True", "True", "True", "True"], result.stderr


def test_check_deploy_stops_an_esp_configuration_without_a_webhook_secret(tmp_path: Path) -> None:
    result = _check_deploy(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": LONG_KEY,
            "PAPERBOY_SITE_URL": "https://paperboy.example.org",
            "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
            "POSTMARK_SERVER_TOKEN": "token",
        },
        tmp_path,
    )

    assert result.returncode != 0
    assert "paperboy.E001" in result.stderr and "ANYMAIL_WEBHOOK_SECRET is not set" in result.stderr
