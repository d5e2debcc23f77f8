"""Celery application. Tasks are thin shells around services (see STYLE.md)."""

import os

from celery import Celery

# Production unless told otherwise: unconfigured, it refuses to start and says what is missing
# (`make run` and the tests name their settings).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("leadbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
