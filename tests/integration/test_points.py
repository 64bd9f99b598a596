"""Loyalty points (seed 003): earned per euro or as a % of revenue above a minimum,
used at checkout at the estate's value, reversed on cancel, never below zero."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Estate, EstateCustomer, LoyaltyEntry, Order
from tests.conftest import checkout_form, login, session_for, text_of, visitor

SLUG = "domaine-de-la-vernette"


def _rule(app, mode: str, rate: str, minimum: str = "0", value: str = "1") -> None:  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.post(f"/gestion/{SLUG}/clients/fidelite", data={
        "loyalty_particulier": "0", "loyalty_pro": "0", "points_mode": mode, "points_rate": rate,
        "points_min_order": minimum, "points_value": value})
    assert response.status_code == 302, text_of(response)[:500]


def _points(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == estate_id,
                                                                EstateCustomer.email == "client@chai.example")).one()
        ledger = sum(session.scalars(select(LoyaltyEntry.amount_cents).where(
            LoyaltyEntry.customer_id == customer.id, LoyaltyEntry.unit == "points")))
        assert ledger == customer.points_balance >= 0
        return customer.points_balance


def _order(app, token: str, status: str | None = "paid", **form) -> int:  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, "client@chai.example")
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    wine_id = int(re.search(r'id="add-(\d+)"', page).group(1))
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    response = client.post(f"/{SLUG}/commande", data=checkout_form(token=token, email=None, password=None,
                                                                     confirm=None, delivery="pickup", **form))
    assert response.status_code == 302, text_of(response)[:1000]
    with session_for(app) as session:
        order_id = session.scalars(select(Order.id).order_by(Order.id.desc())).first()
    if status:
        staff = visitor(app)
        login(staff, "vigneron@vernette.example")
        staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": status})
    return order_id


def _goods(app, order_id: int) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return sum(l.ttc_cents for l in session.get(Order, order_id).lines if l.kind in ("goods", "gift", "discount"))


def test_points_per_euro_are_earned_on_payment(app):
    _rule(app, "per_euro", "2")
    order_id = _order(app, "a")
    assert _points(app) == _goods(app, order_id) // 100 * 2


def test_points_as_a_percent_of_revenue(app):
    _rule(app, "percent", "500")  # 5 % of the revenue, one point per cent
    order_id = _order(app, "b")
    assert _points(app) == (_goods(app, order_id) * 500 + 5000) // 10000


def test_no_points_below_the_minimum_order(app):
    _rule(app, "per_euro", "1", minimum="5000")
    _order(app, "c")
    assert _points(app) == 0


def test_points_are_used_at_checkout_and_reversed_on_cancel(app):
    _rule(app, "per_euro", "10", value="5")  # 100 points = 5 €
    _order(app, "d")
    earned = _points(app)
    assert earned >= 1000
    order_id = _order(app, "e", status=None, points="400")
    with session_for(app) as session:
        lines = [(l.label, l.ttc_cents) for l in session.get(Order, order_id).lines]
    assert ("Points fidélité (400 points)", -2000) in lines
    assert _points(app) == earned - 400
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": "cancelled"})
    assert _points(app) == earned


def test_more_points_than_the_balance_are_capped_and_bad_input_is_refused(app):
    _rule(app, "per_euro", "1", value="1")
    _order(app, "f")
    earned = _points(app)
    _order(app, "g", status=None, points=str(earned + 5000))
    assert _points(app) == 0
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    bad = staff.post(f"/gestion/{SLUG}/clients/fidelite", data={"points_mode": "lune", "points_rate": "-1"})
    assert bad.status_code == 422 and "Règle de points inconnue." in text_of(bad)
