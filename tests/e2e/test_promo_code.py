"""A customer types a promo code under the cart: the discount appears in place."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from models import Estate, Promotion, utcnow
from tests.conftest import first_orderable_wine, session_for

SLUG = "domaine-rozel"


def test_a_code_under_the_cart_adds_its_discount_line_without_reload(page, live_server):
    with session_for(live_server.app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        session.add_all([
            Promotion(estate_id=estate_id, name="Amis du domaine", benefit="percent_off", percent_bp=1000, code="AMIS"),
            Promotion(estate_id=estate_id, name="Vendanges", benefit="percent_off", percent_bp=1500, code="VENDANGES",
                      ends_at=utcnow() - timedelta(days=2)),
        ])
        session.commit()
    wine_id, _, _ = first_orderable_wine(live_server.app, SLUG)

    page.goto(f"/{SLUG}/")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    page.locator(f"#add-{wine_id}").get_by_role("button").first.click()
    expect(page.locator("#cart-badge .badge")).to_have_text("1")
    page.locator("#cart-badge").click()
    page.evaluate("window.__sameDocument = true")

    page.get_by_text("J'ai un code promo").click()
    code = page.get_by_label("Code promo")
    code.fill("inconnu")
    page.get_by_role("button", name="Appliquer").click()
    expect(page.get_by_text("Le code INCONNU n'existe pas. Vérifiez l'orthographe.")).to_be_visible()

    page.get_by_label("Code promo").fill("vendanges")
    page.get_by_role("button", name="Appliquer").click()
    expect(page.get_by_text("Le code VENDANGES n'est pas valable aujourd'hui.").first).to_be_visible()

    page.get_by_label("Code promo").fill("amis")
    page.get_by_role("button", name="Appliquer").click()
    expect(page.locator(".discount-line")).to_contain_text("Remise -10 % (code AMIS)")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
