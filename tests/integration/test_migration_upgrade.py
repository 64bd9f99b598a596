"""Upgrading a SQLite database made by the first version of migration 0002.

Until commit ef559f0 made the constraint names portable, 0002 named both status CHECKs
of ``order_event`` after their enum (``ck_order_event_order_status``) and both unique
constraints of ``shop_order`` after their first column (``uq_shop_order_estate_id``).
SQLite accepts a name twice; PostgreSQL does not, so only SQLite databases of the early
installs carry them. Migration 0013 rewrites those constraints and must find them.
"""

from __future__ import annotations

import sqlite3

import pytest
from flask_migrate import upgrade
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from models import db
from tests.conftest import make_app

pytestmark = pytest.mark.sqlite_only

#: The first 0002's names, in place of the current ones (a name may appear twice).
FIRST_0002_NAMES = {
    "order_event": [("ck_order_event_from_status", "ck_order_event_order_status"),
                    ("ck_order_event_to_status", "ck_order_event_order_status")],
    "shop_order": [("uq_shop_order_checkout_token", "uq_shop_order_estate_id"),
                   ("uq_shop_order_number", "uq_shop_order_estate_id")],
}

#: A value for each type of a NOT NULL column without a default (see ``_insert``).
FILLERS = {"VARCHAR": "x", "TEXT": "", "INTEGER": 1, "BOOLEAN": 0, "DATETIME": "2026-06-01 10:00:00.000000"}


def _insert(conn: Connection, table: str, **values: object) -> int:
    """Insert a row into ``table`` as it is at the current revision: ``values``, and a
    filler in every other required column (the test must not know 0012's every column)."""
    for column in inspect(conn).get_columns(table):
        if column["name"] not in values and not column["nullable"] and column["default"] is None \
                and not column.get("primary_key"):
            values[column["name"]] = FILLERS[str(column["type"]).split("(")[0]]
    names = ", ".join(values)
    result = conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in values)})"),
                          values)
    return result.lastrowid


def _give_the_first_0002_names(path: str) -> None:
    """Rewrite the two tables' DDL as the first 0002 created it. Only constraint names
    change: SQLite stores none of them outside the table's SQL text."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA writable_schema=ON")
        for table, renames in FIRST_0002_NAMES.items():
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
            for current, first in renames:
                kind = "CHECK" if current.startswith("ck_") else "UNIQUE"
                assert sql.count(f"CONSTRAINT {current} {kind}") == 1
                sql = sql.replace(f"CONSTRAINT {current} {kind}", f"CONSTRAINT {first} {kind}")
            conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
        conn.commit()
        conn.execute("PRAGMA writable_schema=OFF")
    finally:
        conn.close()
    conn = sqlite3.connect(path)  # a new connection reads the rewritten schema
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def _rows(conn: Connection, table: str, columns: list[str]) -> list[tuple]:
    return [tuple(row) for row in conn.execute(text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"))]


def test_0013_upgrades_a_database_made_by_the_first_0002(empty_database):
    app = make_app(empty_database)
    path = empty_database.url.removeprefix("sqlite:///")
    with app.app_context():
        upgrade(revision="0012")
        db.engine.dispose()
    _give_the_first_0002_names(path)

    with app.app_context():
        with db.engine.begin() as conn:
            inspector = inspect(conn)
            assert [c["name"] for c in inspector.get_check_constraints("order_event")].count(
                "ck_order_event_order_status") == 2
            assert [c["name"] for c in inspector.get_unique_constraints("shop_order")] == [
                "uq_shop_order_estate_id", "uq_shop_order_estate_id"]
            estate = _insert(conn, "estate", slug="domaine-ancien", case_size=6)
            customer = _insert(conn, "estate_customer", estate_id=estate, email="a@example.com",
                               kind="particulier", discount_bp=0)
            orders = [_insert(conn, "shop_order", estate_id=estate, customer_id=customer, number=f"CDE-{n}",
                              checkout_token=f"token-{n}", status=status, payment_mode="cheque",
                              delivery_kind="home", bottles=6, total_ttc_cents=9000)
                      for n, status in ((1, "paid"), (2, "shipped"))]
            for order, from_status, to_status in ((orders[0], None, "pending_payment"),
                                                  (orders[0], "pending_payment", "paid"),
                                                  (orders[1], "preparing", "shipped")):
                _insert(conn, "order_event", estate_id=estate, order_id=order, from_status=from_status,
                        to_status=to_status, actor_label="Marie", note=f"{from_status} → {to_status}")
            order_columns = [c["name"] for c in inspector.get_columns("shop_order")]
            event_columns = [c["name"] for c in inspector.get_columns("order_event")]
            orders_before = _rows(conn, "shop_order", order_columns)
            events_before = _rows(conn, "order_event", event_columns)
        db.engine.dispose()

        upgrade()

        with db.engine.connect() as conn:
            # up to the head: 0014 and 0015 rebuild shop_order once more each (delivery kinds
            # "distribution", "tasting"; its tasting and seller)
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0018"
            assert _rows(conn, "shop_order", order_columns) == orders_before
            assert _rows(conn, "order_event", event_columns) == events_before
            inspector = inspect(conn)
            assert sorted(c["name"] for c in inspector.get_check_constraints("order_event")) == [
                "ck_order_event_from_status", "ck_order_event_to_status"]
            assert sorted(c["name"] for c in inspector.get_unique_constraints("shop_order")) == [
                "uq_shop_order_checkout_token", "uq_shop_order_number"]

            event = events_before[1][0]
            conn.execute(text("UPDATE order_event SET from_status = 'paid', to_status = 'reserved' WHERE id = :id"),
                         {"id": event})
            conn.execute(text("UPDATE order_event SET from_status = 'reserved' WHERE id = :id"), {"id": event})
            conn.execute(text("UPDATE shop_order SET status = 'reserved' WHERE id = :id"), {"id": orders[0]})
            conn.execute(text("UPDATE shop_order SET delivery_kind = 'distribution' WHERE id = :id"), {"id": orders[1]})
            conn.commit()
            assert conn.execute(text("SELECT from_status, to_status FROM order_event WHERE id = :id"),
                                {"id": event}).one() == ("reserved", "reserved")
            refused = [
                ("UPDATE order_event SET to_status = 'garbage' WHERE id = :id", event, "ck_order_event_to_status"),
                ("UPDATE order_event SET from_status = 'garbage' WHERE id = :id", event, "ck_order_event_from_status"),
                ("UPDATE shop_order SET status = 'garbage' WHERE id = :id", orders[0], "ck_shop_order_order_status"),
                ("UPDATE shop_order SET delivery_kind = 'garbage' WHERE id = :id", orders[0],
                 "ck_shop_order_delivery_kind"),
                # both unique constraints survived the table's rebuild
                ("UPDATE shop_order SET number = 'CDE-1' WHERE id = :id", orders[1], "shop_order.number"),
                ("UPDATE shop_order SET checkout_token = 'token-1' WHERE id = :id", orders[1],
                 "shop_order.checkout_token"),
            ]
            for statement, row, message in refused:
                with pytest.raises(IntegrityError, match=message):
                    conn.execute(text(statement), {"id": row})
                conn.rollback()
        db.engine.dispose()

    # `flask db check`: the upgraded schema is the models' schema.
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
