"""GDPR for the customer file: export one customer's data; anonymise a customer.

Anonymising blanks the customer-file line and the order copies of name, email,
phone and delivery address, but keeps the invoiced orders' billing identity and
amounts, and the issued invoice PDFs: French law requires invoices to be kept
(10 years, Code de commerce L123-22) and they never change.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models import (Cart, CartLine, EstateCustomer, Follow, LoyaltyEntry, MailingRecipient, NewsDelivery, Order,
                    OutboxMessage, Voucher)


def export(session: Session, customer: EstateCustomer) -> dict:
    orders = session.scalars(select(Order).where(Order.customer_id == customer.id).order_by(Order.id)).all()
    return {
        "client": {name: getattr(customer, name) for name in (
            "email", "first_name", "last_name", "phone", "company", "billing_street", "billing_postcode",
            "billing_city", "billing_country", "shipping_street", "shipping_postcode", "shipping_city",
            "shipping_country", "external_number", "notes", "loyalty_balance_cents")} | {"kind": customer.kind.value}
        | {"lettre_information": {  # issue 14: the newsletter consent, its date and source
            "accord_le": customer.newsletter_consent_at.isoformat() if customer.newsletter_consent_at else None,
            "source": customer.newsletter_consent_source,
            "desabonne_le": (customer.newsletter_unsubscribed_at.isoformat()
                             if customer.newsletter_unsubscribed_at else None)}},
        "commandes": [{"numero": o.number, "date": o.created_at.isoformat(), "statut": o.status.value,
                       "total_ttc_cents": o.total_ttc_cents, "livraison": o.delivery_label,
                       "date_de_naissance": o.buyer_birth_date.isoformat() if o.buyer_birth_date else None,
                       "adresse_livraison": " ".join(filter(None, (o.shipping_street, o.shipping_postcode, o.shipping_city)))}
                      for o in orders],
        "fidelite": [{"date": e.created_at.isoformat(), "montant_cents": e.amount_cents, "motif": e.reason}
                     for e in session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.customer_id == customer.id))],
        "bons_achat": [{"code": v.code, "montant_cents": v.amount_cents, "utilise": v.used_order_id is not None}
                       for v in session.scalars(select(Voucher).where(Voucher.customer_id == customer.id))],
    }


def anonymise(session: Session, customer: EstateCustomer) -> None:
    """Erase the customer at this estate (their account and other estates keep theirs).

    Kept, because the law asks (services.retention): invoiced orders' billing identity and
    amounts, the invoices, credit notes and the sales journal. Everything else goes: the
    customer-file line, the orders' contact, delivery address, note and date of birth,
    the newsletter address, the emails queued or sent to them for this estate, their
    carts here, their following of the estate and its news deliveries.
    """
    placeholder = f"anonyme-{customer.id}@anonyme.invalid"
    old_email, user_id = customer.email, customer.user_id
    for name in ("first_name", "last_name", "phone", "company", "billing_street", "billing_postcode", "billing_city",
                 "shipping_street", "shipping_postcode", "shipping_city", "notes", "external_number"):
        setattr(customer, name, "")
    customer.email, customer.user_id, customer.referral_code = placeholder, None, None
    # no newsletter to an erased customer (services.mailings also skips .invalid addresses)
    customer.newsletter_consent_at, customer.newsletter_consent_source = None, ""
    customer.newsletter_unsubscribed_at = None
    for order in session.scalars(select(Order).where(Order.customer_id == customer.id)):
        order.email, order.phone, order.customer_note = placeholder, "", ""
        order.buyer_birth_date = None
        order.shipping_name = order.shipping_street = order.shipping_postcode = order.shipping_city = ""
        if order.invoiced_at is None:  # no invoice to keep legal: the billing identity goes too
            order.billing_name, order.billing_company = "Client anonymisé", ""
            order.billing_street = order.billing_postcode = order.billing_city = ""
    session.flush()
    _erase_traces(session, customer, old_email, user_id, placeholder)


def _erase_traces(session: Session, customer: EstateCustomer, email: str, user_id: int | None,
                  placeholder: str) -> None:
    estate_id = customer.estate_id
    session.execute(update(MailingRecipient).where(MailingRecipient.customer_id == customer.id)
                    .values(email=placeholder).execution_options(synchronize_session=False))
    if email:  # the outbox's attachments go with their message (ON DELETE CASCADE)
        session.execute(delete(OutboxMessage).where(OutboxMessage.estate_id == estate_id,
                                                    func.lower(OutboxMessage.recipient) == email.lower())
                        .execution_options(synchronize_session=False))
    if user_id is not None:
        carts = select(Cart.id).where(Cart.estate_id == estate_id, Cart.user_id == user_id)
        session.execute(delete(CartLine).where(CartLine.cart_id.in_(carts)).execution_options(synchronize_session=False))
        session.execute(delete(Cart).where(Cart.estate_id == estate_id, Cart.user_id == user_id)
                        .execution_options(synchronize_session=False))
        session.execute(delete(Follow).where(Follow.estate_id == estate_id, Follow.user_id == user_id)
                        .execution_options(synchronize_session=False))
        session.execute(delete(NewsDelivery).where(NewsDelivery.estate_id == estate_id,
                                                   NewsDelivery.user_id == user_id)
                        .execution_options(synchronize_session=False))
    session.flush()
