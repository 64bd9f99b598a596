"""The tamper-evident sales journal (CGI art. 286 I 3° bis: inalterability, security,
conservation, archiving).

Recording. Every issued invoice and credit note (Invoice rows, uploaded external
invoices included) and every payment that becomes SUCCEEDED is appended to its estate's
journal *in the transaction that makes it*, whatever the code path: two Session hooks
registered at import (app start imports this module; services.jobs and services.cli do
too) see every such change:

* ``after_flush``: new Invoice rows, new Payment rows born SUCCEEDED, and Payment rows
  whose ``status`` attribute moved to SUCCEEDED (the unit of work);
* ``do_orm_execute``: ORM bulk ``update(Payment).values(status=SUCCEEDED)`` statements
  (services.payment_flow.apply_payin settles pay-ins that way): the rows the statement
  is about to move are locked and listed first, recorded after it ran.

Entries are written with Core INSERTs on the session's connection; a rollback takes
them back with the sale, and the counter with them (no gap).

The chain. Per estate, ``seq`` is 1, 2, 3 … with no gap, taken from the estate's
``journal`` counter (services.sequences: a guarded UPDATE that keeps the row locked
until commit, so two transactions never chain on the same previous entry).
``previous_hash`` is the previous entry's ``hash`` (:data:`GENESIS` for the first) and
``hash`` is SHA-256 over the canonical JSON of *all* the entry's content columns
(:func:`entry_hash`). ``recorded_at`` is the event's own time (issued_at, succeeded_at,
the closing's ``now``), never earlier than the previous entry's: time and ``seq`` go up
together, so a period of time is a range of ``seq``. :func:`verify` (``flask journal
verify``, the back office's "Journal des ventes") names the first broken link.

Closings (:func:`close`, job ``journal-closings`` shortly after midnight, Paris): a
day, month or year's totals, the number of entries, the perpetual grand total
(invoices minus credit notes TTC since the first entry), sealed by a journal entry of
kind ``closing``. A day without any sale needs no closing; a month or year is closed
when it ends if it had any entry. Missed days are caught up, in order; a period is
closed once (unique key) and never before it ends.

Archives (:func:`export_archive`): a ZIP of a period's entries (CSV and JSON lines),
closings, invoice and credit-note PDFs and a manifest of their SHA-256; the ZIP's own
SHA-256 is kept (JournalArchive) and journaled (kind ``archive``).

Retention. Journal entries, closings, archives' records and issued invoices with their
PDFs are kept at least 10 years (Code de commerce L123-22, Livre des procédures
fiscales L102 B): no code path updates or deletes them, and the database refuses it
(triggers of migration 0018), so they are never purged, not even by a customer's
erasure (GDPR art. 17(3)(b): a legal obligation).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import IO, Any, Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import identity_key

from models import (Document, Estate, Invoice, InvoiceKind, JournalArchive, JournalClosing, JournalEntry, Order,
                    OrderLine, Payment, PaymentStatus, Sequence)
from services.sequences import _TAKE
from services.templating import PARIS

#: the previous hash of an estate's first entry
GENESIS = "0" * 64
#: the journal's counter in the estate's sequences
COUNTER = "journal"
SALES_KINDS = ("invoice", "credit_note", "payment")
PERIODS = ("day", "month", "year")
#: the longest period one archive covers (a leap year)
ARCHIVE_MAX_DAYS = 366

_ENTRY = JournalEntry.__table__
_PAYMENT = Payment.__table__


class PeriodNotOver(ValueError):
    """A closing was asked for a period that has not ended yet."""


class LaterClosingExists(ValueError):
    """A closing of the same kind already covers a later period: closings go in order."""


class InvalidArchivePeriod(ValueError):
    """The archive's dates are reversed, in the future, or span more than a year."""


#: InvalidArchivePeriod's reason → the French message
ARCHIVE_ERRORS = {
    "missing": _l("Indiquez le premier et le dernier jour de la période (jj/mm/aaaa)."),
    "order": _l("Le dernier jour doit être le premier jour ou après."),
    "future": _l("La période ne peut pas finir après aujourd'hui."),
    "too_long": _l("Une archive couvre au plus un an : choisissez une période plus courte."),
}


# ------------------------------------------------------------------ the chain


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the same data always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def iso_utc(at: datetime) -> str:
    """``2026-11-25T08:10:00.123456+00:00``: microseconds always written (both databases
    keep them), whatever zone the database handed the value back in."""
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(estate_id: int, seq: int, kind: str, reference: str, amount_cents: int, recorded_at: datetime,
               payload: str, previous_hash: str) -> str:
    """SHA-256 of every content column, as the canonical JSON of a list (unambiguous:
    no value can spill into the next)."""
    material = canonical_json([estate_id, seq, kind, reference, amount_cents, iso_utc(recorded_at), payload,
                               previous_hash])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Appended:
    seq: int
    hash: str
    recorded_at: datetime


def _take_seq(connection: Connection, estate_id: int) -> int:
    """services.sequences.take_next on a bare connection: the hooks run inside a flush,
    where the session cannot add the counter's first row (take_next's fallback). The
    first row is inserted ON CONFLICT DO NOTHING instead (two first uses at once: one
    inserts, the other waits for it, then both take their turn on the guarded UPDATE)."""
    for _ in range(2):
        taken = connection.execute(_TAKE, {"of_estate": estate_id, "counter": COUNTER}).scalar_one_or_none()
        if taken is not None:
            return taken - 1
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        connection.execute(upsert(Sequence.__table__).values(estate_id=estate_id, name=COUNTER, next_value=1)
                           .on_conflict_do_nothing())
    raise RuntimeError(f"journal counter of estate {estate_id} could not be advanced")


def append(connection: Connection, estate_id: int, kind: str, reference: str, amount_cents: int,
           payload: dict[str, Any], at: datetime) -> Appended:
    """Append one entry to the estate's journal, chained on the previous one. Three
    statements: the counter's UPDATE, the previous entry's hash, the INSERT."""
    seq = _take_seq(connection, estate_id)
    previous = None
    if seq > 1:
        previous = connection.execute(select(_ENTRY.c.hash, _ENTRY.c.recorded_at)
                                      .where(_ENTRY.c.estate_id == estate_id, _ENTRY.c.seq == seq - 1)).first()
    # A missing previous entry (only a tampered database lacks it) chains on GENESIS:
    # the sale is still recorded, and verify() names the gap.
    previous_hash = previous.hash if previous is not None else GENESIS
    recorded_at = at.astimezone(timezone.utc)
    if previous is not None and previous.recorded_at > recorded_at:
        recorded_at = previous.recorded_at.astimezone(timezone.utc)
    text = canonical_json(payload)
    reference = reference[:60]
    digest = entry_hash(estate_id, seq, kind, reference, amount_cents, recorded_at, text, previous_hash)
    connection.execute(insert(_ENTRY).values(estate_id=estate_id, seq=seq, kind=kind, reference=reference,
                                             amount_cents=amount_cents, recorded_at=recorded_at, payload=text,
                                             previous_hash=previous_hash, hash=digest))
    return Appended(seq, digest, recorded_at)


# ------------------------------------------------------------------ what is recorded


def _vat_breakdown(connection: Connection, order_id: int, order: Order | None) -> tuple[str | None, list[tuple]]:
    """The order's number and (rate, HT, VAT, TTC) per VAT rate: from the session's
    loaded order and lines when it has them (the invoice's PDF was just rendered from
    them), else one SELECT."""
    if order is not None and "number" in order.__dict__ and "lines" in order.__dict__:
        rates: dict[int, list[int]] = {}
        for line in order.lines:
            sums = rates.setdefault(line.vat_rate_bp, [0, 0, 0])
            sums[0], sums[1], sums[2] = sums[0] + line.ht_cents, sums[1] + line.vat_cents, sums[2] + line.ttc_cents
        return order.number, [(rate, *sums) for rate, sums in sorted(rates.items())]
    lines = connection.execute(
        select(Order.__table__.c.number, OrderLine.__table__.c.vat_rate_bp,
               func.sum(OrderLine.__table__.c.ht_cents), func.sum(OrderLine.__table__.c.vat_cents),
               func.sum(OrderLine.__table__.c.ttc_cents))
        .select_from(Order.__table__.outerjoin(OrderLine.__table__,
                                               OrderLine.__table__.c.order_id == Order.__table__.c.id))
        .where(Order.__table__.c.id == order_id)
        .group_by(Order.__table__.c.number, OrderLine.__table__.c.vat_rate_bp)
        .order_by(OrderLine.__table__.c.vat_rate_bp)).all()
    return (lines[0][0] if lines else None), [tuple(line[1:]) for line in lines if line[1] is not None]


def _invoice_payload(connection: Connection, invoice: Invoice, order: Order | None = None) -> dict[str, Any]:
    """Number, kind, date, order, totals and the VAT breakdown per rate (the order's
    lines: an invoice and its credit note carry the whole order, services.invoicing)."""
    number, rates = _vat_breakdown(connection, invoice.order_id, order)
    payload: dict[str, Any] = {
        "number": invoice.number, "kind": invoice.kind.value, "external": bool(invoice.external),
        "issued_at": iso_utc(invoice.issued_at), "order": number,
        "total_ht_cents": invoice.total_ht_cents, "total_vat_cents": invoice.total_vat_cents,
        "total_ttc_cents": invoice.total_ttc_cents,
        "vat": {str(rate): {"ht_cents": int(ht or 0), "vat_cents": int(vat or 0), "ttc_cents": int(ttc or 0)}
                for rate, ht, vat, ttc in rates},
    }
    if invoice.credited_invoice_id is not None:
        payload["credits"] = connection.execute(select(Invoice.__table__.c.number).where(
            Invoice.__table__.c.id == invoice.credited_invoice_id)).scalar()
    return payload


def record_invoice(connection: Connection, invoice: Invoice, order: Order | None = None) -> Appended:
    """``order``: the invoice's order if the session holds it loaded (saves a SELECT)."""
    kind = "credit_note" if invoice.kind is InvoiceKind.CREDIT_NOTE else "invoice"
    sign = -1 if kind == "credit_note" else 1
    return append(connection, invoice.estate_id, kind, invoice.number, sign * invoice.total_ttc_cents,
                  _invoice_payload(connection, invoice, order), invoice.issued_at)


def _payment_reference(payment_id: int, order_number: str) -> str:
    return f"P{payment_id} {order_number}"


def record_payment(connection: Connection, payment: Any, order: Order | None = None) -> Appended:
    """``payment``: a Payment or a row of the payment table (the bulk UPDATE path);
    ``order``: its order if the session holds it loaded (saves a SELECT)."""
    if order is not None and "number" in order.__dict__:
        order_number = order.number
    else:
        order_number = connection.execute(select(Order.__table__.c.number)
                                          .where(Order.__table__.c.id == payment.order_id)).scalar() or ""
    mode = payment.mode.value if hasattr(payment.mode, "value") else str(payment.mode)
    at = payment.succeeded_at or datetime.now(timezone.utc)
    payload = {"payment_id": payment.id, "order": order_number, "mode": mode, "provider": payment.provider,
               "amount_cents": payment.amount_cents,
               "provider_reference": payment.provider_payin_id or payment.wire_reference or "",
               "succeeded_at": iso_utc(at)}
    return append(connection, payment.estate_id, "payment", _payment_reference(payment.id, order_number),
                  payment.amount_cents, payload, at)


def _already_recorded(connection: Connection, payment: Payment) -> bool:
    return connection.execute(select(_ENTRY.c.id).where(
        _ENTRY.c.estate_id == payment.estate_id, _ENTRY.c.kind == "payment",
        _ENTRY.c.reference.like(f"P{payment.id} %")).limit(1)).first() is not None


@event.listens_for(Session, "after_flush")
def _record_flushed(session: Session, flush_context: object) -> None:
    """The unit of work's new invoices and succeeded payments, in event-time order."""
    found: list[tuple[datetime, int, int, Any]] = []
    for obj in session.new:
        if isinstance(obj, Invoice):
            found.append((obj.issued_at, 0, obj.id, obj))
        elif isinstance(obj, Payment) and obj.status is PaymentStatus.SUCCEEDED:
            found.append((obj.succeeded_at or obj.created_at, 1, obj.id, obj))
    unsure: set[int] = set()
    for obj in session.dirty:
        if isinstance(obj, Payment) and obj.status is PaymentStatus.SUCCEEDED:
            history = inspect(obj).attrs.status.history
            succeeded = PaymentStatus.SUCCEEDED
            if succeeded in (history.added or ()) and succeeded not in (history.deleted or ()):
                found.append((obj.succeeded_at or obj.created_at, 1, obj.id, obj))
                if not history.deleted:  # the old status was never loaded: it may have been SUCCEEDED
                    unsure.add(obj.id)
    if not found:
        return
    connection = session.connection()
    for _, rank, _, obj in sorted(found, key=lambda item: item[:3]):
        order = session.identity_map.get(identity_key(Order, obj.order_id))  # no SQL: loaded or None
        if rank == 0:
            record_invoice(connection, obj, order)
        elif obj.id not in unsure or not _already_recorded(connection, obj):
            record_payment(connection, obj, order)


def _sets_succeeded(statement: Any) -> bool:
    if getattr(getattr(statement, "table", None), "name", None) != _PAYMENT.name:
        return False
    for key, value in (getattr(statement, "_values", None) or {}).items():
        if getattr(key, "key", key) == "status":
            value = getattr(value, "value", value)
            return value in (PaymentStatus.SUCCEEDED, PaymentStatus.SUCCEEDED.value)
    return False


@event.listens_for(Session, "do_orm_execute")
def _record_bulk_payment_updates(state: ORMExecuteState) -> Any:
    """``update(Payment)...values(status=SUCCEEDED)``: the rows it moves are locked and
    listed before it runs (FOR UPDATE on PostgreSQL; SQLite's writer holds the database),
    and recorded once it ran."""
    if not state.is_update or not _sets_succeeded(state.statement):
        return None
    connection = state.session.connection()
    candidates = select(_PAYMENT.c.id).where(_PAYMENT.c.status != PaymentStatus.SUCCEEDED)
    if state.statement.whereclause is not None:
        candidates = candidates.where(state.statement.whereclause)
    ids = list(connection.execute(candidates.with_for_update()).scalars())
    result = state.invoke_statement()
    if ids:
        moved = connection.execute(select(_PAYMENT).where(_PAYMENT.c.id.in_(ids),
                                                          _PAYMENT.c.status == PaymentStatus.SUCCEEDED)
                                   .order_by(_PAYMENT.c.id)).all()
        for row in moved:
            record_payment(connection, row)
    return result


# ------------------------------------------------------------------ verification


@dataclass
class Broken:
    seq: int
    kind: str
    reference: str
    reason: str


@dataclass
class EstateReport:
    estate_id: int
    slug: str
    entries: int = 0
    closings: int = 0
    broken: Broken | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _journal_estates(session: Session) -> list[tuple[int, str]]:
    with_counter = select(Sequence.estate_id).where(Sequence.name == COUNTER)
    return list(session.execute(select(Estate.id, Estate.slug).where(Estate.id.in_(with_counter))
                                .order_by(Estate.id).execution_options(all_estates=True)).tuples())


def verify(session: Session, estate_id: int | None = None) -> list[EstateReport]:
    """Each estate's chain from its first entry, and its closings and archives against
    their entries: the first broken link per estate (entries are read in batches)."""
    if estate_id is None:
        estates = _journal_estates(session)
    else:
        estates = list(session.execute(select(Estate.id, Estate.slug).where(Estate.id == estate_id)
                                       .execution_options(all_estates=True)).tuples())
    return [_verify_estate(session, ident, slug) for ident, slug in estates]


def _verify_estate(session: Session, estate_id: int, slug: str) -> EstateReport:
    report = EstateReport(estate_id, slug)
    rows = session.execute(select(_ENTRY).where(_ENTRY.c.estate_id == estate_id).order_by(_ENTRY.c.seq)
                           .execution_options(yield_per=500, all_estates=True))
    expected, previous_hash = 1, GENESIS
    by_seq: dict[int, Any] = {}
    for row in rows:
        report.entries += 1
        if row.kind in ("closing", "archive"):
            by_seq[row.seq] = row
        if row.seq != expected:
            reason = (f"numéro {expected} manquant" if row.seq > expected
                      else f"numéro {row.seq} en double ou déplacé")
            report.broken = Broken(row.seq, row.kind, row.reference, reason)
            break
        if row.previous_hash != previous_hash:
            report.broken = Broken(row.seq, row.kind, row.reference,
                                   "chaînage rompu : l'empreinte précédente ne correspond pas")
            break
        if entry_hash(estate_id, row.seq, row.kind, row.reference, row.amount_cents, row.recorded_at, row.payload,
                      row.previous_hash) != row.hash:
            report.broken = Broken(row.seq, row.kind, row.reference,
                                   "empreinte incorrecte : l'écriture a été modifiée")
            break
        expected, previous_hash = expected + 1, row.hash
    rows.close()
    if report.broken is None:
        counted = session.scalar(select(Sequence.next_value).where(Sequence.estate_id == estate_id,
                                                                    Sequence.name == COUNTER)
                                 .execution_options(all_estates=True))
        if counted is not None and counted - 1 > report.entries:
            report.broken = Broken(report.entries + 1, "", "",
                                   f"écritures manquantes en fin de journal (le compteur en annonce {counted - 1})")
    if report.broken is None:
        report.broken = _verify_seals(session, estate_id, by_seq, report)
    return report


#: JournalClosing columns sealed in its entry's payload
_CLOSING_FIELDS = ("period", "entries", "sales_ttc_cents", "sales_ht_cents", "vat_cents", "credits_ttc_cents",
                   "payments_cents", "perpetual_total_cents", "last_seq")


def _verify_seals(session: Session, estate_id: int, by_seq: dict[int, Any], report: EstateReport) -> Broken | None:
    """Closings and archives: each row equals the journal entry that sealed it."""
    for closing in session.scalars(select(JournalClosing).where(JournalClosing.estate_id == estate_id)
                                   .order_by(JournalClosing.entry_seq).execution_options(all_estates=True)):
        report.closings += 1
        entry = by_seq.get(closing.entry_seq)
        reference = _closing_reference(closing.period, closing.starts_on)
        if entry is None or entry.kind != "closing" or entry.hash != closing.hash:
            return Broken(closing.entry_seq, "closing", reference,
                          "clôture : son empreinte ne correspond pas à son écriture du journal")
        sealed = json.loads(entry.payload)
        mismatch = [name for name in _CLOSING_FIELDS if sealed.get(name) != getattr(closing, name)]
        if (sealed.get("starts_on"), sealed.get("ends_on")) != (closing.starts_on.isoformat(),
                                                                 closing.ends_on.isoformat()):
            mismatch.append("dates")
        if mismatch:
            return Broken(closing.entry_seq, "closing", reference,
                          f"clôture modifiée ({', '.join(mismatch)} différent de son écriture)")
    for archive in session.scalars(select(JournalArchive).where(JournalArchive.estate_id == estate_id)
                                   .order_by(JournalArchive.entry_seq).execution_options(all_estates=True)):
        entry = by_seq.get(archive.entry_seq)
        if entry is None or entry.kind != "archive" or json.loads(entry.payload).get("sha256") != archive.sha256:
            return Broken(archive.entry_seq, "archive", archive.filename,
                          "archive : son empreinte ne correspond pas à son écriture du journal")
    return None


# ------------------------------------------------------------------ closings


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """The period of kind ``period`` that contains ``day``: first and last day."""
    if period == "day":
        return day, day
    if period == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    if period == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    raise ValueError(period)


def paris_midnight(day: date) -> datetime:
    """The instant the Paris day starts, in UTC."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(timezone.utc)


def _closing_reference(period: str, starts_on: date) -> str:
    return f"{period} {starts_on.isoformat()}"


def close(session: Session, estate_id: int, period: str, day: date, now: datetime) -> JournalClosing | None:
    """Close the ``period`` (day, month, year) containing ``day``: None when it is already
    closed. The entries it covers are those after the previous closing of the same kind
    and recorded before the period's end.

    :raise PeriodNotOver: :raise LaterClosingExists:
    """
    starts_on, ends_on = period_bounds(period, day)
    end = paris_midnight(ends_on + timedelta(days=1))
    if end > now:
        raise PeriodNotOver(period)
    owned = select(JournalClosing).where(JournalClosing.estate_id == estate_id, JournalClosing.period == period)
    owned = owned.execution_options(all_estates=True)
    if session.scalars(owned.where(JournalClosing.starts_on == starts_on)).first() is not None:
        return None
    if session.scalars(owned.where(JournalClosing.starts_on > starts_on)).first() is not None:
        raise LaterClosingExists(period)
    previous = session.scalars(owned.where(JournalClosing.starts_on < starts_on)
                               .order_by(JournalClosing.starts_on.desc()).limit(1)).first()
    after_seq = previous.last_seq if previous else 0
    totals = {"entries": 0, "sales_ttc_cents": 0, "sales_ht_cents": 0, "vat_cents": 0, "credits_ttc_cents": 0,
              "credits_ht_cents": 0, "credits_vat_cents": 0, "payments_cents": 0}
    last_seq = after_seq
    for row in session.execute(select(_ENTRY.c.seq, _ENTRY.c.kind, _ENTRY.c.amount_cents, _ENTRY.c.payload)
                               .where(_ENTRY.c.estate_id == estate_id, _ENTRY.c.seq > after_seq,
                                      _ENTRY.c.recorded_at < end)
                               .order_by(_ENTRY.c.seq).execution_options(all_estates=True)):
        last_seq = row.seq
        if row.kind == "closing":
            continue
        totals["entries"] += 1
        if row.kind == "invoice":
            sealed = json.loads(row.payload)
            totals["sales_ttc_cents"] += row.amount_cents
            totals["sales_ht_cents"] += sealed["total_ht_cents"]
            totals["vat_cents"] += sealed["total_vat_cents"]
        elif row.kind == "credit_note":
            sealed = json.loads(row.payload)
            totals["credits_ttc_cents"] -= row.amount_cents
            totals["credits_ht_cents"] += sealed["total_ht_cents"]
            totals["credits_vat_cents"] += sealed["total_vat_cents"]
        elif row.kind == "payment":
            totals["payments_cents"] += row.amount_cents
    net = totals["sales_ttc_cents"] - totals["credits_ttc_cents"]
    perpetual = (previous.perpetual_total_cents if previous else 0) + net
    payload = {"period": period, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
               "perpetual_total_cents": perpetual, "last_seq": last_seq, **totals}
    sealed_entry = append(session.connection(), estate_id, "closing", _closing_reference(period, starts_on), net,
                          payload, now)
    closing = JournalClosing(estate_id=estate_id, period=period, starts_on=starts_on, ends_on=ends_on,
                             entries=totals["entries"], sales_ttc_cents=totals["sales_ttc_cents"],
                             sales_ht_cents=totals["sales_ht_cents"], vat_cents=totals["vat_cents"],
                             credits_ttc_cents=totals["credits_ttc_cents"], payments_cents=totals["payments_cents"],
                             perpetual_total_cents=perpetual, last_seq=last_seq, entry_seq=sealed_entry.seq,
                             hash=sealed_entry.hash, closed_at=sealed_entry.recorded_at)
    session.add(closing)
    session.flush()
    return closing


def due_periods(session: Session, estate_id: int, period: str, today: date) -> list[date]:
    """First days of the ended periods of kind ``period`` that had an entry (closings
    aside) and are not closed yet, oldest first."""
    current_start = period_bounds(period, today)[0]
    last = session.scalars(select(JournalClosing).where(JournalClosing.estate_id == estate_id,
                                                        JournalClosing.period == period)
                           .order_by(JournalClosing.starts_on.desc()).limit(1)
                           .execution_options(all_estates=True)).first()
    recorded = session.scalars(select(_ENTRY.c.recorded_at).where(
        _ENTRY.c.estate_id == estate_id, _ENTRY.c.seq > (last.last_seq if last else 0), _ENTRY.c.kind != "closing",
        _ENTRY.c.recorded_at < paris_midnight(current_start)).execution_options(all_estates=True))
    starts = {period_bounds(period, at.astimezone(PARIS).date())[0] for at in recorded}
    return sorted(start for start in starts if last is None or start > last.starts_on)


def close_due(session: Session, now: datetime, estate_id: int | None = None) -> list[JournalClosing]:
    """The job ``journal-closings``: every estate's ended days, months and years with
    entries, in order (catching up missed runs). Running it twice makes nothing twice."""
    today = now.astimezone(PARIS).date()
    made: list[JournalClosing] = []
    estates = [estate_id] if estate_id is not None else [ident for ident, _ in _journal_estates(session)]
    for ident in estates:
        for period in PERIODS:
            for starts_on in due_periods(session, ident, period, today):
                closing = close(session, ident, period, starts_on, now)
                if closing is not None:
                    made.append(closing)
    return made


def close_up_to(session: Session, estate_id: int, period: str, day: date, now: datetime) -> JournalClosing | None:
    """Close by hand the period containing ``day``, after closing first any earlier one
    of the same kind still open with entries (closings go in order).

    :raise PeriodNotOver: :raise LaterClosingExists:
    """
    starts_on, ends_on = period_bounds(period, day)
    if paris_midnight(ends_on + timedelta(days=1)) > now:
        raise PeriodNotOver(period)
    for earlier in due_periods(session, estate_id, period, now.astimezone(PARIS).date()):
        if earlier < starts_on:
            close(session, estate_id, period, earlier, now)
    return close(session, estate_id, period, day, now)


def closings_of(session: Session, estate_id: int, period: str, limit: int | None = None) -> list[JournalClosing]:
    query = (select(JournalClosing).where(JournalClosing.estate_id == estate_id, JournalClosing.period == period)
             .order_by(JournalClosing.starts_on.desc()))
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def archives_of(session: Session, estate_id: int) -> list[JournalArchive]:
    return list(session.scalars(select(JournalArchive).where(JournalArchive.estate_id == estate_id)
                                .order_by(JournalArchive.id.desc())))


# ------------------------------------------------------------------ archives


ENTRY_COLUMNS = ("seq", "kind", "reference", "amount_cents", "recorded_at", "payload", "previous_hash", "hash")
CLOSING_COLUMNS = ("period", "starts_on", "ends_on", "entries", "sales_ttc_cents", "sales_ht_cents", "vat_cents",
                   "credits_ttc_cents", "payments_cents", "perpetual_total_cents", "last_seq", "entry_seq", "hash",
                   "closed_at")


def check_archive_period(starts_on: date | None, ends_on: date | None, today: date) -> None:
    """:raise InvalidArchivePeriod: with the reason as its first argument."""
    if starts_on is None or ends_on is None:
        raise InvalidArchivePeriod("missing")
    if ends_on < starts_on:
        raise InvalidArchivePeriod("order")
    if ends_on > today:
        raise InvalidArchivePeriod("future")
    if (ends_on - starts_on).days >= ARCHIVE_MAX_DAYS:
        raise InvalidArchivePeriod("too_long")


def archive_filename(slug: str, starts_on: date, ends_on: date) -> str:
    return f"journal-{slug}-{starts_on.isoformat()}-{ends_on.isoformat()}.zip"[:120]


def export_archive(session: Session, estate: Estate, starts_on: date, ends_on: date, now: datetime,
                   out: IO[bytes], user_id: int | None = None) -> JournalArchive:
    """Write the period's archive (a ZIP) to ``out`` (opened for writing and reading),
    record its SHA-256 and journal it. PDFs are read one at a time.

    :raise InvalidArchivePeriod:
    """
    check_archive_period(starts_on, ends_on, now.astimezone(PARIS).date())
    begin, end = paris_midnight(starts_on), paris_midnight(ends_on + timedelta(days=1))
    manifest: dict[str, dict[str, Any]] = {}
    stamp = now.astimezone(PARIS).timetuple()[:6]

    def put(archive: zipfile.ZipFile, name: str, content: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, content)
        manifest[name] = {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}

    entries = [dict(row._mapping) for row in session.execute(
        select(*(_ENTRY.c[name] for name in ENTRY_COLUMNS))
        .where(_ENTRY.c.estate_id == estate.id, _ENTRY.c.recorded_at >= begin, _ENTRY.c.recorded_at < end)
        .order_by(_ENTRY.c.seq).execution_options(all_estates=True))]
    for entry in entries:
        entry["recorded_at"] = iso_utc(entry["recorded_at"])
    closings = [{name: _plain(getattr(closing, name)) for name in CLOSING_COLUMNS}
                for closing in session.scalars(select(JournalClosing).where(
                    JournalClosing.estate_id == estate.id, JournalClosing.starts_on >= starts_on,
                    JournalClosing.starts_on <= ends_on).order_by(JournalClosing.entry_seq)
                    .execution_options(all_estates=True))]
    with zipfile.ZipFile(out, "w") as archive:
        put(archive, "journal.csv", _csv(ENTRY_COLUMNS, entries))
        put(archive, "journal.jsonl", _jsonl(entries))
        put(archive, "clotures.csv", _csv(CLOSING_COLUMNS, closings))
        put(archive, "clotures.jsonl", _jsonl(closings))
        documents = session.execute(
            select(Invoice.number, Invoice.kind, Document.filename, Document.content)
            .join(Document, Document.id == Invoice.document_id)
            .where(Invoice.estate_id == estate.id, Invoice.issued_at >= begin, Invoice.issued_at < end)
            .order_by(Invoice.issued_at, Invoice.id).execution_options(all_estates=True, yield_per=20))
        for number, kind, filename, content in documents:
            folder = "avoirs" if kind is InvoiceKind.CREDIT_NOTE else "factures"
            put(archive, f"{folder}/{filename}", content)
        put(archive, "manifest.json", (canonical_json({
            "estate": estate.slug, "siret": getattr(estate, "siret", "") or "", "from": starts_on.isoformat(),
            "to": ends_on.isoformat(), "generated_at": iso_utc(now), "entries": len(entries),
            "first_seq": entries[0]["seq"] if entries else None, "last_seq": entries[-1]["seq"] if entries else None,
            "last_hash": entries[-1]["hash"] if entries else None, "files": dict(manifest),
            "hash": "SHA-256 of each file; the ZIP's own SHA-256 is kept by Chai and written in the journal",
        }) + "\n").encode("utf-8"))
    size = out.tell()
    out.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: out.read(1 << 20), b""):
        digest.update(chunk)
    out.seek(0)
    filename = archive_filename(estate.slug, starts_on, ends_on)
    sealed = append(session.connection(), estate.id, "archive", filename[:60], 0,
                    {"from": starts_on.isoformat(), "to": ends_on.isoformat(), "filename": filename,
                     "sha256": digest.hexdigest(), "size": size, "entries": len(entries)}, now)
    record = JournalArchive(estate_id=estate.id, starts_on=starts_on, ends_on=ends_on, filename=filename,
                            sha256=digest.hexdigest(), size=size, entry_seq=sealed.seq, created_at=sealed.recorded_at,
                            created_by_user_id=user_id)
    session.add(record)
    session.flush()
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv(columns: Iterable[str], rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(canonical_json(row) + "\n" for row in rows).encode("utf-8")


# ------------------------------------------------------------------ the back office's summary


@dataclass
class Overview:
    report: EstateReport
    days: list[JournalClosing] = field(default_factory=list)
    months: list[JournalClosing] = field(default_factory=list)
    years: list[JournalClosing] = field(default_factory=list)
    archives: list[JournalArchive] = field(default_factory=list)


def overview(session: Session, estate_id: int) -> Overview:
    """What the "Journal des ventes" page shows: the chain's state, the last 31 daily
    closings, every monthly and yearly one, the archives."""
    return Overview(report=verify(session, estate_id)[0], days=closings_of(session, estate_id, "day", 31),
                    months=closings_of(session, estate_id, "month"), years=closings_of(session, estate_id, "year"),
                    archives=archives_of(session, estate_id))
