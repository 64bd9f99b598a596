"""The payment provider fails during a card payment (the local Mangopay server, real
HTTP, with injected faults): the order waits, the customer reads why in French,
nothing is charged twice, and the reconciliation job settles what was left unknown."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from models import JobRun, Order, OrderEvent, OrderStatus, OutboxMessage, Payment, PaymentStatus, utcnow
from services import jobs, payment_flow, reconciliation
from tests.conftest import checkout_form, first_orderable_wine, make_app, session_for, text_of, visitor
from tests.integration.test_checkout import _pay_on_sandbox
from tests.integration.test_jobs import wait_until

VERNETTE = "domaine-de-la-vernette"
UNAVAILABLE = "Le paiement en ligne est momentanément indisponible"
RECONCILE = next(job for job in jobs.JOBS if job.name == "reconcile-payments")


def _card_app(database, sandbox, timeout: float = 2):  # type: ignore[no-untyped-def]
    return make_app(database, MANGOPAY_BASE_URL=sandbox.base_url, MANGOPAY_TIMEOUT=timeout)


def _card_checkout(app):  # type: ignore[no-untyped-def]
    """A guest orders by card: (their browser, the checkout's response, the order)."""
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(payment_mode="card"))
    assert response.status_code == 302
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
    return client, response, order


def _state(app, number: str):  # type: ignore[no-untyped-def]
    """Everything a payment may change, to compare before and after a run."""
    with session_for(app) as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        payments = session.execute(select(Payment.id, Payment.status, Payment.provider_payin_id, Payment.succeeded_at)
                                   .where(Payment.order_id == order.id).order_by(Payment.id)).all()
        events = session.execute(select(OrderEvent.from_status, OrderEvent.to_status)
                                 .where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)).all()
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
        return order.status, order.paid_at, payments, events, outbox


def _attempts_made_minutes_ago(app, minutes: int) -> None:
    """The clock moves on: the attempts were made ``minutes`` ago (the job leaves younger ones alone)."""
    with session_for(app) as session:
        session.execute(update(Payment).values(created_at=utcnow() - timedelta(minutes=minutes)))
        session.commit()


def _run_job(app, minute: int) -> None:
    slot = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc) + timedelta(minutes=5 * minute)
    assert jobs.run_once(app, RECONCILE, slot) is True
    with session_for(app) as session:
        run = session.scalars(select(JobRun).where(JobRun.name == RECONCILE.name, JobRun.slot == slot)).one()
        assert run.error == "", run.error


def _payins_of(sandbox, number: str) -> list[dict]:  # type: ignore[type-arg]
    return [p for p in sandbox.payins() if p["Tag"] == number]


def test_a_500_after_the_payin_was_created_keeps_the_order_waiting_and_the_job_settles_it_once(database, sandbox):
    app = _card_app(database, sandbox)
    fault = sandbox.inject_fault("payins/card/web", status=500, processed=True)
    client, response, order = _card_checkout(app)

    # The customer lands on the order page with a French explanation, the order waits.
    assert fault.hits == 1 and response.headers["Location"] == f"/{VERNETTE}/commande/{order.number}"
    page = text_of(client.get(response.headers["Location"]))
    assert UNAVAILABLE in page and "En attente de paiement" in page
    assert order.status is OrderStatus.PENDING_PAYMENT
    with session_for(app) as session:
        (payment,) = session.scalars(select(Payment)).all()
        assert payment.status is PaymentStatus.CREATED and payment.provider_payin_id is None
        key = payment.idempotency_key
    # The provider did create it: the answer was lost, not the pay-in.
    (payin,) = _payins_of(sandbox, order.number)
    assert payin["Status"] == "CREATED" and payin["DebitedFunds"]["Amount"] == order.total_ttc_cents
    sandbox.settle_payin(payin["Id"])  # the card is paid at the provider; no hook reaches us

    # Too young for the job: it may still be in flight.
    _run_job(app, 0)
    assert _state(app, order.number)[0] is OrderStatus.PENDING_PAYMENT
    _attempts_made_minutes_ago(app, 15)
    _run_job(app, 1)

    status, paid_at, payments, events, outbox = _state(app, order.number)
    assert status is OrderStatus.PAID and paid_at is not None
    assert [(p.status, p.provider_payin_id) for p in payments] == [(PaymentStatus.SUCCEEDED, payin["Id"])]
    assert [to for _, to in events].count(OrderStatus.PAID) == 1
    # One pay-in, asked for once with the attempt's key; the money arrived once.
    assert len(_payins_of(sandbox, order.number)) == 1
    assert [call.idempotency_key for call in sandbox.api_calls("POST", "payins/card/web")] == [key]
    assert sandbox.wallet(payin["CreditedWalletId"])["Balance"]["Amount"] == order.total_ttc_cents

    # Running it again, or the customer coming back, changes nothing.
    before = _state(app, order.number)
    _run_job(app, 2)
    with session_for(app) as session:
        assert reconciliation.reconcile(session, payment_flow.configured_provider(app),
                                        utcnow() + timedelta(hours=1), "http://shop.test") == Counter()
    assert _state(app, order.number) == before
    assert "Payée" in text_of(client.get(f"/{VERNETTE}/commande/{order.number}"))


def test_a_provider_timeout_then_the_customers_retry_reuses_the_payin_and_charges_once(database, sandbox):
    app = _card_app(database, sandbox, timeout=0.5)
    # The provider creates the pay-in, then answers after the adapter gave up.
    fault = sandbox.inject_fault("payins/card/web", status=None, hang=3, processed=True)
    client, response, order = _card_checkout(app)
    assert fault.hits == 1
    assert UNAVAILABLE in text_of(client.get(response.headers["Location"]))
    assert _state(app, order.number)[0] is OrderStatus.PENDING_PAYMENT

    # "Payer … par carte" again: the same key, so the same pay-in, not a second one.
    retry = client.post(f"/{VERNETTE}/commande/{order.number}/payer")
    (payin,) = _payins_of(sandbox, order.number)
    assert retry.status_code == 302 and retry.headers["Location"] == payin["RedirectURL"]
    fault.release()  # the first answer finally leaves, long after the adapter gave up
    wait_until(lambda: len(sandbox.api_calls("POST", "payins/card/web")) == 2, 5,
               lambda: f"the first answer to be sent; calls: {sandbox.calls}")
    posts = sandbox.api_calls("POST", "payins/card/web")
    assert [call.fault for call in posts] == [False, True]  # recorded when answered: the retry first
    assert posts[0].idempotency_key == posts[1].idempotency_key
    assert posts[0].status == 409  # Mangopay: "already created with this key"

    back = _pay_on_sandbox(retry.headers["Location"], "accept")
    page = text_of(client.get(back.removeprefix("http://shop.test"), follow_redirects=True))
    assert "Paiement accepté" in page
    status, _, payments, events, _ = _state(app, order.number)
    assert status is OrderStatus.PAID
    assert [(p.status, p.provider_payin_id) for p in payments] == [(PaymentStatus.SUCCEEDED, payin["Id"])]
    assert [to for _, to in events].count(OrderStatus.PAID) == 1
    assert len(_payins_of(sandbox, order.number)) == 1
    assert sandbox.wallet(payin["CreditedWalletId"])["Balance"]["Amount"] == order.total_ttc_cents

    # Nothing left for the job.
    _attempts_made_minutes_ago(app, 15)
    before = _state(app, order.number)
    _run_job(app, 0)
    assert _state(app, order.number) == before


def test_a_500_before_anything_was_created_fails_the_attempt_and_the_next_try_gets_a_new_key(database, sandbox):
    app = _card_app(database, sandbox)
    sandbox.inject_fault("payins/card/web", status=500, processed=False)
    client, response, order = _card_checkout(app)
    assert UNAVAILABLE in text_of(client.get(response.headers["Location"]))
    assert _payins_of(sandbox, order.number) == []

    _attempts_made_minutes_ago(app, 15)
    _run_job(app, 0)
    status, _, payments, _, _ = _state(app, order.number)
    assert status is OrderStatus.PENDING_PAYMENT
    assert [(p.status, p.provider_payin_id) for p in payments] == [(PaymentStatus.FAILED, None)]

    retry = client.post(f"/{VERNETTE}/commande/{order.number}/payer")
    (payin,) = _payins_of(sandbox, order.number)
    assert retry.headers["Location"] == payin["RedirectURL"]
    keys = [call.idempotency_key for call in sandbox.api_calls("POST", "payins/card/web")]
    assert len(keys) == 2 and keys[0] != keys[1]
    sandbox.settle_payin(payin["Id"])
    _attempts_made_minutes_ago(app, 15)
    _run_job(app, 1)
    status, _, payments, events, _ = _state(app, order.number)
    assert status is OrderStatus.PAID
    assert [p.status for p in payments] == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]
    assert [to for _, to in events].count(OrderStatus.PAID) == 1


def test_a_lost_return_and_a_lost_notification_are_settled_by_the_job(database, sandbox):
    app = _card_app(database, sandbox)
    client, response, order = _card_checkout(app)
    redirect_url = response.headers["Location"]
    assert redirect_url.startswith(sandbox.base_url)
    back = _pay_on_sandbox(redirect_url, "accept")
    # Back at the shop, the provider answers 500 when asked about the pay-in.
    sandbox.inject_fault("payins/[0-9]+", method="GET", status=500, processed=False)
    page = text_of(client.get(back.removeprefix("http://shop.test"), follow_redirects=True))
    assert "Nous n'avons pas encore la réponse de la banque" in page and "En attente de paiement" in page
    assert _state(app, order.number)[0] is OrderStatus.PENDING_PAYMENT

    _attempts_made_minutes_ago(app, 15)
    _run_job(app, 0)
    status, _, payments, events, _ = _state(app, order.number)
    assert status is OrderStatus.PAID and [p.status for p in payments] == [PaymentStatus.SUCCEEDED]
    assert [to for _, to in events].count(OrderStatus.PAID) == 1


def test_an_unreachable_provider_leaves_the_attempt_for_the_next_run(database, sandbox):
    app = _card_app(database, sandbox)
    sandbox.inject_fault("payins/card/web", status=500, processed=True)
    _client, _response, order = _card_checkout(app)
    (payin,) = _payins_of(sandbox, order.number)
    sandbox.settle_payin(payin["Id"])
    _attempts_made_minutes_ago(app, 15)
    sandbox.inject_fault("responses/.+", method="GET", status=500, processed=False)
    _run_job(app, 0)  # the job itself ends well: the attempt is retried later
    assert _state(app, order.number)[2][0].status is PaymentStatus.CREATED
    _run_job(app, 1)
    assert _state(app, order.number)[0] is OrderStatus.PAID
