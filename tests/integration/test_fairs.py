"""Salons (issue 10, seed 000): the vigneron's fairs, the invitation (page and PDF),
"Retrait sur le salon" at checkout, the pre-fair price, the orders table filtered by
fair and the fair's picking list; another estate's participation is a 404."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta, timezone

from pypdf import PdfReader
from sqlalchemy import func, select

from models import (
    Cart,
    CartLine,
    DeliveryKind,
    Estate,
    EstateFair,
    Fair,
    Order,
    PaymentMode,
    Price,
    PriceList,
    db,
)
from services import cart as carts
from services import delivery, fairs, orders
from services.pricing import percent_of
from services.tenancy import scope_to_estate
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
STAFF = "vigneron@vernette.example"
UTC = timezone.utc


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _paris_today() -> date:
    return fairs.paris_date(datetime.now(UTC))


def _fair_form(**overrides: str) -> dict[str, str]:
    start = _paris_today() + timedelta(days=30)
    data = {"fair_id": "new", "name": "Salon des Vins de Lyon", "city": "Lyon", "venue": "Halle Tony Garnier",
            "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=2)).isoformat(), "stand": "B12",
            "pickup_enabled": "y", "prefair_mode": "none", "prefair_price_list_id": "", "prefair_percent": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _staff(app, email: str = STAFF):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email)
    return client


def _add_fair(app, staff, **overrides: str) -> EstateFair:  # type: ignore[no-untyped-def]
    slug = VERNETTE if "vernette" in overrides.pop("_estate", "vernette") else ROZEL
    response = staff.post(f"/gestion/{slug}/salons/nouveau", data=_fair_form(**overrides))
    assert response.status_code == 302, text_of(response)[:2000]
    participation_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with session_for(app) as session:
        participation = session.get(EstateFair, participation_id)
        session.expunge(participation.fair)
        session.expunge(participation)
        return participation


def _estate(session, slug: str) -> Estate:  # type: ignore[no-untyped-def]
    return session.scalars(select(Estate).where(Estate.slug == slug)).one()


def _counts(app) -> tuple:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        rows = session.execute(select(EstateFair.id, EstateFair.stand, EstateFair.pickup_enabled,
                                      EstateFair.prefair_price_list_id, EstateFair.prefair_discount_bp)
                               .order_by(EstateFair.id)).all()
        return session.scalar(select(func.count()).select_from(Fair)), rows


def _order_for_pickup_at(app, participation: EstateFair, token: str, quantity: int = 6, **form: str):  # type: ignore[no-untyped-def]
    """A guest orders at La Vernette with pickup at the fair; returns (response, client)."""
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    assert buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)}).status_code == 302
    assert f"Retrait sur le salon {participation.fair.name}" in text_of(buyer.get(f"/{VERNETTE}/commande"))
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery=f"fair:{participation.id}",
                                                                     token=token, **form))
    return response, buyer


# ----------------------------------------------------------- the invitation


def test_the_invitation_pdf_names_the_estate_the_fair_its_dates_and_stand(app):
    staff = _staff(app)
    participation = _add_fair(app, staff)
    fair = participation.fair
    response = staff.get(f"/gestion/{VERNETTE}/salons/{participation.id}/invitation.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    assert "Domaine de la Vernette" in text and "Salon des Vins de Lyon" in text
    assert f"du {fair.starts_on:%d/%m/%Y} au {fair.ends_on:%d/%m/%Y}" in text
    assert "Stand B12" in text and "Halle Tony Garnier" in text
    assert participation.token in text.replace("\n", "")  # the link printed under the QR code
    assert len(PdfReader(io.BytesIO(response.data)).pages[0].images) == 1  # the QR code


def test_the_public_invitation_page_shows_the_fair_and_a_made_up_token_is_a_404(app):
    participation = _add_fair(app, _staff(app))
    page = text_of(visitor(app).get(f"/{VERNETTE}/salon/{participation.token}"))
    assert "Salon des Vins de Lyon" in page and "Halle Tony Garnier" in page and "B12" in page
    assert "Retrait sur le salon Salon des Vins de Lyon (Lyon, stand B12)" in page
    assert visitor(app).get(f"/{VERNETTE}/salon/pas-un-vrai-jeton").status_code == 404
    assert visitor(app).get(f"/{VERNETTE}/salon/{participation.token[:-1]}").status_code == 404
    assert visitor(app).get(f"/{ROZEL}/salon/{participation.token}").status_code == 404  # not Rozel's


def test_the_edit_page_gives_the_invitation_link(app):
    staff = _staff(app)
    participation = _add_fair(app, staff)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/salons/{participation.id}"))
    assert f"/{VERNETTE}/salon/{participation.token}" in page
    listing = text_of(staff.get(f"/gestion/{VERNETTE}/salons"))
    assert "Salon des Vins de Lyon" in listing and "B12" in listing


def test_a_fair_another_estate_already_added_is_reused_and_offered_in_the_dropdown(app):
    _add_fair(app, _staff(app))
    rozel = _staff(app, "vigneron@rozel.example")
    with session_for(app) as session:
        fair_id = session.scalars(select(Fair.id)).one()
    assert "Salon des Vins de Lyon — Lyon" in text_of(rozel.get(f"/gestion/{ROZEL}/salons/nouveau"))
    _add_fair(app, rozel, _estate="rozel", name="salon des vins de lyon ", city="LYON", stand="C3")
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Fair)) == 1
        assert sorted(session.scalars(select(EstateFair.stand))) == ["B12", "C3"]
    # and picking it from the dropdown: Vernette cannot take part twice
    staff = _staff(app)
    before = _counts(app)
    response = staff.post(f"/gestion/{VERNETTE}/salons/nouveau", data=_fair_form(fair_id=str(fair_id)))
    assert response.status_code == 422 and "Vous participez déjà à ce salon." in text_of(response)
    assert _counts(app) == before


# ---------------------------------------------------------------- checkout


def test_an_order_for_pickup_at_the_fair_has_no_shipping_and_shows_in_the_filtered_table_and_picking_list(app):
    staff = _staff(app)
    participation = _add_fair(app, staff)
    other = _add_fair(app, staff, name="Vinexpo", city="Paris", stand="")
    response, _ = _order_for_pickup_at(app, participation, "fair-1")
    assert response.status_code == 302
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        assert order.delivery_kind is DeliveryKind.FAIR and order.estate_fair_id == participation.id
        assert order.delivery_label == "Retrait sur le salon Salon des Vins de Lyon (Lyon, stand B12)"
        assert order.shipping_ttc_cents == 0 and not any(line.is_shipping for line in order.lines)
        assert order.shipping_street in (None, "")
        number = order.number
    table = text_of(staff.get(f"/gestion/{VERNETTE}/commandes?salon={participation.id}"))
    assert number in table and "Salon des Vins de Lyon" in table
    assert number not in text_of(staff.get(f"/gestion/{VERNETTE}/commandes?salon={other.id}"))
    fragment = staff.get(f"/gestion/{VERNETTE}/commandes?salon={participation.id}",
                         headers={"HX-Request": "true", "HX-Target": "orders-table"})
    assert number in text_of(fragment)
    picking = staff.get(f"/gestion/{VERNETTE}/salons/{participation.id}/preparation.pdf")
    assert picking.status_code == 200 and picking.mimetype == "application/pdf"
    text = _pdf_text(picking.data)
    assert "Camille Durand" in text and "Salon des Vins de Lyon" in text and number in text
    assert "Camille Durand" not in _pdf_text(staff.get(f"/gestion/{VERNETTE}/salons/{other.id}/preparation.pdf").data)


def test_a_fair_without_pickup_or_over_is_not_offered_at_checkout(app):
    staff = _staff(app)
    no_pickup = _add_fair(app, staff, pickup_enabled=None, name="Sans retrait")
    with app.app_context():
        session = db.session
        estate = _estate(session, VERNETTE)
        scope_to_estate(session, estate.id)
        fair = session.get(EstateFair, no_pickup.id).fair
        keys = lambda now: {o.key for o in delivery.options_for(session, estate, delivery.DeliveryContext(now=now))}  # noqa: E731
        assert f"fair:{no_pickup.id}" not in keys(datetime.now(UTC))
        session.get(EstateFair, no_pickup.id).pickup_enabled = True
        session.flush()
        last_day = datetime.combine(fair.ends_on, datetime.min.time(), tzinfo=fairs.PARIS) + timedelta(hours=23)
        assert f"fair:{no_pickup.id}" in keys(last_day)
        assert f"fair:{no_pickup.id}" not in keys(last_day + timedelta(hours=2))  # the next day in Paris
        session.rollback()
        db.session.remove()


# ---------------------------------------------------------- pre-fair price


def _quote_at(app, participation_id: int, now: datetime, quantity: int = 6):  # type: ignore[no-untyped-def]
    """The checkout quote of a 6-bottle cart with pickup at the fair, as of ``now``:
    (quote, unit price on Particuliers)."""
    wine_id, _, unit = first_orderable_wine(app, VERNETTE)
    with app.app_context():
        session = db.session
        estate = _estate(session, VERNETTE)
        scope_to_estate(session, estate.id)
        cart = Cart(estate_id=estate.id, token=f"t-{now.timestamp()}")
        cart.lines.append(CartLine(estate_id=estate.id, wine_id=wine_id, quantity=quantity))
        session.add(cart)
        session.flush()
        particuliers = session.scalars(select(PriceList).where(PriceList.name == "Particuliers")).one()
        view = carts.build_view(session, estate, cart, particuliers, carts.Pricing(now=now))
        context = delivery.DeliveryContext(now=now)
        option = next(o for o in delivery.options_for(session, estate, context) if o.key == f"fair:{participation_id}")
        quote, zone, _ = orders.quote_for(session, estate, view, option, "FR", "69007", PaymentMode.CHEQUE, now)
        session.rollback()
        db.session.remove()
    assert zone is None and quote.shipping_ttc_cents == 0
    return quote, unit


def _paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=fairs.PARIS)


def test_the_pre_fair_percent_applies_the_day_before_the_fair_and_not_on_its_first_day(app):
    participation = _add_fair(app, _staff(app), prefair_mode="percent", prefair_percent="10")
    first_day = participation.fair.starts_on
    before, unit = _quote_at(app, participation.id, _paris(first_day - timedelta(days=1), 23, 59))
    assert [line.label for line in before.discounts] == ["Tarif pré-salon -10 %"]
    assert before.total_ttc_cents == unit * 6 - percent_of(unit * 6, 1000)
    on_the_day, _ = _quote_at(app, participation.id, _paris(first_day, 0, 1))
    assert on_the_day.discounts == [] and on_the_day.total_ttc_cents == unit * 6


def test_the_pre_fair_price_list_prices_the_cart_before_the_fair_only(app):
    staff = _staff(app)
    wine_id, _, unit = first_orderable_wine(app, VERNETTE)
    with session_for(app) as session:
        estate = _estate(session, VERNETTE)
        prefair = PriceList(estate_id=estate.id, name="Pré-salon", prices_include_vat=True, position=9)
        session.add(prefair)
        session.flush()
        for price in session.scalars(select(Price).join(PriceList).where(PriceList.estate_id == estate.id,
                                                                         PriceList.name == "Particuliers")):
            session.add(Price(estate_id=estate.id, wine_id=price.wine_id, price_list_id=prefair.id,
                              amount_cents=price.amount_cents - 100))
        session.commit()
        prefair_id = prefair.id
    participation = _add_fair(app, staff, prefair_mode="list", prefair_price_list_id=str(prefair_id))
    first_day = participation.fair.starts_on
    before, _ = _quote_at(app, participation.id, _paris(first_day - timedelta(days=1), 12))
    assert [line.unit_cents for line in before.goods] == [unit - 100] and before.total_ttc_cents == (unit - 100) * 6
    on_the_day, _ = _quote_at(app, participation.id, _paris(first_day, 9))
    assert [line.unit_cents for line in on_the_day.goods] == [unit] and on_the_day.total_ttc_cents == unit * 6


def test_an_order_placed_through_the_checkout_before_the_fair_gets_the_pre_fair_percent(app):
    """Over HTTP, at the real time: a fair that starts tomorrow (Paris) gives the %; one
    that starts today does not."""
    staff = _staff(app)
    tomorrow = _paris_today() + timedelta(days=1)
    soon = _add_fair(app, staff, name="Demain", starts_on=tomorrow.isoformat(), ends_on=tomorrow.isoformat(),
                     prefair_mode="percent", prefair_percent="12,5")
    today = _add_fair(app, staff, name="Aujourd'hui", starts_on=_paris_today().isoformat(),
                      ends_on=tomorrow.isoformat(), prefair_mode="percent", prefair_percent="12,5")
    _, _, unit = first_orderable_wine(app, VERNETTE)
    assert _order_for_pickup_at(app, soon, "soon", email="a@client.example")[0].status_code == 302
    assert _order_for_pickup_at(app, today, "today", email="b@client.example")[0].status_code == 302
    with session_for(app) as session:
        by_fair = {o.estate_fair_id: o for o in session.scalars(select(Order))}
        discounted = by_fair[soon.id]
        assert [line.label for line in discounted.lines if line.kind == "discount"] == ["Tarif pré-salon -12,5 %"]
        assert discounted.total_ttc_cents == unit * 6 - percent_of(unit * 6, 1250)
        assert by_fair[today.id].total_ttc_cents == unit * 6
        assert not [line for line in by_fair[today.id].lines if line.kind == "discount"]


# ------------------------------------------------------- editing, removing


def test_the_vigneron_edits_the_stand_and_the_pre_fair_percent(app):
    staff = _staff(app)
    participation = _add_fair(app, staff)
    response = staff.post(f"/gestion/{VERNETTE}/salons/{participation.id}",
                          data=_fair_form(stand="A1", prefair_mode="percent", prefair_percent="7,5"))
    assert response.status_code == 302
    with session_for(app) as session:
        row = session.get(EstateFair, participation.id)
        assert (row.stand, row.prefair_discount_bp, row.pickup_enabled) == ("A1", 750, True)
    assert 'value="7,5"' in staff.get(f"/gestion/{VERNETTE}/salons/{participation.id}").get_data(as_text=True)


def test_a_fair_with_orders_cannot_be_removed_and_one_without_can(app):
    staff = _staff(app)
    participation = _add_fair(app, staff)
    spare = _add_fair(app, staff, name="Vinexpo", city="Paris")
    assert _order_for_pickup_at(app, participation, "keep")[0].status_code == 302
    response = staff.post(f"/gestion/{VERNETTE}/salons/{participation.id}/retirer", follow_redirects=True)
    assert "il ne peut pas être retiré" in text_of(response)
    response = staff.post(f"/gestion/{VERNETTE}/salons/{spare.id}/retirer", follow_redirects=True)
    assert "est retiré de vos salons" in text_of(response)
    with session_for(app) as session:
        assert list(session.scalars(select(EstateFair.id))) == [participation.id]
        assert session.scalar(select(func.count()).select_from(Fair)) == 2  # the platform keeps its fairs


# -------------------------------------------------------------- bad input


def _other_estates_list_id(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(PriceList.id).join(Estate).where(Estate.slug == ROZEL)).first()


def test_bad_fair_input_gets_a_french_message_a_422_and_changes_nothing(app):
    staff = _staff(app)
    start = _paris_today() + timedelta(days=10)
    cases = [
        (dict(ends_on=(start - timedelta(days=1)).isoformat(), starts_on=start.isoformat()),
         "La fin du salon doit suivre son début."),
        (dict(prefair_mode="list", prefair_price_list_id=str(_other_estates_list_id(app))), "Choisissez un de vos tarifs."),
        (dict(prefair_mode="list", prefair_price_list_id="999999"), "Choisissez un de vos tarifs."),
        (dict(prefair_mode="percent", prefair_percent="-5"), "Pourcentage invalide"),
        (dict(prefair_mode="percent", prefair_percent="120"), "Indiquez une remise entre 0,01 et 100 %."),
        (dict(prefair_mode="percent", prefair_percent="0"), "Indiquez une remise entre 0,01 et 100 %."),
        (dict(name=""), "Indiquez le nom du salon."),
        (dict(fair_id="999999"), "Choisissez un salon de la liste"),
        (dict(fair_id="abc"), "Choisissez un salon de la liste"),
        (dict(prefair_mode="gratuit"), "Choix invalide."),
        (dict(starts_on="2027-02-30"), ""),
    ]
    before = _counts(app)
    for overrides, message in cases:
        response = staff.post(f"/gestion/{VERNETTE}/salons/nouveau", data=_fair_form(**overrides))
        assert response.status_code == 422, overrides
        assert message in text_of(response), (overrides, text_of(response)[:3000])
        assert _counts(app) == before, overrides
    participation = _add_fair(app, staff)
    before = _counts(app)
    for overrides, message in cases[1:6]:
        response = staff.post(f"/gestion/{VERNETTE}/salons/{participation.id}", data=_fair_form(**overrides))
        assert response.status_code == 422 and message in text_of(response), overrides
        assert _counts(app) == before, overrides


# --------------------------------------------------------------- isolation


def _rozel_participation(app) -> EstateFair:  # type: ignore[no-untyped-def]
    return _add_fair(app, _staff(app, "vigneron@rozel.example"), _estate="rozel", name="Salon de Rozel",
                     city="Bordeaux", stand="R1")


def test_another_estates_participation_and_fair_order_are_a_404_for_the_staff(app):
    rozel = _rozel_participation(app)
    wine_id, _, _ = first_orderable_wine(app, ROZEL)
    buyer = visitor(app)
    buyer.post(f"/{ROZEL}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{ROZEL}/commande", data=checkout_form(delivery=f"fair:{rozel.id}", token="rozel")).status_code == 302
    with session_for(app) as session:
        order_id, number = session.execute(select(Order.id, Order.number).where(Order.estate_fair_id == rozel.id)).one()
    staff = _staff(app)
    for url in (f"/gestion/{VERNETTE}/commandes/{order_id}", f"/gestion/{VERNETTE}/commandes/{order_id}/bon-de-commande.pdf",
                f"/gestion/{ROZEL}/commandes?salon={rozel.id}"):
        assert staff.get(url).status_code == 404, url
    assert number not in text_of(staff.get(f"/gestion/{VERNETTE}/commandes?salon={rozel.id}"))
    before = _counts(app)
    for method, url in [("GET", f"/gestion/{VERNETTE}/salons/{rozel.id}"),
                        ("POST", f"/gestion/{VERNETTE}/salons/{rozel.id}"),
                        ("GET", f"/gestion/{VERNETTE}/salons/{rozel.id}/invitation.pdf"),
                        ("GET", f"/gestion/{VERNETTE}/salons/{rozel.id}/preparation.pdf"),
                        ("POST", f"/gestion/{VERNETTE}/salons/{rozel.id}/retirer"),
                        ("GET", f"/gestion/{ROZEL}/salons"),
                        ("GET", f"/gestion/{ROZEL}/salons/{rozel.id}"),
                        ("GET", f"/gestion/{ROZEL}/salons/{rozel.id}/preparation.pdf")]:
        response = staff.open(url, method=method, data=_fair_form(stand="volé"))
        assert response.status_code == 404, (method, url, response.status_code)
    assert _counts(app) == before
    assert "Salon de Rozel" not in text_of(staff.get(f"/gestion/{VERNETTE}/salons"))
    assert "Salon de Rozel" not in text_of(staff.get(f"/gestion/{VERNETTE}/commandes"))
    assert visitor(app).get(f"/{VERNETTE}/salon/{rozel.token}").status_code == 404
    assert visitor(app).get(f"/{ROZEL}/salon/{rozel.token}").status_code == 200


def test_the_checkout_never_offers_another_estates_fair(app):
    rozel = _rozel_participation(app)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    page = text_of(buyer.get(f"/{VERNETTE}/commande"))
    assert "Salon de Rozel" not in page and f"fair:{rozel.id}" not in page
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery=f"fair:{rozel.id}", token="steal"))
    assert response.status_code == 422
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
        vernette = _estate(session, VERNETTE)
        scope_to_estate(session, vernette.id)
        session.info.pop("chai_all_estates", None)
        keys = {o.key for o in delivery.options_for(session, vernette, delivery.DeliveryContext(now=datetime.now(UTC)))}
        assert not any(re.fullmatch(r"fair:\d+", key) for key in keys)


def test_a_fair_for_another_estates_order_filter_shows_nothing(app):
    rozel = _rozel_participation(app)
    staff = _staff(app)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/commandes?salon={rozel.id}"))
    assert "0 commande" in page
    assert staff.get(f"/gestion/{VERNETTE}/commandes?salon=abc").status_code == 200


def test_the_invitation_link_preselects_pickup_at_that_fair_at_checkout(app):
    """A customer who came by the fair's invitation link finds "Retrait sur le salon"
    chosen at checkout; one who did not finds the first delivery, as before."""
    participation = _add_fair(app, _staff(app))
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)

    def chosen(client) -> str:  # type: ignore[no-untyped-def]
        assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
        page = text_of(client.get(f"/{VERNETTE}/commande"))
        return re.search(r'<input[^>]*checked[^>]*name="delivery"[^>]*value="([^"]+)"|'
                         r'<input[^>]*name="delivery"[^>]*value="([^"]+)"[^>]*checked', page).group(0)

    invited = visitor(app)
    assert invited.get(f"/{VERNETTE}/salon/{participation.token}").status_code == 200
    assert f'value="fair:{participation.id}"' in chosen(invited)
    assert "fair:" not in chosen(visitor(app))
