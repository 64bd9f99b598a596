"""Salons des vins (seed 000): the platform's list of fairs, an estate's participation
(stand, invitation, pre-fair price), "Retrait sur le salon" at checkout.

A :class:`models.Fair` belongs to the platform (every estate picks from the same
dropdown; adding one that exists, same name, city and first day, reuses it). An
:class:`models.EstateFair` is the estate's participation: its stand, the token of its
public invitation page, whether customers may collect their order there, and the
optional "tarif pré-salon" (a price list of the estate, or a %) for orders placed
before the fair's first day (Paris date).

The checkout learns about fairs through :data:`services.delivery.OPTION_PROVIDERS`
(one FAIR option per participation with pickup, until the fair's last day) and the %
through :data:`services.delivery.OCCASION_DISCOUNTS`; a pre-fair price list re-prices
the cart on that list (:func:`prefair_view`, called by ``orders.quote_for``), through
the same pricing engine.
"""

from __future__ import annotations

import base64
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from models import DeliveryKind, Estate, EstateFair, Fair, Order, PriceList
from services import delivery
from services.errors import FieldError
from services.pdf import html_to_pdf
from services.tenancy import current_estate_id, get_owned
from services.templating import PARIS

FAIR_DAYS_MAX = 31  #: a fair lasts at most a month: a longer one is a typing error


def paris_date(now: datetime) -> date:
    """The calendar day in France at ``now`` (naive datetimes are taken as UTC)."""
    from datetime import timezone

    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(PARIS).date()


class InvalidFair(FieldError):
    """The fair or the participation breaks a rule; ``field`` says which form field,
    ``code``: name, city, dates, too_long, stand, percent, price_list, both, taken,
    unknown (no such upcoming fair)."""


class FairHasOrders(Exception):
    """Orders are tagged with this participation: it cannot be removed."""


@dataclass(frozen=True)
class NewFair:
    name: str
    city: str
    venue: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Terms:
    """What the estate states about its participation."""

    stand: str
    pickup_enabled: bool
    prefair_price_list_id: int | None = None
    prefair_discount_bp: int = 0


# ------------------------------------------------------------------ the fairs


def upcoming_fairs(session: Session, today: date) -> list[Fair]:
    """The dropdown: fairs not over yet, soonest first."""
    return list(session.scalars(select(Fair).where(Fair.ends_on >= today).order_by(Fair.starts_on, Fair.name)))


def find_or_add_fair(session: Session, estate: Estate, data: NewFair) -> Fair:
    """The platform's fair with this name, city and first day, added if new.

    :raise InvalidFair: name, city, dates (end before start), too_long.
    """
    name, city, venue = data.name.strip(), data.city.strip(), data.venue.strip()
    if not name or len(name) > 140:
        raise InvalidFair("name", "name")
    if not city or len(city) > 100:
        raise InvalidFair("city", "city")
    if data.ends_on < data.starts_on:
        raise InvalidFair("ends_on", "dates")
    if (data.ends_on - data.starts_on).days >= FAIR_DAYS_MAX:
        raise InvalidFair("ends_on", "too_long")
    wanted = select(Fair).where(func.lower(Fair.name) == name.lower(), func.lower(Fair.city) == city.lower(),
                                Fair.starts_on == data.starts_on)
    existing = session.scalars(wanted).first()
    if existing is not None:
        return existing
    fair = Fair(name=name, city=city, venue=venue[:200], starts_on=data.starts_on, ends_on=data.ends_on,
                created_by_estate_id=estate.id)
    try:
        with session.begin_nested():  # another estate adding the same fair at the same moment
            session.add(fair)
    except IntegrityError:
        return session.scalars(wanted).one()
    return fair


# ------------------------------------------------------- the participations


def participations(session: Session) -> list[EstateFair]:
    """The current estate's fairs, soonest first."""
    return list(session.scalars(select(EstateFair).join(Fair, Fair.id == EstateFair.fair_id)
                                .options(joinedload(EstateFair.fair)).order_by(Fair.starts_on, EstateFair.id)))


def filter_choices(session: Session) -> list[Row]:
    """The current estate's fairs as the orders table's filter shows them: rows of
    (id, name, starts_on), soonest first. Core, the estate written out (the orders table
    is timed against its raw SQL, issue 8)."""
    return list(session.connection().execute(_FILTER_CHOICES, {"estate_id": current_estate_id(session)}))


_FILTER_CHOICES = (select(EstateFair.id, Fair.name, Fair.starts_on).join(Fair, Fair.id == EstateFair.fair_id)
                   .where(EstateFair.estate_id == bindparam("estate_id")).order_by(Fair.starts_on, EstateFair.id))


def _check_terms(session: Session, terms: Terms) -> None:
    if len(terms.stand) > 60:
        raise InvalidFair("stand", "stand")
    if terms.prefair_price_list_id is not None and terms.prefair_discount_bp:
        raise InvalidFair("prefair_mode", "both")
    if not 0 <= terms.prefair_discount_bp <= 10_000:
        raise InvalidFair("prefair_percent", "percent")
    if terms.prefair_price_list_id is not None and get_owned(session, PriceList, terms.prefair_price_list_id) is None:
        raise InvalidFair("prefair_price_list_id", "price_list")  # another estate's list, or none


def participate(session: Session, estate: Estate, fair: Fair, terms: Terms) -> EstateFair:
    """:raise InvalidFair: stand, percent, price_list, both, taken (already at this fair)."""
    _check_terms(session, terms)
    if fair.id is not None and session.scalars(select(EstateFair.id).where(EstateFair.fair_id == fair.id)).first():
        raise InvalidFair("fair_id", "taken")
    participation = EstateFair(estate_id=estate.id, fair=fair, token=secrets.token_urlsafe(24))
    _apply(participation, terms)
    session.add(participation)
    session.flush()
    return participation


def update_terms(session: Session, participation: EstateFair, terms: Terms) -> None:
    """:raise InvalidFair: stand, percent, price_list, both."""
    _check_terms(session, terms)
    _apply(participation, terms)
    session.flush()


def _apply(participation: EstateFair, terms: Terms) -> None:
    participation.stand = terms.stand.strip()
    participation.pickup_enabled = terms.pickup_enabled
    participation.prefair_price_list_id = terms.prefair_price_list_id
    participation.prefair_discount_bp = terms.prefair_discount_bp


def remove(session: Session, participation: EstateFair) -> None:
    """:raise FairHasOrders: orders are to be collected there (or were)."""
    if session.scalars(select(Order.id).where(Order.estate_fair_id == participation.id).limit(1)).first():
        raise FairHasOrders(participation.id)
    session.delete(participation)
    session.flush()


def by_token(session: Session, token: str) -> EstateFair | None:
    """The current estate's participation with this invitation token."""
    if not token or len(token) > 64:
        return None
    return session.scalars(select(EstateFair).where(EstateFair.token == token)
                           .options(joinedload(EstateFair.fair))).first()


def orders_of(session: Session, participation: EstateFair) -> list[Order]:
    """The orders to hand over at the fair (cancelled ones left out), by customer."""
    from models import OrderStatus

    return list(session.scalars(select(Order).where(Order.estate_fair_id == participation.id,
                                                    Order.status != OrderStatus.CANCELLED)
                                .order_by(Order.billing_name, Order.id)))


# ------------------------------------------------------------- the checkout


def pickup_label(participation: EstateFair) -> str:
    return _pickup_label(participation.fair, participation.stand)


def _pickup_label(fair, stand: str | None) -> str:  # type: ignore[no-untyped-def]
    """``fair``: a Fair, or a row with its name and city."""
    at_stand = f", stand {stand}" if stand else ""
    return f"Retrait sur le salon {fair.name} ({fair.city}{at_stand})"


def dates_label(fair: Fair) -> str:
    if fair.starts_on == fair.ends_on:
        return f"le {fair.starts_on:%d/%m/%Y}"
    return f"du {fair.starts_on:%d/%m/%Y} au {fair.ends_on:%d/%m/%Y}"


def _fair_options(session: Session, estate: Estate, context: delivery.DeliveryContext) -> list[delivery.DeliveryOption]:
    """One "Retrait sur le salon" per participation with pickup, until the fair's last day."""
    today = paris_date(context.now)
    options = []
    for row in session.connection().execute(_PICKUP_FAIRS, {"estate_id": estate.id, "today": today}):
        where = ", ".join(p for p in (row.venue, row.city) if p)
        description = f"{where}, {dates_label(row)}"
        if (row.prefair_discount_bp or row.prefair_price_list_id) and today < row.starts_on:
            description += f" — tarif pré-salon pour les commandes passées avant le {row.starts_on:%d/%m/%Y}"
        options.append(delivery.DeliveryOption(f"fair:{row.id}", DeliveryKind.FAIR, _pickup_label(row, row.stand),
                                               False, description, occasion_id=row.id))
    return options


#: Core, built once, the estate written out (every checkout sends it)
_PICKUP_FAIRS = (select(EstateFair.id, EstateFair.stand, EstateFair.prefair_discount_bp,
                        EstateFair.prefair_price_list_id, Fair.name, Fair.venue, Fair.city, Fair.starts_on, Fair.ends_on)
                 .join(Fair, Fair.id == EstateFair.fair_id)
                 .where(EstateFair.estate_id == bindparam("estate_id"), EstateFair.pickup_enabled.is_(True),
                        Fair.ends_on >= bindparam("today"))
                 .order_by(Fair.starts_on, EstateFair.id))


def _prefair(session: Session, option: delivery.DeliveryOption, now: datetime) -> EstateFair | None:
    """The participation of a FAIR option while its pre-fair price applies (before the
    fair's first day, Paris date), else None."""
    if option.kind is not DeliveryKind.FAIR or option.occasion_id is None:
        return None
    participation = get_owned(session, EstateFair, option.occasion_id)
    if participation is None or paris_date(now) >= participation.fair.starts_on:
        return None
    return participation


def percent_label(bp: int) -> str:
    """1000 → "10", 1250 → "12,5"."""
    return f"{bp / 100:g}".replace(".", ",")


def _prefair_discounts(session: Session, option: delivery.DeliveryOption, now: datetime) -> tuple[tuple[str, int], ...]:
    participation = _prefair(session, option, now)
    if participation is None or participation.prefair_price_list_id or not participation.prefair_discount_bp:
        return ()
    bp = participation.prefair_discount_bp
    return ((f"Tarif pré-salon -{percent_label(bp)} %", bp),)


def prefair_view(session: Session, estate: Estate, view, option: delivery.DeliveryOption, now: datetime):  # type: ignore[no-untyped-def]
    """The cart priced on the pre-fair price list, when the option is a fair whose
    pre-fair price is a list and the order comes before its first day; else ``view``.

    The list replaces the visitor's only when it prices every wine of the cart (a wine
    missing from it would otherwise drop out of the order)."""
    from services import cart as carts

    participation = _prefair(session, option, now)
    if participation is None or participation.prefair_price_list_id is None or view.cart is None:
        return view
    price_list = get_owned(session, PriceList, participation.prefair_price_list_id)
    if price_list is None or (view.price_list is not None and price_list.id == view.price_list.id):
        return view
    rebuilt = carts.build_view(session, estate, view.cart, price_list, view.pricing)
    if len(rebuilt.rows) != len(view.rows) or rebuilt.missing != view.missing:
        return view
    return rebuilt


delivery.OPTION_PROVIDERS.append(_fair_options)
delivery.OCCASION_DISCOUNTS[DeliveryKind.FAIR] = _prefair_discounts


# -------------------------------------------------------------- documents


def render_pdf(template: str, **context: object) -> bytes:
    """A document of ours, in French whatever the visitor reads (needs an app context)."""
    from flask import render_template
    from flask_babel import force_locale

    with force_locale("fr"):
        return html_to_pdf(render_template(template, **context))


def qr_data_uri(url: str) -> str:
    """A PNG QR code of ``url`` as a data: URI (xhtml2pdf draws it without fetching anything)."""
    import qrcode

    image = qrcode.make(url, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def invitation_pdf(estate: Estate, participation: EstateFair, url: str) -> bytes:
    """The invitation to print or send: estate, fair, dates, venue, stand, QR code."""
    return render_pdf("pdf/fair_invitation.html", estate=estate, participation=participation, fair=participation.fair,
                   dates=dates_label(participation.fair), url=url, qr=qr_data_uri(url))


def picking_list_pdf(session: Session, estate: Estate, participation: EstateFair) -> bytes:
    """The fair's picking list: each participant's order, bottles per wine, totals."""
    from services import picking

    fair = participation.fair
    stand = f" — stand {participation.stand}" if participation.stand else ""
    where = ", ".join(p for p in (fair.venue, fair.city) if p)
    return picking.picking_list_pdf(session, estate, orders_of(session, participation),
                                    title=f"Salon {fair.name}", subtitle=f"{fair.city}, {dates_label(fair)}{stand}",
                                    address=f"Retrait sur le salon : {where}{stand}")
