"""The vigneron's statistics in a real browser: the server-drawn SVG charts are rendered
with bars of real size, the period picker changes the figures, no request leaves
127.0.0.1 (no CDN, no font, no chart library from elsewhere) and the strict CSP reports
no violation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from models import CustomerKind, DeliveryKind, Estate, OrderStatus, PaymentMode, Wine
from tests.conftest import session_for
from tests.e2e.test_back_office import _confirm_age_and_log_in_as_staff
from tests.e2e.test_csp import LISTENER
from tests.integration.test_statistics import add_customer, add_order, paris

SLUG = "domaine-de-la-vernette"


def _orders_of_2019(app) -> None:  # type: ignore[no-untyped-def]
    """Three paid orders in 2019, a year no other browser test touches: 120 € in March
    (card, particulier), 60 € + 30 € in May (transfer, pro; cheque)."""
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        wine = session.scalars(select(Wine.id).where(Wine.estate_id == estate_id).order_by(Wine.id)).first()
        someone = add_customer(session, estate_id, "stats.e2e.particulier@example.com")
        pro = add_customer(session, estate_id, "stats.e2e.pro@example.com", CustomerKind.PROFESSIONNEL)
        add_order(session, estate_id, someone, paris(2019, 3, 12), [(wine, 12, 12000, "goods")], OrderStatus.PAID,
                  DeliveryKind.PICKUP, PaymentMode.CARD)
        add_order(session, estate_id, pro, paris(2019, 5, 2), [(wine, 6, 6000, "goods")], OrderStatus.DELIVERED,
                  DeliveryKind.PICKUP, PaymentMode.TRANSFER)
        add_order(session, estate_id, someone, paris(2019, 5, 20), [(wine, 3, 3000, "goods")], OrderStatus.PAID,
                  DeliveryKind.PICKUP, PaymentMode.CHEQUE)
        session.commit()


def test_the_statistics_draw_their_charts_locally_and_the_period_picker_changes_the_figures(
        browser, live_server):  # type: ignore[no-untyped-def]
    _orders_of_2019(live_server.app)
    context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    context.set_default_timeout(10_000)
    context.add_init_script(LISTENER)
    page = context.new_page()
    requested: list[str] = []
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        _confirm_age_and_log_in_as_staff(page)  # through the estate page and its video: not recorded
        page.goto("about:blank")
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"/gestion/{SLUG}/statistiques?annee=2019")
        expect(page.locator("#period-title")).to_have_text("Du 01/01/2019 au 31/12/2019")
        expect(page.locator("#ca-ttc")).to_have_text(re.compile(r"210,00\s€"))
        expect(page.locator("#orders-count")).to_have_text("3")

        bars = page.locator("#series-chart rect.bar")
        expect(bars).to_have_count(12)
        sizes = [bars.nth(i).bounding_box() for i in range(12)]
        drawn = [box for box in sizes if box and box["width"] > 0 and box["height"] > 0]
        assert len(drawn) == 2, sizes  # March and May
        march, may = sizes[2], sizes[4]
        assert march["height"] > may["height"] > 0 and march["y"] < may["y"]  # 120 € is taller than 90 €
        for chart, count in (("#type-chart", 3), ("#payment-chart", 4)):
            boxes = [page.locator(f"{chart} rect.bar").nth(i).bounding_box() for i in range(count)]
            assert sum(1 for box in boxes if box["width"] > 0 and box["height"] > 0) >= 2, (chart, boxes)

        # the period picker: May 2019 alone, then a preset
        page.get_by_label("Du", exact=True).fill("2019-05-01")
        page.get_by_label("Au", exact=True).fill("2019-05-31")
        page.get_by_label("Découpage").select_option("")  # "Automatique": a month is shown day by day
        page.get_by_role("button", name="Afficher").click()
        expect(page.locator("#period-title")).to_have_text("Du 01/05/2019 au 31/05/2019")
        expect(page.locator("#ca-ttc")).to_have_text(re.compile(r"90,00\s€"))
        expect(page.locator("#orders-count")).to_have_text("2")
        expect(page.locator("#series-chart rect.bar")).to_have_count(31)  # one bar a day
        page.get_by_role("link", name="L'année dernière").click()
        expect(page.locator("#period-title")).to_have_text(re.compile(r"^Du 01/01/\d{4} au 31/12/\d{4}$"))
        expect(page.locator("#ca-ttc")).not_to_have_text(re.compile(r"90,00\s€"))

        violations = page.evaluate("window.__cspViolations || []")
        assert violations == [] and console == [], (violations, console)
    finally:
        context.close()
    hosts = {urlsplit(url).hostname for url in requested}
    assert any("/statistiques" in url for url in requested) and any("/static/" in url for url in requested)
    assert hosts <= {"127.0.0.1", "localhost"}, sorted(set(requested))
