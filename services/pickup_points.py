"""Temporary pickup points (seed 001: "point de livraison supplémentaire et temporaire
pour retrait de commande en salon des vins ou en point-dépôt").

A point is offered at checkout (one POINT option, :data:`services.delivery.OPTION_PROVIDERS`)
only while active: the Paris date of the order between ``starts_on`` and ``ends_on``,
both included. No shipping: ``orders.quote_for`` charges shipping for home delivery only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import DeliveryKind, Estate, Order, PickupPoint
from services import delivery
from services.fairs import paris_date
from services.errors import FieldError

POINT_DAYS_MAX = 366  #: a "temporary" point open for more than a year is a typing error


class InvalidPickupPoint(FieldError):
    """``field`` says which form field, ``code``: name, dates, too_long, length."""


class PickupPointHasOrders(Exception):
    """Orders are to be collected at this point (or were): it cannot be deleted."""


@dataclass(frozen=True)
class PointData:
    name: str
    street: str
    postcode: str
    city: str
    starts_on: date
    ends_on: date
    instructions: str = ""


LIMITS = {"name": 140, "street": 200, "postcode": 10, "city": 100, "instructions": 2000}


def list_points(session: Session) -> list[PickupPoint]:
    """The current estate's points, soonest first."""
    return list(session.scalars(select(PickupPoint).order_by(PickupPoint.starts_on, PickupPoint.id)))


def save(session: Session, estate: Estate, point: PickupPoint | None, data: PointData) -> PickupPoint:
    """Create (``point`` None) or change a point.

    :raise InvalidPickupPoint: name (empty), length, dates (end before start), too_long.
    """
    values = {name: getattr(data, name).strip() for name in LIMITS}
    if not values["name"]:
        raise InvalidPickupPoint("name", "name")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            raise InvalidPickupPoint(name, "length")
    if data.ends_on < data.starts_on:
        raise InvalidPickupPoint("ends_on", "dates")
    if (data.ends_on - data.starts_on).days >= POINT_DAYS_MAX:
        raise InvalidPickupPoint("ends_on", "too_long")
    if point is None:
        point = PickupPoint(estate_id=estate.id, starts_on=data.starts_on, ends_on=data.ends_on)
        session.add(point)
    for name, value in values.items():
        setattr(point, name, value)
    point.starts_on, point.ends_on = data.starts_on, data.ends_on
    session.flush()
    return point


def delete(session: Session, point: PickupPoint) -> None:
    """:raise PickupPointHasOrders:"""
    if session.scalars(select(Order.id).where(Order.pickup_point_id == point.id).limit(1)).first():
        raise PickupPointHasOrders(point.id)
    session.delete(point)
    session.flush()


def address(point: PickupPoint) -> str:
    return ", ".join(p for p in (point.street, f"{point.postcode} {point.city}".strip()) if p)


def is_active(point: PickupPoint, today: date) -> bool:
    return point.starts_on <= today <= point.ends_on


def _dates(point: PickupPoint) -> str:
    if point.starts_on == point.ends_on:
        return f"le {point.starts_on:%d/%m/%Y}"
    return f"du {point.starts_on:%d/%m/%Y} au {point.ends_on:%d/%m/%Y}"


def _point_options(session: Session, estate: Estate, context: delivery.DeliveryContext) -> list[delivery.DeliveryOption]:
    """One "Point de retrait" per point active today (Paris date)."""
    today = paris_date(context.now)
    rows = session.connection().execute(_ACTIVE_POINTS, {"estate_id": estate.id, "today": today})
    options = []
    for point in rows:
        description = " — ".join(p for p in (address(point), _dates(point), point.instructions) if p)
        options.append(delivery.DeliveryOption(f"point:{point.id}", DeliveryKind.POINT,
                                               f"Point de retrait : {point.name}", False, description,
                                               occasion_id=point.id))
    return options


#: Core, built once, the estate written out (every checkout sends it): rows with the
#: columns that address() and _dates() read
_ACTIVE_POINTS = (select(PickupPoint.__table__)
                  .where(PickupPoint.estate_id == bindparam("estate_id"), PickupPoint.starts_on <= bindparam("today"),
                         PickupPoint.ends_on >= bindparam("today"))
                  .order_by(PickupPoint.starts_on, PickupPoint.id))

delivery.OPTION_PROVIDERS.append(_point_options)
