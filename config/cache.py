"""The cache backend in production: Django's Redis cache with one connection pool per process.

Django keeps a Redis cache's client, and with it its connection pool, on the backend object, and it
makes one backend object per async context (``caches`` is an asgiref ``Local``). Under Channels every
WebSocket consumer and every action call is its own context, so each opened its own connection to
Redis for the rate limits and presence (a TCP connect per visitor and per bot action, dropped with the
object). Here the backend objects built from the same settings share one client, so a process keeps
one pool of connections, as a threaded server does. redis-py's pools are thread-safe and fork-safe.
"""

import threading

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict[tuple, tuple[dict, object]] = {}
_clients_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self):
        # Keyed by the settings' own OPTIONS object (it holds redis-py's Retry, which has no value
        # equality); the entry keeps that object alive, so its id is never reused by another.
        key = (self._class, tuple(self._servers), id(self._options))
        with _clients_lock:
            entry = _clients.get(key)
            if entry is None:
                entry = _clients[key] = (self._options, self._class(self._servers, **self._options))
        return entry[1]
