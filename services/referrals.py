"""Parrainage (seed 000): a customer's personal link brings a friend, whose first paid
order gets the "bonus filleul" and credits the sponsor's loyalty account with the
"bonus parrain". One referral per referee and estate; nobody sponsors themselves.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Estate, EstateCustomer, Order, OrderStatus, Referral, User
from services import loyalty

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def code_for(session: Session, customer: EstateCustomer) -> str:
    """The customer's personal code, created on first use."""
    while customer.referral_code is None:
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(8))
        try:
            with session.begin_nested():
                customer.referral_code = candidate
                session.flush()
        except IntegrityError:
            customer.referral_code = None
    return customer.referral_code


def sponsor_by_code(session: Session, code: str) -> EstateCustomer | None:
    code = (code or "").strip().upper()[:16]
    if not code:
        return None
    return session.scalars(select(EstateCustomer).where(EstateCustomer.referral_code == code)).first()


def referee_bonus(session: Session, estate: Estate, code: str | None, user: User | None) -> tuple[int, EstateCustomer | None]:
    """(bonus in cents, sponsor) for this visitor's next order, or (0, None): no programme,
    unknown code, self-referral, or not a first order at this estate."""
    if not code or estate.referral_referee_bonus_cents <= 0 and estate.referral_sponsor_bonus_cents <= 0:
        return 0, None
    sponsor = sponsor_by_code(session, code)
    if sponsor is None:
        return 0, None
    if user is not None:
        if sponsor.user_id == user.id or sponsor.email == user.email:
            return 0, None
        previous = session.scalar(select(func.count()).select_from(Order).where(
            Order.user_id == user.id, Order.status != OrderStatus.CANCELLED)) or 0
        referred = session.scalars(select(Referral.id).join(EstateCustomer, EstateCustomer.id == Referral.referee_id)
                                   .where(EstateCustomer.user_id == user.id)).first()
        if previous or referred is not None:
            return 0, None
    return estate.referral_referee_bonus_cents, sponsor


def record(session: Session, estate: Estate, sponsor: EstateCustomer, referee: EstateCustomer, order: Order,
           referee_bonus_cents: int) -> Referral | None:
    """Remember the referral with the order; None when this referee was already referred
    (or is the sponsor): the bonus is given once."""
    if sponsor.id == referee.id or sponsor.email == referee.email:
        return None
    if session.scalars(select(Referral.id).where(Referral.referee_id == referee.id)).first() is not None:
        return None
    referral = Referral(estate_id=estate.id, sponsor_id=sponsor.id, referee_id=referee.id, order_id=order.id,
                        referee_bonus_cents=referee_bonus_cents, sponsor_bonus_cents=estate.referral_sponsor_bonus_cents)
    session.add(referral)
    session.flush()
    return referral


def reward_sponsor(session: Session, order: Order, now: datetime) -> None:
    """On payment of the referee's order: the sponsor's bonus, once."""
    referral = session.scalars(select(Referral).where(Referral.order_id == order.id,
                                                      Referral.rewarded_at.is_(None))).first()
    if referral is None:
        return
    referral.rewarded_at = now
    if referral.sponsor_bonus_cents > 0:
        sponsor = session.get(EstateCustomer, referral.sponsor_id)
        loyalty.post(session, sponsor, referral.sponsor_bonus_cents, "earned",
                     f"Parrainage : première commande {order.number}", order_id=order.id)
    session.flush()


def for_estate(session: Session) -> list[Referral]:
    return list(session.scalars(select(Referral).order_by(Referral.created_at.desc())))
