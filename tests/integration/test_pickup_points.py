"""Temporary pickup points (issue 10, seed 001): offered at checkout only between their
first and last day (Paris dates), orders tagged with the point and without shipping;
another estate's point is a 404."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from models import DeliveryKind, Estate, Order, PickupPoint, db
from services import delivery
from services.fairs import PARIS, paris_date
from services.tenancy import scope_to_estate
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
UTC = timezone.utc


def _today() -> date:
    return paris_date(datetime.now(UTC))


def _form(**overrides: str) -> dict[str, str]:
    data = {"name": "Cave Le Bouchon", "street": "12 rue Mercière", "postcode": "69002", "city": "Lyon",
            "starts_on": _today().isoformat(), "ends_on": (_today() + timedelta(days=5)).isoformat(),
            "instructions": "Le samedi de 10 h à 18 h, demandez Martine."}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _staff(app, email: str = "vigneron@vernette.example"):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email)
    return client


def _add(app, staff, slug: str = VERNETTE, **overrides: str) -> int:  # type: ignore[no-untyped-def]
    response = staff.post(f"/gestion/{slug}/points-de-retrait/nouveau", data=_form(**overrides))
    assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        return session.scalars(select(PickupPoint.id).order_by(PickupPoint.id.desc())).first()


def _rows(app) -> list:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.execute(select(PickupPoint.__table__).order_by(PickupPoint.id)).all()


def _keys_at(app, slug: str, now: datetime) -> set[str]:
    with app.app_context():
        session = db.session
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        scope_to_estate(session, estate.id)
        keys = {o.key for o in delivery.options_for(session, estate, delivery.DeliveryContext(now=now))}
        db.session.remove()
        return keys


def test_a_point_is_offered_from_its_first_to_its_last_day_only(app):
    staff = _staff(app)
    start = _today() + timedelta(days=20)
    point_id = _add(app, staff, starts_on=start.isoformat(), ends_on=(start + timedelta(days=2)).isoformat())
    key = f"point:{point_id}"
    at = lambda day, hour: datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS)  # noqa: E731
    assert key not in _keys_at(app, VERNETTE, at(start - timedelta(days=1), 23))
    assert key in _keys_at(app, VERNETTE, at(start, 0))
    assert key in _keys_at(app, VERNETTE, at(start + timedelta(days=2), 23))
    assert key not in _keys_at(app, VERNETTE, at(start + timedelta(days=3), 0))
    # the same instant, in UTC: 23:30 UTC on the last day is already the next day in Paris
    last = start + timedelta(days=2)
    assert key not in _keys_at(app, VERNETTE, datetime(last.year, last.month, last.day, 23, 30, tzinfo=UTC))


def test_a_customer_collects_at_an_active_point_without_shipping(app):
    staff = _staff(app)
    point_id = _add(app, staff)
    later_id = _add(app, staff, name="Point de mars", starts_on=(_today() + timedelta(days=3)).isoformat())
    wine_id, _, unit = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    page = text_of(buyer.get(f"/{VERNETTE}/commande"))
    assert "Point de retrait : Cave Le Bouchon" in page and "12 rue Mercière, 69002 Lyon" in page
    assert "demandez Martine" in page and "Point de mars" not in page
    refused = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery=f"point:{later_id}", token="later"))
    assert refused.status_code == 422
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery=f"point:{point_id}", token="point"))
    assert response.status_code == 302
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        assert order.delivery_kind is DeliveryKind.POINT and order.pickup_point_id == point_id
        assert order.delivery_label == "Point de retrait : Cave Le Bouchon"
        assert order.shipping_ttc_cents == 0 and not any(line.is_shipping for line in order.lines)
        assert order.total_ttc_cents == unit * 6


def test_the_vigneron_edits_a_point_and_cannot_delete_one_with_orders(app):
    staff = _staff(app)
    point_id = _add(app, staff)
    spare_id = _add(app, staff, name="Spare")
    response = staff.post(f"/gestion/{VERNETTE}/points-de-retrait/{point_id}", data=_form(name="Cave du Bouchon"))
    assert response.status_code == 302
    assert "Cave du Bouchon" in text_of(staff.get(f"/gestion/{VERNETTE}/points-de-retrait"))
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{VERNETTE}/commande",
                      data=checkout_form(delivery=f"point:{point_id}", token="p")).status_code == 302
    response = staff.post(f"/gestion/{VERNETTE}/points-de-retrait/{point_id}/supprimer", follow_redirects=True)
    assert "il ne peut pas être supprimé" in text_of(response)
    response = staff.post(f"/gestion/{VERNETTE}/points-de-retrait/{spare_id}/supprimer", follow_redirects=True)
    assert "est supprimé" in text_of(response)
    with session_for(app) as session:
        assert list(session.scalars(select(PickupPoint.id))) == [point_id]


def test_bad_point_input_gets_a_french_message_a_422_and_changes_nothing(app):
    staff = _staff(app)
    point_id = _add(app, staff)
    before = _rows(app)
    cases = [
        (dict(ends_on=(_today() - timedelta(days=1)).isoformat()), "Le dernier jour doit suivre le premier."),
        (dict(name=""), "Ce champ est obligatoire."),
        (dict(starts_on=""), "Ce champ est obligatoire."),
        (dict(ends_on=(_today() + timedelta(days=800)).isoformat()), "au plus un an"),
        (dict(postcode="1" * 30), ""),
    ]
    for overrides, message in cases:
        for url in (f"/gestion/{VERNETTE}/points-de-retrait/nouveau", f"/gestion/{VERNETTE}/points-de-retrait/{point_id}"):
            response = staff.post(url, data=_form(**overrides))
            assert response.status_code == 422 and message in text_of(response), (url, overrides)
            assert _rows(app) == before


def test_another_estates_point_is_a_404_and_never_offered(app):
    rozel_id = _add(app, _staff(app, "vigneron@rozel.example"), ROZEL, name="Point Rozel")
    staff = _staff(app)
    before = _rows(app)
    for method, url in [("GET", f"/gestion/{VERNETTE}/points-de-retrait/{rozel_id}"),
                        ("POST", f"/gestion/{VERNETTE}/points-de-retrait/{rozel_id}"),
                        ("POST", f"/gestion/{VERNETTE}/points-de-retrait/{rozel_id}/supprimer"),
                        ("GET", f"/gestion/{ROZEL}/points-de-retrait"),
                        ("GET", f"/gestion/{ROZEL}/points-de-retrait/{rozel_id}")]:
        response = staff.open(url, method=method, data=_form(name="volé"))
        assert response.status_code == 404, (method, url, response.status_code)
    assert _rows(app) == before
    assert "Point Rozel" not in text_of(staff.get(f"/gestion/{VERNETTE}/points-de-retrait"))
    assert f"point:{rozel_id}" not in _keys_at(app, VERNETTE, datetime.now(UTC))
    assert f"point:{rozel_id}" in _keys_at(app, ROZEL, datetime.now(UTC))
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert "Point Rozel" not in text_of(buyer.get(f"/{VERNETTE}/commande"))
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery=f"point:{rozel_id}", token="steal"))
    assert response.status_code == 422
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
