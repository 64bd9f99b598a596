"""Scheduled jobs run once per trigger, however many processes run the scheduler: the
claim of a slot (services/jobs.py), then real gunicorn with four competing workers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import func, select

from models import JobRun, OutboxMessage
from services import jobs
from services.database import read_only_transactions
from tests.conftest import TEST_SECRET, free_port, make_app, session_for

ROOT = Path(__file__).resolve().parents[2]
SLOT = datetime(2026, 11, 24, 13, 40, tzinfo=timezone.utc)


def wait_until(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what()}")
        threading.Event().wait(0.1)


# ---------------------------------------------------------------- the claim itself


def test_the_second_claim_of_a_slot_loses(app):
    with session_for(app) as session:
        first = jobs.claim(session, "outbox", SLOT)
        assert first is not None
        assert jobs.claim(session, "outbox", SLOT) is None
        # Another slot, or another job at the same slot, is a claim of its own.
        assert jobs.claim(session, "outbox", SLOT + timedelta(minutes=1)) is not None
        assert jobs.claim(session, "prune-job-runs", SLOT) is not None
        run = session.get(JobRun, first)
        assert (run.name, run.slot, run.worker) == ("outbox", SLOT, jobs.worker_id())
        assert run.finished_at is None and run.error == ""
        assert session.scalar(select(func.count()).select_from(JobRun)) == 3


def test_one_of_eight_threads_claiming_the_same_slot_at_once_wins(app):
    barrier = threading.Barrier(8)
    results: list[int | None] = []
    errors: list[BaseException] = []

    def contender() -> None:
        try:
            with session_for(app) as session:
                barrier.wait()
                results.append(jobs.claim(session, "outbox", SLOT))
        except BaseException as exc:  # noqa: BLE001 — asserted below
            errors.append(exc)

    threads = [threading.Thread(target=contender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 8 and sum(r is not None for r in results) == 1
    with session_for(app) as session:
        assert session.scalars(select(JobRun.id)).all() == [r for r in results if r is not None]


def test_run_once_runs_the_job_for_the_winner_only_and_records_the_end(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port)
    with session_for(app) as session:
        session.add(OutboxMessage(recipient="a@example.com", subject="Bonjour", body_text="x"))
        session.commit()
    outbox = next(job for job in jobs.JOBS if job.name == "outbox")

    assert jobs.run_once(app, outbox, SLOT) is True
    assert jobs.run_once(app, outbox, SLOT) is False

    assert [m["Subject"] for m in smtp.mailbox.wait_for(1)] == ["Bonjour"]
    with session_for(app) as session:
        run = session.scalars(select(JobRun)).one()
        assert run.slot == SLOT and run.finished_at is not None and run.error == ""
        assert session.scalars(select(OutboxMessage.status)).all() == ["sent"]


def test_a_failing_job_records_its_error_and_its_writes_are_rolled_back(app):
    def half_done(session, now):  # type: ignore[no-untyped-def]
        session.add(OutboxMessage(recipient="a@example.com", subject="jamais", body_text="x"))
        session.flush()
        raise RuntimeError("panne au milieu")

    assert jobs.run_once(app, jobs.Job("broken", jobs.every(minutes=1), half_done), SLOT) is True
    with session_for(app) as session:
        run = session.scalars(select(JobRun)).one()
        assert run.finished_at is not None and "RuntimeError: panne au milieu" in run.error
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_daily_prune_keeps_ninety_days_of_runs(app):
    now = datetime.now(timezone.utc)
    with session_for(app) as session:
        for age in (200, 91, 89, 1):
            session.add(JobRun(name="outbox", slot=now - timedelta(days=age)))
        session.commit()
    prune = next(job for job in jobs.JOBS if job.name == "prune-job-runs")
    assert jobs.run_once(app, prune, SLOT) is True
    with session_for(app) as session:
        ages = sorted((now - slot).days for slot in session.scalars(select(JobRun.slot).where(JobRun.name == "outbox")))
    assert ages == [1, 89]


def test_every_process_computes_the_same_slots_whenever_it_started():
    outbox = next(job for job in jobs.JOBS if job.name == "outbox").trigger
    for started in (datetime(2026, 11, 24, 13, 40, 0, 1, tzinfo=timezone.utc),
                    datetime(2026, 11, 24, 13, 40, 59, 999999, tzinfo=timezone.utc)):
        assert outbox.get_next_fire_time(None, started) == datetime(2026, 11, 24, 13, 41, tzinfo=timezone.utc)
    prune = next(job for job in jobs.JOBS if job.name == "prune-job-runs").trigger
    assert prune.get_next_fire_time(None, SLOT) == datetime(2026, 11, 25, 3, 17, tzinfo=timezone.utc)


def test_job_settings_come_from_chai_environment_variables_as_json(database, monkeypatch):
    monkeypatch.setenv("CHAI_JOB_INTERVALS", '{"outbox": 1}')
    monkeypatch.setenv("CHAI_JOBS_ENABLED", "false")
    app = make_app(database)
    assert app.config["JOB_INTERVALS"] == {"outbox": 1} and app.config["JOBS_ENABLED"] is False
    configured = {job.name: job.trigger for job in jobs.configured_jobs(app)}
    assert configured["outbox"].interval == timedelta(seconds=1)
    assert configured["outbox"].get_next_fire_time(None, SLOT + timedelta(microseconds=1)) == SLOT + timedelta(seconds=1)
    assert jobs.start_scheduler(app) is None and "chai_scheduler" not in app.extensions

    for wrong in ({"outbx": 1}, {"outbox": 0}, {"outbox": "1"}):
        app.config["JOB_INTERVALS"] = wrong
        with pytest.raises(ValueError, match="JOB_INTERVALS"):
            jobs.configured_jobs(app)


# ------------------------------------------------------- four gunicorn workers

RAN = re.compile(r"\[(\d+)\] \[INFO\] job outbox slot (\S+): ran in \d+ ms \(.*:(\d+)\)")
SKIPPED = re.compile(r"\[(\d+)\] \[DEBUG\] job outbox slot (\S+): claimed by another process, skipped")


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_four_gunicorn_workers_run_each_outbox_trigger_exactly_once(database, smtp, tmp_path):
    app = make_app(database)
    with session_for(app) as session:
        subjects = [f"Message {n} du test" for n in range(10)]
        session.add_all(OutboxMessage(recipient=f"c{n}@example.com", subject=s, body_text="x")
                        for n, s in enumerate(subjects))
        session.commit()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAI_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database.url, CHAI_INSTANCE_PATH=str(database.instance_path),
               CHAI_SECRET_KEY=TEST_SECRET, CHAI_HOST="127.0.0.1", CHAI_PORT=str(port),
               CHAI_WORKERS="4", CHAI_THREADS="2", CHAI_JOB_INTERVALS='{"outbox": 1}',
               CHAI_MAIL_SERVER="127.0.0.1", CHAI_MAIL_PORT=str(smtp.port), CHAI_LOG_LEVEL="debug")
    log_path = tmp_path / "gunicorn.log"

    def log() -> str:
        return log_path.read_text()

    def finished_slots() -> int:
        with session_for(app) as session, read_only_transactions():
            return session.scalar(select(func.count()).select_from(JobRun)
                                  .where(JobRun.name == "outbox", JobRun.finished_at.is_not(None)))

    def competing_pids() -> set[int]:
        text = log()
        return {int(m.group(1)) for m in RAN.finditer(text)} | {int(m.group(1)) for m in SKIPPED.finditer(text)}

    with log_path.open("w") as log_file:
        gunicorn = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")],
                                    cwd=tmp_path, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: finished_slots() >= 5 and len(competing_pids()) >= 4 and len(smtp.mailbox.messages) >= 10,
                   timeout=90, what=lambda: f"5 slots run, 4 competing workers, 10 emails; log:\n{log()}")
        workers = _children(gunicorn.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:  # and it serves
            assert response.status == 200
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        exit_code = gunicorn.wait(timeout=60)
    text = log()
    assert exit_code == 0, text

    # Four worker processes of this gunicorn, each with a scheduler trying every slot.
    assert len(workers) == 4, text
    assert competing_pids() == workers, text
    assert text.count("scheduler started") == 4 and text.count("scheduler stopped") == 4, text

    with session_for(app) as session:
        runs = session.scalars(select(JobRun).where(JobRun.name == "outbox").order_by(JobRun.slot)).all()
        statuses = Counter(session.scalars(select(OutboxMessage.status)))
    slots = [run.slot for run in runs]
    assert len(slots) >= 5 and len(set(slots)) == len(slots)
    assert all(b - a == timedelta(seconds=1) for a, b in zip(slots, slots[1:])), slots  # none missed
    assert all(run.finished_at is not None and run.error == "" for run in runs)
    # The work itself ran once per slot, in the worker that claimed it.
    ran = Counter((m.group(2), int(m.group(1))) for m in RAN.finditer(text))
    assert Counter(slot for slot, _ in ran.elements()) == Counter(s.astimezone(timezone.utc).isoformat() for s in slots), text
    assert {(run.slot.astimezone(timezone.utc).isoformat(), int(run.worker.rsplit(":", 1)[1])) for run in runs} == set(ran), text
    # Each email queued before the start was received once.
    received = Counter(message["Subject"] for message in smtp.mailbox.messages)
    assert received == Counter(subjects)
    assert statuses == {"sent": 10}


def test_the_daily_statistics_job_gives_sqlite_its_planner_statistics(app, database):
    """SQLite keeps no planner statistics unless ANALYZE runs: the daily job does it
    (sampled). On PostgreSQL autovacuum does, and the job changes nothing."""
    from sqlalchemy import inspect, text

    job = next(job for job in jobs.JOBS if job.name == "refresh-statistics")
    assert jobs.run_once(app, job, SLOT) is True
    with session_for(app) as session:
        finished = session.scalar(select(JobRun.finished_at).where(JobRun.name == job.name))
        assert finished is not None
        if database.backend == "sqlite":
            analysed = set(session.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))
            assert {"wine", "price", "estate"} <= analysed
        else:
            assert "sqlite_stat1" not in inspect(session.get_bind()).get_table_names()
