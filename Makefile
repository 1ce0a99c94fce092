# Paperboy: `make run` starts everything with embedded defaults; `make test` runs the whole suite.
# Both create the virtual environment and install on first use: nothing else to do by hand.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: install run test lint format bench clean web worker ingest-worker beat

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Local development settings, so the commands of the README (manage.py ingest, match, shell...) work as typed.
# Written once by `make run` (a file target: an existing .env is never overwritten) and ignored by git.
# Production has no .env: without DJANGO_SECRET_KEY it refuses to start. The key of development is generated
# into var/ by the settings; DJANGO_DEBUG=true is all this needs.
.env:
	@printf '%s\n' \
	  '# Local development (written by `make run`; never overwritten; not for production).' \
	  'DJANGO_DEBUG=true' > $@
	@echo "wrote $@ for local development (DJANGO_DEBUG=true)"

# The service with its embedded defaults: SQLite under var/, a file broker (no server), email to var/outbox,
# the dev web server and one Celery worker with the beat embedded. Ctrl-C stops all of it.
run: export DJANGO_DEBUG ?= true
run: export PAPERBOY_SITE_URL ?= http://127.0.0.1:$(PORT)
run: install .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py dev_superuser
	PORT=$(PORT) scripts/run-dev.sh

# The whole suite. Uses DATABASE_URL / REDIS_URL when set (CI sets them to PostgreSQL and Redis).
test: install
	scripts/ensure-chromium.sh
	scripts/ensure-spamassassin.sh
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_matching.py

# Production processes (docker-compose.yml runs exactly these commands; a test keeps them in step).
web:
	gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers 3 --access-logfile -
# Emails and digests only: a scan of a big dump runs on the ingest worker, so it can never hold this one.
worker:
	celery -A config worker -Q paperboy --loglevel=info --concurrency=2 -n paperboy@%h
ingest-worker:
	celery -A config worker -Q ingest --loglevel=info --concurrency=1 -n ingest@%h
beat:
	celery -A config beat --loglevel=info --schedule=/app/var/celerybeat-schedule

clean:
	rm -rf var/ $(VENV)
