"""Home tastings (seed 003, "réunions"): sellers, hosts and guests, orders taken during a tasting.

* An estate's staff are managers or sellers (:attr:`models.EstateStaff.role`). A seller
  (conseiller, ambassadeur) has a customer card of their own (:func:`own_card`) and sees
  the cards of the customers they serve (:func:`served_customer_ids`: the hosts and guests
  of their tastings, the buyers of their direct sales), within their estate only.
* A seller creates a :class:`models.Tasting` for a host (:func:`create`); the host gets the
  invitation link (``token``) to share. Guests join through it (:func:`join`) and become
  the estate's customers. Moving the date (:func:`reschedule`) is kept in the tasting's
  history and makes it a "réunion redatée".
* During the tasting the seller takes orders for guests (:func:`take_order`): the same
  ``services.orders.place_order`` as any order, tagged with the tasting and the seller,
  delivered to the guest or, with the "tasting" delivery kind, all to the host.
* Closing the tasting computes its rewards, once (services.rewards).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select, union, update
from sqlalchemy.orm import Session

from models import (
    CustomerKind,
    DeliveryKind,
    Estate,
    EstateCustomer,
    EstateStaff,
    Order,
    OrderStatus,
    Tasting,
    TastingEvent,
    TastingGuest,
    User,
    Wine,
)
from services import accounts, catalogue, delivery, loyalty, mail, orders
from services import cart as carts
from services.errors import FieldError
from services.tenancy import all_estates

PLANNED, CLOSED, CANCELLED = "planned", "closed", "cancelled"
STATUS_LABELS = {PLANNED: _l("Prévue"), CLOSED: _l("Clôturée"), CANCELLED: _l("Annulée")}
EVENT_LABELS = {"created": _l("Réunion créée"), "rescheduled": _l("Réunion redatée"), "closed": _l("Réunion clôturée"),
                "booked": _l("Prise de réunion")}
ROLES = {"manager": _l("Gérant"), "seller": _l("Conseiller (vendeur)")}


class InvalidTasting(FieldError):
    """A tasting, guest, staff or order input breaks a rule (``field``, ``code``)."""


class NotOpen(Exception):
    """The tasting is closed or cancelled: no more guests, orders or new dates."""


# --------------------------------------------------------------------------- staff


def staff_member(session: Session, user_id: int) -> EstateStaff | None:
    """The user's place on the current estate's staff."""
    return session.scalars(select(EstateStaff).where(EstateStaff.user_id == user_id)).first()


def staff_rows(session: Session) -> list[tuple[EstateStaff, User]]:
    return list(session.execute(select(EstateStaff, User).join(User, User.id == EstateStaff.user_id)
                                .order_by(EstateStaff.role, User.last_name, User.email)).tuples())


def add_staff(session: Session, estate: Estate, *, email: str, first_name: str, last_name: str, role: str,
              secret_key: str, public_url: str) -> EstateStaff:
    """Give a person a role on the estate's staff; someone without an account gets one and
    an email to choose their password. An existing member just gets the new role.

    :raise InvalidTasting: bad email or role.
    """
    if role not in ROLES:
        raise InvalidTasting("role", "unknown")
    customer = ensure_customer(session, estate, email=email, first_name=first_name, last_name=last_name,
                               secret_key=secret_key, public_url=public_url)
    member = staff_member(session, customer.user_id)  # type: ignore[arg-type]
    if member is None:
        member = EstateStaff(estate_id=estate.id, user_id=customer.user_id, role=role)
        session.add(member)
    else:
        set_role(session, member, role)
    session.flush()
    return member


def set_role(session: Session, member: EstateStaff, role: str) -> None:
    """:raise InvalidTasting: unknown role, or the estate's last manager made a seller."""
    if role not in ROLES:
        raise InvalidTasting("role", "unknown")
    if member.role == "manager" and role != "manager" and _managers(session) <= 1:
        raise InvalidTasting("role", "last_manager")
    member.role = role
    session.flush()


def remove_staff(session: Session, member: EstateStaff) -> None:
    """:raise InvalidTasting: the estate's last manager."""
    if member.role == "manager" and _managers(session) <= 1:
        raise InvalidTasting("role", "last_manager")
    session.delete(member)
    session.flush()


def _managers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(EstateStaff).where(EstateStaff.role == "manager")) or 0


# ----------------------------------------------------------------------- customers


def ensure_customer(session: Session, estate: Estate, *, email: str, first_name: str = "", last_name: str = "",
                    secret_key: str, public_url: str) -> EstateCustomer:
    """The person's line in the estate's customer file, tied to an account: a person
    without one gets an account with an unusable password and the invitation email whose
    link lets them choose it (as services.customer_file does for imported customers).

    :raise InvalidTasting: the email is not an address.
    """
    from services import customer_file

    email = accounts.normalise_email(email or "")
    if not accounts.is_email(email):
        raise InvalidTasting("email", "invalid")
    customer = session.scalars(select(EstateCustomer).where(EstateCustomer.email == email)).first()
    if customer is None:
        user = accounts.find_user_by_email(session, email)
        customer = EstateCustomer(estate_id=estate.id, email=email,
                                  first_name=(first_name or (user.first_name if user else "")).strip()[:80],
                                  last_name=(last_name or (user.last_name if user else "")).strip()[:80],
                                  kind=CustomerKind.PROFESSIONNEL if user and user.is_verified_pro
                                  else CustomerKind.PARTICULIER,
                                  user_id=user.id if user else None)
        session.add(customer)
        session.flush()
    if customer.user_id is None:
        customer_file.invite_without_account(session, estate, [email], secret_key, public_url)
    return customer


def own_card(session: Session, estate: Estate, user: User) -> EstateCustomer:
    """The seller's own customer card at the estate ("rôle SELLER": their points are there)."""
    return customer_of(session, estate, user)


def customer_of(session: Session, estate: Estate, user: User) -> EstateCustomer:
    """The user's line in the estate's customer file, made (or tied to the account) if need be."""
    customer = orders.find_customer(session, user)
    if customer is None:
        customer = EstateCustomer(estate_id=estate.id, email=user.email, first_name=user.first_name,
                                  last_name=user.last_name, user_id=user.id,
                                  kind=CustomerKind.PROFESSIONNEL if user.is_verified_pro else CustomerKind.PARTICULIER)
        session.add(customer)
    elif customer.user_id is None:
        customer.user_id = user.id
    session.flush()
    return customer


def served_customer_ids(seller_user_id: int) -> Select:
    """The customers a seller serves: hosts and guests of their tastings, buyers of the
    orders they took. A SELECT of ids (the estate filter of services.tenancy applies)."""
    hosts = select(Tasting.host_customer_id.label("id")).where(Tasting.seller_user_id == seller_user_id)
    guests = (select(TastingGuest.customer_id.label("id")).join(Tasting, Tasting.id == TastingGuest.tasting_id)
              .where(Tasting.seller_user_id == seller_user_id))
    buyers = select(Order.customer_id.label("id")).where(Order.seller_user_id == seller_user_id)
    return select(union(hosts, guests, buyers).subquery().c.id)


def serves(session: Session, seller_user_id: int, customer_id: int) -> bool:
    return session.scalar(select(func.count()).select_from(EstateCustomer).where(
        EstateCustomer.id == customer_id, EstateCustomer.id.in_(served_customer_ids(seller_user_id)))) == 1


def served_customers(session: Session, seller_user_id: int) -> list[EstateCustomer]:
    return list(session.scalars(select(EstateCustomer).where(
        EstateCustomer.id.in_(served_customer_ids(seller_user_id)))
        .order_by(EstateCustomer.last_name, EstateCustomer.first_name, EstateCustomer.email)))


# ------------------------------------------------------------------------ tastings


@dataclass(frozen=True)
class TastingData:
    host_email: str
    host_first_name: str
    host_last_name: str
    starts_at: datetime | None  #: aware
    place: str
    notes: str = ""


def create(session: Session, estate: Estate, data: TastingData, seller: User, *, now: datetime, secret_key: str,
           public_url: str, booked_during: Tasting | None = None) -> Tasting:
    """A new tasting; the host gets its invitation link by email.

    :raise InvalidTasting: no date, a date in the past, a bad host email.
    """
    if data.starts_at is None:
        raise InvalidTasting("starts_at", "required")
    if data.starts_at < now:
        raise InvalidTasting("starts_at", "past")
    host = ensure_customer(session, estate, email=data.host_email, first_name=data.host_first_name,
                           last_name=data.host_last_name, secret_key=secret_key, public_url=public_url)
    tasting = Tasting(estate_id=estate.id, token=secrets.token_urlsafe(24), seller_user_id=seller.id,
                      host_customer_id=host.id, starts_at=data.starts_at, place=data.place.strip()[:255],
                      notes=data.notes.strip(), status=PLANNED, reschedule_count=0, host_points_advanced=0,
                      revenue_cents=0, booked_during_id=booked_during.id if booked_during else None, created_at=now)
    session.add(tasting)
    session.flush()
    _event(session, tasting, "created", seller, now, to_at=data.starts_at)
    if booked_during is not None:
        _event(session, booked_during, "booked", seller, now, to_at=data.starts_at,
               note=f"{host.first_name} {host.last_name}".strip() or host.email)
    mail.queue_template(session, "tasting_host", recipient=host.email, estate_id=estate.id,
                        subject=f"{estate.name} - Votre réunion du {_paris(data.starts_at)}",
                        estate=estate, tasting=tasting, host=host, seller=seller, when=_paris(data.starts_at),
                        link=invitation_url(public_url, estate, tasting))
    return tasting


def book_for_guest(session: Session, estate: Estate, tasting: Tasting, guest_id: int, starts_at: datetime | None,
                   place: str, seller: User, *, now: datetime, secret_key: str, public_url: str) -> Tasting:
    """"Prise de réunion": a guest books their own tasting during this one.

    :raise NotOpen: this tasting is closed.
    :raise InvalidTasting: not a guest of this tasting, or a bad date.
    """
    if tasting.status != PLANNED:
        raise NotOpen(tasting.id)
    guest = session.scalars(select(TastingGuest).where(TastingGuest.tasting_id == tasting.id,
                                                       TastingGuest.customer_id == guest_id)).first()
    if guest is None:
        raise InvalidTasting("guest", "unknown")
    customer = guest.customer
    return create(session, estate, TastingData(customer.email, customer.first_name, customer.last_name, starts_at,
                                               place), seller, now=now, secret_key=secret_key, public_url=public_url,
                  booked_during=tasting)


def reschedule(session: Session, tasting: Tasting, starts_at: datetime | None, actor: User, *, now: datetime,
               note: str = "") -> None:
    """"Réunion redatée": the new date, the old one kept in the history.

    :raise NotOpen: the tasting is closed or cancelled.
    :raise InvalidTasting: no date, a past date, or the same date.
    """
    if starts_at is None:
        raise InvalidTasting("starts_at", "required")
    if starts_at < now:
        raise InvalidTasting("starts_at", "past")
    if starts_at == tasting.starts_at:
        raise InvalidTasting("starts_at", "same")
    previous = tasting.starts_at
    moved = session.execute(update(Tasting).where(Tasting.id == tasting.id, Tasting.status == PLANNED)
                            .values(starts_at=starts_at, reschedule_count=Tasting.reschedule_count + 1)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise NotOpen(tasting.id)
    session.refresh(tasting)
    _event(session, tasting, "rescheduled", actor, now, from_at=previous, to_at=starts_at, note=note)


def _event(session: Session, tasting: Tasting, kind: str, actor: User | None, now: datetime, *,
           from_at: datetime | None = None, to_at: datetime | None = None, note: str = "") -> None:
    session.add(TastingEvent(estate_id=tasting.estate_id, tasting_id=tasting.id, kind=kind, from_at=from_at,
                             to_at=to_at, actor_user_id=actor.id if actor else None,
                             actor_label=actor.full_name if actor else "", note=note[:255], created_at=now))
    session.flush()


def history(session: Session, tasting_id: int) -> list[TastingEvent]:
    return list(session.scalars(select(TastingEvent).where(TastingEvent.tasting_id == tasting_id)
                                .order_by(TastingEvent.id)))


def visible(session: Session, user: User, is_seller: bool) -> Select:
    """The tastings a staff member sees: a seller their own, a manager all the estate's."""
    statement = select(Tasting).order_by(Tasting.starts_at.desc(), Tasting.id.desc())
    return statement.where(Tasting.seller_user_id == user.id) if is_seller else statement


def find_by_token(session: Session, token: str) -> tuple[Tasting, Estate] | None:
    """The tasting behind an invitation link, with its estate (read before any estate scope)."""
    with all_estates(session):
        found = session.execute(select(Tasting, Estate).join(Estate, Estate.id == Tasting.estate_id)
                                .where(Tasting.token == token)).first()
    return (found[0], found[1]) if found else None


def invitation_url(public_url: str, estate: Estate, tasting: Tasting) -> str:
    return f"{public_url.rstrip('/')}/{estate.slug}/reunion/{tasting.token}"


def _paris(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y %H:%M")


# -------------------------------------------------------------------------- guests


def join(session: Session, estate: Estate, tasting: Tasting, user: User, *, now: datetime) -> TastingGuest:
    """The user joins the tasting as a guest, and the estate's customer file (idempotent).

    :raise NotOpen: the tasting is closed or cancelled.
    """
    if tasting.status != PLANNED:
        raise NotOpen(tasting.id)
    customer = customer_of(session, estate, user)
    guest = session.scalars(select(TastingGuest).where(TastingGuest.tasting_id == tasting.id,
                                                       TastingGuest.customer_id == customer.id)).first()
    if guest is None:
        guest = TastingGuest(estate_id=estate.id, tasting_id=tasting.id, customer_id=customer.id, joined_at=now)
        session.add(guest)
    session.flush()
    return guest


def guests(session: Session, tasting_id: int) -> list[TastingGuest]:
    return list(session.scalars(select(TastingGuest).where(TastingGuest.tasting_id == tasting_id)
                                .order_by(TastingGuest.joined_at, TastingGuest.id)))


def is_guest(session: Session, tasting_id: int, customer_id: int) -> bool:
    return session.scalar(select(TastingGuest.id).where(TastingGuest.tasting_id == tasting_id,
                                                        TastingGuest.customer_id == customer_id)) is not None


def participants(session: Session, tasting: Tasting) -> list[EstateCustomer]:
    """The host, then the guests: whom the seller may take an order for."""
    people = [tasting.host] + [g.customer for g in guests(session, tasting.id) if g.customer_id != tasting.host_customer_id]
    return people


# -------------------------------------------------------------------------- orders


def tasting_orders(session: Session, tasting_id: int) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.tasting_id == tasting_id).order_by(Order.id)))


@dataclass(frozen=True)
class Revenue:
    cents: int  #: the wines as paid, TTC, of the orders not cancelled (services.loyalty.credit_base_cents)
    orders: int


def revenue(session: Session, tasting_id: int, customer_id: int | None = None) -> Revenue:
    """The tasting's running revenue (or one participant's part of it). A gift's order
    (services.rewards: no wine bought, ``bottles`` 0) is not a sale of the tasting."""
    statement = select(Order).where(Order.tasting_id == tasting_id, Order.status != OrderStatus.CANCELLED,
                                    Order.bottles > 0)
    if customer_id is not None:
        statement = statement.where(Order.customer_id == customer_id)
    found = session.scalars(statement).all()
    return Revenue(sum(loyalty.credit_base_cents(order) for order in found), len(found))


def host_option(tasting: Tasting) -> delivery.DeliveryOption:
    """"Livraison chez l'hôte": every order of the tasting delivered to the host, free."""
    host = tasting.host
    address = ", ".join(p for p in (host.shipping_street or host.billing_street,
                                    f"{host.shipping_postcode or host.billing_postcode} "
                                    f"{host.shipping_city or host.billing_city}".strip()) if p)
    name = f"{host.first_name} {host.last_name}".strip() or host.email
    return delivery.DeliveryOption(f"tasting:{tasting.id}", DeliveryKind.TASTING,
                                   str(_l("Livraison chez l'hôte (%(name)s)", name=name)), False,
                                   address or tasting.place, occasion_id=tasting.id)


def delivery_options(session: Session, estate: Estate, tasting: Tasting | None, now: datetime
                     ) -> list[delivery.DeliveryOption]:
    """The estate's usual options (home, pickup, hand), and in a tasting, to the host."""
    options = [o for o in delivery.options_for(session, estate, delivery.DeliveryContext(now=now))
               if o.kind in (DeliveryKind.HOME, DeliveryKind.PICKUP, DeliveryKind.HAND)]
    return ([host_option(tasting)] if tasting is not None else []) + options


@dataclass(frozen=True)
class _Line:
    wine_id: int
    quantity: int
    id: int


@dataclass(frozen=True)
class _Lines:
    """The quantities typed in the order form, shaped as services.cart reads a cart."""

    lines: list[_Line]


def order_view(session: Session, estate: Estate, customer: EstateCustomer, quantities: dict[int, int],
               now: datetime) -> carts.CartView:
    """The order priced as the customer's own cart would be: their price list, their
    discounts, the estate's promotions."""
    user = session.get(User, customer.user_id) if customer.user_id else None
    price_list = catalogue.price_list_for(session, estate, user, customer)
    kind = CustomerKind.PROFESSIONNEL if user is not None and user.is_verified_pro else CustomerKind.PARTICULIER
    pricing = carts.Pricing(now=now, customer_kind=kind.value, customer=customer)
    lines = [_Line(wine_id, quantity, index) for index, (wine_id, quantity) in enumerate(sorted(quantities.items()))
             if quantity > 0]
    view = carts.build_view(session, estate, _Lines(lines), price_list, pricing)  # type: ignore[arg-type]
    return replace(view, cart=None)  # no cart to empty once ordered


def order_wines(session: Session) -> list[Wine]:
    """The wines a seller may sell: visible and available, in the shop's order."""
    return list(session.scalars(select(Wine).where(Wine.is_visible.is_(True), Wine.is_available.is_(True))
                                .order_by(Wine.position, Wine.name)))


def take_order(session: Session, estate: Estate, *, tasting: Tasting | None, customer: EstateCustomer,
               quantities: dict[int, int], data: orders.CheckoutData, seller: User, checkout_token: str,
               now: datetime, public_url: str, advance_points: int = 0) -> Order:
    """The seller records an order for a participant (or, without a tasting, a direct sale).
    ``advance_points``: host points spent in this tasting before they are earned (when the
    estate allows it, up to :func:`services.rewards.host_points_estimate`).
    All or nothing: the caller rolls back on any error.

    :raise NotOpen: the tasting is closed.
    :raise InvalidTasting: not a participant; no account; points not allowed.
    :raise services.orders.CartNotOrderable, OutOfStock, PaymentModeRefused …: as any order.
    """
    from services import rewards

    if tasting is not None:
        if tasting.status != PLANNED:
            raise NotOpen(tasting.id)
        if customer.id != tasting.host_customer_id and not is_guest(session, tasting.id, customer.id):
            raise InvalidTasting("customer", "not_participant")
    if customer.user_id is None:
        raise InvalidTasting("customer", "no_account")
    user = session.get(User, customer.user_id)
    existing = orders.find_by_checkout_token(session, checkout_token)
    if existing is not None:
        return existing
    points = 0
    if advance_points:
        if tasting is None or customer.id != tasting.host_customer_id or not estate.tasting_points_in_current:
            raise InvalidTasting("points", "not_allowed")
        rewards.advance_host_points(session, estate, tasting, advance_points)
        points = advance_points
    view = order_view(session, estate, customer, quantities, now)
    options = delivery_options(session, estate, tasting, now)
    # the seller takes the order face to face and checks the age in person (issue 15)
    data = replace(data, email=customer.email, points=points or data.points, referral_code=None, face_to_face=True)
    conditions = "\n\n".join(p for p in (view.price_list.sales_conditions if view.price_list else "",
                                         estate.sales_conditions_fr) if p)
    order = orders.place_order(session, estate=estate, view=view, data=data, user=user,  # type: ignore[arg-type]
                               checkout_token=checkout_token, conditions=conditions, now=now,
                               public_url=public_url, options=options,
                               tasting_id=tasting.id if tasting else None, seller_user_id=seller.id)
    return order
