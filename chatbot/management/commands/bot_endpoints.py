"""Writes the Rasa endpoints file from the same settings the web process uses."""

import os
from pathlib import Path

import dj_database_url
import yaml
from django.conf import settings
from django.core.management.base import BaseCommand

# Rasa's SQL tracker store that also hands each turn's interpretation to our channel.
TRACKER_STORE = "chatbot.rasa_plugins.tracker_store.LeadbotTrackerStore"
# Rasa's response rendering with deterministic, non-repeating variations (chatbot/rasa_plugins/nlg.py).
NLG = "chatbot.rasa_plugins.nlg.LeadbotNaturalLanguageGenerator"


def tracker_sqlite_path() -> Path:
    """Rasa's tracker store in the embedded default (no PostgreSQL tracker URL); privacy/tracker.py reads it too."""
    return settings.VAR_DIR / "rasa-tracker.db"


def endpoints_config(*, action_url: str) -> dict:
    config: dict = {
        "action_endpoint": {
            "url": action_url,
            "headers": {"Authorization": f"Bearer {settings.RASA_ACTION_TOKEN}"},
        },
        "nlg": {"type": NLG},
    }
    tracker_url = settings.RASA_TRACKER_DATABASE_URL
    if tracker_url.startswith("postgres"):
        db = dj_database_url.parse(tracker_url)
        config["tracker_store"] = {
            "type": TRACKER_STORE,
            "dialect": "postgresql",
            "url": db["HOST"] or "localhost",
            "port": int(db["PORT"] or 5432),
            "db": db["NAME"],
            "username": db["USER"],
            "password": db["PASSWORD"],
            # Rasa creates its tracker database through this one when missing.
            "login_db": os.environ.get("RASA_TRACKER_LOGIN_DB", "postgres"),
        }
    else:
        config["tracker_store"] = {
            "type": TRACKER_STORE,
            "dialect": "sqlite",
            "db": str(tracker_sqlite_path()),
        }
    if settings.REDIS_URL:
        from urllib.parse import urlsplit

        redis = urlsplit(settings.REDIS_URL)
        config["lock_store"] = {
            "type": "redis",
            "url": redis.hostname or "localhost",
            "port": redis.port or 6379,
            "db": int((redis.path or "/0").lstrip("/") or 0),
            "key_prefix": "leadbot",
        }
        if redis.password:
            config["lock_store"]["password"] = redis.password
    return config


class Command(BaseCommand):
    help = "Write var/endpoints.yml for the Rasa server (action endpoint, tracker store, lock store)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(settings.VAR_DIR / "endpoints.yml"))
        parser.add_argument("--action-url", default=f"{settings.PUBLIC_BASE_URL}/bot/actions/")

    def handle(self, *args, out: str, action_url: str, **options):
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(endpoints_config(action_url=action_url), sort_keys=False))
        self.stdout.write(f"Wrote {path}")
