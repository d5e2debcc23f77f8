"""Tests run on real PostgreSQL and Redis (see the Makefile's test target)."""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASE_URL, REDIS_URL, env_int, env_rate

if not DATABASE_URL.startswith("postgres") or not REDIS_URL:
    raise RuntimeError("Tests need DATABASE_URL=postgres://... and REDIS_URL=redis://...; run them with `make test`.")

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-process tests read mail.outbox; the web server the e2e tests start writes each
# email to a file in its log folder instead (tests/servers.py), where they read it.
EMAIL_BACKEND = os.environ.get("TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("TEST_EMAIL_FILE_PATH", "")
# Each test process (and each server it starts) on its own keys, unless told to share them (several web
# processes of one installation, tests/servers.py).
TEST_PREFIX = os.environ.get("TEST_SHARED_PREFIX") or f"leadbot-test-{os.getpid()}"
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = TEST_PREFIX  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = TEST_PREFIX  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# Outgoing webhooks may go to a local http:// receiver (the tests' recording server), as with DEBUG.
WEBHOOK_ALLOW_LOCAL_HTTP = True
# Servers started by the tests share this database: never keep idle connections. The benchmarks, which
# start their servers with these settings on a database of their own, keep them as production does
# (BENCH_CONN_MAX_AGE=60: otherwise every step of a turn opens a new connection, and the figures show it).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BENCH_CONN_MAX_AGE", "0"))  # noqa: F405
# Many tests start conversations from one address (or none) within a minute: the abuse
# limits are loose here, and tests/security sets tight ones per test.
CHAT_IP_MESSAGE_RATE_LIMIT = env_rate("CHAT_IP_MESSAGE_RATE_LIMIT", "100000/minute")
CHAT_IP_CONVERSATION_RATE_LIMIT = env_rate("CHAT_IP_CONVERSATION_RATE_LIMIT", "100000/minute")
CHAT_SITE_CONVERSATION_RATE_LIMIT = env_rate("CHAT_SITE_CONVERSATION_RATE_LIMIT", "100000/minute")
CHAT_MAX_SOCKETS_PER_IP = env_int("CHAT_MAX_SOCKETS_PER_IP", 100000, minimum=1)
CHAT_IP_CONNECTION_RATE_LIMIT = env_rate("CHAT_IP_CONNECTION_RATE_LIMIT", "100000/minute")
