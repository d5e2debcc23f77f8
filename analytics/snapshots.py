"""Dashboard snapshots: computed figures kept in the cache, so the page and its CSV links agree.

Computing the dashboard refreshes the daily rollups and sums them (a few tenths of a second for
90 days of 100,000 conversations here). A snapshot is one computation, kept for SNAPSHOT_KEEP_SECONDS under
its own id; the page is served from the scope's latest snapshot while it is younger than
``settings.ANALYTICS_DASHBOARD_MAX_AGE`` seconds (default 60), and shows when it was computed.
The page's CSV links carry the snapshot id, so a download has exactly the numbers on the screen,
even if new chats arrived in between. "Refresh" computes a new snapshot at once.
"""

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from analytics import selectors
from analytics.selectors import Scope

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE_SECONDS = 60
SNAPSHOT_KEEP_SECONDS = 3600


@dataclass(frozen=True)
class Snapshot:
    id: str
    scope: Scope
    computed_at: dt.datetime
    data: dict


def max_age_seconds() -> float:
    return float(getattr(settings, "ANALYTICS_DASHBOARD_MAX_AGE", DEFAULT_MAX_AGE_SECONDS))


def _latest_key(scope: Scope) -> str:
    return "analytics:dashboard:latest:" + hashlib.sha256(repr(scope).encode()).hexdigest()[:32]


def _snapshot_key(snapshot_id: str) -> str:
    return f"analytics:dashboard:snapshot:{snapshot_id}"


def _get(key: str):
    try:
        return cache.get(key)
    except Exception:  # the cache is a speed-up: an unreachable Redis must not break the page
        logger.warning("dashboard cache unavailable", exc_info=True)
        return None


def _set(key: str, value) -> None:
    try:
        cache.set(key, value, SNAPSHOT_KEEP_SECONDS)
    except Exception:
        logger.warning("dashboard cache unavailable", exc_info=True)


def dashboard_snapshot(scope: Scope, *, snapshot_id: str = "", fresh: bool = False) -> Snapshot:
    """The snapshot asked for (a CSV link), else the scope's recent one, else a new computation."""
    if snapshot_id:
        snapshot = _get(_snapshot_key(snapshot_id))
        if isinstance(snapshot, Snapshot) and snapshot.scope == scope:
            return snapshot
    elif not fresh:
        latest_id = _get(_latest_key(scope))
        snapshot = _get(_snapshot_key(latest_id)) if latest_id else None
        if (
            isinstance(snapshot, Snapshot)
            and (timezone.now() - snapshot.computed_at).total_seconds() < max_age_seconds()
        ):
            return snapshot
    snapshot = Snapshot(id=uuid.uuid4().hex, scope=scope, computed_at=timezone.now(), data=selectors.dashboard(scope))
    _set(_snapshot_key(snapshot.id), snapshot)
    _set(_latest_key(scope), snapshot.id)
    return snapshot
