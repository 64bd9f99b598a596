"""Rewards for actions (seed 003), table-driven with hand-worked figures.

The world of every case, at the Domaine de la Vernette (prices TTC, particulier list):
a seller's tasting at the host's; guest 1 orders 6 Morgon (6 × 18,50 = 111,00 €),
guest 2 orders 6 Fleurie (6 × 16,50 = 99,00 €): the tasting's revenue is 210,00 €, two
orders. Guest 1 books their own tasting during this one ("prise de réunion").
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from models import (
    Estate,
    EstateCustomer,
    EstateStaff,
    LoyaltyEntry,
    Order,
    OrderLine,
    OrderStatus,
    OutboxMessage,
    PaymentMode,
    Promotion,
    Reward,
    Tasting,
    User,
    Voucher,
    Wine,
    db,
)
from services import accounts, orders, rewards, tastings
from services.tenancy import scope_to_estate

SLUG = "domaine-de-la-vernette"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
URL = "http://chai.test"
PEOPLE = {"host": "hote@exemple.fr", "guest1": "invite1@exemple.fr", "guest2": "invite2@exemple.fr",
          "seller": "conseillere@exemple.fr"}


@contextmanager
def estate_session(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        estate = db.session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        scope_to_estate(db.session, estate.id)
        try:
            yield db.session, estate
        finally:
            db.session.remove()


def _wine(session, reference: str) -> Wine:  # type: ignore[no-untyped-def]
    return session.scalars(select(Wine).where(Wine.reference == reference)).one()


def _data(customer: EstateCustomer, delivery_key: str, mode: PaymentMode = PaymentMode.CHEQUE) -> orders.CheckoutData:
    return orders.CheckoutData(email=customer.email, first_name=customer.first_name or "Prénom",
                               last_name=customer.last_name or "Nom", phone="", company="", street="1 rue des Vignes",
                               postcode="69001", city="Lyon", country="FR", payment_mode=mode,
                               delivery_key=delivery_key)


def seller_of(session, estate: Estate) -> User:  # type: ignore[no-untyped-def]
    user = accounts.register_user(session, email=PEOPLE["seller"], password=secrets.token_urlsafe(12),
                                  first_name="Léa", last_name="Conseil")
    session.add(EstateStaff(estate_id=estate.id, user_id=user.id, role="seller"))
    session.flush()
    return user


def build_world(app, *, reschedule: bool = False, book: bool = True) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The tasting of the module docstring; returns the ids the cases read."""
    with estate_session(app) as (session, estate):
        seller = seller_of(session, estate)
        tasting = tastings.create(session, estate, tastings.TastingData(
            PEOPLE["host"], "Hélène", "Hôte", NOW + timedelta(days=2), "12 rue du Plat, Lyon"), seller,
            now=NOW, secret_key="k", public_url=URL)
        if reschedule:
            tastings.reschedule(session, tasting, NOW + timedelta(days=5), seller, now=NOW)
        ids = {"tasting": tasting.id, "host": tasting.host_customer_id, "seller_user": seller.id}
        for key, reference in (("guest1", "VER-MOR-22"), ("guest2", "VER-FLE-23")):
            user = accounts.register_user(session, email=PEOPLE[key], password="x" * 12, first_name=key.title(),
                                          last_name="Invité")
            guest = tastings.join(session, estate, tasting, user, now=NOW)
            ids[key] = guest.customer_id
            tastings.take_order(session, estate, tasting=tasting, customer=guest.customer,
                                quantities={_wine(session, reference).id: 6},
                                data=_data(guest.customer, f"tasting:{tasting.id}"), seller=seller,
                                checkout_token=f"t-{key}", now=NOW, public_url=URL)
        if book:
            booked = tastings.book_for_guest(session, estate, tasting, ids["guest1"], NOW + timedelta(days=20),
                                             "Chez Guest1", seller, now=NOW, secret_key="k", public_url=URL)
            ids["booked"] = booked.id
        session.commit()
        return ids


def add_rule(app, **fields) -> None:  # type: ignore[no-untyped-def]
    with estate_session(app) as (session, estate):
        wines = tuple(_wine(session, ref).id for ref in fields.pop("wines", ()))
        if fields.pop("code", False):
            promotion = Promotion(estate_id=estate.id, name="Code hôte", benefit="percent_off", percent_bp=1000,
                                  code="HOTE10", restricted_to_customers=True)
            session.add(promotion)
            session.flush()
            fields["promotion_id"] = promotion.id
        rewards.save_rule(session, estate, rewards.RuleData(wine_ids=wines, **fields))
        session.commit()


def close(app, tasting_id: int) -> list[tuple[int, str, str, int]]:  # type: ignore[no-untyped-def]
    with estate_session(app) as (session, estate):
        tasting = session.get(Tasting, tasting_id)
        given = rewards.close(session, estate, tasting, actor=None, now=NOW + timedelta(days=3), public_url=URL)
        session.commit()
        return [(r.customer_id, r.reward, r.status, r.points) for r in given]


def points(app, customer_id: int) -> int:  # type: ignore[no-untyped-def]
    with estate_session(app) as (session, _):
        return session.get(EstateCustomer, customer_id).points_balance


CASES = [
    # (id, rules, world options, expected points per person, expected (person, reward, status) rows)
    ("host % of revenue", [dict(action="host", reward="points_percent", percent_bp=1000)], {},
     {"host": 2100, "guest1": 0, "guest2": 0}, [("host", "points_percent", "given")]),
    ("host fixed", [dict(action="host", reward="points_fixed", points=150)], {},
     {"host": 150}, [("host", "points_fixed", "given")]),
    ("host min revenue not met", [dict(action="host", reward="points_fixed", points=150, min_revenue_cents=21001)],
     {}, {"host": 0}, []),
    ("host min revenue met exactly", [dict(action="host", reward="points_fixed", points=150,
                                           min_revenue_cents=21000)], {}, {"host": 150},
     [("host", "points_fixed", "given")]),
    ("host min orders not met", [dict(action="host", reward="points_fixed", points=150, min_orders=3)], {},
     {"host": 0}, []),
    ("during % of each guest's orders", [dict(action="during", reward="points_percent", percent_bp=500)], {},
     {"host": 0, "guest1": 555, "guest2": 495},
     [("guest1", "points_percent", "given"), ("guest2", "points_percent", "given")]),
    ("during voucher from 100 €", [dict(action="during", reward="voucher", amount_cents=1000,
                                       min_revenue_cents=10000)], {},
     {"guest1": 0}, [("guest1", "voucher", "given")]),
    ("booking rewards the guest who booked", [dict(action="booking", reward="points_fixed", points=200)], {},
     {"guest1": 200, "guest2": 0, "host": 0}, [("guest1", "points_fixed", "given")]),
    ("no booking, no booking reward", [dict(action="booking", reward="points_fixed", points=200)], {"book": False},
     {"guest1": 0}, []),
    ("host gift from a list", [dict(action="host", reward="gift_choice", wines=("VER-MOR-22", "VER-FLE-23"))], {},
     {"host": 0}, [("host", "gift_choice", "to_choose")]),
    ("host set gift", [dict(action="host", reward="gift_set", wines=("VER-FLE-23",))], {},
     {"host": 0}, [("host", "gift_set", "to_choose")]),
    ("gift added automatically from 100 €", [dict(action="during", reward="gift_threshold", amount_cents=10000,
                                                  wines=("VER-FLE-23",))], {},
     {}, [("guest1", "gift_threshold", "chosen")]),
    ("host promo code", [dict(action="host", reward="promo_code", code=True)], {},
     {}, [("host", "promo_code", "given")]),
    ("seller wins on their own card", [dict(action="host", reward="points_fixed", points=300, beneficiary="seller")],
     {}, {"host": 0, "seller": 300}, [("seller", "points_fixed", "given")]),
    ("rescheduled: the redatée rule only", [dict(action="host", reward="points_percent", percent_bp=1000),
                                            dict(action="rescheduled_host", reward="points_fixed", points=100)],
     {"reschedule": True}, {"host": 100}, [("host", "points_fixed", "given")]),
    ("not rescheduled: the host rule only", [dict(action="host", reward="points_percent", percent_bp=1000),
                                             dict(action="rescheduled_host", reward="points_fixed", points=100)],
     {}, {"host": 2100}, [("host", "points_percent", "given")]),
]


@pytest.mark.parametrize("rules, world, expected_points, expected_rows",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_action_gives_its_reward(app, rules, world, expected_points, expected_rows):
    for rule in rules:
        add_rule(app, **rule)
    ids = build_world(app, **world)
    given = close(app, ids["tasting"])
    with estate_session(app) as (session, _):  # the seller's own card, made when they first win
        ids["seller"] = session.scalars(select(EstateCustomer.id).where(
            EstateCustomer.user_id == ids["seller_user"])).first() or -1
    names = {customer_id: name for name, customer_id in ids.items() if name in PEOPLE}
    assert sorted((names.get(c, c), kind, status) for c, kind, status, _ in given) == sorted(expected_rows)
    for person, expected in expected_points.items():
        assert (points(app, ids[person]) if ids.get(person, -1) > 0 else 0) == expected, person
    assert close(app, ids["tasting"]) == []  # closing twice rewards once
    for person, expected in expected_points.items():
        assert (points(app, ids[person]) if ids.get(person, -1) > 0 else 0) == expected, person


def test_voucher_and_code_are_emailed_once(app):
    add_rule(app, action="during", reward="voucher", amount_cents=1000)
    add_rule(app, action="host", reward="promo_code", code=True)
    ids = build_world(app)
    close(app, ids["tasting"])
    close(app, ids["tasting"])
    with estate_session(app) as (session, _):
        vouchers = session.scalars(select(Voucher).order_by(Voucher.customer_id)).all()
        assert [(v.customer_id, v.amount_cents) for v in vouchers] == [(ids["guest1"], 1000), (ids["guest2"], 1000)]
        for voucher in vouchers:
            mails = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains(voucher.code))).all()
            assert len(mails) == 1
        code_mails = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains("HOTE10"))).all()
        assert [m.recipient for m in code_mails] == [PEOPLE["host"]]
        promotion = session.scalars(select(Promotion).where(Promotion.code == "HOTE10")).one()
        assert [c.id for c in promotion.customers] == [ids["host"]]


def test_winners_get_one_summary_email_with_the_gift_link(app):
    add_rule(app, action="host", reward="points_percent", percent_bp=1000)
    add_rule(app, action="host", reward="gift_choice", wines=("VER-MOR-22", "VER-FLE-23"))
    ids = build_world(app)
    close(app, ids["tasting"])
    with estate_session(app) as (session, _):
        mails = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains("Vos récompenses"))).all()
        assert [m.recipient for m in mails] == [PEOPLE["host"]]
        assert "2100 points" in mails[0].body_text and f"/{SLUG}/mes-cadeaux" in mails[0].body_text


def test_choosing_a_gift_makes_a_paid_order_with_a_zero_euro_gift_line(app):
    add_rule(app, action="host", reward="gift_choice", wines=("VER-MOR-22", "VER-FLE-23"))
    ids = build_world(app)
    close(app, ids["tasting"])
    with estate_session(app) as (session, estate):
        reward = session.scalars(select(Reward)).one()
        host = session.get(EstateCustomer, ids["host"])
        fleurie = _wine(session, "VER-FLE-23")
        stock = fleurie.stock
        with pytest.raises(rewards.GiftRefused) as refused:
            rewards.claim_gift(session, estate, reward, _wine(session, "VER-MAV-20").id, customer=host, now=NOW,
                               public_url=URL)
        assert refused.value.code == "not_offered"
        with pytest.raises(rewards.GiftRefused) as refused:
            rewards.claim_gift(session, estate, reward, fleurie.id, customer=session.get(EstateCustomer, ids["guest1"]),
                               now=NOW, public_url=URL)
        assert refused.value.code == "not_yours"
        order = rewards.claim_gift(session, estate, reward, fleurie.id, customer=host, now=NOW, public_url=URL)
        session.commit()
        assert order.status is OrderStatus.PAID and order.total_ttc_cents == 0
        assert order.tasting_id == ids["tasting"] and order.customer_id == ids["host"]
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert [(line.kind, line.wine_id, line.quantity, line.ttc_cents) for line in lines] == [
            ("gift", fleurie.id, 1, 0)]
        session.refresh(fleurie)
        assert fleurie.stock == stock - 1
        session.refresh(reward)
        assert reward.status == "chosen" and reward.gift_order_id == order.id
        confirmation = session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == PEOPLE["host"], OutboxMessage.subject.contains(order.number))).one()
        assert "Rien à payer : cette commande vous est offerte." in confirmation.body_text
        assert "Offerte" in confirmation.body_text and "Espèces" not in confirmation.body_text
        with pytest.raises(rewards.GiftRefused) as refused:
            rewards.claim_gift(session, estate, reward, fleurie.id, customer=host, now=NOW, public_url=URL)
        assert refused.value.code == "already_chosen"


def test_host_points_spent_in_the_tasting_before_closing_are_deducted(app):
    add_rule(app, action="host", reward="points_percent", percent_bp=1000)
    ids = build_world(app)
    with estate_session(app) as (session, estate):
        estate.tasting_points_in_current = True
        estate.points_mode, estate.points_value_cents = "percent", 100  # 100 points = 1 €
        tasting = session.get(Tasting, ids["tasting"])
        assert rewards.advance_available(session, estate, tasting) == 2100  # 10 % of 210 €, in cents
        with pytest.raises(tastings.InvalidTasting):
            rewards.advance_host_points(session, estate, tasting, 2101)
        host = session.get(EstateCustomer, ids["host"])
        morgon = _wine(session, "VER-MOR-22")
        order = tastings.take_order(session, estate, tasting=tasting, customer=host, quantities={morgon.id: 6},
                                    data=_data(host, f"tasting:{tasting.id}"), seller=session.get(User, ids["seller_user"]),
                                    checkout_token="t-host", now=NOW, public_url=URL, advance_points=1500)
        session.commit()
        assert order.total_ttc_cents == 11100 - 1500  # 1 500 points = 15 €
        assert session.get(EstateCustomer, ids["host"]).points_balance == 0
    # the revenue is now 210 + 111 - 15 = 306 € (the wines as paid, as services.loyalty
    # counts them): the host earns 3 060 points, 1 500 of them already spent
    close(app, ids["tasting"])
    assert points(app, ids["host"]) == 3060 - 1500


def test_a_direct_sale_rewards_its_buyer_when_paid(app):
    add_rule(app, action="direct_sale", reward="points_percent", percent_bp=1000)
    with estate_session(app) as (session, estate):
        seller = seller_of(session, estate)
        buyer = tastings.ensure_customer(session, estate, email="acheteur@exemple.fr", first_name="Ana",
                                         last_name="Cheteur", secret_key="k", public_url=URL)
        order = tastings.take_order(session, estate, tasting=None, customer=buyer,
                                    quantities={_wine(session, "VER-MOR-22").id: 6}, data=_data(buyer, "pickup"),
                                    seller=seller, checkout_token="direct", now=NOW, public_url=URL)
        assert order.seller_user_id == seller.id and order.tasting_id is None
        assert buyer.points_balance == 0
        orders.transition(session, estate, order, OrderStatus.PAID, actor=orders.Actor(seller.id, "Léa"), now=NOW,
                          public_url=URL)
        session.commit()
        assert session.get(EstateCustomer, buyer.id).points_balance == 1110
        assert rewards.on_paid(session, estate, order, now=NOW, public_url=URL) == []  # once
        assert session.scalar(select(func.count()).select_from(LoyaltyEntry).where(
            LoyaltyEntry.customer_id == buyer.id)) == 1


def test_orders_of_the_tasting_carry_it_and_the_seller(app):
    ids = build_world(app)
    with estate_session(app) as (session, _):
        found = session.scalars(select(Order).where(Order.tasting_id == ids["tasting"])).all()
        assert len(found) == 2 and {o.seller_user_id for o in found} == {ids["seller_user"]}
        assert tastings.revenue(session, ids["tasting"]) == tastings.Revenue(21000, 2)
        assert tastings.revenue(session, ids["tasting"], ids["guest1"]) == tastings.Revenue(11100, 1)


def test_a_closed_tasting_takes_no_more_guests_orders_or_dates(app):
    ids = build_world(app)
    close(app, ids["tasting"])
    with estate_session(app) as (session, estate):
        tasting = session.get(Tasting, ids["tasting"])
        guest = session.get(EstateCustomer, ids["guest1"])
        with pytest.raises(tastings.NotOpen):
            tastings.take_order(session, estate, tasting=tasting, customer=guest,
                                quantities={_wine(session, "VER-MOR-22").id: 6},
                                data=_data(guest, f"tasting:{tasting.id}"), seller=session.get(User, ids["seller_user"]),
                                checkout_token="late", now=NOW, public_url=URL)
        with pytest.raises(tastings.NotOpen):
            tastings.reschedule(session, tasting, NOW + timedelta(days=9), session.get(User, ids["seller_user"]), now=NOW)
        with pytest.raises(tastings.NotOpen):
            tastings.join(session, estate, tasting, session.get(User, guest.user_id), now=NOW)


def test_rescheduling_keeps_the_history(app):
    ids = build_world(app, reschedule=True)
    with estate_session(app) as (session, _):
        events = tastings.history(session, ids["tasting"])
        assert [e.kind for e in events] == ["created", "rescheduled", "booked"]
        assert events[1].from_at == NOW + timedelta(days=2) and events[1].to_at == NOW + timedelta(days=5)
        assert session.get(Tasting, ids["tasting"]).reschedule_count == 1
