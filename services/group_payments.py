"""One payment for a group basket, split per estate (issue 11).

The member pays the whole basket once: a card pay-in credits the member's own
Mangopay wallet (a PAYER may hold one), then one wallet-to-wallet transfer per order
moves each estate's share to that estate's wallet. As for single orders
(services.payment_flow): the orders and the :class:`models.GroupCheckout` with its
idempotency key are committed before the provider is called; the return URL and the
hook are hints (the pay-in is fetched again); :func:`apply_payin` moves the checkout by
a guarded UPDATE, so a replay pays no order twice; each :class:`models.GroupTransfer` is
written with its own idempotency key and committed before :func:`settle_transfers`
calls the provider, so a repeated call, a lost answer or the reconciliation job's retry
never makes a second transfer.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (
    Estate,
    GroupCheckout,
    GroupTransfer,
    Order,
    OrderStatus,
    Payment,
    PaymentMode,
    PaymentStatus,
    User,
)
from services import invoicing, mail, orders
from services.payments import FAILED, SUCCEEDED, PayIn, PaymentError, PaymentProvider
from services.tenancy import all_estates, in_estate

SYSTEM = orders.Actor(None, "Paiement en ligne (distribution)")
#: a payment that arrived for a cancelled order: not transferred, to refund from the member's wallet
REFUND_NOTE = " — commande annulée : à rembourser, l'argent reste dans le portefeuille du membre"
PROVIDER = "mangopay"


def submit(session: Session, provider: PaymentProvider, paying: GroupCheckout, user: User,
           return_url: str) -> PayIn:
    """Create the card pay-in of the whole basket, to the member's wallet, with the
    checkout's stored key (a retry returns the same pay-in).

    :raise PaymentError: the provider refused or is unreachable.
    """
    payer_id = provider.ensure_payer(email=user.email, first_name=user.first_name or user.email,
                                     last_name=user.last_name or user.email, existing_id=user.mangopay_user_id)
    user.mangopay_user_id = payer_id
    wallet_id = provider.ensure_payer_wallet(payer_id=payer_id, existing_wallet_id=user.mangopay_wallet_id)
    user.mangopay_wallet_id = wallet_id
    payin = provider.create_card_payin(payer_id=payer_id, wallet_id=wallet_id, amount_cents=paying.total_cents,
                                       return_url=return_url, tag=paying.reference,
                                       idempotency_key=paying.idempotency_key)
    paying.provider_payin_id, paying.payer_wallet_id = payin.id, wallet_id
    paying.redirect_url = payin.redirect_url or ""
    session.flush()
    return payin


def find_by_payin(session: Session, payin_id: str) -> GroupCheckout | None:
    return session.scalars(select(GroupCheckout).where(GroupCheckout.provider == PROVIDER,
                                                       GroupCheckout.provider_payin_id == payin_id)).first()


def apply_payin(session: Session, payin: PayIn, now: datetime, public_url: str) -> GroupCheckout | None:
    """Bring the group checkout and its orders in line with the provider's pay-in.
    Idempotent: only the call that moves the checkout to "succeeded" pays the orders,
    invoices them and writes the transfers to make. None: not a group pay-in.
    """
    paying = find_by_payin(session, payin.id)
    if paying is None:
        return None
    if payin.status == SUCCEEDED:
        moved = session.execute(update(GroupCheckout).where(GroupCheckout.id == paying.id,
                                                            GroupCheckout.status != "succeeded")
                                .values(status="succeeded", paid_at=now)
                                .execution_options(synchronize_session=False)).rowcount
        session.refresh(paying)
        if moved != 1:
            return paying
        if payin.amount_cents != paying.total_cents:  # never pay orders on another amount: checked by hand
            paying.result_message = f"montant reçu {payin.amount_cents} ≠ {paying.total_cents}"
            return paying
        with all_estates(session):
            placed = list(session.scalars(select(Order).where(Order.group_checkout_id == paying.id)
                                          .order_by(Order.id)))
        for order in placed:
            _pay_order(session, paying, order, payin, now, public_url)
    elif payin.status == FAILED:
        session.execute(update(GroupCheckout).where(GroupCheckout.id == paying.id, GroupCheckout.status == "created")
                        .values(status="failed", result_message=(payin.result_message or "")[:255])
                        .execution_options(synchronize_session=False))
        session.refresh(paying)
    session.flush()
    return paying


def _pay_order(session: Session, paying: GroupCheckout, order: Order, payin: PayIn, now: datetime,
               public_url: str) -> None:
    """One estate's share: its order paid and invoiced (the member collects it at the
    distribution: nothing left to ship), the invoice emailed, its transfer to make."""
    with in_estate(session, order.estate_id):
        estate = session.get(Estate, order.estate_id)
        cancelled = order.status is OrderStatus.CANCELLED
        session.add(Payment(estate_id=order.estate_id, order_id=order.id, provider=PROVIDER, mode=PaymentMode.CARD,
                            status=PaymentStatus.SUCCEEDED, amount_cents=order.total_ttc_cents,
                            idempotency_key=secrets.token_hex(16), succeeded_at=now,
                            result_message=(f"{paying.reference} ({PROVIDER} {payin.id})" + (
                                REFUND_NOTE if cancelled else ""))[:255]))
        if cancelled:  # paid after it was cancelled (orders closed): the money stays in the member's wallet
            return
        session.add(GroupTransfer(group_checkout_id=paying.id, order_id=order.id, estate_id=order.estate_id,
                                  amount_cents=order.total_ttc_cents, idempotency_key=secrets.token_hex(16),
                                  created_at=now))
        if order.status is not OrderStatus.PENDING_PAYMENT:
            return
        orders.transition(session, estate, order, OrderStatus.PAID, actor=SYSTEM, now=now, public_url=public_url,
                          note=f"{paying.reference} {PROVIDER} {payin.id}")
        invoice = invoicing.current_invoice(session, order) or invoicing.issue_invoice(session, estate, order, now)
        mail.queue_template(session, "distribution_order_paid", recipient=order.email, estate_id=estate.id,
                            subject=f"{estate.name} - Facture {invoice.number} (commande {order.number})",
                            attachments=[invoicing.attachment_source(invoice)], estate=estate, order=order,
                            invoice=invoice, public_url=public_url.rstrip("/"))


def pending_transfers(session: Session, checkout_id: int | None = None) -> list[GroupTransfer]:
    query = select(GroupTransfer).where(GroupTransfer.status == "pending")
    if checkout_id is not None:
        query = query.where(GroupTransfer.group_checkout_id == checkout_id)
    return list(session.scalars(query.order_by(GroupTransfer.id)))


def settle_transfers(session: Session, provider: PaymentProvider, now: datetime,
                     checkout_id: int | None = None) -> int:
    """Make the pending transfers (of one checkout, or all); each is committed by the
    caller after this returns. Returns how many succeeded now. A provider error leaves
    the transfer pending for the next try (the reconciliation job); a refusal marks it
    failed, for the platform to look at.
    """
    done = 0
    for transfer in pending_transfers(session, checkout_id):
        paying = session.get(GroupCheckout, transfer.group_checkout_id)
        payer = session.get(User, paying.user_id)
        with all_estates(session):
            estate = session.get(Estate, transfer.estate_id)
            number = session.scalar(select(Order.number).where(Order.id == transfer.order_id)) or ""
        try:
            owner_id, wallet_id = provider.ensure_estate_wallet(
                legal_name=estate.legal_name or estate.name, email=estate.email or f"{estate.slug}@chai.invalid",
                existing_user_id=estate.mangopay_user_id, existing_wallet_id=estate.mangopay_wallet_id)
            estate.mangopay_user_id, estate.mangopay_wallet_id = owner_id, wallet_id
            made = provider.create_transfer(author_id=payer.mangopay_user_id, debited_wallet_id=paying.payer_wallet_id,
                                            credited_wallet_id=wallet_id, credited_user_id=owner_id,
                                            amount_cents=transfer.amount_cents,
                                            tag=f"{paying.reference} {number}"[:255],
                                            idempotency_key=transfer.idempotency_key)
        except PaymentError as exc:
            transfer.result_message = str(exc)[:255]
            if "refused" in str(exc).lower() or "failed" in str(exc).lower():
                session.execute(update(GroupTransfer).where(GroupTransfer.id == transfer.id,
                                                            GroupTransfer.status == "pending")
                                .values(status="failed", result_message=str(exc)[:255])
                                .execution_options(synchronize_session=False))
            continue
        moved = session.execute(update(GroupTransfer).where(GroupTransfer.id == transfer.id,
                                                            GroupTransfer.status == "pending")
                                .values(status="succeeded", provider_transfer_id=made.id, done_at=now,
                                        result_message="")
                                .execution_options(synchronize_session=False)).rowcount
        done += moved
    session.flush()
    return done


def to_reconcile(session: Session, before: datetime, after: datetime) -> list[int]:
    """Group checkouts to settle from the provider's state: a pay-in never confirmed to
    us, or transfers still to make (a provider error interrupted them)."""
    waiting = select(GroupCheckout.id).where(GroupCheckout.status == "created",
                                             GroupCheckout.provider_payin_id.is_not(None),
                                             GroupCheckout.created_at <= before, GroupCheckout.created_at > after)
    transfers = select(GroupTransfer.group_checkout_id).where(GroupTransfer.status == "pending")
    return sorted(set(session.scalars(waiting)) | set(session.scalars(transfers)))


def reconcile(session: Session, provider: PaymentProvider, now: datetime, public_url: str, before: datetime,
              after: datetime) -> None:
    """The reconciliation job's part for group baskets; commits each checkout on its own."""
    for checkout_id in to_reconcile(session, before, after):
        paying = session.get(GroupCheckout, checkout_id)
        try:
            if paying.status == "created":
                apply_payin(session, provider.get_payin(paying.provider_payin_id), now, public_url)
                session.commit()
            settle_transfers(session, provider, now, checkout_id)
            session.commit()
        except PaymentError:
            session.rollback()
