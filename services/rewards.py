"""Rewards for actions (seed 003): the estate's loyalty rules for tastings and direct sales.

A :class:`models.RewardRule` says, for one action, what is won and on which conditions:

======================  ==========================================  =====================
action                  who wins (``beneficiary`` "customer")       revenue it counts
======================  ==========================================  =====================
``host``                the host of a tasting never moved           the tasting's
``rescheduled_host``    the host of a "réunion redatée" (instead)   the tasting's
``during``              each participant who ordered in the tasting their own orders in it
``booking``             each guest who booked their own tasting     the tasting's
                        during this one ("prise de réunion")
``direct_sale``         the buyer of an order a seller took outside the order's
                        a tasting (on payment)
======================  ==========================================  =====================

With ``beneficiary`` "seller" the seller who ran the tasting (or took the order) wins
instead, on their own customer card. Conditions (minimum revenue, minimum orders) are
read on the same revenue. Rewards: points (a fixed amount, or a % of the revenue: one
point per cent, as services.loyalty counts them), a gift (a set product or a choice from
a list, both chosen with "Choisir mon cadeau", which makes a new order holding the gift
at 0 €; or a product given automatically once the revenue reaches an amount), a promo
code or a voucher (both emailed at once).

Closing a tasting (:func:`close`) is a guarded UPDATE: only the call that closes it
computes its rewards, and each reward's ``dedupe_key`` (occasion, rule, subject, winner)
is unique, so nothing is ever given twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from models import (
    DeliveryKind,
    Estate,
    EstateCustomer,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentMode,
    Promotion,
    Reward,
    RewardRule,
    Tasting,
    User,
    Voucher,
    Wine,
    promotion_customer,
)
from services import loyalty, mail, orders, promotion_store, tastings, vouchers
from services import cart as carts
from services.errors import FieldError
from services.pricing import percent_of
from services.sequences import take_next
from services.tenancy import get_owned

ACTIONS = {
    "host": _l("Être hôte de la réunion"),
    "direct_sale": _l("Gain lors d'une vente directe"),
    "during": _l("Durant la réunion"),
    "booking": _l("Prise de réunion des invités dans la réunion"),
    "rescheduled_host": _l("Être hôte d'une réunion redatée"),
}
REWARDS = {
    "points_fixed": _l("Points : un montant fixe"),
    "points_percent": _l("Points : un pourcentage du chiffre d'affaires"),
    "gift_set": _l("Cadeau : un produit défini"),
    "gift_choice": _l("Cadeau : un produit au choix dans une liste"),
    "gift_threshold": _l("Cadeau : un produit offert dès un montant atteint"),
    "promo_code": _l("Code promo"),
    "voucher": _l("Bon d'achat"),
}
BENEFICIARIES = {"customer": _l("Le client (hôte, invité, acheteur)"), "seller": _l("Le vendeur")}
STATUS_LABELS = {"given": _l("Attribué"), "to_choose": _l("Choisir mon cadeau"), "chosen": _l("Cadeau choisi")}
GIFTS = ("gift_set", "gift_choice", "gift_threshold")
POINTS = ("points_fixed", "points_percent")


class InvalidRule(FieldError):
    """A rule's input breaks a rule (``field``, ``code``)."""


class GiftRefused(Exception):
    """``code``: already_chosen, not_offered, not_yours, out_of_stock."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleData:
    action: str
    reward: str
    beneficiary: str = "customer"
    points: int = 0
    percent_bp: int = 0
    amount_cents: int = 0
    promotion_id: int | None = None
    wine_ids: tuple[int, ...] = ()
    min_revenue_cents: int = 0
    min_orders: int = 0


def _check(session: Session, data: RuleData) -> tuple[list[Wine], Promotion | None]:
    if data.action not in ACTIONS:
        raise InvalidRule("action", "unknown")
    if data.reward not in REWARDS:
        raise InvalidRule("reward", "unknown")
    if data.beneficiary not in BENEFICIARIES:
        raise InvalidRule("beneficiary", "unknown")
    if min(data.points, data.percent_bp, data.amount_cents, data.min_revenue_cents, data.min_orders) < 0:
        raise InvalidRule("amount", "negative")
    if data.reward == "points_fixed" and data.points <= 0:
        raise InvalidRule("points", "required")
    if data.reward == "points_percent" and not 0 < data.percent_bp <= 10000:
        raise InvalidRule("percent", "range")
    if data.reward in ("voucher", "gift_threshold") and data.amount_cents <= 0:
        raise InvalidRule("amount", "required")
    wines = [wine for wine in (get_owned(session, Wine, wine_id) for wine_id in dict.fromkeys(data.wine_ids)) if wine]
    if data.reward in GIFTS:
        if not wines or len(wines) != len(set(data.wine_ids)):
            raise InvalidRule("wines", "required")
        if data.reward != "gift_choice" and len(wines) != 1:
            raise InvalidRule("wines", "one")
    promotion = None
    if data.reward == "promo_code":
        promotion = get_owned(session, Promotion, data.promotion_id) if data.promotion_id else None
        if promotion is None or not promotion.code:
            raise InvalidRule("promotion", "required")
    return (wines if data.reward in GIFTS else []), promotion


def save_rule(session: Session, estate: Estate, data: RuleData, rule: RewardRule | None = None) -> RewardRule:
    """:raise InvalidRule:"""
    wines, promotion = _check(session, data)
    if rule is None:
        rule = RewardRule(estate_id=estate.id, is_active=True)
        session.add(rule)
    rule.action, rule.reward, rule.beneficiary = data.action, data.reward, data.beneficiary
    rule.points = data.points if data.reward == "points_fixed" else 0
    rule.percent_bp = data.percent_bp if data.reward == "points_percent" else 0
    rule.amount_cents = data.amount_cents if data.reward in ("voucher", "gift_threshold") else 0
    rule.promotion_id = promotion.id if promotion else None
    rule.min_revenue_cents, rule.min_orders = data.min_revenue_cents, data.min_orders
    rule.wines = wines
    session.flush()
    return rule


def rules(session: Session) -> list[RewardRule]:
    return list(session.scalars(select(RewardRule).options(selectinload(RewardRule.wines))
                                .order_by(RewardRule.action, RewardRule.id)))


def describe(rule: RewardRule) -> str:
    """"150 points", "10 % du CA en points", "Un vin au choix : A, B" … for tables and emails."""
    from services.templating import euros as format_euros

    names = ", ".join(carts.wine_label(w) for w in rule.wines)
    texts = {
        "points_fixed": _l("%(n)s points", n=rule.points),
        "points_percent": _l("%(p)s du chiffre d'affaires en points", p=_percent(rule.percent_bp)),
        "gift_set": _l("Cadeau : %(wines)s", wines=names),
        "gift_choice": _l("Cadeau au choix : %(wines)s", wines=names),
        "gift_threshold": _l("%(wines)s offert dès %(amount)s", wines=names, amount=format_euros(rule.amount_cents)),
        "promo_code": _l("Code promo %(code)s", code=rule.promotion.code if rule.promotion else "—"),
        "voucher": _l("Bon d'achat de %(amount)s", amount=format_euros(rule.amount_cents)),
    }
    return str(texts[rule.reward])


def _percent(bp: int) -> str:
    return f"{bp / 100:g} %".replace(".", ",")


# ------------------------------------------------------------------------ granting


@dataclass
class _Grant:
    """One computation's context: who closes, and the host points already spent in advance."""

    estate: Estate
    now: datetime
    public_url: str
    advance_left: int = 0
    given: list[Reward] = field(default_factory=list)


def close(session: Session, estate: Estate, tasting: Tasting, *, actor: User | None, now: datetime,
          public_url: str) -> list[Reward]:
    """Close the tasting and give its rewards, once: a second call (or a concurrent one)
    finds it closed and gives nothing. Each winner is emailed."""
    moved = session.execute(update(Tasting).where(Tasting.id == tasting.id, Tasting.status == tastings.PLANNED)
                            .values(status=tastings.CLOSED, closed_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        return []
    session.refresh(tasting)
    total = tastings.revenue(session, tasting.id)
    tasting.revenue_cents = total.cents
    tastings._event(session, tasting, "closed", actor, now)
    grant = _Grant(estate, now, public_url, advance_left=tasting.host_points_advanced)
    host_action = "rescheduled_host" if tasting.reschedule_count > 0 else "host"
    seller = session.get(User, tasting.seller_user_id) if tasting.seller_user_id else None
    buyers = list(session.scalars(select(Order.customer_id).where(Order.tasting_id == tasting.id,
                                                                  Order.status != OrderStatus.CANCELLED,
                                                                  Order.bottles > 0)
                                  .group_by(Order.customer_id).order_by(Order.customer_id)))
    bookings = list(session.scalars(select(Tasting).where(Tasting.booked_during_id == tasting.id,
                                                          Tasting.status != tastings.CANCELLED).order_by(Tasting.id)))
    for rule in _active(session):
        if rule.action == host_action:
            _give(session, grant, rule, tasting.host, seller, total, f"t{tasting.id}", f"h{tasting.host_customer_id}",
                  tasting=tasting, is_host=True)
        elif rule.action == "during":
            for customer_id in buyers:
                customer = session.get(EstateCustomer, customer_id)
                _give(session, grant, rule, customer, seller, tastings.revenue(session, tasting.id, customer_id),
                      f"t{tasting.id}", f"c{customer_id}", tasting=tasting)
        elif rule.action == "booking":
            for booked in bookings:
                _give(session, grant, rule, booked.host, seller, total, f"t{tasting.id}", f"b{booked.id}",
                      tasting=tasting)
    _notify(session, estate, grant.given, public_url)
    return grant.given


def on_paid(session: Session, estate: Estate, order: Order, *, now: datetime, public_url: str) -> list[Reward]:
    """A direct sale (an order a seller took outside any tasting) is paid: its rules give."""
    if order.seller_user_id is None or order.tasting_id is not None:
        return []
    direct = [rule for rule in _active(session) if rule.action == "direct_sale"]
    if not direct:
        return []
    grant = _Grant(estate, now, public_url)
    seller = session.get(User, order.seller_user_id)
    customer = session.get(EstateCustomer, order.customer_id)
    base = tastings.Revenue(loyalty.credit_base_cents(order), 1)
    for rule in direct:
        _give(session, grant, rule, customer, seller, base, f"o{order.id}", f"c{customer.id}", order=order)
    _notify(session, estate, grant.given, public_url)
    return grant.given


def _active(session: Session) -> list[RewardRule]:
    return list(session.scalars(select(RewardRule).where(RewardRule.is_active.is_(True))
                                .options(selectinload(RewardRule.wines), selectinload(RewardRule.promotion))
                                .order_by(RewardRule.id)))


def _give(session: Session, grant: _Grant, rule: RewardRule, customer: EstateCustomer, seller: User | None,
          base: tastings.Revenue, occasion: str, subject: str, *, tasting: Tasting | None = None,
          order: Order | None = None, is_host: bool = False) -> Reward | None:
    """Give ``rule``'s reward for one subject (a host, a buyer, a booking) if its
    conditions hold on ``base``; None when they do not, or when it was given already."""
    if base.cents < rule.min_revenue_cents or base.orders < rule.min_orders:
        return None
    if rule.beneficiary == "seller":
        if seller is None:
            return None
        winner = tastings.own_card(session, grant.estate, seller)
        is_host = False
    else:
        winner = customer
    key = f"{occasion}:r{rule.id}:{subject}:w{winner.id}"
    if session.scalar(select(Reward.id).where(Reward.dedupe_key == key)) is not None:
        return None
    reward = Reward(estate_id=grant.estate.id, dedupe_key=key, rule_id=rule.id,
                    tasting_id=tasting.id if tasting else None, order_id=order.id if order else None,
                    customer_id=winner.id, action=rule.action, reward=rule.reward, label="", points=0,
                    gift_wine_ids="", status="given", created_at=grant.now)
    when = tastings._paris(tasting.starts_at) if tasting else ""
    reason = (f"Réunion du {when} — {ACTIONS[rule.action]}" if tasting
              else f"Vente directe {order.number if order else ''} — {ACTIONS[rule.action]}")
    if rule.reward in POINTS:
        points = rule.points if rule.reward == "points_fixed" else percent_of(base.cents, rule.percent_bp)
        if points <= 0:
            return None
        reward.points = points
        reward.label = str(_l("%(n)s points", n=points))
        spent_before = min(points, grant.advance_left) if is_host else 0
        grant.advance_left -= spent_before
        if spent_before:
            reward.label += " " + str(_l("(dont %(n)s déjà utilisés pendant la réunion)", n=spent_before))
        if points - spent_before > 0:
            loyalty.post(session, winner, points - spent_before, "earned", reason, unit="points")
    elif rule.reward in ("gift_set", "gift_choice"):
        reward.gift_wine_ids = ",".join(str(w.id) for w in rule.wines)
        reward.status = "to_choose"
        reward.label = describe(rule)
    elif rule.reward == "gift_threshold":
        if base.cents < rule.amount_cents or not rule.wines:
            return None
        reward.gift_wine_ids = str(rule.wines[0].id)
        reward.label = describe(rule)
    elif rule.reward == "promo_code":
        promotion = rule.promotion
        if promotion is None or not promotion.is_active or not promotion.code:
            return None
        reward.promotion_id = promotion.id
        reward.label = describe(rule)
        promotion_store.give_code(session, grant.estate, promotion, winner, grant.public_url)
    elif rule.reward == "voucher":
        voucher = vouchers.issue(session, grant.estate, winner, rule.amount_cents, reason, grant.public_url)
        reward.voucher_id = voucher.id
        reward.label = str(_l("Bon d'achat %(code)s", code=voucher.code))
    if rule.reward == "gift_threshold":
        reward.status = "to_choose"
    session.add(reward)
    session.flush()
    gift = rule.wines[0] if rule.wines else None
    if rule.reward == "gift_threshold" and gift is not None and gift.is_available and gift.stock >= 1:
        # "s'ajoute automatiquement": the gift order is made at once (out of stock, the
        # winner gets "Choisir mon cadeau" instead, once the wine is back)
        _make_gift_order(session, grant.estate, reward, gift, now=grant.now, public_url=grant.public_url)
    grant.given.append(reward)
    return reward


def _notify(session: Session, estate: Estate, given: list[Reward], public_url: str) -> None:
    """One email per winner for the points and gifts (codes and vouchers have their own)."""
    by_winner: dict[int, list[Reward]] = {}
    for reward in given:
        if reward.reward in POINTS or reward.reward in GIFTS:
            by_winner.setdefault(reward.customer_id, []).append(reward)
    for customer_id, won in by_winner.items():
        customer = session.get(EstateCustomer, customer_id)
        session.refresh(customer)
        mail.queue_template(session, "rewards_won", recipient=customer.email, estate_id=estate.id,
                            subject=f"{estate.name} - Vos récompenses", estate=estate, customer=customer,
                            rewards=won, gifts_url=gifts_url(public_url, estate),
                            points_value=loyalty.points_value_cents(estate, customer.points_balance))


def gifts_url(public_url: str, estate: Estate) -> str:
    return f"{public_url.rstrip('/')}/{estate.slug}/mes-cadeaux"


# -------------------------------------------------------------- host points advance


def host_points_estimate(session: Session, estate: Estate, tasting: Tasting) -> int:
    """The points the host would earn if the tasting closed now (the host rules met now)."""
    action = "rescheduled_host" if tasting.reschedule_count > 0 else "host"
    total = tastings.revenue(session, tasting.id)
    points = 0
    for rule in _active(session):
        if rule.action != action or rule.beneficiary != "customer" or rule.reward not in POINTS:
            continue
        if total.cents < rule.min_revenue_cents or total.orders < rule.min_orders:
            continue
        points += rule.points if rule.reward == "points_fixed" else percent_of(total.cents, rule.percent_bp)
    return points


def advance_available(session: Session, estate: Estate, tasting: Tasting) -> int:
    """Host points the host may still spend in this tasting before it closes."""
    if not estate.tasting_points_in_current or tasting.status != tastings.PLANNED:
        return 0
    return max(host_points_estimate(session, estate, tasting) - tasting.host_points_advanced, 0)


def advance_host_points(session: Session, estate: Estate, tasting: Tasting, points: int) -> None:
    """Credit the host now with ``points`` of what the tasting will give them (guarded
    UPDATE: never more than the estimate); closing deducts them from the host reward.

    :raise tastings.InvalidTasting: more than available.
    """
    estimate = host_points_estimate(session, estate, tasting)
    moved = session.execute(update(Tasting).where(
        Tasting.id == tasting.id, Tasting.status == tastings.PLANNED,
        Tasting.host_points_advanced + points <= estimate)
        .values(host_points_advanced=Tasting.host_points_advanced + points)
        .execution_options(synchronize_session=False)).rowcount if points > 0 else 0
    if moved != 1:
        raise tastings.InvalidTasting("points", "too_many")
    session.refresh(tasting)
    loyalty.post(session, tasting.host, points, "earned",
                 f"Points d'hôte à venir — réunion du {tastings._paris(tasting.starts_at)}", unit="points")


# ---------------------------------------------------------------------------- gifts


def gift_options(session: Session, reward: Reward) -> list[Wine]:
    ids = [int(part) for part in reward.gift_wine_ids.split(",") if part.strip().isdigit()]
    if not ids:
        return []
    found = {w.id: w for w in session.scalars(select(Wine).where(Wine.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def gifts_to_choose(session: Session, customer_id: int) -> list[Reward]:
    return list(session.scalars(select(Reward).where(Reward.customer_id == customer_id, Reward.status == "to_choose")
                                .order_by(Reward.id)))


def claim_gift(session: Session, estate: Estate, reward: Reward, wine_id: int, *, customer: EstateCustomer,
               now: datetime, public_url: str) -> Order:
    """"Choisir mon cadeau": the winner picks one of the gifts; a new order holds it at 0 €.

    :raise GiftRefused:
    """
    if reward.customer_id != customer.id:
        raise GiftRefused("not_yours")
    wine = next((w for w in gift_options(session, reward) if w.id == wine_id), None)
    if wine is None:
        raise GiftRefused("not_offered")
    return _make_gift_order(session, estate, reward, wine, now=now, public_url=public_url)


def _make_gift_order(session: Session, estate: Estate, reward: Reward, wine: Wine, *, now: datetime,
                     public_url: str) -> Order:
    claimed = session.execute(update(Reward).where(Reward.id == reward.id, Reward.status == "to_choose")
                              .values(status="chosen", chosen_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise GiftRefused("already_chosen")
    label = carts.wine_label(wine)
    orders._take_stock(session, estate.id, [(wine.id, label, 1)])  # :raise OutOfStock: the caller rolls back
    customer = session.get(EstateCustomer, reward.customer_id)
    tasting = session.get(Tasting, reward.tasting_id) if reward.tasting_id else None
    name = f"{customer.first_name} {customer.last_name}".strip() or customer.email
    where = (str(_l("Cadeau remis lors de la réunion du %(when)s", when=tastings._paris(tasting.starts_at)))
             if tasting else str(_l("Cadeau remis par le domaine")))
    order = Order(
        estate_id=estate.id, number=f"{estate.order_prefix}-{take_next(session, estate.id, 'order'):05d}",
        checkout_token=f"gift-{reward.id}", status=OrderStatus.PENDING_PAYMENT, customer_id=customer.id,
        user_id=customer.user_id, price_list_id=None, prices_include_vat=True, payment_mode=PaymentMode.CASH,
        delivery_kind=DeliveryKind.TASTING, delivery_label=where[:200], shipping_zone=None, email=customer.email,
        phone=customer.phone, billing_name=name[:160], billing_company=customer.company,
        billing_street=customer.billing_street, billing_postcode=customer.billing_postcode,
        billing_city=customer.billing_city, billing_country=customer.billing_country or "FR",
        customer_note=reward.label[:255], bottles=0, goods_ht_cents=0, shipping_ttc_cents=0, total_ht_cents=0,
        total_vat_cents=0, total_ttc_cents=0, sales_conditions="", conditions_accepted_at=now, created_at=now,
        tasting_id=reward.tasting_id, seller_user_id=None)
    order.events.append(OrderEvent(estate_id=estate.id, from_status=None, to_status=OrderStatus.PENDING_PAYMENT,
                                   actor_user_id=customer.user_id, actor_label=name[:160], note="Cadeau",
                                   created_at=now))
    order.lines.append(OrderLine(estate_id=estate.id, wine_id=wine.id, label=f"{label} (offert)"[:255], quantity=1,
                                 unit_price_cents=0, vat_rate_bp=wine.vat_rate.rate_bp, ht_cents=0, vat_cents=0,
                                 ttc_cents=0, is_shipping=False, kind="gift"))
    session.add(order)
    session.flush()
    session.execute(update(Reward).where(Reward.id == reward.id).values(gift_order_id=order.id)
                    .execution_options(synchronize_session=False))
    session.refresh(reward)
    # Nothing to pay: the order is paid at once (and confirmed to the winner and the estate).
    orders.transition(session, estate, order, OrderStatus.PAID, actor=orders.Actor(None, "Cadeau"), now=now,
                      public_url=public_url, note="Cadeau : rien à payer")
    orders._queue_confirmation(session, estate, order, public_url)
    return order


# ---------------------------------------------------------------- customer cards


@dataclass(frozen=True)
class Card:
    """What a seller sees of a customer (seed 003): points, vouchers, codes, gifts."""

    customer: EstateCustomer
    points: int
    points_value_cents: int
    loyalty_cents: int
    vouchers: list[Voucher]
    codes: list[Promotion]
    gifts: list[Reward]
    rewards: list[Reward]


def card(session: Session, estate: Estate, customer: EstateCustomer) -> Card:
    unused = [v for v in vouchers.of_customer(session, customer) if v.used_order_id is None]
    codes = list(session.scalars(select(Promotion).join(promotion_customer,
                                                        promotion_customer.c.promotion_id == Promotion.id)
                                 .where(promotion_customer.c.customer_id == customer.id,
                                        Promotion.is_active.is_(True), Promotion.code.is_not(None))
                                 .order_by(Promotion.id)))
    won = list(session.scalars(select(Reward).where(Reward.customer_id == customer.id).order_by(Reward.id.desc())))
    return Card(customer, customer.points_balance, loyalty.points_value_cents(estate, customer.points_balance),
                customer.loyalty_balance_cents, unused, codes, [r for r in won if r.status == "to_choose"], won)


# ------------------------------------------------------------------------- reports


@dataclass
class SellerReport:
    seller: User
    tastings: int = 0
    closed: int = 0
    revenue_cents: int = 0
    orders: int = 0
    direct_revenue_cents: int = 0
    direct_orders: int = 0
    points: int = 0
    gifts: int = 0
    codes: int = 0
    vouchers: int = 0


def report(session: Session, start: datetime, end: datetime, seller_user_id: int | None = None) -> list[SellerReport]:
    """Per seller, for tastings dated and direct sales made in [start, end): tastings,
    revenue and orders (not cancelled), rewards given."""
    rows: dict[int, SellerReport] = {}

    def row(user_id: int) -> SellerReport:
        if user_id not in rows:
            rows[user_id] = SellerReport(session.get(User, user_id))  # type: ignore[arg-type]
        return rows[user_id]

    statement = select(Tasting).where(Tasting.starts_at >= start, Tasting.starts_at < end,
                                      Tasting.seller_user_id.is_not(None), Tasting.status != tastings.CANCELLED)
    if seller_user_id is not None:
        statement = statement.where(Tasting.seller_user_id == seller_user_id)
    found = session.scalars(statement).all()
    for tasting in found:
        r = row(tasting.seller_user_id)  # type: ignore[arg-type]
        r.tastings += 1
        r.closed += tasting.status == tastings.CLOSED
        total = tastings.revenue(session, tasting.id)
        r.revenue_cents += total.cents
        r.orders += total.orders
    direct = select(Order).where(Order.seller_user_id.is_not(None), Order.tasting_id.is_(None),
                                 Order.status != OrderStatus.CANCELLED, Order.created_at >= start,
                                 Order.created_at < end)
    if seller_user_id is not None:
        direct = direct.where(Order.seller_user_id == seller_user_id)
    for order in session.scalars(direct):
        r = row(order.seller_user_id)  # type: ignore[arg-type]
        r.direct_revenue_cents += loyalty.credit_base_cents(order)
        r.direct_orders += 1
    tasting_seller = {t.id: t.seller_user_id for t in found}
    direct_seller = dict(session.execute(select(Order.id, Order.seller_user_id).where(
        Order.id.in_(direct.with_only_columns(Order.id)))).tuples().all())
    given = session.scalars(select(Reward).where(
        Reward.tasting_id.in_(list(tasting_seller)) | Reward.order_id.in_(list(direct_seller)))).all()
    for reward in given:
        user_id = tasting_seller.get(reward.tasting_id) if reward.tasting_id else direct_seller.get(reward.order_id)
        if user_id is None:
            continue
        r = row(user_id)
        if reward.reward in POINTS:
            r.points += reward.points
        elif reward.reward in GIFTS:
            r.gifts += 1
        elif reward.reward == "promo_code":
            r.codes += 1
        elif reward.reward == "voucher":
            r.vouchers += 1
    return sorted(rows.values(), key=lambda r: (r.seller.last_name, r.seller.first_name, r.seller.email))


def count_to_choose(session: Session, customer_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Reward).where(
        Reward.customer_id == customer_id, Reward.status == "to_choose")) or 0
