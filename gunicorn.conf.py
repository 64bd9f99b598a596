"""gunicorn settings for Chai (read by ``gunicorn -c gunicorn.conf.py``).

    .venv/bin/flask --app app db upgrade          # first: gunicorn never migrates
    .venv/bin/gunicorn -c gunicorn.conf.py

Deployment runs the migrations (``flask db upgrade``) once, before starting or
reloading gunicorn: several workers (or machines) migrating at once would race, so
nothing here touches the schema.

Environment (and every CHAI_* setting of the README, read by create_app in each worker):

* CHAI_HOST, CHAI_PORT: where to listen (127.0.0.1:8000). Keep 127.0.0.1 behind a
  reverse proxy (nginx, Caddy) on the same machine, which terminates HTTPS.
* CHAI_WORKERS: worker processes. Default: on PostgreSQL (DATABASE_URL or
  CHAI_DATABASE_URL postgres…) 2 × cores + 1, at most 8; otherwise 1.
  On SQLite, one worker with threads is the advice: SQLite takes one writer at a time
  whatever the number of processes, so more workers add memory, not throughput.
  Several do work (WAL, BEGIN IMMEDIATE, busy timeout: services/database.py).
* CHAI_THREADS: threads per worker (2); each request holds a thread. Why 2, and the
  workers' defaults: services/serving.py (also what bench/run uses).
* CHAI_FORWARDED_ALLOW_IPS: addresses of the reverse proxy whose X-Forwarded-Proto
  (https) is trusted (127.0.0.1,::1).
* CHAI_LOG_LEVEL: gunicorn's and Chai's log level (info); "debug" also logs every
  job slot a worker found already claimed.
* CHAI_JOBS_ENABLED: false runs no scheduled job in these workers (e.g. when another
  machine runs them).

Every worker runs the job scheduler (services/jobs.py); the claim of each slot in the
job_run table makes each trigger run in one worker only, across machines too.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys

_DATABASE_URL = os.environ.get("DATABASE_URL") or os.environ.get("CHAI_DATABASE_URL") or ""
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the project, wherever gunicorn starts
from services import serving  # noqa: E402

# create_app() is called once in each worker, after the fork (no preload_app): each
# worker opens its own database connections and starts its own scheduler thread,
# neither of which survives a fork.
wsgi_app = "app:create_app()"
chdir = os.path.dirname(os.path.abspath(__file__))
preload_app = False

bind = [f"{os.environ.get('CHAI_HOST', '127.0.0.1')}:{os.environ.get('CHAI_PORT', '8000')}"]
workers = int(os.environ.get("CHAI_WORKERS") or serving.default_workers(_DATABASE_URL, multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("CHAI_THREADS") or serving.DEFAULT_THREADS)

# A worker whose main loop is silent this long is killed and replaced; with gthread a
# slow request does not count (its own thread), so this only catches a stuck worker.
timeout = 60
graceful_timeout = 30  # on restart or stop: time left to finish requests and a running job
keepalive = 5  # seconds; the proxy in front reuses connections

# Restart each worker after about this many requests, spread so they do not all
# restart at once: bounds the memory a slow leak (PDF rendering, …) can take.
max_requests = 1000
max_requests_jitter = 100

accesslog = "-"  # stdout
errorlog = "-"  # stderr
loglevel = os.environ.get("CHAI_LOG_LEVEL", "info")

# The proxy says the request came over HTTPS (X-Forwarded-Proto): gunicorn believes it
# only from these addresses. Flask then builds https:// URLs and secure cookies work.
forwarded_allow_ips = os.environ.get("CHAI_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """In each worker, once its app is loaded: Chai's logs go where gunicorn's go, and
    the job scheduler starts (unless JOBS_ENABLED is false)."""
    from services import jobs

    chai_log = logging.getLogger("chai")
    chai_log.handlers = list(worker.log.error_log.handlers)
    chai_log.setLevel(worker.log.error_log.level)
    chai_log.propagate = False
    jobs.start_scheduler(worker.wsgi)  # worker.wsgi: the app this worker's create_app() made


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    """Stop the worker's scheduler, letting a running job finish (within graceful_timeout)."""
    from services import jobs

    app = getattr(worker, "wsgi", None)
    if app is not None:
        jobs.stop_scheduler(app)
