"""The order lifecycle from the vigneron's side: the htmx orders table, emails with
PDFs, invoices (gapless, immutable, or uploaded), credit notes, the customer area."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timezone

import pytest
from flask import url_for
from flask_babel import force_locale, format_datetime
from pypdf import PdfReader
from sqlalchemy import func, select

from models import Estate, Invoice, InvoiceKind, Order, OrderStatus, Wine, db, utcnow
from services import invoicing, orders
from services.templating import euros
from services.tenancy import scope_to_estate
from tests.conftest import checkout_form, first_orderable_wine, visitor, login, make_app, session_for, text_of
from tests.integration.test_query_counts import add_orders, staff_client
from tests.querycount import count_queries

VERNETTE = "domaine-de-la-vernette"
HX = {"HX-Request": "true"}


def _order(app, n: int = 1, payment: str = "cheque", delivery: str = "home", stock: int = 200,  # type: ignore[no-untyped-def]
           who: str = "acheteur") -> list[int]:
    """Place ``n`` orders of 6 bottles as new customers; returns the ids of all orders."""
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=stock)
    for i in range(n):
        client = visitor(app)
        client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
        response = client.post(f"/{VERNETTE}/commande", data=checkout_form(
            token=f"{who}{i}", email=f"{who}{i}@example.com", payment_mode=payment, delivery=delivery))
        assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        return list(session.scalars(select(Order.id).order_by(Order.id)))


def _status(app, order_id: int) -> OrderStatus:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.get(Order, order_id).status


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_state_machine_allows_only_the_documented_moves():
    S = OrderStatus
    assert orders.TRANSITIONS[S.PENDING_PAYMENT] == {S.PAID, S.RESERVED, S.CANCELLED}
    assert orders.TRANSITIONS[S.RESERVED] == orders.TRANSITIONS[S.PAID]  # guarded by services.reservations
    assert orders.TRANSITIONS[S.SHIPPED] == {S.DELIVERED}
    assert orders.TRANSITIONS[S.DELIVERED] == set() and orders.TRANSITIONS[S.CANCELLED] == set()
    assert set(orders.TRANSITIONS) == set(S)


def test_paiement_recu_then_envoyee_swap_the_row_and_send_the_invoice(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    (order_id,) = _order(app)
    smtp.mailbox.wait_for(2)  # confirmation + copy to the estate
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    table = staff.get(f"/gestion/{VERNETTE}/commandes").get_data(as_text=True)
    assert f'id="order-{order_id}"' in table and "Paiement reçu" in table

    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "paid"}, headers=HX)
    row = text_of(response)
    assert response.status_code == 200 and row.lstrip().startswith(f'<tr id="order-{order_id}">')
    assert "Payée" in row and "Envoyée" in row
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut",
                          data={"to": "shipped", "tracking": "6A123456789"}, headers=HX)
    row = text_of(response)
    assert "Envoyée" in row and "Facturée" in row
    shipped = next(m for m in smtp.mailbox.wait_for(3)[2:] if "envoyée" in str(m["Subject"]).lower() or "=?utf-8?" in m["Subject"])
    invoice_pdf = next(p for p in shipped.walk() if p.get_content_type() == "application/pdf")
    text = _pdf_text(invoice_pdf.get_payload(decode=True))
    assert "F" + str(utcnow().year) + "-00001" in text and "ACQUITTÉE" in text
    assert "6A123456789" in shipped.as_string() or "6A123456789" in str(shipped.get_payload(0))
    with session_for(app) as session:
        order = session.get(Order, order_id)
        events = [(e.from_status, e.to_status, e.actor_label) for e in order.events]
    assert events[1:] == [(OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, "Marie Vernay") ,
                          (OrderStatus.PAID, OrderStatus.SHIPPED, "Marie Vernay")] or \
        [e[:2] for e in events[1:]] == [(OrderStatus.PENDING_PAYMENT, OrderStatus.PAID), (OrderStatus.PAID, OrderStatus.SHIPPED)]
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "delivered"}, headers=HX)
    assert "Livrée" in text_of(response)
    assert len(smtp.mailbox.wait_for(4)) == 4


def test_a_move_that_is_not_allowed_gets_a_french_message_and_changes_nothing(app):
    (order_id,) = _order(app)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "shipped"}, headers=HX)
    assert response.status_code == 422 and "action impossible" in text_of(response)
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "teleported"}, headers=HX)
    assert response.status_code == 422 and "Action inconnue." in text_of(response)
    assert _status(app, order_id) is OrderStatus.PENDING_PAYMENT


def test_cancelling_restocks_and_an_invoiced_order_gets_a_credit_note(app):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=60)
    (order_id,) = _order(app, stock=60)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "paid"})
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facturer")
    with session_for(app) as session:
        assert session.get(Wine, wine_id).stock == 54
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "cancelled"})
    with session_for(app) as session:
        assert session.get(Wine, wine_id).stock == 60
        kinds = [(i.kind, i.number, i.credited_invoice_id is not None)
                 for i in session.scalars(select(Invoice).order_by(Invoice.id))]
    year = utcnow().year
    assert kinds == [(InvoiceKind.INVOICE, f"F{year}-00001", False), (InvoiceKind.CREDIT_NOTE, f"AV{year}-00001", True)]
    page = text_of(staff.get(f"/gestion/{VERNETTE}/commandes/{order_id}"))
    assert "Avoir" in page and f"AV{year}-00001" in page


def test_invoice_numbers_stay_gapless_when_invoicing_runs_concurrently(app):
    order_ids = _order(app, n=12)
    with app.app_context():
        estate = db.session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        estate_id = estate.id
        db.session.remove()
    with session_for(app) as session:
        for order in session.scalars(select(Order)):
            order.status, order.paid_at = OrderStatus.PAID, utcnow()
        session.commit()
    barrier = threading.Barrier(len(order_ids))
    errors: list[BaseException] = []

    def invoice(order_id: int) -> None:
        try:
            with app.app_context():
                scope_to_estate(db.session, estate_id)
                barrier.wait()
                estate = db.session.get(Estate, estate_id)
                invoicing.issue_invoice(db.session, estate, db.session.get(Order, order_id), utcnow())
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=invoice, args=(oid,)) for oid in order_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_for(app) as session:
        numbers = sorted(session.scalars(select(Invoice.number)))
    year = utcnow().year
    assert numbers == [f"F{year}-{n:05d}" for n in range(1, len(order_ids) + 1)]


def test_an_issued_invoice_cannot_be_edited(app):
    (order_id,) = _order(app)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "paid"})
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facturer")
    with session_for(app) as session:
        invoice = session.scalars(select(Invoice)).one()
        invoice.total_ttc_cents = 1
        with pytest.raises(invoicing.InvoiceImmutable):
            session.flush()
        session.rollback()
        invoice = session.scalars(select(Invoice)).one()
        invoice.document.content = b"%PDF-forged"
        with pytest.raises(invoicing.InvoiceImmutable):
            session.flush()
        session.rollback()
    second = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facturer", follow_redirects=True)
    assert "déjà une facture" in text_of(second)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 1


def test_an_unpaid_order_cannot_be_invoiced(app):
    (order_id,) = _order(app)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facturer", follow_redirects=True)
    assert "ne peut pas être facturée" in text_of(response)


def test_an_uploaded_invoice_marks_the_order_invoiced_and_blocks_a_second_one(app):
    (order_id,) = _order(app)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    refused = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facture-externe",
                         data={"number": "2026-118", "invoice": (io.BytesIO(b"not a pdf"), "f.pdf")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "format PDF" in text_of(refused)
    pdf = b"%PDF-1.4\n%mine\n"
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facture-externe",
                          data={"number": "2026-118", "invoice": (io.BytesIO(pdf), "f.pdf")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "la commande est facturée" in text_of(response)
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "paid"})
    again = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facturer", follow_redirects=True)
    assert "déjà une facture" in text_of(again)
    download = staff.get(f"/gestion/{VERNETTE}/commandes/{order_id}/facture.pdf")
    assert download.status_code == 200 and download.data == pdf


def test_the_orders_table_filters_searches_and_pages(app):
    _order(app, n=3, payment="cheque")
    _order(app, n=1, payment="transfer", who="virement")
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    url = f"/gestion/{VERNETTE}/commandes"
    assert "4 commandes" in text_of(staff.get(url))
    assert "1 commande" in text_of(staff.get(url + "?paiement=transfer", headers={**HX, "HX-Target": "orders-table"}))
    assert "1 commande" in text_of(staff.get(url + "?q=acheteur2"))
    assert "1 commande" in text_of(staff.get(url + "?q=VER-00003"))
    assert "0 commande" in text_of(staff.get(url + "?statut=paid"))
    assert "4 commandes" in text_of(staff.get(url + "?statut=nimporte&du=pas-une-date"))
    fragment = staff.get(url, headers={**HX, "HX-Target": "orders-table"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="orders-table">')
    assert "HX-Request" in staff.get(url).headers["Vary"]


def test_another_estates_staff_never_see_these_orders(app):
    (order_id,) = _order(app)
    rozel = visitor(app)
    login(rozel, "vigneron@rozel.example")
    assert "VER-00001" not in text_of(rozel.get("/gestion/domaine-rozel/commandes"))
    assert rozel.get(f"/gestion/domaine-rozel/commandes/{order_id}").status_code == 404
    assert rozel.post(f"/gestion/domaine-rozel/commandes/{order_id}/statut", data={"to": "paid"}).status_code == 404
    assert _status(app, order_id) is OrderStatus.PENDING_PAYMENT


def test_customers_see_their_orders_and_download_their_invoices(app):
    (order_id,) = _order(app)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "paid"})
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "shipped"})
    customer = visitor(app)
    login(customer, "acheteur0@example.com", "un-mot-de-passe")
    page = text_of(customer.get("/compte/commandes"))
    assert "VER-00001" in page and "Envoyée" in page and "Facturée" in page
    invoice = customer.get(f"/compte/commandes/{order_id}/facture.pdf")
    assert invoice.status_code == 200 and invoice.mimetype == "application/pdf"
    assert "FACTURE ACQUITTÉE" in _pdf_text(invoice.data)
    form = customer.get(f"/compte/commandes/{order_id}/bon-de-commande.pdf")
    assert "Bon de commande" in _pdf_text(form.data)
    stranger = visitor(app)
    login(stranger, "client@chai.example")
    assert stranger.get(f"/compte/commandes/{order_id}/facture.pdf").status_code == 404
    assert stranger.get(f"/{VERNETTE}/commande/VER-00001").status_code == 404


def _row_of(page: str, order_id: int) -> str:
    start = page.index(f'<tr id="order-{order_id}">')
    return page[start:page.index("</tr>", start)]


def test_the_orders_table_shows_fifty_orders_a_page_and_each_row_leads_to_its_order(app):
    add_orders(app, orders.PAGE_SIZE + 1)
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == VERNETTE)).one()
        ids = list(session.scalars(select(Order.id).where(Order.estate_id == estate_id)
                                   .order_by(Order.created_at.desc(), Order.id.desc())))
    staff = staff_client(app)
    url = f"/gestion/{VERNETTE}/commandes"
    first = staff.get(url).get_data(as_text=True)
    assert orders.PAGE_SIZE == 50 and first.count('<tr id="order-') == 50
    assert f"{len(ids)} commandes" in first and f"Page 1 sur {(len(ids) - 1) // 50 + 1}" in text_of(staff.get(url))
    last = staff.get(f"{url}?page={(len(ids) - 1) // 50 + 1}").get_data(as_text=True)
    assert last.count('<tr id="order-') == len(ids) - (len(ids) - 1) // 50 * 50
    assert f'<tr id="order-{ids[-1]}">' in last and f'<tr id="order-{ids[-1]}">' not in first

    order_id = ids[0]  # one of add_orders': paid, picked up, so "En préparation" is a button
    row = _row_of(first, order_id)
    with app.test_request_context():
        links = {endpoint: url_for(endpoint, estate_slug=VERNETTE, order_id=order_id, **extra) for endpoint, extra in (
            ("admin.order_page", {}), ("admin.order_status", {}), ("admin.order_resend", {}),
            ("admin.order_document", {"kind": "bon-de-commande"}))}
    for link in links.values():
        assert f'"{link}"' in row
    with session_for(app) as session:
        number = session.get(Order, order_id).number
    assert number in text_of(staff.get(links["admin.order_page"]))
    assert staff.get(links["admin.order_document"]).mimetype == "application/pdf"
    moved = staff.post(links["admin.order_status"], data={"to": "preparing"}, headers=HX)
    assert moved.status_code == 200 and "En préparation" in text_of(moved)
    assert moved.get_data(as_text=True).lstrip().startswith(f'<tr id="order-{order_id}">')
    resent = staff.post(links["admin.order_resend"], headers=HX)
    assert resent.status_code == 200 and "Email de confirmation renvoyé." in text_of(resent)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_tables_dates_and_amounts_read_as_the_filters_write_them(app, language):
    ids = add_orders(app, 4)
    moments = [datetime(2025, 3, 30, 0, 59, tzinfo=timezone.utc), datetime(2025, 3, 30, 1, 0, tzinfo=timezone.utc),
               datetime(2025, 10, 25, 22, 30, tzinfo=timezone.utc), datetime(2026, 1, 1, 12, 5, tzinfo=timezone.utc)]
    amounts = [0, 5, 123_456_789, 100_000]
    with session_for(app) as session:
        for order_id, moment, cents in zip(ids, moments, amounts):
            order = session.get(Order, order_id)
            order.created_at, order.total_ttc_cents = moment, cents
        session.commit()
    staff = staff_client(app)
    staff.get(f"/langue/{language}")
    page = staff.get(f"/gestion/{VERNETTE}/commandes?du=2025-01-01&au=2026-01-31").get_data(as_text=True)
    with app.test_request_context(), force_locale(language):
        for order_id, moment, cents in zip(ids, moments, amounts):
            row = _row_of(page, order_id)
            assert f"<td>{format_datetime(moment, 'short')}</td>" in row
            assert f'<td class="num">{euros(cents)}</td>' in row


def test_the_table_asks_about_reservations_only_when_a_reserved_order_is_on_the_page(app):
    add_orders(app, 3)
    staff = staff_client(app)
    url = f"/gestion/{VERNETTE}/commandes?statut="
    with count_queries(app) as queries:
        page = staff.get(url + "paid").get_data(as_text=True)
    assert page.count('<tr id="order-') >= 3 and not [q for q in queries if "order_line" in q]
    (reserved,) = add_orders(app, 1, status=OrderStatus.RESERVED)  # no reserved line waits: ready to ship
    with count_queries(app) as queries:
        page = staff.get(url + "reserved").get_data(as_text=True)
    assert len([q for q in queries if "order_line" in q]) == 1
    assert "Prête à expédier" in _row_of(page, reserved)


CSRF_INPUT_RE = r'name="csrf_token" value="([^"]+)"'


def test_the_kept_orders_table_is_never_older_than_its_orders_and_its_estate(app):
    """The table is rendered once per content (services.page_cache.serve_signed_in):
    a change made anywhere (another worker, a job) shows on the next request."""
    (order_id,) = _order(app)
    staff = staff_client(app)
    url = f"/gestion/{VERNETTE}/commandes"
    block = {**HX, "HX-Target": "orders-table"}
    assert "En attente de paiement" in _row_of(staff.get(url).get_data(as_text=True), order_id)
    staff.get(url, headers=block)  # both kept
    with session_for(app) as session:
        order = session.get(Order, order_id)
        order.status, order.invoiced_at = OrderStatus.PAID, utcnow()
        session.get(Estate, order.estate_id).name = "Domaine de la Vernette et Fils"
        session.commit()
    page = staff.get(url).get_data(as_text=True)
    assert "Payée" in _row_of(page, order_id) and "Facturée" in _row_of(page, order_id)
    assert "Domaine de la Vernette et Fils" in page
    assert "Payée" in _row_of(staff.get(url, headers=block).get_data(as_text=True), order_id)
    _order(app, who="second")
    assert "2 commandes" in text_of(staff.get(url)) and "2 commandes" in text_of(staff.get(url, headers=block))


def test_the_kept_orders_table_carries_each_users_token_and_shows_a_flash_once(app):
    import re

    (order_id,) = _order(app)
    url = f"/gestion/{VERNETTE}/commandes"
    vigneron, operator = staff_client(app), visitor(app)
    login(operator, "operateur@chai.example")
    tokens = []
    for client in (vigneron, operator, vigneron):
        page = client.get(url).get_data(as_text=True)
        tokens.append(set(re.findall(CSRF_INPUT_RE, page)))
    assert len(tokens[0]) == 1 and tokens[0] == tokens[2] and tokens[0] != tokens[1]
    moved = vigneron.post(f"{url}/{order_id}/statut", data={"to": "paid", "csrf_token": tokens[0].pop()})
    assert moved.status_code == 302  # without htmx: back to the table with a message
    assert "Commande VER-00001 : Payée." in text_of(vigneron.get(url))
    again = text_of(vigneron.get(url))
    assert "Commande VER-00001 : Payée." not in again and "Payée" in again
    assert "Commande VER-00001" not in text_of(operator.get(url))
