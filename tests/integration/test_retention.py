"""Retention (issue 15): the purge job and a customer's erasure.

The purge job deletes abandoned carts and never-accepted invitations, blanks old sent
emails, and leaves what the law keeps; an erasure removes the customer's traces at one
estate but keeps the invoice and its PDF byte for byte.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from models import (Cart, CartLine, Estate, EstateCustomer, Follow, GroupInvitation, Invoice, OutboxAttachment,
                    OutboxMessage, Order, ProducerGroup, User, Wine)
from services import jobs
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, visitor

SLUG = "domaine-de-la-vernette"
NOW = datetime(2026, 11, 25, 4, 7, tzinfo=timezone.utc)


def _estate_id(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()


def _cart(session, estate_id: int, wine_id: int, token: str, updated_at: datetime) -> int:  # type: ignore[no-untyped-def]
    cart = Cart(estate_id=estate_id, token=token, updated_at=updated_at)
    session.add(cart)
    session.flush()
    session.add(CartLine(estate_id=estate_id, cart_id=cart.id, wine_id=wine_id, quantity=6))
    return cart.id


def test_the_purge_job_removes_abandoned_carts_expired_invitations_and_old_email_bodies(app):
    with session_for(app) as session:
        estate_id = _estate_id(session)
        wine_id = session.scalars(select(Wine.id).where(Wine.estate_id == estate_id).order_by(Wine.id)).first()
        abandoned = _cart(session, estate_id, wine_id, "abandoned", NOW - timedelta(days=61))
        recent = _cart(session, estate_id, wine_id, "recent", NOW - timedelta(days=59))
        group = ProducerGroup(name="CE Lumière", join_token="join-retention")
        session.add(group)
        session.flush()
        session.add_all([
            GroupInvitation(group_id=group.id, email="old@example.org", token_hash="a" * 64,
                            created_at=NOW - timedelta(days=91)),
            GroupInvitation(group_id=group.id, email="fresh@example.org", token_hash="b" * 64,
                            created_at=NOW - timedelta(days=10)),
            GroupInvitation(group_id=group.id, email="member@example.org", token_hash="c" * 64,
                            created_at=NOW - timedelta(days=400), accepted_at=NOW - timedelta(days=399)),
        ])
        old_sent = OutboxMessage(recipient="a@example.org", subject="Votre commande", body_text="3 rue des Lilas",
                                 body_html="<p>3 rue des Lilas</p>", status="sent", sent_at=NOW - timedelta(days=91))
        young_sent = OutboxMessage(recipient="b@example.org", subject="Votre commande", body_text="gardé",
                                   status="sent", sent_at=NOW - timedelta(days=89))
        old_pending = OutboxMessage(recipient="c@example.org", subject="En attente", body_text="à envoyer",
                                    status="pending", created_at=NOW - timedelta(days=200))
        session.add_all([old_sent, young_sent, old_pending])
        session.flush()
        session.add(OutboxAttachment(message_id=old_sent.id, source="order_form:1"))
        session.commit()
        ids = old_sent.id, young_sent.id, old_pending.id

    jobs.run_by_hand(app, "purge-expired", NOW)

    with session_for(app) as session:
        carts = set(session.scalars(select(Cart.id).execution_options(all_estates=True)))
        assert abandoned not in carts and recent in carts
        assert session.scalar(select(func.count()).select_from(CartLine)
                              .where(CartLine.cart_id == abandoned).execution_options(all_estates=True)) == 0
        assert set(session.scalars(select(GroupInvitation.email))) == {"fresh@example.org", "member@example.org"}
        old, young, pending = (session.get(OutboxMessage, i) for i in ids)
        assert (old.body_text, old.body_html, old.recipient, old.status) == ("", "", "a@example.org", "sent")
        assert session.scalar(select(func.count()).select_from(OutboxAttachment)
                              .where(OutboxAttachment.message_id == ids[0])) == 0
        assert young.body_text == "gardé" and pending.body_text == "à envoyer"

    jobs.run_by_hand(app, "purge-expired", NOW)  # twice: nothing more goes
    with session_for(app) as session:
        assert recent in set(session.scalars(select(Cart.id).execution_options(all_estates=True)))


def test_adding_to_a_cart_dates_it_so_a_cart_in_use_is_not_purged(app):
    buyer = visitor(app)
    login(buyer, "client@chai.example")
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    assert buyer.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code in (200, 302, 303)
    with session_for(app) as session:
        cart = session.scalars(select(Cart).execution_options(all_estates=True)).one()
        first_date = cart.updated_at
        cart.updated_at = first_date - timedelta(days=100)  # as if it had been made long ago
        session.commit()
    buyer.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    with session_for(app) as session:
        cart = session.scalars(select(Cart).execution_options(all_estates=True)).one()
        assert cart.updated_at >= first_date  # the addition moved it to now
    jobs.run_by_hand(app, "purge-expired", datetime.now(timezone.utc))
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Cart).execution_options(all_estates=True)) == 1


def test_an_erasure_removes_the_customers_traces_but_keeps_the_invoice_byte_for_byte(app):
    buyer = visitor(app)
    login(buyer, "client@chai.example")
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    buyer.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    response = buyer.post(f"/{SLUG}/commande", data=checkout_form(email=None, password=None, confirm=None,
                                                                   birth_date="1980-05-17"))
    assert response.status_code in (302, 303)
    buyer.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})  # a new cart, left there
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    with session_for(app) as session:
        estate_id = _estate_id(session)
        order = session.scalars(select(Order).execution_options(all_estates=True)).one()
        user_id = session.scalars(select(User.id).where(User.email == "client@chai.example")).one()
        session.add(Follow(estate_id=estate_id, user_id=user_id))
        session.commit()
        order_id = order.id
        customer_id = order.customer_id
        assert order.buyer_birth_date == date(1980, 5, 17)  # asked at checkout (L3342-1)
    staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": "paid"})
    assert staff.post(f"/gestion/{SLUG}/commandes/{order_id}/facturer").status_code in (200, 302, 303)
    with session_for(app) as session:
        invoice = session.scalars(select(Invoice).execution_options(all_estates=True)).one()
        pdf_before, number = invoice.document.content, invoice.number
        mails_before = session.scalar(select(func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.recipient == "client@chai.example"))
    assert mails_before >= 1

    assert staff.post(f"/gestion/{SLUG}/clients/{customer_id}/anonymiser", data={"confirm": "oui"}).status_code == 302

    with session_for(app) as session:
        order = session.get(Order, order_id)
        assert order.buyer_birth_date is None and order.email.endswith("@anonyme.invalid")
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.estate_id == estate_id,
                                     OutboxMessage.recipient == "client@chai.example")) == 0
        assert session.scalar(select(func.count()).select_from(Cart).where(Cart.user_id == user_id)
                              .execution_options(all_estates=True)) == 0
        assert session.scalar(select(func.count()).select_from(Follow).where(Follow.user_id == user_id)
                              .execution_options(all_estates=True)) == 0
        invoice = session.scalars(select(Invoice).execution_options(all_estates=True)).one()
        assert (invoice.number, invoice.document.content) == (number, pdf_before)  # kept, unchanged
        assert session.get(EstateCustomer, customer_id).email.endswith("@anonyme.invalid")
        # the account itself (platform-wide) stays: other estates still know it
        assert session.scalars(select(User.email).where(User.id == user_id)).one() == "client@chai.example"
