"""The PDFs: order forms (archived at first use) and invoices (rendered when issued).

Rendering needs the app's templates (an application context), not a request.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Document, Estate, Invoice, InvoiceKind, Order
from services.pdf import html_to_pdf


def _render(template: str, **context: object) -> bytes:
    """Documents are French, whatever language the visitor who triggers them reads."""
    from flask import render_template
    from flask_babel import force_locale

    with force_locale("fr"):
        return html_to_pdf(render_template(template, **context))


def _labels(order: Order) -> dict[str, str]:
    from flask_babel import force_locale

    from services.orders import PAYMENT_LABELS, STATUS_LABELS

    with force_locale("fr"):  # the documents' language, not the visitor's
        return {"payment_label": str(PAYMENT_LABELS[order.payment_mode]),
                "status_label": str(STATUS_LABELS[order.status])}


def order_form(session: Session, estate: Estate, order: Order) -> Document:
    """The archived "bon de commande": rendered once, then always the same bytes."""
    existing = session.scalars(
        select(Document).where(Document.order_id == order.id, Document.kind == "order_form")
    ).first()
    if existing is not None:
        return existing
    content = _render("pdf/order_form.html", order=order, estate=estate, **_labels(order))
    document = Document(estate_id=estate.id, order_id=order.id, kind="order_form",
                        filename=f"bon-de-commande-{order.number}.pdf", content=content)
    session.add(document)
    session.flush()
    return document


def attach_invoice_pdf(session: Session, estate: Estate, order: Order, invoice: Invoice,
                       credited_number: str | None) -> Invoice:
    """Render the invoice or credit note as a Factur-X PDF (PDF/A-3 with its EN 16931
    XML, services.facturx) and store it as the invoice's document.

    :raise facturx.FacturXError: the invoice's totals disagree with the order's lines.
    """
    from services import facturx

    kind = "invoice" if invoice.kind is InvoiceKind.INVOICE else "credit_note"
    prefix = "facture" if kind == "invoice" else "avoir"
    credited = session.get(Invoice, invoice.credited_invoice_id) if invoice.credited_invoice_id else None
    buyer = facturx.buyer_ids(session, order, credited)
    labels = _labels(order)
    pdf = _render("pdf/invoice.html", invoice=invoice, order=order, estate=estate,
                  credited_number=credited_number, paid_at=order.paid_at, buyer_siret=buyer.siret,
                  buyer_vat_number=buyer.vat_number, ship_to=facturx.ship_to(order), **labels)
    xml = facturx.invoice_xml(invoice, order, estate, buyer=buyer, credited=credited,
                              payment_label=labels["payment_label"],
                              notes=facturx.mentions(order, is_credit=kind == "credit_note",
                                                     credited_number=credited_number))
    title = f"{'Facture' if kind == 'invoice' else 'Avoir'} n° {invoice.number}"
    seller = estate.legal_name or estate.name
    content = facturx.pdfa3(pdf, xml, title=title, author=seller, subject=f"{title} — {seller}")
    invoice.document = Document(estate_id=estate.id, order_id=order.id, kind=kind,
                                filename=f"{prefix}-{invoice.number}.pdf", content=content,
                                created_at=invoice.issued_at)
    session.add(invoice)
    session.flush()
    return invoice


def resolve(session: Session, source: str) -> Document:
    """An outbox attachment's document: "order_form:<order id>", "invoice:<invoice id>",
    "document:<document id>", "sales_terms:<CGV version id>" (issue 15) or
    "distribution_sheet:<distribution id>" (not stored).

    :raise LookupError: the source names nothing.
    """
    kind, _, ident = source.partition(":")
    if not ident.isdigit():
        raise LookupError(source)
    if kind == "order_form":
        order = session.get(Order, int(ident))
        if order is None:
            raise LookupError(source)
        estate = session.get(Estate, order.estate_id)
        return order_form(session, estate, order)
    if kind == "invoice":
        invoice = session.get(Invoice, int(ident))
        if invoice is None:
            raise LookupError(source)
        return invoice.document
    if kind == "distribution_sheet":  # a producer group's distribution sheet, rendered as the mail leaves
        from models import Distribution
        from services import distributions

        distribution = session.get(Distribution, int(ident))
        if distribution is None:
            raise LookupError(source)
        return Document(kind="distribution_sheet", filename=f"feuille-de-distribution-{distribution.id}.pdf",
                        content_type="application/pdf", content=distributions.sheet_pdf(session, distribution))
    if kind == "operator_invoice":  # the operator's subscription invoice (services.subscriptions), as issued
        from models import OperatorInvoice

        invoice = session.get(OperatorInvoice, int(ident))
        if invoice is None:
            raise LookupError(source)
        return Document(kind="operator_invoice", filename=f"facture-{invoice.number}.pdf",
                        content_type="application/pdf", content=invoice.pdf)
    if kind == "sales_terms":  # issue 15: a published CGV version, as rendered at publication
        from models import SalesTerms
        from services.sales_terms import filename

        terms = session.get(SalesTerms, int(ident))
        if terms is None:
            raise LookupError(source)
        return Document(kind="sales_terms", filename=filename(terms), content_type="application/pdf",
                        content=terms.pdf)
    if kind == "document":  # a stored PDF as is (a group purchase's picking list)
        document = session.get(Document, int(ident))
        if document is None:
            raise LookupError(source)
        return document
    raise LookupError(source)
