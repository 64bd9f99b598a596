"""Avoir fidélité: earned on payment, used at checkout, edited by hand, reversed on
cancel, never below zero under concurrency, private to each estate."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from models import Estate, EstateCustomer, LoyaltyEntry, Order, OrderStatus
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

SLUG = "domaine-de-la-vernette"


def _enable(app, particulier: str = "5", pro: str = "3") -> None:  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.post(f"/gestion/{SLUG}/clients/fidelite",
                          data={"loyalty_enabled": "y", "loyalty_particulier": particulier, "loyalty_pro": pro})
    assert response.status_code == 302


def _customer(app, email: str) -> EstateCustomer:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        return session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == estate_id,
                                                            EstateCustomer.email == email)).one()


def _ledger_matches_balance(app, email: str) -> int:  # type: ignore[no-untyped-def]
    customer = _customer(app, email)
    with session_for(app) as session:
        total = session.scalar(select(func.coalesce(func.sum(LoyaltyEntry.amount_cents), 0))
                               .where(LoyaltyEntry.customer_id == customer.id))
    assert total == customer.loyalty_balance_cents >= 0
    return customer.loyalty_balance_cents


def _order_as(app, email: str, password: str = "chai-demo-2026", quantity: int = 6, **form) -> int:  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email, password)
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    import re

    wine_id = int(re.search(r'id="add-(\d+)"', page).group(1))
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)})
    data = checkout_form(token=form.pop("token", email), email=None, password=None, confirm=None,
                         delivery="pickup", **form)
    response = client.post(f"/{SLUG}/commande", data=data)
    assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        return session.scalars(select(Order.id).order_by(Order.id.desc())).first()


def _staff_sets(app, order_id: int, to: str) -> None:  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    assert staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": to}).status_code == 302


def _goods_after_discounts(app, order_id: int) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        order = session.get(Order, order_id)
        return sum(line.ttc_cents for line in order.lines if line.kind in ("goods", "gift", "discount"))


def test_a_paid_order_earns_its_rate_and_rates_differ_for_pros(app):
    _enable(app, particulier="5", pro="3")
    order_id = _order_as(app, "client@chai.example")
    assert _ledger_matches_balance(app, "client@chai.example") == 0  # nothing before payment
    _staff_sets(app, order_id, "paid")
    base = _goods_after_discounts(app, order_id)
    assert _ledger_matches_balance(app, "client@chai.example") == (base * 500 + 5000) // 10000
    pro_order = _order_as(app, "caviste@chai.example")
    _staff_sets(app, pro_order, "paid")
    pro_base = _goods_after_discounts(app, pro_order)
    assert _ledger_matches_balance(app, "caviste@chai.example") == (pro_base * 300 + 5000) // 10000


def test_the_confirmation_email_states_the_credit_and_the_balance(app):
    _enable(app)
    _order_as(app, "client@chai.example")
    with session_for(app) as session:
        from models import OutboxMessage

        body = session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.recipient == "client@chai.example")).first()
    assert "Avoir fidélité : cette commande vous rapportera" in body and "Votre solde actuel : 0,00" in body


def test_the_balance_is_used_at_checkout_in_part(app):
    _enable(app)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    customer = _customer(app, "client@chai.example")
    staff.post(f"/gestion/{SLUG}/clients/{customer.id}/fidelite",
               data={"direction": "credit", "amount": "10", "reason": "Casse au transport"})
    order_id = _order_as(app, "client@chai.example", loyalty="4,00")
    with session_for(app) as session:
        order = session.get(Order, order_id)
        used = [line.ttc_cents for line in order.lines if line.label == "Avoir fidélité utilisé"]
    assert used == [-400]
    assert _ledger_matches_balance(app, "client@chai.example") == 600


def test_a_manual_debit_beyond_the_balance_is_refused_and_changes_nothing(app):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    customer = _customer(app, "client@chai.example")
    url = f"/gestion/{SLUG}/clients/{customer.id}/fidelite"
    staff.post(url, data={"direction": "credit", "amount": "5", "reason": "Geste commercial"})
    response = staff.post(url, data={"direction": "debit", "amount": "8", "reason": "Réglé au domaine"})
    assert response.status_code == 422
    assert "Le débit dépasse le solde d'avoir fidélité (5,00" in text_of(response)
    for bad in ({"amount": "abc", "reason": "x"}, {"amount": "-3", "reason": "x"}, {"amount": "3", "reason": ""}):
        assert staff.post(url, data={"direction": "debit", **bad}).status_code == 422
    assert _ledger_matches_balance(app, "client@chai.example") == 500


def test_a_cancelled_order_reverses_its_entries(app):
    _enable(app)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    customer = _customer(app, "client@chai.example")
    staff.post(f"/gestion/{SLUG}/clients/{customer.id}/fidelite", data={"direction": "credit", "amount": "10", "reason": "Bienvenue"})
    order_id = _order_as(app, "client@chai.example", loyalty="10")
    _staff_sets(app, order_id, "paid")
    earned = _ledger_matches_balance(app, "client@chai.example")
    assert earned > 0  # 10 € spent, then the order's credit earned
    _staff_sets(app, order_id, "cancelled")
    assert _ledger_matches_balance(app, "client@chai.example") == 1000
    with session_for(app) as session:
        assert session.get(Order, order_id).status is OrderStatus.CANCELLED
        kinds = sorted(e.kind for e in session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.order_id == order_id)))
    assert kinds == ["earned", "reversal", "reversal", "spent"]


def test_twenty_concurrent_checkouts_never_drive_the_balance_below_zero(app):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    customer = _customer(app, "client@chai.example")
    staff.post(f"/gestion/{SLUG}/clients/{customer.id}/fidelite", data={"direction": "credit", "amount": "10", "reason": "Cadeau"})
    wine_id, _, _ = first_orderable_wine(app, SLUG, stock=1000)
    clients = []
    for n in range(20):
        client = visitor(app)
        login(client, "client@chai.example")
        clients.append(client)
    clients[0].post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})  # one shared cart (same user)
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def checkout(n: int) -> None:
        barrier.wait()
        response = clients[n].post(f"/{SLUG}/commande", data=checkout_form(
            token=f"l{n}", email=None, password=None, confirm=None, delivery="pickup", loyalty="10"))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _ledger_matches_balance(app, "client@chai.example") == 0
    with session_for(app) as session:
        spent = session.scalars(select(LoyaltyEntry.amount_cents).where(LoyaltyEntry.kind == "spent")).all()
    assert spent == [-1000]
    assert all(status in (302, 409) for status in statuses)


def test_another_estate_never_sees_these_customers_or_ledgers(app):
    customer = _customer(app, "client@chai.example")
    rozel = visitor(app)
    login(rozel, "vigneron@rozel.example")
    assert "client@chai.example" in text_of(rozel.get("/gestion/domaine-rozel/clients"))  # its own line
    assert rozel.get(f"/gestion/domaine-rozel/clients/{customer.id}").status_code == 404
    assert rozel.post(f"/gestion/domaine-rozel/clients/{customer.id}/fidelite",
                      data={"direction": "credit", "amount": "100", "reason": "x"}).status_code == 404
    assert _ledger_matches_balance(app, "client@chai.example") == 0


def test_the_customer_area_shows_each_estates_balance_and_history(app):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    customer = _customer(app, "client@chai.example")
    staff.post(f"/gestion/{SLUG}/clients/{customer.id}/fidelite",
               data={"direction": "credit", "amount": "7,50", "reason": "Casse au transport"})
    client = visitor(app)
    login(client, "client@chai.example")
    page = text_of(client.get("/compte/"))
    assert "Domaine de la Vernette" in page and "Domaine Rozel" in page
    assert "7,50" in page and "Casse au transport" in page


def test_the_profile_is_edited_with_french_messages(app):
    client = visitor(app)
    login(client, "client@chai.example")
    assert client.post("/compte/profil", data={"first_name": "Claire", "last_name": "", "phone": ""}).status_code == 422
    assert client.post("/compte/profil", data={"first_name": "Claire", "last_name": "Dupuis", "phone": "0600"}).status_code == 302
    assert "Claire Dupuis" in text_of(client.get("/compte/"))


def test_the_customer_edits_the_addresses_an_estate_keeps(app):
    customer = _customer(app, "client@chai.example")
    client = visitor(app)
    login(client, "client@chai.example")
    response = client.post(f"/compte/adresses/{customer.id}", data={
        "billing_street": "5 rue Neuve", "billing_postcode": "69002", "billing_city": "Lyon"})
    assert response.status_code == 302
    assert _customer(app, "client@chai.example").billing_street == "5 rue Neuve"
    bad = client.post(f"/compte/adresses/{customer.id}", data={"billing_postcode": "ABC"})
    assert bad.status_code == 422
    assert _customer(app, "client@chai.example").billing_postcode == "69002"
    stranger = visitor(app)
    login(stranger, "caviste@chai.example")
    assert stranger.post(f"/compte/adresses/{customer.id}", data={"billing_street": "x"}).status_code == 404
    assert "5 rue Neuve" in text_of(client.get("/compte/"))
