"""Engine-level settings that make SQLite behave under a threaded web server.

Installed once per process by :func:`install_engine_listeners`; they only act on
SQLite connections, so the same code runs unchanged on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15_000

#: False while serving a request whose HTTP method promises not to write (GET, HEAD):
#: those transactions start with a plain deferred BEGIN and run alongside writers.
_write_intent: ContextVar[bool] = ContextVar("chai_write_intent", default=True)
_installed = False


def install_engine_listeners() -> None:
    global _installed
    if _installed:
        return
    event.listen(Engine, "connect", _sqlite_on_connect)
    event.listen(Engine, "begin", _sqlite_begin)
    _installed = True


def _sqlite_on_connect(dbapi_connection: object, connection_record: object) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite's own transaction handling issues a deferred BEGIN lazily, which is what
    # makes "read then write" transactions fail with "database is locked" under load.
    # Turn it off and emit BEGIN ourselves in _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer and the writer never blocks readers.
    cursor.execute("PRAGMA journal_mode=WAL")
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Wait for the write lock instead of failing at once.
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Durable at each checkpoint; the usual companion of WAL.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    if conn.dialect.name != "sqlite":
        return
    # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers queue on the
    # busy timeout instead of failing when a deferred read upgrades to a write.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


@contextmanager
def read_only_transactions() -> Iterator[None]:
    """Within this block, SQLite transactions start deferred (for read-only requests)."""
    token = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(value: bool):  # type: ignore[no-untyped-def]
    """Set the intent for the current context; returns a token for :func:`reset_write_intent`."""
    return _write_intent.set(value)


def reset_write_intent(token) -> None:  # type: ignore[no-untyped-def]
    _write_intent.reset(token)


def writes_on_get(view):  # type: ignore[no-untyped-def]
    """Mark a view that writes although it answers GET (a provider's return URL or
    notification): its transaction takes the write lock up front like a POST's."""
    view.chai_writes_on_get = True
    return view
