"""The cache's Redis client is one per process, not one per async context (config/cache.py)."""

import asyncio
import contextvars

from django.core.cache import caches

from config.cache import SharedRedisCache
from config.db import db


def client_and_write():
    backend = caches["default"]
    backend.set("shared-pool-check", 1, 5)
    return backend, backend._cache


async def test_every_consumer_and_action_call_uses_the_same_redis_pool():
    async def one_context():  # a WebSocket consumer or an action call: a task of its own
        return [await db(client_and_write)() for _ in range(3)]

    # Each in a context of its own, as uvicorn starts each connection's task (nothing cached in it yet).
    results = await asyncio.gather(
        *(asyncio.create_task(one_context(), context=contextvars.Context()) for _ in range(4))
    )
    backends = {id(backend) for calls in results for backend, _ in calls}
    clients = {id(client) for calls in results for _, client in calls}
    assert all(isinstance(backend, SharedRedisCache) for calls in results for backend, _ in calls)
    assert len(backends) > 1  # Django still makes a backend object per context...
    assert len(clients) == 1  # ...and they share one client, so one pool of connections
    pool = results[0][0][1].get_client(write=True).connection_pool
    assert len(pool._available_connections) + len(pool._in_use_connections) <= 4  # at most the threads used
