"""The catalogue as the shop shows it and as the vigneron edits it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from models import Colour, CustomerKind, Estate, EstateCustomer, Price, PriceList, User, Wine, WineImage
from services import elabel
from services.errors import FieldError

COLOUR_ORDER = [Colour.ROUGE, Colour.BLANC, Colour.ROSE, Colour.EFFERVESCENT, Colour.MOELLEUX, Colour.AUTRE]


class InvalidWineChange(FieldError):
    """A wine edit breaks a rule; ``field`` names the offending field."""


@dataclass(frozen=True)
class ShopLine:
    wine: Wine
    price: Price
    price_list: PriceList


def default_price_list(session: Session, kind: CustomerKind) -> PriceList | None:
    return session.scalars(
        select(PriceList).where(PriceList.default_for == kind).order_by(PriceList.position)
    ).first()


def price_list_for(session: Session, estate: Estate, user: User | None,
                   customer: EstateCustomer | None = None) -> PriceList | None:
    """The list a visitor buys from: the one the estate gave them in its customer file,
    else "Professionnels" for a verified pro, else "Particuliers".

    An unverified professional (pending or rejected) sees particulier prices.
    ``customer``: the user's entry in the customer file if the caller read it already
    (only an entry tied to the account gives its list).
    """
    if user is not None and user.is_authenticated:
        if customer is None or customer.user_id != user.id:
            customer = session.scalars(
                select(EstateCustomer).where(EstateCustomer.user_id == user.id)
            ).first()
        if customer is not None and customer.price_list is not None:
            if customer.price_list.default_for is not CustomerKind.PROFESSIONNEL or user.is_verified_pro:
                return customer.price_list
        if user.is_verified_pro:
            pro = default_price_list(session, CustomerKind.PROFESSIONNEL)
            if pro is not None:
                return pro
    return default_price_list(session, CustomerKind.PARTICULIER)


def shop_lines(session: Session, price_list: PriceList | None) -> list[ShopLine]:
    """Visible wines priced on ``price_list``, in display order."""
    if price_list is None:
        return []
    rows = session.execute(
        select(Wine, Price)
        .join(Price, Price.wine_id == Wine.id)
        .where(Price.price_list_id == price_list.id, Wine.is_visible.is_(True))
        .options(selectinload(Wine.vat_rate), selectinload(Wine.images))
        .order_by(Wine.position, Wine.name, Wine.vintage)
    ).all()
    return [ShopLine(wine, price, price_list) for wine, price in rows]


def _folded(estate_id, price_list_id, dialect: str):  # type: ignore[no-untyped-def]
    """The estate page's rows (:func:`_wine_rows`) folded into one JSON array by the
    database: one row to step through instead of one per wine. SQLite releases
    Python's lock around each step of a query, and under a threaded server each step
    let another request run first: 24 steps made the kept page a third slower with 2
    threads than with 1. JSON encodes every value unambiguously, so two different
    catalogues never give the same text; an order the database chose differently (SQLite
    aggregates in the order it reads) would only cost a render."""
    rows = _wine_rows(estate_id, price_list_id, False)
    columns = list(rows.selected_columns)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        image = WineImage.__table__
        folded = func.json_agg(aggregate_order_by(func.json_build_array(*columns), Wine.__table__.c.id,
                                                  image.c.position, image.c.id))
        return rows.with_only_columns(func.cast(folded, String), maintain_column_froms=True).order_by(None)
    return rows.with_only_columns(func.json_group_array(func.json_array(*columns)),
                                  maintain_column_froms=True).order_by(None)


def _wine_rows(estate_id, price_list_id, one_wine: bool):  # type: ignore[no-untyped-def]
    """What the shop pages show of the wines of ``estate_id`` priced on ``price_list_id``
    (bound parameters, or the columns of an enclosing query); ``one_wine``: the
    ``wine_id`` parameter's wine only.

    The wine page's key takes every column of its wine, price and images. The estate
    page's takes the columns templates/shop/estate.html shows of its 24 wines (reading
    all of them, tasting notes and the like, costs a third more): a column that page
    starts to show must be added here. tests/integration/test_page_cache.py changes
    every column of these tables in turn and checks the kept page still equals a fresh one.
    """
    wine, price, image = Wine.__table__, Price.__table__, WineImage.__table__
    if one_wine:
        columns = [wine, price, image]
    else:
        columns = [wine.c.id, wine.c.name, wine.c.vintage, wine.c.colour, wine.c.appellation, wine.c.volume_ml,
                   wine.c.description, wine.c.order_multiple, wine.c.is_available, wine.c.available_again_month,
                   wine.c.available_again_year, wine.c.stock > 0, wine.c.reservation_open, wine.c.reservation_cap,
                   wine.c.reserved_count, wine.c.position, price.c.amount_cents, price.c.promo_amount_cents,
                   price.c.promo_active, price.c.reservation_cents, image.c.path,
                   image.c.position.label("image_position"),
                   wine.c.alcohol_permille, wine.c.allergens]  # issue 15: the e-label's essentials
    statement = (
        select(*columns)
        .select_from(wine.join(price, price.c.wine_id == wine.c.id)
                     .outerjoin(image, (image.c.wine_id == wine.c.id) & (image.c.estate_id == estate_id)))
        .where(wine.c.estate_id == estate_id, price.c.estate_id == estate_id,
               price.c.price_list_id == price_list_id, wine.c.is_visible.is_(True))
        .order_by(wine.c.id, image.c.position, image.c.id)
    )
    return statement.where(wine.c.id == bindparam("wine_id")) if one_wine else statement


@lru_cache(maxsize=1)
def _wine_page_statement():  # type: ignore[no-untyped-def]
    """Built once: a Core statement on the tables (no ORM entity, so its compiled form
    is reused as is), with the estate's criteria written out."""
    return _wine_rows(bindparam("estate_id"), bindparam("price_list_id"), True)


def wine_page_rows(session: Session, estate_id: int, price_list_id: int, wine_id: int) -> tuple:
    """Every column of what the wine page shows (the wine, its price, its images), as
    plain tuples in a stable order: services.page_cache's key; empty when the wine is
    hidden or not on the list. Core on the session's connection: the estate filter is
    in the statement (services.tenancy does not see Core statements)."""
    result = session.connection().execute(_wine_page_statement(), {
        "estate_id": estate_id, "price_list_id": price_list_id, "wine_id": wine_id})
    return tuple(map(tuple, result.all()))  # plain tuples hash in C


@lru_cache(maxsize=4)
def _published_estate_statement(wines_dialect: str | None):  # type: ignore[no-untyped-def]
    estate, price_list = Estate.__table__, PriceList.__table__
    first = price_list.alias("first_list")
    default_id = (select(first.c.id).where(first.c.estate_id == estate.c.id, first.c.default_for == bindparam("kind"))
                  .order_by(first.c.position).limit(1).scalar_subquery())
    columns = [estate, price_list]
    if wines_dialect is not None:  # the estate page's wines, folded, in the same statement
        columns.append(_folded(estate.c.id, price_list.c.id, wines_dialect).scalar_subquery().label("wines"))
    return (select(*columns).select_from(estate).outerjoin(price_list, price_list.c.id == default_id)
            .where(estate.c.slug == bindparam("slug"), estate.c.is_published.is_(True)))


@dataclass(frozen=True)
class EstateRows:
    estate_id: int
    estate: tuple  #: every column of the estate
    price_list: tuple | None  #: every column of the default list; None without one
    wines: str | None = None  #: with ``with_wines``: the estate page's wines, one JSON text (:func:`_folded`)

    def named(self) -> SimpleNamespace:
        """The estate's columns by name (``.mixing_allowed`` …), as on an Estate."""
        return SimpleNamespace(**dict(zip(Estate.__table__.columns.keys(), self.estate)))


def published_estate_rows(session: Session, slug: str | None, kind: CustomerKind, *,
                          with_wines: bool = False) -> EstateRows | None:
    """The published estate of ``slug`` and :func:`default_price_list`'s row for ``kind``
    (and ``with_wines``, the estate page's wines on that list), in one Core query: what
    an anonymous shop page shows of them, for services.page_cache's key. None: no such
    estate."""
    connection = session.connection()
    statement = _published_estate_statement(connection.dialect.name if with_wines else None)
    row = connection.execute(statement, {"slug": slug, "kind": kind}).first()
    if row is None:
        return None
    columns = Estate.__table__.columns
    split, end = len(columns), len(columns) + len(PriceList.__table__.columns)
    price_list = tuple(row[split:end])
    return EstateRows(row[columns.keys().index("id")], tuple(row[:split]),
                      price_list if price_list[0] is not None else None,
                      row[end] if with_wines and price_list[0] is not None else None)


def group_by_colour(lines: list[ShopLine]) -> list[tuple[Colour, list[ShopLine]]]:
    groups: dict[Colour, list[ShopLine]] = {}
    for line in lines:
        groups.setdefault(line.wine.colour, []).append(line)
    return [(c, groups[c]) for c in COLOUR_ORDER if c in groups]


def shop_line(session: Session, price_list: PriceList | None, wine_id: int) -> ShopLine | None:
    for line in shop_lines(session, price_list):
        if line.wine.id == wine_id:
            return line
    return None


def list_wines(session: Session) -> list[Wine]:
    return list(
        session.scalars(
            select(Wine).options(selectinload(Wine.prices)).order_by(Wine.position, Wine.name)
        )
    )


def list_price_lists(session: Session) -> list[PriceList]:
    return list(session.scalars(select(PriceList).order_by(PriceList.position, PriceList.id)))


def price_on(wine: Wine, price_list: PriceList) -> Price | None:
    for price in wine.prices:
        if price.price_list_id == price_list.id:
            return price
    return None


def set_price(
    session: Session,
    wine: Wine,
    price_list: PriceList,
    amount_cents: int | None,
    promo_amount_cents: int | None = None,
    promo_active: bool = False,
) -> Price | None:
    """Put a wine on a list at a price, or take it off the list (``amount_cents`` None)."""
    price = price_on(wine, price_list)
    if amount_cents is None:
        if price is not None:
            wine.prices.remove(price)
            session.flush()
        return None
    if amount_cents <= 0:
        raise InvalidWineChange("amount", "not_positive")
    if promo_amount_cents is not None and promo_amount_cents <= 0:
        raise InvalidWineChange("promo_amount", "not_positive")
    if promo_active and promo_amount_cents is None:
        raise InvalidWineChange("promo_amount", "missing")
    if promo_amount_cents is not None and promo_amount_cents >= amount_cents:
        raise InvalidWineChange("promo_amount", "not_lower")
    if price is None:
        price = Price(estate_id=wine.estate_id, price_list=price_list, amount_cents=amount_cents)
        wine.prices.append(price)
    price.amount_cents = amount_cents
    price.promo_amount_cents = promo_amount_cents
    price.promo_active = promo_active
    session.flush()
    return price


def check_next_availability(month: int | None, year: int | None, today: date) -> None:
    if (month is None) != (year is None):
        raise InvalidWineChange("available_again", "incomplete")
    if month is None or year is None:
        return
    if not 1 <= month <= 12:
        raise InvalidWineChange("available_again", "month")
    if (year, month) < (today.year, today.month) or year > today.year + 10:
        raise InvalidWineChange("available_again", "past")


@dataclass(frozen=True)
class QuickEdit:
    """What the "Modifier" row of the wines table changes."""

    amount_cents: int | None  #: None takes the wine off this price list
    promo_amount_cents: int | None
    promo_active: bool
    vintage: int | None
    stock: int
    is_available: bool
    available_again_month: int | None
    available_again_year: int | None
    is_visible: bool


def apply_quick_edit(session: Session, wine: Wine, price_list: PriceList, edit: QuickEdit, today: date) -> None:
    """:raise InvalidWineChange: nothing is changed.
    :raise elabel.LabelIncomplete: the wine would be made visible without its e-label's
        required information (the row does not edit it); nothing is changed."""
    label_missing = elabel.missing_of(wine)
    elabel.check_visibility(shown=edit.is_visible, missing_now=label_missing, was_visible=wine.is_visible,
                            missing_before=label_missing)
    if edit.vintage is not None and not 1900 <= edit.vintage <= today.year + 1:
        raise InvalidWineChange("vintage", "range")
    if edit.stock < 0:
        raise InvalidWineChange("stock", "negative")
    month, year = (None, None) if edit.is_available else (edit.available_again_month, edit.available_again_year)
    check_next_availability(month, year, today)
    set_price(session, wine, price_list, edit.amount_cents, edit.promo_amount_cents, edit.promo_active)
    wine.vintage = edit.vintage
    wine.stock = edit.stock
    wine.is_available = edit.is_available
    wine.available_again_month = month
    wine.available_again_year = year
    wine.is_visible = edit.is_visible
    session.flush()
