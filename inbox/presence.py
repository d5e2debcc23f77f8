"""Which reps have the inbox open: ``rep_online`` is the one question callers ask.

Presence is per inbox socket with a short TTL (chatbot/presence.py): the inbox consumer adds its
socket on connect, renews it on a heartbeat and removes it on disconnect, so a rep whose web
process crashed goes offline within PRESENCE_TTL_SECONDS, not a day later. Shared through Redis by
every web process and the worker.

A hold on a conversation outlives the rep's last socket by INBOX_RELEASE_SECONDS (a reload or a
flaky network keeps it), then the conversation goes back to the bot (inbox/release.py). When the
rep was last seen is kept for that.
"""

import time

from django.core.cache import cache

from chatbot import presence

# How long "last seen" is kept: well past any release time; an unknown last-seen counts as long ago.
SEEN_KEPT_SECONDS = 24 * 3600


def _group(user_id: int) -> str:
    return f"rep:{user_id}"


def _seen_key(user_id: int) -> str:
    return f"inbox:seen:{user_id}"


def rep_arrive(*, user_id: int, socket: str) -> None:
    """An inbox socket of this rep opened, or is still open (the consumer's heartbeat)."""
    presence.socket_here(_group(user_id), socket=socket)
    cache.set(_seen_key(user_id), time.time(), timeout=SEEN_KEPT_SECONDS)


def rep_leave(*, user_id: int, socket: str) -> bool:
    """An inbox socket of this rep closed; whether the rep is still online (another tab)."""
    presence.socket_gone(_group(user_id), socket=socket)
    cache.set(_seen_key(user_id), time.time(), timeout=SEEN_KEPT_SECONDS)
    return rep_online(user_id=user_id)


def rep_online(*, user_id: int) -> bool:
    return bool(presence.anyone_here([_group(user_id)]))


def reps_online(*, user_ids: list[int]) -> set[int]:
    """Those of these reps with the inbox open (one round trip for all of them)."""
    here = presence.anyone_here([_group(user_id) for user_id in user_ids])
    return {user_id for user_id in user_ids if _group(user_id) in here}


def rep_last_seen(*, user_id: int) -> float | None:
    """When the rep last had the inbox open (a Unix time), or None when not within a day."""
    return cache.get(_seen_key(user_id))
