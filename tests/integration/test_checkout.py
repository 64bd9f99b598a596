"""Checkout: a guest orders, emails go through the outbox, double submits, the last
bottles under concurrency, payments through the Mangopay sandbox."""

from __future__ import annotations

import io
import urllib.parse
import urllib.request
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import func, select

from models import Order, OrderEvent, OrderStatus, OutboxMessage, Payment, PaymentStatus, User, Wine, db, utcnow
from services import mail
from tests.conftest import at_once, checkout_form, first_orderable_wine, visitor, make_app, session_for, text_of

VERNETTE = "domaine-de-la-vernette"


def _fill_cart(client, wine_id: int, quantity: int = 6) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)}).status_code == 302


def _orders(app) -> list[Order]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return list(session.scalars(select(Order)))


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_guest_orders_and_gets_an_account_an_order_and_emails(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    client = visitor(app)
    wine_id, _, unit = first_orderable_wine(app, VERNETTE, stock=30)
    _fill_cart(client, wine_id)
    assert "Votre commande" in text_of(client.get(f"/{VERNETTE}/commande"))
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert response.status_code == 302
    (order,) = _orders(app)
    assert order.status is OrderStatus.PENDING_PAYMENT and order.number == "VER-00001"
    assert order.shipping_ttc_cents > 0 and order.total_ttc_cents == unit * 6 + order.shipping_ttc_cents
    assert response.headers["Location"] == f"/{VERNETTE}/commande/VER-00001"
    with session_for(app) as session:
        assert session.get(Wine, wine_id).stock == 24
        user = session.scalars(select(User).where(User.email == "nouveau@client.example")).one()
        assert user.password_hash != "un-mot-de-passe" and order.user_id == user.id
    messages = smtp.mailbox.wait_for(2)
    confirmation = next(m for m in messages if m["To"] == "nouveau@client.example")
    assert "Confirmation de commande VER-00001" in str(confirmation["Subject"]) or "VER-00001" in confirmation["Subject"]
    attachment = next(part for part in confirmation.walk() if part.get_content_type() == "application/pdf")
    text = _pdf_text(attachment.get_payload(decode=True))
    assert "VER-00001" in text
    total = f"{order.total_ttc_cents // 100},{order.total_ttc_cents % 100:02d}"
    assert total in text.replace("\u202f", " ").replace("\xa0", " ")
    copy = next(m for m in messages if m["To"] != "nouveau@client.example")
    assert "Camille Durand" in str(copy.get_payload(0)) or "Camille" in copy.as_string()
    page = text_of(client.get(f"/{VERNETTE}/commande/VER-00001"))
    assert "En attente de paiement" in page and "l'ordre de" in page


def test_bad_checkout_input_gets_french_messages_and_creates_nothing(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, wine_id)
    form = checkout_form(postcode="ABC", accept_conditions=None, adult=None, email="pas-un-email", delivery="nulle-part")
    response = client.post(f"/{VERNETTE}/commande", data=form)
    body = text_of(response)
    assert response.status_code == 422
    for message in ("Un code postal français compte 5 chiffres.", "Vous devez accepter les conditions de vente.",
                    "La vente d'alcool est interdite aux mineurs.", "Adresse email invalide."):
        assert message in body
    assert _orders(app) == []


def test_an_existing_email_must_log_in_rather_than_sign_up_at_checkout(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, wine_id)
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(email="client@chai.example"))
    assert response.status_code == 422 and "connectez-vous pour commander" in text_of(response)
    assert _orders(app) == []


def test_the_same_checkout_posted_twice_makes_one_order(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=30)
    _fill_cart(client, wine_id)
    form = checkout_form(token="double")
    first = client.post(f"/{VERNETTE}/commande", data=form)
    _fill_cart(client, wine_id)  # the back button: the cart is there again, same token
    second = client.post(f"/{VERNETTE}/commande", data=form)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_orders(app)) == 1
    with session_for(app) as session:
        assert session.get(Wine, wine_id).stock == 24


def test_twenty_concurrent_checkouts_for_the_last_six_bottles_make_one_order(app):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=6)
    clients = []
    for n in range(20):
        client = visitor(app)
        _fill_cart(client, wine_id)
        clients.append(client)
    responses = at_once([lambda client=client, n=n: client.post(
        f"/{VERNETTE}/commande", data=checkout_form(token=f"c{n}", email=f"client{n}@example.com"))
        for n, client in enumerate(clients)])
    placed = [r for r in responses if r.status_code == 302 and "/commande/VER-" in r.headers["Location"]]
    assert len(placed) == 1
    assert len(_orders(app)) == 1
    with session_for(app) as session:
        assert session.get(Wine, wine_id).stock == 0
    for client, response in zip(clients, responses):
        if response in placed:
            continue
        if response.status_code == 409:  # passed the cart check, lost the stock UPDATE
            assert "vient d'être épuisé" in text_of(response)
        else:  # came after the winner's commit: the cart itself says so
            assert response.status_code == 302 and response.headers["Location"] == f"/{VERNETTE}/panier"
            assert "est épuisé : retirez-le du panier." in text_of(client.get(response.headers["Location"]))


def test_an_smtp_outage_loses_no_email_and_sends_each_once(database, smtp):
    down = make_app(database, MAIL_PORT=1, MAIL_SEND_ON_REQUEST=True)  # nothing listens on port 1
    client = visitor(down)
    wine_id, _, _ = first_orderable_wine(down, VERNETTE)
    _fill_cart(client, wine_id)
    assert client.post(f"/{VERNETTE}/commande", data=checkout_form()).status_code == 302
    assert len(_orders(down)) == 1
    with session_for(down) as session:
        pending = session.scalars(select(OutboxMessage)).all()
        assert len(pending) == 2 and {m.status for m in pending} == {"pending"}
        assert all(m.attempts == 1 and "Error" in m.last_error for m in pending)
    up = make_app(database, MAIL_PORT=smtp.port)
    with up.app_context():
        later = utcnow() + timedelta(minutes=5)
        assert mail.send_pending(db.session, mail.flask_mail_sender, later) == 2
        assert mail.send_pending(db.session, mail.flask_mail_sender, later + timedelta(hours=1)) == 0
        db.session.remove()
    assert len(smtp.mailbox.wait_for(2)) == 2
    with session_for(up) as session:
        assert {m.status for m in session.scalars(select(OutboxMessage))} == {"sent"}


# ------------------------------------------------------------------ card and wire


def _card_app(database, sandbox, **extra):  # type: ignore[no-untyped-def]
    return make_app(database, MANGOPAY_BASE_URL=sandbox.base_url, PUBLIC_URL="http://shop.test", **extra)


def _pay_on_sandbox(redirect_url: str, decision: str) -> str:
    """Click a button of the sandbox's test page; returns where it sends the customer."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(NoRedirect)
    page = opener.open(redirect_url).read().decode()
    assert "MODE TEST" in page
    request = urllib.request.Request(redirect_url, data=urllib.parse.urlencode({"decision": decision}).encode())
    try:
        opener.open(request)
    except urllib.error.HTTPError as exc:
        assert exc.code in (302, 303)
        return exc.headers["Location"]
    raise AssertionError("the sandbox did not redirect")


def test_a_card_payment_marks_the_order_paid_and_a_replayed_notification_changes_nothing(database, sandbox):
    app = _card_app(database, sandbox)
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, wine_id)
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(payment_mode="card"))
    redirect_url = response.headers["Location"]
    assert redirect_url.startswith(sandbox.base_url)
    back = _pay_on_sandbox(redirect_url, "accept")
    assert back.startswith(f"http://shop.test/{VERNETTE}/commande/VER-00001/retour-paiement")
    response = client.get(back.removeprefix("http://shop.test"), follow_redirects=True)
    assert "Paiement accepté" in text_of(response)
    (order,) = _orders(app)
    assert order.status is OrderStatus.PAID and order.paid_at is not None
    with session_for(app) as session:
        payin_id = session.scalars(select(Payment.provider_payin_id)).one()
    hook = f"/paiements/mangopay/notification?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId={payin_id}&Date=1"
    assert client.get(hook).status_code == 200
    assert client.get(hook).status_code == 200
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
        paid_events = session.scalars(select(OrderEvent).where(OrderEvent.to_status == OrderStatus.PAID)).all()
        assert len(paid_events) == 1


def test_a_notification_alone_marks_the_order_paid_once(database, sandbox):
    app = _card_app(database, sandbox)
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, wine_id)
    redirect_url = client.post(f"/{VERNETTE}/commande", data=checkout_form(payment_mode="card")).headers["Location"]
    _pay_on_sandbox(redirect_url, "accept")  # the customer closes the tab: no return
    with session_for(app) as session:
        payin_id = session.scalars(select(Payment.provider_payin_id)).one()
    anonymous = app.test_client()
    for _ in range(3):
        url = f"/paiements/mangopay/notification?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId={payin_id}&Date=2"
        assert anonymous.get(url).status_code == 200
    (order,) = _orders(app)
    assert order.status is OrderStatus.PAID
    with session_for(app) as session:
        assert len(session.scalars(select(OrderEvent).where(OrderEvent.to_status == OrderStatus.PAID)).all()) == 1


def test_a_refused_card_keeps_the_order_waiting_and_the_customer_can_retry(database, sandbox):
    app = _card_app(database, sandbox)
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, wine_id)
    redirect_url = client.post(f"/{VERNETTE}/commande", data=checkout_form(payment_mode="card")).headers["Location"]
    back = _pay_on_sandbox(redirect_url, "refuse")
    page = text_of(client.get(back.removeprefix("http://shop.test"), follow_redirects=True))
    assert "Le paiement a été refusé" in page and "Payer" in page
    (order,) = _orders(app)
    assert order.status is OrderStatus.PENDING_PAYMENT
    retry = client.post(f"/{VERNETTE}/commande/{order.number}/payer")
    assert retry.headers["Location"].startswith(sandbox.base_url)
    _pay_on_sandbox(retry.headers["Location"], "accept")
    with session_for(app) as session:
        statuses = sorted(p.status.value for p in session.scalars(select(Payment)))
    assert statuses == ["created", "failed"]


def test_a_bank_wire_shows_the_details_then_the_wire_marks_the_order_paid(database, sandbox):
    app = _card_app(database, sandbox)
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, wine_id)
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(payment_mode="transfer"), follow_redirects=True)
    page = text_of(response)
    with session_for(app) as session:
        payment = session.scalars(select(Payment)).one()
        payin_id, reference, iban = payment.provider_payin_id, payment.wire_reference, payment.bank_iban
    assert reference and iban and reference in page and iban in page
    sandbox.settle_payin(payin_id)
    assert client.get(f"/paiements/mangopay/notification?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId={payin_id}&Date=3").status_code == 200
    (order,) = _orders(app)
    assert order.status is OrderStatus.PAID


def test_an_unreachable_provider_keeps_the_order_and_explains(database):
    app = make_app(database, MANGOPAY_BASE_URL="http://127.0.0.1:1/")
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, wine_id)
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(payment_mode="card"), follow_redirects=True)
    assert "Le paiement en ligne est momentanément indisponible" in text_of(response)
    (order,) = _orders(app)
    assert order.status is OrderStatus.PENDING_PAYMENT
    with session_for(app) as session:
        assert session.scalars(select(Payment.status)).all() == [PaymentStatus.CREATED]


def test_forged_notifications_are_harmless(app):
    client = app.test_client()
    assert client.get("/paiements/mangopay/notification").status_code == 400
    assert client.get("/paiements/mangopay/notification?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId=nope&Date=1").status_code in (200, 503)
    assert _orders(app) == []
