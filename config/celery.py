"""Celery application. Tasks are thin shells around services (see STYLE.md)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("leadbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
