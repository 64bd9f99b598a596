"""Issue 15 in a real browser: the wine's e-label before purchase and its public page,
then a checkout refused to a buyer of 17 (L3342-1) and accepted once the buyer is
an adult, with the order keeping the CGV version in force."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect
from sqlalchemy import select

from models import Order
from tests.conftest import session_for
from tests.e2e.conftest import accept_and_place_order, fill_customer
from tests.e2e.test_order_flow import SLUG, _six_bottle_wine

BUYER = "e2e.compliance@example.com"


def _years_ago(years: int, days_later: int = 0) -> str:
    today = date.today()
    born = today.replace(year=today.year - years) if not (today.month == 2 and today.day == 29) \
        else date(today.year - years, 3, 1)
    return born.fromordinal(born.toordinal() + days_later).isoformat()


def test_the_e_label_before_purchase_and_a_minor_refused_at_checkout(page, live_server):
    wine_id, wine_name = _six_bottle_wine(live_server.app)
    page.goto(f"/{SLUG}/vin/{wine_id}")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    page.goto(f"/{SLUG}/vin/{wine_id}")
    expect(page.get_by_text("Contient des sulfites").first).to_be_visible()

    # the public e-label page, as the bottle's QR code leads to it
    page.get_by_role("link", name="Étiquette électronique").first.click()
    expect(page.get_by_text("Déclaration nutritionnelle pour 100 ml")).to_be_visible()
    expect(page.get_by_text("Contient des sulfites")).to_be_visible()
    assert "panier" not in page.content().lower()
    qr = page.request.get(page.url.rstrip("/") + "/qr.svg")
    assert qr.status == 200 and "svg" in qr.headers["content-type"]

    # a buyer born 17 years ago (and a day short of 18) is refused, nothing is created
    page.goto(f"/{SLUG}/vin/{wine_id}")
    page.get_by_role("button", name="Ajouter 6 bouteilles").click()
    expect(page.locator("#cart-badge .badge")).to_have_text("6")
    page.goto(f"/{SLUG}/commande")
    fill_customer(page, email=BUYER, first="Léo", last="Jeune", phone="06 22 33 44 55",
                  street="2 rue Mercière", postcode="69002", city="Lyon")
    page.get_by_label("Enlèvement à la propriété").check()
    page.get_by_label("Chèque").check()
    accept_and_place_order(page, birth_date=_years_ago(18, days_later=1))
    expect(page.get_by_text("article L3342-1 du Code de la santé publique")).to_be_visible()
    with session_for(live_server.app) as session:
        assert session.scalars(select(Order).where(Order.email == BUYER)
                               .execution_options(all_estates=True)).first() is None

    # the same buyer, an adult: the order is placed with the CGV version in force
    page.get_by_label("Choisissez un mot de passe").fill("un-mot-de-passe")  # never sent back
    page.get_by_label("Confirmez le mot de passe").fill("un-mot-de-passe")
    accept_and_place_order(page, birth_date=_years_ago(18))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Commande ")
    with session_for(live_server.app) as session:
        order = session.scalars(select(Order).where(Order.email == BUYER)
                                .execution_options(all_estates=True)).one()
        assert order.buyer_birth_date == date.fromisoformat(_years_ago(18))
        assert order.sales_terms_id is not None
