"""Engine-level settings that make SQLite behave under a threaded web server.

Installed once per process by :func:`install_engine_listeners`; they only act on
SQLite connections, so the same code runs unchanged on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

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
    if not _write_intent.get():
        # Straight to the driver: a deferred BEGIN takes no lock and cannot fail on
        # one, and SQLAlchemy's execution path costs a tenth of a cheap page.
        conn.connection.driver_connection.execute("BEGIN")
        return
    # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers queue on the
    # busy timeout instead of failing when a deferred read upgrades to a write. The
    # threads of this process queue in line first, for the whole transaction (see
    # _Turnstile): the first in line leaves when its transaction ends.
    _release_at_transaction_end(conn.engine.dialect)
    turnstile = _turnstile(conn.engine.url.database or "")
    first = turnstile.enter(BUSY_TIMEOUT_MS / 1000)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if first:
            turnstile.leave()
        raise
    if first:
        turnstile.hold(conn.connection.driver_connection)


class _Turnstile:
    """This process's threads wait here, first come first served, for their turn to
    write: the first in line holds SQLite's write lock until its transaction ends (a
    commit, a rollback, its connection closed), then hands the turn to the next.

    SQLite's busy handler polls, sleeping longer and longer (up to 100 ms), so a
    transaction that just arrived takes the lock that another has been waiting for:
    under a burst of checkouts some waited past the busy timeout and failed with
    "database is locked" (3 of 60 checkouts with one gunicorn worker of 4 threads,
    tests/integration/test_fault_kill.py). And the lock sat unused between a commit and
    the waiting thread's next poll: with 2 threads, a 9 ms checkout took 17 ms of the
    lock (bench/run, issue 8). In line, a thread waits for the transactions ahead of it
    and starts the moment the one before ends. Other processes still meet on SQLite's
    busy handler.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._line: deque[threading.Event] = deque()
        self._holder: object | None = None  #: the DBAPI connection of the first in line's transaction

    def hold(self, dbapi_connection: object) -> None:
        """The first in line began its transaction on ``dbapi_connection``."""
        with self._lock:
            self._holder = dbapi_connection
        with _holders_lock:
            _holders[id(dbapi_connection)] = self

    def release(self, dbapi_connection: object) -> None:
        """``dbapi_connection``'s transaction ended: the next one's turn."""
        with self._lock:
            if self._holder is not dbapi_connection:
                return
            self._holder = None
        self.leave()

    def enter(self, timeout: float) -> bool:
        """Wait to be first in line; False (not in line) after ``timeout`` seconds."""
        me = threading.Event()
        with self._lock:
            self._line.append(me)
            if self._line[0] is me:
                return True
        if me.wait(timeout):
            return True
        with self._lock:
            if me.is_set():  # became first just now
                return True
            self._line.remove(me)
            return False

    def leave(self) -> None:
        """The first in line started its transaction: the next one's turn."""
        with self._lock:
            self._line.popleft()
            if self._line:
                self._line[0].set()


_turnstiles: dict[str, _Turnstile] = {}
_turnstiles_lock = threading.Lock()
_holders: dict[int, _Turnstile] = {}  #: id of a DBAPI connection in a transaction → the turnstile it holds
_holders_lock = threading.Lock()


def _release_at_transaction_end(dialect) -> None:  # type: ignore[no-untyped-def]
    """Wrap the engine's dialect so that the DBAPI commit, rollback (a pool's reset on
    return included) and close hand the turnstile on, after SQLite has released the
    lock: SQLAlchemy's ``commit`` and ``rollback`` events come before, and a thread
    woken then would find the lock still taken and sleep in the busy handler."""
    with _turnstiles_lock:
        if dialect.__dict__.get("chai_turnstile"):
            return
        for name in ("do_commit", "do_rollback", "do_close"):
            def ended(dbapi_connection, _original=getattr(dialect, name)):  # type: ignore[no-untyped-def]
                try:
                    _original(dbapi_connection)
                finally:
                    _transaction_ended(dbapi_connection)

            setattr(dialect, name, ended)
        dialect.chai_turnstile = True


def _transaction_ended(dbapi_connection) -> None:  # type: ignore[no-untyped-def]
    raw = getattr(dbapi_connection, "driver_connection", dbapi_connection)  # a pool's proxy, or the connection
    with _holders_lock:
        turnstile = _holders.pop(id(raw), None)
    if turnstile is not None:
        turnstile.release(raw)


def _turnstile(database: str) -> _Turnstile:
    with _turnstiles_lock:
        return _turnstiles.setdefault(database, _Turnstile())


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


#: rows SQLite's ANALYZE samples per index (its documentation's advice: a few hundred
#: give the planner what it needs, in milliseconds whatever the size of the file)
ANALYSIS_LIMIT = 400


def refresh_statistics(session: Session, now: object = None) -> None:
    """The daily ``refresh-statistics`` job (services.jobs): SQLite's query planner
    statistics, which nothing else keeps (PostgreSQL's autovacuum does it there).

    Without them SQLite picks an index by its shape alone: with the estate filter on
    every query (services.tenancy) it reads through ``estate_id`` and scans all of an
    estate's order lines to load one order's. Sampled: a few milliseconds a day."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}"))
    session.execute(text("ANALYZE"))
