"""The project's set-up files agree with each other: compose vs Makefile, env docs vs settings, README."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO_DIR


def _makefile_recipe(target: str) -> str:
    makefile = (REPO_DIR / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n\t(.+)$", makefile, flags=re.MULTILINE)
    assert match, f"no {target} target in the Makefile"
    return match.group(1).strip()


def _compose() -> dict:
    return yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())


@pytest.mark.parametrize("service", ["web", "worker", "ingest-worker", "beat"])
def test_compose_services_run_the_commands_the_makefile_and_readme_give(service: str) -> None:
    command = _compose()["services"][service]["command"]
    command = command if isinstance(command, str) else " ".join(command)
    recipe = _makefile_recipe(service)

    assert recipe in command
    assert recipe in (REPO_DIR / "README.md").read_text()


def test_compose_has_every_real_part_with_health_checks_and_named_volumes() -> None:
    compose = _compose()
    services = compose["services"]

    assert {"postgres", "redis", "web", "worker", "beat", "mailpit"} <= set(services)
    for name in ("postgres", "redis", "web", "mailpit"):
        assert "healthcheck" in services[name], name
    assert {"pgdata", "redisdata"} <= set(compose["volumes"])


def test_docker_compose_accepts_the_file() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose (Debian's package) is not installed")
        pytest.skip("docker-compose is not installed")
    env = {**os.environ, "DJANGO_SECRET_KEY": "x"}
    result = subprocess.run(
        [tool, "-f", "docker-compose.yml", "config", "-q"],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_env_example_documents_every_variable_the_settings_read() -> None:
    settings_source = (REPO_DIR / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_][A-Z0-9_]*)"', settings_source))
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (REPO_DIR / ".env.example").read_text(), re.MULTILINE))

    assert read, "found no variables in settings.py"
    assert read - documented == set()


def test_readme_opens_with_the_two_commands() -> None:
    readme = (REPO_DIR / "README.md").read_text()
    first_part = readme[:1500]

    assert "make run" in first_part and "make test" in first_part


def _queues_of(command: str) -> set[str]:
    match = re.search(r"-Q (\S+)", command)
    assert match, f"no -Q in {command!r}: a worker without it consumes only the default queue"
    return set(match.group(1).split(","))


def test_ingestion_and_email_run_on_separate_workers_everywhere() -> None:
    # A worker that consumed both queues could have every process busy parsing dumps while a confirmation waits.
    compose = _compose()["services"]
    dev_script = (REPO_DIR / "scripts" / "run-dev.sh").read_text().splitlines()
    dev_workers = [line for line in dev_script if line.startswith("$BIN/celery -A config worker")]
    for email_worker, ingest_worker in [
        (_makefile_recipe("worker"), _makefile_recipe("ingest-worker")),
        (compose["worker"]["command"], compose["ingest-worker"]["command"]),
        tuple(dev_workers),
    ]:
        assert _queues_of(email_worker) == {"paperboy"}
        assert _queues_of(ingest_worker) == {"ingest"}
