#!/usr/bin/env bash
# Runs the dev web server and one Celery worker with an embedded beat, and stops both together.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}

trap 'kill 0' EXIT  # Ctrl-C or either process exiting stops the whole group
# Both queues: "paperboy" (emails, digests) and "ingest" (dump scans), see CELERY_TASK_ROUTES.
$BIN/celery -A config worker -Q paperboy,ingest --beat --loglevel=info --concurrency=2 &
echo "Paperboy: http://127.0.0.1:${PORT}/  (dumps folder scanned every ${PAPERBOY_DUMPS_SCAN_INTERVAL:-30} s;" \
     "emails land in var/outbox)"
$BIN/python manage.py runserver "127.0.0.1:${PORT}" &
wait -n
