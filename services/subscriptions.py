"""Estates' subscriptions and the operator's quarterly invoices (seed 000, issue 13).

* A :class:`models.Subscription` has a plan (monthly price HT), a start date, a billing
  email and a payment mode (virement or chèque). A cancellation, on the estate's written
  request recorded by the operator (:func:`cancel`), takes effect at the end of the
  month it was asked in.
* Early in each calendar quarter (1 January, April, July, October) the
  ``bill-subscriptions`` job (:func:`bill_quarter`) issues one invoice per estate for the
  quarter just ended, counting every month begun while subscribed ("tout mois commencé
  est dû": :func:`months_due`), less the free months owed to it (sponsoring, "Nos amis
  vignerons"), each used once. One invoice per estate and quarter (a unique key): a
  second run issues nothing more. Numbers come from the operator's own gapless counter
  (``ABO-000001``), VAT is 20 % through services.pricing.split_vat, the PDF carries the
  operator's legal mentions (``OPERATOR`` in the config) and is emailed through the outbox.
* The operator records payments (transfer or cheque received); an invoice unpaid 30
  days after issue gets one reminder (the daily ``remind-subscriptions`` job).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import (
    Estate,
    FreeMonth,
    FriendLead,
    OperatorInvoice,
    OperatorInvoiceLine,
    OperatorPayment,
    Plan,
    Subscription,
)
from services import accounts
from services.errors import FieldError
from services.pricing import split_vat
from services.sequences import take_platform_next

VAT_BP = 2000
PAYMENT_DAYS = 30  #: invoices are due 30 days after issue; the reminder goes out then
PAYMENT_MODES = ("transfer", "cheque")
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")


class InvalidSubscription(FieldError):
    """A plan, subscription or payment input breaks a rule (``field``, ``code``)."""


# ----------------------------------------------------------------------- calendar


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def previous_quarter(today: date) -> tuple[date, date]:
    """(first day, last day) of the quarter before the one ``today`` is in."""
    end = quarter_start(today) - timedelta(days=1)
    return quarter_start(end), end


def months_due(subscription: Subscription, start: date, end: date) -> list[date]:
    """The first days of the months of [start, end] begun while subscribed."""
    due = []
    month = date(start.year, start.month, 1)
    while month <= end:
        begun = subscription.starts_on <= month_end(month)
        not_ended = subscription.ends_on is None or subscription.ends_on >= month
        if begun and not_ended:
            due.append(month)
        month = month_end(month) + timedelta(days=1)
    return due


def month_label(month: date) -> str:
    return f"{MONTHS_FR[month.month - 1]} {month.year}"


# ---------------------------------------------------------------- subscriptions


def save_plan(session: Session, name: str, monthly_price_cents: int | None, plan: Plan | None = None) -> Plan:
    """:raise InvalidSubscription:"""
    name = (name or "").strip()
    if not name:
        raise InvalidSubscription("name", "required")
    if monthly_price_cents is None or monthly_price_cents < 0:
        raise InvalidSubscription("price", "invalid")
    clash = session.scalars(select(Plan.id).where(Plan.name == name)).first()
    if clash is not None and (plan is None or clash != plan.id):
        raise InvalidSubscription("name", "taken")
    plan = plan or Plan(is_active=True)
    plan.name, plan.monthly_price_cents = name[:80], monthly_price_cents
    session.add(plan)
    session.flush()
    return plan


def plans(session: Session) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.monthly_price_cents, Plan.name)))


def subscribe(session: Session, estate: Estate, *, plan_id: int | None, starts_on: date | None, billing_email: str,
              payment_mode: str) -> Subscription:
    """Record (or change) the estate's subscription. An estate onboarded from a
    sponsor's lead gives that sponsor one free month, once (:class:`models.FreeMonth`
    has one row per lead at most).

    :raise InvalidSubscription:
    """
    plan = session.get(Plan, plan_id) if plan_id else None
    if plan is None:
        raise InvalidSubscription("plan", "required")
    if starts_on is None:
        raise InvalidSubscription("starts_on", "required")
    email = (billing_email or "").strip().lower()
    if not accounts.is_email(email):
        raise InvalidSubscription("billing_email", "invalid")
    if payment_mode not in PAYMENT_MODES:
        raise InvalidSubscription("payment_mode", "unknown")
    subscription = session.scalars(select(Subscription).where(Subscription.estate_id == estate.id)).first()
    if subscription is None:
        subscription = Subscription(estate_id=estate.id)
        session.add(subscription)
    elif subscription.ends_on is not None and starts_on <= subscription.ends_on:
        raise InvalidSubscription("starts_on", "before_end")
    else:
        if subscription.ends_on is not None:  # subscribing again after a cancellation
            subscription.cancel_requested_on, subscription.ends_on = None, None
    subscription.plan_id, subscription.starts_on = plan.id, starts_on
    subscription.billing_email, subscription.payment_mode = email, payment_mode
    session.flush()
    _reward_sponsor(session, estate)
    return subscription


def _reward_sponsor(session: Session, estate: Estate) -> None:
    from services.tenancy import all_estates

    with all_estates(session):
        lead = session.scalars(select(FriendLead).where(FriendLead.onboarded_estate_id == estate.id)
                               .order_by(FriendLead.id)).first()
        if lead is None:
            return
        if session.scalar(select(FreeMonth.id).where(FreeMonth.lead_id == lead.id)) is not None:
            return
        session.add(FreeMonth(estate_id=lead.estate_id, lead_id=lead.id,
                              reason=f"Parrainage : {estate.name} s'est abonné"))
        session.flush()


def cancel(session: Session, subscription: Subscription, requested_on: date | None) -> None:
    """The written request of ``requested_on`` ends the subscription at that month's end.

    :raise InvalidSubscription:
    """
    if requested_on is None:
        raise InvalidSubscription("requested_on", "required")
    if requested_on < subscription.starts_on.replace(day=1):
        raise InvalidSubscription("requested_on", "before_start")
    subscription.cancel_requested_on = requested_on
    subscription.ends_on = max(month_end(requested_on), subscription.starts_on)
    session.flush()


def status(subscription: Subscription | None, today: date) -> str:
    """"trial" (en essai: no subscription yet, or not started), "active" or "cancelled"."""
    if subscription is None or subscription.starts_on > today:
        return "trial"
    if subscription.ends_on is not None and subscription.ends_on < today:
        return "cancelled"
    return "active"


# --------------------------------------------------------------------- invoicing


@dataclass(frozen=True)
class Line:
    label: str
    quantity: int
    unit_ht_cents: int

    @property
    def total_ht_cents(self) -> int:
        return self.quantity * self.unit_ht_cents


def invoice_lines(subscription: Subscription, months: list[date], free: list[FreeMonth]) -> list[Line]:
    """One line per month due, then one per free month deducted (never below zero)."""
    price = subscription.plan.monthly_price_cents
    lines = [Line(f"Abonnement {subscription.plan.name} — {month_label(m)}", 1, price) for m in months]
    for credit in free[:len(months)]:
        lines.append(Line(f"Mois offert — {credit.reason}", 1, -price))
    return lines


def bill_quarter(session: Session, now: datetime, *, config: dict | None = None) -> list[OperatorInvoice]:
    """Issue the invoices of the quarter before ``now``'s (Paris date); nothing twice."""
    from services.templating import PARIS

    today = now.astimezone(PARIS).date()
    start, end = previous_quarter(today)
    issued = []
    subscriptions = session.scalars(select(Subscription).order_by(Subscription.estate_id)).all()
    for subscription in subscriptions:
        months = months_due(subscription, start, end)
        if not months:
            continue
        if session.scalar(select(OperatorInvoice.id).where(OperatorInvoice.estate_id == subscription.estate_id,
                                                           OperatorInvoice.period_start == start)) is not None:
            continue
        free = list(session.scalars(select(FreeMonth).where(FreeMonth.estate_id == subscription.estate_id,
                                                            FreeMonth.invoice_id.is_(None)).order_by(FreeMonth.id)))
        issued.append(_issue(session, subscription, start, end, invoice_lines(subscription, months, free),
                             free[:len(months)], now, config or {}))
    return issued


def _issue(session: Session, subscription: Subscription, start: date, end: date, lines: list[Line],
           used: list[FreeMonth], now: datetime, config: dict) -> OperatorInvoice:
    from services import mail
    from services.templating import PARIS

    estate = session.get(Estate, subscription.estate_id)
    ht = sum(line.total_ht_cents for line in lines)
    split = split_vat(ht, VAT_BP, includes_vat=False)  # the one VAT rounding rule
    number = f"ABO-{take_platform_next(session, 'operator_invoice'):06d}"
    address = ", ".join(p for p in (estate.legal_name or estate.name, estate.street,
                                    f"{estate.postcode} {estate.city}".strip()) if p)
    invoice = OperatorInvoice(
        number=number, estate_id=estate.id, period_start=start, period_end=end, issued_at=now,
        due_on=now.astimezone(PARIS).date() + timedelta(days=PAYMENT_DAYS), billing_email=subscription.billing_email,
        buyer_name=(estate.legal_name or estate.name)[:160], buyer_address=address[:400],
        payment_mode=subscription.payment_mode, total_ht_cents=split.ht_cents, total_vat_cents=split.vat_cents,
        total_ttc_cents=split.ttc_cents, pdf=b"")
    invoice.lines = [OperatorInvoiceLine(label=line.label[:255], quantity=line.quantity,
                                         unit_ht_cents=line.unit_ht_cents, total_ht_cents=line.total_ht_cents)
                     for line in lines]
    session.add(invoice)
    session.flush()
    for credit in used:
        taken = session.execute(update(FreeMonth).where(FreeMonth.id == credit.id, FreeMonth.invoice_id.is_(None))
                                .values(invoice_id=invoice.id).execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            raise RuntimeError(f"free month {credit.id} used twice")
    invoice.pdf = render_pdf(invoice, estate, config)  # rendered once, kept as issued
    session.flush()
    mail.queue_template(session, "operator_invoice", recipient=invoice.billing_email, estate_id=estate.id,
                        subject=f"Chai - Facture d'abonnement {invoice.number}", invoice=invoice, estate=estate,
                        operator=operator_identity(config), attachments=[f"operator_invoice:{invoice.id}"])
    return invoice


def operator_identity(config: dict) -> dict:
    """The operator's legal mentions (``OPERATOR`` in the config), with defaults for the demo."""
    defaults = {
        "name": "Chai SAS", "address": "12 rue de la Vigne, 69001 Lyon", "siret": "", "vat_number": "",
        "rcs": "", "capital": "", "iban": "", "bic": "", "email": "facturation@chai.example",
    }
    return {**defaults, **(config.get("OPERATOR") or {})}


def render_pdf(invoice: OperatorInvoice, estate: Estate, config: dict) -> bytes:
    from services.documents import _render

    return _render("pdf/operator_invoice.html", invoice=invoice, estate=estate, operator=operator_identity(config),
                   vat_percent=VAT_BP // 100, payment_days=PAYMENT_DAYS)


def record_payment(session: Session, invoice: OperatorInvoice, *, amount_cents: int | None, method: str,
                   reference: str, received_on: date | None, actor_user_id: int | None,
                   now: datetime) -> OperatorPayment:
    """:raise InvalidSubscription:"""
    if amount_cents is None or amount_cents <= 0:
        raise InvalidSubscription("amount", "invalid")
    if method not in PAYMENT_MODES:
        raise InvalidSubscription("method", "unknown")
    if received_on is None:
        raise InvalidSubscription("received_on", "required")
    payment = OperatorPayment(invoice_id=invoice.id, amount_cents=amount_cents, method=method,
                              reference=(reference or "").strip()[:80], received_on=received_on,
                              recorded_by_user_id=actor_user_id, created_at=now)
    session.add(payment)
    session.flush()
    received = session.scalar(select(func.coalesce(func.sum(OperatorPayment.amount_cents), 0))
                              .where(OperatorPayment.invoice_id == invoice.id)) or 0
    if received >= invoice.total_ttc_cents:
        session.execute(update(OperatorInvoice).where(OperatorInvoice.id == invoice.id,
                                                      OperatorInvoice.paid_at.is_(None))
                        .values(paid_at=now).execution_options(synchronize_session=False))
        session.refresh(invoice)
    return payment


def received_cents(session: Session, invoice_id: int) -> int:
    return session.scalar(select(func.coalesce(func.sum(OperatorPayment.amount_cents), 0))
                          .where(OperatorPayment.invoice_id == invoice_id)) or 0


def unpaid(session: Session) -> list[OperatorInvoice]:
    return list(session.scalars(select(OperatorInvoice).where(OperatorInvoice.paid_at.is_(None),
                                                              OperatorInvoice.total_ttc_cents > 0)
                                .order_by(OperatorInvoice.issued_at, OperatorInvoice.id)))


def remind(session: Session, now: datetime, *, config: dict | None = None) -> list[OperatorInvoice]:
    """One reminder for each invoice still unpaid 30 days after issue (guarded UPDATE)."""
    from services import mail

    reminded = []
    for invoice in session.scalars(select(OperatorInvoice).where(
            OperatorInvoice.paid_at.is_(None), OperatorInvoice.reminder_sent_at.is_(None),
            OperatorInvoice.total_ttc_cents > 0,
            OperatorInvoice.issued_at <= now - timedelta(days=PAYMENT_DAYS)).order_by(OperatorInvoice.id)).all():
        claimed = session.execute(update(OperatorInvoice).where(OperatorInvoice.id == invoice.id,
                                                                OperatorInvoice.reminder_sent_at.is_(None))
                                  .values(reminder_sent_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            continue
        session.refresh(invoice)
        mail.queue_template(session, "operator_invoice_reminder", recipient=invoice.billing_email,
                            estate_id=invoice.estate_id, subject=f"Chai - Rappel : facture {invoice.number}",
                            invoice=invoice, received=received_cents(session, invoice.id),
                            operator=operator_identity(config or {}),
                            attachments=[f"operator_invoice:{invoice.id}"])
        reminded.append(invoice)
    return reminded


# ------------------------------------------------------------------------- jobs


def bill_due(session: Session, now: datetime) -> None:
    """The ``bill-subscriptions`` job (services.jobs): the quarter just ended."""
    from flask import current_app

    bill_quarter(session, now, config=current_app.config)


def remind_due(session: Session, now: datetime) -> None:
    """The ``remind-subscriptions`` job: invoices unpaid 30 days after issue."""
    from flask import current_app

    remind(session, now, config=current_app.config)
