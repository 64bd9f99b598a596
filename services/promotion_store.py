"""Promotions in the database: saving them, turning them into the engine's values,
and redeeming codes when an order is placed.

Code usage moves only by a guarded UPDATE (``uses_count < max_uses``) inside the
order's transaction; the per-customer count is read after that UPDATE has locked
the promotion row (PostgreSQL) or while the transaction holds the write lock
(SQLite), so two checkouts can never both take the last use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, event, func, insert, or_, select, update
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, selectinload

from models import (CustomerKind, EstateCustomer, Promotion, PromotionUse, Wine, promotion_customer, promotion_gift_wine,
                    promotion_target_wine, utcnow)
from services import promotions as engine


class CodeTaken(Exception):
    """Another promotion of the estate already has this code."""


class CodeExhausted(Exception):
    """The code's uses ran out (in total or for this customer) since the cart was priced."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_code(code: str | None) -> str:
    return (code or "").strip().upper()


def list_all(session: Session) -> list[Promotion]:
    return list(session.scalars(select(Promotion).order_by(Promotion.is_active.desc(), Promotion.priority.desc(),
                                                           Promotion.id)))


def save(session: Session, estate_id: int, promotion: Promotion | None, values: dict) -> Promotion:
    """Create or update from plain values (wine and customer ids for the lists).

    :raise CodeTaken:
    """
    code = normalise_code(values.get("code")) or None
    if code is not None:
        clash = session.scalars(select(Promotion.id).where(Promotion.code == code)).first()
        if clash is not None and (promotion is None or clash != promotion.id):
            raise CodeTaken(code)
    if promotion is None:
        promotion = Promotion(estate_id=estate_id, name="", benefit="percent_off")
        session.add(promotion)
    ids = {key: values.pop(key, []) for key in ("target_wine_ids", "gift_wine_ids", "customer_ids")}
    for key, value in values.items():
        setattr(promotion, key, value)
    promotion.code = code
    promotion.target_wines = _rows(session, Wine, ids["target_wine_ids"])
    promotion.gift_wines = _rows(session, Wine, ids["gift_wine_ids"])
    promotion.customers = _rows(session, EstateCustomer, ids["customer_ids"])
    promotion.restricted_to_customers = bool(promotion.customers) or promotion.won_above_cents > 0
    session.flush()
    return promotion


def _rows(session: Session, model: type, ids: list[int]) -> list:
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(ids))))  # type: ignore[attr-defined]


def find_by_code(session: Session, code: str) -> Promotion | None:
    code = normalise_code(code)
    if not code:
        return None
    return session.scalars(select(Promotion).where(Promotion.code == code, Promotion.is_active.is_(True))).first()


_MEMO = "chai_promotions_read_once"
T = TypeVar("T")


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, flush_context: object) -> None:
    if session.new or session.dirty or session.deleted:  # still the flushed objects here
        session.info.pop(_MEMO, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_after_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info.pop(_MEMO, None)


def for_engine(session: Session, customer: EstateCustomer | None, price_list_basis_vat: bool,
               price_for: dict[int, tuple[int, int]]) -> list[engine.Promotion]:
    """The estate's active promotions as the engine's values.

    Read once per transaction until it writes: the checkout prices the same cart twice
    (the cart, then with delivery), and each reading is five queries. The guarded
    UPDATE of :func:`redeem` is what decides a code's last use, not this reading.

    :param price_for: wine id → (unit price in the cart's basis, VAT rate), for gifts.
    """
    key = ("for_engine", customer.id if customer is not None else None, price_list_basis_vat,
           tuple(sorted(price_for.items())))
    return list(read_once(session, key, lambda: tuple(_read_for_engine(session, customer, price_for))))


def read_once(session: Session, key: tuple, read: Callable[[], T]) -> T:
    """``read()`` once per transaction for ``key``, until the transaction writes (a
    flush that changed something, an UPDATE, DELETE or INSERT statement): then read
    again. For the promotions and what they depend on, read twice per checkout."""
    transaction = (session() if isinstance(session, scoped_session) else session).get_transaction()
    memo = session.info.get(_MEMO)
    if memo is None or memo[0] is not transaction:
        memo = session.info[_MEMO] = (transaction, {})
    if key not in memo[1]:
        memo[1][key] = read()
    return memo[1][key]


def _read_for_engine(session: Session, customer: EstateCustomer | None,
                     price_for: dict[int, tuple[int, int]]) -> list[engine.Promotion]:
    """Core statements with the estate written out (a checkout reads this on every
    order: as ORM objects with three collections it cost a tenth of the order)."""
    from services.tenancy import current_estate_id

    estate_id = current_estate_id(session)
    if estate_id is None:  # no estate in scope sees no promotion (services.tenancy fails closed)
        return []
    connection = session.connection()
    rows = connection.execute(_ACTIVE, {"estate_id": estate_id}).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    targets: dict[int, set[int]] = {}
    for promotion_id, wine_id in connection.execute(_TARGETS, {"ids": ids}):
        targets.setdefault(promotion_id, set()).add(wine_id)
    gift_wines: dict[int, list] = {}
    for gift in connection.execute(_GIFTS, {"ids": ids, "estate_id": estate_id}):
        gift_wines.setdefault(gift.promotion_id, []).append(gift)
    uses_by_customer: dict[int, int] = {}
    mine: set[int] = set()
    if customer is not None and customer.id is not None:
        uses_by_customer = dict(connection.execute(_USES, {"customer_id": customer.id, "estate_id": estate_id}).all())
        if any(row.restricted_to_customers for row in rows):
            mine = set(connection.execute(_MINE, {"customer_id": customer.id, "ids": ids}).scalars())
    result = []
    for row in rows:
        usable = row.max_uses is None or row.uses_count < row.max_uses
        if row.max_uses_per_customer is not None:
            usable = usable and uses_by_customer.get(row.id, 0) < row.max_uses_per_customer
        if row.restricted_to_customers:
            usable = usable and row.id in mine
        # a gift that is not on the visitor's list (a corkscrew, a wine kept for pros) is worth 0
        gifts = tuple(engine.GiftOption(w.id, w.name + (f" {w.vintage}" if w.vintage else ""),
                                        *price_for.get(w.id, (0, 2000)))
                      for w in gift_wines.get(row.id, ()))
        result.append(engine.Promotion(
            id=row.id, name=row.name, benefit=engine.Benefit(row.benefit), percent_bp=row.percent_bp,
            amount_cents=row.amount_cents, nth=row.nth, fixed_price_cents=row.fixed_price_cents,
            gift_options=gifts, gift_quantity=row.gift_quantity,
            target_wine_ids=frozenset(targets.get(row.id, ())) or None,
            target_colours=frozenset(c for c in row.target_colours.split(",") if c) or None,
            min_bottles=row.min_bottles, min_amount_cents=row.min_amount_cents, starts_at=row.starts_at,
            ends_at=row.ends_at, france_only=row.france_only,
            customer_kind=row.customer_kind.value if row.customer_kind else None, pickup_only=row.pickup_only,
            cumulative=row.cumulative, priority=row.priority, code=row.code, code_usable=usable))
    return result


# _read_for_engine's statements, built once (bound parameters; "ids" expands to a list)
_PROMOTION = Promotion.__table__
_ACTIVE = (select(_PROMOTION).where(_PROMOTION.c.estate_id == bindparam("estate_id"), _PROMOTION.c.is_active.is_(True))
           .order_by(_PROMOTION.c.id))
_TARGETS = (select(promotion_target_wine.c.promotion_id, promotion_target_wine.c.wine_id)
            .where(promotion_target_wine.c.promotion_id.in_(bindparam("ids", expanding=True))))
_GIFTS = (select(promotion_gift_wine.c.promotion_id, Wine.__table__.c.id, Wine.__table__.c.name, Wine.__table__.c.vintage)
          .join(Wine.__table__, Wine.__table__.c.id == promotion_gift_wine.c.wine_id)
          .where(promotion_gift_wine.c.promotion_id.in_(bindparam("ids", expanding=True)),
                 Wine.__table__.c.estate_id == bindparam("estate_id"))
          .order_by(promotion_gift_wine.c.promotion_id, Wine.__table__.c.id))
_USES = (select(PromotionUse.__table__.c.promotion_id, func.count())
         .where(PromotionUse.__table__.c.customer_id == bindparam("customer_id"),
                PromotionUse.__table__.c.estate_id == bindparam("estate_id"))
         .group_by(PromotionUse.__table__.c.promotion_id))
_MINE = (select(promotion_customer.c.promotion_id)
         .where(promotion_customer.c.customer_id == bindparam("customer_id"),
                promotion_customer.c.promotion_id.in_(bindparam("ids", expanding=True))))


def public_codes(session: Session, now: datetime) -> list[Promotion]:
    """Permanent public codes shown to every visitor (seed 000: "#LAVERNETTE -10 %")."""
    return list(session.scalars(select(Promotion).where(
        Promotion.is_active.is_(True), Promotion.is_public.is_(True), Promotion.code.is_not(None),
        or_(Promotion.ends_at.is_(None), Promotion.ends_at > now),
        or_(Promotion.starts_at.is_(None), Promotion.starts_at <= now))))


def redeem(session: Session, promotion_ids: list[int], order_id: int, customer_id: int) -> None:
    """Record the codes an order used, atomically. :raise CodeExhausted: nothing is recorded
    (the caller rolls back the whole order)."""
    from services.tenancy import current_estate_id

    estate_id = current_estate_id(session)
    connection = session.connection()
    for promotion_id in sorted(promotion_ids):
        taken = connection.execute(_TAKE_USE, {"promotion_id": promotion_id, "of_estate": estate_id}).first()
        if taken is None:
            code = session.scalar(select(Promotion.code).where(Promotion.id == promotion_id))
            if code is None:
                continue  # a promotion without a code (or gone): no use to count
            raise CodeExhausted(code)
        if taken.max_uses_per_customer is not None:
            used = session.scalar(select(func.count()).select_from(PromotionUse).where(
                PromotionUse.promotion_id == promotion_id, PromotionUse.customer_id == customer_id)) or 0
            if used >= taken.max_uses_per_customer:
                raise CodeExhausted(taken.code)
        connection.execute(_RECORD_USE, {"estate_id": estate_id, "promotion_id": promotion_id, "order_id": order_id,
                                          "customer_id": customer_id, "created_at": utcnow()})
    if promotion_ids:
        session.info.pop(_MEMO, None)  # Core writes: the listeners above do not see them


# Core, built once, the estate written out (services.tenancy's criteria, by hand): the
# ORM's UPDATE cost three times the statement on a checkout (issue 8).
_TAKE_USE = (update(Promotion.__table__)
             .where(Promotion.id == bindparam("promotion_id"), Promotion.estate_id == bindparam("of_estate"),
                    Promotion.code.is_not(None),
                    or_(Promotion.max_uses.is_(None), Promotion.uses_count < Promotion.max_uses))
             .values(uses_count=Promotion.uses_count + 1)
             .returning(Promotion.code, Promotion.max_uses_per_customer))
_RECORD_USE = insert(PromotionUse.__table__)


def customer_kind_value(kind: CustomerKind | None) -> str:
    return kind.value if kind else CustomerKind.PARTICULIER.value


def send_code(session: Session, estate, promotion: Promotion, shop_url: str) -> int:  # type: ignore[no-untyped-def]
    """Queue the code to each chosen customer (outbox); returns how many emails."""
    from datetime import timedelta

    from services import mail

    if promotion.code is None or not promotion.customers:
        return 0
    for customer in promotion.customers:
        mail.queue_template(session, "promo_code", recipient=customer.email, estate_id=promotion.estate_id,
                            subject=f"{estate.name} - Votre code promo {promotion.code}", customer=customer,
                            estate=estate, promotion=promotion, shop_url=shop_url, one_day=timedelta(days=1))
    return len(promotion.customers)


def award_won_codes(session: Session, estate, order, customer: EstateCustomer, public_url: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Seed 003 "codes promo gagnés": a paid order of at least ``won_above_cents`` adds
    the customer to the code's customers and emails the code, once per customer."""
    from services.loyalty import credit_base_cents

    base = credit_base_cents(order)
    won = []
    rows = session.scalars(select(Promotion).where(Promotion.is_active.is_(True), Promotion.code.is_not(None),
                                                   Promotion.won_above_cents > 0,
                                                   Promotion.won_above_cents <= base)
                           .options(selectinload(Promotion.customers))).all()
    for promotion in rows:
        if give_code(session, estate, promotion, customer, public_url):
            won.append(promotion.code)
    return won


def give_code(session: Session, estate, promotion: Promotion, customer: EstateCustomer, public_url: str) -> bool:  # type: ignore[no-untyped-def]
    """Add the customer to the code's customers and email them the code (once: False when
    they had it already)."""
    if customer in promotion.customers:
        return False
    promotion.customers.append(customer)
    promotion.restricted_to_customers = True
    session.flush()
    from datetime import timedelta

    from services import mail

    mail.queue_template(session, "promo_code", recipient=customer.email, estate_id=promotion.estate_id,
                        subject=f"{estate.name} - Vous avez gagné le code {promotion.code}", customer=customer,
                        estate=estate, promotion=promotion, one_day=timedelta(days=1),
                        shop_url=f"{public_url.rstrip('/')}/{estate.slug}/panier")
    return True
