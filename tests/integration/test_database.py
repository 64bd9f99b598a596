"""SQLite set up for a threaded web server, foreign keys, and Alembic migrations on both databases."""

from __future__ import annotations

import threading

import pytest

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from models import OutboxMessage, db
from tests.conftest import make_app, session_for


@pytest.mark.sqlite_only
def test_app_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_foreign_keys_are_enforced(app):
    with session_for(app) as session:
        with pytest.raises(IntegrityError, match="(?i)foreign key"):
            session.execute(text("INSERT INTO estate_staff (estate_id, user_id) VALUES (999999, 999999)"))
            session.commit()


@pytest.mark.sqlite_only
def test_twenty_threads_writing_at_once_all_succeed(app):
    """Each thread reads, then writes: with a deferred BEGIN this is the pattern that
    fails with "database is locked"; with BEGIN IMMEDIATE the writers queue."""
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                seen = db.session.scalar(select(func.count()).select_from(OutboxMessage))
                db.session.add(OutboxMessage(recipient=f"t{n}@example.com", subject=f"{seen}", body_text="x"))
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with session_for(app) as session:
        subjects = session.scalars(select(OutboxMessage.subject)).all()
    assert len(subjects) == threads_count
    # Serialised: every writer saw the rows committed before it, so the counts are 0..19.
    assert sorted(int(s) for s in subjects) == list(range(threads_count))


def test_migrations_upgrade_an_empty_database_to_head_and_back_down(empty_database):
    app = make_app(empty_database)
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"estate", "user", "wine", "price", "price_list", "estate_customer"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_models_and_migrations_agree(empty_database):
    """`flask db migrate` would find nothing to add: no model change without a migration."""
    app = make_app(empty_database)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


@pytest.mark.sqlite_only
def test_pages_read_in_deferred_transactions_and_forms_take_the_write_lock(app, client):
    """The estate lookup is a shop request's first query: it already knows the intent."""
    from sqlalchemy import event

    begins: list[str] = []

    def record(statement: str) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    # What SQLite itself runs (its trace callback): the deferred BEGIN goes straight to
    # the driver (services.database), past SQLAlchemy's execution events.
    def trace(dbapi_connection, record_, proxy):  # type: ignore[no-untyped-def]
        dbapi_connection.set_trace_callback(record)

    def untrace(dbapi_connection, record_):  # type: ignore[no-untyped-def]
        dbapi_connection.set_trace_callback(None)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "checkout", trace)
    event.listen(engine, "checkin", untrace)
    try:
        assert client.get("/domaine-de-la-vernette/").status_code == 200
        assert begins == ["BEGIN"]
        begins.clear()
        client.post("/domaine-de-la-vernette/panier/code", data={"code": "#LAVERNETTE"})
        assert begins and set(begins) == {"BEGIN IMMEDIATE"}
    finally:
        event.remove(engine, "checkout", trace)
        event.remove(engine, "checkin", untrace)


@pytest.mark.sqlite_only
def test_a_waiting_writer_begins_when_the_transaction_before_it_ends_not_at_sqlites_next_poll(app):
    """Threads of one process queue for the whole write transaction (services.database
    _Turnstile): the second one's BEGIN IMMEDIATE reaches SQLite only after the first
    one's COMMIT, so it never sleeps in SQLite's busy handler while the lock is free."""
    from sqlalchemy import event

    from services import database

    trace: list[tuple[str, str]] = []
    inside, done = threading.Event(), threading.Event()

    def traced(name: str):  # type: ignore[no-untyped-def]
        def on_checkout(dbapi_connection, record_, proxy):  # type: ignore[no-untyped-def]
            if threading.current_thread().name == name:
                dbapi_connection.set_trace_callback(lambda sql: trace.append((name, sql.split(" (")[0])))
        return on_checkout

    def untrace(dbapi_connection, record_):  # type: ignore[no-untyped-def]
        dbapi_connection.set_trace_callback(None)

    def write(subject: str, before_commit=None) -> None:  # type: ignore[no-untyped-def]
        with app.app_context():
            db.session.add(OutboxMessage(recipient="t@example.com", subject=subject, body_text="x"))
            db.session.flush()
            if before_commit is not None:
                before_commit()
            db.session.commit()
            db.session.remove()

    def first_waits_for_second() -> None:
        inside.set()
        line = database._turnstile(db.engine.url.database or "")._line
        while len(line) < 2 and not done.is_set():  # the second thread is in line behind this one
            pass

    with app.app_context():
        engine = db.engine
    listeners = [(engine, "checkout", traced("first")), (engine, "checkout", traced("second")),
                 (engine, "checkin", untrace)]
    for listener in listeners:
        event.listen(*listener)
    try:
        first = threading.Thread(target=write, args=("first", first_waits_for_second), name="first")
        second = threading.Thread(target=write, args=("second",), name="second")
        first.start()
        assert inside.wait(10)
        second.start()
        first.join(10)
        second.join(10)
        done.set()
    finally:
        for listener in listeners:
            event.remove(*listener)
    begins_and_commits = [(name, sql) for name, sql in trace if sql.startswith(("BEGIN", "COMMIT"))]
    assert begins_and_commits == [("first", "BEGIN IMMEDIATE"), ("first", "COMMIT"),
                                  ("second", "BEGIN IMMEDIATE"), ("second", "COMMIT")]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("ending", ["commit", "rollback", "close", "invalidate"])
def test_every_end_of_a_write_transaction_hands_the_turn_on(app, ending):
    from services import database

    with app.app_context():
        db.session.add(OutboxMessage(recipient="t@example.com", subject="s", body_text="x"))
        db.session.flush()
        line = database._turnstile(db.engine.url.database or "")._line
        assert len(line) == 1 and len(database._holders) == 1
        if ending == "commit":
            db.session.commit()
        elif ending == "rollback":
            db.session.rollback()
        elif ending == "close":
            db.session.close()  # the pool resets the connection
        else:
            db.session.connection().invalidate()
            db.session.rollback()
        assert len(line) == 0 and database._holders == {}
        db.session.remove()
