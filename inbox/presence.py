"""Which reps have the inbox open, counted in the shared cache (Redis) so every web process agrees.

A rep is online while at least one of their inbox sockets is open. The count is per user; each
socket adds one on connect and takes it back on disconnect. A hold on a conversation outlives the
rep's last socket by INBOX_RELEASE_SECONDS (a reload or a flaky network keeps it), then the
conversation goes back to the bot (inbox/consumers.py).
"""

from django.core.cache import cache

# A crashed process never takes its sockets back: the count expires after a day without change.
TTL_SECONDS = 24 * 3600


def _key(user_id: int) -> str:
    return f"inbox:online:{user_id}"


def rep_arrive(*, user_id: int) -> int:
    cache.add(_key(user_id), 0, timeout=TTL_SECONDS)
    count = cache.incr(_key(user_id))
    cache.touch(_key(user_id), TTL_SECONDS)
    return count


def rep_leave(*, user_id: int) -> int:
    try:
        count = cache.decr(_key(user_id))
    except ValueError:  # expired: nobody counted any more
        return 0
    if count <= 0:
        cache.delete(_key(user_id))
        return 0
    return count


def rep_online(*, user_id: int) -> bool:
    return (cache.get(_key(user_id)) or 0) > 0
