"""Back-office pages against the raw SQL they need, in the same process.

A page is requested through Flask's test client, logged in as the estate's vigneron.
One request (after warm-up) records every statement the page sends to the database
(a ``before_cursor_execute`` listener); "the raw SQL the page needs" is those
statements replayed with their parameters on the DBAPI connection, rows fetched.
Both are timed ``repeats`` times and compared by their medians.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from sqlalchemy import event

from bench.loadgen import CSRF_INPUT
from models import db


@dataclass
class PageTiming:
    label: str
    url: str
    page_ms: float
    raw_ms: float
    statements: list[tuple[str, object, bool]] = field(default_factory=list)  #: (SQL, parameters, executemany)
    slowest: tuple[float, int] = (0.0, -1)  #: (median ms, index in statements) of the slowest raw statement

    @property
    def ratio(self) -> float:
        return self.page_ms / self.raw_ms if self.raw_ms else float("inf")


def logged_in_client(app, email: str, password: str):  # type: ignore[no-untyped-def]
    """A test client that went through the real log-in form."""
    client = app.test_client()
    page = client.get("/compte/connexion").get_data(as_text=True)
    token = CSRF_INPUT.search(page)
    response = client.post("/compte/connexion", data={
        "csrf_token": token.group(1) if token else "", "email": email, "password": password})
    if response.status_code != 302:
        raise RuntimeError(f"log-in as {email}: {response.status_code}")
    return client


def measure(app, client, label: str, url: str, check, repeats: int) -> PageTiming:  # type: ignore[no-untyped-def]
    """``check(html)`` raises when the page is not the expected one (a fast 404 is no result)."""
    for _ in range(3):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        check(response.get_data(as_text=True))
    captured: list[tuple[str, object, bool]] = []

    def _record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters, executemany))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _record)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", _record)

    page_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        page_times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")

    raw_times, per_statement = _replay(engine, captured, repeats)
    slowest = max(per_statement) if per_statement else (0.0, -1)
    return PageTiming(label, url, statistics.median(page_times) * 1000, statistics.median(raw_times) * 1000,
                      captured, slowest)


def _replay(engine, captured, repeats: int) -> tuple[list[float], list[tuple[float, int]]]:  # type: ignore[no-untyped-def]
    raw = engine.raw_connection()
    try:
        times = []
        per_statement: dict[int, list[float]] = {}
        for _ in range(repeats + 3):
            cursor = raw.cursor()
            started = time.perf_counter()
            for index, (statement, parameters, many) in enumerate(captured):
                one = time.perf_counter()
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
                per_statement.setdefault(index, []).append(time.perf_counter() - one)
            raw.rollback()  # the page only reads; end its transaction as the request does
            times.append(time.perf_counter() - started)
            cursor.close()
        return times[3:], [(statistics.median(v[3:]) * 1000, i) for i, v in per_statement.items()]
    finally:
        raw.close()


def explain(app, statement: str, parameters) -> str:  # type: ignore[no-untyped-def]
    """The plan of one statement, for the report of a slow page."""
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
            cursor.execute(prefix + statement, parameters)
            rows = cursor.fetchall()
            raw.rollback()
            return "\n".join(" ".join(str(c) for c in row) for row in rows)
        finally:
            raw.close()
