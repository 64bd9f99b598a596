"""Achats groupés (seed 000): a customer asks for one from the estate page, the vigneron
creates it, friends order through its unguessable link, and it closes on time.

* :func:`submit_request`: the "Achat groupé" form of the estate page; the estate gets
  an email with everything.
* :func:`create`: the vigneron's group purchase (from a request or from scratch); the
  organiser gets the link (``/<estate>/achat-groupe/<token>``) to forward.
* Ordering: in group mode the checkout's only delivery option is the group's
  (:func:`_group_options`, one of :data:`services.delivery.OPTION_PROVIDERS`, offered
  while the group is open); shipping is free unless the vigneron said otherwise
  (:func:`shipping`, the grid's price to the group's address); the tier discount frozen
  at creation is an order-level line of the pricing engine
  (:data:`services.delivery.OCCASION_DISCOUNTS`).
* :func:`close`: a guarded UPDATE open → closed; only the caller that moved the row
  queues the recap (with the picking list) and the organiser's summary, so two workers
  closing at once send one recap. :func:`close_due` is the every-minute job.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import Session

from models import (
    DeliveryKind,
    Document,
    Estate,
    GroupPurchase,
    GroupPurchaseRequest,
    GroupPurchaseTier,
    Order,
    OrderStatus,
)
from services import delivery, mail
from services.tenancy import current_estate_id, get_owned
from services.errors import FieldError

OPEN, CLOSED = "open", "closed"
MAX_TIERS = 5


class InvalidGroupPurchase(FieldError):
    """``field`` says which input; ``code`` which rule (closes_at, tiers, …)."""


@dataclass(frozen=True)
class RequestData:
    organiser_name: str
    email: str
    phone: str
    estimated_bottles: int
    street: str
    postcode: str
    city: str
    country: str = "FR"
    wished_date: date | None = None
    message: str = ""


@dataclass(frozen=True)
class GroupData:
    organiser_name: str
    organiser_email: str
    organiser_phone: str
    estimated_bottles: int
    delivery_name: str
    street: str
    postcode: str
    city: str
    country: str
    closes_at: datetime  #: aware; stored UTC
    free_shipping: bool = True
    tiers: tuple[tuple[int, int], ...] = ()  #: (min bottles, discount bp)
    min_bottles_per_participant: int | None = None
    message: str = ""


@dataclass(frozen=True)
class Progress:
    orders: int
    bottles: int
    total_ttc_cents: int


def percent_label(bp: int) -> str:
    """500 → "5", 750 → "7,5" (French decimal comma)."""
    whole, rest = divmod(bp, 100)
    return f"{whole},{rest:02d}".rstrip("0").rstrip(",") if rest else str(whole)


def discount_reason(bp: int) -> str:
    return f"Remise achat groupé -{percent_label(bp)} %"


def reached_tier(tiers: tuple[tuple[int, int], ...], estimated_bottles: int) -> int:
    """The discount (bp) of the best tier the organiser's estimate reaches; 0 for none."""
    reached = [bp for min_bottles, bp in tiers if min_bottles <= estimated_bottles]
    return max(reached, default=0)


def address_lines(group: GroupPurchase | GroupPurchaseRequest) -> str:
    name = getattr(group, "delivery_name", "") or ""
    country = f" ({group.country})" if group.country and group.country != "FR" else ""
    parts = [name, group.street, f"{group.postcode} {group.city}{country}".strip()]
    return "\n".join(p for p in parts if p)


def is_open(group: GroupPurchase, now: datetime) -> bool:
    return group.status == OPEN and group.closes_at > now


# ---------------------------------------------------------------- request, creation


def submit_request(session: Session, estate: Estate, data: RequestData, now: datetime) -> GroupPurchaseRequest:
    """Store the request and queue the estate's email with all of it."""
    from services.orders import estate_recipients

    request = GroupPurchaseRequest(
        estate_id=estate.id, organiser_name=data.organiser_name, email=data.email, phone=data.phone,
        estimated_bottles=data.estimated_bottles, street=data.street, postcode=data.postcode, city=data.city,
        country=data.country, wished_date=data.wished_date, message=data.message, created_at=now)
    session.add(request)
    session.flush()
    for recipient in estate_recipients(session, estate):
        mail.queue_template(session, "group_request", recipient=recipient, estate_id=estate.id,
                            subject=f"Demande d'achat groupé — {data.organiser_name} ({data.estimated_bottles} bouteilles)",
                            estate=estate, request=request, address=address_lines(request))
    return request


def create(session: Session, estate: Estate, data: GroupData, *, now: datetime, link_base: str,
           request: GroupPurchaseRequest | None = None) -> GroupPurchase:
    """Create the group purchase and queue the link email to the organiser.

    :param link_base: the public URL the token is appended to (``…/achat-groupe/``).
    :raise InvalidGroupPurchase: closing time not in the future, tiers malformed.
    """
    if data.closes_at <= now:
        raise InvalidGroupPurchase("closes_on", "past")
    seen = set()
    for min_bottles, bp in data.tiers:
        if min_bottles in seen:
            raise InvalidGroupPurchase("tiers", "duplicate")
        if not (0 < min_bottles <= 100_000 and 0 < bp <= 10_000):
            raise InvalidGroupPurchase("tiers", "range")
        seen.add(min_bottles)
    if len(data.tiers) > MAX_TIERS:
        raise InvalidGroupPurchase("tiers", "range")
    group = GroupPurchase(
        estate_id=estate.id, token=secrets.token_urlsafe(32), organiser_name=data.organiser_name,
        organiser_email=data.organiser_email, organiser_phone=data.organiser_phone,
        estimated_bottles=data.estimated_bottles, delivery_name=data.delivery_name, street=data.street,
        postcode=data.postcode, city=data.city, country=data.country, closes_at=data.closes_at,
        free_shipping=data.free_shipping, discount_bp=reached_tier(data.tiers, data.estimated_bottles),
        min_bottles_per_participant=data.min_bottles_per_participant, message=data.message, status=OPEN,
        created_at=now)
    group.tiers = [GroupPurchaseTier(estate_id=estate.id, min_bottles=m, discount_bp=bp) for m, bp in sorted(data.tiers)]
    session.add(group)
    session.flush()
    if request is not None:
        request.status = "created"
        request.group_purchase_id = group.id
        session.flush()
    mail.queue_template(session, "group_link", recipient=group.organiser_email, estate_id=estate.id,
                        subject=f"{estate.name} - Votre achat groupé est ouvert",
                        estate=estate, group=group, link=link_base + group.token,
                        address=address_lines(group), discount=percent_label(group.discount_bp),
                        closes_at=paris_time(group.closes_at))
    return group


def find_by_token(session: Session, token: str) -> GroupPurchase | None:
    """The current estate's group purchase with this link (another estate's is None)."""
    if not token or len(token) > 64:
        return None
    return session.scalars(select(GroupPurchase).where(GroupPurchase.token == token)).first()


def progress(session: Session, group_id: int) -> Progress:
    """What was ordered through the link so far (cancelled orders do not count)."""
    count, bottles, total = session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.bottles), 0),
               func.coalesce(func.sum(Order.total_ttc_cents), 0))
        .where(Order.group_purchase_id == group_id, Order.status != OrderStatus.CANCELLED)).one()
    return Progress(int(count), int(bottles), int(total))


def progress_by_group(session: Session, group_ids: list[int]) -> dict[int, Progress]:
    """:func:`progress` of many group purchases in one query (the back office's list)."""
    if not group_ids:
        return {}
    rows = session.execute(
        select(Order.group_purchase_id, func.count(Order.id), func.coalesce(func.sum(Order.bottles), 0),
               func.coalesce(func.sum(Order.total_ttc_cents), 0))
        .where(Order.group_purchase_id.in_(group_ids), Order.status != OrderStatus.CANCELLED)
        .group_by(Order.group_purchase_id))
    found = {group_id: Progress(int(c), int(b), int(t)) for group_id, c, b, t in rows}
    return {group_id: found.get(group_id, Progress(0, 0, 0)) for group_id in group_ids}


def orders_of(session: Session, group_id: int) -> list[Order]:
    return list(session.scalars(
        select(Order).where(Order.group_purchase_id == group_id, Order.status != OrderStatus.CANCELLED)
        .order_by(Order.id)))


def refusal(group: GroupPurchase | None, bottles: int, now: datetime) -> str | None:
    """Why the checkout refuses this cart in group mode ("closed", "minimum"); None: fine."""
    if group is None:
        return None
    if not is_open(group, now):
        return "closed"
    if group.min_bottles_per_participant and bottles < group.min_bottles_per_participant:
        return "minimum"
    return None


# ---------------------------------------------------------------- checkout hooks


def _group_options(session: Session, estate: Estate, context: delivery.DeliveryContext) -> list[delivery.DeliveryOption]:
    """The group's delivery, only in its group mode and while it is open."""
    if context.group_purchase_id is None:
        return []
    group = get_owned(session, GroupPurchase, context.group_purchase_id)
    if group is None or group.estate_id != estate.id or not is_open(group, context.now):
        return []
    return [delivery.DeliveryOption(
        f"group:{group.id}", DeliveryKind.GROUP, f"Achat groupé — {group.organiser_name}", False,
        address_lines(group).replace("\n", ", "), occasion_id=group.id)]


def _group_discount(session: Session, option: delivery.DeliveryOption, now: datetime) -> tuple[tuple[str, int], ...]:
    group = get_owned(session, GroupPurchase, option.occasion_id) if option.occasion_id else None
    if group is None or not group.discount_bp:
        return ()
    return ((discount_reason(group.discount_bp), group.discount_bp),)


def shipping(session: Session, estate: Estate, option: delivery.DeliveryOption, bottles: int,
             goods_ttc_cents: int):  # type: ignore[no-untyped-def]
    """(zone, shipping cents) of an order through the group: 0 when free, else the
    grid's price to the group's address.

    :raise delivery.DeliveryUnavailable: not free, and no band of the grid fits.
    """
    group = get_owned(session, GroupPurchase, option.occasion_id) if option.occasion_id else None
    if group is None or group.free_shipping:
        return None, 0
    zone = delivery.zone_for(group.country, group.postcode)
    return zone, delivery.shipping_cost(session, estate, zone, bottles, goods_ttc_cents)


delivery.OPTION_PROVIDERS.append(_group_options)
delivery.OCCASION_DISCOUNTS[DeliveryKind.GROUP] = _group_discount


# ---------------------------------------------------------------- closing


def close(session: Session, group: GroupPurchase, now: datetime, actor: str = "") -> bool:
    """Close the group purchase; True when this call closed it. Only that call queues
    the recap to the estate (with the picking list PDF) and the organiser's summary.
    Needs an application context (templates). Flushes; the caller commits.

    :param actor: who closed it, for the emails ("" for the closing job).
    """
    moved = session.execute(
        update(GroupPurchase).where(GroupPurchase.id == group.id, GroupPurchase.status == OPEN)
        .values(status=CLOSED, closed_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        session.refresh(group)
        return False
    session.refresh(group)
    estate = session.get(Estate, group.estate_id)
    _queue_recap(session, estate, group, actor)
    return True


def picking_list_pdf(session: Session, estate: Estate, group: GroupPurchase) -> bytes:
    from services import picking

    return picking.picking_list_pdf(
        session, estate, orders_of(session, group.id), title=f"Achat groupé — {group.organiser_name}",
        subtitle=f"Clôture le {paris_time(group.closes_at)}",
        address=address_lines(group) + (f"\nTél. {group.organiser_phone}" if group.organiser_phone else ""))


def paris_time(value: datetime) -> str:
    from services.templating import PARIS

    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def _queue_recap(session: Session, estate: Estate, group: GroupPurchase, actor: str) -> None:
    from services.orders import estate_recipients

    orders = orders_of(session, group.id)
    done = progress(session, group.id)
    document = Document(estate_id=estate.id, order_id=None, kind="picking_list",
                        filename=f"achat-groupe-{group.id}-preparation.pdf",
                        content=picking_list_pdf(session, estate, group))
    session.add(document)
    session.flush()
    context = dict(estate=estate, group=group, orders=orders, progress=done, address=address_lines(group),
                   closes_at=paris_time(group.closes_at), actor=actor)
    for recipient in estate_recipients(session, estate):
        mail.queue_template(session, "group_recap", recipient=recipient, estate_id=estate.id,
                            subject=f"Achat groupé {group.organiser_name} terminé — {done.orders} commande(s), "
                                    f"{done.bottles} bouteilles",
                            attachments=[f"document:{document.id}"], **context)
    mail.queue_template(session, "group_summary", recipient=group.organiser_email, estate_id=estate.id,
                        subject=f"{estate.name} - Votre achat groupé est terminé", **context)


def close_due(session: Session, now: datetime) -> int:
    """The "close-group-purchases" job: close every open group whose time has come
    (the session sees every estate). Returns how many this run closed."""
    due = list(session.scalars(
        select(GroupPurchase).where(GroupPurchase.status == OPEN, GroupPurchase.closes_at <= now)
        .order_by(GroupPurchase.id)))
    return sum(1 for group in due if close(session, group, now))


def filter_choices(session: Session) -> list[Row]:
    """The current estate's last 50 group purchases as the orders table's filter shows
    them: rows of (id, organiser_name, closes_at), latest closing first. Core, the estate
    written out (the orders table is timed against its raw SQL, issue 8)."""
    return list(session.connection().execute(_FILTER_CHOICES, {"estate_id": current_estate_id(session)}))


_FILTER_CHOICES = (select(GroupPurchase.id, GroupPurchase.organiser_name, GroupPurchase.closes_at)
                   .where(GroupPurchase.estate_id == bindparam("estate_id"))
                   .order_by(GroupPurchase.closes_at.desc()).limit(50))
