"""Production: refuses to start with anything that only belongs on a laptop.

These are also the settings manage.py, config.asgi and config.celery use when
DJANGO_SETTINGS_MODULE is not set, so a host that forgets it does not run with
DEBUG on and the public default action token: it stops with the list below.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    ALLOWED_HOSTS,
    DATABASES,
    DEBUG,
    DEFAULT_RASA_ACTION_TOKEN,
    DEFAULT_SECRET_KEY,
    PUBLIC_BASE_URL,
    RASA_ACTION_TOKEN,
    REDIS_URL,
    SECRET_KEY,
    env_bool,
)

problems = []
if DEBUG:
    problems.append("DEBUG must be off")
if DATABASES["default"]["ENGINE"] != "config.postgres":
    problems.append("DATABASE_URL must point at PostgreSQL")
if not REDIS_URL:
    problems.append("REDIS_URL is required (channel layer, Celery broker, cache)")
if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    problems.append("SECRET_KEY must be set to a long random value")
if not ALLOWED_HOSTS:
    problems.append("ALLOWED_HOSTS must list the public host names")
if RASA_ACTION_TOKEN == DEFAULT_RASA_ACTION_TOKEN or len(RASA_ACTION_TOKEN) < 32:
    problems.append("RASA_ACTION_TOKEN must be set to a long random value")
if not PUBLIC_BASE_URL.startswith("https://"):
    problems.append("PUBLIC_BASE_URL must be the public https:// address (links in emails and the action URL)")
if problems:
    raise ImproperlyConfigured(
        "Production settings refused: "
        + "; ".join(problems)
        + ". (config.settings.production is what manage.py, config.asgi and config.celery use when "
        "DJANGO_SETTINGS_MODULE is unset; for the local demo run `make run`, or set "
        "DJANGO_SETTINGS_MODULE=config.settings.local.)"
    )

STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"  # noqa: F405
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
WHITENOISE_USE_FINDERS = False
