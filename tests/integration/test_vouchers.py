"""The cagnotte: one voucher per spending step crossed, emailed once; vouchers are
used once at checkout and belong to their customer."""

from __future__ import annotations

from sqlalchemy import select

from models import Estate, EstateCustomer, Order, OutboxMessage, Voucher, db, utcnow
from services import vouchers
from services.tenancy import scope_to_estate
from tests.conftest import checkout_form, login, session_for, text_of, visitor

SLUG = "domaine-de-la-vernette"


def _settings(app, step: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    assert staff.post(f"/gestion/{SLUG}/clients/fidelite", data={
        "loyalty_particulier": "0", "loyalty_pro": "0", "cagnotte_step": step, "cagnotte_voucher": amount}).status_code == 302


def _paid_order(app, quantity: int, token: str) -> int:  # type: ignore[no-untyped-def]
    import re

    client = visitor(app)
    login(client, "client@chai.example")
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    wine_id = int(re.search(r'id="add-(\d+)"', page).group(1))
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)})
    response = client.post(f"/{SLUG}/commande", data=checkout_form(token=token, email=None, password=None,
                                                                     confirm=None, delivery="pickup"))
    assert response.status_code == 302, text_of(response)[:1000]
    with session_for(app) as session:
        order_id = session.scalars(select(Order.id).order_by(Order.id.desc())).first()
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    staff.post(f"/gestion/{SLUG}/commandes/{order_id}/statut", data={"to": "paid"})
    return order_id


def _vouchers(app) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return [(v.code, v.amount_cents) for v in session.scalars(select(Voucher).order_by(Voucher.id))]


def _voucher_mails(app) -> list[str]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return list(session.scalars(select(OutboxMessage.subject).where(OutboxMessage.subject.like("%bon d'achat%"))))


def test_one_voucher_per_step_crossed_emailed_once(app):
    _settings(app, step="100", amount="10")
    _paid_order(app, 12, "a")  # 12 bottles of the first wine: over 200 €, two steps
    with session_for(app) as session:
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.email == "client@chai.example",
                                                                EstateCustomer.cagnotte_steps_rewarded > 0)).one()
        spent = vouchers.spent_cents(session, customer)
        steps, customer_id = customer.cagnotte_steps_rewarded, customer.id
    assert steps == spent // 10000 >= 1
    issued = _vouchers(app)
    assert len(issued) == steps and all(amount == 1000 for _, amount in issued)
    assert len(_voucher_mails(app)) == steps
    # recording the payment again (a replayed notification, a second worker) changes nothing
    with app.app_context():
        estate = db.session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        scope_to_estate(db.session, estate.id)
        order = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
        assert vouchers.on_paid(db.session, estate, order, "http://x") == []
        db.session.commit()
        db.session.remove()
    assert len(_vouchers(app)) == steps and len(_voucher_mails(app)) == steps
    page = text_of(visitor_logged_in(app).get("/compte/"))
    assert "avant votre prochain bon d'achat" in page and issued[0][0] in page
    assert customer_id


def visitor_logged_in(app):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, "client@chai.example")
    return client


def test_a_voucher_is_used_once_and_only_by_its_customer(app):
    _settings(app, step="50", amount="5")
    _paid_order(app, 6, "b")
    code = _vouchers(app)[0][0]
    stranger = visitor(app)
    login(stranger, "caviste@chai.example")
    refused = stranger.post(f"/{SLUG}/panier/code", data={"code": code}, headers={"HX-Request": "true"})
    assert f"Le code {code} n'existe pas" in text_of(refused)
    owner = visitor_logged_in(app)
    import re

    page = owner.get(f"/{SLUG}/").get_data(as_text=True)
    wine_id = int(re.search(r'id="add-(\d+)"', page).group(1))
    owner.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    applied = owner.post(f"/{SLUG}/panier/code", data={"code": code}, headers={"HX-Request": "true"})
    assert f"Bon d'achat {code}" in text_of(applied)
    owner.post(f"/{SLUG}/commande", data=checkout_form(token="c", email=None, password=None, confirm=None,
                                                        delivery="pickup"))
    with session_for(app) as session:
        voucher = session.scalars(select(Voucher).where(Voucher.code == code)).one()
        order = session.scalars(select(Order).order_by(Order.id.desc())).first()
        assert voucher.used_order_id == order.id
        assert [l.ttc_cents for l in order.lines if l.label == f"Bon d'achat {code}"] == [-500]
    owner.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    again = text_of(owner.get(f"/{SLUG}/panier"))
    assert f"Bon d'achat {code}" not in again
    assert utcnow()
