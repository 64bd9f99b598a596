"""The payment provider as the web layer sees it, and its notification endpoint."""

from __future__ import annotations

from flask import current_app, request

from models import db, utcnow
from services import group_payments, mail, payment_flow
from services.database import writes_on_get
from services.payments import PaymentError, parse_hook
from services.payments.mangopay import MangopayProvider
from shop import site_bp


def provider() -> MangopayProvider:
    """The configured Mangopay (or local sandbox) client, one per configuration."""
    return payment_flow.configured_provider(current_app)


@site_bp.get("/paiements/mangopay/notification")
@writes_on_get
def mangopay_hook():  # type: ignore[no-untyped-def]
    """Mangopay's hook (an unsigned GET): a hint, so the pay-in is fetched again.
    A replay changes nothing; an error answers 503 so that Mangopay retries."""
    parsed = parse_hook(request.args)
    if parsed is None:
        return "ignored", 400
    event_type, resource_id = parsed
    if not event_type.startswith("PAYIN_"):
        return "ignored", 200
    if not payment_flow.record_hook(db.session, "mangopay", event_type, resource_id):
        return "already handled", 200
    try:
        payin = provider().get_payin(resource_id)
    except PaymentError:
        db.session.rollback()
        return "provider unavailable", 503
    payment = payment_flow.apply_payin(db.session, "mangopay", payin, utcnow(), current_app.config["PUBLIC_URL"])
    if payment is None:  # a group basket's pay-in (issue 11): its orders, then its transfers
        paying = group_payments.apply_payin(db.session, payin, utcnow(), current_app.config["PUBLIC_URL"])
        db.session.commit()
        if paying is not None:
            group_payments.settle_transfers(db.session, provider(), utcnow(), paying.id)
    db.session.commit()
    mail.deliver_now()
    return "ok", 200
