"""From an order awaiting payment to a paid order, through the payment provider.

The order is committed before any call to the provider. Each pay-in attempt is a
Payment row whose idempotency key is stored (and committed by the caller) before
the provider is called, so a retry sends the same key and cannot charge twice.
Return URLs and notifications are hints: the pay-in is fetched again from the
provider, and the guarded status changes make every replay a no-op. An attempt whose
answer was lost (a 500, a timeout) is settled later from the provider's state by the
reconciliation job (services.reconciliation), through the same :func:`apply_payin`.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Estate, Order, OrderStatus, Payment, PaymentHook, PaymentMode, PaymentStatus, User
from services import orders
from services.payments import FAILED, SUCCEEDED, PayIn, PaymentError, PaymentProvider
from services.tenancy import all_estates

if TYPE_CHECKING:
    from services.payments.mangopay import MangopayProvider

PROVIDER_MODES = (PaymentMode.CARD, PaymentMode.TRANSFER)
SYSTEM = orders.Actor(None, "Paiement en ligne")


def configured_provider(app: Flask) -> MangopayProvider:
    """The app's Mangopay (or local sandbox) client, one per configuration and process.
    ``MANGOPAY_TIMEOUT`` bounds each API call (seconds).

    :raise PaymentError: ``MANGOPAY_BASE_URL`` is not configured.
    """
    from services.payments.mangopay import MangopayProvider

    config = app.config
    key = (config.get("MANGOPAY_CLIENT_ID"), config.get("MANGOPAY_API_KEY"), config.get("MANGOPAY_BASE_URL"),
           float(config.get("MANGOPAY_TIMEOUT") or 20))
    cache = app.extensions.setdefault("chai_payment_providers", {})
    if key not in cache:
        if not key[2]:
            raise PaymentError("MANGOPAY_BASE_URL is not configured")
        cache[key] = MangopayProvider(client_id=key[0], api_key=key[1], base_url=key[2], timeout=key[3])
    return cache[key]


def open_payment(session: Session, order: Order, provider_name: str) -> Payment:
    """The pending attempt to reuse, or a new one with a fresh idempotency key."""
    for payment in reversed(order.payments):
        if payment.status is PaymentStatus.CREATED and payment.provider == provider_name:
            return payment
    payment = Payment(estate_id=order.estate_id, order_id=order.id, provider=provider_name,
                      mode=order.payment_mode, status=PaymentStatus.CREATED,
                      amount_cents=order.total_ttc_cents, idempotency_key=secrets.token_hex(16))
    session.add(payment)
    session.flush()
    return payment


def submit(session: Session, provider: PaymentProvider, payment: Payment, order: Order, estate: Estate,
           user: User, return_url: str) -> PayIn:
    """Create the pay-in at the provider with the payment's stored key and record it.

    :raise services.payments.PaymentError: the provider refused or is unreachable.
    """
    payer_id = provider.ensure_payer(email=user.email, first_name=user.first_name or order.billing_name,
                                     last_name=user.last_name or order.billing_name,
                                     existing_id=user.mangopay_user_id)
    owner_id, wallet_id = provider.ensure_estate_wallet(
        legal_name=estate.legal_name or estate.name, email=estate.email or f"{estate.slug}@chai.invalid",
        existing_user_id=estate.mangopay_user_id, existing_wallet_id=estate.mangopay_wallet_id)
    user.mangopay_user_id = payer_id
    estate.mangopay_user_id, estate.mangopay_wallet_id = owner_id, wallet_id
    if payment.mode is PaymentMode.CARD:
        payin = provider.create_card_payin(payer_id=payer_id, wallet_id=wallet_id, amount_cents=payment.amount_cents,
                                           return_url=return_url, tag=order.number,
                                           idempotency_key=payment.idempotency_key)
    else:
        payin = provider.create_bank_wire_payin(payer_id=payer_id, wallet_id=wallet_id,
                                                amount_cents=payment.amount_cents, tag=order.number,
                                                idempotency_key=payment.idempotency_key)
    for name, value in payin_columns(payin).items():
        setattr(payment, name, value)
    session.flush()
    return payin


def payin_columns(payin: PayIn) -> dict[str, Any]:
    """What a Payment row records of the pay-in its attempt created."""
    return dict(provider_payin_id=payin.id, redirect_url=payin.redirect_url or "",
                wire_reference=payin.wire_reference or "", bank_iban=payin.bank_iban or "",
                bank_bic=payin.bank_bic or "", bank_owner=payin.bank_owner or "")


def apply_payin(session: Session, provider_name: str, payin: PayIn, now: datetime, public_url: str) -> Payment | None:
    """Bring our payment and order in line with the provider's pay-in. Idempotent.

    Returns the payment, or None when the pay-in is not one of ours.
    """
    with all_estates(session):
        payment = session.scalars(
            select(Payment).where(Payment.provider == provider_name, Payment.provider_payin_id == payin.id)
        ).first()
        if payment is None:
            return None
        if payin.status == SUCCEEDED:
            changed = session.execute(
                update(Payment).where(Payment.id == payment.id, Payment.status != PaymentStatus.SUCCEEDED)
                .values(status=PaymentStatus.SUCCEEDED, succeeded_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.refresh(payment)
            order = session.get(Order, payment.order_id)
            if changed and order.status is OrderStatus.PENDING_PAYMENT:
                if payin.amount_cents != order.total_ttc_cents:
                    return payment  # never mark paid on a different amount: the estate checks by hand
                estate = session.get(Estate, order.estate_id)
                orders.transition(session, estate, order, OrderStatus.PAID, actor=SYSTEM, now=now,
                                  public_url=public_url, note=f"{provider_name} {payin.id}")
        elif payin.status == FAILED:
            session.execute(
                update(Payment).where(Payment.id == payment.id, Payment.status == PaymentStatus.CREATED)
                .values(status=PaymentStatus.FAILED, result_message=payin.result_message[:255])
                .execution_options(synchronize_session=False)
            )
            session.refresh(payment)
    session.flush()
    return payment


def record_hook(session: Session, provider_name: str, event_type: str, resource_id: str) -> bool:
    """Remember a notification; False when it was already handled (a replay)."""
    try:
        with session.begin_nested():
            session.add(PaymentHook(provider=provider_name, event_type=event_type, resource_id=resource_id))
    except IntegrityError:
        return False
    return True


def mark_paid_by_hand(session: Session, estate: Estate, order: Order, actor: orders.Actor, now: datetime,
                      public_url: str) -> None:
    """"Paiement reçu": cheque, cash, or a transfer the estate saw on its account."""
    payment = Payment(estate_id=order.estate_id, order_id=order.id, provider="manual", mode=order.payment_mode,
                      status=PaymentStatus.SUCCEEDED, amount_cents=order.total_ttc_cents,
                      idempotency_key=secrets.token_hex(16), succeeded_at=now)
    session.add(payment)
    orders.transition(session, estate, order, OrderStatus.PAID, actor=actor, now=now, public_url=public_url)
