"""The disk turns read-only for a moment, in the middle of a checkout: the customer
gets a French error page (no traceback), nothing of the checkout is written (no order,
no account, stock and outbox untouched), and once the disk is back the same cart
checks out normally.

How the write fails. Tests run as root, and root ignores file modes, so ``chmod 0444``
on the database proves nothing; a read-only bind mount needs mount rights a CI runner
may lack, and it would also stop SQLite's reads (WAL writes its ``-shm`` file on
every read). Instead the *database itself* is switched to read-only just before one
chosen write of the checkout, inside the request's transaction: SQLite with
``PRAGMA query_only`` (it then refuses the write with SQLITE_READONLY, "attempt to
write a readonly database", the error a read-only file gives), PostgreSQL with ``SET
TRANSACTION READ ONLY`` ("cannot execute INSERT in a read-only transaction", SQLSTATE
25006). The error comes from the real driver, at the real statement, after the
checkout's earlier writes: only the app's handling of it is under test. The app is
built with ``PROPAGATE_EXCEPTIONS=False`` so that, as under gunicorn, its own error
handler answers instead of the test client re-raising.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from typing import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from models import Order, OrderLine, OutboxMessage, User, Wine, db
from tests.conftest import checkout_form, first_orderable_wine, make_app, session_for, text_of, visitor

VERNETTE = "domaine-de-la-vernette"
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


@contextmanager
def read_only_at(app: Flask, table: str) -> Iterator[list[str]]:
    """The database turns read-only just before the first write to ``table`` (once);
    yields the list of statements that were refused."""
    refused: list[str] = []
    armed = [True]

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        match = _WRITE.match(statement)
        if not armed[0] or match is None or match.group(1).lower() != table:
            return
        armed[0] = False
        refused.append(statement)
        raw = conn.connection.dbapi_connection
        if isinstance(raw, sqlite3.Connection):
            raw.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET TRANSACTION READ ONLY")

    def after_rollback(conn):  # type: ignore[no-untyped-def]
        raw = conn.connection.dbapi_connection
        if isinstance(raw, sqlite3.Connection):  # the moment is over (PostgreSQL: with its transaction)
            raw.execute("PRAGMA query_only = OFF")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "rollback", after_rollback)
    try:
        yield refused
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "rollback", after_rollback)


def _counts(app, wine_id: int):  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return {
            "orders": session.scalar(select(func.count()).select_from(Order)),
            "lines": session.scalar(select(func.count()).select_from(OrderLine)),
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)),
            "accounts": session.scalar(select(func.count()).select_from(User)),
            "stock": session.get(Wine, wine_id).stock,
        }


# wine: the checkout's first write (stock); shop_order: in the middle, after the stock,
# the customer's account and file; outbox_message: its last write, just before commit.
@pytest.mark.parametrize("table", ["wine", "shop_order", "outbox_message"])
def test_a_write_failing_mid_checkout_shows_a_french_error_and_writes_nothing(database, table):
    app = make_app(database, PROPAGATE_EXCEPTIONS=False)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=60)
    client = visitor(app)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    before = _counts(app, wine_id)

    with read_only_at(app, table) as refused:
        response = client.post(f"/{VERNETTE}/commande", data=checkout_form(token="ro"))
    assert len(refused) == 1, f"the checkout never wrote to {table}"

    page = text_of(response)
    assert response.status_code in (500, 503)
    assert "Une erreur est survenue. Réessayez dans un instant." in page and '<html lang="fr"' in page
    for leak in ("Traceback", "readonly", "read-only", "OperationalError", "INSERT", "UPDATE", "sqlalchemy"):
        assert leak not in page, leak
    assert _counts(app, wine_id) == before

    # The disk is back: the same cart, the same form, one order.
    again = client.post(f"/{VERNETTE}/commande", data=checkout_form(token="ro"))
    assert again.status_code == 302 and again.headers["Location"] == f"/{VERNETTE}/commande/VER-00001"
    after = _counts(app, wine_id)
    assert after["orders"] == 1 and after["stock"] == before["stock"] - 6 and after["outbox"] == before["outbox"] + 2
    assert after["accounts"] == before["accounts"] + 1
