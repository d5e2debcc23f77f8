"""Settings shared by every environment, driven by environment variables.

Integrations switch on by their URL: with no DATABASE_URL the project runs on
SQLite, with no REDIS_URL on the in-memory channel layer, local-memory cache and
eager Celery (the embedded default that `make run` uses).
"""

import ipaddress
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# django-ratelimit's rate syntax, spelled out: "20/minute", "20/m", "5/10m", "1000/day".
RATE_RE = re.compile(r"^\d+/\d*(s|m|h|d|second|minute|hour|day)$")


def env_rate(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip()
    if not RATE_RE.match(value):
        raise ImproperlyConfigured(f"{name} must look like '20/minute' or '5/10m' (count/period), got {value!r}")
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be a whole number >= {minimum}, got {raw!r}")
    return value


def env_networks(name: str) -> list:
    try:
        return [ipaddress.ip_network(item, strict=False) for item in env_list(name)]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must list IP addresses or networks (CIDR), comma-separated: {exc}") from exc


DEFAULT_SECRET_KEY = "insecure-local-development-key-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chatbot",
    "qualification",
    "scheduling",
    "analytics",
    "inbox",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
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

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Kept connections are checked before each request's first query, so a PostgreSQL restart costs
    # a reconnect, not the visitor's message.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, whose check is a look at the socket between round trips (config/postgres/base.py).
        DATABASES["default"]["ENGINE"] = "config.postgres"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
            # BEGIN, so concurrent chats queue for it instead of failing to upgrade a read lock.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_retry_options(*, asyncio: bool) -> dict:
    """redis-py connection options: a command on a connection Redis dropped is retried on a new one
    (3 tries, 0.1 s to 1 s apart), so a Redis restart costs a moment, not the message."""
    if asyncio:
        from redis.asyncio.retry import Retry
    else:
        from redis.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError, TimeoutError

    return {"retry_on_error": [ConnectionError, TimeoutError], "retry": Retry(ExponentialBackoff(cap=1, base=0.1), 3)}


if REDIS_URL:
    # Pub/sub, not the list-based RedisChannelLayer: the widget's messages only matter to tabs
    # connected now (a reload reads the history from the database), and the list-based layer
    # loses a group message now and then when visitors come and go (a cancelled BZPOPMIN,
    # django/channels#1683), which left a visitor's other tabs without the bot's reply.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # A connection Redis closed (a restart) is replaced and the command sent again, not
                # lost; the subscriber reconnects and subscribes again by itself (redis-py's PubSub).
                "hosts": [{"address": REDIS_URL, **redis_retry_options(asyncio=True)}],
                "prefix": os.environ.get("CHANNELS_PREFIX", "leadbot"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "leadbot"),
            "OPTIONS": redis_retry_options(asyncio=False),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TIMEZONE = "UTC"
# Periodic work of scheduling and analytics (the worker runs beat with -B, see Procfile).
CELERY_BEAT_SCHEDULE = {
    # Visitors' 24 h and 1 h reminders; each is claimed once, so the sweep can run often.
    "scheduling-send-reminders": {"task": "scheduling.tasks.meetings_send_reminders", "schedule": 120.0},
    # Re-read reps' busy times from their calendars (availability subtracts them).
    "scheduling-refresh-busy": {"task": "scheduling.tasks.calendar_refresh_all_busy", "schedule": 300.0},
    # Write meetings whose calendar was down when they were booked, moved or cancelled.
    "scheduling-retry-calendar-sync": {"task": "scheduling.tasks.calendar_retry_unsynced", "schedule": 300.0},
    # The dashboard's daily rollups: recompute the days whose chats changed (the page also does
    # this before it reads; the worker keeps that step short).
    "analytics-refresh-rollups": {"task": "analytics.tasks.rollups_refresh", "schedule": 60.0},
    # Visitor messages the bot has not answered and nobody is sending (a lost task, a dead process).
    "chatbot-answer-waiting": {
        "task": "chatbot.tasks.conversations_answer_waiting",
        "schedule": float(os.environ.get("CHAT_SWEEP_SECONDS", "30")),
    },
    # Live handoff: "nobody came" for requests whose timer task was lost (a restart, the broker), and
    # conversations still held by reps gone past INBOX_RELEASE_SECONDS (a crashed web process).
    "chatbot-handoffs-unanswered": {
        "task": "chatbot.tasks.handoffs_unanswered_overdue",
        "schedule": float(os.environ.get("CHAT_SWEEP_SECONDS", "30")),
    },
    "inbox-release-gone-reps": {
        "task": "inbox.tasks.reps_release_gone",
        "schedule": float(os.environ.get("CHAT_SWEEP_SECONDS", "30")),
    },
    # Retention: anonymise conversations past their site's retention period, prune Rasa's tracker store.
    "privacy-retention": {"task": "privacy.tasks.retention_run", "schedule": 24 * 3600.0},
}
# Calendar OAuth tokens are encrypted at rest with these Fernet keys, newest first (rotate: put a
# new key first, run `manage.py rotate_calendar_tokens`, drop the old one). Unset: derived from SECRET_KEY.
CALENDAR_TOKEN_KEYS = env_list("CALENDAR_TOKEN_KEYS")
# Google Calendar connections: the OAuth client of this installation (Google Cloud console).
GOOGLE_OAUTH_CLIENT_ID = os.environ.get("GOOGLE_OAUTH_CLIENT_ID", "")
GOOGLE_OAUTH_CLIENT_SECRET = os.environ.get("GOOGLE_OAUTH_CLIENT_SECRET", "")
GOOGLE_OAUTH_AUTH_URI = os.environ.get("GOOGLE_OAUTH_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
GOOGLE_OAUTH_TOKEN_URI = os.environ.get("GOOGLE_OAUTH_TOKEN_URI", "https://oauth2.googleapis.com/token")
# Empty: Google's own Calendar API; the tests point it at their fake server.
GOOGLE_CALENDAR_API_ENDPOINT = os.environ.get("GOOGLE_CALENDAR_API_ENDPOINT", "")
# Microsoft 365 connections: the app registration (Entra ID) of this installation, and where
# sign-in and Graph live (the tests point both at their fake server).
MICROSOFT_OAUTH_CLIENT_ID = os.environ.get("MICROSOFT_OAUTH_CLIENT_ID", "")
MICROSOFT_OAUTH_CLIENT_SECRET = os.environ.get("MICROSOFT_OAUTH_CLIENT_SECRET", "")
MICROSOFT_OAUTH_AUTHORITY = os.environ.get("MICROSOFT_OAUTH_AUTHORITY", "https://login.microsoftonline.com/common")
MICROSOFT_GRAPH_ENDPOINT = os.environ.get("MICROSOFT_GRAPH_ENDPOINT", "https://graph.microsoft.com/v1.0")
# A failed calendar write or email is retried after this many seconds, doubling up to 30 minutes.
SCHEDULING_RETRY_BASE_SECONDS = int(os.environ.get("SCHEDULING_RETRY_BASE_SECONDS", "30"))
# Right before a visitor is offered times, reps whose cached busy times are older than this are read
# again from their calendars (in parallel, on this many threads, each request bounded by the timeout);
# a calendar that does not answer in time is offered from its cache.
SCHEDULING_BUSY_MAX_AGE_SECONDS = int(os.environ.get("SCHEDULING_BUSY_MAX_AGE_SECONDS", "300"))
SCHEDULING_BUSY_REFRESH_THREADS = int(os.environ.get("SCHEDULING_BUSY_REFRESH_THREADS", "16"))
SCHEDULING_BUSY_REFRESH_TIMEOUT_SECONDS = float(os.environ.get("SCHEDULING_BUSY_REFRESH_TIMEOUT_SECONDS", "3"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Leadbot <meetings@example.com>")
# SMTP (with EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# A slow mail server fails the send (and the worker retries it) instead of hanging the worker.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
# Links in meeting emails (reschedule / cancel) stop working after this many seconds.
SCHEDULING_LINK_MAX_AGE_SECONDS = int(os.environ.get("SCHEDULING_LINK_MAX_AGE_SECONDS", str(60 * 24 * 3600)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Rasa bridge -----------------------------------------------------------
RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
# Several Rasa servers (comma-separated), sharing the SQL tracker store and the Redis lock store:
# each conversation goes to one of them by consistent hashing (chatbot/rasa_ring.py). Unset: RASA_URL.
RASA_URLS = env_list("RASA_URLS")
# A Rasa server that failed is asked again (GET /) at most this often, and rejoins when it answers.
RASA_PROBE_SECONDS = float(os.environ.get("RASA_PROBE_SECONDS", "3"))
# The web process never leaves a visitor waiting on a slow model.
RASA_TIMEOUT_SECONDS = float(os.environ.get("RASA_TIMEOUT_SECONDS", "8"))
# Turns in flight to each Rasa server at once, each on a kept-alive connection; more wait in line
# (chatbot/rasa_client.py explains why more would be slower, not faster).
RASA_MAX_CONNECTIONS = int(os.environ.get("RASA_MAX_CONNECTIONS", "16"))
DEFAULT_RASA_ACTION_TOKEN = "local-development-action-token"
RASA_ACTION_TOKEN = os.environ.get("RASA_ACTION_TOKEN", DEFAULT_RASA_ACTION_TOKEN)
# Rasa's HTTP API token (scripts/rasa-run.sh): the inbox records a rep's takeover in the bot's
# tracker (a pause event, and resume on hand-back). Unset: Rasa's API is off and nothing is recorded
# there (the web process still keeps a held conversation's messages from the bot).
RASA_API_TOKEN = os.environ.get("RASA_API_TOKEN", "")
# Live handoff (inbox/): a rep's hold on a conversation outlives their inbox socket this long.
INBOX_RELEASE_SECONDS = float(os.environ.get("INBOX_RELEASE_SECONDS", "30"))
# The inbox's live list: the rows of conversations that changed within this long are read and sent together.
INBOX_TOUCH_BATCH_SECONDS = float(os.environ.get("INBOX_TOUCH_BATCH_SECONDS", "0.1"))
# A failed post to a site's Slack webhook (inbox/webhook.py) is retried after this many seconds,
# doubling, INBOX_WEBHOOK_RETRIES times.
INBOX_WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("INBOX_WEBHOOK_RETRY_BASE_SECONDS", "30"))
INBOX_WEBHOOK_RETRIES = int(os.environ.get("INBOX_WEBHOOK_RETRIES", "6"))
INBOX_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("INBOX_WEBHOOK_TIMEOUT_SECONDS", "10"))
# Who is here (reps in the inbox, visitors with the widget open) is counted per socket, renewed three
# times per this many seconds: a socket of a web process that died stops counting after it.
PRESENCE_TTL_SECONDS = float(os.environ.get("PRESENCE_TTL_SECONDS", "45"))
# Rasa's own tracker store; SQLite file in the embedded default.
RASA_TRACKER_DATABASE_URL = os.environ.get("RASA_TRACKER_DATABASE_URL", DATABASE_URL)
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# The action endpoint refuses a larger body (413) before reading the rest of it. A call
# carries the domain and the tracker's events; a long conversation's call is a few hundred KB.
RASA_ACTION_MAX_BODY_BYTES = env_int("RASA_ACTION_MAX_BODY_BYTES", 4 * 1024 * 1024, minimum=1024)

# A visitor whose message the bot has not answered after this many seconds is told it is still
# thinking; after RASA_TIMEOUT_SECONDS, that it will be answered later (a worker then does).
CHAT_STILL_THINKING_SECONDS = float(os.environ.get("CHAT_STILL_THINKING_SECONDS", "3"))

# --- Widget protocol limits --------------------------------------------------
CHAT_MAX_TEXT_LENGTH = int(os.environ.get("CHAT_MAX_TEXT_LENGTH", "2000"))
CHAT_MAX_FRAME_BYTES = int(os.environ.get("CHAT_MAX_FRAME_BYTES", "16384"))
# Abuse limits (chatbot/abuse.py). Rates are "<count>/<period>", counted in the cache
# (Redis with REDIS_URL, shared by every web process) by django-ratelimit.
# Messages per visitor, across tabs and connections.
CHAT_RATE_LIMIT = env_rate("CHAT_RATE_LIMIT", "20/minute")
# Messages per client IP, whichever visitor sends them (a script cannot start afresh by
# dropping its visitor token).
CHAT_IP_MESSAGE_RATE_LIMIT = env_rate("CHAT_IP_MESSAGE_RATE_LIMIT", "120/minute")
# New conversations per client IP and per site (resuming a conversation is never limited).
CHAT_IP_CONVERSATION_RATE_LIMIT = env_rate("CHAT_IP_CONVERSATION_RATE_LIMIT", "10/minute")
CHAT_SITE_CONVERSATION_RATE_LIMIT = env_rate("CHAT_SITE_CONVERSATION_RATE_LIMIT", "120/minute")
# The daily cap of new conversations a new Site gets (each site's own cap is edited in admin).
CHAT_SITE_DAILY_CONVERSATION_LIMIT = env_int("CHAT_SITE_DAILY_CONVERSATION_LIMIT", 2000)
# `start` frames one socket may send (the widget sends one per connection).
CHAT_MAX_STARTS_PER_SOCKET = env_int("CHAT_MAX_STARTS_PER_SOCKET", 3, minimum=1)
# Sockets open at once per client IP (an office behind one address has several visitors),
# and sockets one client IP may open per period (the widget opens one per page view with
# the chat open, and reconnects with backoff); both counted per web process.
CHAT_MAX_SOCKETS_PER_IP = env_int("CHAT_MAX_SOCKETS_PER_IP", 20, minimum=1)
CHAT_IP_CONNECTION_RATE_LIMIT = env_rate("CHAT_IP_CONNECTION_RATE_LIMIT", "60/minute")
# A socket that has not sent `start` this many seconds after connecting is closed.
CHAT_START_TIMEOUT_SECONDS = env_int("CHAT_START_TIMEOUT_SECONDS", 10, minimum=1)
# A socket refused a new conversation (or a second start) is held open, ignoring what it
# sends, until the limit's window ends but at most this long, then closed with 1013: the
# widget then reconnects once, when it will be let in, and a script cannot retry at once.
CHAT_REFUSAL_HOLD_SECONDS = env_int("CHAT_REFUSAL_HOLD_SECONDS", 60)
# The client IP is the socket's peer address, unless the peer is one of TRUSTED_PROXIES
# and CLIENT_IP_HEADER names the header that proxy sets (X-Forwarded-For or X-Real-IP).
# Run uvicorn with --no-proxy-headers (the Procfile does) so this is the only rule.
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "").strip()
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
if CLIENT_IP_HEADER and not TRUSTED_PROXIES:
    raise ImproperlyConfigured("CLIENT_IP_HEADER is only read from TRUSTED_PROXIES: list the proxy addresses too.")
# The abuse counters' cache keys (django-ratelimit's setting; tests give each test its own).
RATELIMIT_CACHE_PREFIX = "rl:"

# The widget script is served by the web process itself (no CDN): whitenoise
# finds it in the apps' static folders unless `collectstatic` has been run.
WHITENOISE_USE_FINDERS = True
