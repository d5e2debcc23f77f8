"""Who is here right now, counted per open socket: visitors with the widget open, reps with the inbox open.

Each open socket is a member of a set (one set per conversation, or per rep) scored with the time its
entry runs out. The socket's consumer renews its entry every ``heartbeat_seconds()`` while it is
open and takes it out when it closes. A web process that crashed renews nothing, so its sockets stop
counting within PRESENCE_TTL_SECONDS (under a minute) instead of never.

With Redis (REDIS_URL) the sets are Redis sorted sets under the cache's key prefix, so every web
process and the worker agree; each question is one round trip. In the embedded default (one
process, the local-memory cache) they are kept in this process.
"""

import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def ttl_seconds() -> float:
    return settings.PRESENCE_TTL_SECONDS


def heartbeat_seconds() -> float:
    """How often an open socket renews its entry: three times per TTL, so one late beat loses nothing."""
    return settings.PRESENCE_TTL_SECONDS / 3


_local: dict[str, dict[str, float]] = {}
_local_lock = threading.Lock()


def _redis():
    """The cache's Redis client (the sets live beside the cache's keys), or None in the embedded default."""
    backend = caches["default"]  # the backend itself: ``django.core.cache.cache`` is a proxy
    return backend._cache.get_client(write=True) if isinstance(backend, RedisCache) else None


def _key(name: str) -> str:
    return caches["default"].make_key(f"presence:{name}")


def socket_here(name: str, *, socket: str) -> bool:
    """This socket is open (a connect, or a heartbeat). False when its entry was not there before: a first
    connect, or a heartbeat after Redis lost its data (a restart), when the channel layer may have lost
    messages too."""
    now = time.time()
    expires = now + ttl_seconds()
    client = _redis()
    if client is None:
        with _local_lock:
            members = _local.setdefault(name, {})
            known = members.get(socket, 0) > now
            members[socket] = expires
            for member in [m for m, until in members.items() if until <= now]:
                del members[member]
        return known
    key = _key(name)
    pipe = client.pipeline()
    pipe.zscore(key, socket)
    pipe.zadd(key, {socket: expires})
    pipe.zremrangebyscore(key, "-inf", now)
    pipe.expire(key, int(ttl_seconds()) + 1)
    previous = pipe.execute()[0]
    return previous is not None and float(previous) > now


def socket_gone(name: str, *, socket: str) -> None:
    """This socket closed."""
    client = _redis()
    if client is None:
        with _local_lock:
            _local.get(name, {}).pop(socket, None)
        return
    client.zrem(_key(name), socket)


def anyone_here(names: list[str]) -> set[str]:
    """Those of ``names`` with at least one socket open (and renewed within the TTL)."""
    if not names:
        return set()
    now = time.time()
    client = _redis()
    if client is None:
        with _local_lock:
            return {n for n in names if any(until > now for until in _local.get(n, {}).values())}
    pipe = client.pipeline()
    for name in names:
        pipe.zcount(_key(name), f"({now}", "+inf")
    return {name for name, count in zip(names, pipe.execute(), strict=True) if count}


def visitor_group(conversation_id: int) -> str:
    return f"visitor:{conversation_id}"


def visitor_arrive(*, conversation_id: int, socket: str) -> bool:
    """The visitor's socket is open; False when it was not counted before (see ``socket_here``)."""
    return socket_here(visitor_group(conversation_id), socket=socket)


def visitor_leave(*, conversation_id: int, socket: str) -> None:
    socket_gone(visitor_group(conversation_id), socket=socket)


def visitors_on_site(*, conversation_ids: list[int]) -> set[int]:
    """Of these conversations, those whose visitor has the widget open right now."""
    here = anyone_here([visitor_group(pk) for pk in conversation_ids])
    return {pk for pk in conversation_ids if visitor_group(pk) in here}
