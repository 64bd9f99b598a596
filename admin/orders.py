"""The orders table (htmx: filters, pages, row buttons that swap the row) and the
order page (fiche de suivi) with its documents."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from types import SimpleNamespace
from typing import Callable
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from htmx_flask import make_response as htmx_response
from jinja2_fragments.flask import render_block

from admin import bp
from admin.access import get_or_404

from models import DeliveryKind, Order, OrderStatus, PaymentMode, db, utcnow
from services import (audit, customer_orders, distributions, fairs, group_purchases, invoicing, mail, orders,
                      page_cache, payment_flow, reservations)
from services import sales_terms  # issue 15: the CGV version an order accepted
from services.delivery import KIND_LABELS
from services.templating import euros
from services.web import pdf_response

ACTIONS = {
    "paid": OrderStatus.PAID,
    "preparing": OrderStatus.PREPARING,
    "shipped": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
}


def _enum_arg(name: str, enum_type):  # type: ignore[no-untyped-def]
    value = request.args.get(name) or ""
    try:
        return enum_type(value) if value else None
    except ValueError:
        return None


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


def _filters() -> orders.OrderFilters:
    start, end = _date_arg("du"), _date_arg("au")
    as_utc = lambda d: datetime.combine(d, time.min, tzinfo=timezone.utc)  # noqa: E731
    return orders.OrderFilters(
        status=_enum_arg("statut", OrderStatus), payment_mode=_enum_arg("paiement", PaymentMode),
        delivery_kind=_enum_arg("livraison", DeliveryKind),
        date_from=as_utc(start) if start else None, date_to=as_utc(end + timedelta(days=1)) if end else None,
        query=(request.args.get("q") or "")[:100], estate_fair_id=_id_arg("salon"),
        group_purchase_id=_id_arg("achat"), distribution_id=_id_arg("distribution"),
        reservations_ready=request.args.get("reservations") == "pretes")


def _id_arg(name: str) -> int | None:
    value = request.args.get(name) or ""
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.get("/commandes")
def orders_table():  # type: ignore[no-untyped-def]
    """Kept per content (services.page_cache.serve_signed_in): its rows are read on every
    request and are the key, with the filters' fairs and group purchases and the
    estate's name; rendering 50 rows cost twice their SQL (issue 8, bench/README.md)."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = orders.search(db.session, _filters(), page)
    context = dict(rows=rows, total=total, page=page, pages=max((total - 1) // orders.PAGE_SIZE + 1, 1),
                   args={k: v for k, v in request.args.items() if k != "page"}, **_row_kit(rows))
    key = ("admin.orders_table", g.estate.id, g.estate.name, g.estate.slug, tuple(map(tuple, rows)), total,
           frozenset(context["ready"]))

    def with_token(csrf_token) -> dict:  # type: ignore[no-untyped-def]
        """The context with page_cache's token placeholder, for the row forms and the layout."""
        return dict(context, csrf=csrf_token(), csrf_token=csrf_token)

    if request.htmx and request.htmx.target == "orders-table":
        return page_cache.serve_signed_in(("block", *key), lambda csrf_token: render_block(
            "admin/orders.html", "orders_table", **with_token(csrf_token)))
    groups = group_purchases.filter_choices(db.session)
    fair_choices = fairs.filter_choices(db.session)
    sales = distributions.filter_choices(db.session)
    context.update(fairs=fair_choices, groups=groups, distributions=sales)
    key += (tuple(map(tuple, groups)), tuple(map(tuple, fair_choices)), tuple(map(tuple, sales)))
    return page_cache.serve_signed_in(key, lambda csrf_token: render_template(
        "admin/orders.html", **with_token(csrf_token)))


def _row_kit(rows) -> dict:  # type: ignore[no-untyped-def]
    """What the rows of the orders table share, worked out once per page rather than once
    per row (issue 8: a page of 50 rows costs its rows): the orders' URL (a row's links
    are this URL, the order's id and the routes below: ``/<id>``, ``/<id>/statut`` …),
    the CSRF token, the labels, words and formats of the language; and which rows are
    reservations ready to ship."""
    return dict(base=url_for("admin.orders_table"), csrf=generate_csrf(), actions=orders.next_actions,
                ready=reservations.ready_ids(db.session, rows),
                l10n=_l10n(str(get_locale()), str(get_timezone())))


@lru_cache(maxsize=16)
def _l10n(locale: str, zone: str) -> SimpleNamespace:
    """The table's labels, words, date and money formats in one language and time zone
    (the request's: the arguments are its cache key), translated once per process."""
    def texts(labels: dict) -> dict:  # type: ignore[type-arg]
        return {key: str(label) for key, label in labels.items()}

    return SimpleNamespace(
        status=texts(orders.STATUS_LABELS), payment=texts(orders.PAYMENT_LABELS), action=texts(orders.ACTION_LABELS),
        delivery=texts(KIND_LABELS), invoiced=_("Facturée"), ready=_("Prête à expédier"),
        order_form=_("Bon de commande"), invoice=_("Facture"), resend=_("Renvoyer l'email de confirmation"),
        tracking=_("N° de suivi (facultatif)"), tracking_label=_("Numéro de suivi"),
        cancel=_("Annuler la commande %(number)s ? Le stock sera remis en vente."),
        when=_short_datetimes(Locale.parse(locale), ZoneInfo(zone)), money=euros)  # euros: kept per amount


def _short_datetimes(locale: Locale, zone: ZoneInfo) -> Callable[[datetime | None], str]:
    """The ``localdatetime`` filter (``format_datetime(value, "short")``) for many values:
    the patterns are looked up once, not for every value."""
    layout = babel_dates.get_datetime_format("short", locale=locale).replace("'", "")
    date_pattern = babel_dates.get_date_format("short", locale=locale)
    time_pattern = babel_dates.get_time_format("short", locale=locale)

    def short(value: datetime | None) -> str:
        if not value:
            return ""
        local = value.astimezone(zone)
        return (layout.replace("{0}", time_pattern.apply(local, locale))
                .replace("{1}", date_pattern.apply(local, locale)))

    return short


def _actor() -> orders.Actor:
    return orders.Actor(current_user.id, current_user.full_name)


@bp.post("/commandes/<int:order_id>/statut")
def order_status(order_id: int):  # type: ignore[no-untyped-def]
    """The row buttons: "Paiement reçu", "En préparation", "Envoyée", "Livrée", "Annuler"."""
    order = get_or_404(Order, order_id)
    target = ACTIONS.get(request.form.get("to", ""))
    error = None
    if target is None:
        error = _("Action inconnue.")
    else:
        try:
            public_url = current_app.config["PUBLIC_URL"]
            before = audit.snapshot(order, "status", "tracking_number")
            if target is OrderStatus.PAID:
                payment_flow.mark_paid_by_hand(db.session, g.estate, order, _actor(), utcnow(), public_url)
            else:
                orders.transition(db.session, g.estate, order, target, actor=_actor(), now=utcnow(),
                                  public_url=public_url, tracking_number=request.form.get("tracking", ""))
            audit.record(db.session, g.estate.id, current_user, "order.status", order, before,
                         audit.snapshot(order, "status", "tracking_number"), order.number)
            db.session.commit()
        except orders.TransitionNotAllowed:
            db.session.rollback()
            error = _("Cette commande a changé entre-temps : action impossible depuis son statut actuel.")
        except invoicing.NotInvoiceable:
            db.session.rollback()
            error = _("Une commande non payée ne peut pas être facturée.")
        except reservations.NotYetAvailable as exc:
            db.session.rollback()
            error = _("Commande réservée : pas encore disponible : %(wines)s. Elle pourra partir dès que "
                      "tous ses vins réservés seront disponibles.", wines=", ".join(f"« {n} »" for n in exc.names))
    order = get_or_404(Order, order_id)
    if not error:
        mail.deliver_now()
    return _row_response(order, error)


def _row_response(order: Order, error: str | None):  # type: ignore[no-untyped-def]
    if request.htmx:
        html = render_block("admin/orders.html", "order_rows", rows=[order], error=error, **_row_kit([order]))
        return htmx_response(html, 422 if error else 200, trigger="order-changed")
    flash(error or _("Commande %(number)s : %(status)s.", number=order.number,
                     status=orders.STATUS_LABELS[order.status]), "error" if error else "success")
    back = request.form.get("back", "")
    return redirect(back if back.startswith(f"/gestion/{g.estate.slug}/") else url_for("admin.orders_table"))


@bp.post("/commandes/<int:order_id>/renvoyer-confirmation")
def order_resend(order_id: int):  # type: ignore[no-untyped-def]
    order = get_or_404(Order, order_id)
    orders.resend_confirmation(db.session, g.estate, order, current_app.config["PUBLIC_URL"])
    db.session.commit()
    mail.deliver_now()
    if request.htmx:
        html = render_block("admin/orders.html", "order_rows", rows=[order], error=None,
                            notice=_("Email de confirmation renvoyé."), **_row_kit([order]))
        return htmx_response(html, 200)
    flash(_("Email de confirmation renvoyé à %(email)s.", email=order.email), "success")
    return redirect(url_for("admin.order_page", order_id=order.id))


@bp.get("/commandes/<int:order_id>")
def order_page(order_id: int):  # type: ignore[no-untyped-def]
    order = get_or_404(Order, order_id)
    return render_template("admin/order.html", order=order, invoices=invoicing.invoices_of(db.session, order),
                           current_invoice=invoicing.current_invoice(db.session, order),
                           actions=orders.next_actions(order),
                           accepted_terms=sales_terms.version_of_order(db.session, order))  # issue 15


@bp.get("/commandes/<int:order_id>/<kind>.pdf")
def order_document(order_id: int, kind: str):  # type: ignore[no-untyped-def]
    """:raise 404: unknown document, or no invoice yet."""
    order = get_or_404(Order, order_id)
    document = customer_orders.document_of(db.session, order, kind) if kind in customer_orders.DOCUMENT_KINDS else None
    if document is None:
        abort(404)
    db.session.commit()  # an order form rendered for the first time is archived
    return pdf_response(document)


@bp.post("/commandes/<int:order_id>/facturer")
def order_invoice(order_id: int):  # type: ignore[no-untyped-def]
    order = get_or_404(Order, order_id)
    try:
        invoice = invoicing.issue_invoice(db.session, g.estate, order, utcnow())
        db.session.commit()
        flash(_("Facture %(number)s émise.", number=invoice.number), "success")
    except invoicing.AlreadyInvoiced:
        db.session.rollback()
        flash(_("Cette commande a déjà une facture."), "error")
    except invoicing.NotInvoiceable:
        db.session.rollback()
        flash(_("Une commande non payée ou annulée ne peut pas être facturée."), "error")
    return redirect(url_for("admin.order_page", order_id=order_id))


@bp.post("/commandes/<int:order_id>/facture-externe")
def order_external_invoice(order_id: int):  # type: ignore[no-untyped-def]
    """Seed 001: the invoice made in the estate's own software marks the order "facturée"."""
    order = get_or_404(Order, order_id)
    upload = request.files.get("invoice")
    content = upload.read() if upload else b""
    try:
        invoice = invoicing.upload_external_invoice(db.session, g.estate, order, content,
                                                    request.form.get("number", ""), utcnow())
        db.session.commit()
        flash(_("Facture %(number)s enregistrée : la commande est facturée.", number=invoice.number), "success")
    except invoicing.AlreadyInvoiced:
        db.session.rollback()
        flash(_("Cette commande a déjà une facture : pas de double facturation."), "error")
    except invoicing.InvalidInvoiceFile:
        db.session.rollback()
        flash(_("Le fichier doit être une facture au format PDF (10 Mo au plus)."), "error")
    return redirect(url_for("admin.order_page", order_id=order_id))


@bp.get("/commandes/<int:order_id>/documents/<int:invoice_id>.pdf")
def invoice_document(order_id: int, invoice_id: int):  # type: ignore[no-untyped-def]
    """Any invoice or credit note of the order, current or cancelled."""
    from models import Invoice

    invoice = get_or_404(Invoice, invoice_id)
    if invoice.order_id != order_id:
        abort(404)
    return pdf_response(invoice.document)
