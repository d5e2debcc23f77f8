"""Rasa's tracker store, read and pruned from the web process and the worker (which never import rasa).

Rasa's SQL tracker store (configured by ``manage.py bot_endpoints``) keeps every event of every
conversation in one table, ``events``, keyed by ``sender_id`` (our Conversation.public_id) with a
UNIX ``timestamp`` (a float). That is the bot's memory of a visitor: what they typed, the slots
it filled (name, email, company ...). Erasure and retention delete a conversation's rows here.

The same settings Rasa gets decide where the store is: ``RASA_TRACKER_DATABASE_URL`` (PostgreSQL,
through psycopg, which Django uses too) or the embedded default's SQLite file. A store Rasa never
created (no database, no file or no table yet) holds nothing: that is not an error. A store that
cannot be reached raises TrackerUnavailable.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import dj_database_url
import psycopg
from django.conf import settings

from chatbot.management.commands.bot_endpoints import tracker_sqlite_path

EVENTS_TABLE = "events"
CONNECT_TIMEOUT_SECONDS = 10
CHUNK = 500


class TrackerUnavailable(Exception):
    """Rasa's tracker store could not be reached or refused the request."""


class _NoStore(Exception):
    """Rasa never created its store here: there is nothing in it."""


@contextmanager
def _connection() -> Iterator[tuple[object, str]]:
    """(DB-API connection in a transaction, placeholder); commits on success."""
    url = settings.RASA_TRACKER_DATABASE_URL
    if url.startswith("postgres"):
        db = dj_database_url.parse(url)
        try:
            connection = psycopg.connect(
                host=db["HOST"] or "localhost",
                port=int(db["PORT"] or 5432),
                dbname=db["NAME"],
                user=db["USER"] or None,
                password=db["PASSWORD"] or None,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
            )
        except psycopg.OperationalError as exc:
            if getattr(exc, "sqlstate", None) == "3D000" or "does not exist" in str(exc):
                raise _NoStore from exc
            raise TrackerUnavailable(str(exc).strip()) from exc
        placeholder = "%s"
    else:
        path = tracker_sqlite_path()
        if not path.exists():
            raise _NoStore
        connection = sqlite3.connect(path, timeout=CONNECT_TIMEOUT_SECONDS)
        placeholder = "?"
    try:
        with connection:  # commit on success, roll back on error
            yield connection, placeholder
    except (psycopg.errors.UndefinedTable, sqlite3.OperationalError) as exc:
        if isinstance(exc, psycopg.errors.UndefinedTable) or "no such table" in str(exc):
            raise _NoStore from exc
        raise TrackerUnavailable(str(exc).strip()) from exc
    except (psycopg.Error, sqlite3.Error) as exc:
        raise TrackerUnavailable(str(exc).strip()) from exc
    finally:
        connection.close()


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _per_chunk(sender_ids: Iterable[str], statement: str, counted: Callable[[object], int]) -> int:
    """Run ``statement`` over these conversations' events (public ids), a chunk of ids at a time.

    Its ``{marks}`` become one placeholder per id of the chunk; ``counted`` reads a number from the
    cursor after each chunk, and the numbers are added up. A store that holds nothing counts 0.
    """
    senders = sorted({str(s) for s in sender_ids})
    if not senders:
        return 0
    total = 0
    try:
        with _connection() as (connection, p):
            cursor = connection.cursor()
            for chunk in _chunks(senders):
                cursor.execute(statement.format(marks=", ".join([p] * len(chunk))), chunk)
                total += counted(cursor)
    except _NoStore:
        return 0
    return total


def events_delete(*, sender_ids: Iterable[str]) -> int:
    """Delete every event of these conversations (public ids); returns how many rows went."""
    return _per_chunk(
        sender_ids,
        f"DELETE FROM {EVENTS_TABLE} WHERE sender_id IN ({{marks}})",
        lambda cursor: max(cursor.rowcount, 0),
    )


def events_count(*, sender_ids: Iterable[str]) -> int:
    """How many events these conversations have in the store (the erasure summary, tests)."""
    return _per_chunk(
        sender_ids,
        f"SELECT count(*) FROM {EVENTS_TABLE} WHERE sender_id IN ({{marks}})",
        lambda cursor: cursor.fetchone()[0],
    )


def senders_idle_since(*, before: dt.datetime) -> list[str]:
    """Conversations (public ids) whose newest event is older than ``before``.

    One pass over the table, grouped by sender: retention runs it once a day.
    """
    try:
        with _connection() as (connection, p):
            cursor = connection.cursor()
            cursor.execute(
                f"SELECT sender_id FROM {EVENTS_TABLE} GROUP BY sender_id HAVING max(timestamp) < {p}",
                [before.timestamp()],
            )
            return [row[0] for row in cursor.fetchall()]
    except _NoStore:
        return []
