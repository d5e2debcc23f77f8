"""One way for async code (consumers, bot actions) to run ORM work: `await db(fn)(...)`.

Each call runs on a worker thread of its own (`thread_sensitive=False`): the turns of many
visitors must not queue behind one another on the single "sync" thread Django would otherwise
use, and every function passed here opens and commits its own transaction.
"""

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async


def db(fn):
    return database_sync_to_async(fn, thread_sensitive=False)


class DatabaseOffLoop:
    """For our async consumers, whose every database call goes through ``db`` (which closes old connections
    around each call, on the thread that made it).

    Channels dispatches every event (each frame, each group message, each HTTP body) only after a trip to
    the single "sync" thread to close that thread's old connection (``aclose_old_connections``), which these
    consumers never use. In a burst every socket's every event queued on that one thread: a rep's alert
    waited behind the other sockets' frames and the bot's group messages.
    """

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
