"""A vigneron edits a wine's price in the wines table, in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from models import Estate, Price, PriceList, Wine
from services.demo import DEMO_PASSWORD
from tests.conftest import session_for

SLUG = "domaine-de-la-vernette"


def _a_plain_wine(app, offset: int = 0) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                               PriceList.name == "Particuliers")).one()
        wines = session.execute(select(Wine.id, Wine.name).join(Price, Price.wine_id == Wine.id).where(
            Price.price_list_id == particuliers.id, Price.promo_active.is_(False),
            Wine.is_visible.is_(True), Wine.is_available.is_(True)).order_by(Wine.id)).all()
        return wines[offset]


def _confirm_age_and_log_in_as_staff(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/age\?next="))
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    expect(page.get_by_text("L'abus d'alcool est dangereux pour la santé")).to_be_visible()
    page.get_by_role("link", name="Domaine de la Vernette").first.click()
    expect(page.get_by_role("heading", name="Domaine de la Vernette", level=1)).to_be_visible()
    page.get_by_role("link", name="Se connecter").click()
    page.get_by_label("Adresse email").fill("vigneron@vernette.example")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(rf"/{SLUG}/$"))


def test_staff_edit_a_price_inline_and_the_shop_shows_it(page, live_server):
    wine_id, wine_name = _a_plain_wine(live_server.app)
    _confirm_age_and_log_in_as_staff(page)

    page.goto(f"/gestion/{SLUG}/vins")
    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#wine-{wine_id}")
    row.get_by_role("button", name="Modifier").click()
    price_input = row.get_by_label("Prix", exact=True)
    expect(price_input).to_be_visible()
    price_input.fill("17,30")
    row.get_by_role("button", name="Enregistrer").click()

    expect(row.locator(".price-cell")).to_have_text(re.compile(r"17,30\s€"))
    expect(row.get_by_role("button", name="Modifier")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    page.goto(f"/{SLUG}/")
    card = page.locator(f"#vin-{wine_id}")
    expect(card).to_contain_text(wine_name)
    expect(card.locator(".price")).to_have_text(re.compile(r"17,30\s€"))


def test_a_bad_price_is_explained_in_the_row_and_nothing_changes(page, live_server):
    wine_id, _ = _a_plain_wine(live_server.app, offset=1)
    _confirm_age_and_log_in_as_staff(page)
    page.goto(f"/gestion/{SLUG}/vins")
    row = page.locator(f"#wine-{wine_id}")
    before = row.locator(".price-cell").inner_text()
    row.get_by_role("button", name="Modifier").click()
    row.get_by_label("Prix", exact=True).fill("douze euros")
    row.get_by_role("button", name="Enregistrer").click()
    expect(row.get_by_text("Montant invalide : écrivez par exemple 12,50.")).to_be_visible()
    row.get_by_role("button", name="Annuler").click()
    expect(row.locator(".price-cell")).to_have_text(before)
