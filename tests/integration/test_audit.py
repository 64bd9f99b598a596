"""The audit log: back-office changes to money and customers are recorded with their
author and their before/after, in the change's own transaction, and each estate sees
only its own "Journal des modifications"."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Estate, EstateCustomer, Order, Price, PriceList, Promotion, User, Wine, utcnow
from services import audit
from services.templating import PARIS
from services.tenancy import EstateMismatch, scope_to_estate
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

VERNETTE = "domaine-de-la-vernette"
ROZEL = "domaine-rozel"
HX = {"HX-Request": "true"}


def _staff(app, email: str = "vigneron@vernette.example"):  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, email)
    return staff


def _estate_id(app, slug: str = VERNETTE) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _entries(app, slug: str = VERNETTE, action: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    estate_id = _estate_id(app, slug)
    with session_for(app) as session:
        statement = select(AuditEntry).where(AuditEntry.estate_id == estate_id).order_by(AuditEntry.id)
        if action:
            statement = statement.where(AuditEntry.action == action)
        return [{"action": e.action, "actor_user_id": e.actor_user_id, "actor_label": e.actor_label,
                 "subject": (e.subject_type, e.subject_id), "summary": e.summary, "before": json.loads(e.before),
                 "after": json.loads(e.after), "ip": e.ip, "created_at": e.created_at}
                for e in session.scalars(statement)]


def _user_id(app, email: str) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def _place_order(app, token: str = "audit") -> int:  # type: ignore[no-untyped-def]
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=100)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(token=token, email=f"{token}@example.com"))
    assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        return session.scalars(select(Order.id).where(Order.email == f"{token}@example.com")).one()


def _particuliers_price(app):  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        price = session.scalars(select(Price).join(PriceList).join(Wine).where(
            PriceList.name == "Particuliers", Price.promo_active.is_(False), Wine.estate_id == _estate_id(app),
            Wine.is_visible.is_(True), Wine.is_available.is_(True))).first()
        return price.wine_id, price.price_list_id, price.amount_cents, price.wine.vintage, price.wine.stock


# ------------------------------------------------------------------ prices


def test_a_price_changed_in_the_wines_table_is_logged_with_before_and_after(app):
    wine_id, list_id, cents, vintage, stock = _particuliers_price(app)
    staff = _staff(app)
    new_cents = cents + 110
    data = {"price": f"{new_cents // 100},{new_cents % 100:02d}", "promo_price": "", "vintage": str(vintage or ""),
            "stock": str(stock), "is_available": "y", "available_again_month": "0", "available_again_year": "",
            "is_visible": "y"}
    response = staff.post(f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}", data=data, headers=HX,
                          environ_base={"REMOTE_ADDR": "203.0.113.77"})
    assert response.status_code == 200, text_of(response)[:2000]
    (entry,) = _entries(app, action="price.update")
    assert entry["before"] == {"amount_cents": cents} and entry["after"] == {"amount_cents": new_cents}
    assert entry["subject"] == ("wine", wine_id) and "Particuliers" in entry["summary"]
    assert entry["actor_user_id"] == _user_id(app, "vigneron@vernette.example")
    assert "vigneron@vernette.example" in entry["actor_label"] and entry["ip"] == "203.0.113.77"
    assert abs(entry["created_at"] - utcnow()) < timedelta(minutes=1)
    # Saving the row again without a change adds nothing.
    staff.post(f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}", data=data, headers=HX)
    assert len(_entries(app, action="price.update")) == 1


def test_a_refused_price_change_leaves_no_entry(app):
    wine_id, list_id, _cents, vintage, stock = _particuliers_price(app)
    staff = _staff(app)
    data = {"price": "10,00", "promo_price": "12,00", "promo_active": "y", "vintage": str(vintage or ""),
            "stock": str(stock), "is_available": "y", "available_again_month": "0", "is_visible": "y"}
    response = staff.post(f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}", data=data, headers=HX)
    assert response.status_code == 422
    assert _entries(app) == []


def test_a_price_list_edit_logs_only_the_prices_that_changed(app):
    wine_id, list_id, cents, *_ = _particuliers_price(app)
    staff = _staff(app)
    with session_for(app) as session:
        price_list = session.get(PriceList, list_id)
        data = {"name": price_list.name, "prices_include_vat": "ttc" if price_list.prices_include_vat else "ht",
                "cash_discount": "1,5"}
        data.update({f"price-{p.wine_id}": f"{p.amount_cents // 100},{p.amount_cents % 100:02d}" for p in price_list.prices})
        old_discount = price_list.cash_discount_bp
        wine_label = f"{p.wine.name} {p.wine.vintage or ''}".strip() if (p := session.get(Price, next(
            x.id for x in price_list.prices if x.wine_id == wine_id))) else ""
    data[f"price-{wine_id}"] = "99,50"
    assert staff.post(f"/gestion/{VERNETTE}/tarifs/{list_id}", data=data).status_code == 302
    (entry,) = _entries(app, action="price_list.update")
    label = f"{wine_label} (n° {wine_id})"
    assert entry["before"]["prices"] == {label: cents} and entry["after"]["prices"] == {label: 9950}
    assert entry["before"]["cash_discount_bp"] == old_discount and entry["after"]["cash_discount_bp"] == 150
    assert "name" not in entry["after"] and entry["subject"] == ("price_list", list_id)


# ------------------------------------------------------------------ promotions


def test_creating_and_editing_a_promotion_are_logged(app):
    staff = _staff(app)
    form = {"name": "Code des amis", "benefit": "percent_off", "percent": "10", "code": "#amis2026",
            "is_public": "y", "cumulative": "y", "is_active": "y", "customer_kind": "", "priority": "0"}
    assert staff.post(f"/gestion/{VERNETTE}/promotions/nouvelle", data=form).status_code == 302
    with session_for(app) as session:
        promotion_id = session.scalars(select(Promotion.id).where(Promotion.name == "Code des amis")).one()
    form.update(percent="15", is_active="")
    del form["is_active"]  # unticked: the promotion is switched off
    assert staff.post(f"/gestion/{VERNETTE}/promotions/{promotion_id}", data=form).status_code == 302
    created, edited = _entries(app)
    assert created["action"] == "promotion.create" and created["before"] == {}
    assert created["after"]["percent_bp"] == 1000 and created["after"]["code"] == "#AMIS2026"
    assert edited["action"] == "promotion.update" and edited["subject"] == ("promotion", promotion_id)
    assert edited["before"] == {"percent_bp": 1000, "is_active": True}
    assert edited["after"] == {"percent_bp": 1500, "is_active": False}


# ------------------------------------------------------------------ order status


def test_each_order_status_change_is_logged_and_a_refused_one_is_not(app):
    order_id = _place_order(app)
    staff = _staff(app)
    for to in ("paid", "shipped", "delivered"):
        response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut",
                              data={"to": to, "tracking": "COLIS-42" if to == "shipped" else ""}, headers=HX)
        assert response.status_code == 200, text_of(response)[:1000]
    refused = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "cancelled"}, headers=HX)
    assert refused.status_code == 422
    entries = _entries(app, action="order.status")
    assert [(e["before"]["status"], e["after"]["status"]) for e in entries] == [
        ("pending_payment", "paid"), ("paid", "shipped"), ("shipped", "delivered")]
    assert entries[1]["after"]["tracking_number"] == "COLIS-42"
    with session_for(app) as session:
        number = session.get(Order, order_id).number
    assert {e["subject"] for e in entries} == {("order", order_id)} and {e["summary"] for e in entries} == {number}


def test_a_cancelled_order_is_logged(app):
    order_id = _place_order(app)
    staff = _staff(app)
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "cancelled"}, headers=HX)
    (entry,) = _entries(app, action="order.status")
    assert (entry["before"], entry["after"]) == ({"status": "pending_payment"}, {"status": "cancelled"})


# ------------------------------------------------------------------ loyalty, customers, imports, exports, erasure


def _customer_id(app, email: str = "client@chai.example") -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(EstateCustomer.id).where(EstateCustomer.estate_id == _estate_id(app),
                                                               EstateCustomer.email == email)).one()


def test_a_loyalty_credit_and_debit_are_logged_with_the_balance(app):
    customer_id = _customer_id(app)
    staff = _staff(app)
    url = f"/gestion/{VERNETTE}/clients/{customer_id}/fidelite"
    staff.post(url, data={"direction": "credit", "amount": "12,50", "reason": "Casse au transport"})
    staff.post(url, data={"direction": "debit", "amount": "2,50", "reason": "Réglé au caveau"})
    staff.post(url, data={"direction": "debit", "amount": "500", "reason": "Trop"})  # refused: no entry
    credit, debit = _entries(app, action="loyalty.adjust")
    assert (credit["before"], credit["after"]) == ({"balance_cents": 0}, {"balance_cents": 1250})
    assert (debit["before"], debit["after"]) == ({"balance_cents": 1250}, {"balance_cents": 1000})
    assert "Casse au transport" in credit["summary"] and credit["subject"] == ("estate_customer", customer_id)


def test_a_customer_card_edit_is_logged_without_the_notes_text(app):
    customer_id = _customer_id(app)
    staff = _staff(app)
    response = staff.post(f"/gestion/{VERNETTE}/clients/{customer_id}", data={
        "kind": "professionnel", "price_list_id": "", "discount": "5", "external_number": "C-7",
        "notes": "Allergique aux sulfites, habite au 3 rue des Lilas"})
    assert response.status_code == 302
    (entry,) = _entries(app, action="customer.update")
    assert entry["before"]["kind"] == "particulier" and entry["after"]["kind"] == "professionnel"
    assert (entry["before"]["discount_bp"], entry["after"]["discount_bp"]) == (0, 500)
    assert "sulfites" not in json.dumps(entry, default=str)


def test_a_customer_import_is_logged_with_its_counts(app):
    staff = _staff(app)
    csv = b"email;nom\nanne@example.com;Martin\npas-un-email;Durand\nluc@example.com;Petit\n"
    preview = staff.post(f"/gestion/{VERNETTE}/clients/import", data={"file": (io.BytesIO(csv), "clients.csv")},
                         content_type="multipart/form-data")
    assert preview.status_code == 200
    assert _entries(app) == []  # a preview changes nothing
    with session_for(app) as session:
        from models import CustomerImport

        import_id = session.scalars(select(CustomerImport.id)).one()
    assert staff.post(f"/gestion/{VERNETTE}/clients/import/{import_id}/confirmer").status_code == 302
    (entry,) = _entries(app, action="customer.import")
    assert entry["after"] == {"created": 2, "updated": 0, "skipped": 1, "invited": 0}
    assert entry["summary"] == "clients.csv" and "anne@example.com" not in json.dumps(entry, default=str)


def test_exports_of_the_customer_file_and_of_one_customer_are_logged(app):
    staff = _staff(app)
    assert staff.get(f"/gestion/{VERNETTE}/clients/export.csv").status_code == 200
    customer_id = _customer_id(app)
    assert staff.get(f"/gestion/{VERNETTE}/clients/{customer_id}/donnees.json").status_code == 200
    with session_for(app) as session:
        customers = session.scalar(select(func.count()).select_from(EstateCustomer)
                                   .where(EstateCustomer.estate_id == _estate_id(app)))
    export, data_export = _entries(app)
    assert export["action"] == "customer.export" and export["after"] == {"rows": customers}
    assert data_export["action"] == "customer.data_export" and data_export["subject"] == ("estate_customer", customer_id)


def test_an_erasure_is_logged_without_the_erased_data_and_the_log_shows_the_customer_anonymised(app):
    customer_id = _customer_id(app)
    staff = _staff(app)
    staff.post(f"/gestion/{VERNETTE}/clients/{customer_id}", data={
        "kind": "particulier", "price_list_id": "", "discount": "3", "external_number": "", "notes": ""})
    assert staff.post(f"/gestion/{VERNETTE}/clients/{customer_id}/anonymiser", data={"confirm": "oui"}).status_code == 302
    entry = _entries(app, action="customer.erase")[0]
    assert (entry["before"], entry["after"]) == ({"anonymised": False}, {"anonymised": True, "orders": 0})
    assert "client@chai.example" not in json.dumps(_entries(app), default=str)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/journal"))
    assert "Client anonymisé (RGPD)" in page and "client@chai.example" not in page


def test_loyalty_settings_and_shipping_changes_are_logged(app):
    staff = _staff(app)
    staff.post(f"/gestion/{VERNETTE}/clients/fidelite", data={
        "loyalty_enabled": "y", "loyalty_particulier": "5", "loyalty_pro": "2,5", "points_mode": "off"})
    (settings,) = _entries(app, action="loyalty.settings")
    assert settings["after"]["loyalty_particulier_bp"] == 500 and settings["after"]["loyalty_enabled"] is True
    page = staff.get(f"/gestion/{VERNETTE}/livraison").get_data(as_text=True)
    assert "free_shipping_above" in page
    with session_for(app) as session:
        estate = session.get(Estate, _estate_id(app))
        form = {name: "y" for name in ("allows_pickup", "accepts_cheque", "accepts_transfer")
                if getattr(estate, name)}
        form.update(order_prefix=estate.order_prefix, free_shipping_above="300")
    assert staff.post(f"/gestion/{VERNETTE}/livraison", data=form).status_code == 302
    (shipping,) = _entries(app, action="shipping.update")
    assert (shipping["before"]["free_shipping_above_cents"], shipping["after"]["free_shipping_above_cents"]) == (25000, 30000)
    journal = text_of(staff.get(f"/gestion/{VERNETTE}/journal?action=livraison"))
    assert "Livraison et paiement modifiés" in journal and "250,00" in journal and "300,00" in journal


# ------------------------------------------------------------------ the transaction, the page, isolation


def test_an_entry_is_committed_or_rolled_back_with_the_change(app):
    estate_id = _estate_id(app)
    with session_for(app) as session:
        wine = session.scalars(select(Wine).where(Wine.estate_id == estate_id)).first()
        wine.stock += 1
        audit.record(session, estate_id, None, "price.update", wine, {"stock": wine.stock - 1}, {"stock": wine.stock},
                     "essai", ip="")
        session.rollback()
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        wine = session.scalars(select(Wine).where(Wine.estate_id == estate_id)).first()
        wine.stock += 1
        audit.record(session, estate_id, None, "price.update", wine, {"stock": wine.stock - 1}, {"stock": wine.stock},
                     "essai", ip="")
        session.commit()
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_an_entry_for_another_estate_is_refused_in_an_estate_scoped_session(app):
    with session_for(app) as session:
        session.info.clear()
        scope_to_estate(session, _estate_id(app, VERNETTE))
        with pytest.raises(EstateMismatch):
            audit.record(session, _estate_id(app, ROZEL), None, "price.update", None, {}, {"a": 1}, "")


def test_the_journal_filters_by_action_and_date_and_pages(app):
    estate_id = _estate_id(app)
    now = utcnow()
    with session_for(app) as session:
        for i in range(audit.PAGE_SIZE + 5):
            session.add(AuditEntry(estate_id=estate_id, action="order.status", subject_type="order", subject_id=i,
                                   summary=f"VER-{i:05d}", before='{"status": "paid"}', after='{"status": "shipped"}',
                                   created_at=now - timedelta(minutes=i)))
        session.add(AuditEntry(estate_id=estate_id, action="price.update", summary="Cuvée ancienne",
                               before='{"amount_cents": 1000}', after='{"amount_cents": 1200}',
                               created_at=now - timedelta(days=40)))
        session.commit()
    staff = _staff(app)
    url = f"/gestion/{VERNETTE}/journal"
    first = text_of(staff.get(url))
    assert "Journal des modifications" in first and f"{audit.PAGE_SIZE + 6} modifications" in first
    assert "VER-00000" in first and "Page 1 sur 2" in first and "Cuvée ancienne" not in first
    assert "Cuvée ancienne" in text_of(staff.get(url + "?page=2"))
    prices = text_of(staff.get(url + "?action=prix", headers={**HX, "HX-Target": "audit-table"}))
    assert "1 modification" in prices and "10,00" in prices and "12,00" in prices and "<nav class=\"admin-nav\"" not in prices
    day = (now - timedelta(days=40)).astimezone(PARIS).date().isoformat()  # the filter's days are Paris days
    dated = text_of(staff.get(url + f"?du={day}&au={day}"))
    assert "Cuvée ancienne" in dated and "VER-00000" not in dated
    for bad in ("?page=abc", "?page=-3", "?du=hier&au=2026-13-45", "?action=<script>", "?page=99999999999"):
        assert staff.get(url + bad).status_code == 200


def test_an_estate_sees_only_its_own_journal(app):
    _place_order(app)
    staff = _staff(app)
    with session_for(app) as session:
        order_id = session.scalars(select(Order.id)).one()
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "paid"})
    assert len(_entries(app, VERNETTE)) == 1
    rozel = _staff(app, "vigneron@rozel.example")
    page = text_of(rozel.get(f"/gestion/{ROZEL}/journal"))
    assert "0 modification" in page and "VER-" not in page
    assert rozel.get(f"/gestion/{VERNETTE}/journal").status_code == 404
    assert "1 modification" in text_of(staff.get(f"/gestion/{VERNETTE}/journal"))
