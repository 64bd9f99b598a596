"""Sales statistics and payments follow-up for one estate and one period.

Everything is computed in SQL by a handful of aggregate statements (GROUP BY, sums,
counts), never by loading orders into Python: the page stays fast on an estate with
tens of thousands of orders.

What counts (the rule the page states in one sentence):

- an order counts on the day it was **placed** (``created_at``, Europe/Paris) once it
  is **paid**: its status is past payment (payée, réservée, en préparation, envoyée,
  livrée — see services.orders.TRANSITIONS: every one of them follows a payment).
  Unpaid and cancelled orders never count. ``created_at`` rather than ``paid_at``: it
  is the date on the order, its invoice and the orders table, and the covering index
  ``ix_shop_order_statistics`` (migration 0011) starts with it;
- **credit notes** (``Invoice`` of kind ``credit_note``, their totals stored positive as
  the invoice they cancel) are subtracted on the day they were issued, unless their
  order was cancelled (a cancelled order is already out of the figures);
- an order of 0 € TTC (a gift sent for free) is not an order of the count nor of the
  average basket; its bottles count;
- the average basket is the orders' TTC (or HT) over their number, before credit notes;
- customer type: an order of a producer group's distribution (``distribution_id`` or
  ``group_checkout_id``) or of a group purchase (``group_purchase_id``) is "groupe",
  whatever its customer's kind; the others are "particulier" or "professionnel";
- the breakdowns (customer type, payment mode, delivery) and the top wines, group
  purchases, fairs and referrals count orders before credit notes (a credit note is
  not split by wine or customer type): only the totals and the series are net.

A period is a range of Paris calendar days ``[start, end]``; its bounds, and those of
its days, months or years, are computed here in Python and compared with the UTC
timestamps (no SQL date function, so the same SQL runs on SQLite and PostgreSQL, and
an order placed at 00:30 on 1 January in Paris belongs to the new year).

The page runs, in this order (8 statements, see :func:`statements`):

1. :func:`overview` — first and last order, and the orders awaiting payment;
2. :func:`series` — orders, bottles, CA TTC and HT per bucket (day, month or year);
3. the credit notes per bucket (same buckets);
4. :func:`customers` — new customers (first paid order in the period) and returning ones;
5. :func:`breakdown` — orders and CA by customer type, delivery kind and payment mode;
6. :func:`top_wines` — the ten wines sold most (bottles, CA TTC of their lines);
7. the group purchases and fairs of the period's orders;
8. the referrals made in the period and what their referees ordered.

:func:`for_period` runs 2 to 8 and assembles :class:`PeriodStatistics`. Each statement
filters on ``estate_id`` itself (an order line is reached through its order) and opts
out of the session's implicit estate filter (``all_estates``): the implicit
``order_line.estate_id = …`` is not in the covering index. So the SQL sent is exactly
the SQL of :func:`raw_sql`.

Benchmarks: :func:`raw_sql` returns that SQL as text with its parameters inlined
(``raw_sql(engine.dialect.name, estate_id, year)`` for the calendar year, monthly, as
the page's ``?annee=``), one string per statement, to time "the raw SQL the page
needs" through the DBAPI against the page itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Integer, Select, and_, case, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    CustomerKind,
    DeliveryKind,
    EstateCustomer,
    EstateFair,
    Fair,
    GroupPurchase,
    Invoice,
    InvoiceKind,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMode,
    Referral,
    Wine,
)

PARIS = ZoneInfo("Europe/Paris")
TOP_WINES = 10
MAX_DAYS = 3660  #: a period of at most ten years (and a bit of leap)
MAX_DAILY_BUCKETS = 366  #: beyond, a daily series becomes monthly
GRANULARITIES = ("jour", "mois", "annee")
_OPTIONS = {"all_estates": True}  # each statement filters on estate_id itself (see above)
#: the statuses that follow a payment (services.orders.TRANSITIONS)
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.RESERVED, OrderStatus.PREPARING, OrderStatus.SHIPPED,
                 OrderStatus.DELIVERED)
CUSTOMER_TYPES = ("particulier", "professionnel", "groupe")
#: an order has a group purchase (``group_purchase_id``) exactly when it is delivered
#: "achat groupé", a distribution (``distribution_id``, ``group_checkout_id``) exactly when
#: delivered at the distribution, and a fair stand (``estate_fair_id``) exactly when
#: collected at the fair (services.orders.place_order): the delivery kind, in the covering
#: index, tells them without reading the orders' rows
GROUP_DELIVERIES = (DeliveryKind.GROUP, DeliveryKind.DISTRIBUTION)
OCCASION_DELIVERIES = (DeliveryKind.GROUP, DeliveryKind.FAIR)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ----------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    start: date  #: first day (Paris)
    end: date  #: last day, included
    granularity: str  #: "jour", "mois" or "annee"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 Paris, the day after end 00:00 Paris), in UTC."""
        return _utc(self.start), _utc(self.end + timedelta(days=1))

    def bucket_starts(self) -> list[date]:
        """The first day of each bucket; the first is ``start`` itself."""
        starts = [self.start]
        while True:
            nxt = _next_start(starts[-1], self.granularity)
            if nxt > self.end:
                return starts
            starts.append(nxt)

    def utc_bounds(self) -> list[datetime]:
        """The n + 1 UTC bounds of the n buckets."""
        return [_utc(day) for day in self.bucket_starts()] + [self.bounds()[1]]


def _next_start(day: date, granularity: str) -> date:
    if granularity == "jour":
        return day + timedelta(days=1)
    if granularity == "mois":
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date(day.year + 1, 1, 1)


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(timezone.utc)


def today(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(PARIS).date()


def current_year(now: datetime | None = None) -> int:
    return today(now).year


def auto_granularity(start: date, end: date) -> str:
    """Day up to 62 days, month up to three years, else year."""
    days = (end - start).days + 1
    return "jour" if days <= 62 else "mois" if days <= 3 * 366 else "annee"


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), "mois")


def presets(day: date) -> list[tuple[str, date, date]]:
    """(label, start, end) of the picker's shortcuts, for the Paris day ``day``."""
    month_start = day.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    year_ago = date(day.year - 1, day.month, 1)
    return [
        (_("Ce mois-ci"), month_start, day),
        (_("Le mois dernier"), last_month_end.replace(day=1), last_month_end),
        (_("Cette année"), date(day.year, 1, 1), day),
        (_("L'année dernière"), date(day.year - 1, 1, 1), date(day.year - 1, 12, 31)),
        (_("12 derniers mois"), _next_start(year_ago, "mois"), day),
    ]


def parse_period(du: str | None, au: str | None, granularite: str | None, annee: str | None,
                 day: date) -> tuple[Period, list[str]]:
    """The period asked for by the query string, and French messages for whatever was
    wrong in it (the default is then used: this calendar year, month by month)."""
    default = year_period(day.year)
    notices: list[str] = []
    du, au = (du or "").strip(), (au or "").strip()
    granularite, annee = (granularite or "").strip(), (annee or "").strip()
    if not du and not au:
        if not annee:
            start, end = default.start, default.end
        elif annee.isdigit() and len(annee) == 4 and 1900 <= int(annee) <= 2999:
            start, end = date(int(annee), 1, 1), date(int(annee), 12, 31)
        else:
            notices.append(_("« %(value)s » n'est pas une année : voici les chiffres de %(year)s.",
                             value=annee[:20], year=day.year))
            start, end = default.start, default.end
    else:
        start, end = _date(du, notices), _date(au, notices)
        if notices:
            start, end = default.start, default.end
        else:
            start = start or date(end.year, 1, 1)  # type: ignore[union-attr]
            end = end or max(day, start)
            if end < start:
                notices.append(_("La date de fin précède la date de début : voici les chiffres de %(year)s.",
                                 year=day.year))
                start, end = default.start, default.end
            elif (end - start).days + 1 > MAX_DAYS:
                notices.append(_("Une période dure au plus 10 ans : voici les chiffres de %(year)s.", year=day.year))
                start, end = default.start, default.end
    if granularite and granularite not in GRANULARITIES:
        notices.append(_("« %(value)s » n'est pas un découpage connu (jour, mois ou année).",
                         value=granularite[:20]))
        granularite = ""
    if not granularite:
        granularite = auto_granularity(start, end)  # a calendar year: month by month
    if granularite == "jour" and (end - start).days + 1 > MAX_DAILY_BUCKETS:
        notices.append(_("Au-delà d'un an, les chiffres sont donnés mois par mois."))
        granularite = "mois"
    return Period(start, end, granularite), notices


def iso_date(raw: str) -> date:
    """A period picker's date (AAAA-MM-JJ, years 1900 to 2999; the accounting export's
    too). :raise ValueError:"""
    if not _ISO_DATE.fullmatch(raw):
        raise ValueError(raw)
    value = date.fromisoformat(raw)
    if not 1900 <= value.year <= 2999:
        raise ValueError(raw)
    return value


def _date(raw: str, notices: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return iso_date(raw)
    except ValueError:
        notices.append(_("« %(value)s » n'est pas une date (AAAA-MM-JJ).", value=raw[:20]))
        return None


# ----------------------------------------------------------------- results


@dataclass(frozen=True)
class Overview:
    first_order: date | None  #: Paris day of the estate's first order, any status
    awaiting_payment_orders: int  #: status "en attente de paiement", any date
    awaiting_payment_ttc_cents: int


@dataclass(frozen=True)
class SeriesRow:
    start: date  #: the bucket's first day (the period's start for the first bucket)
    orders: int
    bottles: int
    ttc_cents: int  #: orders, before credit notes
    ht_cents: int
    credit_ttc_cents: int  #: credit notes issued in the bucket (positive)
    credit_ht_cents: int

    @property
    def net_ttc_cents(self) -> int:
        return self.ttc_cents - self.credit_ttc_cents

    @property
    def net_ht_cents(self) -> int:
        return self.ht_cents - self.credit_ht_cents


@dataclass(frozen=True)
class KeyFigures:
    orders: int
    bottles: int
    ttc_cents: int  #: net of credit notes
    ht_cents: int
    gross_ttc_cents: int  #: orders alone
    gross_ht_cents: int
    credit_ttc_cents: int
    credit_ht_cents: int
    average_basket_ttc_cents: int  #: 0 without orders
    average_basket_ht_cents: int
    new_customers: int
    returning_customers: int


@dataclass(frozen=True)
class Split:
    key: object  #: a customer type ("particulier", "professionnel", "groupe"), DeliveryKind or PaymentMode
    orders: int
    ttc_cents: int
    ht_cents: int = 0


@dataclass(frozen=True)
class Breakdown:
    by_customer_type: list[Split]  #: the three types, even at zero, in CUSTOMER_TYPES order
    by_delivery: list[Split]  #: kinds that had orders, most orders first
    by_payment: list[Split]  #: the four modes, even at zero


@dataclass(frozen=True)
class WineRow:
    wine_id: int
    name: str
    vintage: int | None
    volume_ml: int | None
    bottles: int
    ttc_cents: int  #: the wine's goods lines, before order-level discounts


@dataclass(frozen=True)
class OccasionRow:
    kind: str  #: "group_purchase" or "fair"
    id: int
    label: str
    orders: int
    bottles: int
    ttc_cents: int
    ht_cents: int


@dataclass(frozen=True)
class Referrals:
    made: int  #: referrals recorded in the period
    referees_who_ordered: int  #: of those, referees with a paid order in the period
    orders: int
    ttc_cents: int
    ht_cents: int


@dataclass(frozen=True)
class PeriodStatistics:
    period: Period
    figures: KeyFigures
    series: list[SeriesRow]
    breakdown: Breakdown
    top_wines: list[WineRow]
    occasions: list[OccasionRow] = field(default_factory=list)
    referrals: Referrals = Referrals(0, 0, 0, 0, 0)


# -------------------------------------------------------------- statements


def _counted(estate_id: int, start: datetime, end: datetime) -> list:
    return [Order.estate_id == estate_id, Order.created_at >= start, Order.created_at < end,
            Order.status.in_(PAID_STATUSES)]


def _bucket(column, bounds: list[datetime], low: int, high: int):  # type: ignore[no-untyped-def]
    """The i such that bounds[i] <= column < bounds[i + 1], for low <= i < high, as
    nested CASEs that halve the range: log2(n) comparisons per row."""
    if high - low == 1:
        return literal_column(str(low), Integer)  # an inline constant: typed on PostgreSQL too
    middle = (low + high) // 2
    return case((column < bounds[middle], _bucket(column, bounds, low, middle)),
                else_=_bucket(column, bounds, middle, high))


def overview_statement(estate_id: int) -> Select:
    def scalar(*columns, where=()):  # type: ignore[no-untyped-def]
        return select(*columns).where(Order.estate_id == estate_id, *where).scalar_subquery()

    pending = (Order.status == OrderStatus.PENDING_PAYMENT,)
    return select(
        scalar(func.min(Order.created_at)).label("first"),
        scalar(func.count(), where=pending).label("pending_orders"),
        scalar(func.coalesce(func.sum(Order.total_ttc_cents), 0), where=pending).label("pending_ttc"),
    ).execution_options(**_OPTIONS)


def series_statement(estate_id: int, period: Period) -> Select:
    """One row per bucket that had paid orders (0 € orders: bottles only)."""
    bounds = period.utc_bounds()
    bucket = _bucket(Order.created_at, bounds, 0, len(bounds) - 1)
    # Grouped outside: PostgreSQL would not match a GROUP BY CASE whose bounds are other parameters.
    orders = (select(bucket.label("bucket"), Order.bottles, Order.total_ttc_cents, Order.total_ht_cents)
              .where(*_counted(estate_id, bounds[0], bounds[-1])).subquery())
    return (
        select(orders.c.bucket, func.sum(case((orders.c.total_ttc_cents > 0, 1), else_=0)).label("orders"),
               func.sum(orders.c.bottles).label("bottles"),
               func.sum(orders.c.total_ttc_cents).label("ttc"), func.sum(orders.c.total_ht_cents).label("ht"))
        .group_by(orders.c.bucket)
        .execution_options(**_OPTIONS)
    )


def credit_notes_statement(estate_id: int, period: Period) -> Select:
    """Credit notes per bucket of their issue date, their order not cancelled."""
    bounds = period.utc_bounds()
    bucket = _bucket(Invoice.issued_at, bounds, 0, len(bounds) - 1)
    notes = (
        select(bucket.label("bucket"), Invoice.total_ttc_cents, Invoice.total_ht_cents)
        .join(Order, Order.id == Invoice.order_id)
        .where(Invoice.estate_id == estate_id, Invoice.kind == InvoiceKind.CREDIT_NOTE,
               Invoice.issued_at >= bounds[0], Invoice.issued_at < bounds[-1],
               Order.estate_id == estate_id, Order.status != OrderStatus.CANCELLED)
        .subquery()
    )
    return (select(notes.c.bucket, func.sum(notes.c.total_ttc_cents).label("ttc"),
                   func.sum(notes.c.total_ht_cents).label("ht"))
            .group_by(notes.c.bucket).execution_options(**_OPTIONS))


def customers_statement(estate_id: int, period: Period) -> Select:
    start, end = period.bounds()
    per_customer = (
        select(Order.customer_id, func.min(Order.created_at).label("first"))
        .where(Order.estate_id == estate_id, Order.created_at < end, Order.status.in_(PAID_STATUSES))
        .group_by(Order.customer_id)
        .having(func.max(Order.created_at) >= start)
        .subquery()
    )
    return select(
        func.count().label("customers"),
        func.coalesce(func.sum(case((per_customer.c.first >= start, 1), else_=0)), 0).label("new"),
    ).select_from(per_customer).execution_options(**_OPTIONS)


def breakdown_statement(estate_id: int, period: Period) -> Select:
    """Orders and CA per (customer kind, delivery kind, payment mode): read from the
    covering index alone; "groupe" is told by the delivery kind (see GROUP_DELIVERIES)."""
    start, end = period.bounds()
    return (
        select(EstateCustomer.kind, Order.delivery_kind, Order.payment_mode,
               func.sum(case((Order.total_ttc_cents > 0, 1), else_=0)).label("orders"),
               func.sum(Order.total_ttc_cents).label("ttc"), func.sum(Order.total_ht_cents).label("ht"))
        .join(EstateCustomer, EstateCustomer.id == Order.customer_id)
        .where(*_counted(estate_id, start, end))
        .group_by(EstateCustomer.kind, Order.delivery_kind, Order.payment_mode)
        .execution_options(**_OPTIONS)
    )


def top_wines_statement(estate_id: int, period: Period, limit: int = TOP_WINES) -> Select:
    """The wines' goods lines (gifts, discounts and shipping aside; a wine deleted since
    is left out); wines are looked up only for the ``limit`` rows kept."""
    start, end = period.bounds()
    bottles = func.sum(OrderLine.quantity).label("bottles")
    ttc = func.sum(OrderLine.ttc_cents).label("ttc")
    top = (
        select(OrderLine.wine_id, bottles, ttc)
        .join(Order, Order.id == OrderLine.order_id)
        .where(*_counted(estate_id, start, end), OrderLine.kind == "goods", OrderLine.wine_id.is_not(None))
        .group_by(OrderLine.wine_id)
        .order_by(bottles.desc(), ttc.desc(), OrderLine.wine_id)
        .limit(limit)
        .subquery()
    )
    return (
        select(top.c.wine_id, Wine.name, Wine.vintage, Wine.volume_ml, top.c.bottles, top.c.ttc)
        .join_from(top, Wine, Wine.id == top.c.wine_id)
        .order_by(top.c.bottles.desc(), top.c.ttc.desc(), top.c.wine_id)
        .execution_options(**_OPTIONS)
    )


def occasions_statement(estate_id: int, period: Period) -> Select:
    """Per group purchase and per fair: the period's paid orders taken for it (the
    index narrows to their delivery kinds; only those orders' rows are read)."""
    start, end = period.bounds()
    per = (
        select(Order.group_purchase_id, Order.estate_fair_id,
               func.sum(case((Order.total_ttc_cents > 0, 1), else_=0)).label("orders"),
               func.sum(Order.bottles).label("bottles"), func.sum(Order.total_ttc_cents).label("ttc"),
               func.sum(Order.total_ht_cents).label("ht"))
        .where(*_counted(estate_id, start, end), Order.delivery_kind.in_(OCCASION_DELIVERIES))
        .group_by(Order.group_purchase_id, Order.estate_fair_id)
        .subquery()
    )
    return (
        select(per, GroupPurchase.organiser_name, GroupPurchase.city, Fair.name.label("fair_name"),
               Fair.starts_on)
        .outerjoin(GroupPurchase, and_(GroupPurchase.id == per.c.group_purchase_id,
                                       GroupPurchase.estate_id == estate_id))
        .outerjoin(EstateFair, and_(EstateFair.id == per.c.estate_fair_id, EstateFair.estate_id == estate_id))
        .outerjoin(Fair, Fair.id == EstateFair.fair_id)
        .order_by(per.c.ttc.desc(), per.c.group_purchase_id, per.c.estate_fair_id)
        .execution_options(**_OPTIONS)
    )


def referrals_statement(estate_id: int, period: Period) -> Select:
    start, end = period.bounds()
    referees = (select(Referral.referee_id)
                .where(Referral.estate_id == estate_id, Referral.created_at >= start, Referral.created_at < end)
                .subquery())
    their_orders = (
        select(Order.customer_id, func.sum(case((Order.total_ttc_cents > 0, 1), else_=0)).label("orders"),
               func.sum(Order.total_ttc_cents).label("ttc"), func.sum(Order.total_ht_cents).label("ht"))
        .where(*_counted(estate_id, start, end), Order.customer_id.in_(select(referees.c.referee_id)))
        .group_by(Order.customer_id)
        .subquery()
    )
    return select(
        select(func.count()).select_from(referees).scalar_subquery().label("made"),
        func.count(their_orders.c.customer_id).label("ordered"),
        func.coalesce(func.sum(their_orders.c.orders), 0).label("orders"),
        func.coalesce(func.sum(their_orders.c.ttc), 0).label("ttc"),
        func.coalesce(func.sum(their_orders.c.ht), 0).label("ht"),
    ).select_from(their_orders).execution_options(**_OPTIONS)


def statements(estate_id: int, period: Period | int) -> list[Select]:
    """Every statement of the page, in the order it runs them (a year: ``?annee=``)."""
    if isinstance(period, int):
        period = year_period(period)
    return [overview_statement(estate_id), series_statement(estate_id, period),
            credit_notes_statement(estate_id, period), customers_statement(estate_id, period),
            breakdown_statement(estate_id, period), top_wines_statement(estate_id, period),
            occasions_statement(estate_id, period), referrals_statement(estate_id, period)]


def raw_sql(dialect_name: str, estate_id: int, period: Period | int) -> list[str]:
    """The SQL text of :func:`statements` for ``"sqlite"`` or ``"postgresql"``, with
    the parameters inlined as literals, ready for a DBAPI ``cursor.execute``."""
    dialect = {"sqlite": sqlite.dialect, "postgresql": postgresql.psycopg.dialect}[dialect_name]()
    return [str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            for statement in statements(estate_id, period)]


# -------------------------------------------------------------- functions


def overview(session: Session, estate_id: int) -> Overview:
    row = session.execute(overview_statement(estate_id)).one()
    first = row.first.astimezone(PARIS).date() if row.first is not None else None
    return Overview(first, int(row.pending_orders), int(row.pending_ttc))


def series(session: Session, estate_id: int, period: Period) -> list[SeriesRow]:
    orders = {row.bucket: row for row in session.execute(series_statement(estate_id, period))}
    notes = {row.bucket: row for row in session.execute(credit_notes_statement(estate_id, period))}
    rows = []
    for i, start in enumerate(period.bucket_starts()):
        o, n = orders.get(i), notes.get(i)
        rows.append(SeriesRow(start, *(int(value) for value in ((o.orders, o.bottles, o.ttc, o.ht) if o else (0,) * 4)),
                              *(int(value) for value in ((n.ttc, n.ht) if n else (0, 0)))))
    return rows


def customers(session: Session, estate_id: int, period: Period) -> tuple[int, int]:
    """(new, returning) customers of the period."""
    row = session.execute(customers_statement(estate_id, period)).one()
    return int(row.new), int(row.customers - row.new)


def key_figures(rows: list[SeriesRow], new: int, returning: int) -> KeyFigures:
    orders = sum(r.orders for r in rows)
    ttc, ht = sum(r.ttc_cents for r in rows), sum(r.ht_cents for r in rows)
    credit_ttc, credit_ht = sum(r.credit_ttc_cents for r in rows), sum(r.credit_ht_cents for r in rows)
    return KeyFigures(orders=orders, bottles=sum(r.bottles for r in rows), ttc_cents=ttc - credit_ttc,
                      ht_cents=ht - credit_ht, gross_ttc_cents=ttc, gross_ht_cents=ht,
                      credit_ttc_cents=credit_ttc, credit_ht_cents=credit_ht,
                      average_basket_ttc_cents=round(ttc / orders) if orders else 0,
                      average_basket_ht_cents=round(ht / orders) if orders else 0,
                      new_customers=new, returning_customers=returning)


def breakdown(session: Session, estate_id: int, period: Period) -> Breakdown:
    """The groups of one statement, added up three ways."""
    totals: dict[object, list[int]] = {}
    for kind, delivery_kind, payment_mode, orders, ttc, ht in session.execute(
            breakdown_statement(estate_id, period)):
        customer_type = "groupe" if delivery_kind in GROUP_DELIVERIES else CustomerKind(kind).value
        for key in (customer_type, delivery_kind, payment_mode):
            total = totals.setdefault(key, [0, 0, 0])
            total[0] += int(orders)
            total[1] += int(ttc)
            total[2] += int(ht)

    by_delivery = sorted((Split(k, *totals[k]) for k in DeliveryKind if k in totals),
                         key=lambda s: (-s.orders, -s.ttc_cents))
    return Breakdown([Split(k, *totals.get(k, (0, 0, 0))) for k in CUSTOMER_TYPES], by_delivery,
                     [Split(k, *totals.get(k, (0, 0, 0))) for k in PaymentMode])


def top_wines(session: Session, estate_id: int, period: Period, limit: int = TOP_WINES) -> list[WineRow]:
    return [WineRow(row.wine_id, row.name, row.vintage, row.volume_ml, int(row.bottles), int(row.ttc))
            for row in session.execute(top_wines_statement(estate_id, period, limit))]


def occasions(session: Session, estate_id: int, period: Period) -> list[OccasionRow]:
    rows = []
    for row in session.execute(occasions_statement(estate_id, period)):
        figures = (int(row.orders), int(row.bottles), int(row.ttc), int(row.ht))
        if row.group_purchase_id is not None:
            label = f"{row.organiser_name or ''} ({row.city})" if row.city else (row.organiser_name or "")
            rows.append(OccasionRow("group_purchase", row.group_purchase_id, label, *figures))
        if row.estate_fair_id is not None:
            label = f"{row.fair_name} {row.starts_on.year}" if row.fair_name else ""
            rows.append(OccasionRow("fair", row.estate_fair_id, label, *figures))
    return rows


def referrals(session: Session, estate_id: int, period: Period) -> Referrals:
    row = session.execute(referrals_statement(estate_id, period)).one()
    return Referrals(int(row.made), int(row.ordered), int(row.orders), int(row.ttc), int(row.ht))


def for_period(session: Session, estate_id: int, period: Period) -> PeriodStatistics:
    rows = series(session, estate_id, period)
    figures = key_figures(rows, *customers(session, estate_id, period))
    return PeriodStatistics(period=period, figures=figures, series=rows,
                            breakdown=breakdown(session, estate_id, period),
                            top_wines=top_wines(session, estate_id, period),
                            occasions=occasions(session, estate_id, period),
                            referrals=referrals(session, estate_id, period))


def for_year(session: Session, estate_id: int, year: int) -> PeriodStatistics:
    return for_period(session, estate_id, year_period(year))


# ----------------------------------------------------------------- CSV export


def _euros_cell(cents: int) -> str:
    """1234,56 (a French spreadsheet's decimal comma; no thousands separator, no €)."""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"


def _text_cell(value: object) -> str:
    """A text cell a spreadsheet will not run as a formula (=, +, -, @, tab, CR first)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def bucket_label(start: date, granularity: str) -> str:
    return start.isoformat() if granularity == "jour" else f"{start:%Y-%m}" if granularity == "mois" \
        else str(start.year)


def to_csv(stats: PeriodStatistics, labels: dict[object, str]) -> str:
    """The page's tables as one CSV (``;``, UTF-8 with BOM, CRLF): one section per table,
    each a title line then a header line, separated by an empty line. ``labels`` names
    customer types, delivery kinds and payment modes (translated by the caller)."""
    import csv
    import io

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    p, f = stats.period, stats.figures
    e = _euros_cell
    writer.writerow([_("Période"), p.start.isoformat(), p.end.isoformat(), _("Découpage"), p.granularity])
    writer.writerow([])
    writer.writerow([_("Chiffres clés")])
    writer.writerow([_("Commandes"), _("Bouteilles"), _("CA HT"), _("CA TTC"), _("Avoirs HT"), _("Avoirs TTC"),
                     _("CA net HT"), _("CA net TTC"), _("Panier moyen HT"), _("Panier moyen TTC"),
                     _("Nouveaux clients"), _("Clients fidèles")])
    writer.writerow([f.orders, f.bottles, e(f.gross_ht_cents), e(f.gross_ttc_cents), e(f.credit_ht_cents),
                     e(f.credit_ttc_cents), e(f.ht_cents), e(f.ttc_cents), e(f.average_basket_ht_cents),
                     e(f.average_basket_ttc_cents), f.new_customers, f.returning_customers])
    writer.writerow([])
    writer.writerow([_("Chiffre d'affaires par période")])
    writer.writerow([_("Date"), _("Commandes"), _("Bouteilles"), _("CA HT"), _("CA TTC"), _("Avoirs HT"),
                     _("Avoirs TTC"), _("CA net HT"), _("CA net TTC")])
    for r in stats.series:
        writer.writerow([bucket_label(r.start, p.granularity), r.orders, r.bottles, e(r.ht_cents), e(r.ttc_cents),
                         e(r.credit_ht_cents), e(r.credit_ttc_cents), e(r.net_ht_cents), e(r.net_ttc_cents)])
    for title, splits in ((_("Par type de client"), stats.breakdown.by_customer_type),
                          (_("Par mode de paiement"), stats.breakdown.by_payment),
                          (_("Par mode de livraison"), stats.breakdown.by_delivery)):
        writer.writerow([])
        writer.writerow([title])
        writer.writerow(["", _("Commandes"), _("CA HT"), _("CA TTC")])
        for s in splits:
            writer.writerow([_text_cell(labels.get(s.key, s.key)), s.orders, e(s.ht_cents), e(s.ttc_cents)])
    writer.writerow([])
    writer.writerow([_("Vins les plus vendus")])
    writer.writerow([_("Vin"), _("Millésime"), _("Bouteilles"), _("CA TTC")])
    for w in stats.top_wines:
        writer.writerow([_text_cell(w.name), w.vintage or "", w.bottles, e(w.ttc_cents)])
    writer.writerow([])
    writer.writerow([_("Achats groupés et salons")])
    writer.writerow(["", _("Nom"), _("Commandes"), _("Bouteilles"), _("CA HT"), _("CA TTC")])
    for o in stats.occasions:
        writer.writerow([labels.get(o.kind, o.kind), _text_cell(o.label), o.orders, o.bottles, e(o.ht_cents),
                         e(o.ttc_cents)])
    writer.writerow([])
    writer.writerow([_("Parrainage")])
    writer.writerow([_("Parrainages"), _("Filleuls ayant commandé"), _("Commandes"), _("CA HT"), _("CA TTC")])
    ref = stats.referrals
    writer.writerow([ref.made, ref.referees_who_ordered, ref.orders, e(ref.ht_cents), e(ref.ttc_cents)])
    return out.getvalue()
