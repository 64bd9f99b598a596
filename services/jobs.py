"""Scheduled jobs, run once per trigger however many processes run the scheduler.

Every process that serves Chai runs a scheduler: the one ``flask chai serve`` process of
a vigneron, or each gunicorn worker of a platform, possibly on several machines
(``gunicorn.conf.py``). Each firing first *claims* its slot: it inserts
``JobRun(name, slot)`` and commits, in a short transaction of its own. The unique
``(name, slot)`` lets exactly one process win; the others get an IntegrityError, roll
back and skip. For that the slot must be the same in every process: triggers are
anchored on a fixed date (:data:`EPOCH`, or calendar fields for a CronTrigger), and the
slot is the trigger's *scheduled* fire time, handed to the firing by
:class:`_SlotExecutor`, never the clock at the moment it runs.

The winner then runs the job in its own transaction (the job sees every estate) and
records ``finished_at``, plus ``error`` when it raised. A row with no ``finished_at``
is a firing whose process died mid-run: it is **not** rerun automatically (its slot
stays claimed); the next trigger runs normally, so jobs are written to catch up on
what a missed run left undone (the outbox simply sends what is still pending).
A trigger that fires while no process is running at all is lost the same way.

Adding a job is one line in :data:`JOBS`: a name, a trigger, a function
``(session, now)``. Configuration (``app.config``):

* ``JOBS_ENABLED`` (default true): false starts no scheduler in this process.
* ``JOB_INTERVALS`` (default none): ``{"outbox": 1}`` runs that job every N seconds
  instead of its trigger, for tests (``CHAI_JOB_INTERVALS='{"outbox": 1}'``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import JobRun, db, utcnow
from services import database, distributions, group_purchases, mail, ratelimit, reconciliation, subscriptions
from services import news  # issue 14: news digests
from services import facebook  # issue 14: Facebook pages' posts as news
from services import mailings  # issue 14: newsletters
from services import retention  # issue 15: what is purged, when
from services import journal  # issue 15: the sales journal's closings
from services.templating import PARIS
from services.tenancy import allow_all_estates

log = logging.getLogger("chai.jobs")

#: Interval triggers count from here, so every process computes the same fire times.
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: job_run rows older than this are deleted by the daily "prune-job-runs" job.
KEEP_RUNS = timedelta(days=90)
#: A firing that starts later than this after its slot (a stalled process) is dropped.
MISFIRE_GRACE = timedelta(hours=1)


def every(**interval: float) -> IntervalTrigger:
    """An interval trigger anchored on :data:`EPOCH`: ``every(minutes=1)``."""
    return IntervalTrigger(start_date=EPOCH, timezone=timezone.utc, **interval)


def daily(hour: int, minute: int) -> CronTrigger:
    return CronTrigger(hour=hour, minute=minute, timezone=timezone.utc)


@dataclass(frozen=True)
class Job:
    name: str  #: also the job_run.name of its firings (60 characters at most)
    trigger: BaseTrigger
    run: Callable[[Session, datetime], object]  #: (session, now); the runner commits


def send_outbox(session: Session, now: datetime) -> None:
    mail.send_pending(session, mail.flask_mail_sender, now)


def prune_job_runs(session: Session, now: datetime) -> None:
    """job_run would grow by a row per minute per job forever: keep 90 days, enough to
    see what ran and what failed. A daily job rather than a DELETE in every claim: one
    statement a day instead of one per firing in every worker."""
    session.execute(delete(JobRun).where(JobRun.slot < now - KEEP_RUNS))


JOBS: list[Job] = [
    Job("outbox", every(minutes=1), send_outbox),
    Job("prune-job-runs", daily(hour=3, minute=17), prune_job_runs),
    Job("refresh-statistics", daily(hour=3, minute=41), database.refresh_statistics),  # SQLite's ANALYZE
    Job("reconcile-payments", every(minutes=5), reconciliation.run),  # lost provider answers
    Job("prune-rate-limits", every(hours=1), ratelimit.prune_expired),  # closed windows of chai-db://
    Job("close-group-purchases", every(minutes=1), group_purchases.close_due),  # achats groupés at their closing time
    Job("close-distributions", every(minutes=1), distributions.close_due),  # producer groups' orders close
    # issue 13: the operator's invoices, early on the first day of each quarter (Paris), and their reminders
    Job("bill-subscriptions", CronTrigger(month="1,4,7,10", day=1, hour=6, minute=0, timezone=PARIS),
        subscriptions.bill_due),
    Job("remind-subscriptions", CronTrigger(hour=7, minute=0, timezone=PARIS), subscriptions.remind_due),
    # issue 14: news digests to followers ("à chaque actualité", chaque semaine, chaque mois)
    Job("news-each", every(minutes=5), news.send_each),
    Job("news-weekly", CronTrigger(day_of_week="mon", hour=8, minute=0, timezone=PARIS), news.send_weekly),
    Job("news-monthly", CronTrigger(day=1, hour=8, minute=0, timezone=PARIS), news.send_monthly),
    Job("facebook-import", every(minutes=30), facebook.import_all),  # issue 14: linked pages' posts as news
    Job("mailings", every(minutes=1), mailings.run_job),  # issue 14: newsletters, MAILING_BATCH_PER_MINUTE a run
    # issue 15: yesterday's, last month's and last year's closings of the sales journal (missed ones caught up)
    Job("journal-closings", CronTrigger(hour=0, minute=20, timezone=PARIS), journal.close_due),
    Job("purge-expired", daily(hour=4, minute=7), retention.run_job),  # issue 15: abandoned carts, old emails
]


def configured_jobs(app: Flask) -> list[Job]:
    """:data:`JOBS` with the ``JOB_INTERVALS`` overrides of the app's config applied.

    :raise ValueError: an override names no job or is not a positive number of seconds.
    """
    overrides: dict[str, Any] = app.config.get("JOB_INTERVALS") or {}
    names = {job.name for job in JOBS}
    for name, seconds in overrides.items():
        if name not in names:
            raise ValueError(f"JOB_INTERVALS: no job named {name!r} (jobs: {', '.join(sorted(names))})")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
            raise ValueError(f"JOB_INTERVALS[{name!r}] must be a positive number of seconds")
    return [replace(job, trigger=every(seconds=overrides[job.name])) if job.name in overrides else job
            for job in JOBS]


# ------------------------------------------------------------------ claim and run


def worker_id() -> str:
    """host:pid, computed at each call: gunicorn forks workers after import."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def claim(session: Session, name: str, slot: datetime) -> int | None:
    """Insert and commit ``JobRun(name, slot)``; its id, or None when another process
    already holds that slot. Leaves the session with no transaction open.

    :raise IntegrityError: the insert failed for another reason than an existing slot.
    """
    run = JobRun(name=name, slot=slot, worker=worker_id(), started_at=utcnow())
    session.add(run)
    try:
        session.commit()
    except IntegrityError:
        # On PostgreSQL the failed INSERT aborted the transaction: roll back first.
        session.rollback()
        taken = session.scalar(select(JobRun.id).where(JobRun.name == name, JobRun.slot == slot))
        session.rollback()
        if taken is None:
            raise
        return None
    return run.id


def run_once(app: Flask, job: Job, slot: datetime) -> bool:
    """Claim ``slot`` of ``job`` and, if this process won it, run the job and record how
    it ended. Returns whether this process ran it. A failing job is logged and recorded
    in ``job_run.error``; it never raises into the scheduler."""
    slot = slot.astimezone(timezone.utc)
    with app.app_context():
        session = db.session
        try:
            run_id = claim(session, job.name, slot)
            if run_id is None:
                log.debug("job %s slot %s: claimed by another process, skipped (%s)",
                          job.name, slot.isoformat(), worker_id())
                return False
            allow_all_estates(session)
            started = time.monotonic()
            error = ""
            try:
                job.run(session, utcnow())
                session.commit()
            except Exception:  # noqa: BLE001 — recorded on the run, the scheduler goes on
                session.rollback()
                error = traceback.format_exc()
                log.exception("job %s slot %s: failed (%s)", job.name, slot.isoformat(), worker_id())
            session.execute(update(JobRun).where(JobRun.id == run_id)
                            .values(finished_at=utcnow(), error=error))
            session.commit()
            if not error:
                log.info("job %s slot %s: ran in %.0f ms (%s)", job.name, slot.isoformat(),
                         (time.monotonic() - started) * 1000, worker_id())
            return True
        finally:
            db.session.remove()


# ------------------------------------------------------------------ the scheduler

_firing = threading.local()  #: .slot: the scheduled time of the firing on this thread


def _run_each_time(job, jobstore_alias, run_times, logger_name):  # type: ignore[no-untyped-def]
    events = []
    for run_time in run_times:
        _firing.slot = run_time
        try:
            events.extend(run_job(job, jobstore_alias, [run_time], logger_name))
        finally:
            del _firing.slot
    return events


class _SlotExecutor(BaseExecutor):
    """APScheduler 3 runs ``job.func()`` without telling it which scheduled time it is
    for. This executor (APScheduler's thread pool executor, plus that) runs each due
    time of a firing with the time in ``_firing.slot``, read by :func:`_fire`."""

    def __init__(self, max_workers: int = 4) -> None:
        super().__init__()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="chai-job")

    def _do_submit_job(self, job, run_times):  # type: ignore[no-untyped-def]
        def done(future: concurrent.futures.Future) -> None:
            exc = future.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(_run_each_time, job, job._jobstore_alias, run_times, self._logger.name)
        future.add_done_callback(done)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


def _fire(app: Flask, job: Job) -> None:
    run_once(app, job, _firing.slot)


def start_scheduler(app: Flask) -> BackgroundScheduler | None:
    """Start this process's scheduler with every job of :func:`configured_jobs`; None
    when ``JOBS_ENABLED`` is false. Stop it with :func:`stop_scheduler`."""
    if not app.config.get("JOBS_ENABLED", True):
        return None
    if "chai_scheduler" in app.extensions:  # one scheduler per app and process
        return app.extensions["chai_scheduler"]
    scheduler = BackgroundScheduler(
        timezone=timezone.utc,
        executors={"default": _SlotExecutor()},
        job_defaults={
            # Each due time is its own slot, claimed on its own: after a stall the
            # process catches up on every slot no other process took.
            "coalesce": False,
            # A run slower than the interval does not drop the next slot: it may start
            # beside it, here or in another process. Each slot is still claimed once,
            # and every job is safe to run concurrently (it must be, across processes).
            "max_instances": 3,
            "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
        },
    )
    jobs = configured_jobs(app)
    for job in jobs:
        scheduler.add_job(_fire, job.trigger, args=(app, job), id=job.name, name=job.name)
    scheduler.start()
    app.extensions["chai_scheduler"] = scheduler
    log.info("scheduler started (%s): %s", worker_id(), ", ".join(job.name for job in jobs))
    return scheduler


def stop_scheduler(app: Flask) -> None:
    """Stop this process's scheduler, letting a running job finish."""
    scheduler = app.extensions.pop("chai_scheduler", None)
    if scheduler is not None:
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped (%s)", worker_id())


# ------------------------------------------------------------------ by hand


def job_named(name: str) -> Job:
    """:raise KeyError: no such job."""
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(name)


def run_by_hand(app: Flask, name: str, now: datetime) -> None:
    """Run one job now, as if its clock said ``now`` (``flask chai jobs run``, and the
    tests): no slot is claimed, so run it while no scheduler runs the same job, or rely
    on the job's own guards (every job here is written to run twice harmlessly).

    :raise KeyError: no such job.
    """
    job = job_named(name)
    with app.app_context():
        session = db.session
        try:
            allow_all_estates(session)
            job.run(session, now)
            session.commit()
        finally:
            db.session.remove()
