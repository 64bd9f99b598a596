"""Selling alcohol at a distance (issue 15): the date of birth at checkout (L3342-1),
the L3342-4 notice, the countries an estate ships to, and the excise mentions of the
order form."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from models import AuditEntry, Estate, EstateCustomer, Order, ShippingZone, User, db
from services.templating import PARIS
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
REFUSAL = "La vente de boissons alcooliques à des mineurs est interdite (article L3342-1 du Code de la santé publique)."
NOTICE = "La vente de boissons alcooliques aux mineurs de moins de dix-huit ans est interdite."
DSA = "tient lieu de document simplifié d'accompagnement (DSA)"
GUEST = "nouveau@client.example"  # checkout_form()'s guest


def _frozen_now() -> datetime:
    """Today (Paris) at 11:00 UTC, the clock of the checkout for these tests; never a
    29 February, whose birthday 17 and 18 years ago does not exist."""
    today = datetime.now(PARIS).date()
    if (today.month, today.day) == (2, 29):
        today += timedelta(days=1)
    return datetime.combine(today, time(11, 0), tzinfo=timezone.utc)


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


@pytest.fixture
def frozen(monkeypatch):  # type: ignore[no-untyped-def]
    """The checkout's clock, the form's and the order's, on a fixed moment of today."""
    now = _frozen_now()
    monkeypatch.setattr("shop.checkout.utcnow", lambda: now)
    monkeypatch.setattr("shop.checkout_forms.utcnow", lambda: now)
    return now


def _cart(app, client, slug: str = VERNETTE) -> None:  # type: ignore[no-untyped-def]
    wine_id, _, _ = first_orderable_wine(app, slug, stock=60)
    assert client.post(f"/{slug}/panier/ajouter/{wine_id}", data={"quantity": "12"}).status_code == 302


def _counts(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(orders, users with the guest's email, customer-file entries with it), every estate."""
    with session_for(app) as session:
        from services.tenancy import all_estates

        with all_estates(session):
            return (session.scalar(select(func.count(Order.id))),
                    session.scalar(select(func.count(User.id)).where(User.email == GUEST)),
                    session.scalar(select(func.count(EstateCustomer.id)).where(EstateCustomer.email == GUEST)))


def _set_destinations(app, slug: str, codes: str) -> None:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        session.scalars(select(Estate).where(Estate.slug == slug)).one().destination_countries = codes
        session.commit()


def _select_options(html: str, name: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option[^>]*value="([^"]+)"', select_html)


def _pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " "))


# ---------------------------------------------------------------- the buyer's age


def test_a_buyer_born_17_years_ago_is_refused_and_nothing_is_created(app, client, frozen):
    _cart(app, client)
    before = _counts(app)
    born = _years_before(frozen.date(), 17)
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(birth_date=born.isoformat()))
    assert response.status_code == 422
    page = text_of(response)
    assert REFUSAL in page and "Vous devez avoir 18 ans révolus pour commander." in page
    assert _counts(app) == before == (0, 0, 0)
    # the day before the 18th birthday: still refused
    eve = _years_before(frozen.date(), 18) + timedelta(days=1)
    assert REFUSAL in text_of(client.post(f"/{VERNETTE}/commande", data=checkout_form(birth_date=eve.isoformat())))
    assert _counts(app) == (0, 0, 0)


def test_a_buyer_18_today_orders_and_the_date_is_kept_on_the_order_and_the_account(app, client, frozen):
    _cart(app, client)
    born = _years_before(frozen.date(), 18)
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(birth_date=born.isoformat()))
    assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        assert order.buyer_birth_date == born
        assert session.scalars(select(User).where(User.email == GUEST)).one().birth_date == born
    # the next checkout of the (now logged-in) buyer is prefilled with it
    _cart(app, client)
    assert f'value="{born.isoformat()}"' in text_of(client.get(f"/{VERNETTE}/commande"))


def test_a_logged_in_customer_gives_the_date_once_and_finds_it_again(app, client):
    login(client, "client@chai.example")
    _cart(app, client)
    page = text_of(client.get(f"/{VERNETTE}/commande"))
    assert 'name="birth_date"' in page and 'type="date"' in page and "Date de naissance" in page
    form = checkout_form(email=None, password=None, confirm=None, birth_date="17/05/1980", token="typed")
    assert client.post(f"/{VERNETTE}/commande", data=form).status_code == 302
    with session_for(app) as session:
        assert session.scalars(select(User).where(User.email == "client@chai.example")).one().birth_date == date(1980, 5, 17)
    _cart(app, client)
    assert 'value="1980-05-17"' in text_of(client.get(f"/{VERNETTE}/commande"))


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Indiquez votre date de naissance."),
    ("pas une date", "Date de naissance invalide"),
    ("1980-02-30", "Date de naissance invalide"),
    ("2999-01-01", "ne peut pas être dans le futur"),
    ("1899-12-31", "ne peut pas être avant 1900"),
])
def test_an_absurd_birth_date_is_refused_in_french(app, client, typed, message):
    _cart(app, client)
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(birth_date=typed))
    assert response.status_code == 422
    assert message in text_of(response)
    assert _counts(app) == (0, 0, 0)


def test_place_order_checks_the_age_on_the_orders_own_date(app, client, monkeypatch):
    """The form checks today's date; placing the order checks again on the order's Paris
    date: a buyer whose 18th birthday is today is a minor for an order dated yesterday."""
    today = _frozen_now()
    monkeypatch.setattr("shop.checkout_forms.utcnow", lambda: today)
    monkeypatch.setattr("shop.checkout.utcnow", lambda: today - timedelta(days=1))
    _cart(app, client)
    response = client.post(f"/{VERNETTE}/commande",
                           data=checkout_form(birth_date=_years_before(today.date(), 18).isoformat()))
    assert response.status_code == 422 and REFUSAL in text_of(response)
    assert _counts(app) == (0, 0, 0)


def test_the_group_basket_checkout_refuses_a_minor_and_keeps_an_adults_date(app):
    """The producer group's checkout (one basket, several estates): the same rule."""
    from tests.integration.test_group_shop import CHECKOUT, _member, _setup, _shop

    setup = _setup(app)
    client = _member(app)
    for slug in (VERNETTE, ROZEL):
        assert client.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[slug], "quantity": 2}).status_code == 302
    page = text_of(client.get(f"{_shop(setup)}/commande"))
    assert 'name="birth_date"' in page and NOTICE in page
    minor = _years_before(_frozen_now().date(), 17).isoformat()
    response = client.post(f"{_shop(setup)}/commande", data={**CHECKOUT, "birth_date": minor, "checkout_token": "g-minor"})
    assert response.status_code == 422 and REFUSAL in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count(Order.id))) == 0
    response = client.post(f"{_shop(setup)}/commande", data={**CHECKOUT, "birth_date": "1975-09-30",
                                                             "checkout_token": "g-adult"})
    assert response.status_code in (302, 303), text_of(response)[:2000]
    with session_for(app) as session:
        from services.tenancy import all_estates

        with all_estates(session):
            births = session.scalars(select(Order.buyer_birth_date)).all()
        assert births == [date(1975, 9, 30)] * 2
        assert session.scalars(select(User.birth_date).where(User.email == "client@chai.example")).one() == date(1975, 9, 30)


# ---------------------------------------------------------------- the L3342-4 notice


def test_the_notice_shows_on_the_home_page_the_estate_page_and_the_payment_pages(app, client):
    assert NOTICE in text_of(client.get("/"))
    for _ in range(2):  # the estate page is kept in the page cache for anonymous visitors
        assert NOTICE in text_of(client.get(f"/{VERNETTE}/"))
    _cart(app, client)
    assert NOTICE in text_of(client.get(f"/{VERNETTE}/commande"))
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert response.status_code == 302
    assert NOTICE in text_of(client.get(response.headers["Location"]))  # awaiting payment


# ---------------------------------------------------------------- destination countries


def test_an_order_to_a_country_not_chosen_is_refused_and_to_a_chosen_one_accepted(app, client):
    _cart(app, client)
    belgium = dict(country="BE", postcode="1000", city="Bruxelles")
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(**belgium))
    assert response.status_code == 422
    assert ("Domaine de la Vernette ne livre pas en Belgique. Pays de livraison possibles : France."
            in text_of(response))
    assert _counts(app) == (0, 0, 0)
    # delivered elsewhere than the billing address: the same rule
    elsewhere = checkout_form(ship_elsewhere="y", shipping_name="Léa", shipping_street="1 rue Haute",
                              shipping_postcode="1000", shipping_city="Bruxelles", shipping_country="BE")
    assert "ne livre pas en Belgique" in text_of(client.post(f"/{VERNETTE}/commande", data=elsewhere))
    assert _counts(app) == (0, 0, 0)
    # collecting at the estate is not a shipment
    _set_destinations(app, VERNETTE, "FR")
    pickup = client.post(f"/{VERNETTE}/commande", data=checkout_form(delivery="pickup", token="pickup", **belgium))
    assert pickup.status_code == 302, text_of(pickup)[:2000]

    _set_destinations(app, VERNETTE, "FR BE DE")
    buyer = visitor(app)
    _cart(app, buyer)
    summary = text_of(buyer.post(f"/{VERNETTE}/commande", data=checkout_form(country="CH", postcode="1200"),
                                 headers={"HX-Request": "true", "HX-Target": "checkout-summary"}))
    assert "ne livre pas en Suisse. Pays de livraison possibles : France, Allemagne, Belgique." in summary
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(email="belge@client.example", token="be", **belgium))
    assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        order = session.scalars(select(Order).where(Order.email == "belge@client.example")).one()
        assert order.shipping_country == "BE" and order.shipping_zone is ShippingZone.EU


def test_the_shipping_country_select_offers_only_the_chosen_countries(app, client):
    _set_destinations(app, VERNETTE, "CH BE")
    _cart(app, client)
    page = text_of(client.get(f"/{VERNETTE}/commande"))
    assert _select_options(page, "shipping_country") == ["FR", "BE", "CH"]
    assert {"FR", "BE", "DE", "CH"} <= set(_select_options(page, "country"))  # billing: any country


def test_one_estates_countries_do_not_open_another_estates_shipments(app, client):
    _set_destinations(app, ROZEL, "FR DE BE")
    _cart(app, client)
    assert _select_options(text_of(client.get(f"/{VERNETTE}/commande")), "shipping_country") == ["FR"]
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(country="DE", postcode="10115", city="Berlin"))
    assert response.status_code == 422 and "ne livre pas en Allemagne" in text_of(response)
    assert _counts(app) == (0, 0, 0)


def test_a_group_purchase_delivered_abroad_cannot_bypass_the_countries(app):
    from tests.integration.test_group_purchases import _create, _create_form, _order_through_link, _staff

    staff = _staff(app)
    refused = staff.post(f"/gestion/{VERNETTE}/achats-groupes/nouveau",
                         data=_create_form(country="DE", postcode="10115", city="Berlin"))
    assert refused.status_code == 422 and "ne livre pas en Allemagne" in text_of(refused)
    # created while the estate shipped to Germany, which it no longer does
    _set_destinations(app, VERNETTE, "FR DE")
    group = _create(app, staff, country="DE", postcode="10115", city="Berlin", free_shipping="y")
    _set_destinations(app, VERNETTE, "FR")
    response, _buyer = _order_through_link(app, group, token="grp-de")
    assert response.status_code == 422 and "ne livre pas en Allemagne" in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count(Order.id))) == 0
    _set_destinations(app, VERNETTE, "FR DE")
    response, _buyer = _order_through_link(app, group, token="grp-de-2")
    assert response.status_code == 302, text_of(response)[:2000]


# ---------------------------------------------------------------- the back office


def _shipping_form(**extra) -> dict:  # type: ignore[no-untyped-def]
    from tests.integration.test_shipping_admin import _form

    return _form(**extra)


def test_the_vigneron_chooses_the_countries_unknown_codes_are_refused_and_it_is_audited(app, client):
    login(client, "vigneron@rozel.example")
    page = text_of(client.get(f"/gestion/{ROZEL}/livraison"))
    assert "Pays de livraison" in page and "droits d'accises du pays de destination sont à la charge du domaine" in page
    assert 'value="GB"' in page and 'value="MT"' in page

    refused = client.post(f"/gestion/{ROZEL}/livraison", data=_shipping_form(destination_countries=["BE", "XX"]))
    assert refused.status_code == 422 and "Pays inconnu : XX" in text_of(refused)
    with session_for(app) as session:
        assert session.scalars(select(Estate).where(Estate.slug == ROZEL)).one().destination_countries == "FR"

    saved = client.post(f"/gestion/{ROZEL}/livraison", data=_shipping_form(destination_countries=["CH", "be", "DE"]))
    assert saved.status_code == 302
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == ROZEL)).one()
        assert estate.destination_countries == "FR DE BE CH"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.estate_id == estate.id,
                                                         AuditEntry.action == "shipping.update")
                                .order_by(AuditEntry.id.desc())).first()
        assert json.loads(entry.before)["destination_countries"] == "FR"
        assert json.loads(entry.after)["destination_countries"] == "FR DE BE CH"
        vernette = session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        assert vernette.destination_countries == "FR"
    page = text_of(client.get(f"/gestion/{ROZEL}/livraison"))
    assert re.search(r'value="CH"\s+checked', page) and not re.search(r'value="GB"\s+checked', page)


# ---------------------------------------------------------------- the documents


def _order_form_text(app, slug: str, number: str) -> str:  # type: ignore[no-untyped-def]
    from services import documents
    from services.tenancy import in_estate

    with app.app_context():
        estate = db.session.scalars(select(Estate).where(Estate.slug == slug)).one()
        with in_estate(db.session, estate.id):
            order = db.session.scalars(select(Order).where(Order.number == number)).one()
            return _pdf_text(documents.order_form(db.session, estate, order).content)


def test_the_order_form_of_a_private_buyer_in_france_carries_the_dsa_mention_and_a_pros_does_not(app):
    buyer = visitor(app)
    _cart(app, buyer)
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert response.status_code == 302
    text = _order_form_text(app, VERNETTE, response.headers["Location"].rsplit("/", 1)[1])
    assert "Vente à distance à un particulier en France, droits d'accises acquittés." in text
    assert DSA in text and "capsule représentative de droits (CRD)" in text and "% vol." in text and " cl" in text

    pro = visitor(app)
    login(pro, "caviste@chai.example")
    _cart(app, pro)
    response = pro.post(f"/{VERNETTE}/commande",
                        data=checkout_form(email=None, password=None, confirm=None, token="pro"))
    assert response.status_code == 302, text_of(response)[:2000]
    number = response.headers["Location"].rsplit("/", 1)[1]
    with session_for(app) as session:
        assert session.scalars(select(Order).where(Order.number == number)).one().prices_include_vat is False
    text = _order_form_text(app, VERNETTE, number)
    assert "Bon de commande" in text and DSA not in text and "droits d'accises" not in text


def test_the_order_form_of_a_shipment_to_another_eu_country_says_who_owes_the_excise(app):
    _set_destinations(app, VERNETTE, "FR BE")
    buyer = visitor(app)
    _cart(app, buyer)
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form(country="BE", postcode="1000", city="Bruxelles"))
    assert response.status_code == 302
    text = _order_form_text(app, VERNETTE, response.headers["Location"].rsplit("/", 1)[1])
    assert "les droits d'accises de l'État membre de destination sont dus par le vendeur" in text
    assert "(Belgique)" in text and DSA not in text


def test_the_invoice_of_a_private_buyer_in_france_carries_the_dsa_mention(app):
    from models import OrderStatus, utcnow
    from services import invoicing
    from services.tenancy import in_estate

    buyer = visitor(app)
    _cart(app, buyer)
    response = buyer.post(f"/{VERNETTE}/commande", data=checkout_form())
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        estate = db.session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        with in_estate(db.session, estate.id):
            order = db.session.scalars(select(Order).where(Order.number == number)).one()
            order.status, order.paid_at = OrderStatus.PAID, utcnow()
            invoice = invoicing.issue_invoice(db.session, estate, order, utcnow())
            db.session.commit()
            text = _pdf_text(invoice.document.content)
    assert "Facture" in text and DSA in text and f"référence {number}" in text
