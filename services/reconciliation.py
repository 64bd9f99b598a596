"""Payment reconciliation: settle the pay-ins whose outcome we never heard.

A card payment can leave an attempt (a Payment row) ``created`` for good: the provider
created the pay-in but its answer was lost (a 500, a timeout), so we never learnt its
id; or the customer paid and closed the tab before the return URL, and the provider's
notification never came, or came while we were down. Every few minutes this job asks
the provider about each attempt still ``created`` after :data:`GRACE`:

* with a pay-in id: the pay-in is fetched;
* without one (the answer to the POST was lost): the provider's first answer to the
  attempt's stored idempotency key is fetched (Mangopay keeps it 24 h,
  ``GET /responses/{key}``). A pay-in found there is recorded on the attempt. No pay-in
  means nothing was created and nothing charged: the attempt is marked failed, and the
  customer's next try gets a new key.

The provider's state then goes through :func:`services.payment_flow.apply_payin`, the
guarded path the notification and the return URL take: a succeeded pay-in marks the
order paid once, whoever gets there first; a failed one fails the attempt; one still
``CREATED`` (the customer is on the payment page, a wire has not arrived) waits for a
later run.

No transaction is open while the provider is called: on SQLite a write transaction
holds the database's write lock, and every checkout would wait on the provider's
timeout. Each attempt is then settled in a short transaction of its own, so one
failure leaves the others settled.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import Payment, PaymentStatus
from services import payment_flow
from services.database import read_only_transactions
from services.payments import PaymentError, PaymentProvider
from services.tenancy import all_estates

log = logging.getLogger("chai.reconciliation")

#: An attempt younger than this may still be in flight (the provider's timeout is
#: seconds): only older ones are reconciled.
GRACE = timedelta(minutes=10)
#: Mangopay keeps its answer to an idempotency key 24 hours: past that, "no answer"
#: proves nothing, so a lost answer is only looked up this long.
KEY_MEMORY = timedelta(hours=23)
#: A card pay-in expires within the day and an unpaid bank wire after a month; older
#: attempts are left to the estate.
MAX_AGE = timedelta(days=40)
#: result_message of an attempt the provider never created a pay-in for
NEVER_CREATED = "No pay-in at the provider for this attempt (its request was lost)"


def pending(session: Session, provider_name: str, now: datetime) -> list[tuple[int, str | None, str, datetime]]:
    """(id, pay-in id, idempotency key, created at) of the attempts to reconcile, oldest
    first. Ends the read transaction it opens."""
    with read_only_transactions(), all_estates(session):
        rows = session.execute(
            select(Payment.id, Payment.provider_payin_id, Payment.idempotency_key, Payment.created_at)
            .where(Payment.provider == provider_name, Payment.status == PaymentStatus.CREATED,
                   Payment.created_at <= now - GRACE, Payment.created_at > now - MAX_AGE)
            .order_by(Payment.id)
        ).all()
        session.commit()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def reconcile(session: Session, provider: PaymentProvider, now: datetime, public_url: str) -> Counter[str]:
    """Settle every attempt :func:`pending` returns from the provider's state. Commits
    each attempt on its own. Returns how many ended ``succeeded``, ``failed``, are still
    ``waiting``, or could not be checked (``errors``: retried at the next run)."""
    outcome: Counter[str] = Counter()
    for payment_id, payin_id, key, created_at in pending(session, provider.name, now):
        try:
            if payin_id:
                payin = provider.get_payin(payin_id)
            elif created_at > now - KEY_MEMORY:
                payin = provider.payin_by_idempotency_key(key)
            else:
                outcome["waiting"] += 1
                continue
        except PaymentError:
            log.warning("payment %s: the provider could not be asked, retried at the next run", payment_id,
                        exc_info=True)
            outcome["errors"] += 1
            continue
        try:
            with all_estates(session):
                status = _settle(session, provider.name, payment_id, payin, now, public_url)
            session.commit()
        except SQLAlchemyError:
            session.rollback()
            log.exception("payment %s: could not record the provider's state", payment_id)
            outcome["errors"] += 1
            continue
        outcome[status] += 1
    if outcome:
        log.info("payment reconciliation: %s", ", ".join(f"{k} {v}" for k, v in sorted(outcome.items())))
    return outcome


def _settle(session: Session, provider_name: str, payment_id: int, payin, now: datetime,  # type: ignore[no-untyped-def]
            public_url: str) -> str:
    if payin is None:  # the lost request created nothing: the attempt failed, nothing was charged
        session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.status == PaymentStatus.CREATED,
                   Payment.provider_payin_id.is_(None))
            .values(status=PaymentStatus.FAILED, result_message=NEVER_CREATED)
            .execution_options(synchronize_session=False)
        )
        return "failed"
    # The pay-in the lost answer carried (a customer's retry may have recorded it meanwhile).
    session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.provider_payin_id.is_(None))
        .values(**payment_flow.payin_columns(payin))
        .execution_options(synchronize_session=False)
    )
    payment = payment_flow.apply_payin(session, provider_name, payin, now, public_url)
    if payment is None or payment.status is PaymentStatus.CREATED:
        return "waiting"
    return payment.status.value


def run(session: Session, now: datetime) -> None:
    """The scheduled job (services.jobs): nothing to do costs one query, and needs no
    provider configured."""
    from services import group_payments

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if pending(session, "mangopay", now):
        reconcile(session, payment_flow.configured_provider(app), now, app.config["PUBLIC_URL"])
    if group_payments.to_reconcile(session, now - GRACE, now - MAX_AGE):  # group baskets (issue 11)
        group_payments.reconcile(session, payment_flow.configured_provider(app), now, app.config["PUBLIC_URL"],
                                 now - GRACE, now - MAX_AGE)
