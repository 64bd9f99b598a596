"""An estate's catalogues for producer groups (seed 002, the estate's side) and its
"Ventes" tab: the distributions of the groups its catalogues are linked to.

A :class:`models.Catalogue` is a selection of the estate's visible wines, all priced on
one of its price lists; its URL (:func:`catalogue_url`) is what the estate emails to a
group's administrator. Linking, participating and withdrawing are the rules of
services.producer_groups; this module adds what the back office reads around them.
Distribution and link tables are platform tables: every read here filters on the
estate explicitly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import (
    Catalogue,
    Distribution,
    DistributionParticipation,
    Estate,
    GroupCatalogue,
    Price,
    PriceList,
    ProducerGroup,
    Wine,
    catalogue_wine,
)
from services import producer_groups
from services.errors import FieldError
from services.templating import PARIS

NAME_MAX = 120
MAX_WINES = 500  #: more ids than any estate has wines: hostile input
RANGE_MAX_DAYS = 366  #: "Du" → "Au" on the Distributions page: a year at most
DEFAULT_RANGE_WEEKS = 8


class InvalidCatalogue(FieldError):
    """A catalogue input breaks a rule: ("name", "required" | "too_long" | "taken"),
    ("price_list_id", "unknown"), ("wine_ids", "empty" | "unknown" | "hidden" | "not_priced")."""


class InvalidRange(FieldError):
    """A date range breaks a rule: ("start" | "end", "unparsable"), ("end", "before_start"),
    ("end", "too_long")."""


@dataclass(frozen=True)
class CatalogueData:
    name: str
    price_list_id: int | None
    wine_ids: list[int] = field(default_factory=list)


def catalogue_url(public_url: str, token: str) -> str:
    """The catalogue's absolute URL, the one the estate emails to a group's administrator."""
    return f"{public_url.rstrip('/')}/groupes/catalogues/{token}"


# ------------------------------------------------------------------ catalogues


def list_catalogues(session: Session, estate: Estate) -> list[Catalogue]:
    return list(session.scalars(select(Catalogue).where(Catalogue.estate_id == estate.id)
                                .options(selectinload(Catalogue.price_list), selectinload(Catalogue.wines))
                                .order_by(Catalogue.name)))


def get_catalogue(session: Session, estate: Estate, catalogue_id: int) -> Catalogue | None:
    return session.scalars(select(Catalogue).where(Catalogue.id == catalogue_id,
                                                   Catalogue.estate_id == estate.id)).first()


def offerable_wines(session: Session, estate: Estate, price_list_id: int | None) -> list[tuple[Wine, Price]]:
    """The estate's visible wines priced on the list: what a catalogue may offer."""
    if price_list_id is None:
        return []
    return [(wine, price) for wine, price in session.execute(
        select(Wine, Price).join(Price, Price.wine_id == Wine.id)
        .where(Wine.estate_id == estate.id, Wine.is_visible.is_(True), Price.price_list_id == price_list_id,
               Price.estate_id == estate.id)
        .order_by(Wine.position, Wine.name, Wine.id)).all()]


def catalogue_lines(session: Session, catalogue: Catalogue) -> list[tuple[Wine, Price | None]]:
    """The catalogue's wines with their price on its list (None: no longer priced there)."""
    prices = {price.wine_id: price for price in session.scalars(
        select(Price).where(Price.price_list_id == catalogue.price_list_id, Price.estate_id == catalogue.estate_id))}
    wines = session.scalars(select(Wine).join(catalogue_wine, catalogue_wine.c.wine_id == Wine.id)
                            .where(catalogue_wine.c.catalogue_id == catalogue.id, Wine.estate_id == catalogue.estate_id)
                            .order_by(Wine.position, Wine.name, Wine.id))
    return [(wine, prices.get(wine.id)) for wine in wines]


def linked_groups(session: Session, catalogue: Catalogue) -> list[ProducerGroup]:
    """The groups this catalogue is linked to, by name."""
    return list(session.scalars(select(ProducerGroup).join(GroupCatalogue, GroupCatalogue.group_id == ProducerGroup.id)
                                .where(GroupCatalogue.catalogue_id == catalogue.id,
                                       GroupCatalogue.estate_id == catalogue.estate_id)
                                .order_by(ProducerGroup.name)))


def _checked(session: Session, estate: Estate, own: Catalogue | None,
             data: CatalogueData) -> tuple[str, PriceList, list[Wine]]:
    """The clean name, the list and the wines of ``data``. :raise InvalidCatalogue:"""
    name = data.name.strip()
    if not name:
        raise InvalidCatalogue("name", "required")
    if len(name) > NAME_MAX:
        raise InvalidCatalogue("name", "too_long")
    same_name = session.scalars(select(Catalogue.id).where(Catalogue.estate_id == estate.id,
                                                           Catalogue.name == name)).first()
    if same_name is not None and (own is None or same_name != own.id):
        raise InvalidCatalogue("name", "taken")
    price_list = None
    if data.price_list_id is not None:
        price_list = session.scalars(select(PriceList).where(PriceList.id == data.price_list_id,
                                                             PriceList.estate_id == estate.id)).first()
    if price_list is None:
        raise InvalidCatalogue("price_list_id", "unknown")
    wanted = set(data.wine_ids)
    if not wanted:
        raise InvalidCatalogue("wine_ids", "empty")
    if len(wanted) > MAX_WINES:
        raise InvalidCatalogue("wine_ids", "unknown")
    wines = list(session.scalars(select(Wine).where(Wine.id.in_(wanted), Wine.estate_id == estate.id)
                                 .order_by(Wine.position, Wine.name, Wine.id)))
    if len(wines) != len(wanted):
        raise InvalidCatalogue("wine_ids", "unknown")
    if not all(wine.is_visible for wine in wines):
        raise InvalidCatalogue("wine_ids", "hidden")
    priced = set(session.scalars(select(Price.wine_id).where(Price.price_list_id == price_list.id,
                                                             Price.estate_id == estate.id,
                                                             Price.wine_id.in_(wanted))))
    if priced != wanted:
        raise InvalidCatalogue("wine_ids", "not_priced")
    return name, price_list, wines


def create_catalogue(session: Session, estate: Estate, data: CatalogueData, now: datetime) -> Catalogue:
    """A new catalogue with its URL token. :raise InvalidCatalogue:"""
    name, price_list, wines = _checked(session, estate, None, data)
    catalogue = Catalogue(estate_id=estate.id, name=name, price_list_id=price_list.id,
                          token=secrets.token_urlsafe(24), created_at=now)
    catalogue.wines = wines
    try:
        with session.begin_nested():
            session.add(catalogue)
    except IntegrityError:  # the same name saved twice at once
        raise InvalidCatalogue("name", "taken") from None
    return catalogue


def update_catalogue(session: Session, catalogue: Catalogue, data: CatalogueData) -> None:
    """Change the name, the list and the wines; the token (its URL) and the groups'
    links stay. :raise InvalidCatalogue:"""
    estate = session.get(Estate, catalogue.estate_id)
    name, price_list, wines = _checked(session, estate, catalogue, data)
    catalogue.name, catalogue.price_list_id, catalogue.wines = name, price_list.id, wines
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise InvalidCatalogue("name", "taken") from None


# ------------------------------------------------------------------ "Ventes"


@dataclass(frozen=True)
class SaleRow:
    """A distribution as the estate sees it."""

    distribution: Distribution
    participating: bool
    closed: bool  #: orders closed: no "Participe" / "Ne plus participer" button


@dataclass(frozen=True)
class GroupSales:
    group: ProducerGroup
    link: GroupCatalogue
    rows: list[SaleRow]


def is_closed(distribution: Distribution, now: datetime) -> bool:
    return distribution.status != producer_groups.OPEN or distribution.orders_close_at <= now


def _rows(session: Session, estate_id: int, found: list[Distribution], now: datetime) -> list[SaleRow]:
    ids = [distribution.id for distribution in found]
    joined = set(session.scalars(select(DistributionParticipation.distribution_id).where(
        DistributionParticipation.estate_id == estate_id, DistributionParticipation.distribution_id.in_(ids)))) \
        if ids else set()
    return [SaleRow(d, d.id in joined, is_closed(d, now)) for d in found]


def sale_row(session: Session, estate_id: int, distribution: Distribution, now: datetime) -> SaleRow:
    return _rows(session, estate_id, [distribution], now)[0]


def sales(session: Session, estate_id: int, now: datetime) -> list[GroupSales]:
    """For each group the estate is linked to, its coming distributions."""
    return [GroupSales(group, link, _rows(session, estate_id, producer_groups.distributions(
        session, group.id, coming_only=True, now=now), now))
        for link, group in producer_groups.estate_links(session, estate_id)]


def group_link(session: Session, estate_id: int, group_id: int) -> tuple[GroupCatalogue, ProducerGroup] | None:
    """The estate's link to this group and the group, or None when not linked."""
    found = session.execute(select(GroupCatalogue, ProducerGroup)
                            .join(ProducerGroup, ProducerGroup.id == GroupCatalogue.group_id)
                            .where(GroupCatalogue.group_id == group_id, GroupCatalogue.estate_id == estate_id)).first()
    return (found[0], found[1]) if found is not None else None


def linked_distribution(session: Session, estate_id: int, distribution_id: int) -> Distribution | None:
    """The distribution, when the estate's catalogue is linked to its group; else None."""
    distribution = session.get(Distribution, distribution_id)
    if distribution is None or group_link(session, estate_id, distribution.group_id) is None:
        return None
    return distribution


def group_sales_in_range(session: Session, estate_id: int, group_id: int, start: date, end: date,
                         now: datetime) -> list[SaleRow]:
    """The group's distributions starting from ``start`` to ``end`` (Paris days, inclusive)."""
    lower, upper = paris_bounds(start, end)
    return _rows(session, estate_id, producer_groups.distributions(session, group_id, start=lower, end=upper), now)


def paris_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Midnight in Paris at ``start`` and the midnight after ``end``: the bounds, end
    exclusive, that producer_groups.distributions takes."""
    return datetime.combine(start, time(), PARIS), datetime.combine(end + timedelta(days=1), time(), PARIS)


def _parse_day(text: str | None, name: str) -> date:
    text = (text or "").strip()
    if len(text) <= 10:
        for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
            try:
                return parse(text)
            except ValueError:
                continue
    raise InvalidRange(name, "unparsable")


def parse_range(start_text: str | None, end_text: str | None, today: date) -> tuple[date, date]:
    """"Du" and "Au" (ISO dates, or dd/mm/yyyy); both empty: today → today + 8 weeks.

    :raise InvalidRange:
    """
    if not (start_text or "").strip() and not (end_text or "").strip():
        return today, today + timedelta(weeks=DEFAULT_RANGE_WEEKS)
    start, end = _parse_day(start_text, "start"), _parse_day(end_text, "end")
    if end < start:
        raise InvalidRange("end", "before_start")
    if (end - start).days > RANGE_MAX_DAYS:
        raise InvalidRange("end", "too_long")
    return start, end
