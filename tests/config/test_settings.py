"""Production settings refuse laptop defaults and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
GOOD = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/leadbot",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "SECRET_KEY": "k3J9v!xQ2pL8#mZ4wR7tY1uE6oI0aS5dF2gH8jK4lZ7xC9vB3nM6qW1eR5tY8uI0",
    "ALLOWED_HOSTS": "chat.example.com",
    "RASA_ACTION_TOKEN": "a7f3c9e1b5d2f8a4c6e0b9d3f7a1c5e8",
    "PUBLIC_BASE_URL": "https://chat.example.com",
}


def manage(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DEBUG"}
    full_env.update({k: v for k, v in {**GOOD, **env}.items() if v is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_configured_production_passes_check_deploy_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"DATABASE_URL": None}, "DATABASE_URL must point at PostgreSQL"),
        ({"DATABASE_URL": "sqlite:////tmp/x.db"}, "DATABASE_URL must point at PostgreSQL"),
        ({"REDIS_URL": None}, "REDIS_URL is required"),
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
        ({"RASA_ACTION_TOKEN": None}, "RASA_ACTION_TOKEN must be set"),
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL must be the public https:// address"),
        ({"PUBLIC_BASE_URL": "http://chat.example.com"}, "PUBLIC_BASE_URL must be the public https:// address"),
    ],
)
def test_production_refuses_unsafe_configuration(override, complaint):
    result = manage("check", **override)
    assert result.returncode != 0
    assert "Production settings refused" in result.stderr and complaint in result.stderr


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"CHAT_IP_CONVERSATION_RATE_LIMIT": "lots"}, "CHAT_IP_CONVERSATION_RATE_LIMIT must look like"),
        ({"CHAT_MAX_SOCKETS_PER_IP": "0"}, "CHAT_MAX_SOCKETS_PER_IP must be a whole number >= 1"),
        ({"CLIENT_IP_HEADER": "X-Forwarded-For"}, "CLIENT_IP_HEADER is only read from TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "TRUSTED_PROXIES must list IP addresses"),
    ],
)
def test_unreadable_abuse_limits_are_refused_at_start(override, complaint):
    result = manage("check", **override)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_embedded_default_runs_on_sqlite_and_in_memory_layers(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "True",
    ]
