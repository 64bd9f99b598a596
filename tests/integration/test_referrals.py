"""Parrainage rules: no self-referral, a bonus once per referee, unknown links."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Estate, EstateCustomer, Order, Referral  # noqa: F401
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

SLUG = "domaine-de-la-vernette"


def _programme(app) -> None:  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.post(f"/gestion/{SLUG}/clients/fidelite", data={
        "loyalty_particulier": "0", "loyalty_pro": "0", "referral_sponsor": "10", "referral_referee": "5"})
    assert response.status_code == 302


def _link_of(app, email: str) -> str:  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email)
    page = client.get(f"/{SLUG}/parrainage").get_data(as_text=True)
    return re.search(r'id="referral-link" value="http://shop\.test([^"]+)"', page).group(1)


def _buy(app, client, token: str, **form):  # type: ignore[no-untyped-def]
    """Place an order of 6 bottles; returns (order id, its referee bonus lines)."""
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    response = client.post(f"/{SLUG}/commande", data=checkout_form(token=token, delivery="pickup", **form))
    assert response.status_code == 302, text_of(response)[:1500]
    with session_for(app) as session:
        order = session.scalars(select(Order).order_by(Order.id.desc())).first()
        return order.id, [line.ttc_cents for line in order.lines if line.label == "Bonus filleul (parrainage)"]


def test_the_settings_are_saved_and_a_bad_amount_is_refused(app):
    _programme(app)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        assert (estate.referral_sponsor_bonus_cents, estate.referral_referee_bonus_cents) == (1000, 500)
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.post(f"/gestion/{SLUG}/clients/fidelite", data={"referral_sponsor": "dix"})
    assert response.status_code == 422 and "Montant invalide" in text_of(response)


def test_a_customer_cannot_sponsor_themselves(app):
    _programme(app)
    link = _link_of(app, "client@chai.example")
    client = visitor(app)
    login(client, "client@chai.example")
    client.get(link)
    _, bonus = _buy(app, client, "self", email=None, password=None, confirm=None)
    assert bonus == []
    with session_for(app) as session:
        assert session.scalars(select(Referral)).all() == []


def test_an_unknown_link_is_a_french_404(app, client):
    assert "Cette page n'existe pas." in text_of(client.get(f"/{SLUG}/parrainage/NOPE1234"))


def test_a_referee_gets_the_bonus_on_the_first_order_only(app):
    _programme(app)
    link = _link_of(app, "client@chai.example")
    friend = visitor(app)
    assert "Vous êtes parrainé" in text_of(friend.get(link, follow_redirects=True))
    first_id, bonus = _buy(app, friend, "f1", email="ami@example.com")
    assert bonus == [-500]
    friend.get(link)  # following the link again changes nothing
    _, bonus = _buy(app, friend, "f2", email=None, password=None, confirm=None)
    assert bonus == []
    with session_for(app) as session:
        (referral,) = session.scalars(select(Referral)).all()
        sponsor = session.get(EstateCustomer, referral.sponsor_id)
        assert sponsor.email == "client@chai.example" and referral.order_id == first_id


def test_the_sponsor_is_credited_when_the_order_is_paid(app):
    _programme(app)
    link = _link_of(app, "client@chai.example")
    friend = visitor(app)
    friend.get(link)
    order_id, _ = _buy(app, friend, "p1", email="paye@example.com")
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": "paid"})
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        sponsor = session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == estate_id,
                                                               EstateCustomer.email == "client@chai.example")).one()
        assert sponsor.loyalty_balance_cents == 1000
    assert "paye@example.com" in text_of(staff.get(f"/gestion/{SLUG}/clients"))
