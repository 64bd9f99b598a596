"""Benchmark data on top of the demo: 24 visible wines per estate, customers with
accounts for the checkout load, and years of orders for the back office.

The orders and their lines go in with SQLAlchemy Core ``insert()`` executemany, in
batches, inside one transaction; ids are given explicitly so that lines can point at
their order without a round trip. Everything is deterministic (one seeded ``Random``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select, text, update

from models import (
    Colour,
    CustomerKind,
    DeliveryKind,
    Estate,
    EstateCustomer,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMode,
    Price,
    PriceList,
    Promotion,
    Role,
    Sequence,
    ShippingZone,
    User,
    VatRate,
    Wine,
    db,
)
from services import passwords
from services.demo import PARTICULIERS, PROFESSIONNELS, ROZEL_SLUG, VERNETTE_SLUG, seed_demo
from services.tenancy import allow_all_estates

VISIBLE_WINES = 24
BENCH_PASSWORD = "bench-password"
BENCH_STOCK = 1_000_000  #: bottles of each added wine: the checkout load never runs out
ORDER_BATCH = 5_000
LINE_BATCH = 50_000
FIRST_DAY = datetime(2024, 1, 1, tzinfo=timezone.utc)
LAST_DAY = datetime(2026, 11, 20, tzinfo=timezone.utc)

#: (name, colour, appellation, vintage, TTC cents) added to reach 24 visible wines
EXTRA_WINES: dict[str, list[tuple[str, Colour, str, int | None, int]]] = {
    VERNETTE_SLUG: [
        ("Saint-Amour « En Rontet »", Colour.ROUGE, "Saint-Amour", 2022, 1750),
        ("Chénas « Les Carrières »", Colour.ROUGE, "Chénas", 2021, 1900),
        ("Régnié « Les Bruyères »", Colour.ROUGE, "Régnié", 2023, 1450),
        ("Brouilly « Pierreux »", Colour.ROUGE, "Brouilly", 2023, 1500),
        ("Côte de Brouilly « Vieilles Vignes »", Colour.ROUGE, "Côte de Brouilly", 2022, 1800),
        ("Bourgogne Gamay « La Croix »", Colour.ROUGE, "Bourgogne Gamay", 2023, 1200),
        ("Mâcon-Villages « Les Cras »", Colour.BLANC, "Mâcon-Villages", 2023, 1350),
        ("Viré-Clessé « Quintaine »", Colour.BLANC, "Viré-Clessé", 2022, 1950),
        ("Pouilly-Loché « Les Mures »", Colour.BLANC, "Pouilly-Loché", 2022, 2100),
        ("Beaujolais blanc « Chardonnay des Pierres »", Colour.BLANC, "Beaujolais", 2024, 1250),
        ("Crémant de Bourgogne Brut « Vernette Bulles »", Colour.EFFERVESCENT, "Crémant de Bourgogne", None, 1550),
        ("Mâcon rosé « Été »", Colour.ROSE, "Mâcon", 2024, 1050),
    ],
    ROZEL_SLUG: [
        ("Anjou rouge « Les Perrières »", Colour.ROUGE, "Anjou", 2023, 1150),
        ("Anjou Villages « Brissac »", Colour.ROUGE, "Anjou Villages Brissac", 2021, 1650),
        ("Saumur Puy-Notre-Dame « Le Puy »", Colour.ROUGE, "Saumur Puy-Notre-Dame", 2022, 1700),
        ("Chinon « Les Picasses »", Colour.ROUGE, "Chinon", 2022, 1600),
        ("Saumur blanc « Les Poyeux »", Colour.BLANC, "Saumur", 2023, 1450),
        ("Anjou blanc « Pierre Noire »", Colour.BLANC, "Anjou", 2023, 1500),
        ("Coteaux de Saumur « Tries »", Colour.MOELLEUX, "Coteaux de Saumur", 2020, 2500),
        ("Bonnezeaux « Les Melleresses »", Colour.MOELLEUX, "Bonnezeaux", 2018, 3200),
        ("Saumur Brut « Cave Rozel »", Colour.EFFERVESCENT, "Saumur", None, 1350),
        ("Rosé d'Anjou « Tendre »", Colour.ROSE, "Rosé d'Anjou", 2024, 900),
        ("Anjou Gamay « Primeur »", Colour.ROUGE, "Anjou Gamay", 2024, 1000),
    ],
}

FIRST_NAMES = ("Camille Léa Manon Chloé Inès Sarah Louise Emma Jeanne Alice Lucie Marie Anne Claire Julie "
               "Hugo Lucas Louis Jules Gabriel Arthur Paul Tom Nathan Léo Pierre Marc Thomas Antoine Julien").split()
LAST_NAMES = ("Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre "
              "Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent "
              "Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand").split()
CITIES = (("69007", "Lyon"), ("75011", "Paris"), ("13006", "Marseille"), ("33000", "Bordeaux"),
          ("44000", "Nantes"), ("67000", "Strasbourg"), ("59000", "Lille"), ("31000", "Toulouse"),
          ("49100", "Angers"), ("71000", "Mâcon"), ("21000", "Dijon"), ("35000", "Rennes"),
          ("06000", "Nice"), ("38000", "Grenoble"), ("37000", "Tours"), ("20000", "Ajaccio"))
STREETS = ("rue des Lilas", "avenue Jean Jaurès", "rue de la République", "place du Marché",
           "chemin des Vignes", "boulevard Victor Hugo", "rue Pasteur", "impasse des Tilleuls")


@dataclass
class BenchData:
    """What the load needs to know about the seeded database."""

    estate_ids: dict[str, int]
    wine_ids: dict[str, list[int]]  #: visible, available, priced wines, bench-added ones (large stock)
    page_wine_id: int  #: a demo wine with its full sheet, for the wine page
    promotion_id: int  #: #LAVERNETTE
    customers: list[dict] = field(default_factory=list)  #: bench accounts: email, user_id, customer_id
    orders: int = 0
    lines: int = 0


def seed(app, *, orders: int, lines: int, customers_per_estate: int, accounts: int,  # type: ignore[no-untyped-def]
         seed_value: int = 8) -> BenchData:
    """Demo + 24 wines per estate + ``accounts`` customers with logins at La Vernette +
    ``orders`` orders with exactly ``lines`` lines over both estates; commits."""
    rng = random.Random(seed_value)
    with app.app_context():
        session = db.session
        allow_all_estates(session)
        seed_demo(session)
        session.commit()
        estates = {e.slug: e for e in session.scalars(select(Estate))}
        vat = session.scalars(select(VatRate).where(VatRate.rate_bp == 2000)).one()
        wine_ids = {slug: _add_wines(session, estate, vat) for slug, estate in estates.items()}
        session.commit()
        data = BenchData(
            estate_ids={slug: e.id for slug, e in estates.items()},
            wine_ids=wine_ids,
            page_wine_id=session.scalars(select(Wine.id).where(
                Wine.estate_id == estates[VERNETTE_SLUG].id, Wine.reference == "VER-MOR-22")).one(),
            promotion_id=session.scalars(select(Promotion.id).where(Promotion.code == "#LAVERNETTE")).one(),
        )
        data.customers = _add_accounts(session, estates[VERNETTE_SLUG], accounts, rng)
        session.commit()
        customer_ids = {slug: _add_customers(session, estate, customers_per_estate, rng)
                        for slug, estate in estates.items()}
        session.commit()
        facts = {slug: _EstateFacts(e.id, e.slug, e.order_prefix, e.free_shipping_above_cents, e.allows_hand_delivery)
                 for slug, e in estates.items()}
        session.remove()
        data.orders, data.lines = _add_orders(facts, customer_ids, orders, lines, rng)
    return data


def _add_wines(session, estate: Estate, vat: VatRate) -> list[int]:  # type: ignore[no-untyped-def]
    lists = {pl.name: pl for pl in session.scalars(select(PriceList).where(PriceList.estate_id == estate.id))}
    visible = session.scalar(select(func.count()).select_from(Wine).join(Price, Price.wine_id == Wine.id).where(
        Wine.estate_id == estate.id, Wine.is_visible.is_(True), Price.price_list_id == lists[PARTICULIERS].id)) or 0
    position = session.scalar(select(func.max(Wine.position)).where(Wine.estate_id == estate.id)) or 0
    added = []
    for n, (name, colour, appellation, vintage, ttc) in enumerate(EXTRA_WINES[estate.slug][:VISIBLE_WINES - visible]):
        wine = Wine(
            estate_id=estate.id, vat_rate_id=vat.id, position=position + 1 + n, name=name, colour=colour,
            appellation=appellation, vintage=vintage, reference=f"{estate.order_prefix}-B{n + 1:02d}",
            description=f"{appellation} du domaine, vinifié parcelle par parcelle et élevé sans précipitation : "
                        "une cuvée de caractère, fidèle à son terroir.",
            tasting_notes="Fruit net, bouche fraîche et digeste, finale saline.",
            grapes="Gamay, chardonnay" if estate.slug == VERNETTE_SLUG else "Cabernet franc, chenin",
            alcohol_permille=130, serving_temperature="14 °C", cellaring="3 à 6 ans",
            stock=BENCH_STOCK, order_multiple=1)
        session.add(wine)
        session.flush()
        session.add(Price(estate_id=estate.id, wine_id=wine.id, price_list_id=lists[PARTICULIERS].id, amount_cents=ttc))
        session.add(Price(estate_id=estate.id, wine_id=wine.id, price_list_id=lists[PROFESSIONNELS].id,
                          amount_cents=round(ttc / 1.2 * 0.8)))
        added.append(wine.id)
    session.flush()
    total = session.scalar(select(func.count()).select_from(Wine).join(Price, Price.wine_id == Wine.id).where(
        Wine.estate_id == estate.id, Wine.is_visible.is_(True), Price.price_list_id == lists[PARTICULIERS].id))
    if total != VISIBLE_WINES:
        raise RuntimeError(f"{estate.slug}: {total} visible wines, expected {VISIBLE_WINES}")
    return added


def _person(rng: random.Random, n: int) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    postcode, city = rng.choice(CITIES)
    return {"first_name": first, "last_name": last,
            "email": f"{first}.{last}.{n}@exemple.fr".lower().replace("é", "e").replace("è", "e").replace("ç", "c"),
            "phone": f"06 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}",
            "billing_street": f"{rng.randrange(1, 120)} {rng.choice(STREETS)}", "billing_postcode": postcode,
            "billing_city": city, "billing_country": "FR"}


def _add_accounts(session, estate: Estate, count: int, rng: random.Random) -> list[dict]:  # type: ignore[no-untyped-def]
    """Returning customers of La Vernette who log in to order. One password, hashed
    once with the shop's own method (scrypt, about 0.2 s) and the hash shared by every
    account: the log-ins verify a real hash (no rehash on log-in), and the seed does
    not spend 0.2 s per account."""
    shared_hash = passwords.hash_password(BENCH_PASSWORD)
    accounts = []
    now = datetime.now(timezone.utc)
    for n in range(count):
        person = _person(rng, n)
        email = f"client{n:05d}@bench.example"
        user_id = session.execute(insert(User).values(
            email=email, password_hash=shared_hash, first_name=person["first_name"], last_name=person["last_name"],
            phone=person["phone"], role=Role.CUSTOMER, created_at=now).returning(User.id)).scalar_one()
        customer_id = session.execute(insert(EstateCustomer).values(
            estate_id=estate.id, user_id=user_id, **{**person, "email": email}, kind=CustomerKind.PARTICULIER,
            created_at=now).returning(EstateCustomer.id)).scalar_one()
        accounts.append({**person, "email": email, "user_id": user_id, "customer_id": customer_id})
    return accounts


def _add_customers(session, estate: Estate, count: int, rng: random.Random) -> list[tuple[int, dict, bool]]:  # type: ignore[no-untyped-def]
    """The estate's customer file: (id, identity, is professional)."""
    now = datetime.now(timezone.utc)
    rows = []
    for n in range(count):
        person = _person(rng, n)
        pro = rng.random() < 0.08
        rows.append({**person, "estate_id": estate.id, "created_at": now,
                     "company": f"Cave {person['last_name']}" if pro else "",
                     "kind": CustomerKind.PROFESSIONNEL if pro else CustomerKind.PARTICULIER})
    session.execute(insert(EstateCustomer), rows)
    found = session.execute(select(EstateCustomer.id, EstateCustomer.email, EstateCustomer.kind).where(
        EstateCustomer.estate_id == estate.id, EstateCustomer.user_id.is_(None))).all()
    by_email = {row["email"]: row for row in rows}
    return [(cid, by_email[email], kind is CustomerKind.PROFESSIONNEL) for cid, email, kind in found if email in by_email]


def _status(rng: random.Random, created: datetime) -> OrderStatus:
    age = (LAST_DAY - created).days
    r = rng.random()
    if age > 30:
        return (OrderStatus.DELIVERED if r < 0.90 else OrderStatus.CANCELLED if r < 0.95
                else OrderStatus.SHIPPED if r < 0.98 else OrderStatus.PAID)
    return (OrderStatus.PENDING_PAYMENT if r < 0.2 else OrderStatus.PAID if r < 0.45 else OrderStatus.PREPARING
            if r < 0.6 else OrderStatus.SHIPPED if r < 0.8 else OrderStatus.DELIVERED if r < 0.95
            else OrderStatus.CANCELLED)


def _created_at(rng: random.Random) -> datetime:
    """Spread over 2024–2026 with the year-end peak of a wine shop (Nov–Dec twice as busy)."""
    span = (LAST_DAY - FIRST_DAY).total_seconds()
    while True:
        moment = FIRST_DAY + timedelta(seconds=rng.random() * span)
        if moment.month >= 11 or rng.random() < 0.5:
            return moment


def _line_counts(rng: random.Random, orders: int, lines: int, extras: list[int]) -> list[int]:
    """Goods lines per order (1 … 24) so that goods + extra lines add up to ``lines``."""
    goods_total = lines - sum(extras)
    mean = goods_total / orders
    if not 1 <= mean <= VISIBLE_WINES - 2:
        raise ValueError(f"{lines} lines for {orders} orders is not a plausible shape")
    counts = [max(1, min(VISIBLE_WINES - 2, round(rng.gauss(mean, 3)))) for _ in range(orders)]
    difference = goods_total - sum(counts)
    step = 1 if difference > 0 else -1
    i = 0
    while difference:
        if 1 <= counts[i] + step <= VISIBLE_WINES - 2:
            counts[i] += step
            difference -= step
        i = (i + 1) % orders
    return counts


@dataclass(frozen=True)
class _EstateFacts:
    id: int
    slug: str
    order_prefix: str
    free_shipping_above_cents: int | None
    allows_hand_delivery: bool


def _add_orders(estates: dict[str, _EstateFacts], customer_ids: dict[str, list], orders: int, lines: int,
                rng: random.Random) -> tuple[int, int]:
    session = db.session
    allow_all_estates(session)
    catalogue: dict[str, list[tuple[int, str, int, int]]] = {}  # slug → (wine id, label, ttc, pro ht)
    for slug, estate in estates.items():
        lists = {pl.name: pl.id for pl in session.scalars(select(PriceList).where(PriceList.estate_id == estate.id))}
        prices = {(p.wine_id, p.price_list_id): p.amount_cents for p in session.scalars(
            select(Price).where(Price.estate_id == estate.id))}
        catalogue[slug] = [
            (w.id, f"{w.name}{f' {w.vintage}' if w.vintage else ''} — 75 cl", prices[(w.id, lists[PARTICULIERS])],
             prices.get((w.id, lists[PROFESSIONNELS]), round(prices[(w.id, lists[PARTICULIERS])] / 1.2)))
            for w in session.scalars(select(Wine).where(Wine.estate_id == estate.id, Wine.is_visible.is_(True)))
            if (w.id, lists[PARTICULIERS]) in prices]
    price_list_ids = {slug: {pl.name: pl.id for pl in session.scalars(
        select(PriceList).where(PriceList.estate_id == e.id))} for slug, e in estates.items()}
    session.remove()

    slugs = sorted(estates)
    plan = []  # (slug, created, delivery kind, has discount)
    for _ in range(orders):
        slug = rng.choice(slugs)
        r = rng.random()
        kind = DeliveryKind.HOME if r < 0.7 else (DeliveryKind.HAND if r > 0.95 and estates[slug].allows_hand_delivery
                                                  else DeliveryKind.PICKUP)
        plan.append((slug, _created_at(rng), kind, rng.random() < 0.15))
    plan.sort(key=lambda p: p[1])  # ids grow with time, as in real life
    extras = [(kind is DeliveryKind.HOME) + discount for _, _, kind, discount in plan]
    goods_counts = _line_counts(rng, orders, lines, extras)

    with db.engine.begin() as conn:
        first_id = (conn.execute(select(func.max(Order.id))).scalar() or 0) + 1
        first_line = (conn.execute(select(func.max(OrderLine.id))).scalar() or 0) + 1
        numbers = {slug: 0 for slug in slugs}
        order_rows: list[dict] = []
        line_rows: list[dict] = []
        line_id = first_line
        written_lines = 0
        for n, ((slug, created, kind, discount), goods) in enumerate(zip(plan, goods_counts)):
            order_id = first_id + n
            numbers[slug] += 1
            estate = estates[slug]
            customer_id, person, pro = rng.choice(customer_ids[slug])
            status = _status(rng, created)
            payment = (PaymentMode.CASH if kind is not DeliveryKind.HOME and rng.random() < 0.4
                       else rng.choices((PaymentMode.CARD, PaymentMode.TRANSFER, PaymentMode.CHEQUE), (60, 25, 15))[0])
            wines = rng.sample(catalogue[slug], goods)
            goods_ht = vat_total = ttc_total = bottles = 0
            order_lines = []
            for wine_id, label, ttc, pro_ht in wines:
                quantity = rng.choice((1, 2, 3, 6, 6, 12)) if not pro else rng.choice((6, 12, 24))
                bottles += quantity
                if pro:
                    ht = pro_ht * quantity
                    vat = round(ht * 0.2)
                    unit = pro_ht
                else:
                    unit = ttc
                    ht = round(ttc * quantity / 1.2)
                    vat = ttc * quantity - ht
                goods_ht += ht
                vat_total += vat
                ttc_total += ht + vat
                order_lines.append(dict(wine_id=wine_id, label=label, quantity=quantity, unit_price_cents=unit,
                                        vat_rate_bp=2000, ht_cents=ht, vat_cents=vat, ttc_cents=ht + vat,
                                        is_shipping=False, kind="goods", promotion_id=None))
            if discount:
                off_ttc = ttc_total // 10
                off_ht = round(off_ttc / 1.2)
                order_lines.append(dict(wine_id=None, label="Remise -10 % (code fidélité)", quantity=1,
                                        unit_price_cents=-off_ttc, vat_rate_bp=2000, ht_cents=-off_ht,
                                        vat_cents=-(off_ttc - off_ht), ttc_cents=-off_ttc, is_shipping=False,
                                        kind="discount", promotion_id=None))
                goods_ht -= off_ht
                vat_total -= off_ttc - off_ht
                ttc_total -= off_ttc
            shipping = ship_ht = 0
            if kind is DeliveryKind.HOME:
                shipping = 0 if estate.free_shipping_above_cents and ttc_total >= estate.free_shipping_above_cents \
                    else (1290 if bottles <= 6 else 1690 if bottles <= 12 else 2290 if bottles <= 24 else 3490)
                ship_ht = round(shipping / 1.2)
                order_lines.append(dict(wine_id=None, label="Frais de port", quantity=1, unit_price_cents=shipping,
                                        vat_rate_bp=2000, ht_cents=ship_ht, vat_cents=shipping - ship_ht,
                                        ttc_cents=shipping, is_shipping=True, kind="shipping", promotion_id=None))
                vat_total += shipping - ship_ht
                ttc_total += shipping
            for line in order_lines:
                line.update(id=line_id, order_id=order_id, estate_id=estate.id)
                line_id += 1
            line_rows.extend(order_lines)
            name = f"{person['first_name']} {person['last_name']}"
            paid = created + timedelta(hours=rng.randrange(1, 72))
            shipped = paid + timedelta(days=rng.randrange(1, 6))
            order_rows.append(dict(
                id=order_id, estate_id=estate.id, number=f"{estate.order_prefix}-{numbers[slug]:05d}",
                checkout_token=f"seed-{order_id}", status=status, customer_id=customer_id, user_id=None,
                price_list_id=price_list_ids[slug][PROFESSIONNELS if pro else PARTICULIERS],
                prices_include_vat=not pro, payment_mode=payment, delivery_kind=kind,
                delivery_label={DeliveryKind.HOME: "Livraison à domicile", DeliveryKind.PICKUP: "Enlèvement à la propriété",
                                DeliveryKind.HAND: "Livraison en mains propres"}[kind],
                shipping_zone=(ShippingZone.CORSE if person["billing_postcode"].startswith("20") else ShippingZone.FR_METRO)
                if kind is DeliveryKind.HOME else None,
                email=person["email"], phone=person["phone"], billing_name=name,
                billing_company=f"Cave {person['last_name']}" if pro else "",
                billing_street=person["billing_street"], billing_postcode=person["billing_postcode"],
                billing_city=person["billing_city"], billing_country="FR",
                shipping_name=name if kind is DeliveryKind.HOME else "",
                shipping_street=person["billing_street"] if kind is DeliveryKind.HOME else "",
                shipping_postcode=person["billing_postcode"] if kind is DeliveryKind.HOME else "",
                shipping_city=person["billing_city"] if kind is DeliveryKind.HOME else "",
                shipping_country="FR" if kind is DeliveryKind.HOME else "",
                customer_note="", bottles=bottles, goods_ht_cents=goods_ht, shipping_ttc_cents=shipping,
                total_ht_cents=goods_ht + ship_ht,
                total_vat_cents=vat_total, total_ttc_cents=ttc_total, sales_conditions="",
                conditions_accepted_at=created, tracking_number="", created_at=created,
                paid_at=paid if status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED) else None,
                shipped_at=shipped if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) else None,
                delivered_at=shipped + timedelta(days=3) if status is OrderStatus.DELIVERED else None,
                cancelled_at=paid if status is OrderStatus.CANCELLED else None, invoiced_at=None))
            if len(order_rows) >= ORDER_BATCH:
                conn.execute(insert(Order), order_rows)
                order_rows = []
            if len(line_rows) >= LINE_BATCH:
                if order_rows:  # lines must follow their orders (foreign keys)
                    conn.execute(insert(Order), order_rows)
                    order_rows = []
                conn.execute(insert(OrderLine), line_rows)
                written_lines += len(line_rows)
                line_rows = []
        if order_rows:
            conn.execute(insert(Order), order_rows)
        if line_rows:
            conn.execute(insert(OrderLine), line_rows)
            written_lines += len(line_rows)
        for slug, count in numbers.items():  # new orders continue the numbering
            conn.execute(insert(Sequence).values(estate_id=estates[slug].id, name="order", next_value=count + 1))
        if conn.dialect.name == "postgresql":  # explicit ids: move the serial sequences past them
            for table in ("shop_order", "order_line"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    return orders, written_lines


def analyze(app) -> None:  # type: ignore[no-untyped-def]
    """Refresh the planner's statistics after the bulk load, as production would have
    them by then: PostgreSQL's autovacuum within a minute, Chai's daily
    ``refresh-statistics`` job on SQLite (the same function)."""
    from services.database import refresh_statistics

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            with db.session.begin():
                refresh_statistics(db.session)
            db.session.remove()
            return
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def set_stock(app, wine_ids: list[int], stock: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(update(Wine).where(Wine.id.in_(wine_ids)).values(stock=stock))
