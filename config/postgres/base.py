"""Django's PostgreSQL backend, whose kept connections are not sent a ``SELECT 1`` before every call.

With CONN_HEALTH_CHECKS, Django checks a kept connection with a round trip before its first query after
each ``close_old_connections``, and Channels calls that around every ``database_sync_to_async`` call: about
ten checks per visitor message, an eighth of the web process's time in a burst of messages.

Here a connection is checked that way only when it has not been for ``RECHECK_SECONDS``, or when its
socket has something to read while it is idle. An idle PostgreSQL connection is sent nothing; a server
that stops or restarts, or ends the session, sends its notice and closes the socket, which makes it
readable at once, so the next call still reconnects instead of failing on a dead connection (the
"PostgreSQL restarted" test). What only the time covers is a connection that died without a word (the
network between the hosts lost): it is checked again within RECHECK_SECONDS, as Django's own check has
the same race between its check and the query after it.
"""

import select
import time

from django.db.backends.postgresql import base

RECHECK_SECONDS = 5.0


class DatabaseWrapper(base.DatabaseWrapper):
    checked_at = 0.0

    def connect(self):
        super().connect()
        self.checked_at = time.monotonic()

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and time.monotonic() - self.checked_at < RECHECK_SECONDS
            and not self.socket_readable()
        ):
            self.health_check_done = True
            return
        was_done = self.health_check_done
        super().close_if_health_check_failed()
        if not was_done and self.connection is not None:
            self.checked_at = time.monotonic()

    def socket_readable(self) -> bool:
        """True when the server has sent something to an idle connection (a notice before closing it, or
        the close itself), or its socket is gone."""
        try:
            readable, _, _ = select.select([self.connection.pgconn.socket], [], [], 0)
        except (OSError, ValueError, base.Database.Error):
            return True
        return bool(readable)
