"""Promotions end to end: set up in the back office, shown in the cart, charged at
checkout, printed on the order; codes with their limits under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from models import CustomerKind, Estate, EstateCustomer, Order, OrderLine, Promotion, PromotionUse, Wine, utcnow
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

SLUG = "domaine-de-la-vernette"
HX = {"HX-Request": "true"}


def _estate_id(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()


def _promotion(app, **values) -> int:  # type: ignore[no-untyped-def]
    defaults = dict(name="Promo", benefit="percent_off", percent_bp=1000)
    defaults.update(values)
    with session_for(app) as session:
        promotion = Promotion(estate_id=_estate_id(app), **defaults)
        session.add(promotion)
        session.commit()
        return promotion.id


def _cart(app, client, quantity: int = 6, stock: int = 100) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    wine_id, _, unit = first_orderable_wine(app, SLUG, stock=stock)
    assert client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)}).status_code == 302
    return wine_id, unit


def test_the_vigneron_creates_a_code_in_the_back_office(app, client):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    assert "Créer une promotion" in text_of(staff.get(f"/gestion/{SLUG}/promotions"))
    response = staff.post(f"/gestion/{SLUG}/promotions/nouvelle", data={
        "name": "Code des amis", "benefit": "percent_off", "percent": "10", "code": "#amis2026",
        "is_public": "y", "cumulative": "y", "is_active": "y", "customer_kind": "", "priority": "0"})
    assert response.status_code == 302, text_of(response)[:3000]
    with session_for(app) as session:
        promotion = session.scalars(select(Promotion).where(Promotion.name == "Code des amis")).one()
        assert (promotion.code, promotion.percent_bp, promotion.is_public) == ("#AMIS2026", 1000, True)
    duplicate = staff.post(f"/gestion/{SLUG}/promotions/nouvelle", data={
        "name": "Autre", "benefit": "free_shipping", "code": "#amis2026", "is_active": "y", "customer_kind": ""})
    assert duplicate.status_code == 422 and "Une autre promotion utilise déjà ce code." in text_of(duplicate)


def test_bad_promotion_input_gets_french_messages_and_creates_nothing(app):
    with session_for(app) as session:
        before = len(session.scalars(select(Promotion)).all())
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    cases = [
        ({"benefit": "percent_off", "percent": "150"}, "Indiquez une remise entre 0,01 et 100 %."),
        ({"benefit": "percent_off", "percent": "dix"}, "Pourcentage invalide."),
        ({"benefit": "amount_off_order"}, "Indiquez le montant de la remise."),
        ({"benefit": "nth_free"}, "Indiquez quelle bouteille est offerte"),
        ({"benefit": "gift"}, "Choisissez au moins un article offert."),
        ({"benefit": "free_shipping", "code": "a b"}, "Le code compte de 3 à 40"),
        ({"benefit": "free_shipping", "starts_on": "2026-12-10", "ends_on": "2026-12-01"}, "La fin doit suivre le début."),
    ]
    for extra, message in cases:
        data = {"name": "Essai", "customer_kind": "", "is_active": "y", **extra}
        response = staff.post(f"/gestion/{SLUG}/promotions/nouvelle", data=data)
        assert response.status_code == 422, message
        assert message in text_of(response), message
    with session_for(app) as session:
        assert len(session.scalars(select(Promotion)).all()) == before


def test_an_automatic_promotion_shows_in_the_cart_with_its_reason(app, client):
    _promotion(app, name="Printemps des vins", percent_bp=1000)
    _wine, unit = _cart(app, client)
    page = text_of(client.get(f"/{SLUG}/panier"))
    assert "Remise -10 % (Printemps des vins)" in page
    discount = unit * 6 // 10
    assert f"-{discount // 100},{discount % 100:02d}" in page
    assert "Réductions disponibles" in page


def test_a_code_entered_under_the_cart_applies_and_an_unknown_one_is_refused(app, client):
    _cart(app, client)  # the demo's permanent public code: "#LAVERNETTE -10 %"
    public = text_of(client.get(f"/{SLUG}/panier"))
    assert "#LAVERNETTE" in public and "saisissez le code" in public
    response = client.post(f"/{SLUG}/panier/code", data={"code": "#lavernette"}, headers=HX)
    assert response.status_code == 200 and "Remise -10 % (code #LAVERNETTE)" in text_of(response)
    unknown = client.post(f"/{SLUG}/panier/code", data={"code": "NOPE"}, headers=HX)
    assert unknown.status_code == 422 and "Le code NOPE n'existe pas." in text_of(unknown)
    removed = client.post(f"/{SLUG}/panier/code", data={"remove": "#LAVERNETTE"}, headers=HX)
    assert "Remise -10 %" not in text_of(removed)


def test_an_expired_code_gets_a_clear_message(app, client):
    _promotion(app, name="Été", percent_bp=1000, code="ETE2025", ends_at=utcnow() - timedelta(days=1))
    _cart(app, client)
    response = client.post(f"/{SLUG}/panier/code", data={"code": "ete2025"}, headers=HX)
    assert "Le code ETE2025 n'est pas valable aujourd'hui." in text_of(response)
    assert "Remise" not in text_of(client.get(f"/{SLUG}/panier")).split("Réductions disponibles")[0].split("J'ai un code promo")[0].replace("Remise client", "")


def test_the_discount_is_charged_and_printed_on_the_order(app, client):
    _promotion(app, name="Fidélité", percent_bp=1000, code="FIDELE")
    _wine, unit = _cart(app, client)
    client.post(f"/{SLUG}/panier/code", data={"code": "FIDELE"})
    assert client.post(f"/{SLUG}/commande", data=checkout_form(delivery="pickup")).status_code == 302
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        lines = [(line.kind, line.ttc_cents) for line in order.lines]
        uses = session.scalars(select(PromotionUse)).all()
        promotion = session.scalars(select(Promotion).where(Promotion.code == "FIDELE")).one()
    assert ("discount", -(unit * 6 // 10)) in lines
    assert order.total_ttc_cents == unit * 6 - unit * 6 // 10
    assert len(uses) == 1 and promotion.uses_count == 1


def test_a_one_use_code_redeemed_by_twenty_concurrent_checkouts_is_used_once(app):
    promotion_id = _promotion(app, name="Unique", percent_bp=2000, code="UNIQUE", max_uses=1)
    clients = []
    wine_id, _, _ = first_orderable_wine(app, SLUG, stock=500)
    for n in range(20):
        client = visitor(app)
        client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
        client.post(f"/{SLUG}/panier/code", data={"code": "UNIQUE"})
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)

    def checkout(n: int) -> None:
        barrier.wait()
        responses[n] = clients[n].post(f"/{SLUG}/commande", data=checkout_form(
            token=f"u{n}", email=f"unique{n}@example.com", delivery="pickup"))

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_for(app) as session:
        discounted = session.scalars(select(OrderLine).where(OrderLine.promotion_id == promotion_id)).all()
        assert len(discounted) == 1
        assert session.get(Promotion, promotion_id).uses_count == 1
        assert len(session.scalars(select(PromotionUse)).all()) == 1
    for response in responses:
        assert response.status_code in (302, 409)
        if response.status_code == 409:
            assert "vient d'atteindre sa limite d'utilisation" in text_of(response)


def test_a_code_limited_per_customer_works_once_for_them(app):
    _promotion(app, name="Bienvenue", percent_bp=1000, code="BIENVENUE", max_uses_per_customer=1)
    client = visitor(app)
    login(client, "client@chai.example")
    for attempt in range(2):
        _cart(app, client)
        client.post(f"/{SLUG}/panier/code", data={"code": "BIENVENUE"})
        page = text_of(client.get(f"/{SLUG}/panier"))
        if attempt == 0:
            assert "Remise -10 % (code BIENVENUE)" in page
            client.post(f"/{SLUG}/commande", data=checkout_form(token=f"b{attempt}", email=None, password=None,
                                                                  confirm=None, delivery="pickup"))
        else:
            assert "Le code BIENVENUE n'est plus utilisable." in page


def test_a_code_sent_to_chosen_customers_only(app):
    promotion_id = _promotion(app, name="Privé", percent_bp=1500, code="PRIVE")
    with session_for(app) as session:
        promotion = session.get(Promotion, promotion_id)
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.email == "client@chai.example",
                                                                EstateCustomer.estate_id == promotion.estate_id)).one()
        promotion.customers = [customer]
        promotion.restricted_to_customers = True
        session.commit()
    chosen, stranger = visitor(app), visitor(app)
    login(chosen, "client@chai.example")
    for client in (chosen, stranger):
        _cart(app, client)
        client.post(f"/{SLUG}/panier/code", data={"code": "PRIVE"})
    assert "Remise -15 % (code PRIVE)" in text_of(chosen.get(f"/{SLUG}/panier"))
    assert "n'est plus utilisable" in text_of(stranger.get(f"/{SLUG}/panier"))


def test_a_pickup_only_promotion_applies_at_checkout_with_pickup(app, client):
    _promotion(app, name="Au domaine", benefit="amount_off_each", percent_bp=0, amount_cents=100, pickup_only=True)
    _cart(app, client)
    home = text_of(client.post(f"/{SLUG}/commande", data=checkout_form(token="p", delivery="home"),
                               headers={**HX, "HX-Target": "checkout-summary"}))
    pickup = text_of(client.post(f"/{SLUG}/commande", data=checkout_form(token="p", delivery="pickup"),
                                 headers={**HX, "HX-Target": "checkout-summary"}))
    assert "Au domaine" not in home and "Au domaine" in pickup and "-6,00" in pickup


def test_a_verified_pro_sees_ht_prices_and_gets_the_escompte_when_paying_at_once(app):
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        assert any(pl.cash_discount_bp for pl in session.scalars(
            select(__import__("models").PriceList).where(__import__("models").PriceList.estate_id == estate.id)))
    pro = visitor(app)
    login(pro, "caviste@chai.example")
    page = pro.get(f"/{SLUG}/").get_data(as_text=True)
    import re

    wine_id = int(re.search(r'id="add-(\d+)"', page).group(1))
    pro.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    cart = text_of(pro.get(f"/{SLUG}/panier"))
    assert "Prix unitaire HT" in cart and "pour paiement comptant" in cart
    form = checkout_form(token="pro", email=None, password=None, confirm=None, delivery="pickup")
    by_card = text_of(pro.post(f"/{SLUG}/commande", data={**form, "payment_mode": "card"},
                               headers={**HX, "HX-Target": "checkout-summary"}))
    by_cheque = text_of(pro.post(f"/{SLUG}/commande", data={**form, "payment_mode": "cheque"},
                                 headers={**HX, "HX-Target": "checkout-summary"}))
    assert "Escompte -2 % pour paiement comptant" in by_card
    assert "Escompte" not in by_cheque
    assert "Total HT" in by_card


def test_a_particulier_never_sees_pro_prices(app, client):
    login(client, "client@chai.example")
    assert " HT" not in text_of(client.get(f"/{SLUG}/"))


def test_an_individual_customer_discount_is_applied(app):
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.email == "client@chai.example",
                                                                EstateCustomer.estate_id == estate.id)).one()
        customer.discount_bp = 500
        customer.kind = CustomerKind.PARTICULIER
        session.commit()
    client = visitor(app)
    login(client, "client@chai.example")
    _cart(app, client)
    assert "Remise client -5 %" in text_of(client.get(f"/{SLUG}/panier"))


def test_a_gift_is_added_and_leaves_the_shelf(app, client):
    bought_id, _, _ = first_orderable_wine(app, SLUG)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        from models import Price, PriceList

        particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                               PriceList.name == "Particuliers")).one()
        gift = session.scalars(select(Wine).join(Price, Price.wine_id == Wine.id).where(
            Price.price_list_id == particuliers.id, Wine.id != bought_id, Wine.is_available.is_(True),
            Wine.stock >= 10).order_by(Wine.id.desc())).first()
        gift_id, gift_stock = gift.id, gift.stock
        promotion = Promotion(estate_id=estate.id, name="Cadeau", benefit="gift", gift_quantity=1, min_amount_cents=1)
        promotion.gift_wines = [gift]
        session.add(promotion)
        session.commit()
    _cart(app, client)
    assert "Offert" in text_of(client.get(f"/{SLUG}/panier"))
    assert client.post(f"/{SLUG}/commande", data=checkout_form(delivery="pickup")).status_code == 302
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        kinds = sorted(line.kind for line in order.lines)
        assert "gift" in kinds and "discount" in kinds
        assert session.get(Wine, gift_id).stock == gift_stock - 1
        gift_line = next(line for line in order.lines if line.kind == "gift")
        cancelling = [line for line in order.lines if line.kind == "discount" and line.promotion_id == gift_line.promotion_id]
        assert gift_line.ttc_cents > 0 and gift_line.ttc_cents + sum(line.ttc_cents for line in cancelling) == 0


def test_a_gift_chosen_from_a_list(app, client):
    bought_id, _, _ = first_orderable_wine(app, SLUG)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        options = session.scalars(select(Wine).where(Wine.estate_id == estate.id, Wine.id != bought_id,
                                                     Wine.is_available.is_(True)).order_by(Wine.id).limit(2)).all()
        option_ids = [w.id for w in options]
        names = [w.name for w in options]
        promotion = Promotion(estate_id=estate.id, name="Cadeau au choix", benefit="gift", gift_quantity=1)
        promotion.gift_wines = list(options)
        session.add(promotion)
        session.commit()
        promotion_id = promotion.id
    _cart(app, client)
    page = text_of(client.get(f"/{SLUG}/panier"))
    assert "Cadeau au choix" in page and "choisissez votre cadeau" in page and all(name in page for name in names)
    response = client.post(f"/{SLUG}/panier/cadeau", data={"promotion": str(promotion_id), "wine": str(option_ids[1])},
                           headers=HX)
    body = text_of(response)
    assert "choisissez votre cadeau" not in body and f"Offert : {names[1]}" in body
    bad = client.post(f"/{SLUG}/panier/cadeau", data={"promotion": "x", "wine": ""}, headers=HX)
    assert bad.status_code == 422 and "Choisissez un cadeau dans la liste." in text_of(bad)


def test_a_reserved_code_is_emailed_to_the_chosen_customers(database, smtp):
    from tests.conftest import make_app

    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    promotion_id = _promotion(app, name="Merci", percent_bp=1000, code="MERCI",
                              ends_at=utcnow().replace(hour=12) + timedelta(days=10))
    with session_for(app) as session:
        promotion = session.get(Promotion, promotion_id)
        customers = session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == promotion.estate_id)
                                    .order_by(EstateCustomer.id).limit(2)).all()
        emails = sorted(c.email for c in customers)
        promotion.customers = list(customers)
        promotion.restricted_to_customers = True
        session.commit()
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    assert "Envoyer le code par email aux 2 clients choisis" in text_of(staff.get(f"/gestion/{SLUG}/promotions/{promotion_id}"))
    response = staff.post(f"/gestion/{SLUG}/promotions/{promotion_id}/envoyer", follow_redirects=True)
    assert "Code envoyé par email à 2 client(s)." in text_of(response)
    messages = smtp.mailbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == emails
    assert all("MERCI" in m.as_string() for m in messages)


def test_a_code_is_won_by_a_large_enough_paid_order_and_emailed_once(app):
    from models import OutboxMessage

    promotion_id = _promotion(app, name="Gagnant", percent_bp=1000, code="GAGNE", won_above_cents=5000,
                              restricted_to_customers=True)
    client = visitor(app)
    login(client, "client@chai.example")
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    for n in range(2):
        _cart(app, client)
        client.post(f"/{SLUG}/commande", data=checkout_form(token=f"w{n}", email=None, password=None, confirm=None,
                                                             delivery="pickup"))
        with session_for(app) as session:
            order_id = session.scalars(select(Order.id).order_by(Order.id.desc())).first()
        staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": "paid"})
    with session_for(app) as session:
        promotion = session.get(Promotion, promotion_id)
        assert [c.email for c in promotion.customers] == ["client@chai.example"]
        mails = session.scalars(select(OutboxMessage.subject).where(OutboxMessage.subject.like("%gagné le code GAGNE%"))).all()
        assert len(mails) == 1
    assert "GAGNE" in text_of(client.get("/compte/"))  # the customer area lists the code won
    _cart(app, client)
    client.post(f"/{SLUG}/panier/code", data={"code": "GAGNE"})
    assert "Remise -10 % (code GAGNE)" in text_of(client.get(f"/{SLUG}/panier"))
