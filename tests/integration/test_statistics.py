"""The vigneron's statistics page: figures on a known set of orders (cancelled ones
and other estates' never count), Paris months and years, the year filter, access, and
the SQL the page sends being exactly the benchmark's raw SQL."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import (
    CustomerKind,
    DeliveryKind,
    Estate,
    EstateCustomer,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMode,
    Wine,
    db,
)
from services import statistics
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor
from tests.querycount import count_queries

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
URL = f"/gestion/{VERNETTE}/statistiques"
PARIS = ZoneInfo("Europe/Paris")
_numbers = itertools.count(1)


def paris(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(timezone.utc)


def add_order(session, estate_id: int, customer_id: int, created_at: datetime,  # type: ignore[no-untyped-def]
              lines: list[tuple], status: OrderStatus = OrderStatus.PAID,
              delivery: DeliveryKind = DeliveryKind.PICKUP, payment: PaymentMode = PaymentMode.CHEQUE,
              user_id: int | None = None) -> Order:
    """An order row as the checkout stores it, without going through the checkout:
    ``lines`` are (wine id or None, quantity, TTC cents, kind) at 20 % VAT; the order's
    totals and bottles are their sums, as ``services.orders.place_order`` computes them."""
    n = next(_numbers)
    order = Order(
        estate_id=estate_id, number=f"T-{n:06d}", checkout_token=f"test-{n}", status=status, customer_id=customer_id,
        user_id=user_id, prices_include_vat=True, payment_mode=payment, delivery_kind=delivery, delivery_label="Test",
        email="client@example.com", billing_name="Client Test", billing_street="1 rue du Test",
        billing_postcode="69000", billing_city="Lyon", billing_country="FR", bottles=0, goods_ht_cents=0,
        shipping_ttc_cents=0, total_ht_cents=0, total_vat_cents=0, total_ttc_cents=0,
        conditions_accepted_at=created_at, created_at=created_at,
        paid_at=None if status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED) else created_at)
    for wine_id, quantity, ttc, kind in lines:
        ht = round(ttc * 100 / 120)
        order.lines.append(OrderLine(estate_id=estate_id, wine_id=wine_id, label=f"Ligne {kind}", quantity=quantity,
                                     unit_price_cents=ttc // quantity, vat_rate_bp=2000, ht_cents=ht,
                                     vat_cents=ttc - ht, ttc_cents=ttc, is_shipping=kind == "shipping", kind=kind))
        order.total_ttc_cents += ttc
        order.total_ht_cents += ht
        order.total_vat_cents += ttc - ht
        if kind == "goods":
            order.bottles += quantity
            order.goods_ht_cents += ht
        if kind == "shipping":
            order.shipping_ttc_cents += ttc
    session.add(order)
    return order


def add_customer(session, estate_id: int, email: str,  # type: ignore[no-untyped-def]
                 kind: CustomerKind = CustomerKind.PARTICULIER) -> int:
    customer = EstateCustomer(estate_id=estate_id, email=email, kind=kind, last_name=email.split("@")[0])
    session.add(customer)
    session.flush()
    return customer.id


def estate_ids(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return {e.slug: e.id for e in session.scalars(select(Estate))}


@pytest.fixture
def known_orders(app) -> dict:  # type: ignore[no-untyped-def]
    """Vernette's orders of 2024–2026 (and one of Rozel's), figures worked out by hand below."""
    S, D, P = OrderStatus, DeliveryKind, PaymentMode
    with session_for(app) as session:
        ids = {e.slug: e.id for e in session.scalars(select(Estate))}
        v, r = ids[VERNETTE], ids[ROZEL]
        w1, w2, w3 = session.scalars(select(Wine.id).where(Wine.estate_id == v).order_by(Wine.id).limit(3)).all()
        rozel_wine = session.scalars(select(Wine.id).where(Wine.estate_id == r)).first()
        a, c, d, e = (add_customer(session, v, f"{name}@stats.example") for name in "acde")
        b = add_customer(session, v, "b@stats.example", CustomerKind.PROFESSIONNEL)
        rozel_customer = add_customer(session, r, "r@stats.example")
        add_order(session, v, d, paris(2024, 6, 10), [(w1, 6, 6000, "goods")], S.DELIVERED)
        # 00:30 on 1 January in Paris is still 2024 in UTC: it is January 2025 here
        add_order(session, v, a, paris(2025, 1, 1, 0, 30), [(w1, 6, 6000, "goods"), (None, 1, 1200, "shipping")],
                  S.PAID, D.HOME, P.CARD)
        add_order(session, v, b, paris(2025, 3, 15), [(w2, 12, 14400, "goods")], S.DELIVERED, D.PICKUP, P.TRANSFER)
        add_order(session, v, c, paris(2025, 3, 20), [(w1, 3, 3000, "goods"), (w2, 1, 1200, "goods"),
                                                       (w3, 1, 0, "gift"), (None, 1, -420, "discount")])
        add_order(session, v, d, paris(2025, 12, 31, 23, 30), [(w3, 2, 3000, "goods"), (None, 1, 900, "shipping")],
                  S.PENDING_PAYMENT, D.HOME, P.TRANSFER)
        add_order(session, v, a, paris(2025, 5, 5), [(w3, 100, 150000, "goods")], S.CANCELLED)
        add_order(session, v, e, paris(2025, 7, 7), [(w2, 6, 7200, "goods")], S.CANCELLED)  # e never counts
        add_order(session, v, a, paris(2026, 1, 1, 0, 30), [(w1, 1, 1000, "goods")], S.PENDING_PAYMENT)
        add_order(session, r, rozel_customer, paris(2025, 3, 10), [(rozel_wine, 50, 99900, "goods")])
        add_order(session, r, rozel_customer, paris(2025, 3, 11), [(rozel_wine, 1, 1900, "goods")],
                  S.PENDING_PAYMENT)
        session.commit()
    return {"vernette": v, "rozel": r, "wines": (w1, w2, w3), "rozel_wine": rozel_wine}


def test_the_figures_of_a_year_count_its_paris_months_and_never_cancelled_orders(app, known_orders):
    w1, w2, w3 = known_orders["wines"]
    with session_for(app) as session:
        year = statistics.for_year(session, known_orders["vernette"], 2025)
        overview = statistics.overview(session, known_orders["vernette"])
    f = year.figures
    assert (f.orders, f.bottles, f.ttc_cents, f.ht_cents) == (4, 24, 29280, 24400)
    assert f.average_basket_ttc_cents == 7320
    assert (f.new_customers, f.returning_customers) == (3, 1)  # a, b, c new; d came back; e only cancelled
    months = {m.month: (m.orders, m.bottles, m.ttc_cents) for m in year.months}
    assert [m.month for m in year.months] == list(range(1, 13))
    assert months[1] == (1, 6, 7200) and months[3] == (2, 16, 18180) and months[12] == (1, 2, 3900)
    assert all(months[m] == (0, 0, 0) for m in (2, 4, 5, 6, 7, 8, 9, 10, 11))
    previous = {m.month: (m.previous_orders, m.previous_bottles, m.previous_ttc_cents) for m in year.months}
    assert previous[6] == (1, 6, 6000) and sum(p[0] for p in previous.values()) == 1
    assert [(w.wine_id, w.bottles, w.ttc_cents) for w in year.top_wines] == [(w2, 13, 15600), (w1, 9, 9000),
                                                                            (w3, 2, 3000)]
    assert all(w.name for w in year.top_wines)
    b = year.breakdown
    assert [(s.key, s.orders, s.ttc_cents) for s in b.by_customer_kind] == [
        (CustomerKind.PARTICULIER, 3, 14880), (CustomerKind.PROFESSIONNEL, 1, 14400)]
    assert [(s.key, s.orders, s.ttc_cents) for s in b.by_delivery] == [
        (DeliveryKind.PICKUP, 2, 18180), (DeliveryKind.HOME, 2, 11100)]
    assert [(s.key, s.orders, s.ttc_cents) for s in b.by_payment] == [
        (PaymentMode.TRANSFER, 2, 18300), (PaymentMode.CARD, 1, 7200), (PaymentMode.CHEQUE, 1, 3780)]
    # awaiting payment, whatever the year: December 2025 and January 2026, not Rozel's
    assert (overview.awaiting_payment_orders, overview.awaiting_payment_ttc_cents) == (2, 4900)
    assert {2024, 2025, 2026} <= set(overview.years) and statistics.current_year() in overview.years
    assert overview.years == sorted(overview.years, reverse=True)


def test_another_estates_orders_never_count(app, known_orders):
    with session_for(app) as session:
        rozel = statistics.for_year(session, known_orders["rozel"], 2025)
        rozel_overview = statistics.overview(session, known_orders["rozel"])
        vernette_2026 = statistics.for_year(session, known_orders["vernette"], 2026)
    assert (rozel.figures.orders, rozel.figures.bottles, rozel.figures.ttc_cents) == (2, 51, 101800)
    assert [(w.wine_id, w.bottles) for w in rozel.top_wines] == [(known_orders["rozel_wine"], 51)]
    assert (rozel_overview.awaiting_payment_orders, rozel_overview.awaiting_payment_ttc_cents) == (1, 1900)
    assert (vernette_2026.figures.orders, vernette_2026.figures.new_customers,
            vernette_2026.figures.returning_customers) == (1, 0, 1)
    assert [m.previous_orders for m in vernette_2026.months] == [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_an_estate_without_orders_gets_zeros(app):
    vernette = estate_ids(app)[VERNETTE]
    with session_for(app) as session:
        year = statistics.for_year(session, vernette, statistics.current_year())
        overview = statistics.overview(session, vernette)
    assert year.figures == statistics.KeyFigures(0, 0, 0, 0, 0, 0, 0)
    assert year.top_wines == [] and year.breakdown.by_delivery == []
    assert [(s.orders, s.ttc_cents) for s in year.breakdown.by_customer_kind] == [(0, 0), (0, 0)]
    assert overview.years == [statistics.current_year()] and overview.awaiting_payment_orders == 0


def _money(app, cents: int) -> str:  # type: ignore[no-untyped-def]
    from services.templating import euros

    with app.test_request_context():
        return euros(cents)


def _by_id(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)<', page)
    assert match, element_id
    return match.group(1)


def test_the_page_shows_the_year_asked_for(app, known_orders):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.get(f"{URL}?annee=2025")
    page = text_of(response)
    assert response.status_code == 200
    assert "Chiffres clés 2025" in page and '<option value="2025" selected>' in page
    assert _by_id(page, "ca-ttc") == _money(app, 29280) and _by_id(page, "ca-ht") == _money(app, 24400)
    assert _by_id(page, "orders-count") == "4" and _by_id(page, "bottles") == "24"
    assert _by_id(page, "average-basket") == _money(app, 7320)
    assert _by_id(page, "new-customers") == "3" and _by_id(page, "returning-customers") == "1"
    march = page.split('id="month-3"')[1].split("</tr>")[0]
    assert "mars" in march and _money(app, 18180) in march and ">16<" in march
    june = page.split('id="month-6"')[1].split("</tr>")[0]
    assert _money(app, 6000) in june  # June 2024, beside June 2025
    assert "Enlèvement à la propriété" in page and "Livraison à domicile" in page and "Virement bancaire" in page
    assert "Particuliers" in page and "Professionnels" in page
    assert "2 commandes en attente de paiement" in page and _money(app, 4900) in page
    for year in (2024, 2025, 2026):
        assert f'<option value="{year}"' in page


def test_the_year_selector_swaps_only_the_figures_with_htmx(app, known_orders):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.get(f"{URL}?annee=2024", headers={"HX-Request": "true", "HX-Target": "statistics"})
    html = text_of(response)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="statistics">')
    assert "<html" not in html and "Chiffres clés 2024" in html and _by_id(html, "orders-count") == "1"


@pytest.mark.parametrize("value, message", [
    ("abc", "« abc » n'est pas une année"),
    ("1999", "Aucune commande en 1999"),
    ("99999999999999999999", "n'est pas une année"),
    ("-2025", "n'est pas une année"),
    ("<script>", "« <script> » n'est pas une année"),
])
def test_a_bad_year_gets_a_french_message_and_the_current_year(app, known_orders, value, message):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.get(URL, query_string={"annee": value})
    assert response.status_code == 200
    assert message in text_of(response) and "<script>" not in response.get_data(as_text=True)
    assert f"Chiffres clés {statistics.current_year()}" in text_of(response)


def test_without_a_year_the_page_shows_the_current_one(app, known_orders):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    page = text_of(staff.get(URL))
    assert f"Chiffres clés {statistics.current_year()}" in page
    assert f'<option value="{statistics.current_year()}" selected>' in page
    assert "n'est pas une année" not in page and "Aucune commande en" not in page


def test_only_the_estates_staff_sees_its_statistics(app):
    assert visitor(app).get(URL).status_code == 302  # to the login page
    for email in ("client@chai.example", "vigneron@rozel.example"):
        other = visitor(app)
        login(other, email)
        assert other.get(URL).status_code == 404, email
    operator = visitor(app)
    login(operator, "operateur@chai.example")
    assert operator.get(URL).status_code == 200
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    dashboard = text_of(staff.get(f"/gestion/{VERNETTE}/"))
    assert f'href="{URL}"' in dashboard and "Statistiques" in dashboard


def test_an_order_placed_at_checkout_is_counted_and_awaits_payment(app):
    wine_id, _, unit = first_orderable_wine(app, VERNETTE, stock=100)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery="pickup")).status_code == 302
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        year = statistics.for_year(session, order.estate_id, statistics.current_year())
        overview = statistics.overview(session, order.estate_id)
    assert (year.figures.orders, year.figures.bottles, year.figures.ttc_cents) == (1, 6, order.total_ttc_cents)
    assert (year.figures.new_customers, year.top_wines[0].wine_id, year.top_wines[0].bottles) == (1, wine_id, 6)
    assert year.top_wines[0].ttc_cents == 6 * unit
    assert (overview.awaiting_payment_orders, overview.awaiting_payment_ttc_cents) == (1, order.total_ttc_cents)


def test_the_page_sends_exactly_the_benchmarks_statements(app, known_orders):
    """services.statistics.raw_sql is what a benchmark times against the page: the page
    must send those statements and no other statistics query."""
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    with app.app_context():
        dialect = db.engine.dialect
    expected = [str(s.compile(dialect=dialect)) for s in statistics.statements(known_orders["vernette"], 2025)]
    with count_queries(app) as queries:
        assert staff.get(f"{URL}?annee=2025").status_code == 200
    sent = [q for q in queries if "shop_order" in q or "order_line" in q]
    assert sent == expected, queries.report()
    raw = statistics.raw_sql(dialect.name, known_orders["vernette"], 2025)
    assert len(raw) == len(expected) and all("'2024-12-31 23:00:00" in s for s in raw[2:])
    with app.app_context():  # the raw SQL runs as is through the DBAPI and gives the page's figures
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(raw[1])
            assert sorted(row[:4] for row in cursor.fetchall()) == [
                (5, 1, 6, 6000), (12, 1, 6, 7200), (14, 2, 16, 18180), (23, 1, 2, 3900)]
        finally:
            connection.close()
