"""Achats groupés (issue 10, seed 000): the request from the estate page, the vigneron
creating the group purchase, ordering through its link (free shipping, tier discount,
minimum per participant), closing it once (by hand, by the job, by two at once), the
picking list, and isolation between estates."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta, timezone

from pypdf import PdfReader
from sqlalchemy import func, select, update

from models import (
    Estate,
    GroupPurchase,
    GroupPurchaseRequest,
    Order,
    OrderLine,
    OutboxMessage,
)
from services import group_purchases, jobs
from services.templating import PARIS
from tests.conftest import body_of, checkout_form, first_orderable_wine, login, make_app, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
STAFF, ROZEL_STAFF = "vigneron@vernette.example", "vigneron@rozel.example"
UTC = timezone.utc


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _staff(app, email: str = STAFF):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email)
    return client


def _request_form(**overrides: str) -> dict[str, str]:
    data = {"organiser_name": "Hélène Dupuis", "email": "helene@amis.example", "phone": "06 20 30 40 50",
            "estimated_bottles": "80", "street": "12 rue des Vendanges", "postcode": "69004", "city": "Lyon",
            "country": "FR", "wished_date": "", "message": "Pour le comité d'entreprise."}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _create_form(**overrides: str) -> dict[str, str]:
    closes = (datetime.now(PARIS) + timedelta(days=7)).date()
    data = {"request_id": "", "organiser_name": "Hélène Dupuis", "organiser_email": "helene@amis.example",
            "organiser_phone": "06 20 30 40 50", "estimated_bottles": "80", "delivery_name": "",
            "street": "12 rue des Vendanges", "postcode": "69004", "city": "Lyon", "country": "FR",
            "closes_on": closes.isoformat(), "closes_time": "20:00", "free_shipping": "y",
            "tier1_min": "60", "tier1_percent": "5", "tier2_min": "120", "tier2_percent": "8",
            "tier3_min": "", "tier3_percent": "", "min_bottles_per_participant": "", "message": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _create(app, staff, **overrides: str) -> GroupPurchase:  # type: ignore[no-untyped-def]
    response = staff.post(f"/gestion/{VERNETTE}/achats-groupes/nouveau", data=_create_form(**overrides))
    assert response.status_code == 302, text_of(response)[:3000]
    group_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with session_for(app) as session:
        group = session.get(GroupPurchase, group_id)
        session.expunge(group)
        return group


def _estate_recipient(app) -> str:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        return estate.notification_email or estate.email


def _outbox(app, subject_part: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains(subject_part))
                                    .order_by(OutboxMessage.id)))
        for row in rows:
            session.expunge(row)
        return rows


def _order_through_link(app, group: GroupPurchase, *, token: str, quantity: int = 6, email: str | None = None,
                        last_name: str = "Durand"):  # type: ignore[no-untyped-def]
    """A guest opens the group's link, fills a cart and checks out; (response, client)."""
    wine_id, _multiple, _price = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    assert buyer.get(f"/{VERNETTE}/achat-groupe/{group.token}").status_code == 302
    assert buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)}).status_code == 302
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(
        delivery=f"group:{group.id}", token=token, email=email or f"{token}@participant.example", last_name=last_name))
    return response, buyer


def _order(app, number: str) -> tuple[Order, list[OrderLine]]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        lines = list(order.lines)
        for line in lines:
            session.expunge(line)
        session.expunge(order)
        return order, lines


# ---------------------------------------------------------------- the request


def test_a_group_purchase_request_reaches_the_estate_by_email_with_everything(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    client = visitor(app)
    assert "Achat groupé" in text_of(client.get(f"/{VERNETTE}/"))
    assert client.get(f"/{VERNETTE}/achat-groupe").status_code == 200
    response = client.post(f"/{VERNETTE}/achat-groupe", data=_request_form(wished_date="2026-12-12"))
    assert response.status_code == 200
    assert "Votre demande d'achat groupé a bien été envoyée" in text_of(response)

    (message,) = smtp.mailbox.wait_for(1)
    assert message["To"] == _estate_recipient(app)
    body = body_of(message)
    for expected in ("Hélène Dupuis", "helene@amis.example", "06 20 30 40 50", "80", "12 rue des Vendanges",
                     "69004 Lyon", "12/12/2026", "Pour le comité d'entreprise."):
        assert expected in body, expected
    with session_for(app) as session:
        request = session.scalars(select(GroupPurchaseRequest)).one()
        assert (request.organiser_name, request.estimated_bottles, request.status) == ("Hélène Dupuis", 80, "new")
    listing = text_of(_staff(app).get(f"/gestion/{VERNETTE}/achats-groupes"))
    assert "Hélène Dupuis" in listing and "Créer l'achat groupé" in listing


def test_a_bad_request_is_refused_in_french_and_stores_nothing(app):
    client = visitor(app)
    for field, value, message in (
        ("estimated_bottles", "beaucoup", "Indiquez un nombre de bouteilles entre 1 et 10 000."),
        ("estimated_bottles", "0", "Indiquez un nombre de bouteilles entre 1 et 10 000."),
        ("email", "pas-un-email", "Adresse email invalide."),
        ("postcode", "6900", "Un code postal français compte 5 chiffres."),
        ("organiser_name", "", "Ce champ est obligatoire."),
    ):
        response = client.post(f"/{VERNETTE}/achat-groupe", data=_request_form(**{field: value}))
        assert response.status_code == 422, field
        assert message in text_of(response), field
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(GroupPurchaseRequest)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_request_form_is_rate_limited_per_address_with_a_french_message(database):
    app = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = visitor(app)
    for n in range(5):
        assert client.post(f"/{VERNETTE}/achat-groupe", data=_request_form(email=f"o{n}@amis.example")).status_code == 200
    response = client.post(f"/{VERNETTE}/achat-groupe", data=_request_form(email="o6@amis.example"))
    assert response.status_code == 429
    assert "Trop de demandes d'achat groupé depuis cette connexion" in text_of(response)
    assert client.get(f"/{VERNETTE}/achat-groupe").status_code == 200  # showing the form is not a request
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(GroupPurchaseRequest)) == 5


# ---------------------------------------------------------------- creating it


def test_the_vigneron_creates_it_from_a_request_and_the_organiser_gets_the_link(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    visitor(app).post(f"/{VERNETTE}/achat-groupe", data=_request_form())
    smtp.mailbox.wait_for(1)
    with session_for(app) as session:
        request_id = session.scalars(select(GroupPurchaseRequest.id)).one()
    staff = _staff(app)
    form = text_of(staff.get(f"/gestion/{VERNETTE}/achats-groupes/nouveau?demande={request_id}"))
    assert 'value="Hélène Dupuis"' in form and 'value="12 rue des Vendanges"' in form and 'value="80"' in form

    group = _create(app, staff, request_id=str(request_id))
    assert len(group.token) >= 43 and group.status == "open"
    assert group.discount_bp == 500  # 80 estimated bottles reach the 60-bottle tier, not the 120 one
    assert group.free_shipping is True
    assert group.closes_at.astimezone(PARIS).strftime("%H:%M") == "20:00"
    with session_for(app) as session:
        request = session.get(GroupPurchaseRequest, request_id)
        assert (request.status, request.group_purchase_id) == ("created", group.id)
        assert [(t.min_bottles, t.discount_bp) for t in session.get(GroupPurchase, group.id).tiers] == [(60, 500), (120, 800)]

    messages = smtp.mailbox.wait_for(2)
    link_mail = next(m for m in messages if m["To"] == "helene@amis.example")
    assert f"http://shop.test/{VERNETTE}/achat-groupe/{group.token}" in body_of(link_mail)
    detail = text_of(staff.get(f"/gestion/{VERNETTE}/achats-groupes/{group.id}"))
    assert group.token in detail and "En cours" in detail


def test_creating_with_bad_input_gives_422_in_french_and_changes_nothing(app):
    staff = _staff(app)
    yesterday = (datetime.now(PARIS) - timedelta(days=1)).date().isoformat()
    for overrides, message in (
        ({"closes_on": yesterday}, "La clôture doit être dans le futur."),
        ({"closes_on": "pas-une-date"}, None),
        ({"tier1_percent": "cinq"}, "Pourcentage invalide : écrivez par exemple 5 ou 7,5."),
        ({"tier1_percent": "150"}, "Indiquez une remise entre 0,01 et 100 %."),
        ({"tier2_min": "60"}, "Deux paliers ont le même nombre de bouteilles."),
        ({"estimated_bottles": "-3"}, "Indiquez un nombre de bouteilles entre 1 et 100 000."),
        ({"organiser_email": "non"}, "Adresse email invalide."),
        ({"min_bottles_per_participant": "0"}, "Indiquez un minimum entre 1 et 10 000 bouteilles, ou rien."),
        ({"request_id": "abc"}, "Demande inconnue."),
    ):
        response = staff.post(f"/gestion/{VERNETTE}/achats-groupes/nouveau", data=_create_form(**overrides))
        assert response.status_code == 422, overrides
        if message:
            assert message in text_of(response), overrides
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(GroupPurchase)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# ---------------------------------------------------------------- ordering through the link


def test_participants_order_through_the_link_with_free_shipping_and_the_tier_discount(app):
    group = _create(app, _staff(app))
    response, buyer = _order_through_link(app, group, token="p1", last_name="Martin")
    assert response.status_code == 302, text_of(response)[:3000]
    number = response.headers["Location"].rsplit("/", 1)[-1]
    order, lines = _order(app, number)
    assert order.group_purchase_id == group.id and order.shipping_ttc_cents == 0
    assert order.delivery_label == "Achat groupé — Hélène Dupuis"
    goods = sum(line.ttc_cents for line in lines if line.kind == "goods")
    (discount,) = [line for line in lines if line.kind == "discount"]
    assert discount.label == "Remise achat groupé -5 %"
    assert discount.ttc_cents == -round(goods * 0.05)
    assert order.total_ttc_cents == goods + discount.ttc_cents

    # the orders table filters by the group purchase
    staff = _staff(app)
    assert number in text_of(staff.get(f"/gestion/{VERNETTE}/commandes?achat={group.id}"))
    assert number not in text_of(staff.get(f"/gestion/{VERNETTE}/commandes?achat={group.id + 1000}"))

    # the banner shows the organiser and the bottles ordered so far
    page = text_of(buyer.get(f"/{VERNETTE}/"))
    assert "Achat groupé organisé par Hélène Dupuis" in page and "Déjà 6 bouteille(s) commandée(s)" in page
    assert "Quitter l'achat groupé" in page


def test_the_checkout_in_group_mode_offers_only_the_groups_delivery_and_outside_never(app):
    group = _create(app, _staff(app))
    wine_id, _m, _p = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    page = text_of(buyer.get(f"/{VERNETTE}/commande"))
    assert "Achat groupé" not in page and "Livraison à domicile" in page
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery=f"group:{group.id}", token="outside"))
    assert response.status_code == 422  # the group's delivery without its link
    buyer.get(f"/{VERNETTE}/achat-groupe/{group.token}")
    page = text_of(buyer.get(f"/{VERNETTE}/commande"))
    assert "Achat groupé — Hélène Dupuis" in page and "Livraison à domicile" not in page
    assert "Achat groupé organisé par Hélène Dupuis" in page  # the banner on the checkout too
    assert "Achat groupé organisé par" in text_of(buyer.get(f"/{VERNETTE}/panier"))
    # leaving group mode gives the usual deliveries back
    assert buyer.post(f"/{VERNETTE}/achat-groupe/quitter").status_code == 302
    page = text_of(buyer.get(f"/{VERNETTE}/commande"))
    assert "Achat groupé —" not in page and "Livraison à domicile" in page


def test_without_free_shipping_the_grid_prices_the_trip_to_the_groups_address(app):
    group = _create(app, _staff(app), free_shipping=None, tier1_min="", tier1_percent="", tier2_min="",
                    tier2_percent="")
    assert group.free_shipping is False and group.discount_bp == 0
    response, _buyer = _order_through_link(app, group, token="paid-shipping")
    assert response.status_code == 302, text_of(response)[:3000]
    order, lines = _order(app, response.headers["Location"].rsplit("/", 1)[-1])
    assert order.shipping_ttc_cents > 0 and not [line for line in lines if line.kind == "discount"]


def test_a_cart_below_the_minimum_per_participant_is_refused_with_a_clear_message(app):
    group = _create(app, _staff(app), min_bottles_per_participant="12")
    response, buyer = _order_through_link(app, group, token="small", quantity=6)
    assert response.status_code == 422
    assert "chaque participant commande au moins 12 bouteilles : ajoutez encore 6 bouteille(s)" in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order).where(Order.group_purchase_id == group.id)) == 0


# ---------------------------------------------------------------- closing


def test_closing_by_hand_is_idempotent_and_the_closed_link_takes_no_order(app):
    staff = _staff(app)
    group = _create(app, staff)
    response, buyer = _order_through_link(app, group, token="before", last_name="Avant")
    assert response.status_code == 302

    closed = staff.post(f"/gestion/{VERNETTE}/achats-groupes/{group.id}/cloturer")
    assert closed.status_code == 302
    again = staff.post(f"/gestion/{VERNETTE}/achats-groupes/{group.id}/cloturer", follow_redirects=True)
    assert "Cet achat groupé était déjà clôturé." in text_of(again)
    recaps = _outbox(app, "Achat groupé Hélène Dupuis terminé")
    assert len(recaps) == 1 and recaps[0].recipient == _estate_recipient(app)
    assert len(_outbox(app, "Votre achat groupé est terminé")) == 1
    with session_for(app) as session:
        assert session.get(GroupPurchase, group.id).status == "closed"

    # the same visitor, and a new one through the link: closed, no order
    page = text_of(buyer.get(f"/{VERNETTE}/"))
    assert "Cet achat groupé est terminé" in page
    response, newcomer = _order_through_link(app, group, token="after")
    assert response.status_code == 422
    assert "Cet achat groupé est terminé : il ne prend plus de commande." in text_of(response)
    assert "Achat groupé — Hélène Dupuis" not in text_of(newcomer.get(f"/{VERNETTE}/commande"))
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order).where(Order.group_purchase_id == group.id)) == 1


def test_the_job_closes_at_the_closing_time_with_one_recap_and_a_picking_list(app):
    group = _create(app, _staff(app))
    for token, last_name in (("job-1", "Premier"), ("job-2", "Second")):
        response, _client = _order_through_link(app, group, token=token, last_name=last_name)
        assert response.status_code == 302
    job = next(j for j in jobs.JOBS if j.name == "close-group-purchases")
    with session_for(app) as session:
        job.run(session, group.closes_at - timedelta(minutes=1))  # not yet
        session.commit()
        assert session.get(GroupPurchase, group.id).status == "open"
    with session_for(app) as session:
        job.run(session, group.closes_at + timedelta(seconds=30))
        session.commit()
        job.run(session, group.closes_at + timedelta(minutes=1, seconds=30))  # the next minute: nothing more
        session.commit()
        assert session.get(GroupPurchase, group.id).status == "closed"
    (recap,) = _outbox(app, "Achat groupé Hélène Dupuis terminé")
    assert "2 commande(s), 12 bouteille(s)" in recap.body_text
    assert "Camille Premier" in recap.body_text and "Camille Second" in recap.body_text
    with session_for(app) as session:
        from services.documents import resolve

        (attachment,) = session.get(OutboxMessage, recap.id).attachments
        text = _pdf_text(resolve(session, attachment.source).content)
    assert "Camille Premier" in text and "Camille Second" in text and "12 rue des Vendanges" in text
    assert "Liste de préparation" in text


def test_two_closes_at_once_change_the_state_once_and_send_one_recap(app):
    group = _create(app, _staff(app))
    response, _client = _order_through_link(app, group, token="race")
    assert response.status_code == 302
    with session_for(app) as session:  # its time has come
        session.execute(update(GroupPurchase).where(GroupPurchase.id == group.id)
                        .values(closes_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run_job() -> None:
        try:
            with session_for(app) as session:
                barrier.wait(timeout=10)
                closed = group_purchases.close_due(session, datetime.now(UTC))
                session.commit()
                results.append(closed)
        except Exception as exc:  # noqa: BLE001 — reported below
            results.append(exc)

    threads = [threading.Thread(target=run_job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results, key=str) == [0, 1], results
    assert len(_outbox(app, "Achat groupé Hélène Dupuis terminé")) == 1
    assert len(_outbox(app, "Votre achat groupé est terminé")) == 1
    with session_for(app) as session:
        assert session.get(GroupPurchase, group.id).status == "closed"


def test_the_picking_list_pdf_names_the_participants_wines_and_address(app):
    staff = _staff(app)
    group = _create(app, staff)
    _order_through_link(app, group, token="pdf-1", last_name="Lefebvre")
    response = staff.get(f"/gestion/{VERNETTE}/achats-groupes/{group.id}/preparation.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    assert "Camille Lefebvre" in text and "12 rue des Vendanges" in text and "69004 Lyon" in text
    assert "bouteilles par vin" in text.lower()


# ---------------------------------------------------------------- isolation


def test_another_estates_group_purchase_is_a_404_and_a_made_up_link_too(app):
    group = _create(app, _staff(app))
    visitor(app).post(f"/{VERNETTE}/achat-groupe", data=_request_form())
    with session_for(app) as session:
        request_id = session.scalars(select(GroupPurchaseRequest.id)).one()
    rozel = _staff(app, ROZEL_STAFF)
    base = f"/gestion/{ROZEL}/achats-groupes"
    assert rozel.get(f"{base}/{group.id}").status_code == 404
    assert rozel.get(f"{base}/{group.id}/preparation.pdf").status_code == 404
    assert rozel.post(f"{base}/{group.id}/cloturer").status_code == 404
    assert rozel.get(f"{base}/nouveau?demande={request_id}").status_code == 404
    assert rozel.post(f"{base}/nouveau", data=_create_form(request_id=str(request_id))).status_code == 404
    assert rozel.post(f"{base}/demandes/{request_id}/ignorer").status_code == 404
    # and Vernette's back office itself is closed to Rozel's staff
    assert rozel.get(f"/gestion/{VERNETTE}/achats-groupes/{group.id}").status_code == 404
    listing = text_of(rozel.get(base))
    assert "Hélène Dupuis" not in listing
    with session_for(app) as session:
        assert session.get(GroupPurchase, group.id).status == "open"
        assert session.get(GroupPurchaseRequest, request_id).status == "new"
        assert session.scalar(select(func.count()).select_from(GroupPurchase)) == 1

    anyone = visitor(app)
    assert anyone.get(f"/{VERNETTE}/achat-groupe/un-lien-invente-de-toutes-pieces").status_code == 404
    assert anyone.get(f"/{ROZEL}/achat-groupe/{group.token}").status_code == 404  # another estate's link
    assert anyone.get(f"/{VERNETTE}/achat-groupe/{'x' * 300}").status_code == 404
