"""Reservations (seed 000): wines not yet available, reserved and paid before release,
"Réservée" until every reserved wine is available, the cap under concurrency."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from models import AuditEntry, Estate, Order, OrderLine, OrderStatus, OutboxMessage, Price, PriceList, Wine
from tests.conftest import at_once, body_of, checkout_form, first_orderable_wine, login, make_app, session_for, text_of, visitor

VERNETTE = "domaine-de-la-vernette"
HX = {"HX-Request": "true"}


def _reservable_wine(app, *, cap: int | None = None,  # type: ignore[no-untyped-def]
                     reservation_cents: int | None = None, estate_on: bool = True, wine_open: bool = True):
    """An unavailable Vernette wine with no stock, reservations set as asked; returns
    (wine id, "Particuliers" list id, usual price, reservation price)."""
    wine_id, _, unit = first_orderable_wine(app, VERNETTE)
    with session_for(app) as session:
        wine = session.get(Wine, wine_id)
        wine.is_available, wine.stock = False, 0
        wine.reservation_open, wine.reservation_cap = wine_open, cap
        session.get(Estate, wine.estate_id).reservations_enabled = estate_on
        price = session.scalars(select(Price).join(PriceList).where(
            Price.wine_id == wine_id, PriceList.name == "Particuliers")).one()
        price.reservation_cents = reservation_cents
        session.commit()
        return wine_id, price.price_list_id, unit, reservation_cents or unit


def _wine(app, wine_id: int) -> Wine:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.get(Wine, wine_id)


def _orders(app) -> list[Order]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return list(session.scalars(select(Order).order_by(Order.id)))


def _reserve(client, wine_id: int, quantity: int = 6):  # type: ignore[no-untyped-def]
    return client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)})


def _staff(app):  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    return staff


def _set_status(staff, order_id: int, to: str):  # type: ignore[no-untyped-def]
    return staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": to}, headers=HX)


def _row(**overrides: str) -> dict[str, str]:
    """The "Modifier" row of an unavailable wine, as the form posts it."""
    data = {"price": "20,00", "promo_price": "", "vintage": "", "stock": "0", "available_again_month": "0",
            "available_again_year": "", "is_visible": "y", "reservation_open": "y", "reservation_price": "",
            "reservation_cap": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _ready_emails(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        ready = OutboxMessage.subject.like("%réservés sont disponibles%")
        return list(session.scalars(select(OutboxMessage).where(ready)))


def test_an_unavailable_wine_open_to_reservation_is_ordered_at_its_reservation_price(app, client):
    wine_id, _, unit, reserved_unit = _reservable_wine(app, reservation_cents=1500, cap=60)
    assert reserved_unit < unit
    page = text_of(client.get(f"/{VERNETTE}/"))
    card = page[page.index(f'id="vin-{wine_id}"'):][:3000]
    card = card.split("</article>")[0]
    assert "Réserver 1 bouteille" in card and 'Réservation : <strong class="price">15,00' in card
    wine_page = text_of(client.get(f"/{VERNETTE}/vin/{wine_id}"))
    assert "Réserver 1 bouteille" in wine_page and 'Réservation : <strong class="price">15,00' in wine_page
    assert _reserve(client, wine_id).status_code == 302  # no stock: the cap is what counts
    cart = text_of(client.get(f"/{VERNETTE}/panier"))
    assert "Réservation : " in cart and "15,00" in cart and "Expédiée dès que le vin sera disponible." in cart
    checkout = text_of(client.get(f"/{VERNETTE}/commande"))
    assert "Réservation : " in checkout
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert response.status_code == 302 and "/commande/VER-" in response.headers["Location"]
    (order,) = _orders(app)
    with session_for(app) as session:
        (line,) = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.kind == "goods"))
        assert line.reserved and line.unit_price_cents == 1500 and line.quantity == 6
        assert order.total_ttc_cents == 6 * 1500 + order.shipping_ttc_cents
        wine = session.get(Wine, wine_id)
        assert wine.stock == 0 and wine.reserved_count == 6
    staff = _staff(app)
    response = _set_status(staff, order.id, "paid")  # "Paiement reçu"
    assert response.status_code == 200 and "Réservée" in text_of(response)
    (order,) = _orders(app)
    assert order.status is OrderStatus.RESERVED and order.paid_at is not None


def test_a_reserved_order_ships_only_once_its_wines_are_available_and_the_customer_is_told_once(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    client = visitor(app)
    wine_id, list_id, *_ = _reservable_wine(app)
    _reserve(client, wine_id)
    client.post(f"/{VERNETTE}/commande", data=checkout_form())
    (order,) = _orders(app)
    staff = _staff(app)
    _set_status(staff, order.id, "paid")
    for to in ("shipped", "preparing", "delivered"):
        response = _set_status(staff, order.id, to)
        body = text_of(response)
        assert response.status_code == 422
        assert "Commande réservée : pas encore disponible" in body and f"« {_wine(app, wine_id).name} »" in body
    (order,) = _orders(app)
    assert order.status is OrderStatus.RESERVED and order.shipped_at is None
    table = text_of(staff.get(f"/gestion/{VERNETTE}/commandes"))
    assert "Prête à expédier" not in table
    assert order.number not in text_of(staff.get(f"/gestion/{VERNETTE}/commandes?reservations=pretes"))

    url = f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}"
    assert staff.post(url, data=_row(stock="24", is_available="y"), headers=HX).status_code == 200
    assert len(_ready_emails(app)) == 1
    with session_for(app) as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
    messages = smtp.mailbox.wait_for(queued)  # confirmation, the estate's copy, the ready email
    ready = [m for m in messages if "Bonne nouvelle" in body_of(m)]
    assert len(ready) == 1 and ready[0]["To"] == "nouveau@client.example"
    ready_table = text_of(staff.get(f"/gestion/{VERNETTE}/commandes?reservations=pretes"))
    assert order.number in ready_table and "Prête à expédier" in ready_table
    # saved again, made unavailable and available again: still one email
    staff.post(url, data=_row(stock="24", is_available="y"), headers=HX)
    staff.post(url, data=_row(stock="24", is_available=None), headers=HX)
    staff.post(url, data=_row(stock="24", is_available="y"), headers=HX)
    assert len(_ready_emails(app)) == 1
    response = _set_status(staff, order.id, "shipped")
    assert response.status_code == 200
    (order,) = _orders(app)
    assert order.status is OrderStatus.SHIPPED and order.reservation_ready_at is not None


def test_a_card_payment_of_a_reservation_makes_it_reserved(database, sandbox):
    from tests.integration.test_checkout import _pay_on_sandbox

    app = make_app(database, MANGOPAY_BASE_URL=sandbox.base_url, PUBLIC_URL="http://shop.test")
    client = visitor(app)
    wine_id, *_ = _reservable_wine(app, reservation_cents=1200)
    _reserve(client, wine_id)
    redirect_url = client.post(f"/{VERNETTE}/commande", data=checkout_form(payment_mode="card")).headers["Location"]
    back = _pay_on_sandbox(redirect_url, "accept")
    client.get(back.removeprefix("http://shop.test"), follow_redirects=True)
    (order,) = _orders(app)
    assert order.status is OrderStatus.RESERVED and order.paid_at is not None


def test_reservations_off_give_a_clear_message_and_change_nothing(app, client):
    for estate_on, wine_open in ((False, True), (True, False)):
        wine_id, *_ = _reservable_wine(app, estate_on=estate_on, wine_open=wine_open)
        page = text_of(client.get(f"/{VERNETTE}/"))
        card = page[page.index(f'id="vin-{wine_id}"'):][:3000]
        assert "Réserver" not in card.split("</article>")[0]
        response = _reserve(client, wine_id)
        assert response.status_code == 302
        message = ("n'est pas encore disponible et ne peut pas être réservé." if estate_on
                   else "n'est pas disponible à la vente.")
        assert message in text_of(client.get(response.headers["Location"]))
        response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}, headers=HX)
        assert response.status_code == 422 and message in text_of(response)
        assert "Votre panier est vide." in text_of(client.get(f"/{VERNETTE}/panier"))
        assert _wine(app, wine_id).reserved_count == 0
    assert _orders(app) == []


def test_only_the_platform_operator_switches_reservations(app):
    staff = _staff(app)
    data = {"name": "Domaine de la Vernette", "minimum_order": "0", "case_size": "6", "mixing_allowed": "y",
            "siret": "", "reservations_enabled": "y"}
    assert "Réservations de vins non disponibles" not in text_of(staff.get(f"/gestion/{VERNETTE}/domaine"))
    assert staff.post(f"/gestion/{VERNETTE}/domaine", data=data).status_code == 302  # the rest is saved
    with session_for(app) as session:
        assert session.scalars(select(Estate.reservations_enabled).where(Estate.slug == VERNETTE)).one() is False
    operator = visitor(app)
    login(operator, "operateur@chai.example")
    assert "Réservations de vins non disponibles" in text_of(operator.get(f"/gestion/{VERNETTE}/domaine"))
    assert operator.post(f"/gestion/{VERNETTE}/domaine", data=data).status_code == 302
    with session_for(app) as session:
        assert session.scalars(select(Estate.reservations_enabled).where(Estate.slug == VERNETTE)).one() is True
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "estate.options")).one()
        assert json.loads(entry.after) == {"reservations_enabled": True}
    staff.post(f"/gestion/{VERNETTE}/domaine", data={k: v for k, v in data.items() if k != "reservations_enabled"})
    with session_for(app) as session:  # the staff's form has no such box: unticked by omission changes nothing
        assert session.scalars(select(Estate.reservations_enabled).where(Estate.slug == VERNETTE)).one() is True


def test_the_vigneron_sets_price_cap_and_stops_reservations_in_the_modifier_row(app):
    wine_id, list_id, unit, _ = _reservable_wine(app, cap=None)
    staff = _staff(app)
    url = f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}"
    usual = f"{unit // 100},{unit % 100:02d}"
    form = text_of(staff.get(url, headers=HX))
    assert 'name="reservation_price"' in form and 'name="reservation_cap"' in form
    higher = f"{(unit + 100) // 100},{(unit + 100) % 100:02d}"
    response = staff.post(url, data=_row(price=usual, reservation_price=higher), headers=HX)
    assert response.status_code == 422
    assert "Le prix de réservation doit être égal ou inférieur au prix normal." in text_of(response)
    with session_for(app) as session:
        (price,) = session.scalars(select(Price).where(Price.wine_id == wine_id, Price.price_list_id == list_id))
        assert price.reservation_cents is None
    response = staff.post(url, data=_row(price=usual, reservation_price="15,00", reservation_cap="12"), headers=HX)
    assert response.status_code == 200 and "15,00" in text_of(response)
    with session_for(app) as session:
        price = session.scalars(select(Price).where(Price.wine_id == wine_id, Price.price_list_id == list_id)).one()
        wine = session.get(Wine, wine_id)
        assert (price.reservation_cents, wine.reservation_cap, wine.reservation_open) == (1500, 12, True)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "price.update")
                                .order_by(AuditEntry.id.desc())).first()
        after = json.loads(entry.after)
        assert after["reservation_cents"] == 1500 and after["reservation_cap"] == 12
    customer = visitor(app)
    _reserve(customer, wine_id)
    customer.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert _wine(app, wine_id).reserved_count == 6
    response = staff.post(url, data=_row(price=usual, reservation_price="15,00", reservation_cap="5"), headers=HX)
    assert response.status_code == 422
    assert "Le plafond ne peut pas être inférieur aux 6 bouteilles déjà réservées." in text_of(response)
    assert _wine(app, wine_id).reservation_cap == 12
    # "arrêter les réservations"
    assert staff.post(url, data=_row(price=usual, reservation_open=None, reservation_cap="12"),
                      headers=HX).status_code == 200
    assert _wine(app, wine_id).reservation_open is False
    response = visitor(app).post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}, headers=HX)
    assert response.status_code == 422


def test_twenty_concurrent_reservations_never_exceed_the_cap(app):
    wine_id, *_ = _reservable_wine(app, cap=30)
    clients = []
    for n in range(20):
        client = visitor(app)
        assert _reserve(client, wine_id).status_code == 302
        clients.append(client)
    responses = at_once([lambda client=client, n=n: client.post(
        f"/{VERNETTE}/commande", data=checkout_form(token=f"r{n}", email=f"reserve{n}@example.com"))
        for n, client in enumerate(clients)])
    placed = [r for r in responses if r.status_code == 302 and "/commande/VER-" in r.headers["Location"]]
    assert len(placed) == 5 and len(_orders(app)) == 5
    for response in responses:
        if response in placed:
            continue
        if response.status_code == 409:  # passed the cart check, lost the guarded UPDATE
            assert "plus assez de bouteilles à réserver" in text_of(response)
        else:  # came after the cap was full: the cart itself says so
            assert response.status_code == 302 and response.headers["Location"] == f"/{VERNETTE}/panier"
    with session_for(app) as session:
        reserved = session.scalar(select(func.sum(OrderLine.quantity)).join(Order).where(
            OrderLine.wine_id == wine_id, OrderLine.reserved.is_(True), Order.status != OrderStatus.CANCELLED))
        wine = session.get(Wine, wine_id)
        assert wine.reserved_count == reserved == 30 and wine.stock == 0


def test_a_cancelled_reservation_gives_its_bottles_back(app):
    wine_id, *_ = _reservable_wine(app, cap=6)
    client = visitor(app)
    _reserve(client, wine_id)
    client.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert _wine(app, wine_id).reserved_count == 6
    second = visitor(app)
    response = _reserve(second, wine_id)
    assert "plus assez de bouteilles à réserver" in text_of(second.get(response.headers["Location"]))
    (order,) = _orders(app)
    staff = _staff(app)
    _set_status(staff, order.id, "paid")
    assert _set_status(staff, order.id, "cancelled").status_code == 200
    wine = _wine(app, wine_id)
    assert wine.reserved_count == 0 and wine.stock == 0
    assert _reserve(second, wine_id).status_code == 302
    assert "Réservation : " in text_of(second.get(f"/{VERNETTE}/panier"))


def test_another_estates_staff_cannot_touch_a_wines_reservations(app):
    wine_id, list_id, *_ = _reservable_wine(app)
    rozel = visitor(app)
    login(rozel, "vigneron@rozel.example")
    url = f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}"
    assert rozel.get(url, headers=HX).status_code == 404
    assert rozel.post(url, data=_row(reservation_cap="1", reservation_open=None), headers=HX).status_code == 404
    assert rozel.post(f"/gestion/domaine-rozel/vins/{wine_id}/modifier?tarif={list_id}",
                      data=_row(reservation_cap="1", reservation_open=None), headers=HX).status_code == 404
    wine = _wine(app, wine_id)
    assert wine.reservation_open is True and wine.reservation_cap is None
