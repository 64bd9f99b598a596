"""Abuse limits: how many log-ins, sign-ups, reset requests, promo-code attempts and
checkouts one address (or one account, or one cart) may send in a window.

Views declare their limits with :data:`limiter`::

    @account_bp.route("/connexion", methods=["GET", "POST"])
    @limiter.limit(LOGIN_PER_IP, message=LOGIN_MESSAGE)
    @limiter.limit(LOGIN_PER_ACCOUNT, key=submitted_email, message=LOGIN_MESSAGE)
    def login(): ...

Flask-Limiter counts (fixed windows). Its extension object keeps its storage and its
``enabled`` flag on itself, so one module-level ``Limiter`` shared by several apps in
one process (the tests make many) would share one set of counters. Here each app gets
its own ``Limiter`` in :meth:`RateLimits.init_app`; the decorators only mark the view
functions, and each app's ``Limiter`` learns the marks of its views on first use.

The check runs in an app-level URL value preprocessor, before any blueprint's (the
shop's loads the estate): the request's own database transaction has not started yet,
which the database storage below needs on SQLite (a second connection cannot write
while the first holds the write lock).

A refused request gets HTTP 429 with a French message in the site's layout (or the
message alone as an htmx fragment, inserted before the target) and ``Retry-After``.

Configuration (``app.config``, or ``CHAI_RATELIMIT_…`` in the environment):

* ``RATELIMIT_ENABLED`` (true): false turns every limit off (the test suite's default).
* ``RATELIMIT_STORAGE_URI`` (``memory://``): where counters live.

  - ``memory://``: in the process. Right for one process (``chai serve``, or one
    gunicorn worker with threads on SQLite). With several workers each counts alone,
    so an attacker gets N times the limit.
  - ``chai-db://``: the ``rate_limit_counter`` table of Chai's own database
    (:class:`DatabaseStorage`), shared by every worker and machine. No other service
    to run; a few short transactions per limited request.
  - ``redis://host:6379`` (or ``redis+sentinel://``, ``memcached://``…): any storage
    of the ``limits`` library; Redis needs ``pip install redis``. The fastest choice
    for a large platform.

* ``FORWARDED_ALLOW_IPS`` (``127.0.0.1,::1``, the same setting as gunicorn's): the
  reverse proxies whose ``X-Forwarded-For`` names the client. Behind nginx every
  request comes from 127.0.0.1; the client's address is the last hop nginx appended.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterator

from flask import Flask, current_app, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded
from markupsafe import Markup
from limits.storage import Storage
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import RateLimitCounter, db, utcnow
from services.database import reset_write_intent, set_write_intent

# ------------------------------------------------------------------ the limits

LOGIN_PER_IP = "10 per minute"
#: ASVS 2.2.1: at most 100 attempts an hour on one account, from however many addresses.
LOGIN_PER_ACCOUNT = "10 per minute;100 per hour"
SIGNUP_PER_IP = "10 per hour"  #: shared by the particulier and professional forms
SIGNUP_PER_ACCOUNT = "5 per hour"
#: The second step of a log-in (a TOTP or recovery code): 30 guesses an hour at a 6-digit
#: code that 3 values match (±30 s) would need about 10,000 hours on average.
SECOND_FACTOR_PER_IP = "10 per minute"
SECOND_FACTOR_PER_ACCOUNT = "5 per minute;30 per hour"
RESET_REQUEST_PER_IP = "10 per hour"
RESET_REQUEST_PER_ACCOUNT = "3 per hour"  #: no mail-bombing one address with reset links
RESET_PASSWORD_PER_IP = "20 per hour"
PROMO_CODE_PER_IP = "20 per hour"
PROMO_CODE_PER_CART = "20 per hour"
CHECKOUT_PER_IP = "60 per minute"  #: generous: a fair's tablet or an office behind one address

DEFAULT_MESSAGE = _l("Trop de demandes en peu de temps. Patientez quelques minutes avant de réessayer.")
LOGIN_MESSAGE = _l("Trop de tentatives de connexion. Par sécurité, patientez quelques minutes avant de réessayer.")
SIGNUP_MESSAGE = _l("Trop de créations de compte depuis cette connexion. Réessayez dans une heure.")
RESET_MESSAGE = _l("Trop de demandes de réinitialisation du mot de passe. Réessayez dans une heure.")
PROMO_CODE_MESSAGE = _l("Trop de codes promo essayés. Réessayez dans une heure.")

# ------------------------------------------------------------------ who is asking


def _trusted_proxies() -> tuple[set[str], bool]:
    """(addresses, trust every proxy) from ``FORWARDED_ALLOW_IPS``, as gunicorn reads it."""
    value = current_app.config.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    addresses = {str(item).strip() for item in items if str(item).strip()}
    return addresses, "*" in addresses


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip() -> str:
    """The client's address: the peer, or when the peer is a trusted proxy, the last
    hop of ``X-Forwarded-For`` that is not a trusted proxy (the hops before it are
    whatever the client wrote)."""
    remote = request.remote_addr or ""
    trusted, trust_all = _trusted_proxies()
    if remote in trusted or trust_all:
        hops = [hop for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _valid_ip(hop)
            if address is None:
                break  # not written by a proxy we trust: stop believing the header
            if address not in trusted or trust_all:
                return address
    return remote or "unknown"


def by_ip() -> str:
    return "ip:" + client_ip()


def submitted_email() -> str:
    """The account a form names (its ``email`` field), hashed: counters never hold an
    address. A form without one counts against its sender's address instead."""
    email = (request.form.get("email") or "").strip().lower()[:320]
    if not email:
        return "no-account:" + client_ip()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def pending_second_factor() -> str:
    """The account waiting for its second factor (services.security's pending log-in)."""
    from services.security import PENDING_LOGIN

    pending = session.get(PENDING_LOGIN)
    uid = pending.get("uid") if isinstance(pending, dict) else None
    return f"second-factor:{uid}" if isinstance(uid, int) else "no-account:" + client_ip()


def by_cart() -> str:
    """The visitor's cart (its session token); without a cart yet, the address."""
    token = session.get("cart_token")
    return f"cart:{token}"[:120] if token else "no-cart:" + client_ip()


# ------------------------------------------------------------------ declaring limits


@dataclass(frozen=True)
class _Mark:
    value: str
    key: Callable[[], str]
    scope: str | None
    methods: tuple[str, ...]
    exempt_when: Callable[[], bool] | None
    message: object


class RateLimits:
    """Marks views with limits; gives each app its own Flask-Limiter (see the module doc)."""

    def limit(self, value: str, *, key: Callable[[], str] = by_ip, scope: str | None = None,
              methods: tuple[str, ...] = ("POST",), exempt_when: Callable[[], bool] | None = None,
              message: object = DEFAULT_MESSAGE) -> Callable:
        """Limit a view (POST only by default). ``scope`` shares one counter between
        the views that name it (both sign-up forms count together)."""
        mark = _Mark(value, key, scope, tuple(methods), exempt_when, message)

        def decorate(view: Callable) -> Callable:
            view.__dict__.setdefault("chai_rate_limits", []).append(mark)
            return view

        return decorate

    def init_app(self, app: Flask) -> None:
        app.config.setdefault("RATELIMIT_ENABLED", True)
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
        # A storage that is down must not take the log-in page down with it: log, let through.
        app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
        app.register_error_handler(RateLimitExceeded, _too_many_requests)
        if not app.config["RATELIMIT_ENABLED"]:
            return
        extension = Limiter(key_func=by_ip, auto_check=False, strategy="fixed-window")
        extension.init_app(app)
        app.extensions["chai_rate_limits"] = _AppLimits(extension)
        app.url_value_preprocessor(_check_request)

    @staticmethod
    def of(app: Flask) -> Limiter | None:
        """The app's Flask-Limiter (None when limits are off)."""
        state = app.extensions.get("chai_rate_limits")
        return state.extension if state else None


class _AppLimits:
    def __init__(self, extension: Limiter) -> None:
        self.extension = extension
        self._known: set[int] = set()
        self._lock = threading.Lock()

    def learn(self, view: Callable) -> None:
        """Register ``view``'s marks with this app's Limiter, once."""
        if id(view) in self._known:
            return
        with self._lock:
            if id(view) in self._known:
                return
            for mark in view.chai_rate_limits:  # type: ignore[attr-defined]
                message = mark.message
                options = dict(key_func=mark.key, methods=list(mark.methods), exempt_when=mark.exempt_when,
                               error_message=lambda message=message: str(message))
                if mark.scope:
                    decorator = self.extension.shared_limit(mark.value, mark.scope, **options)
                else:
                    decorator = self.extension.limit(mark.value, **options)
                decorator(view)  # registers by the view's qualified name; the wrapper is not used
            self._known.add(id(view))


limiter = RateLimits()


def _check_request(endpoint: str | None, values: object) -> None:
    view = current_app.view_functions.get(endpoint or "")
    if view is None or not getattr(view, "chai_rate_limits", None):
        return  # most requests: no counter touched
    state: _AppLimits = current_app.extensions["chai_rate_limits"]
    state.learn(view)
    state.extension.check()


def _too_many_requests(exc: RateLimitExceeded):  # type: ignore[no-untyped-def]
    message = exc.description or str(DEFAULT_MESSAGE)
    retry_after = _seconds_to_reset()
    if request.headers.get("HX-Request"):
        # The message alone, inserted before the element the form targets (which stays).
        html = Markup('<p class="flash flash-error" role="alert">{}</p>').format(message)
        response = current_app.make_response((html, 429))
        response.headers["HX-Reswap"] = "beforebegin"
    else:
        response = current_app.make_response((render_template("error.html", code=429, message=message), 429))
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _seconds_to_reset() -> int | None:
    extension = RateLimits.of(current_app)
    try:
        breached = extension.current_limit if extension else None
        if breached is None:
            return None
        return max(int(breached.reset_at - time.time()), 1)
    except Exception:  # noqa: BLE001 — a header is not worth failing the answer
        return None


# ------------------------------------------------------------------ database storage

_counter = RateLimitCounter.__table__
_KEY = _counter.c["key"]
_HITS = _counter.c["hits"]
_EXPIRES = _counter.c["expires_at"]


def _stored_key(key: str) -> str:
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _insert_if_absent(dialect: str, values: dict):  # type: ignore[no-untyped-def]
    """INSERT … ON CONFLICT (key) DO NOTHING (SQLite ≥ 3.24 and PostgreSQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(_counter).values(**values).on_conflict_do_nothing(index_elements=["key"])


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limit_counter`` table of the app's database,
    so every worker and machine counts together (``RATELIMIT_STORAGE_URI="chai-db://"``).

    Each call is its own short transaction on its own pooled connection (never the
    request's session, whose work it must not commit or roll back). A hit is one
    guarded UPDATE (``hits = hits + n`` while the window is open); an expired row is
    restarted by another guarded UPDATE; a missing one is inserted empty with ON
    CONFLICT DO NOTHING (a concurrent worker may insert it first), then counted by the
    first UPDATE on the next turn of the loop. On SQLite the
    transaction takes the write lock up front (BEGIN IMMEDIATE); on PostgreSQL the
    UPDATE's row lock orders concurrent hits. Expired rows are deleted by the hourly
    ``prune-rate-limits`` job (:func:`prune_expired`).
    """

    STORAGE_SCHEME = ["chai-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: object) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    @contextmanager
    def _transaction(self, writes: bool) -> Iterator:
        token = set_write_intent(writes)
        try:
            with db.engine.begin() as connection:  # the current app's database
                yield connection
        finally:
            reset_write_intent(token)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        key = _stored_key(key)
        now = utcnow()
        ends = now + timedelta(seconds=expiry)
        with self._transaction(writes=True) as conn:
            for _attempt in range(3):
                if conn.execute(update(_counter).where(_KEY == key, _EXPIRES > now)
                                .values(hits=_HITS + amount)).rowcount == 1:
                    break
                if conn.execute(update(_counter).where(_KEY == key, _EXPIRES <= now)
                                .values(hits=amount, expires_at=ends)).rowcount == 1:
                    break
                # No row yet: an empty one (or a concurrent worker's), counted on the next turn.
                # (The INSERT's own row count is not reliable across drivers; the UPDATE's is.)
                conn.execute(_insert_if_absent(conn.dialect.name, {"key": key, "hits": 0, "expires_at": ends}))
            return int(conn.scalar(select(_HITS).where(_KEY == key)) or 0)

    def get(self, key: str) -> int:
        with self._transaction(writes=False) as conn:
            hits = conn.scalar(select(_HITS).where(_KEY == _stored_key(key), _EXPIRES > utcnow()))
        return int(hits or 0)

    def get_expiry(self, key: str) -> float:
        with self._transaction(writes=False) as conn:
            expires = conn.scalar(select(_EXPIRES).where(_KEY == _stored_key(key)))
        return expires.timestamp() if isinstance(expires, datetime) else time.time()

    def check(self) -> bool:
        try:
            with self._transaction(writes=False) as conn:
                conn.scalar(select(func.count()).select_from(_counter).where(_KEY == ""))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._transaction(writes=True) as conn:
            return conn.execute(delete(_counter)).rowcount

    def clear(self, key: str) -> None:
        with self._transaction(writes=True) as conn:
            conn.execute(delete(_counter).where(_KEY == _stored_key(key)))


def prune_expired(session: Session, now: datetime) -> int:
    """Delete the counters whose window has closed (a job: ``services.jobs.JOBS``)."""
    return session.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now)).rowcount
