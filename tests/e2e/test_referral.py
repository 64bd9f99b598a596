"""Parrainage end to end in the browser: the sponsor shares their link, the friend
orders and pays, both bonuses are given once; a second order gives nothing more."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from models import Estate, EstateCustomer, Order, Referral, db, utcnow
from services import orders, payment_flow
from services.demo import DEMO_PASSWORD
from services.tenancy import scope_to_estate
from tests.conftest import session_for
from tests.e2e.conftest import accept_and_place_order, fill_customer

SLUG = "domaine-de-la-vernette"
FRIEND = "filleul@example.com"


def _sponsor_balance(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        return session.scalars(select(EstateCustomer.loyalty_balance_cents).where(
            EstateCustomer.estate_id == estate_id, EstateCustomer.email == "client@chai.example")).one()


def _mark_paid(app, number: str) -> None:  # type: ignore[no-untyped-def]
    """"Paiement reçu", as the vigneron's button does (its browser path is tested elsewhere)."""
    with app.app_context():
        estate = db.session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        scope_to_estate(db.session, estate.id)
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        payment_flow.mark_paid_by_hand(db.session, estate, order, orders.Actor(None, "Test"), utcnow(), "http://x")
        db.session.commit()
        db.session.remove()


def _order(page, first: bool) -> str:  # type: ignore[no-untyped-def]
    page.goto(f"/{SLUG}/")
    badge = page.locator("#cart-badge .badge")
    add = page.locator(".add-form").first.get_by_role("button").first
    step, total = int(add.get_attribute("value")), 0
    while total < 6 or total % 6:  # up to a full mixed case of 6
        add.click()
        total += step
        expect(badge).to_have_text(str(total))
    page.goto(f"/{SLUG}/panier")
    page.get_by_role("button", name="Commander").click()
    fill_customer(page, email=FRIEND if first else None, first="Jules", last="Filleul", phone="0601020304",
                  street="2 rue du Pont", postcode="71000", city="Mâcon")
    page.get_by_label("Enlèvement à la propriété").check()
    page.get_by_label("Chèque").check()
    summary = page.locator("#checkout-summary")
    if first:
        expect(summary).to_contain_text("Bonus filleul (parrainage)")
    else:
        expect(summary).to_contain_text("Total TTC")
        expect(summary).not_to_contain_text("Bonus filleul")
    accept_and_place_order(page)
    return re.search(r"Commande (\S+)", page.get_by_role("heading", level=1).inner_text()).group(1)


def test_a_referral_from_link_to_paid_order_gives_both_bonuses_once(browser, live_server):
    app = live_server.app
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        estate.referral_sponsor_bonus_cents, estate.referral_referee_bonus_cents = 1000, 500
        session.commit()
    balance_before = _sponsor_balance(app)

    sponsor = browser.new_context(locale="fr-FR", base_url=live_server.url)
    page = sponsor.new_page()
    page.goto("/compte/connexion")
    page.get_by_label("Adresse email").fill("client@chai.example")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/{SLUG}/parrainage")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    link = page.locator("#referral-link").input_value()
    assert re.search(rf"/{SLUG}/parrainage/[A-Z0-9]{{8}}$", link)
    sponsor.close()

    friend_context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    friend_context.set_default_timeout(15_000)
    friend = friend_context.new_page()
    friend.goto(link)
    friend.get_by_role("button", name="J'ai 18 ans ou plus").click()
    expect(friend.get_by_text("Vous êtes parrainé")).to_be_visible()
    number = _order(friend, first=True)
    with session_for(app) as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        assert [l.ttc_cents for l in order.lines if l.label == "Bonus filleul (parrainage)"] == [-500]
    assert _sponsor_balance(app) == balance_before  # not before payment
    _mark_paid(app, number)
    assert _sponsor_balance(app) == balance_before + 1000

    second = _order(friend, first=False)
    _mark_paid(app, second)
    assert _sponsor_balance(app) == balance_before + 1000
    with session_for(app) as session:
        assert len(session.scalars(select(Referral)).all()) == 1
    friend_context.close()
