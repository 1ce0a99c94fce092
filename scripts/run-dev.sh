#!/usr/bin/env bash
# Runs the dev web server, the email worker (with an embedded beat) and the ingest worker; stops them together.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}

trap 'kill 0' EXIT  # Ctrl-C or either process exiting stops the whole group
# Two workers, one per queue (see CELERY_TASK_ROUTES): "paperboy" (emails, digests) and "ingest" (dump scans),
# so parsing a big dump never delays a confirmation email.
$BIN/celery -A config worker -Q paperboy --beat --loglevel=info --concurrency=2 -n paperboy@%h &
$BIN/celery -A config worker -Q ingest --loglevel=info --concurrency=1 -n ingest@%h &
echo "Paperboy: http://127.0.0.1:${PORT}/  (dumps folder scanned every ${PAPERBOY_DUMPS_SCAN_INTERVAL:-30} s;" \
     "emails land in var/outbox)"
$BIN/python manage.py runserver "127.0.0.1:${PORT}" &
wait -n
