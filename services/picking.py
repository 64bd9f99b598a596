"""The picking list ("liste de préparation"): a set of orders to prepare and hand over
together, for a group purchase (shipped to the organiser) or a fair (collected there).

One PDF: the address the parcel goes to, each participant's order (who, bottles,
total), the bottles per wine over all of them, and the totals. Cancelled orders are
left out by the callers, not here: the list prints what it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Estate, Order, OrderLine, utcnow

#: order lines that are bottles to prepare (discounts and shipping are not)
BOTTLE_KINDS = ("goods", "gift")


@dataclass(frozen=True)
class WineTotal:
    label: str
    bottles: int


@dataclass(frozen=True)
class Participant:
    number: str
    name: str
    email: str
    phone: str
    bottles: int
    total_ttc_cents: int
    status: str
    lines: tuple[tuple[str, int], ...]  #: (label, bottles)


@dataclass(frozen=True)
class PickingList:
    participants: tuple[Participant, ...]
    wines: tuple[WineTotal, ...]
    bottles: int
    total_ttc_cents: int


def build(session: Session, orders: Sequence[Order]) -> PickingList:
    """The list's content, in the orders' order; wines by label."""
    from services.orders import STATUS_LABELS

    ids = [order.id for order in orders]
    by_order: dict[int, list[OrderLine]] = {order_id: [] for order_id in ids}
    if ids:
        rows = session.scalars(
            select(OrderLine).where(OrderLine.order_id.in_(ids), OrderLine.kind.in_(BOTTLE_KINDS),
                                    OrderLine.is_shipping.is_(False)).order_by(OrderLine.id))
        for line in rows:
            by_order[line.order_id].append(line)
    wines: dict[str, int] = {}
    participants = []
    for order in orders:
        lines: dict[str, int] = {}
        for line in by_order[order.id]:
            lines[line.label] = lines.get(line.label, 0) + line.quantity
            wines[line.label] = wines.get(line.label, 0) + line.quantity
        participants.append(Participant(
            number=order.number, name=order.billing_name, email=order.email, phone=order.phone,
            bottles=sum(lines.values()), total_ttc_cents=order.total_ttc_cents,
            status=str(STATUS_LABELS[order.status]), lines=tuple(lines.items())))
    return PickingList(
        participants=tuple(participants),
        wines=tuple(WineTotal(label, bottles) for label, bottles in sorted(wines.items())),
        bottles=sum(wines.values()),
        total_ttc_cents=sum(order.total_ttc_cents for order in orders),
    )


def picking_list_pdf(session: Session, estate: Estate, orders: Sequence[Order], *, title: str, subtitle: str,
                     address: str) -> bytes:
    """The picking list as a PDF, in French (needs an app context, not a request).

    :param address: where the bottles go, printed as given (new lines kept).
    """
    from flask import render_template
    from flask_babel import force_locale

    from services.pdf import html_to_pdf
    from services.templating import PARIS

    content = build(session, orders)
    with force_locale("fr"):
        return html_to_pdf(render_template("pdf/picking_list.html", estate=estate, picking=content, title=title,
                                           subtitle=subtitle, ship_to=address,
                                           printed_at=utcnow().astimezone(PARIS)))
