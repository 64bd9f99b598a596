"""How many gunicorn workers and threads serve Chai by default: one place, read by
gunicorn.conf.py and by the benchmark (bench/run), so both run what a deployment runs.

* Workers: on PostgreSQL ``2 × cores + 1`` (at most 8). On SQLite one: SQLite takes one
  writer at a time whatever the number of processes, so more workers add memory, not
  write throughput (several do work: WAL, BEGIN IMMEDIATE, busy timeout).
* Threads per worker: 2. A second thread keeps a worker answering while a slow request
  (a PDF, an export) runs. More threads cost throughput: SQLite and psycopg release
  Python's lock around every call to the database, and each release lets another
  thread in; the estate page served 26 % of the bare list's rate with 4 threads in one
  process and 39 % with 2 (in process, 2026-11-24).
"""

from __future__ import annotations

DEFAULT_THREADS = 2
MAX_WORKERS = 8


def on_postgresql(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql"))


def default_workers(database_url: str, cpu_count: int) -> int:
    return min(2 * cpu_count + 1, MAX_WORKERS) if on_postgresql(database_url) else 1
