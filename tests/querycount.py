"""Count the SQL statements an app sends, for N+1 guards.

    with count_queries(app) as queries:
        client.get("/domaine-de-la-vernette/")
    assert len(queries) == expected, queries.report()

Every statement the engine hands to the DBAPI is counted (SQLAlchemy's
``before_cursor_execute`` event), SQLite's ``BEGIN`` included; an ``executemany`` is
one statement. Compare counts taken on the same backend, never across backends.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask
from sqlalchemy import event

from models import db


class Queries(list):
    """The statements sent, in order."""

    def report(self) -> str:
        return f"{len(self)} statements:\n" + "\n".join(
            f"{i:3} {' '.join(statement.split())[:200]}" for i, statement in enumerate(self, 1))


@contextmanager
def count_queries(app: Flask) -> Iterator[Queries]:
    with app.app_context():
        engine = db.engine
    queries = Queries()

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        queries.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield queries
    finally:
        event.remove(engine, "before_cursor_execute", record)
