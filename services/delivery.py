"""Delivery modes and the shipping grid.

A delivery option is what the customer picks at checkout. Home delivery, pickup at
the estate and hand delivery are built in; group purchases, fairs and temporary pickup
points add theirs through :data:`OPTION_PROVIDERS` (issue 10), each option naming its
occasion (``occasion_id``) so that the one checkout tags the order with it. In group
mode (the shop opened through a group purchase's link) the group's delivery is the
only one offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import DeliveryKind, Estate, ShippingRate, ShippingZone

EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
#: French overseas departments ship as "rest of the world" (outside EU VAT territory)
OVERSEAS_PREFIXES = ("971", "972", "973", "974", "976")

ZONE_LABELS = {
    ShippingZone.FR_METRO: _l("France métropolitaine"),
    ShippingZone.CORSE: _l("Corse"),
    ShippingZone.EU: _l("Union européenne"),
    ShippingZone.WORLD: _l("Reste du monde"),
}
KIND_LABELS = {
    DeliveryKind.HOME: _l("Livraison à domicile"),
    DeliveryKind.PICKUP: _l("Enlèvement à la propriété"),
    DeliveryKind.HAND: _l("Livraison en mains propres"),
    DeliveryKind.GROUP: _l("Achat groupé"),
    DeliveryKind.FAIR: _l("Retrait sur un salon"),
    DeliveryKind.POINT: _l("Point de retrait"),
    DeliveryKind.DISTRIBUTION: _l("Distribution du groupe"),
    DeliveryKind.TASTING: _l("Livraison chez l'hôte (réunion)"),
}


class DeliveryUnavailable(Exception):
    """The estate does not ship to this destination (no band of its grid fits)."""


@dataclass(frozen=True)
class DeliveryOption:
    key: str  #: posted by the checkout form: "home", "pickup", "hand", "group:3", "fair:12", "point:4"
    kind: DeliveryKind
    label: str
    requires_address: bool
    description: str = ""
    #: the GroupPurchase, EstateFair or PickupPoint id for the kinds GROUP, FAIR, POINT
    occasion_id: int | None = None


@dataclass(frozen=True)
class DeliveryContext:
    """What the options offered depend on beyond the estate."""

    now: datetime  #: dated options (fairs, pickup points) are offered only while active
    group_purchase_id: int | None = None  #: the shop is in group mode, through this group's link


OptionProvider = Callable[[Session, Estate, DeliveryContext], list[DeliveryOption]]


def _built_in_options(session: Session, estate: Estate, context: DeliveryContext) -> list[DeliveryOption]:
    options = []
    has_grid = session.connection().execute(_HAS_GRID, {"estate_id": estate.id}).first() is not None
    if has_grid:
        options.append(DeliveryOption("home", DeliveryKind.HOME, str(KIND_LABELS[DeliveryKind.HOME]), True))
    if estate.allows_pickup:
        address = ", ".join(p for p in (estate.street, f"{estate.postcode} {estate.city}".strip()) if p)
        options.append(DeliveryOption("pickup", DeliveryKind.PICKUP, str(KIND_LABELS[DeliveryKind.PICKUP]),
                                      False, estate.pickup_instructions or address))
    if estate.allows_hand_delivery:
        options.append(DeliveryOption("hand", DeliveryKind.HAND, str(KIND_LABELS[DeliveryKind.HAND]), False))
    return options


# Core statements built once, the estate written out (services.tenancy's criteria, by
# hand): every checkout sends them, and through the ORM they cost three times as much.
_HAS_GRID = select(ShippingRate.id).where(ShippingRate.estate_id == bindparam("estate_id")).limit(1)
_BANDS = select(ShippingRate.min_bottles, ShippingRate.price_cents).where(
    ShippingRate.estate_id == bindparam("estate_id"), ShippingRate.zone == bindparam("zone"))

#: the services of group purchases, fairs and pickup points append theirs at import
OPTION_PROVIDERS: list[OptionProvider] = [_built_in_options]


#: kind → (session, option, now) → the (reason, bp) discounts an order with this option
#: gets (a group purchase's tier, a pre-fair price): registered by the occasion services
OCCASION_DISCOUNTS: dict[DeliveryKind, Callable[[Session, DeliveryOption, datetime], tuple[tuple[str, int], ...]]] = {}


def occasion_discounts(session: Session, option: DeliveryOption, now: datetime) -> tuple[tuple[str, int], ...]:
    rule = OCCASION_DISCOUNTS.get(option.kind)
    return rule(session, option, now) if rule is not None and option.occasion_id is not None else ()


def options_for(session: Session, estate: Estate, context: DeliveryContext | None = None) -> list[DeliveryOption]:
    """The options offered now; in group mode, only the group's delivery."""
    context = context or DeliveryContext(now=datetime.now().astimezone())
    options = [option for provider in OPTION_PROVIDERS for option in provider(session, estate, context)]
    if context.group_purchase_id is not None:
        return [o for o in options if o.kind is DeliveryKind.GROUP and o.occasion_id == context.group_purchase_id]
    return [o for o in options if o.kind is not DeliveryKind.GROUP]


def zone_for(country: str, postcode: str) -> ShippingZone:
    country = (country or "").upper()
    postcode = (postcode or "").strip()
    if country == "FR":
        if postcode.startswith(OVERSEAS_PREFIXES):
            return ShippingZone.WORLD
        if postcode.startswith("20"):
            return ShippingZone.CORSE
        return ShippingZone.FR_METRO
    if country in EU_COUNTRIES:
        return ShippingZone.EU
    return ShippingZone.WORLD


def grid_price(bands: list[tuple[int, int]], bottles: int) -> int | None:
    """Price of the band that holds ``bottles``: the band with the largest
    ``min_bottles`` not above it. None when no band starts low enough."""
    best = None
    for min_bottles, price_cents in sorted(bands):
        if min_bottles <= bottles:
            best = price_cents
    return best


def shipping_cost(session: Session, estate: Estate, zone: ShippingZone, bottles: int, goods_ttc_cents: int) -> int:
    """:raise DeliveryUnavailable: the grid has no band for this zone and bottle count."""
    bands = [tuple(row) for row in session.connection().execute(_BANDS, {"estate_id": estate.id, "zone": zone})]
    price_cents = grid_price(bands, bottles)
    if price_cents is None:
        raise DeliveryUnavailable(zone.value)
    if estate.free_shipping_above_cents is not None and goods_ttc_cents >= estate.free_shipping_above_cents:
        return 0
    return price_cents


def grid(session: Session) -> dict[ShippingZone, list[ShippingRate]]:
    rates = session.scalars(select(ShippingRate).order_by(ShippingRate.zone, ShippingRate.min_bottles))
    result: dict[ShippingZone, list[ShippingRate]] = {zone: [] for zone in ShippingZone}
    for rate in rates:
        result[rate.zone].append(rate)
    return result


#: destinations offered at checkout (ISO code, French name); the grid decides the price
COUNTRIES = [
    ("FR", _l("France")), ("BE", _l("Belgique")), ("LU", _l("Luxembourg")), ("DE", _l("Allemagne")),
    ("NL", _l("Pays-Bas")), ("IT", _l("Italie")), ("ES", _l("Espagne")), ("PT", _l("Portugal")),
    ("AT", _l("Autriche")), ("IE", _l("Irlande")), ("DK", _l("Danemark")), ("SE", _l("Suède")),
    ("FI", _l("Finlande")), ("PL", _l("Pologne")), ("CZ", _l("Tchéquie")), ("CH", _l("Suisse")),
    ("GB", _l("Royaume-Uni")), ("NO", _l("Norvège")), ("US", _l("États-Unis")), ("CA", _l("Canada")),
    ("JP", _l("Japon")),
]


class InvalidGrid(ValueError):
    """``zone`` and ``row`` say where; ``code``: min_bottles, price, duplicate."""

    def __init__(self, zone: ShippingZone, row: int, code: str) -> None:
        super().__init__(f"{zone.value} row {row}: {code}")
        self.zone, self.row, self.code = zone, row, code


def replace_grid(session: Session, estate_id: int, bands: dict[ShippingZone, list[tuple[int, int]]]) -> None:
    """Replace the estate's whole grid; nothing changes when a band is invalid.

    :raise InvalidGrid:
    """
    for zone, rows in bands.items():
        seen: set[int] = set()
        for index, (min_bottles, price_cents) in enumerate(rows, start=1):
            if min_bottles < 1 or min_bottles > 10_000:
                raise InvalidGrid(zone, index, "min_bottles")
            if price_cents < 0 or price_cents > 100_000_00:
                raise InvalidGrid(zone, index, "price")
            if min_bottles in seen:
                raise InvalidGrid(zone, index, "duplicate")
            seen.add(min_bottles)
    for rate in session.scalars(select(ShippingRate)):
        session.delete(rate)
    session.flush()
    for zone, rows in bands.items():
        for min_bottles, price_cents in rows:
            session.add(ShippingRate(estate_id=estate_id, zone=zone, min_bottles=min_bottles, price_cents=price_cents))
    session.flush()
