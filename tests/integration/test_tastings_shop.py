"""Home tastings, the guest's side (issue 12, seed 003): the host's invitation link
(sign-up, "Je participe", one's own orders only), "Mes cadeaux" (choosing a gift makes a
paid order at 0 €), and ordering during the tasting with delivery to the host."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from models import (
    DeliveryKind,
    Estate,
    EstateCustomer,
    Order,
    OrderStatus,
    PaymentMode,
    Reward,
    Tasting,
    TastingGuest,
    User,
    Wine,
)
from services import orders, rewards, tastings
from services.tenancy import scope_to_estate
from tests.conftest import DEMO_PASSWORD, TEST_SECRET, checkout_form, first_orderable_wine, login, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
SELLER = "vigneron@vernette.example"
HOST = "client@chai.example"  #: Claire Dumont, already a Vernette customer
GUEST = "caviste@chai.example"  #: Julien Marchand, a verified professional
PUBLIC_URL = "http://shop.test"
UTC = timezone.utc


def _estate(session, slug: str) -> Estate:  # type: ignore[no-untyped-def]
    return session.scalars(select(Estate).where(Estate.slug == slug)).one()


def _user(session, email: str) -> User:  # type: ignore[no-untyped-def]
    return session.scalars(select(User).where(User.email == email)).one()


def _create_tasting(app, *, slug: str = VERNETTE, host_email: str = HOST, host_first_name: str = "Claire",
                    place: str = "12 rue de la Charité, Lyon") -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A tasting in a week at ``slug``, its seller the Vernette vigneron: (id, token)."""
    with session_for(app) as session:
        estate = _estate(session, slug)
        scope_to_estate(session, estate.id)
        now = datetime.now(UTC)
        tasting = tastings.create(session, estate, tastings.TastingData(host_email, host_first_name, "Dumont",
                                                                        now + timedelta(days=7), place),
                                  _user(session, SELLER), now=now, secret_key=TEST_SECRET, public_url=PUBLIC_URL)
        session.commit()
        return tasting.id, tasting.token


def _set_status(app, tasting_id: int, status: str) -> None:
    with session_for(app) as session:
        session.get(Tasting, tasting_id).status = status
        session.commit()


def _guests(app, tasting_id: int) -> list[str]:
    with session_for(app) as session:
        return list(session.scalars(select(EstateCustomer.email).join(TastingGuest,
                                                                      TastingGuest.customer_id == EstateCustomer.id)
                                    .where(TastingGuest.tasting_id == tasting_id).order_by(EstateCustomer.email)))


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def _signed_in(app, email: str):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email)
    return client


def _signup(**overrides: str) -> dict[str, str]:
    data = {"first_name": "Lucie", "last_name": "Berthier", "email": "lucie.berthier@exemple.fr",
            "password": "trois chats sur un toit", "confirm": "trois chats sur un toit", "adult": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _join(app, tasting_id: int, email: str) -> None:
    with session_for(app) as session:
        estate = session.scalars(select(Estate).join(Tasting, Tasting.estate_id == Estate.id)
                                 .where(Tasting.id == tasting_id)).one()
        scope_to_estate(session, estate.id)
        tastings.join(session, estate, session.get(Tasting, tasting_id), _user(session, email),
                      now=datetime.now(UTC))
        session.commit()


def _take_order(app, tasting_id: int, email: str, quantity: int) -> tuple[str, int]:
    """The seller's order for a participant in the tasting: (number, total TTC)."""
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    with session_for(app) as session:
        estate = _estate(session, VERNETTE)
        scope_to_estate(session, estate.id)
        tasting = session.get(Tasting, tasting_id)
        customer = orders.find_customer(session, _user(session, email))
        data = orders.CheckoutData(email=email, first_name=customer.first_name, last_name=customer.last_name,
                                   phone="", company="", street="3 rue des Lilas", postcode="69007", city="Lyon",
                                   country="FR", payment_mode=PaymentMode.CHEQUE, delivery_key=f"tasting:{tasting_id}")
        order = tastings.take_order(session, estate, tasting=tasting, customer=customer, quantities={wine_id: quantity},
                                    data=data, seller=_user(session, SELLER), checkout_token=secrets.token_urlsafe(16),
                                    now=datetime.now(UTC), public_url=PUBLIC_URL)
        session.commit()
        return order.number, order.total_ttc_cents


# ----------------------------------------------------------------- the invitation


def test_an_unknown_token_or_another_estates_token_is_404(app, client):
    tasting_id, token = _create_tasting(app)
    assert client.get(f"/{VERNETTE}/reunion/{token}").status_code == 200
    assert client.get(f"/{VERNETTE}/reunion/pas-un-jeton").status_code == 404
    assert client.get(f"/{VERNETTE}/reunion/{'x' * 5000}").status_code == 404
    assert client.get(f"/{ROZEL}/reunion/{token}").status_code == 404
    assert client.post(f"/{ROZEL}/reunion/{token}", data=_signup()).status_code == 404
    member = _signed_in(app, GUEST)
    assert member.post(f"/{ROZEL}/reunion/{token}/participer").status_code == 404
    assert member.post(f"/{ROZEL}/reunion/{token}/commander").status_code == 404
    assert _guests(app, tasting_id) == []


def test_the_invitation_shows_the_tasting_and_a_sign_up_form(app, client):
    _, token = _create_tasting(app)
    text = text_of(client.get(f"/{VERNETTE}/reunion/{token}"))
    assert "Domaine de la Vernette" in text and "Chez Claire" in text and "12 rue de la Charité" in text
    assert "Étienne Vernay" in text and "Prévue" in text
    assert "Dumont" not in text and HOST not in text  # the host's first name only
    assert 'name="password"' in text and 'name="adult"' in text
    assert f"/compte/connexion?next=/{VERNETTE}/reunion/{token}" in text


def test_a_visitor_signs_up_through_the_link_and_joins_the_tasting(app, client):
    tasting_id, token = _create_tasting(app)
    response = client.post(f"/{VERNETTE}/reunion/{token}", data=_signup())
    assert response.status_code == 302, text_of(response)[:3000]
    assert response.headers["Location"].endswith(f"/{VERNETTE}/reunion/{token}")
    with session_for(app) as session:
        user = _user(session, "lucie.berthier@exemple.fr")
        assert (user.first_name, user.last_name) == ("Lucie", "Berthier")
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.user_id == user.id)).one()
        assert customer.estate_id == _estate(session, VERNETTE).id
    assert _guests(app, tasting_id) == ["lucie.berthier@exemple.fr"]
    text = text_of(client.get(f"/{VERNETTE}/reunion/{token}"))  # signed in now
    assert "Vous participez à cette réunion." in text and "Lucie" in text and "Claire" in text
    assert 'name="password"' not in text


def test_sign_up_errors_are_french_and_create_nothing(app, client):
    tasting_id, token = _create_tasting(app)
    users = _count(app, User)
    for data in (_signup(adult=None), _signup(confirm="autre chose encore"), _signup(password="court"),
                 _signup(email="pas-une-adresse"), _signup(first_name="")):
        response = client.post(f"/{VERNETTE}/reunion/{token}", data=data)
        assert response.status_code == 422
    text = text_of(client.post(f"/{VERNETTE}/reunion/{token}", data=_signup(adult=None)))
    assert "La vente d'alcool est interdite aux mineurs." in text
    assert _count(app, User) == users and _guests(app, tasting_id) == []


def test_an_email_with_an_account_is_invited_to_log_in_and_nothing_is_created(app, client):
    tasting_id, token = _create_tasting(app)
    users, customers = _count(app, User), _count(app, EstateCustomer)
    response = client.post(f"/{VERNETTE}/reunion/{token}", data=_signup(email=GUEST.upper()))
    assert response.status_code == 422
    assert "Un compte existe déjà avec cette adresse : connectez-vous pour participer à la réunion." in text_of(response)
    assert (_count(app, User), _count(app, EstateCustomer)) == (users, customers)
    assert _guests(app, tasting_id) == []


def test_a_closed_or_cancelled_tasting_refuses_joining(app, client):
    tasting_id, token = _create_tasting(app)
    for status, word in (("closed", "terminée"), ("cancelled", "annulée")):
        _set_status(app, tasting_id, status)
        users = _count(app, User)
        text = text_of(client.get(f"/{VERNETTE}/reunion/{token}"))
        assert f"Cette réunion est {word}" in text and 'name="password"' not in text
        response = client.post(f"/{VERNETTE}/reunion/{token}", data=_signup())
        assert response.status_code == 409 and f"Cette réunion est {word}" in text_of(response)
        assert _count(app, User) == users
        member = _signed_in(app, GUEST)
        assert "Je participe" not in text_of(member.get(f"/{VERNETTE}/reunion/{token}"))
        response = member.post(f"/{VERNETTE}/reunion/{token}/participer")
        assert response.status_code == 409 and f"Cette réunion est {word}" in text_of(response)
        assert member.post(f"/{VERNETTE}/reunion/{token}/commander").status_code == 409
    assert _guests(app, tasting_id) == []


def test_a_signed_in_user_joins_with_je_participe_once(app):
    tasting_id, token = _create_tasting(app)
    member = _signed_in(app, GUEST)
    text = text_of(member.get(f"/{VERNETTE}/reunion/{token}"))
    assert "Je participe" in text and "Vous participez" not in text and 'name="password"' not in text
    for _ in range(2):
        response = member.post(f"/{VERNETTE}/reunion/{token}/participer")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/reunion/{token}")
    assert _guests(app, tasting_id) == [GUEST]
    text = text_of(member.get(f"/{VERNETTE}/reunion/{token}"))
    assert "Vous participez à cette réunion." in text and "Je participe" not in text
    assert "Julien" in text and "Marchand" not in text


def test_je_participe_sends_a_visitor_to_log_in_and_back(app, client):
    tasting_id, token = _create_tasting(app)
    response = client.post(f"/{VERNETTE}/reunion/{token}/participer")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/compte/connexion?next=/{VERNETTE}/reunion/{token}")
    response = client.post(f"/compte/connexion?next=/{VERNETTE}/reunion/{token}",
                           data={"email": GUEST, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == f"/{VERNETTE}/reunion/{token}"
    assert "Je participe" in text_of(client.get(f"/{VERNETTE}/reunion/{token}"))
    assert _guests(app, tasting_id) == []


def test_the_host_takes_part_without_joining(app):
    _, token = _create_tasting(app)
    host = _signed_in(app, HOST)
    text = text_of(host.get(f"/{VERNETTE}/reunion/{token}"))
    assert "Vous participez à cette réunion." in text and "Je participe" not in text and "(hôte)" in text


def test_a_guest_sees_their_own_orders_only(app):
    tasting_id, token = _create_tasting(app)
    _join(app, tasting_id, GUEST)
    client = visitor(app)
    assert client.post(f"/{VERNETTE}/reunion/{token}", data=_signup()).status_code == 302  # Lucie, signed in
    own_number, own_total = _take_order(app, tasting_id, "lucie.berthier@exemple.fr", 6)
    other_number, other_total = _take_order(app, tasting_id, GUEST, 18)
    host_number, _ = _take_order(app, tasting_id, HOST, 12)
    assert own_total != other_total
    text = text_of(client.get(f"/{VERNETTE}/reunion/{token}"))
    assert own_number in text
    assert other_number not in text and host_number not in text
    from services.templating import euros

    with client.application.test_request_context():
        assert euros(other_total) not in text
    assert "Julien" in text and "Claire" in text  # first names only
    assert "Marchand" not in text and GUEST not in text
    assert client.get(f"/{VERNETTE}/commande/{own_number}").status_code == 200
    assert client.get(f"/{VERNETTE}/commande/{other_number}").status_code == 404
    assert client.get(f"/{VERNETTE}/commande/{host_number}").status_code == 404


def test_someone_who_does_not_take_part_sees_neither_participants_nor_orders(app):
    tasting_id, token = _create_tasting(app)
    _join(app, tasting_id, GUEST)
    number, _ = _take_order(app, tasting_id, GUEST, 6)
    anonymous = visitor(app)
    text = text_of(anonymous.get(f"/{VERNETTE}/reunion/{token}"))
    assert number not in text and "Julien" not in text and "Participants" not in text
    stranger = visitor(app)
    response = stranger.post("/compte/inscription", data=_signup(phone=""))
    assert response.status_code == 302, text_of(response)[:2000]
    text = text_of(stranger.get(f"/{VERNETTE}/reunion/{token}"))
    assert "Je participe" in text and number not in text and "Julien" not in text and "Participants" not in text


# -------------------------------------------------------------------- my gifts


def _gift_wines(app, n: int = 3) -> list[tuple[int, str]]:
    with session_for(app) as session:
        estate = _estate(session, VERNETTE)
        wines = session.scalars(select(Wine).where(Wine.estate_id == estate.id, Wine.is_available.is_(True),
                                                   Wine.stock >= 5).order_by(Wine.id).limit(n)).all()
        assert len(wines) == n
        return [(w.id, w.name) for w in wines]


def _close_with_a_gift_for_the_host(app, tasting_id: int, wine_ids: tuple[int, ...]) -> int:
    """A "gift_choice" rule for the host, then the tasting closed: the host's reward id."""
    with session_for(app) as session:
        estate = _estate(session, VERNETTE)
        scope_to_estate(session, estate.id)
        rewards.save_rule(session, estate, rewards.RuleData(action="host", reward="gift_choice", wine_ids=wine_ids))
        given = rewards.close(session, estate, session.get(Tasting, tasting_id), actor=_user(session, SELLER),
                              now=datetime.now(UTC), public_url=PUBLIC_URL)
        session.commit()
        (reward,) = [r for r in given if r.reward == "gift_choice"]
        assert reward.status == "to_choose"
        return reward.id


def _reward(app, reward_id: int) -> Reward:
    with session_for(app) as session:
        reward = session.get(Reward, reward_id)
        session.expunge(reward)
        return reward


def test_my_gifts_asks_to_log_in(app, client):
    response = client.get(f"/{VERNETTE}/mes-cadeaux")
    assert response.status_code == 302 and "/compte/connexion" in response.headers["Location"]
    assert "next=" in response.headers["Location"] and "mes-cadeaux" in response.headers["Location"]
    assert client.post(f"/{VERNETTE}/mes-cadeaux/1", data={"wine_id": "1"}).status_code == 302


def test_the_host_chooses_a_gift_once_and_gets_a_paid_order_at_zero(app):
    tasting_id, token = _create_tasting(app)
    (w1, name1), (w2, name2), (w3, _) = _gift_wines(app)
    reward_id = _close_with_a_gift_for_the_host(app, tasting_id, (w1, w2))
    host = _signed_in(app, HOST)

    text = text_of(host.get(f"/{VERNETTE}/reunion/{token}"))
    assert "Choisir mon cadeau" in text and f"/{VERNETTE}/mes-cadeaux" in text
    text = text_of(host.get(f"/{VERNETTE}/mes-cadeaux"))
    assert "Cadeau au choix" in text and name1 in text and name2 in text
    assert f'action="/{VERNETTE}/mes-cadeaux/{reward_id}"' in text

    with session_for(app) as session:
        stock = session.get(Wine, w1).stock
        orders_before = session.scalar(select(func.count()).select_from(Order))
    for bad in (str(w3), "", "abc", "-1", "9" * 40):
        response = host.post(f"/{VERNETTE}/mes-cadeaux/{reward_id}", data={"wine_id": bad})
        assert response.status_code == 422, bad
        assert "Ce vin ne fait pas partie des cadeaux proposés" in text_of(response)
    assert _reward(app, reward_id).status == "to_choose"

    response = host.post(f"/{VERNETTE}/mes-cadeaux/{reward_id}", data={"wine_id": str(w1)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{VERNETTE}/mes-cadeaux")
    reward = _reward(app, reward_id)
    assert reward.status == "chosen" and reward.gift_order_id is not None
    with session_for(app) as session:
        order = session.get(Order, reward.gift_order_id)
        assert order.status is OrderStatus.PAID and order.total_ttc_cents == 0 and order.tasting_id == tasting_id
        assert [(line.kind, line.wine_id, line.quantity, line.ttc_cents) for line in order.lines] == [("gift", w1, 1, 0)]
        assert session.get(Wine, w1).stock == stock - 1
        assert session.scalar(select(func.count()).select_from(Order)) == orders_before + 1
        number = order.number
    text = text_of(host.get(f"/{VERNETTE}/mes-cadeaux"))
    assert f"Votre cadeau est ajouté à la commande {number}" in text
    assert f"/{VERNETTE}/commande/{number}" in text
    assert host.get(f"/{VERNETTE}/commande/{number}").status_code == 200

    response = host.post(f"/{VERNETTE}/mes-cadeaux/{reward_id}", data={"wine_id": str(w2)})
    assert response.status_code == 409 and "Vous avez déjà choisi ce cadeau." in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == orders_before + 1
    assert "Choisir mon cadeau" not in text_of(host.get(f"/{VERNETTE}/reunion/{token}")).split("Participants")[1]


def test_another_users_reward_or_another_estates_is_404(app):
    tasting_id, _ = _create_tasting(app)
    (w1, _), (w2, _), _unused = _gift_wines(app)
    reward_id = _close_with_a_gift_for_the_host(app, tasting_id, (w1, w2))
    other = _signed_in(app, GUEST)  # a Vernette customer too
    assert other.post(f"/{VERNETTE}/mes-cadeaux/{reward_id}", data={"wine_id": str(w1)}).status_code == 404
    assert other.post(f"/{VERNETTE}/mes-cadeaux/999999", data={"wine_id": str(w1)}).status_code == 404
    host = _signed_in(app, HOST)
    assert host.post(f"/{ROZEL}/mes-cadeaux/{reward_id}", data={"wine_id": str(w1)}).status_code == 404
    assert "Cadeau au choix" not in text_of(other.get(f"/{VERNETTE}/mes-cadeaux"))
    assert _reward(app, reward_id).status == "to_choose"


def test_an_out_of_stock_gift_is_refused_and_nothing_changes(app):
    tasting_id, _ = _create_tasting(app)
    (w1, name1), (w2, _), _unused = _gift_wines(app)
    reward_id = _close_with_a_gift_for_the_host(app, tasting_id, (w1, w2))
    with session_for(app) as session:
        session.get(Wine, w1).stock = 0
        session.commit()
        orders_before = session.scalar(select(func.count()).select_from(Order))
    host = _signed_in(app, HOST)
    assert "épuisé pour le moment" in text_of(host.get(f"/{VERNETTE}/mes-cadeaux"))
    response = host.post(f"/{VERNETTE}/mes-cadeaux/{reward_id}", data={"wine_id": str(w1)})
    assert response.status_code == 409 and "est épuisé" in text_of(response)
    assert _reward(app, reward_id).status == "to_choose"
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == orders_before


def test_my_gifts_shows_the_card(app):
    with session_for(app) as session:
        estate = _estate(session, VERNETTE)
        scope_to_estate(session, estate.id)
        customer = orders.find_customer(session, _user(session, GUEST))
        from services import loyalty, vouchers

        loyalty.post(session, customer, 150, "earned", "Réunion", unit="points")
        voucher = vouchers.issue(session, estate, customer, 1500, "Réunion", PUBLIC_URL)
        session.commit()
        code = voucher.code
    member = _signed_in(app, GUEST)
    text = text_of(member.get(f"/{VERNETTE}/mes-cadeaux"))
    assert "150" in text and code in text and "15,00" in text
    assert "Vous n'avez pas de cadeau à choisir pour le moment." in text
    newcomer = visitor(app)
    _, token = _create_tasting(app, slug=ROZEL)
    assert newcomer.post(f"/{ROZEL}/reunion/{token}", data=_signup()).status_code == 302
    assert newcomer.get(f"/{VERNETTE}/mes-cadeaux").status_code == 200  # no card at Vernette: said so


# -------------------------------------------------------- ordering in the tasting


def _fill_cart(client, wine_id: int, quantity: int = 6) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)}).status_code == 302


def _checkout(**overrides: str) -> dict[str, str]:
    return checkout_form(email=None, password=None, confirm=None, **overrides)


def test_a_guest_orders_during_the_tasting_delivered_to_the_host(app):
    tasting_id, token = _create_tasting(app)
    _join(app, tasting_id, GUEST)
    member = _signed_in(app, GUEST)
    text = text_of(member.get(f"/{VERNETTE}/reunion/{token}"))
    assert "Commander pendant la réunion" in text
    response = member.post(f"/{VERNETTE}/reunion/{token}/commander")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{VERNETTE}/")
    assert "Vous commandez pendant la réunion chez Claire" in text_of(member.get(f"/{VERNETTE}/"))
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(member, wine_id)
    page = text_of(member.get(f"/{VERNETTE}/commande"))
    assert "Livraison chez l'hôte (Claire Dumont)" in page and f'value="tasting:{tasting_id}"' in page
    response = member.post(f"/{VERNETTE}/commande", data=_checkout(token="tasting-1", delivery=f"tasting:{tasting_id}",
                                                                  payment_mode="cheque"))
    assert response.status_code == 302, text_of(response)[:3000]
    with session_for(app) as session:
        order = session.scalars(select(Order).where(Order.checkout_token == "tok-tasting-1")).one()
        seller = _user(session, SELLER)
        assert (order.tasting_id, order.seller_user_id, order.delivery_kind) == (tasting_id, seller.id,
                                                                                 DeliveryKind.TASTING)
        assert order.shipping_ttc_cents == 0
        number = order.number
    assert number in text_of(member.get(f"/{VERNETTE}/reunion/{token}"))
    with session_for(app) as session:
        assert tastings.revenue(session, tasting_id).orders == 1


def test_ordering_in_the_tasting_needs_a_participant_and_an_open_tasting(app):
    tasting_id, token = _create_tasting(app)
    member = _signed_in(app, GUEST)
    response = member.post(f"/{VERNETTE}/reunion/{token}/commander")  # not a guest yet
    assert response.status_code == 403 and "Je participe" in text_of(response)
    anonymous = visitor(app)
    response = anonymous.post(f"/{VERNETTE}/reunion/{token}/commander")
    assert response.status_code == 302 and "/compte/connexion" in response.headers["Location"]

    _join(app, tasting_id, GUEST)
    assert member.post(f"/{VERNETTE}/reunion/{token}/commander").status_code == 302
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(member, wine_id)
    assert f"tasting:{tasting_id}" in text_of(member.get(f"/{VERNETTE}/commande"))
    _set_status(app, tasting_id, "closed")  # closed while the guest shops
    page = text_of(member.get(f"/{VERNETTE}/commande"))
    assert f"tasting:{tasting_id}" not in page and "Cette réunion ne prend plus de commande" in page
    response = member.post(f"/{VERNETTE}/commande", data=_checkout(token="late", delivery=f"tasting:{tasting_id}"))
    assert response.status_code == 422
    response = member.post(f"/{VERNETTE}/commande", data=_checkout(token="late2", delivery="pickup"))
    assert response.status_code == 302, text_of(response)[:3000]
    with session_for(app) as session:
        order = session.scalars(select(Order).where(Order.checkout_token == "tok-late2")).one()
        assert order.tasting_id is None and order.seller_user_id is None


def test_leaving_the_tasting_mode_takes_the_host_delivery_away(app):
    tasting_id, token = _create_tasting(app)
    _join(app, tasting_id, GUEST)
    member = _signed_in(app, GUEST)
    assert member.post(f"/{VERNETTE}/reunion/{token}/commander").status_code == 302
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(member, wine_id)
    assert f"tasting:{tasting_id}" in text_of(member.get(f"/{VERNETTE}/commande"))
    assert member.post(f"/{VERNETTE}/reunion/quitter").status_code == 302
    page = text_of(member.get(f"/{VERNETTE}/commande"))
    assert f"tasting:{tasting_id}" not in page and "Vous commandez pendant la réunion" not in page
    other = _signed_in(app, HOST)  # tasting mode is the browser's: another session has none
    _fill_cart(other, wine_id)
    assert f"tasting:{tasting_id}" not in text_of(other.get(f"/{VERNETTE}/commande"))
