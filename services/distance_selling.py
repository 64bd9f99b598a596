"""Selling alcohol at a distance (issue 15): the buyer's age, the countries an estate
ships to, and the excise mentions of the order form and the invoice.

- Age. Checkout asks the date of birth; the buyer must be 18 on the Paris date of the
  order (Code de la santé publique L3342-1). :func:`age_on` is the one computation.
  Orders a seller takes face to face (home tastings) are exempt: the seller checks the
  age in person (L3342-1 lets the seller ask for proof).
- Destinations. ``Estate.destination_countries`` holds the ISO codes the estate ships
  to, space-separated; France is always one. A shipment (home delivery, a group
  purchase's delivery) elsewhere is refused with :class:`DestinationRefused`; collecting
  (at the estate, a fair, a pickup point, a distribution) is not a shipment.
- Excise. :func:`excise` says which mention the order form and the invoice carry; the
  wording itself is in ``templates/pdf/_excise.html`` (the documents are French).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import object_session

from models import DeliveryKind, Estate, GroupPurchase, Order, Wine
from services.delivery import DeliveryUnavailable

LEGAL_AGE = 18
#: earlier dates are typing mistakes (nobody orders at 126)
EARLIEST_BIRTH = date(1900, 1, 1)

MINORS_REFUSAL = _l("La vente de boissons alcooliques à des mineurs est interdite (article L3342-1 du Code de la "
                    "santé publique). Vous devez avoir 18 ans révolus pour commander.")
#: shown on the home pages and the payment pages (L3342-4)
MINORS_NOTICE = _l("La vente de boissons alcooliques aux mineurs de moins de dix-huit ans est interdite.")
BIRTH_DATE_MESSAGES = {
    "missing": _l("Indiquez votre date de naissance."),
    "invalid": _l("Date de naissance invalide : écrivez-la par exemple 25/12/1980."),
    "future": _l("Votre date de naissance ne peut pas être dans le futur."),
    "too_old": _l("Votre date de naissance ne peut pas être avant 1900 : vérifiez l'année."),
}


# -- age ---------------------------------------------------------------------------


def age_on(birth: date, day: date) -> int:
    """Full years lived on ``day``. Born on 29 February: a year older on 1 March in
    non-leap years (the birthday has not come on 28 February)."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def is_adult(birth: date, day: date) -> bool:
    return age_on(birth, day) >= LEGAL_AGE


class BirthDateInvalid(ValueError):
    """``code``: missing, future, too_old (keys of :data:`BIRTH_DATE_MESSAGES`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class UnderLegalAge(Exception):
    """The buyer is not 18 on the order's Paris date (L3342-1): nothing is ordered."""


def birth_date_problem(birth: date | None, day: date) -> str | None:
    """The code of what is wrong with a date of birth given on ``day``, or None."""
    if birth is None:
        return "missing"
    if birth > day:
        return "future"
    if birth < EARLIEST_BIRTH:
        return "too_old"
    return None


def check_buyer_age(birth: date | None, day: date) -> None:
    """:raise BirthDateInvalid: no date, or an absurd one.
    :raise UnderLegalAge: under 18 on ``day`` (the Paris date of the order)."""
    problem = birth_date_problem(birth, day)
    if problem is not None:
        raise BirthDateInvalid(problem)
    if not is_adult(birth, day):  # type: ignore[arg-type]
        raise UnderLegalAge()


# -- destinations ------------------------------------------------------------------

#: (ISO code, name, "to" phrase): the countries an estate may choose to ship to; the
#: EU's 27 (services.delivery.EU_COUNTRIES and France: the zone "Union européenne"),
#: then the usual destinations outside it (the zone "Reste du monde")
DESTINATIONS: list[tuple[str, object, object]] = [
    ("FR", _l("France"), _l("en France")),
    ("DE", _l("Allemagne"), _l("en Allemagne")),
    ("AT", _l("Autriche"), _l("en Autriche")),
    ("BE", _l("Belgique"), _l("en Belgique")),
    ("BG", _l("Bulgarie"), _l("en Bulgarie")),
    ("CY", _l("Chypre"), _l("à Chypre")),
    ("HR", _l("Croatie"), _l("en Croatie")),
    ("DK", _l("Danemark"), _l("au Danemark")),
    ("ES", _l("Espagne"), _l("en Espagne")),
    ("EE", _l("Estonie"), _l("en Estonie")),
    ("FI", _l("Finlande"), _l("en Finlande")),
    ("GR", _l("Grèce"), _l("en Grèce")),
    ("HU", _l("Hongrie"), _l("en Hongrie")),
    ("IE", _l("Irlande"), _l("en Irlande")),
    ("IT", _l("Italie"), _l("en Italie")),
    ("LV", _l("Lettonie"), _l("en Lettonie")),
    ("LT", _l("Lituanie"), _l("en Lituanie")),
    ("LU", _l("Luxembourg"), _l("au Luxembourg")),
    ("MT", _l("Malte"), _l("à Malte")),
    ("NL", _l("Pays-Bas"), _l("aux Pays-Bas")),
    ("PL", _l("Pologne"), _l("en Pologne")),
    ("PT", _l("Portugal"), _l("au Portugal")),
    ("RO", _l("Roumanie"), _l("en Roumanie")),
    ("SK", _l("Slovaquie"), _l("en Slovaquie")),
    ("SI", _l("Slovénie"), _l("en Slovénie")),
    ("SE", _l("Suède"), _l("en Suède")),
    ("CZ", _l("Tchéquie"), _l("en Tchéquie")),
    ("GB", _l("Royaume-Uni"), _l("au Royaume-Uni")),
    ("CH", _l("Suisse"), _l("en Suisse")),
    ("NO", _l("Norvège"), _l("en Norvège")),
    ("US", _l("États-Unis"), _l("aux États-Unis")),
    ("CA", _l("Canada"), _l("au Canada")),
    ("JP", _l("Japon"), _l("au Japon")),
    ("HK", _l("Hong Kong"), _l("à Hong Kong")),
    ("SG", _l("Singapour"), _l("à Singapour")),
    ("AU", _l("Australie"), _l("en Australie")),
]
NAMES = {code: name for code, name, _to in DESTINATIONS}
_TO = {code: to for code, _name, to in DESTINATIONS}
EU = frozenset(code for code, _name, _to in DESTINATIONS[:27])
OUTSIDE_EU = [code for code, _name, _to in DESTINATIONS[27:]]


class UnknownCountry(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_destinations(codes: list[str]) -> str:
    """The column's value for the codes ticked (France added), in the list's order.

    :raise UnknownCountry: a code not in :data:`DESTINATIONS`.
    """
    wanted = {"FR"}
    for code in codes:
        code = (code or "").strip().upper()
        if code not in NAMES:
            raise UnknownCountry(code[:10])
        wanted.add(code)
    return " ".join(code for code, _name, _to in DESTINATIONS if code in wanted)


def destinations(estate: Estate) -> list[str]:
    """The codes the estate ships to, France always, in the list's order (unknown stored codes dropped)."""
    stored = set((estate.destination_countries or "").upper().split()) | {"FR"}
    return [code for code, _name, _to in DESTINATIONS if code in stored]


def country_name(code: str) -> str:
    return str(NAMES.get(code, code))


def country_choices(estate: Estate) -> list[tuple[str, str]]:
    """(code, name) of the estate's destinations: the checkout's shipping-country select."""
    return [(code, country_name(code)) for code in destinations(estate)]


class DestinationRefused(DeliveryUnavailable):
    """The estate has not chosen this country for its shipments: nothing is ordered.
    A DeliveryUnavailable, so that a caller that knows only "not delivered there" still
    refuses; the checkout says which countries are."""

    def __init__(self, estate_name: str, country: str, allowed: list[str]) -> None:
        super().__init__(country)
        self.estate_name, self.country, self.allowed = estate_name, country, allowed

    def message(self) -> str:
        return str(_l("%(estate)s ne livre pas %(to)s. Pays de livraison possibles : %(countries)s.",
                      estate=self.estate_name, to=_TO.get(self.country, self.country),
                      countries=", ".join(country_name(code) for code in self.allowed)))


def check_destination(estate: Estate, country: str) -> None:
    """:raise DestinationRefused: a shipment to a country the estate has not chosen."""
    allowed = destinations(estate)
    if (country or "").upper() not in allowed:
        raise DestinationRefused(estate.name, (country or "").upper()[:10], allowed)


def check_shipment(session, estate: Estate, kind: DeliveryKind, country: str,  # type: ignore[no-untyped-def]
                   occasion_id: int | None = None) -> None:
    """Refuse a shipment to a country not chosen: a home delivery to ``country``, a group
    purchase's delivery to the group's address. Collecting is not a shipment.

    :raise DestinationRefused:
    """
    if kind is DeliveryKind.HOME:
        check_destination(estate, country)
    elif kind is DeliveryKind.GROUP and occasion_id is not None:
        group_country = session.connection().execute(
            select(GroupPurchase.country).where(GroupPurchase.id == occasion_id,
                                                GroupPurchase.estate_id == estate.id)).scalar()
        if group_country is not None:
            check_destination(estate, group_country)


# -- excise mentions on the documents -----------------------------------------------


@dataclass(frozen=True)
class WineLine:
    quantity: int
    label: str
    volume_ml: int | None
    alcohol_permille: int | None


@dataclass(frozen=True)
class ExciseMention:
    """What ``templates/pdf/_excise.html`` writes. ``kind``: "france" (a private buyer
    delivered in France: the document stands for the DSA), "eu" (a shipment to another
    EU country: excise due there by the seller)."""

    kind: str
    country: str
    country_name: str
    lines: tuple[WineLine, ...] = ()


def shipped_country(order: Order) -> str | None:
    """Where the order is shipped, or None when it is collected (not a shipment)."""
    if order.delivery_kind is DeliveryKind.HOME:
        return (order.shipping_country or order.billing_country or "FR").upper()
    if order.delivery_kind is DeliveryKind.GROUP and order.group_purchase_id is not None:
        session = object_session(order)
        if session is None:
            return None
        country = session.connection().execute(
            select(GroupPurchase.country).where(GroupPurchase.id == order.group_purchase_id,
                                                GroupPurchase.estate_id == order.estate_id)).scalar()
        return (country or "FR").upper()
    return None


def excise(order: Order) -> ExciseMention | None:
    """The excise mention an order's documents carry, or None (a pro's order in France,
    a collected order, a shipment outside the EU)."""
    country = shipped_country(order)
    if country is None:
        return None
    if country == "FR":
        if not order.prices_include_vat:  # a pro (HT prices) buys under its own excise status
            return None
        return ExciseMention("france", country, country_name(country), _wine_lines(order))
    if country in EU:
        return ExciseMention("eu", country, country_name(country))
    return None


def _wine_lines(order: Order) -> tuple[WineLine, ...]:
    """The wines shipped with their volume and strength (the DSA's mentions). The wine's
    row is read by a Core statement with its estate written out: documents are rendered
    by jobs and views alike."""
    session = object_session(order)
    goods = [line for line in order.lines if line.kind in ("goods", "gift") and not line.is_shipping]
    ids = sorted({line.wine_id for line in goods if line.wine_id is not None})
    wines: dict[int, tuple[int | None, int | None]] = {}
    if session is not None and ids:
        table = Wine.__table__
        rows = session.connection().execute(
            select(table.c.id, table.c.volume_ml, table.c.alcohol_permille)
            .where(table.c.id.in_(ids), table.c.estate_id == order.estate_id))
        wines = {row.id: (row.volume_ml, row.alcohol_permille) for row in rows}
    return tuple(WineLine(line.quantity, line.label, *wines.get(line.wine_id or 0, (None, None))) for line in goods)


def today_in_paris(now: datetime) -> date:
    from services.closing import paris_day

    return paris_day(now)
