"""Réunions in the back office (issue 12): the team and its sellers, what a seller may
open, tastings, the orders a seller takes in them, closing and its rewards, the rules."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from models import (DeliveryKind, Estate, EstateCustomer, EstateStaff, Order, OutboxMessage, Reward, RewardRule,
                    Tasting, TastingEvent, User, Wine)
from services import accounts
from services.templating import PARIS
from services.tenancy import scope_to_estate
from tests.conftest import first_orderable_wine, login, session_for, visitor

SLUG, OTHER = "domaine-de-la-vernette", "domaine-rozel"
BASE = f"/gestion/{SLUG}"
MANAGER = "vigneron@vernette.example"
PASSWORD = "un-mot-de-passe-solide-42"


# ------------------------------------------------------------------------- helpers


def _estate_id(app, slug: str = SLUG) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _manager(app):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, MANAGER)
    return client


def _add_seller(app, manager, email: str, first: str = "Sophie", last: str = "Martin"):  # type: ignore[no-untyped-def]
    """The manager adds a seller on /equipe; the test sets their password and logs them in."""
    response = manager.post(f"{BASE}/equipe", data={"email": email, "first_name": first, "last_name": last,
                                                    "role": "seller"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        accounts.set_password(session, user, PASSWORD)
        session.commit()
        user_id = user.id
    seller = visitor(app)
    login(seller, email, PASSWORD)
    return seller, user_id


def _when(days: int = 7, hour: int = 19) -> dict[str, str]:
    day = (datetime.now(timezone.utc).astimezone(PARIS) + timedelta(days=days)).date()
    return {"starts_on": day.isoformat(), "starts_time": f"{hour:02d}:00"}


def _create_tasting(client, host_email: str = "hote@exemple.fr") -> int:  # type: ignore[no-untyped-def]
    response = client.post(f"{BASE}/reunions", data={"host_email": host_email, "host_first_name": "Hélène",
                                                     "host_last_name": "Hôte", "place": "12 rue du Puits, Mâcon",
                                                     "notes": "", **_when()})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(re.search(r"/reunions/(\d+)$", response.headers["Location"]).group(1))


def _tasting(app, tasting_id: int) -> Tasting:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        tasting = session.get(Tasting, tasting_id)
        session.expunge(tasting)
        return tasting


def _join(app, tasting_id: int, email: str) -> int:  # type: ignore[no-untyped-def]
    """A guest joins through the link (services.tastings.join); their customer id."""
    from services import tastings

    estate_id = _estate_id(app)
    with session_for(app) as session:
        scope_to_estate(session, estate_id)
        estate = session.get(Estate, estate_id)
        tasting = session.get(Tasting, tasting_id)
        user = session.scalars(select(User).where(User.email == email)).one()
        guest = tastings.join(session, estate, tasting, user, now=datetime.now(timezone.utc))
        session.commit()
        return guest.customer_id


def _order_form(customer_id: int, wine_id: int, *, delivery: str, token: str, quantity: str = "6",
                payment: str = "cheque") -> dict[str, str]:
    return {"customer_id": str(customer_id), f"qty-{wine_id}": quantity, "delivery": delivery,
            "payment_mode": payment, "first_name": "Hélène", "last_name": "Hôte", "phone": "06 11 22 33 44",
            "company": "", "street": "12 rue du Puits", "postcode": "71000", "city": "Mâcon", "country": "FR",
            "note": "", "checkout_token": token}


def _orders_count(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalar(select(func.count()).select_from(Order))


def _host_id(app, tasting_id: int) -> int:  # type: ignore[no-untyped-def]
    return _tasting(app, tasting_id).host_customer_id


# --------------------------------------------------------------------------- team


def test_a_manager_adds_a_seller_who_is_invited_and_reaches_only_the_tastings(app):
    manager = _manager(app)
    seller, _ = _add_seller(app, manager, "vendeuse@exemple.fr")
    with session_for(app) as session:
        mails = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "vendeuse@exemple.fr")).all()
        member = session.scalars(select(EstateStaff).join(User, User.id == EstateStaff.user_id)
                                 .where(User.email == "vendeuse@exemple.fr")).one()
        assert member.role == "seller"
    assert len(mails) == 1 and "/compte/reinitialiser/" in mails[0].body_text
    assert "vendeuse@exemple.fr" in manager.get(f"{BASE}/equipe").get_data(as_text=True)

    for path in ("/commandes", "/vins", "/clients", "/equipe", "/fidelite/reunions", "/domaine", "/journal"):
        assert seller.get(BASE + path).status_code == 404, path
    assert seller.post(f"{BASE}/fidelite/reunions/reglages", data={"tasting_points_in_current": "y"}).status_code == 404
    page = seller.get(f"{BASE}/reunions")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Mes clients" in body and "Ma fiche client" in body
    assert f'href="{BASE}/commandes"' not in body and f'href="{BASE}/equipe"' not in body
    dashboard = seller.get(f"{BASE}/")
    assert dashboard.status_code == 302 and dashboard.headers["Location"].endswith(f"{BASE}/reunions")
    managed = manager.get(f"{BASE}/reunions").get_data(as_text=True)
    assert f'href="{BASE}/equipe"' in managed and f'href="{BASE}/fidelite/reunions"' in managed


def test_the_last_manager_cannot_become_a_seller(app):
    manager = _manager(app)
    with session_for(app) as session:
        member = session.scalars(select(EstateStaff).join(User, User.id == EstateStaff.user_id)
                                 .where(User.email == MANAGER)).one()
        staff_id = member.id
    response = manager.post(f"{BASE}/equipe/{staff_id}/role", data={"role": "seller"}, follow_redirects=True)
    assert "au moins un gérant" in response.get_data(as_text=True)
    with session_for(app) as session:
        assert session.get(EstateStaff, staff_id).role == "manager"
    bad = manager.post(f"{BASE}/equipe", data={"email": "pas-une-adresse", "role": "seller"})
    assert bad.status_code == 422 and "Adresse email invalide" in bad.get_data(as_text=True)


# ------------------------------------------------------------------------ tastings


def test_a_seller_creates_a_tasting_and_another_seller_cannot_open_it(app):
    manager = _manager(app)
    seller, seller_id = _add_seller(app, manager, "vendeuse@exemple.fr")
    other, _ = _add_seller(app, manager, "vendeur2@exemple.fr", "Paul", "Durand")
    tasting_id = _create_tasting(seller, "nouvel.hote@exemple.fr")

    tasting = _tasting(app, tasting_id)
    assert tasting.seller_user_id == seller_id
    page = seller.get(f"{BASE}/reunions/{tasting_id}").get_data(as_text=True)
    assert f"http://shop.test/{SLUG}/reunion/{tasting.token}" in page
    with session_for(app) as session:  # the host got an account, and the invitation by email
        assert session.scalars(select(OutboxMessage.id).where(OutboxMessage.recipient == "nouvel.hote@exemple.fr")).all()
        assert session.get(EstateCustomer, tasting.host_customer_id).user_id is not None

    assert other.get(f"{BASE}/reunions/{tasting_id}").status_code == 404
    assert other.get(f"{BASE}/reunions/{tasting_id}/commande").status_code == 404
    assert other.post(f"{BASE}/reunions/{tasting_id}/cloturer").status_code == 404
    assert str(tasting_id) not in re.findall(r"/reunions/(\d+)", other.get(f"{BASE}/reunions").get_data(as_text=True))
    assert manager.get(f"{BASE}/reunions/{tasting_id}").status_code == 200  # a manager sees every tasting

    past = seller.post(f"{BASE}/reunions", data={"host_email": "x@exemple.fr", **_when(days=-2)})
    assert past.status_code == 422 and "passée" in past.get_data(as_text=True)


def test_the_seller_records_orders_for_the_host_and_a_guest_delivered_to_the_host(app):
    manager = _manager(app)
    seller, seller_id = _add_seller(app, manager, "vendeuse@exemple.fr")
    tasting_id = _create_tasting(seller)
    host_id = _host_id(app, tasting_id)
    guest_id = _join(app, tasting_id, "client@chai.example")
    wine_id, _, unit = first_orderable_wine(app, SLUG)

    page = seller.get(f"{BASE}/reunions/{tasting_id}/commande?customer_id={guest_id}").get_data(as_text=True)
    assert f'name="qty-{wine_id}"' in page and f'value="tasting:{tasting_id}"' in page
    token = re.search(r'name="checkout_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'id="checkout_token" name="checkout_token" type="hidden" value="([^"]+)"', page)
    assert token is not None

    before = _orders_count(app)
    form = _order_form(host_id, wine_id, delivery=f"tasting:{tasting_id}", token="tok-host-1")
    response = seller.post(f"{BASE}/reunions/{tasting_id}/commande", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(f"/reunions/{tasting_id}")
    again = seller.post(f"{BASE}/reunions/{tasting_id}/commande", data=form)  # double submit
    assert again.status_code == 302
    assert _orders_count(app) == before + 1
    guest = _order_form(guest_id, wine_id, delivery=f"tasting:{tasting_id}", token="tok-guest-1", quantity="12")
    assert seller.post(f"{BASE}/reunions/{tasting_id}/commande", data=guest).status_code == 302
    assert _orders_count(app) == before + 2

    with session_for(app) as session:
        found = session.scalars(select(Order).where(Order.tasting_id == tasting_id).order_by(Order.id)).all()
        assert [o.customer_id for o in found] == [host_id, guest_id]
        assert all(o.seller_user_id == seller_id and o.delivery_kind is DeliveryKind.TASTING for o in found)
        assert all(o.payment_mode.value == "cheque" for o in found)
        total = sum(o.total_ttc_cents for o in found)
        numbers = [o.number for o in found]
    assert total == 18 * unit
    shown = seller.get(f"{BASE}/reunions/{tasting_id}", follow_redirects=True).get_data(as_text=True)
    assert all(number in shown for number in numbers)
    revenue = re.search(r'id="tasting-revenue">([^<]+)<', shown).group(1)
    assert re.sub(r"\D", "", revenue) == str(total)
    flashed = seller.post(f"{BASE}/reunions/{tasting_id}/commande",
                          data=_order_form(host_id, wine_id, delivery="pickup", token="tok-host-2"),
                          follow_redirects=True).get_data(as_text=True)
    assert re.search(r"Commande VER-\d+ enregistrée", flashed)


def test_bad_order_input_is_explained_and_orders_nothing(app):
    manager = _manager(app)
    seller, _ = _add_seller(app, manager, "vendeuse@exemple.fr")
    tasting_id = _create_tasting(seller)
    host_id = _host_id(app, tasting_id)
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    url = f"{BASE}/reunions/{tasting_id}/commande"
    before = _orders_count(app)
    cases = [
        (dict(quantity=""), "Indiquez au moins une quantité"),
        (dict(quantity="abc"), "Quantité invalide"),
        (dict(quantity="-3"), "Quantité invalide"),
        (dict(payment="bitcoin"), "Choisissez un mode de paiement"),
        (dict(payment="cash", delivery="home"), "Ce mode de paiement n'est pas proposé avec cette livraison"),
        (dict(delivery="fair:999"), "Choisissez un mode de livraison"),
    ]
    for overrides, message in cases:
        form = _order_form(host_id, wine_id, delivery=overrides.pop("delivery", f"tasting:{tasting_id}"),
                           token="tok-bad", **overrides)
        response = seller.post(url, data=form)
        body = html.unescape(response.get_data(as_text=True))
        assert response.status_code in (409, 422), (overrides, response.status_code)
        assert message in body, (overrides, body[:3000])
        assert "Not a valid" not in body
    unknown = _order_form(host_id, wine_id, delivery=f"tasting:{tasting_id}", token="tok-bad")
    unknown["qty-999999"] = "6"
    response = seller.post(url, data=unknown)
    assert response.status_code == 422 and "n'est pas proposé" in html.unescape(response.get_data(as_text=True))
    stranger = _order_form(999_999, wine_id, delivery=f"tasting:{tasting_id}", token="tok-bad")
    assert seller.post(url, data=stranger).status_code == 422
    missing_name = _order_form(host_id, wine_id, delivery=f"tasting:{tasting_id}", token="tok-bad")
    missing_name["first_name"] = ""
    assert seller.post(url, data=missing_name).status_code == 422
    assert _orders_count(app) == before


def test_a_direct_sale_to_a_new_customer_is_tagged_with_the_seller(app):
    manager = _manager(app)
    seller, seller_id = _add_seller(app, manager, "vendeuse@exemple.fr")
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    form = _order_form(0, wine_id, delivery="pickup", token="tok-direct-1")
    form.update(customer_id="new", new_email="acheteur@exemple.fr")
    response = seller.post(f"{BASE}/ventes-directes/commande", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with session_for(app) as session:
        order = session.scalars(select(Order).where(Order.checkout_token == "tok-direct-1")).one()
        assert order.seller_user_id == seller_id and order.tasting_id is None
        customer_id = order.customer_id
    assert seller.get(f"{BASE}/reunions/clients/{customer_id}").status_code == 200  # now served
    assert "acheteur@exemple.fr" in seller.get(f"{BASE}/reunions/clients").get_data(as_text=True)


def test_rescheduling_keeps_the_history_and_refuses_a_past_date(app):
    manager = _manager(app)
    seller, _ = _add_seller(app, manager, "vendeuse@exemple.fr")
    tasting_id = _create_tasting(seller)
    first = _tasting(app, tasting_id).starts_at
    url = f"{BASE}/reunions/{tasting_id}/redater"

    past = seller.post(url, data={**_when(days=-1), "note": ""})
    assert past.status_code == 422 and "passée" in past.get_data(as_text=True)
    garbage = seller.post(url, data={"starts_on": "2031-13-45", "starts_time": "abc"})
    assert garbage.status_code == 422
    assert _tasting(app, tasting_id).reschedule_count == 0

    response = seller.post(url, data={**_when(days=10, hour=20), "note": "L'hôte est en voyage"})
    assert response.status_code == 302
    tasting = _tasting(app, tasting_id)
    assert tasting.reschedule_count == 1 and tasting.starts_at != first
    with session_for(app) as session:
        moved = session.scalars(select(TastingEvent).where(TastingEvent.tasting_id == tasting_id,
                                                           TastingEvent.kind == "rescheduled")).one()
        assert moved.from_at == first and moved.to_at == tasting.starts_at
    page = seller.get(f"{BASE}/reunions/{tasting_id}").get_data(as_text=True)
    assert "Réunion redatée" in page and "L'hôte est en voyage" in html.unescape(page)


def test_closing_gives_the_rewards_once(app):
    from services import rewards

    manager = _manager(app)
    seller, _ = _add_seller(app, manager, "vendeuse@exemple.fr")
    tasting_id = _create_tasting(seller)
    host_id = _host_id(app, tasting_id)
    wine_id, _, unit = first_orderable_wine(app, SLUG)
    estate_id = _estate_id(app)
    with session_for(app) as session:
        scope_to_estate(session, estate_id)
        rewards.save_rule(session, session.get(Estate, estate_id),
                          rewards.RuleData(action="host", reward="points_percent", percent_bp=1000))
        session.commit()
    form = _order_form(host_id, wine_id, delivery=f"tasting:{tasting_id}", token="tok-close")
    assert seller.post(f"{BASE}/reunions/{tasting_id}/commande", data=form).status_code == 302

    closed = seller.post(f"{BASE}/reunions/{tasting_id}/cloturer", follow_redirects=True)
    body = closed.get_data(as_text=True)
    assert "1 récompense(s) attribuée(s)" in body
    with session_for(app) as session:
        given = session.scalars(select(Reward).where(Reward.tasting_id == tasting_id)).all()
        assert [(r.customer_id, r.points) for r in given] == [(host_id, 6 * unit // 10)]
        assert session.get(EstateCustomer, host_id).points_balance == 6 * unit // 10
        assert session.get(Tasting, tasting_id).status == "closed"

    again = seller.post(f"{BASE}/reunions/{tasting_id}/cloturer", follow_redirects=True).get_data(as_text=True)
    assert "déjà clôturée" in again
    late = seller.post(f"{BASE}/reunions/{tasting_id}/commande",
                       data=_order_form(host_id, wine_id, delivery=f"tasting:{tasting_id}", token="tok-late"))
    assert late.status_code == 409 and "clôturée" in late.get_data(as_text=True)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Reward).where(Reward.tasting_id == tasting_id)) == 1
        assert session.get(EstateCustomer, host_id).points_balance == 6 * unit // 10
    assert "Attribué" in seller.get(f"{BASE}/reunions/{tasting_id}").get_data(as_text=True)


def test_a_guest_books_their_own_tasting_and_a_winner_chooses_a_gift_once(app):
    from services import rewards

    manager = _manager(app)
    seller, seller_id = _add_seller(app, manager, "vendeuse@exemple.fr")
    response = manager.post(f"{BASE}/reunions", data={"host_email": "hote@exemple.fr", "seller_id": str(seller_id),
                                                      "place": "Mâcon", **_when()})
    assert response.status_code == 302
    tasting_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _tasting(app, tasting_id).seller_user_id == seller_id  # the manager planned it for the seller
    guest_id = _join(app, tasting_id, "client@chai.example")
    estate_id = _estate_id(app)
    with session_for(app) as session:
        scope_to_estate(session, estate_id)
        wines = session.scalars(select(Wine).where(Wine.is_visible.is_(True), Wine.is_available.is_(True),
                                                   Wine.stock >= 10).order_by(Wine.id).limit(2)).all()
        gift_ids = [w.id for w in wines]
        stock = {w.id: w.stock for w in wines}
        rewards.save_rule(session, session.get(Estate, estate_id),
                          rewards.RuleData(action="booking", reward="gift_choice", wine_ids=tuple(gift_ids)))
        session.commit()

    url = f"{BASE}/reunions/{tasting_id}/prise-de-reunion"
    wrong = seller.post(url, data={"guest_id": "999999", "place": "", **_when(days=20)})
    assert wrong.status_code == 422 and "Choisissez un invité" in wrong.get_data(as_text=True)
    assert seller.post(url, data={"guest_id": str(guest_id), "place": "Lyon", **_when(days=20)}).status_code == 302
    with session_for(app) as session:
        booked = session.scalars(select(Tasting).where(Tasting.booked_during_id == tasting_id)).one()
        assert booked.host_customer_id == guest_id and booked.seller_user_id == seller_id
    assert "Prise de réunion" in seller.get(f"{BASE}/reunions/{tasting_id}").get_data(as_text=True)

    seller.post(f"{BASE}/reunions/{tasting_id}/cloturer")
    with session_for(app) as session:
        reward = session.scalars(select(Reward).where(Reward.tasting_id == tasting_id)).one()
        assert (reward.customer_id, reward.status) == (guest_id, "to_choose")
        reward_id = reward.id
    page = seller.get(f"{BASE}/reunions/{tasting_id}").get_data(as_text=True)
    assert f"/reunions/{tasting_id}/cadeau/{reward_id}" in page and "🎁" in page
    gift_url = f"{BASE}/reunions/{tasting_id}/cadeau/{reward_id}"
    refused = seller.post(gift_url, data={"wine_id": "999999"})
    assert refused.status_code == 422 and "Choisissez un des vins proposés" in refused.get_data(as_text=True)
    assert seller.post(gift_url, data={"wine_id": str(gift_ids[1])}).status_code == 302
    twice = seller.post(gift_url, data={"wine_id": str(gift_ids[0])})
    assert twice.status_code in (200, 409) and "déjà été choisi" in twice.get_data(as_text=True)
    with session_for(app) as session:
        assert session.get(Reward, reward_id).status == "chosen"
        gift_order = session.get(Order, session.get(Reward, reward_id).gift_order_id)
        assert gift_order.total_ttc_cents == 0 and gift_order.customer_id == guest_id
        assert session.get(Wine, gift_ids[1]).stock == stock[gift_ids[1]] - 1
        assert session.get(Wine, gift_ids[0]).stock == stock[gift_ids[0]]
    other_tasting = _create_tasting(seller, "autre@exemple.fr")
    assert seller.get(f"{BASE}/reunions/{other_tasting}/cadeau/{reward_id}").status_code == 404


# --------------------------------------------------------------------------- rules


def test_the_rule_form_explains_what_is_wrong_and_saves_nothing(app):
    manager = _manager(app)
    estate_id = _estate_id(app)
    url = f"{BASE}/fidelite/reunions"
    assert manager.get(url).status_code == 200
    base = {"action": "host", "beneficiary": "customer", "reward": "points_fixed", "points": "", "percent": "",
            "amount": "", "promotion_id": "", "min_revenue": "", "min_orders": ""}
    cases = [
        ({}, "Indiquez un nombre de points supérieur à zéro"),
        ({"points": "abc"}, "Un nombre entier de points"),
        ({"reward": "points_percent", "percent": "abc"}, "Pourcentage invalide"),
        ({"reward": "points_percent", "percent": "150"}, "entre 0,01 et 100"),
        ({"reward": "gift_set"}, "Choisissez le ou les vins offerts"),
        ({"reward": "voucher", "amount": "douze"}, "Montant invalide"),
        ({"reward": "voucher"}, "Indiquez un montant supérieur à zéro"),
        ({"reward": "promo_code"}, "Choisissez une promotion à code"),
        ({"action": "nimporte", "points": "10"}, "Choisissez une action de la liste"),
        ({"points": "10", "min_orders": "-1"}, "Un nombre entier de commandes"),
    ]
    for overrides, message in cases:
        response = manager.post(url, data={**base, **overrides})
        body = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 422, overrides
        assert message in body, (overrides, body[-3000:])
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(RewardRule)) == 0
        wine_ids = session.scalars(select(Wine.id).where(Wine.estate_id == estate_id).limit(2)).all()

    ok = manager.post(url, data={**base, "reward": "points_percent", "percent": "7,5", "min_revenue": "100"})
    assert ok.status_code == 302
    gift = manager.post(url, data={**base, "action": "during", "reward": "gift_choice"} | {"wine_ids": wine_ids})
    assert gift.status_code == 302
    with session_for(app) as session:
        rules = session.scalars(select(RewardRule).order_by(RewardRule.id)).all()
        assert [(r.reward, r.percent_bp, r.min_revenue_cents) for r in rules][0] == ("points_percent", 750, 10000)
        assert sorted(w.id for w in rules[1].wines) == sorted(wine_ids)
        rule_id = rules[0].id
    page = html.unescape(manager.get(url).get_data(as_text=True))
    assert "7,5 % du chiffre d'affaires en points" in page
    assert manager.post(f"{url}/{rule_id}/supprimer").status_code == 302
    assert manager.post(f"{url}/reglages", data={"tasting_points_in_current": "y"}).status_code == 302
    with session_for(app) as session:
        assert session.get(RewardRule, rule_id) is None
        assert session.get(Estate, estate_id).tasting_points_in_current is True


# ------------------------------------------------------------------------ isolation


def test_a_seller_sees_only_the_customers_they_serve_and_only_their_estate(app):
    manager = _manager(app)
    seller, _ = _add_seller(app, manager, "vendeuse@exemple.fr")
    tasting_id = _create_tasting(seller)
    host_id = _host_id(app, tasting_id)
    own_id, other_id = _estate_id(app), _estate_id(app, OTHER)
    with session_for(app) as session:
        stranger = session.scalars(select(EstateCustomer.id).where(
            EstateCustomer.estate_id == own_id, EstateCustomer.id != host_id)).first()
        rozel_customer = session.scalars(select(EstateCustomer.id).where(
            EstateCustomer.estate_id == other_id)).first()
    assert seller.get(f"{BASE}/reunions/clients/{host_id}").status_code == 200
    assert seller.get(f"{BASE}/reunions/clients/{stranger}").status_code == 404
    assert seller.get(f"{BASE}/reunions/clients/{rozel_customer}").status_code == 404
    assert manager.get(f"{BASE}/reunions/clients/{stranger}").status_code == 200
    assert manager.get(f"{BASE}/reunions/clients/{rozel_customer}").status_code == 404
    for path in ("/reunions", "/reunions/clients", "/", "/commandes"):
        assert seller.get(f"/gestion/{OTHER}{path}").status_code == 404, path
    own = seller.get(f"{BASE}/reunions/ma-fiche")
    assert own.status_code == 200 and "vendeuse@exemple.fr" in own.get_data(as_text=True)
    report = seller.get(f"{BASE}/reunions/rapport").get_data(as_text=True)
    assert "Sophie Martin" in report and "Étienne Vernay" not in report
    assert seller.get(f"{BASE}/reunions/rapport?du=abc").status_code == 422
