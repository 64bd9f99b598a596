"""The rows a checkout writes, without the shop around them: the reference that
Chai's checkout is measured against.

One order is, in one transaction and in the order services.orders.place_order
writes them (which decides how long row locks are held on PostgreSQL): a guarded
stock UPDATE per wine (in wine-id order), the customer-file entry updated, the order
number taken from the estate's ``sequence`` row, the order, its lines (goods, the
code's discount, shipping), its first event, the promotion code's guarded
``uses_count`` UPDATE and its ``promotion_use`` row, the cart emptied, and two outbox
messages (confirmation and estate notification) with their attachment rows. :func:`write_core` does it with SQLAlchemy Core (the bare
Flask route of ``bench/bare_app.py``); :func:`write_raw` with the DBAPI alone
(``sqlite3`` or ``psycopg``), the physical limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from models import (
    Cart,
    CartLine,
    CustomerKind,
    DeliveryKind,
    EstateCustomer,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    OutboxAttachment,
    OutboxMessage,
    PaymentMode,
    Promotion,
    PromotionUse,
    Sequence,
    ShippingZone,
    Wine,
)

#: about what Chai's two order emails weigh (text, html), measured on a bench order
BODY_TEXT = ("Bonjour,\n\nMerci pour votre commande. " * 40)[:800]
BODY_HTML = ("<p>Bonjour,</p><p>Merci pour votre commande.</p>" * 40)[:1300]


class OutOfStock(Exception):
    pass


class CodeExhausted(Exception):
    pass


@dataclass(frozen=True)
class Item:
    wine_id: int
    quantity: int
    unit_cents: int  #: TTC
    label: str


@dataclass(frozen=True)
class OrderSpec:
    estate_id: int
    order_prefix: str
    customer_id: int
    user_id: int
    promotion_id: int
    email: str
    first_name: str
    last_name: str
    token: str
    items: tuple[Item, ...]
    estate_email: str = "contact@vernette.example"


def _split(ttc: int) -> tuple[int, int]:
    ht = round(ttc / 1.2)
    return ht, ttc - ht


def priced_lines(spec: OrderSpec) -> tuple[list[dict], dict]:
    """(order lines, order totals): goods TTC, 10 % off with the code, shipping for a case."""
    lines = []
    bottles = 0
    for item in spec.items:
        ttc = item.unit_cents * item.quantity
        ht, vat = _split(ttc)
        bottles += item.quantity
        lines.append(dict(wine_id=item.wine_id, label=item.label, quantity=item.quantity, unit_price_cents=item.unit_cents,
                          vat_rate_bp=2000, ht_cents=ht, vat_cents=vat, ttc_cents=ttc, is_shipping=False, kind="goods",
                          promotion_id=None))
    for goods in list(lines):  # the code's discount, one line per goods line (as Chai writes it)
        off = goods["ttc_cents"] // 10
        off_ht, off_vat = _split(off)
        lines.append(dict(wine_id=goods["wine_id"], label="Remise -10 % (code #LAVERNETTE)", quantity=1,
                          unit_price_cents=-off, vat_rate_bp=2000, ht_cents=-off_ht, vat_cents=-off_vat,
                          ttc_cents=-off, is_shipping=False, kind="discount", promotion_id=spec.promotion_id))
    shipping = 1290
    ship_ht, ship_vat = _split(shipping)
    lines.append(dict(wine_id=None, label="Frais de port", quantity=1, unit_price_cents=shipping, vat_rate_bp=2000,
                      ht_cents=ship_ht, vat_cents=ship_vat, ttc_cents=shipping, is_shipping=True, kind="shipping",
                      promotion_id=None))
    totals = dict(bottles=bottles, goods_ht_cents=sum(l["ht_cents"] for l in lines if not l["is_shipping"]),
                  shipping_ttc_cents=shipping, total_ht_cents=sum(l["ht_cents"] for l in lines),
                  total_vat_cents=sum(l["vat_cents"] for l in lines), total_ttc_cents=sum(l["ttc_cents"] for l in lines))
    return lines, totals


def _order_values(spec: OrderSpec, number: str, totals: dict, now: datetime) -> dict:
    name = f"{spec.first_name} {spec.last_name}"
    return dict(
        estate_id=spec.estate_id, number=number, checkout_token=spec.token, status=OrderStatus.PENDING_PAYMENT,
        customer_id=spec.customer_id, user_id=spec.user_id, price_list_id=None, prices_include_vat=True,
        payment_mode=PaymentMode.CHEQUE, delivery_kind=DeliveryKind.HOME, delivery_label="Livraison à domicile",
        shipping_zone=ShippingZone.FR_METRO, email=spec.email, phone="06 12 34 56 78", billing_name=name,
        billing_company="", billing_street="3 rue des Lilas", billing_postcode="69007", billing_city="Lyon",
        billing_country="FR", shipping_name=name, shipping_street="3 rue des Lilas", shipping_postcode="69007",
        shipping_city="Lyon", shipping_country="FR", customer_note="", sales_conditions="Prix en euros TTC.",
        conditions_accepted_at=now, tracking_number="", created_at=now, **totals)


def write_core(conn: Connection, spec: OrderSpec, now: datetime) -> str:
    """The checkout's rows with SQLAlchemy Core, in the caller's transaction; returns the number.

    :raise OutOfStock: a guarded stock UPDATE matched no row.
    :raise CodeExhausted: the code's guarded UPDATE matched no row.
    """
    for item in sorted(spec.items, key=lambda i: i.wine_id):
        taken = conn.execute(update(Wine).where(Wine.id == item.wine_id, Wine.stock >= item.quantity,
                                                Wine.is_available.is_(True))
                             .values(stock=Wine.stock - item.quantity)).rowcount
        if taken != 1:
            raise OutOfStock(item.wine_id)
    conn.execute(update(EstateCustomer).where(EstateCustomer.id == spec.customer_id).values(
        first_name=spec.first_name, last_name=spec.last_name, phone="06 12 34 56 78", company="",
        kind=CustomerKind.PARTICULIER, billing_street="3 rue des Lilas", billing_postcode="69007",
        billing_city="Lyon", billing_country="FR"))
    value = conn.execute(
        update(Sequence).where(Sequence.estate_id == spec.estate_id, Sequence.name == "order")
        .values(next_value=Sequence.next_value + 1).returning(Sequence.next_value)).scalar_one()
    number = f"{spec.order_prefix}-{value - 1:05d}"
    lines, totals = priced_lines(spec)
    order_id = conn.execute(insert(Order).values(_order_values(spec, number, totals, now))
                            .returning(Order.id)).scalar_one()
    conn.execute(insert(OrderLine), [dict(line, order_id=order_id, estate_id=spec.estate_id) for line in lines])
    conn.execute(insert(OrderEvent).values(estate_id=spec.estate_id, order_id=order_id, from_status=None,
                                           to_status=OrderStatus.PENDING_PAYMENT, actor_user_id=spec.user_id,
                                           actor_label=f"{spec.first_name} {spec.last_name}", note="",
                                           created_at=now))
    taken = conn.execute(update(Promotion).where(
        Promotion.id == spec.promotion_id,
        (Promotion.max_uses.is_(None)) | (Promotion.uses_count < Promotion.max_uses))
        .values(uses_count=Promotion.uses_count + 1)).rowcount
    if taken != 1:
        raise CodeExhausted(spec.promotion_id)
    conn.execute(insert(PromotionUse).values(estate_id=spec.estate_id, promotion_id=spec.promotion_id,
                                             order_id=order_id, customer_id=spec.customer_id, created_at=now))
    conn.execute(delete(CartLine).where(CartLine.cart_id.in_(
        select(Cart.id).where(Cart.estate_id == spec.estate_id, Cart.user_id == spec.user_id))))
    for recipient, subject in ((spec.email, f"Confirmation de commande {number}"),
                               (spec.estate_email, f"Nouvelle commande {number}")):
        message_id = conn.execute(insert(OutboxMessage).values(
            estate_id=spec.estate_id, recipient=recipient, subject=subject, body_text=BODY_TEXT, body_html=BODY_HTML,
            status="pending", attempts=0, next_attempt_at=now, last_error="", created_at=now)
            .returning(OutboxMessage.id)).scalar_one()
        conn.execute(insert(OutboxAttachment).values(message_id=message_id, source=f"order_form:{order_id}"))
    return number


# ------------------------------------------------------------------------- raw DBAPI

_SQL = {
    "sequence": "UPDATE sequence SET next_value = next_value + 1 WHERE estate_id = :estate_id AND name = 'order' "
                "RETURNING next_value",
    "stock": "UPDATE wine SET stock = stock - :quantity WHERE id = :wine_id AND stock >= :quantity "
             "AND is_available = :yes",
    "customer": "UPDATE estate_customer SET first_name = :first_name, last_name = :last_name, phone = :phone, "
                "company = '', kind = 'particulier', billing_street = :street, billing_postcode = :postcode, "
                "billing_city = :city, billing_country = 'FR' WHERE id = :customer_id",
    "order": "INSERT INTO shop_order (estate_id, number, checkout_token, status, customer_id, user_id, price_list_id, "
             "prices_include_vat, payment_mode, delivery_kind, delivery_label, shipping_zone, email, phone, "
             "billing_name, billing_company, billing_street, billing_postcode, billing_city, billing_country, "
             "shipping_name, shipping_street, shipping_postcode, shipping_city, shipping_country, customer_note, "
             "bottles, goods_ht_cents, shipping_ttc_cents, total_ht_cents, total_vat_cents, total_ttc_cents, "
             "sales_conditions, conditions_accepted_at, tracking_number, created_at) VALUES (:estate_id, :number, "
             ":checkout_token, :status, :customer_id, :user_id, :price_list_id, :prices_include_vat, :payment_mode, "
             ":delivery_kind, :delivery_label, :shipping_zone, :email, :phone, :billing_name, :billing_company, "
             ":billing_street, :billing_postcode, :billing_city, :billing_country, :shipping_name, :shipping_street, "
             ":shipping_postcode, :shipping_city, :shipping_country, :customer_note, :bottles, :goods_ht_cents, "
             ":shipping_ttc_cents, :total_ht_cents, :total_vat_cents, :total_ttc_cents, :sales_conditions, "
             ":conditions_accepted_at, :tracking_number, :created_at) RETURNING id",
    "line": "INSERT INTO order_line (estate_id, order_id, wine_id, label, quantity, unit_price_cents, vat_rate_bp, "
            "ht_cents, vat_cents, ttc_cents, is_shipping, kind, promotion_id) VALUES (:estate_id, :order_id, :wine_id, "
            ":label, :quantity, :unit_price_cents, :vat_rate_bp, :ht_cents, :vat_cents, :ttc_cents, :is_shipping, "
            ":kind, :promotion_id)",
    "event": "INSERT INTO order_event (estate_id, order_id, from_status, to_status, actor_user_id, actor_label, note, "
             "created_at) VALUES (:estate_id, :order_id, NULL, 'pending_payment', :user_id, :label, '', :now)",
    "code": "UPDATE promotion SET uses_count = uses_count + 1 WHERE id = :promotion_id "
            "AND (max_uses IS NULL OR uses_count < max_uses)",
    "code_use": "INSERT INTO promotion_use (estate_id, promotion_id, order_id, customer_id, created_at) "
                "VALUES (:estate_id, :promotion_id, :order_id, :customer_id, :now)",
    "cart": "DELETE FROM cart_line WHERE cart_id IN (SELECT id FROM cart WHERE estate_id = :estate_id "
            "AND user_id = :user_id)",
    "outbox": "INSERT INTO outbox_message (estate_id, recipient, subject, body_text, body_html, status, attempts, "
              "next_attempt_at, last_error, created_at) VALUES (:estate_id, :recipient, :subject, :body_text, "
              ":body_html, 'pending', 0, :now, '', :now) RETURNING id",
    "attachment": "INSERT INTO outbox_attachment (message_id, source) VALUES (:message_id, :source)",
}


class RawWriter:
    """The same transaction through the DBAPI connection alone (one thread)."""

    def __init__(self, dbapi_connection, dialect: str) -> None:  # type: ignore[no-untyped-def]
        self.conn = dbapi_connection
        self.dialect = dialect
        if dialect == "postgresql":
            self.sql = {k: re.sub(r":(\w+)", r"%(\1)s", v) for k, v in _SQL.items()}
        else:
            self.sql = dict(_SQL)

    def _time(self, moment: datetime):  # type: ignore[no-untyped-def]
        # SQLAlchemy stores SQLite datetimes as naive UTC text; PostgreSQL takes the aware value
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if self.dialect == "sqlite" else moment

    def write(self, spec: OrderSpec, now: datetime) -> str:
        cur = self.conn.cursor()
        if self.dialect == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        try:
            number = self._write(cur, spec, self._time(now))
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()
        return number

    def _write(self, cur, spec: OrderSpec, now) -> str:  # type: ignore[no-untyped-def]
        sql = self.sql
        for item in sorted(spec.items, key=lambda i: i.wine_id):
            cur.execute(sql["stock"], {"quantity": item.quantity, "wine_id": item.wine_id, "yes": True})
            if cur.rowcount != 1:
                raise OutOfStock(item.wine_id)
        cur.execute(sql["customer"], {"first_name": spec.first_name, "last_name": spec.last_name,
                                      "phone": "06 12 34 56 78", "street": "3 rue des Lilas", "postcode": "69007",
                                      "city": "Lyon", "customer_id": spec.customer_id})
        cur.execute(sql["sequence"], {"estate_id": spec.estate_id})
        number = f"{spec.order_prefix}-{cur.fetchone()[0] - 1:05d}"
        lines, totals = priced_lines(spec)
        values = _order_values(spec, number, totals, now)
        for key, value in values.items():
            if hasattr(value, "value"):  # enums are stored as their value
                values[key] = value.value
        cur.execute(sql["order"], values)
        order_id = cur.fetchone()[0]
        cur.executemany(sql["line"], [dict(line, order_id=order_id, estate_id=spec.estate_id) for line in lines])
        cur.execute(sql["event"], {"estate_id": spec.estate_id, "order_id": order_id, "user_id": spec.user_id,
                                   "label": f"{spec.first_name} {spec.last_name}", "now": now})
        cur.execute(sql["code"], {"promotion_id": spec.promotion_id})
        if cur.rowcount != 1:
            raise CodeExhausted(spec.promotion_id)
        cur.execute(sql["code_use"], {"estate_id": spec.estate_id, "promotion_id": spec.promotion_id,
                                      "order_id": order_id, "customer_id": spec.customer_id, "now": now})
        cur.execute(sql["cart"], {"estate_id": spec.estate_id, "user_id": spec.user_id})
        for recipient, subject in ((spec.email, f"Confirmation de commande {number}"),
                                   (spec.estate_email, f"Nouvelle commande {number}")):
            cur.execute(sql["outbox"], {"estate_id": spec.estate_id, "recipient": recipient, "subject": subject,
                                        "body_text": BODY_TEXT, "body_html": BODY_HTML, "now": now})
            message_id = cur.fetchone()[0]
            cur.execute(sql["attachment"], {"message_id": message_id, "source": f"order_form:{order_id}"})
        return number


def spec_from_form(form) -> OrderSpec:  # type: ignore[no-untyped-def]
    """What the bare route and the load generator exchange: plain form fields."""
    items = []
    for part in form["items"].split(","):
        wine_id, quantity, unit = part.split(":")
        items.append(Item(int(wine_id), int(quantity), int(unit), f"Vin {wine_id} — 75 cl"))
    return OrderSpec(estate_id=int(form["estate_id"]), order_prefix=form["prefix"], customer_id=int(form["customer_id"]),
                     user_id=int(form["user_id"]), promotion_id=int(form["promotion_id"]), email=form["email"],
                     first_name=form["first_name"], last_name=form["last_name"], token=form["token"],
                     items=tuple(items))
