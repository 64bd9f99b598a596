"""The group shop of one distribution (issue 11, seed 002 step 3).

A member fills **one basket across estates** (:class:`models.GroupBasketLine`) with the
wines of every estate taking part in the distribution, each at its linked catalogue's
price list. :func:`checkout` turns it into **one order per estate** in one transaction —
each estate is the seller, with its own number, pricing, VAT, customer file and emails,
placed by the same :func:`services.orders.place_order` as any order, "distribution" as
the delivery kind — and one :class:`models.GroupCheckout` that the member pays once
(services.group_payments). If one estate's stock runs out meanwhile, nothing is created.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Catalogue,
    CustomerKind,
    DeliveryKind,
    Distribution,
    DistributionParticipation,
    Estate,
    GroupBasketLine,
    GroupCheckout,
    Order,
    PaymentMode,
    Price,
    PriceList,
    ProducerGroup,
    User,
    Wine,
    catalogue_wine,
)
from services import cart as carts
from services import delivery, orders
from services.cart import CartError, wine_label
from services.producer_groups import OPEN
from services.tenancy import all_estates, in_estate

MAX_BOTTLES_PER_LINE = carts.MAX_BOTTLES_PER_LINE


class BasketClosed(Exception):
    """Orders for this distribution are closed."""


class NotOffered(Exception):
    """The wine is not in the catalogue of an estate taking part in this distribution."""


class EmptyBasket(Exception):
    pass


@dataclass(frozen=True)
class Offer:
    wine: Wine
    price: Price
    label: str


@dataclass(frozen=True)
class Shelf:
    """An estate's wines at the distribution, from its linked catalogue."""

    estate: Estate
    catalogue: Catalogue
    price_list: PriceList
    offers: list[Offer]


def is_open(distribution: Distribution, now: datetime) -> bool:
    return distribution.status == OPEN and distribution.orders_close_at > now


def label(group: ProducerGroup, distribution: Distribution) -> str:
    """The order's delivery label: "Distribution Amicale des Canuts — 12/12/2026 18:00, Salle …"."""
    from services.templating import PARIS

    start = distribution.starts_at.astimezone(PARIS)
    return f"Distribution {group.name} — {start:%d/%m/%Y %H:%M}, {distribution.place}"[:200]


def shelves(session: Session, distribution: Distribution) -> list[Shelf]:
    """Every participating estate's offer, by estate name: its catalogue's visible,
    available wines that have a price on the catalogue's list. An estate whose producer
    groups the platform operator switched off (``Estate.groups_enabled``) has no shelf:
    its participations stay, its wines are not offered, nor ordered (:func:`_offer`)."""
    with all_estates(session):
        rows = session.execute(
            select(DistributionParticipation, Catalogue, Estate)
            .join(Catalogue, Catalogue.id == DistributionParticipation.catalogue_id)
            .join(Estate, Estate.id == DistributionParticipation.estate_id)
            .where(DistributionParticipation.distribution_id == distribution.id, Estate.is_published.is_(True),
                   Estate.groups_enabled.is_(True))
            .order_by(Estate.name)).all()
        found = []
        for _participation, catalogue, estate in rows:
            offers = session.execute(
                select(Wine, Price).join(catalogue_wine, catalogue_wine.c.wine_id == Wine.id)
                .join(Price, (Price.wine_id == Wine.id) & (Price.price_list_id == catalogue.price_list_id))
                .where(catalogue_wine.c.catalogue_id == catalogue.id, Wine.estate_id == estate.id,
                       Wine.is_visible.is_(True), Wine.is_available.is_(True))
                .order_by(Wine.position, Wine.name)).all()
            found.append(Shelf(estate, catalogue, session.get(PriceList, catalogue.price_list_id),
                               [Offer(wine, price, wine_label(wine)) for wine, price in offers]))
        return found


def basket(session: Session, distribution_id: int, user_id: int) -> list[GroupBasketLine]:
    return list(session.scalars(select(GroupBasketLine).where(GroupBasketLine.distribution_id == distribution_id,
                                                              GroupBasketLine.user_id == user_id)
                                .order_by(GroupBasketLine.id)))


def _offer(session: Session, distribution: Distribution, wine_id: int) -> tuple[Estate, Wine]:
    """:raise NotOffered:"""
    with all_estates(session):
        row = session.execute(
            select(Estate, Wine)
            .join(DistributionParticipation, DistributionParticipation.estate_id == Estate.id)
            .join(catalogue_wine, catalogue_wine.c.catalogue_id == DistributionParticipation.catalogue_id)
            .join(Wine, (Wine.id == catalogue_wine.c.wine_id) & (Wine.estate_id == Estate.id))
            .join(Catalogue, Catalogue.id == DistributionParticipation.catalogue_id)
            .join(Price, (Price.wine_id == Wine.id) & (Price.price_list_id == Catalogue.price_list_id))
            .where(DistributionParticipation.distribution_id == distribution.id, Wine.id == wine_id,
                   Wine.is_visible.is_(True), Wine.is_available.is_(True), Estate.is_published.is_(True),
                   Estate.groups_enabled.is_(True))
        ).first()
    if row is None:
        raise NotOffered(wine_id)
    return row[0], row[1]


def set_quantity(session: Session, distribution: Distribution, user: User, wine_id: int, quantity: int,
                 now: datetime, *, add: bool = False) -> int:
    """Put ``quantity`` bottles of the wine in the member's basket (``add``: on top of
    what is there); 0 removes the line. Returns the line's quantity now.

    :raise BasketClosed: :raise NotOffered:
    :raise services.cart.CartError: negative, not_multiple, stock (the estate's rules).
    """
    if not is_open(distribution, now):
        raise BasketClosed(distribution.id)
    estate, wine = _offer(session, distribution, wine_id)
    line = session.scalars(select(GroupBasketLine).where(
        GroupBasketLine.distribution_id == distribution.id, GroupBasketLine.user_id == user.id,
        GroupBasketLine.wine_id == wine_id).with_for_update()).first()
    wanted = quantity + (line.quantity if line is not None and add else 0)
    if quantity < 0 or wanted < 0:
        raise CartError("negative")
    if wanted == 0:
        if line is not None:
            session.delete(line)
            session.flush()
        return 0
    if wanted % wine.order_multiple and not estate.mixing_allowed:
        raise CartError("not_multiple", name=wine.name, n=wine.order_multiple)
    if wanted > min(wine.stock, MAX_BOTTLES_PER_LINE):
        raise CartError("stock", name=wine.name, n=wine.stock)
    if line is not None:
        line.quantity = wanted
        session.flush()
        return wanted
    try:
        with session.begin_nested():
            session.add(GroupBasketLine(distribution_id=distribution.id, user_id=user.id, estate_id=estate.id,
                                        wine_id=wine_id, quantity=wanted))
    except IntegrityError:  # the same wine added twice at once: add up
        session.execute(update(GroupBasketLine).where(
            GroupBasketLine.distribution_id == distribution.id, GroupBasketLine.user_id == user.id,
            GroupBasketLine.wine_id == wine_id).values(quantity=GroupBasketLine.quantity + quantity))
    return wanted


@dataclass(frozen=True)
class _Lines:
    """The part of the basket at one estate, shaped as services.cart reads a cart."""

    lines: list[GroupBasketLine]


@dataclass(frozen=True)
class EstatePart:
    estate: Estate
    view: carts.CartView


def parts(session: Session, distribution: Distribution, user: User, now: datetime, *,
          with_promotions: bool = True) -> list[EstatePart]:
    """The basket priced per estate, as each estate prices it: its catalogue's list, its
    promotions, the member's line in its customer file; each with what stops it."""
    lines = basket(session, distribution.id, user.id)
    if not lines:
        return []
    by_estate: dict[int, list[GroupBasketLine]] = {}
    for line in lines:
        by_estate.setdefault(line.estate_id, []).append(line)
    found = []
    for shelf in shelves(session, distribution):
        mine = by_estate.pop(shelf.estate.id, None)
        if not mine:
            continue
        with in_estate(session, shelf.estate.id):
            customer = orders.find_customer(session, user)
            kind = CustomerKind.PROFESSIONNEL if user.is_verified_pro else CustomerKind.PARTICULIER
            pricing = carts.Pricing(now=now, customer_kind=kind.value, customer=customer,
                                    delivery_kind=DeliveryKind.DISTRIBUTION.value)
            view = carts.build_view(session, shelf.estate, _Lines(mine), shelf.price_list, pricing,  # type: ignore[arg-type]
                                    with_promotions=with_promotions)
        found.append(EstatePart(shelf.estate, replace(view, cart=None)))
    return found


def option(group: ProducerGroup, distribution: Distribution) -> delivery.DeliveryOption:
    """"Distribution point": one more delivery kind, collected at the group's distribution."""
    return delivery.DeliveryOption(f"distribution:{distribution.id}", DeliveryKind.DISTRIBUTION,
                                   label(group, distribution), False, distribution.place,
                                   occasion_id=distribution.id)


def find_checkout(session: Session, token: str) -> GroupCheckout | None:
    return session.scalars(select(GroupCheckout).where(GroupCheckout.checkout_token == token)).first()


def checkout(session: Session, *, group: ProducerGroup, distribution: Distribution, user: User,
             data: orders.CheckoutData, checkout_token: str, now: datetime, public_url: str,
             idempotency_key: str) -> GroupCheckout:
    """One order per estate of the basket, and the one payment to collect for them all.
    Idempotent on ``checkout_token``. All or nothing: the caller rolls back on any error.

    :raise BasketClosed: orders closed (the distribution row is locked until commit, so
        the closing job sees this basket's orders or none of them).
    :raise EmptyBasket:
    :raise services.orders.CartNotOrderable: an estate's rule (stock, multiples, minimum …).
    :raise services.orders.OutOfStock: another order took the last bottles: nothing is kept.
    """
    existing = find_checkout(session, checkout_token)
    if existing is not None:
        return existing
    status = session.scalar(select(Distribution.status).where(Distribution.id == distribution.id).with_for_update())
    if status != OPEN or distribution.orders_close_at <= now:
        raise BasketClosed(distribution.id)
    estate_parts = parts(session, distribution, user, now, with_promotions=False)
    if not estate_parts:
        raise EmptyBasket()
    paying = GroupCheckout(checkout_token=checkout_token, reference=f"GRP-{checkout_token[:12]}",
                           distribution_id=distribution.id, user_id=user.id, total_cents=1, status="created",
                           idempotency_key=idempotency_key, created_at=now)
    session.add(paying)
    session.flush()
    paying.reference = f"GRP-{paying.id:06d}"
    choice = option(group, distribution)
    data = replace(data, payment_mode=PaymentMode.CARD, delivery_key=choice.key, ship_to_billing=True,
                   loyalty_cents=0, points=0, referral_code=None)
    total = 0
    for part in estate_parts:
        with in_estate(session, part.estate.id):
            order = orders.place_order(
                session, estate=part.estate, view=part.view, data=data, user=user,
                checkout_token=f"{checkout_token}-{part.estate.id}"[:64], conditions=conditions(part),
                now=now, public_url=public_url, options=[choice], group_checkout_id=paying.id)
            total += order.total_ttc_cents
    if total <= 0:
        raise EmptyBasket()
    paying.total_cents = total
    session.execute(delete(GroupBasketLine).where(GroupBasketLine.distribution_id == distribution.id,
                                                  GroupBasketLine.user_id == user.id)
                    .execution_options(synchronize_session="fetch"))
    session.flush()
    return paying


def conditions(part: EstatePart) -> str:
    """The conditions the member accepts for this estate's order: its price list's, then its own."""
    pieces = [part.view.price_list.sales_conditions if part.view.price_list else "", part.estate.sales_conditions_fr]
    return "\n\n".join(p for p in pieces if p)


def checkout_orders(session: Session, checkout_id: int) -> list[tuple[Order, Estate]]:
    """A group checkout's orders, each with its estate (platform code: every estate)."""
    with all_estates(session):
        return [(order, estate) for order, estate in session.execute(
            select(Order, Estate).join(Estate, Estate.id == Order.estate_id)
            .where(Order.group_checkout_id == checkout_id).order_by(Estate.name))]


def checkouts_of(session: Session, user_id: int, distribution_ids: list[int]) -> dict[int, list[GroupCheckout]]:
    """The member's checked-out baskets per distribution ("Mes commandes" on the group's page)."""
    found: dict[int, list[GroupCheckout]] = {}
    if distribution_ids:
        for paying in session.scalars(select(GroupCheckout).where(GroupCheckout.user_id == user_id,
                                                                  GroupCheckout.distribution_id.in_(distribution_ids))
                                      .order_by(GroupCheckout.id)):
            found.setdefault(paying.distribution_id, []).append(paying)
    return found
