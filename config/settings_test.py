"""Test settings: the real settings, with a fixed key and fast password hashing.

DATABASE_URL and REDIS_URL, when set (CI sets them to the machine's PostgreSQL and Redis), are used as they
are; without them the suite runs on SQLite and the file broker, like `make run`.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-secret")
# Tests run DEBUG off (as production) but over plain http on loopback (the test client, a live server, gunicorn
# in a subprocess, which inherits these): no redirect to https, no HSTS. Set here so a developer's .env with
# DJANGO_DEBUG=true (written by `make run`) changes nothing in the suite.
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"
os.environ["DJANGO_SECURE_HSTS_SECONDS"] = "0"
os.environ.setdefault("PAPERBOY_VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from config.settings import *  # noqa: F403
from config.settings import STATIC_ROOT, STORAGES, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
# No collectstatic before tests: serve from the finders, without the manifest.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Tasks run in the test process when queued (on commit), so service tests see their effects. The end-to-end
# tests turn this off (env for the worker, app.conf for the test process) to go through a real broker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# Encoding a paper takes tens of milliseconds: tests that ingest the seed dumps would spend minutes on
# vectors they do not look at. The tests of the semantic layer encode what they need themselves.
PAPERBOY_EMBED_PAPERS = env.bool("PAPERBOY_EMBED_PAPERS", default=False)
