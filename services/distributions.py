"""A distribution's closing and its day (issue 11, seed 002).

* :func:`close`: a guarded UPDATE open → closed; only the call that moved the row sends
  each participating estate its orders for the distribution (one PDF, per member) and
  the group's administrators the distribution sheet (members, what each collects from
  which estate, amounts) as a PDF. Two workers closing at once send everything once;
  :func:`close_due` is the every-minute job ("close-distributions").
* :func:`sheet`: the sheet's content, for the PDF and the administrator's page where,
  on the day, they tick what each member collected (:func:`mark_collected`: the order
  becomes "livrée" through the order state machine).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from models import (
    Distribution,
    DistributionParticipation,
    Document,
    Estate,
    GroupMembership,
    Order,
    OrderLine,
    OrderStatus,
    ProducerGroup,
    User,
    utcnow,
)
from services import mail, orders
from services.producer_groups import CLOSED, OPEN
from services.tenancy import all_estates, in_estate

#: orders a member collects: paid, or paid and being prepared (the rest are listed apart)
COLLECTABLE = (OrderStatus.PAID, OrderStatus.PREPARING)


def when(distribution: Distribution) -> str:
    from services.templating import PARIS

    start, end = distribution.starts_at.astimezone(PARIS), distribution.ends_at.astimezone(PARIS)
    return f"{start:%d/%m/%Y}, {start:%H:%M} – {end:%H:%M}"


def distribution_orders(session: Session, distribution_id: int, estate_id: int | None = None) -> list[Order]:
    """The distribution's orders, not cancelled, by member then estate."""
    with all_estates(session):
        query = select(Order).where(Order.distribution_id == distribution_id, Order.status != OrderStatus.CANCELLED)
        if estate_id is not None:
            query = query.where(Order.estate_id == estate_id)
        return list(session.scalars(query.order_by(Order.billing_name, Order.user_id, Order.estate_id, Order.id)))


@dataclass(frozen=True)
class SheetOrder:
    order_id: int
    number: str
    estate_name: str
    status: OrderStatus
    lines: tuple[tuple[str, int], ...]  #: (wine, bottles)
    bottles: int
    total_ttc_cents: int

    @property
    def collected(self) -> bool:
        return self.status is OrderStatus.DELIVERED

    @property
    def collectable(self) -> bool:
        return self.status in COLLECTABLE

    @property
    def unpaid(self) -> bool:
        return self.status is OrderStatus.PENDING_PAYMENT


@dataclass(frozen=True)
class SheetMember:
    name: str
    email: str
    phone: str
    orders: tuple[SheetOrder, ...]

    @property
    def total_ttc_cents(self) -> int:
        return sum(o.total_ttc_cents for o in self.orders)


@dataclass(frozen=True)
class Sheet:
    group: ProducerGroup
    distribution: Distribution
    members: tuple[SheetMember, ...]
    estates: tuple[tuple[str, int, int], ...]  #: (estate, bottles, total TTC)

    @property
    def total_ttc_cents(self) -> int:
        return sum(m.total_ttc_cents for m in self.members)


def sheet(session: Session, distribution: Distribution) -> Sheet:
    group = session.get(ProducerGroup, distribution.group_id)
    placed = distribution_orders(session, distribution.id)
    with all_estates(session):
        names = dict(session.execute(select(Estate.id, Estate.name)).all()) if placed else {}
        lines: dict[int, list[OrderLine]] = defaultdict(list)
        if placed:
            for line in session.scalars(select(OrderLine).where(OrderLine.order_id.in_([o.id for o in placed]),
                                                                OrderLine.kind.in_(("goods", "gift")))
                                        .order_by(OrderLine.id)):
                lines[line.order_id].append(line)
    by_member: dict[int | None, list[Order]] = defaultdict(list)
    for order in placed:
        by_member[order.user_id].append(order)
    members, per_estate = [], defaultdict(lambda: [0, 0])
    for member_orders in by_member.values():
        first = member_orders[0]
        items = []
        for order in member_orders:
            labels = tuple((line.label, line.quantity) for line in lines[order.id])
            items.append(SheetOrder(order.id, order.number, names.get(order.estate_id, "?"), order.status, labels,
                                    order.bottles, order.total_ttc_cents))
            per_estate[names.get(order.estate_id, "?")][0] += order.bottles
            per_estate[names.get(order.estate_id, "?")][1] += order.total_ttc_cents
        members.append(SheetMember(first.billing_name, first.email, first.phone, tuple(items)))
    return Sheet(group, distribution, tuple(members),
                 tuple((name, values[0], values[1]) for name, values in sorted(per_estate.items())))


def sheet_pdf(session: Session, distribution: Distribution) -> bytes:
    from flask import render_template
    from flask_babel import force_locale

    from services.pdf import html_to_pdf
    from services.templating import PARIS

    content = sheet(session, distribution)
    with force_locale("fr"):
        return html_to_pdf(render_template("pdf/distribution_sheet.html", sheet=content, when=when(distribution),
                                           printed_at=utcnow().astimezone(PARIS)))


def close_due(session: Session, now: datetime) -> int:
    """The "close-distributions" job: close every open distribution whose orders close
    now or earlier. Returns how many this run closed."""
    due = list(session.scalars(select(Distribution).where(Distribution.status == OPEN,
                                                          Distribution.orders_close_at <= now)
                               .order_by(Distribution.id)))
    return sum(1 for distribution in due if close(session, distribution, now))


def close(session: Session, distribution: Distribution, now: datetime) -> bool:
    """Close the orders; True when this call closed them. Only that call queues the
    estates' lists and the administrators' sheet. Needs an application context."""
    from services import picking

    moved = session.execute(update(Distribution).where(Distribution.id == distribution.id, Distribution.status == OPEN)
                            .values(status=CLOSED, closed_at=now).execution_options(synchronize_session=False)).rowcount
    session.refresh(distribution)
    if moved != 1:
        return False
    _cancel_unpaid(session, distribution, now)
    group = session.get(ProducerGroup, distribution.group_id)
    title = f"Distribution {group.name}"
    with all_estates(session):
        estate_ids = list(session.scalars(select(DistributionParticipation.estate_id).where(
            DistributionParticipation.distribution_id == distribution.id).order_by(DistributionParticipation.estate_id)))
    for estate_id in estate_ids:
        with in_estate(session, estate_id):
            estate = session.get(Estate, estate_id)
            placed = distribution_orders(session, distribution.id, estate_id)
            document = Document(estate_id=estate_id, order_id=None, kind="picking_list",
                                filename=f"distribution-{distribution.id}-{estate.slug}.pdf"[:120],
                                content=picking.picking_list_pdf(session, estate, placed, title=title,
                                                                 subtitle=when(distribution),
                                                                 address=f"{group.name}\n{distribution.place}"))
            session.add(document)
            session.flush()
            for recipient in orders.estate_recipients(session, estate):
                mail.queue_template(session, "distribution_estate_list", recipient=recipient, estate_id=estate_id,
                                    subject=f"Distribution {group.name} du {when(distribution)} : vos commandes",
                                    attachments=[f"document:{document.id}"], estate=estate, group=group,
                                    distribution=distribution, when=when(distribution), orders=placed)
    admins = session.scalars(select(User.email).join(GroupMembership, GroupMembership.user_id == User.id)
                             .where(GroupMembership.group_id == group.id, GroupMembership.is_admin.is_(True))
                             .order_by(User.email)).all()
    content = sheet(session, distribution)
    for recipient in admins:
        mail.queue_template(session, "distribution_sheet", recipient=recipient, estate_id=None,
                            subject=f"Feuille de distribution — {group.name}, {when(distribution)}",
                            attachments=[f"distribution_sheet:{distribution.id}"], group=group,
                            distribution=distribution, when=when(distribution), sheet=content)
    return True


CLOSING = orders.Actor(None, "Clôture des commandes")


def _cancel_unpaid(session: Session, distribution: Distribution, now: datetime) -> None:
    """Baskets still unpaid when orders close: their orders are cancelled (the bottles go
    back on the shelf, the member gets the cancellation email), so no estate prepares
    them. A card payment completed afterwards stays in the member's wallet and is not
    transferred (services.group_payments)."""
    from flask import current_app

    with all_estates(session):
        unpaid = list(session.scalars(select(Order).where(Order.distribution_id == distribution.id,
                                                          Order.status == OrderStatus.PENDING_PAYMENT)
                                      .order_by(Order.id)))
    for order in unpaid:
        with in_estate(session, order.estate_id):
            orders.transition(session, session.get(Estate, order.estate_id), order, OrderStatus.CANCELLED,
                              actor=CLOSING, now=now, public_url=current_app.config["PUBLIC_URL"],
                              note="Non payée à la clôture des commandes")


def mark_collected(session: Session, distribution: Distribution, order_id: int, admin: User, now: datetime,
                   public_url: str) -> Order:
    """The administrator ticks an order as collected: "livrée", through the state machine
    (a second tick is refused by it, nothing changes twice).

    :raise LookupError: not an order of this distribution.
    :raise services.orders.TransitionNotAllowed: not paid, or already collected.
    """
    with all_estates(session):
        order = session.scalars(select(Order).where(Order.id == order_id,
                                                    Order.distribution_id == distribution.id)).first()
    if order is None:
        raise LookupError(order_id)
    with in_estate(session, order.estate_id):
        estate = session.get(Estate, order.estate_id)
        group = session.get(ProducerGroup, distribution.group_id)
        actor = orders.Actor(admin.id, f"{admin.full_name} ({group.name})"[:160])
        orders.transition(session, estate, order, OrderStatus.DELIVERED, actor=actor, now=now, public_url=public_url,
                          note="Retirée à la distribution")
    return order


def filter_choices(session: Session) -> list:
    """The distributions the current estate takes part in, as the orders table's filter
    shows them: rows of (id, group name, starts_at), latest first, 50 at most. Core, the
    estate written out (the orders table is timed against its raw SQL, issue 8)."""
    from services.tenancy import current_estate_id

    return list(session.connection().execute(_FILTER_CHOICES, {"estate_id": current_estate_id(session)}))


_FILTER_CHOICES = (select(Distribution.id, ProducerGroup.name, Distribution.starts_at)
                   .join(ProducerGroup, ProducerGroup.id == Distribution.group_id)
                   .join(DistributionParticipation, DistributionParticipation.distribution_id == Distribution.id)
                   .where(DistributionParticipation.estate_id == bindparam("estate_id"))
                   .order_by(Distribution.starts_at.desc(), Distribution.id.desc()).limit(50))
