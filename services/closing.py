"""Closing periods (seed 001: "périodes de fermeture affichées sur le site et dans les
emails transactionnels") and the expected shipping date they push back.

A period runs from ``starts_on`` 00:00 to ``ends_on`` 23:59, Paris time. While it is in
force the estate page and the wine pages show its message; when ``orders_taken`` is off
the cart and the checkout refuse orders (:func:`refusal`), except the orders a seller
takes for a home tasting (delivered with the tasting, services.tastings).

:func:`expected_shipping_date` is a pure function (no session, no clock): the order
day, the estate's preparation days and the periods in, a date out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Date, bindparam, select
from sqlalchemy.orm import Session

from models import ClosingPeriod, Estate

PARIS = ZoneInfo("Europe/Paris")
MESSAGE_MAX = 500


class Span(Protocol):
    starts_on: date
    ends_on: date


def today() -> date:
    """Today in Paris: the day the shop pages compare the periods with (tests put
    their own day in by replacing this function)."""
    return datetime.now(PARIS).date()


def paris_day(moment: datetime) -> date:
    """The Paris date of a moment (a naive one is UTC, as stored)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(PARIS).date()


# -- the calendar ------------------------------------------------------------------

def easter(year: int) -> date:
    """Easter Sunday (Gregorian, the anonymous "Meeus/Jones/Butcher" algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 — the algorithm's own name
    m = (a + 11 * h + 19 * l) // 433
    month = (h + l - 7 * m + 90) // 25
    day = (h + l - 7 * m + 33 * month + 19) % 32
    return date(year, month, day)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """France's eleven public holidays (jours fériés) of ``year``, Alsace-Moselle's
    two extra days left out."""
    sunday = easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    return frozenset([date(year, m, d) for m, d in fixed]
                     + [sunday + timedelta(days=1), sunday + timedelta(days=39), sunday + timedelta(days=50)])


def _closed(day: date, periods: Iterable[Span]) -> Span | None:
    return next((p for p in periods if p.starts_on <= day <= p.ends_on), None)


def is_working_day(day: date, periods: Iterable[Span] = ()) -> bool:
    """Monday to Friday, not a public holiday, in no closing period."""
    return day.weekday() < 5 and day not in public_holidays(day.year) and _closed(day, periods) is None


def expected_shipping_date(order_day: date, preparation_days: int, periods: Iterable[Span]) -> date:
    """The day an order of ``order_day`` is expected to leave: ``preparation_days``
    working days after it (:func:`is_working_day`: days inside a closing period do not
    count), and never a day that is not a working day (with no preparation day, the
    order day itself if it is one, else the next one)."""
    periods = list(periods)
    day = order_day
    left = max(0, preparation_days)
    while left:
        day += timedelta(days=1)
        if is_working_day(day, periods):
            left -= 1
    while not is_working_day(day, periods):
        day += timedelta(days=1)
    return day


def period_to_mention(order_day: date, shipping_day: date, periods: Iterable[Span]) -> Any:
    """The period the order's emails speak of: the one in force on the order day, else
    the first one starting before the shipping day (None: none)."""
    ordered = sorted(periods, key=lambda p: p.starts_on)
    return _closed(order_day, ordered) or next(
        (p for p in ordered if order_day < p.starts_on <= shipping_day), None)


# -- the estate's periods --------------------------------------------------------------

def upcoming(session: Session, estate_id: int, day: date) -> list[ClosingPeriod]:
    """The estate's periods not over on ``day`` (in force or to come), first first."""
    return list(session.scalars(select(ClosingPeriod).where(
        ClosingPeriod.estate_id == estate_id, ClosingPeriod.ends_on >= day).order_by(ClosingPeriod.starts_on)))


def all_periods(session: Session, estate_id: int) -> list[ClosingPeriod]:
    """Every period of the estate, the latest first (the back-office list)."""
    return list(session.scalars(select(ClosingPeriod).where(ClosingPeriod.estate_id == estate_id)
                                .order_by(ClosingPeriod.starts_on.desc())))


@dataclass(frozen=True)
class Banner:
    """What a shop page shows of the period in force (plain values: part of the page
    cache's key, services.page_cache)."""

    id: int
    starts_on: date
    ends_on: date
    message: str
    orders_taken: bool


_PERIOD = ClosingPeriod.__table__
#: the period in force on a day: Core, built once (every shop page and add to cart reads it)
_IN_FORCE = (select(_PERIOD.c.id, _PERIOD.c.starts_on, _PERIOD.c.ends_on, _PERIOD.c.message, _PERIOD.c.orders_taken)
             .where(_PERIOD.c.estate_id == bindparam("estate_id"), _PERIOD.c.starts_on <= bindparam("day", type_=Date),
                    _PERIOD.c.ends_on >= bindparam("day", type_=Date))
             .order_by(_PERIOD.c.starts_on).limit(1))


def banner(session: Session, estate_id: int, day: date) -> Banner | None:
    """The estate's period in force on ``day`` (Paris date), if any."""
    row = session.connection().execute(_IN_FORCE, {"estate_id": estate_id, "day": day}).first()
    return None if row is None else Banner(*row)


def refusal(session: Session, estate_id: int, day: date) -> Banner | None:
    """The period in force on ``day`` if it stops orders (None: orders are taken)."""
    period = banner(session, estate_id, day)
    return period if period is not None and not period.orders_taken else None


@dataclass(frozen=True)
class Expectation:
    """The expected shipping (or pickup) day of an order, and the period to mention."""

    day: date
    period: ClosingPeriod | None


def expectation(session: Session, estate: Estate, ordered_at: datetime) -> Expectation:
    order_day = paris_day(ordered_at)
    periods = upcoming(session, estate.id, order_day)
    day = expected_shipping_date(order_day, estate.preparation_days, periods)
    return Expectation(day, period_to_mention(order_day, day, periods))


# -- the back office -------------------------------------------------------------------

class InvalidPeriod(Exception):
    """A field breaks a rule; ``field`` and ``code`` name it (admin/closing.py words it)."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def save(session: Session, estate_id: int, period: ClosingPeriod | None, *, starts_on: date | None,
         ends_on: date | None, message: str | None, orders_taken: bool, day: date) -> ClosingPeriod:
    """Create (``period`` None) or change a period of the estate; ``day``: today (Paris).

    :raise InvalidPeriod: starts_on/ends_on missing ("required"), ends_on before
        starts_on ("order"), ends_on before ``day`` ("past"), another period of the
        estate sharing a day ("overlap"), message empty ("required") or too long.
    """
    message = (message or "").strip()
    if starts_on is None:
        raise InvalidPeriod("starts_on", "required")
    if ends_on is None:
        raise InvalidPeriod("ends_on", "required")
    if ends_on < starts_on:
        raise InvalidPeriod("ends_on", "order")
    if ends_on < day:
        raise InvalidPeriod("ends_on", "past")
    if not message:
        raise InvalidPeriod("message", "required")
    if len(message) > MESSAGE_MAX:
        raise InvalidPeriod("message", "too_long")
    overlap = select(ClosingPeriod.id).where(ClosingPeriod.estate_id == estate_id,
                                             ClosingPeriod.starts_on <= ends_on, ClosingPeriod.ends_on >= starts_on)
    if period is not None:
        overlap = overlap.where(ClosingPeriod.id != period.id)
    if session.scalar(overlap.limit(1)) is not None:
        raise InvalidPeriod("starts_on", "overlap")
    if period is None:
        period = ClosingPeriod(estate_id=estate_id)
        session.add(period)
    period.starts_on, period.ends_on, period.message, period.orders_taken = starts_on, ends_on, message, orders_taken
    session.flush()
    return period


def delete(session: Session, period: ClosingPeriod) -> None:
    session.delete(period)
    session.flush()
