"""The vigneron's statistics page: on a known set of orders whose figures are worked out
by hand below (paid orders only, credit notes subtracted on their issue date, Paris days
and months, customer types with "groupe", payment modes, group purchases, fairs and
referrals), each figure on the page and each CSV cell; the period picker and its bad
input; another estate's orders and CSV; and the SQL the page sends being exactly the
benchmark's raw SQL."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import (
    CustomerKind,
    DeliveryKind,
    Document,
    Estate,
    EstateCustomer,
    EstateFair,
    Fair,
    GroupPurchase,
    Invoice,
    InvoiceKind,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMode,
    Referral,
    Wine,
    db,
)
from services import statistics
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor
from tests.querycount import count_queries

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
URL = f"/gestion/{VERNETTE}/statistiques"
CSV_URL = f"/gestion/{VERNETTE}/statistiques.csv"
PARIS = ZoneInfo("Europe/Paris")
_numbers = itertools.count(1)
INJECTED = "=SOMME(A1:A9)"  #: a wine name a spreadsheet would run as a formula


def paris(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(timezone.utc)


def add_order(session, estate_id: int, customer_id: int, created_at: datetime,  # type: ignore[no-untyped-def]
              lines: list[tuple], status: OrderStatus = OrderStatus.PAID,
              delivery: DeliveryKind = DeliveryKind.PICKUP, payment: PaymentMode = PaymentMode.CHEQUE,
              user_id: int | None = None, **columns) -> Order:
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
        paid_at=None if status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED) else created_at,
        **columns)
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


def add_invoice(session, order: Order, kind: InvoiceKind, issued_at: datetime) -> None:  # type: ignore[no-untyped-def]
    """An invoice or credit note of the order's totals (as services.invoicing issues them)."""
    n = next(_numbers)
    document = Document(estate_id=order.estate_id, order_id=order.id, kind=kind.value, filename=f"doc-{n}.pdf",
                        content=b"%PDF-1.4", created_at=issued_at)
    session.add(Invoice(estate_id=order.estate_id, order_id=order.id, kind=kind, number=f"T{n:05d}",
                        issued_at=issued_at, total_ht_cents=order.total_ht_cents,
                        total_vat_cents=order.total_vat_cents, total_ttc_cents=order.total_ttc_cents,
                        document=document))


def estate_ids(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return {e.slug: e.id for e in session.scalars(select(Estate))}


@pytest.fixture
def known_orders(app) -> dict:  # type: ignore[no-untyped-def]
    """Vernette's orders of 2024–2026 (and Rozel's), figures worked out by hand in the tests.

    ====  ========  ===========================  ======================  =====  ======  =========================
    #     customer  Paris date                   lines (TTC)             TTC    HT      counts in 2025?
    ====  ========  ===========================  ======================  =====  ======  =========================
    o1    c         2024-06-10 delivered         w1 6 = 6000             6000   5000    no (2024)
    o2    a         2025-01-01 00:30 paid card   w1 6 = 6000, port 1200  7200   6000    yes, January, home
    o3    b (pro)   2025-03-15 delivered virt.   w2 12 = 14400           14400  12000   yes; credit note 5 Nov
    o4    c         2025-04-01 00:30 paid chq    w1 3 = 3000, w2 1 =     3780   3150    yes, April (March in UTC)
                                                 1200, gift w3, −420
    o5    d         2025-12-31 23:30 pending     w3 2 = 3000, port 900   3900   —       no (unpaid)
    o6    a         2025-05-05 cancelled         w3 100 = 150000         —      —       no; its credit note neither
    o7    e         2025-06-10 paid card         w2 6 = 7200             7200   6000    yes, "groupe" (group purchase)
    o8    c         2025-09-20 paid cash, fair   w3 2 = 3000             3000   2500    yes
    o9    a         2025-10-10 paid chq          gift w1 1 = 0           0      0       a 0 € order: not an order
    o10   a         2026-01-01 00:30 pending     w1 1 = 1000             —      —       no
    ====  ========  ===========================  ======================  =====  ======  =========================

    Rozel: a paid order of 99900 in March 2025 and a pending one of 1900. Referral: e,
    sponsored by a, on 2025-06-10 (o7).
    """
    S, D, P = OrderStatus, DeliveryKind, PaymentMode
    with session_for(app) as session:
        ids = {e.slug: e.id for e in session.scalars(select(Estate))}
        v, r = ids[VERNETTE], ids[ROZEL]
        w1, w2, w3 = session.scalars(select(Wine.id).where(Wine.estate_id == v).order_by(Wine.id).limit(3)).all()
        session.get(Wine, w3).name = INJECTED
        rozel_wine = session.scalars(select(Wine.id).where(Wine.estate_id == r)).first()
        a, c, d, e = (add_customer(session, v, f"{name}@stats.example") for name in "acde")
        b = add_customer(session, v, "b@stats.example", CustomerKind.PROFESSIONNEL)
        rozel_customer = add_customer(session, r, "r@stats.example")
        purchase = GroupPurchase(estate_id=v, token="stats-gp", organiser_name="Amicale des Tilleuls",
                                 organiser_email="gp@stats.example", estimated_bottles=60, delivery_name="Amicale",
                                 street="1 rue", postcode="69000", city="Lyon", closes_at=paris(2025, 6, 30))
        fair = Fair(name="Salon des Vignerons", city="Paris", starts_on=date(2025, 9, 20), ends_on=date(2025, 9, 21))
        session.add_all([purchase, fair])
        session.flush()
        stand = EstateFair(estate_id=v, fair_id=fair.id, token="stats-fair")
        session.add(stand)
        session.flush()
        add_order(session, v, c, paris(2024, 6, 10), [(w1, 6, 6000, "goods")], S.DELIVERED)
        add_order(session, v, a, paris(2025, 1, 1, 0, 30), [(w1, 6, 6000, "goods"), (None, 1, 1200, "shipping")],
                  S.PAID, D.HOME, P.CARD)
        o3 = add_order(session, v, b, paris(2025, 3, 15), [(w2, 12, 14400, "goods")], S.DELIVERED, D.PICKUP,
                       P.TRANSFER)
        add_order(session, v, c, paris(2025, 4, 1, 0, 30), [(w1, 3, 3000, "goods"), (w2, 1, 1200, "goods"),
                                                             (w3, 1, 0, "gift"), (None, 1, -420, "discount")])
        add_order(session, v, d, paris(2025, 12, 31, 23, 30), [(w3, 2, 3000, "goods"), (None, 1, 900, "shipping")],
                  S.PENDING_PAYMENT, D.HOME, P.TRANSFER)
        o6 = add_order(session, v, a, paris(2025, 5, 5), [(w3, 100, 150000, "goods")], S.CANCELLED)
        o7 = add_order(session, v, e, paris(2025, 6, 10), [(w2, 6, 7200, "goods")], S.PAID, D.GROUP, P.CARD,
                       group_purchase_id=purchase.id)
        add_order(session, v, c, paris(2025, 9, 20), [(w3, 2, 3000, "goods")], S.PAID, D.FAIR, P.CASH,
                  estate_fair_id=stand.id)
        add_order(session, v, a, paris(2025, 10, 10), [(w1, 1, 0, "gift")], S.PAID)
        add_order(session, v, a, paris(2026, 1, 1, 0, 30), [(w1, 1, 1000, "goods")], S.PENDING_PAYMENT)
        add_order(session, r, rozel_customer, paris(2025, 3, 10), [(rozel_wine, 50, 99900, "goods")])
        add_order(session, r, rozel_customer, paris(2025, 3, 11), [(rozel_wine, 1, 1900, "goods")],
                  S.PENDING_PAYMENT)
        session.flush()
        add_invoice(session, o3, InvoiceKind.INVOICE, paris(2025, 3, 16))
        add_invoice(session, o3, InvoiceKind.CREDIT_NOTE, paris(2025, 11, 5))
        add_invoice(session, o6, InvoiceKind.INVOICE, paris(2025, 5, 5))
        add_invoice(session, o6, InvoiceKind.CREDIT_NOTE, paris(2025, 5, 6))  # its order is cancelled: no effect
        session.add(Referral(estate_id=v, sponsor_id=a, referee_id=e, order_id=o7.id, referee_bonus_cents=500,
                             sponsor_bonus_cents=500, created_at=paris(2025, 6, 10)))
        session.commit()
        return {"vernette": v, "rozel": r, "wines": (w1, w2, w3), "rozel_wine": rozel_wine,
                "group_purchase": purchase.id, "stand": stand.id}


def period(start: str, end: str, granularity: str) -> statistics.Period:
    return statistics.Period(date.fromisoformat(start), date.fromisoformat(end), granularity)


def test_the_figures_of_a_year_count_paid_orders_net_of_credit_notes(app, known_orders):
    w1, w2, w3 = known_orders["wines"]
    with session_for(app) as session:
        year = statistics.for_year(session, known_orders["vernette"], 2025)
        overview = statistics.overview(session, known_orders["vernette"])
    f = year.figures
    assert (f.orders, f.bottles) == (5, 30)
    assert (f.gross_ttc_cents, f.gross_ht_cents, f.credit_ttc_cents, f.credit_ht_cents) == (35580, 29650, 14400, 12000)
    assert (f.ttc_cents, f.ht_cents) == (21180, 17650)
    assert (f.average_basket_ttc_cents, f.average_basket_ht_cents) == (7116, 5930)
    assert (f.new_customers, f.returning_customers) == (3, 1)  # a, b, e new; c came back; d only unpaid
    months = {r.start.month: (r.orders, r.bottles, r.ttc_cents, r.ht_cents, r.credit_ttc_cents) for r in year.series}
    assert [r.start for r in year.series] == [date(2025, m, 1) for m in range(1, 13)]
    assert months == {1: (1, 6, 7200, 6000, 0), 2: (0, 0, 0, 0, 0), 3: (1, 12, 14400, 12000, 0),
                      4: (1, 4, 3780, 3150, 0), 5: (0, 0, 0, 0, 0), 6: (1, 6, 7200, 6000, 0), 7: (0, 0, 0, 0, 0),
                      8: (0, 0, 0, 0, 0), 9: (1, 2, 3000, 2500, 0), 10: (0, 0, 0, 0, 0),
                      11: (0, 0, 0, 0, 14400), 12: (0, 0, 0, 0, 0)}
    assert year.series[10].net_ttc_cents == -14400 and year.series[10].net_ht_cents == -12000
    assert [(w.wine_id, w.bottles, w.ttc_cents) for w in year.top_wines] == [(w2, 19, 22800), (w1, 9, 9000),
                                                                            (w3, 2, 3000)]
    b = year.breakdown
    assert [(s.key, s.orders, s.ttc_cents, s.ht_cents) for s in b.by_customer_type] == [
        ("particulier", 3, 13980, 11650), ("professionnel", 1, 14400, 12000), ("groupe", 1, 7200, 6000)]
    assert [(s.key, s.orders, s.ttc_cents, s.ht_cents) for s in b.by_payment] == [
        (PaymentMode.CARD, 2, 14400, 12000), (PaymentMode.TRANSFER, 1, 14400, 12000),
        (PaymentMode.CHEQUE, 1, 3780, 3150), (PaymentMode.CASH, 1, 3000, 2500)]
    assert [(s.key, s.orders, s.ttc_cents) for s in b.by_delivery] == [
        (DeliveryKind.PICKUP, 2, 18180), (DeliveryKind.HOME, 1, 7200), (DeliveryKind.GROUP, 1, 7200),
        (DeliveryKind.FAIR, 1, 3000)]
    assert [(o.kind, o.id, o.label, o.orders, o.bottles, o.ttc_cents, o.ht_cents) for o in year.occasions] == [
        ("group_purchase", known_orders["group_purchase"], "Amicale des Tilleuls (Lyon)", 1, 6, 7200, 6000),
        ("fair", known_orders["stand"], "Salon des Vignerons 2025", 1, 2, 3000, 2500)]
    assert year.referrals == statistics.Referrals(made=1, referees_who_ordered=1, orders=1, ttc_cents=7200,
                                                  ht_cents=6000)
    # awaiting payment, whatever the date: December 2025 and January 2026, not Rozel's
    assert (overview.awaiting_payment_orders, overview.awaiting_payment_ttc_cents) == (2, 4900)
    assert overview.first_order == date(2024, 6, 10)


def test_days_and_months_are_paris_ones(app, known_orders):
    v = known_orders["vernette"]
    with session_for(app) as session:
        days = statistics.for_period(session, v, period("2025-03-31", "2025-04-01", "jour"))
        previous = statistics.for_year(session, v, 2024)
        years = statistics.for_period(session, v, period("2024-06-01", "2026-01-31", "annee"))
    # 00:30 on 1 April in Paris is 31 March in UTC: it is the 1st here
    assert [(r.start, r.orders, r.ttc_cents) for r in days.series] == [
        (date(2025, 3, 31), 0, 0), (date(2025, 4, 1), 1, 3780)]
    # 00:30 on 1 January 2025 in Paris is still 2024 in UTC: not in 2024 here
    assert (previous.figures.orders, previous.figures.bottles, previous.figures.ttc_cents) == (1, 6, 6000)
    assert [(r.start, r.orders, r.ttc_cents, r.credit_ttc_cents) for r in years.series] == [
        (date(2024, 6, 1), 1, 6000, 0), (date(2025, 1, 1), 5, 35580, 14400), (date(2026, 1, 1), 0, 0, 0)]


def test_another_estates_orders_never_count(app, known_orders):
    with session_for(app) as session:
        rozel = statistics.for_year(session, known_orders["rozel"], 2025)
        rozel_overview = statistics.overview(session, known_orders["rozel"])
        vernette_2026 = statistics.for_year(session, known_orders["vernette"], 2026)
    assert (rozel.figures.orders, rozel.figures.bottles, rozel.figures.ttc_cents) == (1, 50, 99900)
    assert [(w.wine_id, w.bottles) for w in rozel.top_wines] == [(known_orders["rozel_wine"], 50)]
    assert rozel.occasions == [] and rozel.referrals.made == 0 and rozel.figures.credit_ttc_cents == 0
    assert (rozel_overview.awaiting_payment_orders, rozel_overview.awaiting_payment_ttc_cents) == (1, 1900)
    assert vernette_2026.figures == statistics.KeyFigures(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def test_an_estate_without_orders_gets_zeros(app):
    vernette = estate_ids(app)[VERNETTE]
    with session_for(app) as session:
        year = statistics.for_year(session, vernette, statistics.current_year())
        overview = statistics.overview(session, vernette)
    assert year.figures == statistics.KeyFigures(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert year.top_wines == [] and year.breakdown.by_delivery == [] and year.occasions == []
    assert [(s.orders, s.ttc_cents) for s in year.breakdown.by_customer_type] == [(0, 0)] * 3
    assert [(s.orders, s.ttc_cents) for s in year.breakdown.by_payment] == [(0, 0)] * 4
    assert overview.first_order is None and overview.awaiting_payment_orders == 0


def _money(app, cents: int) -> str:  # type: ignore[no-untyped-def]
    from services.templating import euros

    with app.test_request_context():
        return euros(cents)


def _by_id(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)<', page)
    assert match, element_id
    return match.group(1)


def _row(page: str, row_id: str) -> list[str]:
    """The cells of the table row ``row_id``, as text."""
    row = page.split(f'id="{row_id}"')[1].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def staff_client(app):  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    return staff


def test_the_page_shows_each_figure_of_the_year(app, known_orders):
    m = lambda cents: _money(app, cents)  # noqa: E731
    response = staff_client(app).get(f"{URL}?annee=2025")
    page = text_of(response)
    assert response.status_code == 200
    assert "Du 01/01/2025 au 31/12/2025" in page and 'name="du" value="2025-01-01"' in page
    assert _by_id(page, "series-title") == "Chiffre d'affaires par mois" and '<option value="" selected>' in page
    assert _by_id(page, "ca-ttc") == m(21180) and _by_id(page, "ca-ht") == m(17650)
    assert _by_id(page, "credit-ttc") == m(-14400)
    assert _by_id(page, "orders-count") == "5" and _by_id(page, "bottles") == "30"
    assert _by_id(page, "average-basket") == m(7116) and _by_id(page, "average-basket-ht") == m(5930)
    assert _by_id(page, "new-customers") == "3" and _by_id(page, "returning-customers") == "1"
    assert _row(page, "bucket-2025-04-01") == ["avril 2025", "1", "4", m(3150), m(3780), "", m(3780)]
    assert _row(page, "bucket-2025-11-01") == ["novembre 2025", "0", "0", m(0), m(0), m(-14400), m(-14400)]
    assert _row(page, "type-particulier") == ["Particuliers", "3", m(11650), m(13980)]
    assert _row(page, "type-professionnel") == ["Professionnels", "1", m(12000), m(14400)]
    assert _row(page, "type-groupe") == ["Groupes", "1", m(6000), m(7200)]
    assert _row(page, "payment-card") == ["Carte bancaire", "2", m(12000), m(14400)]
    assert _row(page, "payment-cash")[1:] == ["1", m(2500), m(3000)]
    assert _row(page, f"group_purchase-{known_orders['group_purchase']}") == [
        "Achat groupé", "Amicale des Tilleuls (Lyon)", "1", "6", m(6000), m(7200)]
    assert _row(page, f"fair-{known_orders['stand']}")[1:] == ["Salon des Vignerons 2025", "1", "2", m(2500), m(3000)]
    assert _by_id(page, "referrals-made") == "1" and _by_id(page, "referees-ttc") == m(7200)
    assert "2 commandes en attente de paiement" in page and m(4900) in page
    assert INJECTED in page  # the page escapes it; only the CSV must defuse it
    # the charts: one bar per month, one per customer type and per payment mode
    series_svg = page.split('id="series-chart"')[1].split("</svg>")[0]
    assert series_svg.count("<rect") == 12 and 'class="bar negative"' in series_svg
    assert "role=\"img\"" in page.split('id="series-chart"')[0][-200:] or 'role="img"' in series_svg[:300]
    assert page.split('id="type-chart"')[1].split("</svg>")[0].count("<rect") == 3
    assert page.split('id="payment-chart"')[1].split("</svg>")[0].count("<rect") == 4
    assert " style=" not in page and "<script>" not in page


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:]), delimiter=";"))


def _section(rows: list[list[str]], title: str) -> list[list[str]]:
    """The rows of a CSV section, its header first, up to the next empty line."""
    start = rows.index([title]) + 1
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start:end]


def test_the_csv_holds_the_same_figures(app, known_orders):
    response = staff_client(app).get(CSV_URL, query_string={"du": "2025-01-01", "au": "2025-12-31",
                                                             "granularite": "mois"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="statistiques-{VERNETTE}-2025-01-01-2025-12-31.csv"')
    rows = _csv(response)
    assert rows[0] == ["Période", "2025-01-01", "2025-12-31", "Découpage", "mois"]
    assert _section(rows, "Chiffres clés") == [
        ["Commandes", "Bouteilles", "CA HT", "CA TTC", "Avoirs HT", "Avoirs TTC", "CA net HT", "CA net TTC",
         "Panier moyen HT", "Panier moyen TTC", "Nouveaux clients", "Clients fidèles"],
        ["5", "30", "296,50", "355,80", "120,00", "144,00", "176,50", "211,80", "59,30", "71,16", "3", "1"]]
    series = _section(rows, "Chiffre d'affaires par période")
    assert series[0] == ["Date", "Commandes", "Bouteilles", "CA HT", "CA TTC", "Avoirs HT", "Avoirs TTC",
                         "CA net HT", "CA net TTC"]
    assert [r[0] for r in series[1:]] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert series[1] == ["2025-01", "1", "6", "60,00", "72,00", "0,00", "0,00", "60,00", "72,00"]
    assert series[4] == ["2025-04", "1", "4", "31,50", "37,80", "0,00", "0,00", "31,50", "37,80"]
    assert series[11] == ["2025-11", "0", "0", "0,00", "0,00", "120,00", "144,00", "-120,00", "-144,00"]
    assert _section(rows, "Par type de client")[1:] == [
        ["Particuliers", "3", "116,50", "139,80"], ["Professionnels", "1", "120,00", "144,00"],
        ["Groupes", "1", "60,00", "72,00"]]
    assert _section(rows, "Par mode de paiement")[1:] == [
        ["Carte bancaire", "2", "120,00", "144,00"], ["Virement bancaire", "1", "120,00", "144,00"],
        ["Chèque", "1", "31,50", "37,80"], ["Espèces au retrait", "1", "25,00", "30,00"]]
    wines = _section(rows, "Vins les plus vendus")[1:]
    assert [(r[2], r[3]) for r in wines] == [("19", "228,00"), ("9", "90,00"), ("2", "30,00")]
    assert wines[2][0] == "'" + INJECTED  # never run as a formula
    assert _section(rows, "Achats groupés et salons")[1:] == [
        ["Achat groupé", "Amicale des Tilleuls (Lyon)", "1", "6", "60,00", "72,00"],
        ["Salon", "Salon des Vignerons 2025", "1", "2", "25,00", "30,00"]]
    assert _section(rows, "Parrainage")[1:] == [["1", "1", "1", "60,00", "72,00"]]


def test_a_daily_csv_has_one_line_per_paris_day(app, known_orders):
    rows = _csv(staff_client(app).get(CSV_URL, query_string={"du": "2025-03-31", "au": "2025-04-02"}))
    assert rows[0][-1] == "jour"
    assert [r[:5] for r in _section(rows, "Chiffre d'affaires par période")[1:]] == [
        ["2025-03-31", "0", "0", "0,00", "0,00"], ["2025-04-01", "1", "4", "31,50", "37,80"],
        ["2025-04-02", "0", "0", "0,00", "0,00"]]


def test_the_period_picker_changes_the_figures(app, known_orders):
    staff = staff_client(app)
    page = text_of(staff.get(URL, query_string={"du": "2025-03-01", "au": "2025-06-30"}))
    assert "Du 01/03/2025 au 30/06/2025" in page
    assert _by_id(page, "series-title") == "Chiffre d'affaires par mois"  # 122 days: month by month
    assert _by_id(page, "orders-count") == "3" and _by_id(page, "ca-ttc") == _money(app, 14400 + 3780 + 7200)
    assert [page.count(f'id="bucket-2025-0{m}-01"') for m in (3, 4, 5, 6)] == [1, 1, 1, 1]
    daily = text_of(staff.get(URL, query_string={"du": "2025-09-20", "au": "2025-09-20"}))
    assert _by_id(daily, "orders-count") == "1" and _by_id(daily, "ca-ttc") == _money(app, 3000)
    assert _by_id(daily, "series-title") == "Chiffre d'affaires par jour" and daily.count('id="bucket-') == 1
    forced = text_of(staff.get(URL, query_string={"du": "2025-03-01", "au": "2025-06-30", "granularite": "jour"}))
    assert '<option value="jour" selected>' in forced and forced.count('id="bucket-') == 122
    yearly = text_of(staff.get(URL, query_string={"du": "2020-01-01", "au": "2026-12-31"}))
    assert _by_id(yearly, "series-title") == "Chiffre d'affaires par année" and yearly.count('id="bucket-') == 7
    assert _by_id(yearly, "orders-count") == "6"  # 2024's, 2025's five; no 2026 order is paid


def test_the_presets_link_to_their_periods(app):
    today = statistics.today()
    page = staff_client(app).get(URL).get_data(as_text=True)
    for label, start, end in statistics.presets(today):
        assert f"du={start.isoformat()}&amp;au={end.isoformat()}" in page, label
    assert f'name="du" value="{today.year}-01-01"' in page  # the default: this calendar year
    presets = {label: (start, end) for label, start, end in statistics.presets(date(2025, 3, 15))}
    assert presets == {"Ce mois-ci": (date(2025, 3, 1), date(2025, 3, 15)),
                       "Le mois dernier": (date(2025, 2, 1), date(2025, 2, 28)),
                       "Cette année": (date(2025, 1, 1), date(2025, 3, 15)),
                       "L'année dernière": (date(2024, 1, 1), date(2024, 12, 31)),
                       "12 derniers mois": (date(2024, 4, 1), date(2025, 3, 15))}


@pytest.mark.parametrize("query, message", [
    ({"annee": "abc"}, "« abc » n'est pas une année"),
    ({"annee": "99999999999999999999"}, "n'est pas une année"),
    ({"annee": "-2025"}, "n'est pas une année"),
    ({"annee": "<script>"}, "« <script> » n'est pas une année"),
    ({"du": "2025-02-30", "au": "2025-03-01"}, "« 2025-02-30 » n'est pas une date"),
    ({"du": "hier", "au": "2025-03-01"}, "« hier » n'est pas une date"),
    ({"du": "2025-13-01"}, "« 2025-13-01 » n'est pas une date"),
    ({"du": "0001-01-01", "au": "2025-03-01"}, "n'est pas une date"),
    ({"du": "2025-03-01", "au": "2025-02-01"}, "La date de fin précède la date de début"),
    ({"du": "2010-01-01", "au": "2025-12-31"}, "Une période dure au plus 10 ans"),
    ({"du": "2025-01-01", "au": "2025-01-31", "granularite": "semaine"}, "n'est pas un découpage connu"),
    ({"du": "2020-01-01", "au": "2025-12-31", "granularite": "jour"}, "mois par mois"),
])
def test_a_bad_period_gets_a_french_message_and_a_sensible_default(app, known_orders, query, message):
    response = staff_client(app).get(URL, query_string=query)
    page = text_of(response)
    assert response.status_code == 200
    assert message in page and "<script>" not in response.get_data(as_text=True)
    if "granularite" not in query:
        year = statistics.current_year()
        assert f"Du 01/01/{year} au 31/12/{year}" in page
    csv_response = staff_client(app).get(CSV_URL, query_string=query)
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"


def test_only_the_estates_staff_sees_its_statistics(app, known_orders):
    assert visitor(app).get(URL).status_code == 302  # to the login page
    assert visitor(app).get(CSV_URL).status_code == 302
    for email in ("client@chai.example", "vigneron@rozel.example"):
        other = visitor(app)
        login(other, email)
        assert other.get(URL).status_code == 404, email
        assert other.get(CSV_URL).status_code == 404, email
    rozel_staff = visitor(app)
    login(rozel_staff, "vigneron@rozel.example")
    rows = _csv(rozel_staff.get(f"/gestion/{ROZEL}/statistiques.csv", query_string={"annee": "2025"}))
    assert _section(rows, "Chiffres clés")[1][:4] == ["1", "50", "832,50", "999,00"]
    assert _section(rows, "Achats groupés et salons")[1:] == [] and INJECTED not in str(rows)
    operator = visitor(app)
    login(operator, "operateur@chai.example")
    assert operator.get(URL).status_code == 200
    dashboard = text_of(staff_client(app).get(f"/gestion/{VERNETTE}/"))
    assert f'href="{URL}"' in dashboard and "Statistiques" in dashboard


def test_the_page_without_orders(app):
    page = text_of(staff_client(app).get(URL))
    assert _by_id(page, "orders-count") == "0" and _by_id(page, "ca-ttc") == _money(app, 0)
    assert "Aucun vin vendu sur la période." in page and "Aucune commande en attente de paiement." in page
    assert page.split('id="series-chart"')[1].split("</svg>")[0].count("<rect") == 12


def test_an_order_placed_and_paid_at_checkout_is_counted(app):
    wine_id, _, unit = first_orderable_wine(app, VERNETTE, stock=100)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery="pickup")).status_code == 302
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        unpaid = statistics.for_year(session, order.estate_id, statistics.current_year())
        overview = statistics.overview(session, order.estate_id)
        order.status, order.paid_at = OrderStatus.PAID, order.created_at
        session.commit()
        paid = statistics.for_year(session, order.estate_id, statistics.current_year())
    assert unpaid.figures.orders == 0 and unpaid.top_wines == []  # awaiting payment: not revenue yet
    assert (overview.awaiting_payment_orders, overview.awaiting_payment_ttc_cents) == (1, order.total_ttc_cents)
    assert (paid.figures.orders, paid.figures.bottles, paid.figures.ttc_cents) == (1, 6, order.total_ttc_cents)
    assert (paid.figures.new_customers, paid.top_wines[0].wine_id, paid.top_wines[0].bottles) == (1, wine_id, 6)
    assert paid.top_wines[0].ttc_cents == 6 * unit


def test_the_page_sends_exactly_the_benchmarks_statements(app, known_orders):
    """services.statistics.raw_sql is what a benchmark times against the page: the page
    must send those statements and no other statistics query."""
    staff = staff_client(app)
    with app.app_context():
        dialect = db.engine.dialect
    expected = [str(s.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))
                for s in statistics.statements(known_orders["vernette"], 2025)]
    with count_queries(app) as queries:
        assert staff.get(f"{URL}?annee=2025").status_code == 200
    sent = [q for q in queries if "shop_order" in q or "order_line" in q]
    assert sent == expected, queries.report()
    raw = statistics.raw_sql(dialect.name, known_orders["vernette"], 2025)
    assert len(raw) == len(expected) == 8 and all("'2024-12-31 23:00:00" in s for s in raw[1:])
    with app.app_context():  # the raw SQL runs as is through the DBAPI and gives the page's figures
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            for sql in raw:  # every statement runs as is
                cursor.execute(sql)
                cursor.fetchall()
            cursor.execute(raw[1])
            assert sorted(tuple(row[:4]) for row in cursor.fetchall()) == [
                (0, 1, 6, 7200), (2, 1, 12, 14400), (3, 1, 4, 3780), (5, 1, 6, 7200), (8, 1, 2, 3000),
                (9, 0, 0, 0)]
        finally:
            connection.close()
