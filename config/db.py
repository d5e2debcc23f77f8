"""One way for async code (consumers, bot actions) to run ORM work: `await db(fn)(...)`.

Each call runs on a worker thread of its own (`thread_sensitive=False`): the turns of many
visitors must not queue behind one another on the single "sync" thread Django would otherwise
use, and every function passed here opens and commits its own transaction.
"""

from channels.db import database_sync_to_async


def db(fn):
    return database_sync_to_async(fn, thread_sensitive=False)
