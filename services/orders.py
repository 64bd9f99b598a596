"""Orders: placing one from a cart, and its life as an explicit state machine.

Allowed moves, in one place (:data:`TRANSITIONS`)::

    en attente de paiement → payée | réservée | annulée
    payée                  → en préparation | envoyée | livrée | annulée
    réservée               → en préparation | envoyée | livrée | annulée
                             (onwards only once every reserved wine is available)
    en préparation         → envoyée | livrée | annulée
    envoyée                → livrée
    livrée, annulée        → (final)

"Facturée" is not a status: it is ``invoiced_at``, set once an invoice exists, and it
can happen at any point after payment. Every move is a guarded UPDATE on the current
status (two clicks, or a hook racing the return URL, move the order once) and leaves
an OrderEvent saying who and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.orm import Session

from models import (
    GroupPurchase,
    CustomerKind,
    DeliveryKind,
    Estate,
    EstateCustomer,
    EstateStaff,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentMode,
    User,
    Wine,
)
from services import cart as carts
from services import closing, delivery, invoicing, loyalty, mail, promotion_store, referrals, reservations, vouchers
from services import quote as quoting
from services import distance_selling, sales_terms  # issue 15: age and destinations; the CGV versions
from services.sequences import take_next

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.RESERVED, S.CANCELLED}),
    S.PAID: frozenset({S.PREPARING, S.SHIPPED, S.DELIVERED, S.CANCELLED}),
    # paid, with reserved wines: onwards once they are all available (services.reservations)
    S.RESERVED: frozenset({S.PREPARING, S.SHIPPED, S.DELIVERED, S.CANCELLED}),
    S.PREPARING: frozenset({S.SHIPPED, S.DELIVERED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
STATUS_LABELS = {
    S.PENDING_PAYMENT: _l("En attente de paiement"),
    S.PAID: _l("Payée"),
    S.RESERVED: _l("Réservée"),
    S.PREPARING: _l("En préparation"),
    S.SHIPPED: _l("Envoyée"),
    S.DELIVERED: _l("Livrée"),
    S.CANCELLED: _l("Annulée"),
}
#: the buttons of the orders table (seed 000: "Envoyée" sends the shipping email)
ACTION_LABELS = {
    S.PAID: _l("Paiement reçu"),
    S.PREPARING: _l("En préparation"),
    S.SHIPPED: _l("Envoyée"),
    S.DELIVERED: _l("Livrée"),
    S.CANCELLED: _l("Annuler"),
}
PAYMENT_LABELS = {
    PaymentMode.CARD: _l("Carte bancaire"),
    PaymentMode.TRANSFER: _l("Virement bancaire"),
    PaymentMode.CHEQUE: _l("Chèque"),
    PaymentMode.CASH: _l("Espèces au retrait"),
}


class TransitionNotAllowed(Exception):
    """This move is not in TRANSITIONS, or the order moved meanwhile."""

    def __init__(self, order: Order, to: OrderStatus) -> None:
        super().__init__(f"{order.number}: {order.status.value} → {to.value}")
        self.order = order
        self.to = to


class CartNotOrderable(Exception):
    def __init__(self, problems: list[carts.Problem]) -> None:
        super().__init__(", ".join(p.code for p in problems))
        self.problems = problems


class OutOfStock(Exception):
    """Another order took the last bottles first."""

    def __init__(self, wine_name: str) -> None:
        super().__init__(wine_name)
        self.wine_name = wine_name


class PaymentModeRefused(Exception):
    """The estate does not take this payment mode (or not with this delivery)."""


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str


@dataclass(frozen=True)
class CheckoutData:
    email: str
    first_name: str
    last_name: str
    phone: str
    company: str
    street: str
    postcode: str
    city: str
    country: str
    payment_mode: PaymentMode
    delivery_key: str
    ship_to_billing: bool = True
    loyalty_cents: int = 0
    points: int = 0
    referral_code: str | None = None
    shipping_name: str = ""
    shipping_street: str = ""
    shipping_postcode: str = ""
    shipping_city: str = ""
    shipping_country: str = "FR"
    note: str = ""
    newsletter: bool = False  #: the checkout's box "recevoir la lettre d'information" (issue 14)
    #: asked at every customer checkout, checked on the order's Paris date (issue 15)
    birth_date: date | None = None
    #: a seller takes the order face to face (home tastings) and checks the age in person
    face_to_face: bool = False


def allowed_payment_modes(estate: Estate, kind: DeliveryKind | None) -> list[PaymentMode]:
    if kind is DeliveryKind.DISTRIBUTION:  # a group basket is paid in one card payment, split per estate
        return [PaymentMode.CARD]
    modes = []
    if estate.accepts_card:
        modes.append(PaymentMode.CARD)
    if estate.accepts_transfer:
        modes.append(PaymentMode.TRANSFER)
    if estate.accepts_cheque:
        modes.append(PaymentMode.CHEQUE)
    if estate.accepts_cash and kind in (None, DeliveryKind.PICKUP, DeliveryKind.HAND, DeliveryKind.TASTING):
        modes.append(PaymentMode.CASH)
    return modes


def find_by_checkout_token(session: Session, token: str) -> Order | None:
    """The order a checkout already placed. Its id first: every checkout asks, and
    almost always for nothing (loading no order as an entity cost more than the query)."""
    order_id = session.scalar(select(Order.id).where(Order.checkout_token == token))
    return session.get(Order, order_id) if order_id is not None else None


CASH_MODES = (PaymentMode.CARD, PaymentMode.TRANSFER)  #: "paiement comptant": the escompte applies


def quote_for(session: Session, estate: Estate, view: carts.CartView, option: delivery.DeliveryOption,
              country: str, postcode: str, payment_mode: PaymentMode | None = None,
              now: datetime | None = None, loyalty_cents: int = 0,
              referee_bonus_cents: int = 0, points: int = 0) -> tuple[quoting.Quote, object, carts.CartView]:
    """The cart priced with its delivery, destination and payment mode, promotions
    included; returns (quote, shipping zone or None, the repriced view).

    :raise delivery.DeliveryUnavailable: no band of the grid for this destination.
    """
    from dataclasses import replace

    zone = None
    shipping = 0
    # a shipment to a country the estate has not chosen (issue 15): refused before pricing
    distance_selling.check_shipment(session, estate, option.kind, country, option.occasion_id)
    if option.kind is DeliveryKind.HOME:
        zone = delivery.zone_for(country, postcode)
        shipping = delivery.shipping_cost(session, estate, zone, view.bottles, view.quote.goods_ttc_cents)
    elif option.kind is DeliveryKind.GROUP:  # free, or the grid's price to the group's address
        from services import group_purchases

        zone, shipping = group_purchases.shipping(session, estate, option, view.bottles, view.quote.goods_ttc_cents)
    base = view.pricing or carts.Pricing(now=now or datetime.now().astimezone())
    if option.kind is DeliveryKind.FAIR:  # a "tarif pré-salon" price list re-prices the cart on it
        from services import fairs

        view = fairs.prefair_view(session, estate, view, option, base.now)
    escompte = view.price_list.cash_discount_bp if (
        view.price_list is not None and payment_mode in CASH_MODES and base.customer_kind == "professionnel") else 0
    pricing = replace(base, country=country, delivery_kind=option.kind.value, cash_discount_bp=escompte,
                      loyalty_cents=loyalty_cents, referee_bonus_cents=referee_bonus_cents, points=points,
                      point_value_cents=estate.points_value_cents if estate.points_mode != "off" else 0,
                      occasion_discounts=delivery.occasion_discounts(session, option, base.now))
    priced = carts.reprice(session, view, pricing, shipping_ttc_cents=shipping, shipping_label=str(_l("Frais de port")),
                           free_shipping_label=str(_l("Frais de port offerts")))
    return priced.quote, zone, priced


def place_order(session: Session, *, estate: Estate, view: carts.CartView, data: CheckoutData,
                user: User, checkout_token: str, conditions: str, now: datetime, public_url: str,
                group_purchase_id: int | None = None, options: list[delivery.DeliveryOption] | None = None,
                group_checkout_id: int | None = None, tasting_id: int | None = None,
                seller_user_id: int | None = None) -> Order:
    """Turn the cart into an order awaiting payment; stock leaves the shelf now.
    ``options``: the delivery options read in this transaction (else read here).
    ``group_checkout_id``: the group basket this order is one estate's part of (issue 11).
    ``tasting_id``, ``seller_user_id``: the home tasting the order was taken in and the
    seller who took it (issue 12, services.tastings).

    Idempotent on ``checkout_token``: the same checkout posted twice returns the first order.

    :raise CartNotOrderable: the cart breaks a rule (minimum, multiples, stock …).
    :raise delivery.DeliveryUnavailable: no shipping to that destination.
    :raise PaymentModeRefused: the estate does not take that payment mode.
    :raise OutOfStock: a concurrent order took the last bottles (nothing is changed).
    :raise promotion_store.CodeExhausted: a concurrent order took the code's last use.
    :raise loyalty.InsufficientBalance: a concurrent order spent the loyalty balance.
    :raise vouchers.VoucherUsed: a concurrent order used the voucher.
    :raise distance_selling.BirthDateInvalid: no date of birth, or an absurd one.
    :raise distance_selling.UnderLegalAge: the buyer is under 18 (L3342-1).
    :raise distance_selling.DestinationRefused: a shipment to a country the estate has not chosen.
    """
    existing = find_by_checkout_token(session, checkout_token)
    if existing is not None:
        return existing
    if not data.face_to_face:
        distance_selling.check_buyer_age(data.birth_date, distance_selling.today_in_paris(now))
    if view.is_empty:
        raise CartNotOrderable([carts.Problem("empty")])
    if view.problems:
        raise CartNotOrderable(view.problems)
    if seller_user_id is None:  # a seller's home tasting still takes orders, delivered with it
        stop = closing.refusal(session, estate.id, closing.paris_day(now))
        if stop is not None:
            raise CartNotOrderable([carts.Problem("closed", {
                "start": f"{stop.starts_on:%d/%m/%Y}", "end": f"{stop.ends_on:%d/%m/%Y}", "message": stop.message})])
    if options is None:
        options = delivery.options_for(session, estate, delivery.DeliveryContext(now=now, group_purchase_id=group_purchase_id))
    option = next((o for o in options if o.key == data.delivery_key), None)
    if option is None:
        raise delivery.DeliveryUnavailable(data.delivery_key)
    if option.kind is DeliveryKind.GROUP:
        # Closing is a guarded UPDATE of this row (services.group_purchases.close): held
        # until this order commits, the order is either in the recap or refused, never
        # tagged with a group that closed under it (SQLite's BEGIN IMMEDIATE does the same).
        status = session.scalar(select(GroupPurchase.status).where(GroupPurchase.id == option.occasion_id)
                                .with_for_update())
        if status != "open":
            raise delivery.DeliveryUnavailable(data.delivery_key)
    if data.payment_mode not in allowed_payment_modes(estate, option.kind):
        raise PaymentModeRefused(data.payment_mode.value)
    ship_country = data.country if data.ship_to_billing else data.shipping_country
    ship_postcode = data.postcode if data.ship_to_billing else data.shipping_postcode
    bonus, sponsor = referrals.referee_bonus(session, estate, data.referral_code, user)
    quote, zone, priced = quote_for(session, estate, view, option, ship_country, ship_postcode, data.payment_mode, now,
                                    data.loyalty_cents, bonus, data.points)

    wanted: dict[int, list] = {}
    for row in view.rows:
        if not row.reserved:  # a reserved wine takes its cap, not the shelf
            wanted[row.wine.id] = [row.wine.name, row.quantity]
    for gift in quote.gifts:  # gifts leave the shelf too
        wanted.setdefault(gift.wine_id, [gift.label, 0])[1] += gift.quantity
    _take_stock(session, estate.id, [(wine_id, name, quantity) for wine_id, (name, quantity) in wanted.items()])
    reserved_ids = {row.wine.id for row in view.rows if row.reserved}
    try:
        reservations.take(session, [(row.wine.id, row.wine.name, row.quantity) for row in view.rows if row.reserved])
    except reservations.ReservationFull as exc:
        raise CartNotOrderable([carts.Problem("reservation_full", {"name": exc.wine_name, "n": exc.left})]) from exc
    customer = _customer_file_entry(session, estate, user, data, view.pricing.customer if view.pricing else None)
    if data.newsletter:  # a ticked box gives consent (source "commande"); an unticked one never withdraws
        from services.mailings import give_consent

        give_consent(customer, "commande", now)
    billing_name = f"{data.first_name} {data.last_name}".strip()
    terms_id = sales_terms.in_force_for_order(session, estate, now)  # issue 15: the CGV version accepted
    order = Order(
        estate_id=estate.id,
        number=f"{estate.order_prefix}-{take_next(session, estate.id, 'order'):05d}",
        checkout_token=checkout_token,
        status=OrderStatus.PENDING_PAYMENT,
        customer_id=customer.id,
        user_id=user.id,
        price_list_id=view.price_list.id if view.price_list else None,
        prices_include_vat=quote.prices_include_vat,
        payment_mode=data.payment_mode,
        delivery_kind=option.kind,
        delivery_label=option.label,
        shipping_zone=zone,
        email=data.email,
        phone=data.phone,
        billing_name=billing_name,
        billing_company=data.company,
        billing_street=data.street,
        billing_postcode=data.postcode,
        billing_city=data.city,
        billing_country=data.country,
        customer_note=data.note,
        bottles=quote.bottles,
        goods_ht_cents=quote.goods_ht_cents,
        shipping_ttc_cents=quote.shipping_ttc_cents,
        total_ht_cents=quote.total_ht_cents,
        total_vat_cents=quote.total_vat_cents,
        total_ttc_cents=quote.total_ttc_cents,
        sales_conditions=conditions,
        sales_terms_id=terms_id,
        conditions_accepted_at=now,
        created_at=now,
        group_purchase_id=option.occasion_id if option.kind is DeliveryKind.GROUP else None,
        estate_fair_id=option.occasion_id if option.kind is DeliveryKind.FAIR else None,
        pickup_point_id=option.occasion_id if option.kind is DeliveryKind.POINT else None,
        distribution_id=option.occasion_id if option.kind is DeliveryKind.DISTRIBUTION else None,
        group_checkout_id=group_checkout_id,
        tasting_id=tasting_id,
        seller_user_id=seller_user_id,
        buyer_birth_date=data.birth_date,
    )
    if data.birth_date is not None and not data.face_to_face:
        user.birth_date = data.birth_date  # prefilled at the next checkout
    if option.requires_address:
        order.shipping_name = billing_name if data.ship_to_billing else data.shipping_name
        order.shipping_street = data.street if data.ship_to_billing else data.shipping_street
        order.shipping_postcode = ship_postcode
        order.shipping_city = data.city if data.ship_to_billing else data.shipping_city
        order.shipping_country = ship_country
    order.events.append(OrderEvent(estate_id=estate.id, from_status=None, to_status=OrderStatus.PENDING_PAYMENT,
                                   actor_user_id=user.id, actor_label=billing_name, created_at=now))
    session.add(order)
    session.flush()
    # The lines in one executemany (the unit of work sends one INSERT per line to learn
    # each id, which nothing here needs; render_nulls keeps lines without a wine or a
    # promotion in the same batch); the order's collection loads them when read.
    session.execute(insert(OrderLine).execution_options(render_nulls=True), [dict(
        estate_id=estate.id, order_id=order.id, wine_id=line.wine_id, label=line.label[:255],
        quantity=line.quantity, unit_price_cents=line.unit_cents, vat_rate_bp=line.vat_rate_bp,
        ht_cents=line.ht_cents, vat_cents=line.vat_cents, ttc_cents=line.ttc_cents, is_shipping=line.is_shipping,
        kind=line.kind, promotion_id=line.promotion_id if line.promotion_id and line.promotion_id > 0 else None,
        reserved=line.kind == "goods" and line.wine_id in reserved_ids) for line in quote.lines])
    session.expire(order, ["lines"])
    applied = list(priced.promotions.applied) if priced.promotions else []
    promotion_store.redeem(session, applied, order.id, customer.id)  # only coded ones count uses
    loyalty.spend(session, order, customer, priced.loyalty_used_cents, priced.points_used)
    vouchers.use(session, list(priced.voucher_ids), order)
    if sponsor is not None:
        referrals.record(session, estate, sponsor, customer, order, bonus)
    if view.cart is not None:
        carts.empty(session, view.cart)
    session.flush()
    _queue_confirmation(session, estate, order, public_url)
    return order


def _take_stock(session: Session, estate_id: int, wanted: list[tuple[int, str, int]]) -> None:
    """Guarded UPDATEs, in wine-id order so concurrent orders lock rows in the same order.
    Core with the estate written out (services.tenancy's criteria, by hand): the ORM's
    UPDATE cost three times the statement on a checkout (issue 8)."""
    connection = session.connection()
    for wine_id, name, quantity in sorted(wanted):
        taken = connection.execute(_TAKE_STOCK, {"of_estate": estate_id, "wine_id": wine_id, "quantity": quantity}).rowcount
        if taken != 1:
            raise OutOfStock(name)
    # The UPDATEs bypassed the identity map: the wines loaded before show the old stock.
    # Only they are stale (expire_all reloaded the user, estate, customer, cart … one by one).
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Wine):
            session.expire(obj, ["stock"])


_TAKE_STOCK = (update(Wine.__table__)
               .where(Wine.id == bindparam("wine_id"), Wine.estate_id == bindparam("of_estate"),
                      Wine.stock >= bindparam("quantity"), Wine.is_available.is_(True))
               .values(stock=Wine.stock - bindparam("quantity")))


def _give_back_stock(session: Session, order: Order) -> None:
    for line in sorted(order.lines, key=lambda line: line.wine_id or 0):
        if line.wine_id is not None and line.kind in ("goods", "gift") and not line.reserved:
            session.execute(
                update(Wine).where(Wine.id == line.wine_id).values(stock=Wine.stock + line.quantity)
                .execution_options(synchronize_session=False)
            )


def find_customer(session: Session, user: User) -> EstateCustomer | None:
    """The current estate's customer-file entry for this user (by account or email)."""
    return session.scalars(
        select(EstateCustomer).where((EstateCustomer.user_id == user.id) | (EstateCustomer.email == user.email))
    ).first()


def _customer_file_entry(session: Session, estate: Estate, user: User, data: CheckoutData,
                         found: EstateCustomer | None = None) -> EstateCustomer:
    """Every customer who orders lands in the estate's private customer file.
    ``found``: what :func:`find_customer` answered for this user earlier in the
    transaction (the cart's pricing reads it)."""
    customer = found if found is not None and found.user_id == user.id else find_customer(session, user)
    if customer is None:
        customer = EstateCustomer(estate_id=estate.id, email=user.email)
        session.add(customer)
    customer.user_id = user.id
    customer.first_name, customer.last_name = data.first_name, data.last_name
    customer.phone, customer.company = data.phone, data.company
    customer.kind = CustomerKind.PROFESSIONNEL if user.is_verified_pro else customer.kind or CustomerKind.PARTICULIER
    customer.billing_street, customer.billing_postcode = data.street, data.postcode
    customer.billing_city, customer.billing_country = data.city, data.country
    if not data.ship_to_billing:
        customer.shipping_street, customer.shipping_postcode = data.shipping_street, data.shipping_postcode
        customer.shipping_city, customer.shipping_country = data.shipping_city, data.shipping_country
    session.flush()
    return customer


def estate_recipients(session: Session, estate: Estate) -> list[str]:
    if estate.notification_email:
        return [estate.notification_email]
    if estate.email:
        return [estate.email]
    return list(session.scalars(select(User.email).join(EstateStaff, EstateStaff.user_id == User.id)))


def _context(estate: Estate, order: Order, public_url: str) -> dict:
    return {"estate": estate, "order": order, "public_url": public_url.rstrip("/"),
            "status_label": STATUS_LABELS[order.status],
            # a gift's order (services.rewards) costs nothing: no payment mode to speak of
            "payment_label": PAYMENT_LABELS[order.payment_mode] if order.total_ttc_cents else _l("Offerte")}


#: Deliveries the estate sends (an expected shipping date) or hands over at the estate
#: (ready from a date); fairs, pickup points, distributions and tastings have their own dates.
SHIPPED_KINDS = frozenset({DeliveryKind.HOME, DeliveryKind.GROUP})
READY_KINDS = frozenset({DeliveryKind.PICKUP, DeliveryKind.HAND})


@dataclass(frozen=True)
class ExpectedDispatch:
    ships: bool  #: shipped (True) or ready at the estate (False) from ``day``
    day: object  #: a date
    message: str  #: the closing period's message to mention ("" : none)


def expected_dispatch(session: Session, estate: Estate, order: Order) -> ExpectedDispatch | None:
    """When the order is expected to leave (services.closing: preparation days, public
    holidays, closing periods), for its emails and its page. None: a delivery with its
    own date."""
    if order.delivery_kind not in SHIPPED_KINDS | READY_KINDS:
        return None
    expected = closing.expectation(session, estate, order.created_at)
    return ExpectedDispatch(order.delivery_kind in SHIPPED_KINDS, expected.day,
                            expected.period.message if expected.period is not None else "")


def _queue_confirmation(session: Session, estate: Estate, order: Order, public_url: str) -> None:
    customer = session.get(EstateCustomer, order.customer_id)
    context = _context(estate, order, public_url)
    context.update(expected=expected_dispatch(session, estate, order))
    context.update(loyalty_credit=loyalty.expected_credit(estate, order, customer),
                   loyalty_balance=customer.loyalty_balance_cents)
    mail.queue_template(session, "order_confirmation", recipient=order.email, estate_id=estate.id,
                        subject=f"{estate.name} - Confirmation de commande {order.number}",
                        attachments=_confirmation_attachments(order), **context)
    for recipient in estate_recipients(session, estate):
        mail.queue_template(session, "order_notification", recipient=recipient, estate_id=estate.id,
                            subject=f"Nouvelle commande {order.number} — {order.billing_name}",
                            attachments=[f"order_form:{order.id}"], **context)


def _confirmation_attachments(order: Order) -> list[str]:
    """The order form, and the CGV as accepted (issue 15: on a durable medium), when the
    order has a version (a gift's order has none)."""
    attachments = [f"order_form:{order.id}"]
    if order.sales_terms_id is not None:
        attachments.append(f"sales_terms:{order.sales_terms_id}")
    return attachments


def resend_confirmation(session: Session, estate: Estate, order: Order, public_url: str) -> None:
    context = _context(estate, order, public_url)
    context.update(expected=expected_dispatch(session, estate, order))
    mail.queue_template(session, "order_confirmation", recipient=order.email, estate_id=estate.id,
                        subject=f"{estate.name} - Confirmation de commande {order.number}",
                        attachments=_confirmation_attachments(order), **context)


def transition(session: Session, estate: Estate, order: Order, to: OrderStatus, *, actor: Actor,
               now: datetime, public_url: str, note: str = "", tracking_number: str = "") -> None:
    """Move the order; side effects: restock on cancel (and a credit note if invoiced),
    invoice + shipping email on "envoyée", delivery email on "livrée".

    A paid order holding reserved wines becomes "réservée" instead of "payée".

    :raise TransitionNotAllowed: not in TRANSITIONS, or the order moved meanwhile.
    :raise reservations.NotYetAvailable: a "réservée" order moving on before all its
        reserved wines are available.
    """
    origin = order.status
    if to is S.PAID and any(line.reserved for line in order.lines):
        to = S.RESERVED
    if to not in TRANSITIONS[origin]:
        raise TransitionNotAllowed(order, to)
    if origin is S.RESERVED and to is not S.CANCELLED:
        reservations.check_shippable(session, order)
    moved = session.execute(
        update(Order).where(Order.id == order.id, Order.status == origin).values(status=to)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise TransitionNotAllowed(order, to)
    session.refresh(order)
    order.events.append(OrderEvent(estate_id=order.estate_id, from_status=origin, to_status=to,
                                   actor_user_id=actor.user_id, actor_label=actor.label, note=note[:255],
                                   created_at=now))
    context = _context(estate, order, public_url)
    if to in (S.PAID, S.RESERVED):
        order.paid_at = now
        loyalty.earn(session, estate, order)
        referrals.reward_sponsor(session, order, now)
        vouchers.on_paid(session, estate, order, public_url)
        promotion_store.award_won_codes(session, estate, order, session.get(EstateCustomer, order.customer_id),
                                        public_url)
        from services import rewards  # a seller's direct sale gives its rewards (issue 12)

        rewards.on_paid(session, estate, order, now=now, public_url=public_url)
        if to is S.RESERVED:  # paid after its wines came out: ready at once
            reservations.announce_ready(session, estate, now=now, public_url=public_url, order_ids=[order.id])
    elif to is S.SHIPPED:
        order.shipped_at = now
        order.tracking_number = tracking_number.strip()[:80]
        invoice = invoicing.current_invoice(session, order) or invoicing.issue_invoice(session, estate, order, now)
        mail.queue_template(session, "order_shipped", recipient=order.email, estate_id=estate.id,
                            subject=f"{estate.name} - Commande envoyée ({order.number})",
                            attachments=[invoicing.attachment_source(invoice)], **context)
    elif to is S.DELIVERED:
        order.delivered_at = now
        mail.queue_template(session, "order_delivered", recipient=order.email, estate_id=estate.id,
                            subject=f"{estate.name} - Commande livrée ({order.number})", **context)
    elif to is S.CANCELLED:
        order.cancelled_at = now
        _give_back_stock(session, order)
        reservations.give_back(session, order)
        loyalty.reverse(session, order)
        invoice = invoicing.current_invoice(session, order)
        if invoice is not None and not invoice.external:
            invoicing.issue_credit_note(session, estate, order, invoice, now)
        mail.queue_template(session, "order_cancelled", recipient=order.email, estate_id=estate.id,
                            subject=f"{estate.name} - Commande annulée ({order.number})", **context)
    session.flush()


def next_actions(order: Order) -> list[OrderStatus]:
    """The buttons of the orders table, in display order."""
    allowed = TRANSITIONS[order.status]
    order_of_buttons = [S.PAID, S.PREPARING, S.SHIPPED, S.DELIVERED, S.CANCELLED]
    actions = [s for s in order_of_buttons if s in allowed]
    if order.delivery_kind not in (DeliveryKind.HOME, DeliveryKind.GROUP) and S.SHIPPED in actions:
        actions.remove(S.SHIPPED)  # nothing to ship: the customer collects (a group's parcel is shipped)
    return actions


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    payment_mode: PaymentMode | None = None
    delivery_kind: DeliveryKind | None = None
    estate_fair_id: int | None = None  #: orders to collect at this fair
    group_purchase_id: int | None = None  #: orders of this achat groupé
    distribution_id: int | None = None  #: orders to hand over at this producer group's distribution
    reservations_ready: bool = False  #: "réservée" orders whose reserved wines are all available
    date_from: datetime | None = None
    date_to: datetime | None = None  #: exclusive
    query: str = ""


PAGE_SIZE = 50  #: issue 8: "the orders table (filters, 50 rows)"
#: what a row of the orders table shows (and what ``next_actions`` reads): plain rows, no
#: ORM objects to build, track and expire for a page that only reads
TABLE_COLUMNS = (Order.id, Order.number, Order.created_at, Order.billing_name, Order.billing_company,
                 Order.delivery_kind, Order.delivery_label, Order.payment_mode, Order.status, Order.invoiced_at,
                 Order.total_ttc_cents)


def search(session: Session, filters: OrderFilters, page: int = 1) -> tuple[list[Row], int]:
    """The estate's orders, newest first, filtered; returns (one page of rows with the
    :data:`TABLE_COLUMNS`, total count).

    Core statements with the estate written out, built once per set of filters used
    (:func:`_search_statements`): the orders table is timed against its raw SQL (issue 8)
    and the ORM's way to these two statements cost as much as running them."""
    from services.tenancy import current_estate_id

    estate_id = current_estate_id(session)
    if estate_id is None:  # no estate in scope sees no order (services.tenancy fails closed)
        return [], 0
    values: dict[str, object] = {name: getattr(filters, name) for name in (*_SEARCH_FILTERS, "date_from", "date_to")
                                 if getattr(filters, name) is not None}
    if filters.reservations_ready:
        values["reservations_ready"] = True  # no value: a condition of its own
    if filters.query:
        values["query"] = f"%{filters.query.strip().lower()}%"
    count, rows = _search_statements(frozenset(values))
    values.update(estate_id=estate_id, limit=PAGE_SIZE, offset=(max(page, 1) - 1) * PAGE_SIZE)
    connection = session.connection()
    total = connection.execute(count, values).scalar() or 0
    return list(connection.execute(rows, values)), total


#: OrderFilters' fields that compare a column to a value, and the column
_SEARCH_FILTERS = {"status": Order.status, "payment_mode": Order.payment_mode, "delivery_kind": Order.delivery_kind,
                   "estate_fair_id": Order.estate_fair_id, "group_purchase_id": Order.group_purchase_id,
                   "distribution_id": Order.distribution_id}


@lru_cache(maxsize=128)
def _search_statements(used: frozenset[str]):  # type: ignore[no-untyped-def]
    """(count, page of rows) for the filters in ``used``, values as bound parameters."""
    from sqlalchemy import bindparam, func, or_

    conditions = [Order.estate_id == bindparam("estate_id")]
    conditions += [column == bindparam(name) for name, column in _SEARCH_FILTERS.items() if name in used]
    if "reservations_ready" in used:
        conditions.append(reservations.ready_condition())
    if "date_from" in used:
        conditions.append(Order.created_at >= bindparam("date_from"))
    if "date_to" in used:
        conditions.append(Order.created_at < bindparam("date_to"))
    if "query" in used:
        like = bindparam("query")
        conditions.append(or_(func.lower(Order.number).like(like), func.lower(Order.billing_name).like(like),
                              func.lower(Order.email).like(like), func.lower(Order.billing_company).like(like)))
    count = select(func.count(Order.id)).where(*conditions)
    rows = (select(*TABLE_COLUMNS).where(*conditions).order_by(Order.created_at.desc(), Order.id.desc())
            .limit(bindparam("limit")).offset(bindparam("offset")))
    return count, rows
