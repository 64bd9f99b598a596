"""N+1 guards: each main page sends as many SQL statements with five times the wines,
orders, order lines and customers' orders as it did before.

Each test measures a page, multiplies the data it shows, and measures again; the
counts must be equal (``tests/querycount.py`` counts every statement the engine
sends). Placing an order is the one place where statements grow with the cart: one
guarded stock UPDATE per distinct wine, by design (services/orders.py), and on SQLite
one INSERT per order line (SQLAlchemy batches them on PostgreSQL only).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from flask.testing import FlaskClient
from sqlalchemy import select

from models import (
    Colour,
    DeliveryKind,
    Estate,
    EstateCustomer,
    OrderStatus,
    PaymentMode,
    Price,
    PriceList,
    User,
    VatRate,
    Wine,
    WineImage,
)
from services import page_cache
from tests.conftest import checkout_form, login, session_for, visitor
from tests.integration.test_statistics import add_order
from tests.querycount import count_queries

VERNETTE = "domaine-de-la-vernette"
HX = {"HX-Request": "true"}
_names = itertools.count(1)


def _estate_id(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == VERNETTE)).one()


def add_wines(app, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``n`` visible wines of Vernette, on every one of its price lists, two photos each."""
    estate_id = _estate_id(app)
    with session_for(app) as session:
        lists = session.scalars(select(PriceList).where(PriceList.estate_id == estate_id)).all()
        vat = session.scalars(select(VatRate).where(VatRate.rate_bp == 2000)).first()
        wines = []
        for _ in range(n):
            k = next(_names)
            wine = Wine(estate_id=estate_id, name=f"Cuvée de test {k}", colour=list(Colour)[k % 3],
                        vintage=2020 + k % 5, stock=500, vat_rate_id=vat.id, position=100 + k)
            wine.prices = [Price(estate_id=estate_id, price_list=pl, amount_cents=1000 + k) for pl in lists]
            wine.images = [WineImage(estate_id=estate_id, path=f"test/{k}-{i}.jpg", position=i) for i in range(2)]
            session.add(wine)
            wines.append(wine)
        session.commit()
        return [w.id for w in wines]


def add_orders(app, n: int, customer_id: int | None = None, lines: int = 5,  # type: ignore[no-untyped-def]
               status: OrderStatus = OrderStatus.PAID, user_id: int | None = None) -> list[int]:
    """``n`` orders of ``lines`` goods lines each (plus shipping), this year, for the
    given customer or for new ones."""
    estate_id = _estate_id(app)
    now = datetime.now(timezone.utc)
    with session_for(app) as session:
        wine_ids = session.scalars(select(Wine.id).where(Wine.estate_id == estate_id).order_by(Wine.id)).all()
        orders = []
        for i in range(n):
            who = customer_id
            if who is None:
                customer = EstateCustomer(estate_id=estate_id, email=f"guard{next(_names)}@example.com")
                session.add(customer)
                session.flush()
                who = customer.id
            goods = [(wine_ids[(i + j) % len(wine_ids)], 6, 6000, "goods") for j in range(lines)]
            orders.append(add_order(session, estate_id, who, now - timedelta(minutes=i + 1),
                                    goods + [(None, 1, 900, "shipping")], status, DeliveryKind.PICKUP,
                                    PaymentMode.CHEQUE, user_id))
        session.commit()
        return [order.id for order in orders]


def count(app, request) -> int:  # type: ignore[no-untyped-def]
    """Statements sent while ``request()`` runs; the response must be a success. Kept
    anonymous pages are forgotten first: the page is measured as rendered."""
    page_cache.clear(app)
    with count_queries(app) as queries:
        response = request()
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:1000]
    count.last = queries  # type: ignore[attr-defined]
    return len(queries)


def staff_client(app) -> FlaskClient:  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    return staff


def fill_cart(app, client: FlaskClient, wine_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    for wine_id in wine_ids:
        response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
        assert response.status_code == 302


def wines_of_vernette(app) -> list[int]:  # type: ignore[no-untyped-def]
    """Orderable wines (visible, available, by the bottle, on "Particuliers"), by id."""
    estate_id = _estate_id(app)
    with session_for(app) as session:
        particuliers = session.scalars(select(PriceList.id).where(PriceList.estate_id == estate_id,
                                                                  PriceList.name == "Particuliers")).one()
        return list(session.scalars(
            select(Wine.id).join(Price, Price.wine_id == Wine.id)
            .where(Wine.estate_id == estate_id, Price.price_list_id == particuliers, Price.promo_active.is_(False),
                   Wine.is_visible.is_(True), Wine.is_available.is_(True), Wine.order_multiple == 1)
            .order_by(Wine.id)))


def assert_same(app, measure, grow) -> int:  # type: ignore[no-untyped-def]
    """``measure()`` sends as many statements after ``grow()`` as before; returns the count."""
    before = count(app, measure)
    first = count.last
    grow()
    after = count(app, measure)
    assert after == before, f"{before} statements before, {after} after:\n{first.report()}\n{count.last.report()}"
    return after


def test_estate_page_with_five_times_the_wines(app):
    client = visitor(app)
    fill_cart(app, client, wines_of_vernette(app)[:2])  # the header badge counts the cart's bottles
    client.get(f"/{VERNETTE}/")  # shows the adds' flash messages: both measures are then kept pages (page_cache)
    existing = len(wines_of_vernette(app))
    assert_same(app, lambda: client.get(f"/{VERNETTE}/"), lambda: add_wines(app, 4 * existing))
    assert len(wines_of_vernette(app)) >= 5 * existing


def test_wine_page_with_five_times_the_wines(app):
    client = visitor(app)
    (wine_id,) = add_wines(app, 1)
    existing = len(wines_of_vernette(app))
    assert_same(app, lambda: client.get(f"/{VERNETTE}/vin/{wine_id}"), lambda: add_wines(app, 4 * existing))


def test_cart_page_and_its_htmx_fragments_with_five_times_the_lines(app):
    add_wines(app, 12)
    wine_ids = wines_of_vernette(app)
    small, big = visitor(app), visitor(app)
    fill_cart(app, small, wine_ids[:2])
    requests = {
        "cart page": lambda client: client.get(f"/{VERNETTE}/panier", headers=HX),
        "quantity of a line": lambda client: client.post(f"/{VERNETTE}/panier/{wine_ids[0]}", data={"quantity": "12"},
                                                         headers=HX),
        "add to cart": lambda client: client.post(f"/{VERNETTE}/panier/ajouter/{wine_ids[1]}", data={"quantity": "6"},
                                                  headers=HX),
    }
    before = {name: count(app, lambda: request(small)) for name, request in requests.items()}
    fill_cart(app, big, wine_ids[:10])
    add_orders(app, 10)
    after = {name: count(app, lambda: request(big)) for name, request in requests.items()}
    assert after == before, count.last.report()


def _customer_id(app, email: str) -> int:  # type: ignore[no-untyped-def]
    estate_id = _estate_id(app)
    with session_for(app) as session:
        return session.scalars(select(EstateCustomer.id).where(EstateCustomer.estate_id == estate_id,
                                                               EstateCustomer.email == email)).one()


def test_checkout_page_with_five_times_the_cart_lines_and_orders(app):
    add_wines(app, 12)
    wine_ids = wines_of_vernette(app)
    client = visitor(app)
    login(client, "client@chai.example")
    fill_cart(app, client, wine_ids[:2])
    assert_same(app, lambda: client.get(f"/{VERNETTE}/commande"),
                lambda: (fill_cart(app, client, wine_ids[2:10]), add_orders(app, 10)))


def test_placing_an_order_costs_one_stock_update_per_wine_and_nothing_per_past_order(app, database):
    add_wines(app, 12)
    wine_ids = wines_of_vernette(app)
    client = visitor(app)
    login(client, "client@chai.example")
    tokens = itertools.count()

    def place(wines: list[int]):  # type: ignore[no-untyped-def]
        fill_cart(app, client, wines)
        form = checkout_form(token=f"guard{next(tokens)}", delivery="pickup", payment_mode="cheque")
        return count(app, lambda: client.post(f"/{VERNETTE}/commande", data=form))

    place(wine_ids[:2])  # the customer's first order here also files them and starts the sequence
    first = place(wine_ids[:2])
    first_queries = count.last
    add_orders(app, 10, customer_id=_customer_id(app, "client@chai.example"))
    add_orders(app, 10)
    second = place(wine_ids[:2])
    assert second == first, f"{first_queries.report()}\n{count.last.report()}"
    two = count.last
    place(wine_ids[:10])
    ten = count.last
    per_wine = ("UPDATE wine SET stock", "INSERT INTO order_line")
    assert len([q for q in ten if q.startswith(per_wine[0])]) == 10
    # the lines go in one executemany (services.orders.place_order), on both databases
    assert len([q for q in ten if q.startswith(per_wine[1])]) == 1
    others = lambda queries: [q for q in queries if not q.startswith(per_wine)]  # noqa: E731
    assert len(others(ten)) == len(others(two)), f"{two.report()}\n{ten.report()}"


def test_orders_table_with_five_times_the_orders(app):
    staff = staff_client(app)
    add_orders(app, 3)
    filters = "?statut=paid&livraison=pickup&paiement=cheque&q=T-&du=2000-01-01&au=2100-01-01"
    grow = lambda: add_orders(app, 12)  # noqa: E731 — still one page of 50
    assert_same(app, lambda: staff.get(f"/gestion/{VERNETTE}/commandes{filters}"), grow)
    grow()
    assert_same(app, lambda: staff.get(f"/gestion/{VERNETTE}/commandes{filters}",
                                       headers={**HX, "HX-Target": "orders-table"}), grow)
    assert_same(app, lambda: staff.get(f"/gestion/{VERNETTE}/commandes"), lambda: add_orders(app, 50))


def test_order_page_with_five_times_the_lines_and_events(app):
    staff = staff_client(app)
    add_wines(app, 10)
    (small,) = add_orders(app, 1, lines=2)
    (big,) = add_orders(app, 1, lines=10)
    for to in ("preparing", "delivered"):
        assert staff.post(f"/gestion/{VERNETTE}/commandes/{big}/statut", data={"to": to}).status_code == 302
    before = count(app, lambda: staff.get(f"/gestion/{VERNETTE}/commandes/{small}"))
    first = count.last
    after = count(app, lambda: staff.get(f"/gestion/{VERNETTE}/commandes/{big}"))
    assert after == before, f"{first.report()}\n{count.last.report()}"


def test_customer_card_with_five_times_the_orders_and_movements(app):
    staff = staff_client(app)
    customer_id = _customer_id(app, "client@chai.example")
    card = f"/gestion/{VERNETTE}/clients/{customer_id}"

    def movements(n: int) -> None:
        for _ in range(n):
            response = staff.post(f"{card}/fidelite", data={"direction": "credit", "amount": "5", "reason": "Casse"})
            assert response.status_code == 302

    add_orders(app, 2, customer_id=customer_id)
    movements(2)
    assert_same(app, lambda: staff.get(card), lambda: (add_orders(app, 8, customer_id=customer_id), movements(8)))


def test_statistics_page_with_five_times_the_orders(app):
    staff = staff_client(app)
    add_orders(app, 4)
    add_orders(app, 1, status=OrderStatus.PENDING_PAYMENT)
    page = f"/gestion/{VERNETTE}/statistiques"
    assert_same(app, lambda: staff.get(page), lambda: (add_orders(app, 16, lines=8),
                                                     add_orders(app, 4, status=OrderStatus.PENDING_PAYMENT)))


def test_customers_orders_list_with_five_times_the_orders(app):
    """/compte/commandes used to look up each order's invoices with one query per order."""
    with session_for(app) as session:
        user_id = session.scalars(select(User.id).where(User.email == "client@chai.example")).one()
    customer_id = _customer_id(app, "client@chai.example")
    client = visitor(app)
    login(client, "client@chai.example")
    staff = staff_client(app)

    def orders(n: int) -> None:
        """``n`` paid orders of the customer: one invoiced, one invoiced then cancelled (credit note)."""
        invoiced, credited, *_ = add_orders(app, n, customer_id=customer_id, user_id=user_id)
        for order_id in (invoiced, credited):
            assert staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facturer").status_code == 302
        cancel = staff.post(f"/gestion/{VERNETTE}/commandes/{credited}/statut", data={"to": "cancelled"})
        assert cancel.status_code == 302

    orders(3)
    assert_same(app, lambda: client.get("/compte/commandes"), lambda: orders(12))
    page = client.get("/compte/commandes").get_data(as_text=True)
    assert page.count("/facture.pdf") == 2  # the live invoices; a credited one shows no link
