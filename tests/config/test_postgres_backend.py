"""Kept PostgreSQL connections skip the SELECT 1 between calls while their socket is quiet, and still
reconnect when the server ended them (config/postgres/base.py)."""

import time

import pytest
from django.db import connections

from config.postgres import base as backend

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept():
    """A connection of its own (the test's own is inside the test's transaction), kept as in production."""
    connection = connections.create_connection("default")
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    checks = []
    usable = connection.is_usable

    def counted():
        checks.append(1)
        return usable()

    connection.is_usable = counted
    yield connection, checks
    connection.close()


def backend_pid(connection) -> int:
    connection.close_if_unusable_or_obsolete()  # what Channels does around every database_sync_to_async call
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_recently_checked_quiet_connection_is_not_checked_again(kept):
    connection, checks = kept
    first = backend_pid(connection)
    assert [backend_pid(connection) for _ in range(5)] == [first] * 5
    assert checks == []
    connection.checked_at -= backend.RECHECK_SECONDS  # a while later: checked again before use
    assert backend_pid(connection) == first
    assert checks == [1]


def test_a_connection_the_server_ended_is_replaced_before_the_next_call(kept):
    connection, checks = kept
    first = backend_pid(connection)
    with connections["default"].cursor() as other:  # the test's own connection: the server ends the kept one
        other.execute("SELECT pg_terminate_backend(%s)", [first])
    deadline = time.monotonic() + 5
    while not connection.socket_readable() and time.monotonic() < deadline:
        time.sleep(0.01)
    second = backend_pid(connection)  # no OperationalError: the check saw the ended session
    assert second != first
    assert checks == [1]
