"""Reservations (seed 000): wines not yet available, reserved and paid before release.

The platform operator switches them on per estate (``Estate.reservations_enabled``);
the vigneron then opens them per wine in the wines table, with a reservation price per
price list (the usual price or lower) and an optional cap in bottles. A reserved bottle
does not leave the shelf: it takes the wine's cap (``Wine.reserved_count``, moved only
by guarded UPDATEs). A paid order holding reserved lines is "Réservée"
(services.orders.transition) and moves on only once every reserved wine is available;
its customer is told once (``Order.reservation_ready_at``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, exists, select, true, update
from sqlalchemy.orm import Session, aliased

from models import Estate, Order, OrderLine, OrderStatus, Price, Wine
from services import mail

LABEL_PREFIX = "Réservation : "  #: order and quote lines of a reserved wine (stored text, like wine labels)


class ReservationFull(Exception):
    """The wine's cap leaves fewer bottles than wanted (or its reservations closed meanwhile)."""

    def __init__(self, wine_name: str, left: int) -> None:
        super().__init__(wine_name)
        self.wine_name = wine_name
        self.left = left


class NotYetAvailable(Exception):
    """A reserved order cannot move on: these reserved wines are not available yet."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class InvalidReservation(Exception):
    """A reservation setting breaks a rule; nothing is changed."""

    def __init__(self, field: str, code: str, **params: object) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code
        self.params = params


def is_open(estate: Estate, wine: Wine) -> bool:
    """Customers may reserve this wine now (whatever is left under its cap)."""
    return bool(estate.reservations_enabled and wine.reservation_open and wine.is_visible and not wine.is_available)


def left(wine: Wine) -> int | None:
    """Bottles still to reserve under the cap; None: no cap."""
    if wine.reservation_cap is None:
        return None
    return max(wine.reservation_cap - wine.reserved_count, 0)


def unit_cents(price: Price) -> int:
    """A reserved bottle's price on this list: its reservation price, else the usual one."""
    return price.reservation_cents if price.reservation_cents is not None else price.effective_cents


def check_quantity(wine: Wine, quantity: int) -> None:
    """:raise ReservationFull: ``quantity`` is more than the cap leaves."""
    remaining = left(wine)
    if remaining is not None and quantity > remaining:
        raise ReservationFull(wine.name, remaining)


def take(session: Session, wanted: list[tuple[int, str, int]]) -> None:
    """Take ``(wine id, name, bottles)`` under each wine's cap: guarded UPDATEs in wine-id
    order, like services.orders._take_stock.

    :raise ReservationFull: a concurrent order took what the cap left, or the wine's
        reservations closed (the caller rolls back: nothing is written).
    """
    for wine_id, name, quantity in sorted(wanted):
        taken = session.execute(
            update(Wine)
            .where(Wine.id == wine_id, Wine.reservation_open.is_(True),
                   (Wine.reservation_cap.is_(None)) | (Wine.reserved_count + quantity <= Wine.reservation_cap))
            .values(reserved_count=Wine.reserved_count + quantity)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            row = session.execute(select(Wine.reservation_open, Wine.reservation_cap, Wine.reserved_count)
                                  .where(Wine.id == wine_id)).first()
            remaining = 0 if row is None or not row[0] else (
                max(row[1] - row[2], 0) if row[1] is not None else quantity)
            raise ReservationFull(name, remaining)
    _expire_counts(session)


def give_back(session: Session, order: Order) -> None:
    """A cancelled order's reserved bottles go back under the caps (guarded: never below 0)."""
    for line in sorted(order.lines, key=lambda line: line.wine_id or 0):
        if line.reserved and line.wine_id is not None:
            session.execute(
                update(Wine).where(Wine.id == line.wine_id, Wine.reserved_count >= line.quantity)
                .values(reserved_count=Wine.reserved_count - line.quantity)
                .execution_options(synchronize_session=False)
            )
    _expire_counts(session)


def _expire_counts(session: Session) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Wine):
            session.expire(obj, ["reserved_count"])


def waiting_wines(session: Session, order: Order) -> list[str]:
    """Names of the order's reserved wines that are not available yet."""
    return list(session.scalars(
        select(Wine.name).join(OrderLine, OrderLine.wine_id == Wine.id)
        .where(OrderLine.order_id == order.id, OrderLine.reserved.is_(True), Wine.is_available.is_(False))
        .order_by(Wine.name).distinct()
    ))


def check_shippable(session: Session, order: Order) -> None:
    """:raise NotYetAvailable: a reserved wine of the order is not available yet."""
    names = waiting_wines(session, order)
    if names:
        raise NotYetAvailable(names)


def _waiting():  # type: ignore[no-untyped-def]
    """A reserved line of the outer order whose wine is not available yet.

    The lines are reached through the order itself (an alias, by primary key): SQLite,
    without ANALYZE statistics, reads ``order_line.order_id = shop_order.id AND
    order_line.estate_id = ?`` through the estate's index (every line of the estate, for
    each order) but follows ``order_line.order_id`` from an order it has found."""
    outer = aliased(Order)
    return exists(select(OrderLine.id).select_from(outer)
                  .join(OrderLine, OrderLine.order_id == outer.id).join(Wine, Wine.id == OrderLine.wine_id)
                  .where(outer.id == Order.id, OrderLine.reserved.is_(True), Wine.is_available.is_(False)))


def ready_condition():  # type: ignore[no-untyped-def]
    """Orders "Réservée" whose reserved wines are all available: ready to ship."""
    return and_(Order.status == OrderStatus.RESERVED, ~_waiting())


def ready_ids(session: Session, orders: Iterable[Order]) -> set[int]:
    """Which of these orders (or rows with ``id`` and ``status``, as the caller read them)
    are reservations ready to ship. Only a "réservée" order can be: no query when none of
    them is; else one query, from those orders to their lines (see ``_waiting``), for the
    ones whose reserved wines are not all available yet."""
    reserved = {order.id for order in orders if order.status is OrderStatus.RESERVED}
    if not reserved:
        return set()
    waiting = session.scalars(
        select(Order.id).join(OrderLine, OrderLine.order_id == Order.id).join(Wine, Wine.id == OrderLine.wine_id)
        .where(Order.id.in_(reserved), OrderLine.reserved.is_(True), Wine.is_available.is_(False)).distinct())
    return reserved - set(waiting)


def announce_ready(session: Session, estate: Estate, *, now: datetime, public_url: str,
                   wine_ids: list[int] | None = None, order_ids: list[int] | None = None) -> list[Order]:
    """Tell each customer whose reservation is now ready (all its reserved wines
    available), once: a guarded UPDATE sets ``reservation_ready_at`` and queues the
    email in the same transaction. Limited to orders holding ``wine_ids`` or to
    ``order_ids``. Returns the orders announced now."""
    statement = select(Order).where(ready_condition(), Order.reservation_ready_at.is_(None))
    if wine_ids is not None:
        statement = statement.where(exists(select(OrderLine.id).where(
            OrderLine.order_id == Order.id, OrderLine.reserved.is_(True), OrderLine.wine_id.in_(wine_ids))))
    if order_ids is not None:
        statement = statement.where(Order.id.in_(order_ids))
    announced = []
    for order in session.scalars(statement.order_by(Order.id)).all():
        moved = session.execute(
            update(Order).where(Order.id == order.id, Order.reservation_ready_at.is_(None),
                                Order.status == OrderStatus.RESERVED)
            .values(reservation_ready_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            continue
        session.refresh(order)
        mail.queue_template(session, "reservation_ready", recipient=order.email, estate_id=estate.id,
                            subject=f"{estate.name} - Vos vins réservés sont disponibles ({order.number})",
                            estate=estate, order=order, public_url=public_url.rstrip("/"))
        announced.append(order)
    session.flush()
    return announced


def update_settings(session: Session, estate: Estate, wine: Wine, price: Price | None, *, is_open: bool,
                    cap: int | None, reservation_cents: int | None) -> None:
    """The vigneron's settings of a wine not yet available, from the "Modifier" row:
    reservations open or stopped, the reservation price on this row's list, the cap.

    :raise InvalidReservation: off (the estate's reservations are off), price_higher
        (above the usual price), price_not_positive, no_price (the wine is not on this
        list), cap_negative, cap_below (fewer than the bottles already reserved); nothing
        is changed.
    """
    if not estate.reservations_enabled:
        raise InvalidReservation("reservation_open", "off")
    if reservation_cents is not None:
        if price is None:
            raise InvalidReservation("reservation_price", "no_price")
        if reservation_cents <= 0:
            raise InvalidReservation("reservation_price", "price_not_positive")
        if reservation_cents > price.amount_cents:
            raise InvalidReservation("reservation_price", "price_higher", amount=price.amount_cents)
    if cap is not None and cap < 0:
        raise InvalidReservation("reservation_cap", "cap_negative")
    changed = session.execute(  # guarded: a reservation taken meanwhile counts
        update(Wine).where(Wine.id == wine.id, (Wine.reserved_count <= cap) if cap is not None else true())
        .values(reservation_open=is_open, reservation_cap=cap)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.refresh(wine, ["reserved_count"])
        raise InvalidReservation("reservation_cap", "cap_below", n=wine.reserved_count)
    session.expire(wine, ["reservation_open", "reservation_cap", "reserved_count"])
    if price is not None:
        price.reservation_cents = reservation_cents
    session.flush()
