"""Carts: one per visitor and estate, found by the browser's token or by the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from models import Cart, CartLine, Estate, EstateCustomer, Price, PriceList, Promotion, Wine, promotion_gift_wine
from services import promotion_store, reservations, vouchers
from services import promotions as promotion_engine
from services import quote as quoting
from services.tenancy import all_estates

MAX_BOTTLES_PER_LINE = 1200


class CartError(Exception):
    """A cart change breaks a rule; ``code`` names it, ``params`` fill the message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Problem:
    """Why the cart cannot be ordered as it is."""

    code: str  #: unavailable, stock, multiple, case, minimum
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    wine: Wine
    price: Price
    quantity: int
    line: quoting.Line
    reserved: bool = False  #: a wine not yet available, reserved at its reservation price

    @property
    def step(self) -> int:
        return self.wine.order_multiple


@dataclass(frozen=True)
class Pricing:
    """Who buys and how: what the promotions engine needs beyond the cart."""

    now: datetime
    customer_kind: str = "particulier"
    customer: EstateCustomer | None = None  #: the visitor's line in the estate's customer file
    codes: frozenset[str] = frozenset()
    country: str | None = None
    delivery_kind: str | None = None
    cash_discount_bp: int = 0  #: the escompte, when the payment is "comptant"
    gift_choices: tuple[tuple[int, int], ...] = ()
    loyalty_cents: int = 0  #: avoir fidélité the customer wants to use (capped by balance and total)
    referee_bonus_cents: int = 0  #: "bonus filleul" of a first order through a sponsor's link
    points: int = 0  #: loyalty points the customer wants to use
    point_value_cents: int = 0  #: worth of 100 points at this estate
    #: (reason, bp): the discounts of the occasion (group purchase, pre-fair price)
    occasion_discounts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class CartView:
    cart: Cart | None
    price_list: PriceList | None
    rows: list[Row]
    quote: quoting.Quote
    problems: list[Problem]
    missing: list[str]  #: wines dropped because they left the visitor's price list
    pricing: Pricing | None = None
    promotions: promotion_engine.Result | None = None
    available: list[promotion_engine.Promotion] = field(default_factory=list)
    loyalty_used_cents: int = 0
    points_used: int = 0
    voucher_ids: tuple[int, ...] = ()
    voucher_codes: tuple[str, ...] = ()

    @property
    def bottles(self) -> int:
        return self.quote.bottles

    @property
    def is_empty(self) -> bool:
        return not self.rows


def wine_label(wine: Wine) -> str:
    volume = "75 cl" if wine.volume_ml == 750 else f"{wine.volume_ml / 10:g} cl".replace(".", ",")
    vintage = f" {wine.vintage}" if wine.vintage else ""
    return f"{wine.name}{vintage} — {volume}"


def find(session: Session, token: str | None, user_id: int | None, *, for_update: bool = False) -> Cart | None:
    """The current estate's cart of this user (when logged in) or browser token.

    ``for_update`` locks the cart row (PostgreSQL; SQLite's write transaction already
    excludes other writers), so two clicks at once add up instead of one overwriting
    the other's quantity."""
    query = select(Cart).options(selectinload(Cart.lines))
    if for_update:
        query = query.with_for_update(of=Cart)
    if user_id is not None:
        cart = session.scalars(query.where(Cart.user_id == user_id)).first()
        if cart is not None:
            return cart
    if token:
        return session.scalars(query.where(Cart.token == token, Cart.user_id.is_(None))).first()
    return None


@dataclass(frozen=True)
class CartRules:
    """What an estate's rules say about adding bottles (its columns, plain values)."""

    estate_id: int
    mixing_allowed: bool
    reservations_enabled: bool


@lru_cache(maxsize=4)
def _cart_id_statement(by_user: bool):  # type: ignore[no-untyped-def]
    cart = Cart.__table__
    owner = cart.c.user_id == bindparam("of_user") if by_user else (
        (cart.c.token == bindparam("of_token")) & cart.c.user_id.is_(None))
    return (select(cart.c.id, cart.c.updated_at).where(cart.c.estate_id == bindparam("of_estate"), owner)
            .with_for_update())


#: the cart's date, which the retention job reads to purge abandoned carts
#: (services.retention), moves at most once a day: a write per addition cost add to
#: cart about 6 % of its rate (bench/run --quick)
_DATE_CART = update(Cart.__table__).where(Cart.__table__.c.id == bindparam("cart_id")).values(
    updated_at=bindparam("now"))
CART_DATE_STEP = timedelta(days=1)


def cart_id_for_update(session: Session, estate_id: int, token: str, user_id: int | None, now: datetime) -> int:
    """The id of the cart to change, as :func:`find` chooses it (the user's, else the
    browser's), created when there is none; its row is locked until the end of the
    transaction (PostgreSQL; SQLite's write transaction already excludes other
    writers), so two clicks at once add up instead of one overwriting the other.
    Core statements with the estate written out, like every statement here."""
    connection = session.connection()
    parameters = {"of_estate": estate_id, "of_token": token, "of_user": user_id}
    found = None
    if user_id is not None:
        found = connection.execute(_cart_id_statement(True), parameters).first()
    if found is None:
        found = connection.execute(_cart_id_statement(False), parameters).first()
    if found is not None:
        if found.updated_at is None or found.updated_at < now - CART_DATE_STEP:
            connection.execute(_DATE_CART, {"cart_id": found.id, "now": now})
        return found.id
    table = Cart.__table__
    return connection.execute(table.insert().values(estate_id=estate_id, token=token, user_id=user_id,
                                                    updated_at=now)).inserted_primary_key[0]


@lru_cache(maxsize=1)
def _wine_for_cart_statement():  # type: ignore[no-untyped-def]
    """The wine's columns the rules and the add form need, its price on the visitor's
    list (None: not on it) and the bottles of it already in the cart."""
    wine, price, line = Wine.__table__, Price.__table__, CartLine.__table__
    every_line = line.alias("every_line")
    bottles = (select(func.coalesce(func.sum(every_line.c.quantity), 0))
               .where(every_line.c.cart_id == bindparam("cart_id")).scalar_subquery())
    return (
        select(wine.c.id, wine.c.name, wine.c.is_visible, wine.c.is_available, wine.c.stock, wine.c.order_multiple,
               wine.c.reservation_open, wine.c.reservation_cap, wine.c.reserved_count,
               price.c.id.label("price_id"), line.c.id.label("line_id"), line.c.quantity.label("in_cart"),
               bottles.label("cart_bottles"))
        .select_from(wine)
        .outerjoin(price, (price.c.wine_id == wine.c.id) & (price.c.estate_id == bindparam("estate_id"))
                   & (price.c.price_list_id == bindparam("price_list_id")))
        .outerjoin(line, (line.c.wine_id == wine.c.id) & (line.c.cart_id == bindparam("cart_id")))
        .where(wine.c.id == bindparam("wine_id"), wine.c.estate_id == bindparam("estate_id"))
    )


def wine_for_cart(session: Session, estate_id: int, wine_id: int, price_list_id: int | None,
                  cart_id: int | None = None) -> Any:
    """The estate's wine ``wine_id`` as :func:`add` reads it (None: no such wine)."""
    return session.connection().execute(_wine_for_cart_statement(), {
        "estate_id": estate_id, "price_list_id": price_list_id, "cart_id": cart_id, "wine_id": wine_id}).first()


@dataclass(frozen=True)
class Added:
    wine: Any  #: the wine's row (attributes as on Wine: id, name, stock, order_multiple …)
    quantity: int  #: the line's quantity now
    bottles: int  #: in the whole cart now


def add(session: Session, rules: CartRules, cart_id: int, wine_id: int, price_list_id: int | None,
        quantity: int) -> Added | None:
    """Add ``quantity`` bottles of the estate's wine ``wine_id`` to the cart (locked by
    :func:`cart_id_for_update`). None: the estate has no such wine (404).

    Plain Core statements: adding to the cart is the shop's most frequent write, and
    loading the cart, its lines, the wine and the prices as ORM objects cost three
    times what the rules need (bench/README.md, add to cart).

    :raise CartError: unavailable (hidden, unavailable, not on the visitor's list),
        reservation_closed (not available and not open to reservation), not_multiple
        (a step other than the order multiple without mixing), stock, reservation_full.
    """
    connection = session.connection()
    wine = wine_for_cart(session, rules.estate_id, wine_id, price_list_id, cart_id)
    if wine is None:
        return None
    if not wine.is_visible or wine.price_id is None:
        raise CartError("unavailable", name=wine.name)
    if not wine.is_available and not reservations.is_open(rules, wine):  # the rules stand for the estate
        # with the estate's reservations on, say that this wine cannot be reserved
        raise CartError("reservation_closed" if rules.reservations_enabled else "unavailable", name=wine.name)
    if quantity <= 0 or (quantity % wine.order_multiple and not rules.mixing_allowed):
        raise CartError("not_multiple", name=wine.name, n=wine.order_multiple)
    new_quantity = (wine.in_cart or 0) + quantity
    _check_quantity(rules, wine, new_quantity)
    line = CartLine.__table__
    if wine.line_id is None:
        connection.execute(line.insert().values(estate_id=rules.estate_id, cart_id=cart_id, wine_id=wine_id,
                                                quantity=new_quantity))
    else:  # the cart's row lock makes the quantities read above the current ones
        connection.execute(line.update().where(line.c.id == wine.line_id).values(quantity=new_quantity))
    return Added(wine, new_quantity, int(wine.cart_bottles) + quantity)


def _line(cart: Cart, wine_id: int) -> CartLine | None:
    return next((line for line in cart.lines if line.wine_id == wine_id), None)


def _put(session: Session, cart: Cart, wine_id: int, quantity: int) -> None:
    line = _line(cart, wine_id)
    if line is None:
        cart.lines.append(CartLine(estate_id=cart.estate_id, wine_id=wine_id, quantity=quantity))
    else:
        line.quantity = quantity
    session.flush()


def _check_stock(wine: Wine, quantity: int) -> None:
    if quantity > min(wine.stock, MAX_BOTTLES_PER_LINE):
        raise CartError("stock", name=wine.name, n=wine.stock)


def _check_quantity(estate: Estate | CartRules, wine: Any, quantity: int) -> None:
    """The stock of an available wine; the cap of a reserved one (its stock is not taken)."""
    if wine.is_available or not reservations.is_open(estate, wine):
        _check_stock(wine, quantity)
        return
    left = reservations.left(wine)
    most = MAX_BOTTLES_PER_LINE if left is None else min(left, MAX_BOTTLES_PER_LINE)
    if quantity > most:
        raise CartError("reservation_full", name=wine.name, n=most)


def set_quantity(session: Session, estate: Estate, cart: Cart, wine: Wine, quantity: int) -> None:
    """Set a line's quantity; 0 removes it.

    :raise CartError: not_multiple, stock, negative.
    """
    line = _line(cart, wine.id)
    if quantity < 0:
        raise CartError("negative")
    if quantity == 0:
        if line is not None:
            cart.lines.remove(line)
            session.flush()
        return
    if quantity % wine.order_multiple and not estate.mixing_allowed:
        raise CartError("not_multiple", name=wine.name, n=wine.order_multiple)
    _check_quantity(estate, wine, quantity)
    _put(session, cart, wine.id, quantity)


def empty(session: Session, cart: Cart) -> None:
    """One DELETE for the cart's lines (the unit of work sent one per line)."""
    session.connection().execute(_EMPTY, {"cart_id": cart.id})
    for line in list(cart.lines):  # the loaded lines are gone: forget them, not delete them again
        session.expunge(line)
    set_committed_value(cart, "lines", [])


_EMPTY = delete(CartLine.__table__).where(CartLine.cart_id == bindparam("cart_id"))


def build_view(session: Session, estate: Estate, cart: Cart | None, price_list: PriceList | None,
               pricing: Pricing | None = None, *, with_promotions: bool = True) -> CartView:
    """Price the cart on the visitor's list, with the promotions that apply, and list
    what stops it from being ordered. ``with_promotions`` False: the wines' prices only,
    ``pricing`` kept for the one :func:`reprice` to come (the order's, with its delivery)."""
    rows: list[Row] = []
    missing: list[str] = []
    items: list[quoting.Item] = []
    lines = sorted(cart.lines, key=lambda line: line.id) if cart else []
    wines = {w.id: w for w in session.scalars(
        select(Wine).where(Wine.id.in_([line.wine_id for line in lines])).options(selectinload(Wine.vat_rate))
    )} if lines else {}
    prices = {p.wine_id: p for p in session.scalars(
        select(Price).where(Price.price_list_id == price_list.id, Price.wine_id.in_(list(wines)))
    )} if lines and price_list else {}
    for cart_line in lines:
        wine, price = wines.get(cart_line.wine_id), prices.get(cart_line.wine_id)
        if wine is None or price is None or not wine.is_visible:
            missing.append(wine.name if wine else "?")
            continue
        if not wine.is_available and reservations.is_open(estate, wine):
            items.append(quoting.Item(wine.id, reservations.LABEL_PREFIX + wine_label(wine), cart_line.quantity,
                                      reservations.unit_cents(price), wine.vat_rate.rate_bp))
            continue
        items.append(quoting.Item(wine.id, wine_label(wine), cart_line.quantity, price.effective_cents,
                                  wine.vat_rate.rate_bp))
    prices_include_vat = price_list.prices_include_vat if price_list else True
    quote = quoting.price(items, prices_include_vat=prices_include_vat)
    for item, line in zip(items, quote.lines):
        wine = wines[item.wine_id]
        rows.append(Row(wine, prices[item.wine_id], item.quantity, line,
                        reserved=not wine.is_available and reservations.is_open(estate, wine)))
    view = CartView(cart, price_list, rows, quote, problems(estate, rows, quote), missing, pricing)
    return reprice(session, view, pricing) if pricing is not None and with_promotions else view


def reprice(session: Session, view: CartView, pricing: Pricing, shipping_ttc_cents: int = 0,
            shipping_label: str = "Frais de port", free_shipping_label: str = "Frais de port offerts") -> CartView:
    """The same cart through the promotions engine (and with shipping, at checkout).
    The cart page, the checkout and the order all use this one function."""
    from dataclasses import replace

    include_vat = view.quote.prices_include_vat
    lines = [promotion_engine.Line(r.wine.id, r.line.label, r.quantity, r.line.unit_cents, r.line.vat_rate_bp,
                                   r.wine.colour.value) for r in view.rows]
    context = promotion_engine.Context(
        prices_include_vat=include_vat, customer_kind=pricing.customer_kind, now=pricing.now,
        country=pricing.country, delivery_kind=pricing.delivery_kind, codes=pricing.codes,
        gift_choices=dict(pricing.gift_choices),
        customer_discount_bp=pricing.customer.discount_bp if pricing.customer is not None else 0,
        cash_discount_bp=pricing.cash_discount_bp, occasion_discounts=pricing.occasion_discounts)
    promos = promotion_store.for_engine(session, pricing.customer, include_vat, _gift_prices(session, view.price_list))
    result = promotion_engine.apply(promos, lines, context)
    usable = vouchers.find_usable(session, pricing.customer, pricing.codes)
    points = min(max(pricing.points, 0), pricing.customer.points_balance if pricing.customer is not None else 0)
    points_cents = points * pricing.point_value_cents // 100
    extra = [(f"Bon d'achat {v.code}", v.amount_cents) for v in usable]
    if points_cents > 0:
        extra.append((f"Points fidélité ({points} points)", points_cents))
    reductions = _order_reductions(lines, result, pricing, extra)
    points_reduced = -sum(a.amount_cents for a in reductions if a.reason.startswith("Points fidélité"))
    if points_cents > 0:  # a capped reduction only costs the points it is worth (rounded up)
        points = min(points, -(-points_reduced * 100 // pricing.point_value_cents))
    items = [quoting.Item(r.wine.id, r.line.label, r.quantity, r.line.unit_cents, r.line.vat_rate_bp) for r in view.rows]
    quote = quoting.price(items, prices_include_vat=include_vat, shipping_ttc_cents=shipping_ttc_cents,
                          shipping_label=shipping_label, adjustments=[*result.adjustments, *reductions],
                          gifts=result.gifts, free_shipping=result.free_shipping,
                          free_shipping_label=free_shipping_label)
    return replace(view, quote=quote, pricing=pricing, promotions=result,
                   available=promotion_engine.available(promos, lines, context),
                   loyalty_used_cents=-sum(a.amount_cents for a in reductions if a.reason == LOYALTY_REASON),
                   points_used=points if points_cents > 0 and points_reduced > 0 else 0,
                   voucher_ids=tuple(v.id for v in usable), voucher_codes=tuple(v.code for v in usable))


LOYALTY_REASON = "Avoir fidélité utilisé"
REFEREE_REASON = "Bonus filleul (parrainage)"


def _order_reductions(lines: list, result: promotion_engine.Result, pricing: Pricing,
                      voucher_amounts: list[tuple[str, int]] | None = None) -> list:
    """What comes off after the promotions, in this order: the referee bonus, vouchers
    and points (``voucher_amounts``: reason, cents), then the avoir fidélité (at most the
    balance). Each takes at most what is left to pay for the wines and is split across
    VAT rates like any order-level reduction."""
    balance = pricing.customer.loyalty_balance_cents if pricing.customer is not None else 0
    wanted = min(max(pricing.loyalty_cents, 0), balance)
    if wanted <= 0 and pricing.referee_bonus_cents <= 0 and not voucher_amounts:
        return []
    left: dict[int, int] = {}
    for line in lines:
        left[line.vat_rate_bp] = left.get(line.vat_rate_bp, 0) + line.unit_cents * line.quantity
    for gift in result.gifts:
        left[gift.vat_rate_bp] = left.get(gift.vat_rate_bp, 0) + gift.unit_cents * gift.quantity
    for adjustment in result.adjustments:
        left[adjustment.vat_rate_bp] = left.get(adjustment.vat_rate_bp, 0) + adjustment.amount_cents
    adjustments = []
    reductions = [(REFEREE_REASON, pricing.referee_bonus_cents), *(voucher_amounts or []), (LOYALTY_REASON, wanted)]
    for reason, amount in reductions:
        used = min(max(amount, 0), sum(max(v, 0) for v in left.values()))
        parts = promotion_engine.split_pro_rata(used, {rate: max(v, 0) for rate, v in left.items()})
        for rate, part in sorted(parts.items()):
            adjustments.append(promotion_engine.Adjustment(reason, -part, rate))
            left[rate] -= part
    return adjustments


def _gift_prices(session: Session, price_list: PriceList | None) -> dict[int, tuple[int, int]]:
    """wine id → (unit price on the visitor's list, VAT rate): what a gift is worth, for
    the wines an active promotion gives (the only ones promotion_store.for_engine looks
    up: loading the whole list cost more than the rest of the pricing)."""
    if price_list is None:
        return {}
    return promotion_store.read_once(session, ("gift_prices", price_list.id),
                                     lambda: _read_gift_prices(session, price_list))


def _read_gift_prices(session: Session, price_list: PriceList) -> dict[int, tuple[int, int]]:
    gifts = (select(promotion_gift_wine.c.wine_id)
             .join(Promotion, Promotion.id == promotion_gift_wine.c.promotion_id)
             .where(Promotion.is_active.is_(True)))
    rows = session.execute(select(Price, Wine).join(Wine, Wine.id == Price.wine_id)
                           .where(Price.price_list_id == price_list.id, Price.wine_id.in_(gifts))
                           .options(selectinload(Wine.vat_rate))).all()
    return {wine.id: (price.effective_cents, wine.vat_rate.rate_bp) for price, wine in rows}


def problems(estate: Estate, rows: list[Row], quote: quoting.Quote) -> list[Problem]:
    found: list[Problem] = []
    for row in rows:
        if row.reserved:  # no stock taken: the cap instead (services.reservations)
            left = reservations.left(row.wine)
            if left is not None and row.quantity > left:
                found.append(Problem("reservation_full", {"name": row.wine.name, "n": left}))
        elif not row.wine.is_available:
            found.append(Problem("unavailable", {"name": row.wine.name}))
        elif row.wine.stock <= 0:
            found.append(Problem("sold_out", {"name": row.wine.name}))
        elif row.quantity > row.wine.stock:
            found.append(Problem("stock", {"name": row.wine.name, "n": row.wine.stock}))
        if not estate.mixing_allowed and row.quantity % row.wine.order_multiple:
            found.append(Problem("multiple", {"name": row.wine.name, "n": row.wine.order_multiple}))
    if estate.mixing_allowed and rows and quote.bottles % estate.case_size:
        found.append(Problem("case", {"n": estate.case_size, "missing": estate.case_size - quote.bottles % estate.case_size}))
    if rows and quote.goods_ttc_cents < estate.minimum_order_cents:
        found.append(Problem("minimum", {"amount": estate.minimum_order_cents,
                                         "missing": estate.minimum_order_cents - quote.goods_ttc_cents}))
    return found


def claim(session: Session, token: str, user_id: int) -> None:
    """After login: the browser's carts become the user's, merged into any cart the
    user already has at the same estate."""
    with all_estates(session):
        anonymous = session.scalars(select(Cart).where(Cart.token == token, Cart.user_id.is_(None))).all()
        for cart in anonymous:
            owned = session.scalars(
                select(Cart).where(Cart.estate_id == cart.estate_id, Cart.user_id == user_id)
            ).first()
            if owned is None:
                cart.user_id = user_id
                continue
            for line in list(cart.lines):
                existing = _line(owned, line.wine_id)
                if existing is None:
                    owned.lines.append(CartLine(estate_id=owned.estate_id, wine_id=line.wine_id, quantity=line.quantity))
                else:
                    existing.quantity = max(existing.quantity, line.quantity)
            session.delete(cart)
        session.flush()
