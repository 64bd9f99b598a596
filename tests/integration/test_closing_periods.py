"""Closing periods (seed 001): the back office's "Fermetures", the banner on the shop
pages during the period only, orders refused while a period stops them, and the
confirmation email with the period's message and a shipping date after its end."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEntry, ClosingPeriod, Estate, Order, Wine
from services import closing
from tests.conftest import body_of, checkout_form, first_orderable_wine, login, make_app, session_for, text_of, visitor

VERNETTE = "domaine-de-la-vernette"
ROZEL = "domaine-rozel"
HARVEST = "Le domaine est fermé pour les vendanges : les commandes seront expédiées à partir du 12 octobre."


def _estate_id(app, slug: str = VERNETTE) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _add_period(app, starts_on: date, ends_on: date, *, slug: str = VERNETTE, orders_taken: bool = True,  # type: ignore[no-untyped-def]
                message: str = HARVEST) -> int:
    with session_for(app) as session:
        period = ClosingPeriod(estate_id=_estate_id(app, slug), starts_on=starts_on, ends_on=ends_on, message=message,
                               orders_taken=orders_taken)
        session.add(period)
        session.commit()
        return period.id


def _periods(app) -> list[ClosingPeriod]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return list(session.scalars(select(ClosingPeriod).order_by(ClosingPeriod.id)))


def _on(monkeypatch, day: date) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(closing, "today", lambda: day)


def _staff(app):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, "vigneron@vernette.example")
    return client


# -------------------------------------------------------------------- the shop


def test_the_banner_shows_during_the_period_only(app, monkeypatch):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _add_period(app, date(2026, 9, 28), date(2026, 10, 9))
    signed_in = visitor(app)
    login(signed_in, "client@chai.example")
    shown = "Fermé du 28/09/2026 au 09/10/2026"
    for day, expected in ((date(2026, 9, 27), False), (date(2026, 9, 28), True), (date(2026, 10, 1), True),
                          (date(2026, 10, 9), True), (date(2026, 10, 10), False)):
        _on(monkeypatch, day)
        for client in (visitor(app), visitor(app), signed_in):  # the second anonymous one gets the kept page
            for url in (f"/{VERNETTE}/", f"/{VERNETTE}/vin/{wine_id}"):
                page = text_of(client.get(url))
                assert (shown in page) is expected, (day, url)
                assert (HARVEST in page) is expected, (day, url)
    # the other estate shows none of it
    _on(monkeypatch, date(2026, 10, 1))
    assert shown not in text_of(visitor(app).get(f"/{ROZEL}/"))


def test_a_changed_message_shows_at_once_on_the_kept_page(app, monkeypatch):
    _on(monkeypatch, date(2026, 10, 1))
    period_id = _add_period(app, date(2026, 9, 28), date(2026, 10, 9))
    assert HARVEST in text_of(visitor(app).get(f"/{VERNETTE}/"))
    with session_for(app) as session:
        session.get(ClosingPeriod, period_id).message = "Fermé pour inventaire."
        session.commit()
    page = text_of(visitor(app).get(f"/{VERNETTE}/"))
    assert "Fermé pour inventaire." in page and HARVEST not in page


def test_orders_are_refused_while_a_period_stops_them_and_nothing_changes(app, client, monkeypatch):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=30)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    today = closing.today()
    _add_period(app, today - timedelta(days=1), today + timedelta(days=5), orders_taken=False)
    refused = "ne prend pas de commandes pendant cette période"
    # adding more: refused with the period's message, the cart unchanged
    response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}, follow_redirects=True)
    page = text_of(response)
    assert refused in page and HARVEST in page
    htmx = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and refused in text_of(htmx)
    cart = text_of(client.get(f"/{VERNETTE}/panier"))
    assert HARVEST in cart
    # checking out the cart filled before the period: refused, no order, stock untouched
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert response.status_code == 409 and refused in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
        assert session.get(Wine, wine_id).stock == 30


def test_orders_are_taken_during_a_period_that_allows_them(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=30)
    today = closing.today()
    _add_period(app, today, today + timedelta(days=5), orders_taken=True)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    assert client.post(f"/{VERNETTE}/commande", data=checkout_form()).status_code == 302
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_the_confirmation_email_holds_the_message_and_a_shipping_date_after_the_end(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=30)
    today = closing.today()
    ends_on = today + timedelta(days=8)
    _add_period(app, today - timedelta(days=2), ends_on)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    assert client.post(f"/{VERNETTE}/commande", data=checkout_form()).status_code == 302
    messages = smtp.mailbox.wait_for(2)
    confirmation = next(m for m in messages if m["To"] == "nouveau@client.example")
    for subtype in ("plain", "html"):
        body = body_of(confirmation, subtype)
        assert HARVEST in body.replace("&#39;", "'"), subtype
        found = re.search(r"Date d.exp.dition pr.vue : (\d\d/\d\d/\d{4})", body)
        assert found, subtype
        shipped = datetime.strptime(found.group(1), "%d/%m/%Y").date()
        assert shipped > ends_on and shipped.weekday() < 5
        assert shipped == closing.expected_shipping_date(today, 2, [ClosingPeriod(starts_on=today - timedelta(days=2),
                                                                                  ends_on=ends_on)])
    notification = next(m for m in messages if m["To"] != "nouveau@client.example")
    assert HARVEST in body_of(notification)
    page = text_of(client.get(f"/{VERNETTE}/commande/VER-00001"))
    assert f"Date d'expédition prévue : {shipped:%d/%m/%Y}" in page and HARVEST in page


def test_a_confirmation_without_period_announces_the_preparation_days_only(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    client = visitor(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=30)
    with session_for(app) as session:
        session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one().preparation_days = 4
        session.commit()
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    assert client.post(f"/{VERNETTE}/commande", data=checkout_form(delivery="pickup")).status_code == 302
    confirmation = next(m for m in smtp.mailbox.wait_for(2) if m["To"] == "nouveau@client.example")
    body = body_of(confirmation)
    expected = closing.expected_shipping_date(closing.today(), 4, [])
    assert f"Commande prête à partir du {expected:%d/%m/%Y}" in body
    assert "Date d'expédition prévue" not in body and HARVEST not in body


# --------------------------------------------------------------- the back office


def test_the_vigneron_adds_edits_and_deletes_a_period_and_each_is_audited(app, monkeypatch):
    _on(monkeypatch, date(2026, 9, 1))
    staff = _staff(app)
    assert "Fermetures" in text_of(staff.get(f"/gestion/{VERNETTE}/"))
    response = staff.post(f"/gestion/{VERNETTE}/fermetures", data={
        "starts_on": "2026-09-28", "ends_on": "2026-10-09", "message": HARVEST, "orders_taken": "y"})
    assert response.status_code == 302
    (period,) = _periods(app)
    assert (period.starts_on, period.ends_on, period.message, period.orders_taken) == (
        date(2026, 9, 28), date(2026, 10, 9), HARVEST, True)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/fermetures"))
    assert "28/09/2026" in page and HARVEST in page and "À venir" in page
    response = staff.post(f"/gestion/{VERNETTE}/fermetures/{period.id}", data={
        "starts_on": "2026-09-28", "ends_on": "2026-10-11", "message": "Vendanges."})  # checkbox off
    assert response.status_code == 302
    (period,) = _periods(app)
    assert period.ends_on == date(2026, 10, 11) and period.message == "Vendanges." and period.orders_taken is False
    assert staff.post(f"/gestion/{VERNETTE}/fermetures/{period.id}/supprimer").status_code == 302
    assert _periods(app) == []
    with session_for(app) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("closing.%"))
                                  .order_by(AuditEntry.id)).all()
        assert [e.action for e in entries] == ["closing.create", "closing.update", "closing.delete"]
        assert "2026-10-09" in entries[1].before and "orders_taken" in entries[1].before
        assert "2026-10-11" in entries[1].after and "message" not in entries[2].after
    journal = text_of(staff.get(f"/gestion/{VERNETTE}/journal"))
    assert "Fermeture ajoutée" in journal and "Fermeture supprimée" in journal


def test_past_periods_are_greyed_and_current_ones_marked(app, monkeypatch):
    _add_period(app, date(2026, 1, 5), date(2026, 1, 9), message="Fermé en janvier.")
    _add_period(app, date(2026, 9, 28), date(2026, 10, 9))
    _on(monkeypatch, date(2026, 10, 1))
    page = text_of(_staff(app).get(f"/gestion/{VERNETTE}/fermetures"))
    assert re.search(r'<tr class="past">\s*<td>05/01/2026', page)
    assert "En cours" in page and "Terminée" in page


@pytest.mark.parametrize("data, message", [
    ({"starts_on": "2026-10-09", "ends_on": "2026-09-28", "message": "x"}, "Le dernier jour doit être le premier jour ou après."),
    ({"starts_on": "2026-08-01", "ends_on": "2026-08-15", "message": "x"}, "Cette période est entièrement passée"),
    ({"starts_on": "2026-10-05", "ends_on": "2026-10-20", "message": "x"}, "Cette période chevauche une autre fermeture"),
    ({"starts_on": "2026-11-02", "ends_on": "2026-11-06", "message": "  "}, "Écrivez le message affiché aux clients."),
    ({"starts_on": "2026-11-02", "ends_on": "2026-11-06", "message": "x" * 501}, "Le message compte au plus 500 caractères."),
    ({"starts_on": "", "ends_on": "2026-11-06", "message": "x"}, "Indiquez le premier jour de fermeture."),
    ({"starts_on": "2026-11-02", "ends_on": "le 6 novembre", "message": "x"}, "Date invalide"),
])
def test_a_bad_period_gets_a_french_message_and_changes_nothing(app, monkeypatch, data, message):
    _on(monkeypatch, date(2026, 9, 1))
    _add_period(app, date(2026, 9, 28), date(2026, 10, 9))
    response = _staff(app).post(f"/gestion/{VERNETTE}/fermetures", data=data)
    assert response.status_code == 422 and message in text_of(response)
    assert len(_periods(app)) == 1


def test_an_edit_may_keep_its_own_dates_but_not_overlap_another(app, monkeypatch):
    _on(monkeypatch, date(2026, 9, 1))
    first = _add_period(app, date(2026, 9, 28), date(2026, 10, 9))
    _add_period(app, date(2026, 12, 21), date(2027, 1, 3))
    staff = _staff(app)
    same = {"starts_on": "2026-09-28", "ends_on": "2026-10-09", "message": "Autre texte", "orders_taken": "y"}
    assert staff.post(f"/gestion/{VERNETTE}/fermetures/{first}", data=same).status_code == 302
    overlapping = dict(same, ends_on="2026-12-22")
    response = staff.post(f"/gestion/{VERNETTE}/fermetures/{first}", data=overlapping)
    assert response.status_code == 422 and "chevauche" in text_of(response)
    assert _periods(app)[0].ends_on == date(2026, 10, 9)


def test_another_estates_period_is_not_found_and_left_alone(app, monkeypatch):
    _on(monkeypatch, date(2026, 9, 1))
    rozel_period = _add_period(app, date(2026, 9, 28), date(2026, 10, 9), slug=ROZEL)
    staff = _staff(app)
    assert staff.get(f"/gestion/{VERNETTE}/fermetures/{rozel_period}").status_code == 404
    assert staff.post(f"/gestion/{VERNETTE}/fermetures/{rozel_period}", data={
        "starts_on": "2026-09-28", "ends_on": "2026-10-10", "message": "x"}).status_code == 404
    assert staff.post(f"/gestion/{VERNETTE}/fermetures/{rozel_period}/supprimer").status_code == 404
    assert HARVEST not in text_of(staff.get(f"/gestion/{VERNETTE}/fermetures"))
    (kept,) = _periods(app)
    assert kept.ends_on == date(2026, 10, 9)
    # and a Vernette period does not overlap Rozel's
    assert staff.post(f"/gestion/{VERNETTE}/fermetures", data={
        "starts_on": "2026-09-28", "ends_on": "2026-10-09", "message": "x"}).status_code == 302


def test_a_customer_cannot_open_the_closing_pages(app):
    client = visitor(app)
    login(client, "client@chai.example")
    assert client.get(f"/gestion/{VERNETTE}/fermetures").status_code == 404


def test_the_preparation_days_are_set_with_the_estate_settings(app):
    staff = _staff(app)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/domaine"))
    assert "Délai de préparation (jours ouvrés)" in page
    base = {"name": "Domaine de la Vernette", "minimum_order": "0", "case_size": "6"}
    response = staff.post(f"/gestion/{VERNETTE}/domaine", data=dict(base, preparation_days="trois"))
    assert response.status_code == 422 and "entre 0 et 60" in text_of(response)
    assert staff.post(f"/gestion/{VERNETTE}/domaine", data=dict(base, preparation_days="61")).status_code == 422
    assert staff.post(f"/gestion/{VERNETTE}/domaine", data=dict(base, preparation_days="5")).status_code == 302
    with session_for(app) as session:
        assert session.scalars(select(Estate.preparation_days).where(Estate.slug == VERNETTE)).one() == 5
