"""Invoices and credit notes.

An issued invoice never changes: the ORM refuses any UPDATE of an Invoice row or of
an invoice's stored PDF, and no code path edits them; a correction is a credit note.
Numbers come from per-estate, per-year sequences taken inside the issuing
transaction (services.sequences): no gaps, no duplicates, even when invoicing runs
concurrently. An estate may instead upload the invoice made in its own software
(seed 001): the order is then "facturée" and a second invoice is refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import Document, Estate, Invoice, InvoiceKind, Order
from services.sequences import take_next

PDF_MAGIC = b"%PDF-"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class InvoiceImmutable(Exception):
    """An issued invoice (or its PDF) was about to be modified."""


class AlreadyInvoiced(Exception):
    """The order already has an invoice that no credit note cancels."""


class NotInvoiceable(Exception):
    """The order is not paid yet, or is cancelled."""


class InvalidInvoiceFile(ValueError):
    """The uploaded file is not a PDF, is empty or too large."""


@event.listens_for(Invoice, "before_update")
def _refuse_invoice_update(mapper, connection, target) -> None:  # type: ignore[no-untyped-def]
    raise InvoiceImmutable(target.number)


@event.listens_for(Document, "before_update")
def _refuse_document_update(mapper, connection, target) -> None:  # type: ignore[no-untyped-def]
    raise InvoiceImmutable(target.filename)


def invoices_of(session: Session, order: Order) -> list[Invoice]:
    return list(session.scalars(select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id)))


def current_invoice(session: Session, order: Order) -> Invoice | None:
    """The order's invoice that no credit note cancels, if any."""
    rows = invoices_of(session, order)
    credited = {row.credited_invoice_id for row in rows if row.kind is InvoiceKind.CREDIT_NOTE}
    live = [row for row in rows if row.kind is InvoiceKind.INVOICE and row.id not in credited]
    return live[-1] if live else None


def attachment_source(invoice: Invoice) -> str:
    return f"invoice:{invoice.id}"


def issue_invoice(session: Session, estate: Estate, order: Order, now: datetime) -> Invoice:
    """:raise AlreadyInvoiced: :raise NotInvoiceable: not paid, or cancelled."""
    from models import OrderStatus
    from services import documents

    if current_invoice(session, order) is not None:
        raise AlreadyInvoiced(order.number)
    if order.paid_at is None or order.status is OrderStatus.CANCELLED:
        raise NotInvoiceable(order.number)
    number = f"F{now.year}-{take_next(session, estate.id, f'invoice-{now.year}'):05d}"
    invoice = _new(session, estate, order, InvoiceKind.INVOICE, number, now)
    return documents.attach_invoice_pdf(session, estate, order, invoice, credited_number=None)


def issue_credit_note(session: Session, estate: Estate, order: Order, invoice: Invoice, now: datetime) -> Invoice:
    from services import documents

    number = f"AV{now.year}-{take_next(session, estate.id, f'credit-{now.year}'):05d}"
    credit = _new(session, estate, order, InvoiceKind.CREDIT_NOTE, number, now, credited=invoice)
    return documents.attach_invoice_pdf(session, estate, order, credit, credited_number=invoice.number)


def _new(session: Session, estate: Estate, order: Order, kind: InvoiceKind, number: str, now: datetime,
         credited: Invoice | None = None) -> Invoice:
    invoice = Invoice(estate_id=estate.id, order_id=order.id, kind=kind, number=number, issued_at=now,
                      total_ht_cents=order.total_ht_cents, total_vat_cents=order.total_vat_cents,
                      total_ttc_cents=order.total_ttc_cents,
                      credited_invoice_id=credited.id if credited else None)
    if order.invoiced_at is None:
        order.invoiced_at = now
    return invoice


def upload_external_invoice(session: Session, estate: Estate, order: Order, content: bytes, number: str,
                            now: datetime) -> Invoice:
    """Record the invoice the estate made in its own billing software.

    :raise AlreadyInvoiced: :raise InvalidInvoiceFile:
    """
    if current_invoice(session, order) is not None:
        raise AlreadyInvoiced(order.number)
    if not content or len(content) > MAX_UPLOAD_BYTES or not content.startswith(PDF_MAGIC):
        raise InvalidInvoiceFile("pdf")
    number = (number or "").strip()[:40] or f"EXT-{order.number}"
    document = Document(estate_id=estate.id, order_id=order.id, kind="external_invoice",
                        filename=f"facture-{_safe(number)}.pdf", content=content, created_at=now)
    invoice = Invoice(estate_id=estate.id, order_id=order.id, kind=InvoiceKind.INVOICE, number=number,
                      external=True, issued_at=now, total_ht_cents=order.total_ht_cents,
                      total_vat_cents=order.total_vat_cents, total_ttc_cents=order.total_ttc_cents,
                      document=document)
    session.add(invoice)
    order.invoiced_at = order.invoiced_at or now
    session.flush()
    return invoice


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)
