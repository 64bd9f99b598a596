"""How SQLite behaves under concurrent read-then-write transactions, with the
engine set-up Chai uses (BEGIN IMMEDIATE) and with pysqlite's default deferred BEGIN.

    .venv/bin/python bench/sqlite_writers.py [threads] [writes-per-thread]

Prints figures; asserts nothing (see tests/integration/test_database.py for the rule).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from services.database import install_engine_listeners  # noqa: E402


def make_engine(url: str, variant: str):  # type: ignore[no-untyped-def]
    if variant == "immediate":
        install_engine_listeners()  # global: run this variant last
        return create_engine(url)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, record):  # type: ignore[no-untyped-def]
        if variant == "deferred":
            dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=15000")

    if variant == "deferred":
        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN")

    return engine


def run(variant: str, threads: int, writes: int) -> tuple[int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3", variant)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
            conn.execute(text("INSERT INTO counter (id, n) VALUES (1, 0)"))
        errors = 0
        lock = threading.Lock()
        barrier = threading.Barrier(threads)

        def worker() -> None:
            nonlocal errors
            barrier.wait()
            for _ in range(writes):
                try:
                    with engine.begin() as conn:
                        n = conn.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                        conn.execute(text("INSERT INTO counter (n) VALUES (:n)"), {"n": n})
                except Exception:  # noqa: BLE001 — counted
                    with lock:
                        errors += 1

        started = time.perf_counter()
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM counter")).scalar_one() - 1
        engine.dispose()
        return rows, errors, elapsed


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    writes = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    print(f"{threads} threads × {writes} read-then-write transactions")
    variants = (
        ("pysqlite default (SELECT outside tx)", "default"),
        ("explicit deferred BEGIN", "deferred"),
        ("BEGIN IMMEDIATE (Chai)", "immediate"),
    )
    for label, variant in variants:
        rows, errors, elapsed = run(variant, threads, writes)
        print(f"  {label:<36} committed {rows:>6}  failed {errors:>6}  {rows / elapsed:>8.0f} tx/s")


if __name__ == "__main__":
    main()
