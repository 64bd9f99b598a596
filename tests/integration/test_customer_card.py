"""The customer card: editable terms (type, list, confidential discount), and GDPR."""

from __future__ import annotations

import json

from sqlalchemy import select

from models import Estate, EstateCustomer, Invoice, Order, PriceList
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

SLUG = "domaine-de-la-vernette"


def _customer_id(app, email: str = "client@chai.example") -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        return session.scalars(select(EstateCustomer.id).where(EstateCustomer.estate_id == estate_id,
                                                               EstateCustomer.email == email)).one()


def _staff(app):  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    return staff


def test_a_confidential_discount_and_a_group_list_apply_to_that_customer_only(app):
    customer_id = _customer_id(app)
    with session_for(app) as session:
        group = session.scalars(select(PriceList).join(Estate).where(Estate.slug == SLUG,
                                                                     PriceList.name == "Clients historiques")).one()
        group_id = group.id
    staff = _staff(app)
    response = staff.post(f"/gestion/{SLUG}/clients/{customer_id}", data={
        "kind": "particulier", "price_list_id": str(group_id), "discount": "5", "external_number": "C-7", "notes": "Vient en mai"})
    assert response.status_code == 302
    client = visitor(app)
    login(client, "client@chai.example")
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    import re

    wine_id = int(re.search(r'id="add-(\d+)"', page).group(1))
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert "Remise client -5 %" in text_of(client.get(f"/{SLUG}/panier"))
    other = visitor(app)
    other.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert "Remise client" not in text_of(other.get(f"/{SLUG}/panier"))


def test_bad_card_input_changes_nothing(app):
    customer_id = _customer_id(app)
    staff = _staff(app)
    for data in ({"kind": "roi"}, {"kind": "particulier", "discount": "150"}, {"kind": "particulier", "price_list_id": "99999"},
                 {"kind": "particulier", "discount": "abc"}):
        response = staff.post(f"/gestion/{SLUG}/clients/{customer_id}", data=data)
        assert response.status_code in (404, 422), data
    with session_for(app) as session:
        assert session.get(EstateCustomer, customer_id).discount_bp == 0


def test_gdpr_export_and_anonymisation_keep_invoices_legal(app):
    buyer = visitor(app)
    login(buyer, "client@chai.example")
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    buyer.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    buyer.post(f"/{SLUG}/commande", data=checkout_form(email=None, password=None, confirm=None, delivery="home"))
    customer_id = _customer_id(app)
    staff = _staff(app)
    with session_for(app) as session:
        order_id = session.scalars(select(Order.id)).one()
    staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": "paid"})
    staff.post(f"/gestion/{SLUG}/commandes/{order_id}/facturer")
    export = staff.get(f"/gestion/{SLUG}/clients/{customer_id}/donnees.json")
    data = json.loads(export.data)
    assert data["client"]["email"] == "client@chai.example" and data["commandes"][0]["numero"] == "VER-00001"
    assert staff.post(f"/gestion/{SLUG}/clients/{customer_id}/anonymiser").status_code == 422  # not confirmed
    assert staff.post(f"/gestion/{SLUG}/clients/{customer_id}/anonymiser", data={"confirm": "oui"}).status_code == 302
    with session_for(app) as session:
        customer = session.get(EstateCustomer, customer_id)
        order = session.get(Order, order_id)
        invoice = session.scalars(select(Invoice)).one()
        assert customer.email.endswith("@anonyme.invalid") and customer.last_name == "" and customer.user_id is None
        assert order.email.endswith("@anonyme.invalid") and order.shipping_street == ""
        assert order.billing_name == "Camille Durand"  # invoiced: the legal billing identity stays
        assert invoice.document.content.startswith(b"%PDF")


def test_the_card_page_has_a_plain_title(app):
    staff = _staff(app)
    html = staff.get(f"/gestion/{SLUG}/clients/{_customer_id(app)}").get_data(as_text=True)
    title = html[html.index("<title>"):html.index("</title>")]
    assert "<section" not in title and html.count('class="gdpr"') == 1
