"""A customer's orders across estates (platform code: it opts out of the estate filter
and filters by user instead)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Document, Estate, Order, User
from services import documents, invoicing
from services.tenancy import all_estates

DOCUMENT_KINDS = ("bon-de-commande", "facture")


@dataclass(frozen=True)
class OrderRow:
    order: Order
    estate: Estate
    has_invoice: bool


def history(session: Session, user: User) -> list[OrderRow]:
    with all_estates(session):
        rows = session.execute(
            select(Order, Estate).join(Estate, Estate.id == Order.estate_id)
            .where(Order.user_id == user.id).order_by(Order.created_at.desc())
        ).all()
        invoiced = _invoiced_order_ids(session, select(Order.id).where(Order.user_id == user.id))
        return [OrderRow(order, estate, order.id in invoiced) for order, estate in rows]


def _invoiced_order_ids(session: Session, order_ids) -> set[int]:  # type: ignore[no-untyped-def]
    """The orders (of the ``order_ids`` subquery) that have an invoice no credit note
    cancels (invoicing.current_invoice's rule), in one query instead of one per order."""
    from models import Invoice, InvoiceKind

    rows = session.execute(select(Invoice.id, Invoice.order_id, Invoice.kind, Invoice.credited_invoice_id)
                           .where(Invoice.order_id.in_(order_ids))).all()
    credited = {row.credited_invoice_id for row in rows if row.kind is InvoiceKind.CREDIT_NOTE}
    return {row.order_id for row in rows if row.kind is InvoiceKind.INVOICE and row.id not in credited}


def document_for_customer(session: Session, user: User, order_id: int, kind: str) -> Document | None:
    if kind not in DOCUMENT_KINDS:
        return None
    with all_estates(session):
        order = session.scalars(select(Order).where(Order.id == order_id, Order.user_id == user.id)).first()
        if order is None:
            return None
        return document_of(session, order, kind)


def document_of(session: Session, order: Order, kind: str) -> Document | None:
    """The order form (rendered and archived on first use) or the current invoice."""
    if kind == "bon-de-commande":
        return documents.order_form(session, session.get(Estate, order.estate_id), order)
    invoice = invoicing.current_invoice(session, order)
    return invoice.document if invoice else None


@dataclass(frozen=True)
class EstateAccount:
    estate: Estate
    customer: object  #: models.EstateCustomer
    ledger: list
    vouchers: list
    cagnotte: tuple[int, int]  #: (spent within the current step, step); step 0: no cagnotte
    codes: list  #: promo codes reserved to (or won by) this customer


def accounts(session: Session, user: User) -> list[EstateAccount]:
    """The user's line in each estate's customer file, with its loyalty movements."""
    from models import EstateCustomer, LoyaltyEntry

    with all_estates(session):
        rows = session.execute(
            select(EstateCustomer, Estate).join(Estate, Estate.id == EstateCustomer.estate_id)
            .where((EstateCustomer.user_id == user.id) | (EstateCustomer.email == user.email))
            .order_by(Estate.name)
        ).all()
        result = []
        for customer, estate in rows:
            ledger = list(session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.customer_id == customer.id)
                                          .order_by(LoyaltyEntry.id.desc()).limit(10)))
            from services import vouchers

            spent = vouchers.spent_cents(session, customer)
            from models import Promotion, promotion_customer

            codes = list(session.scalars(select(Promotion).join(promotion_customer,
                                                                promotion_customer.c.promotion_id == Promotion.id)
                                         .where(promotion_customer.c.customer_id == customer.id,
                                                Promotion.is_active.is_(True))))
            result.append(EstateAccount(estate, customer, ledger, vouchers.of_customer(session, customer),
                                        vouchers.progress(estate, customer, spent), codes))
        return result


ADDRESS_FIELDS = ("billing_street", "billing_postcode", "billing_city", "shipping_street", "shipping_postcode",
                  "shipping_city")


def update_addresses(session: Session, user: User, customer_id: int, form) -> bool:  # type: ignore[no-untyped-def]
    """Validate and apply; False when the line is not the user's (nothing changes)."""
    from models import EstateCustomer

    with all_estates(session):
        customer = session.scalars(select(EstateCustomer).where(
            EstateCustomer.id == customer_id,
            (EstateCustomer.user_id == user.id) | (EstateCustomer.email == user.email))).first()
        if customer is None:
            return False
        if form.validate():
            for name in ADDRESS_FIELDS:
                setattr(customer, name, (getattr(form, name).data or "").strip())
            session.flush()
        return True
