"""Issue 15, point 6: the estate's CGV, published as immutable versions; each order keeps
the version in force when it was placed, and its confirmation carries that PDF."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from models import AuditEntry, Colour, CustomerKind, Estate, Order, Price, PriceList, SalesTerms, VatRate, Wine
from tests.conftest import (at_once, body_of, checkout_form, first_orderable_wine, login, make_app, session_for,
                            text_of, visitor)

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
ADMIN = f"/gestion/{VERNETTE}/conditions-generales"
#: the demo's answers for La Vernette's version 1 (services.demo.SALES_TERMS)
DEMO_MEDIATOR = "Médiation Vins et Terroirs"
ANSWERS = {
    "mediator_name": "Médiateur Bourgogne Essai",
    "mediator_address": "7 place du Marché, 71000 Mâcon",
    "mediator_url": "https://www.mediateur-essai.example",
    "return_address": "",
    "return_costs": "estate",
    "delivery_details": "Colis suivis par transporteur.",
    "primeur_clause": "y",
    "excise_note": "",
    "privacy_url": "",
    "extra_clauses": "Les caisses bois sont consignées.",
}


def _pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace folded (lines wrap anywhere)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def _fill_cart(client, slug: str, wine_id: int, quantity: int = 6) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"/{slug}/panier/ajouter/{wine_id}", data={"quantity": str(quantity)}).status_code == 302


def _order(client, slug: str, wine_id: int, n: int):  # type: ignore[no-untyped-def]
    _fill_cart(client, slug, wine_id)
    return client.post(f"/{slug}/commande", data=checkout_form(token=f"cgv{n}", email=f"acheteur{n}@example.com",
                                                               delivery="pickup"))


def _versions(app, slug: str) -> list[SalesTerms]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == slug)).one()
        rows = session.scalars(select(SalesTerms).where(SalesTerms.estate_id == estate_id)
                               .order_by(SalesTerms.version)).all()
        session.expunge_all()
        return list(rows)


def _cgv_attachment(message) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    (part,) = [p for p in message.walk() if (p.get_filename() or "").startswith("conditions-generales-de-vente")]
    return part.get_filename(), part.get_payload(decode=True)


def test_each_confirmation_carries_the_cgv_in_force_when_its_order_was_placed(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=60)
    (v1,) = _versions(app, VERNETTE)  # the demo's version 1
    assert _order(visitor(app), VERNETTE, wine_id, 1).status_code == 302

    vigneron = visitor(app)
    login(vigneron, "vigneron@vernette.example")
    response = vigneron.post(ADMIN, data=ANSWERS | {"action": "publish"})
    assert response.status_code == 302
    assert "Version 2 des conditions générales de vente publiée" in text_of(vigneron.get(ADMIN))
    v1_again, v2 = _versions(app, VERNETTE)
    assert (v1_again.id, v1_again.body, v1_again.pdf) == (v1.id, v1.body, v1.pdf)  # version 1 untouched
    assert v2.version == 2 and json.loads(v2.fields)["mediator_name"] == ANSWERS["mediator_name"]

    assert _order(visitor(app), VERNETTE, wine_id, 2).status_code == 302
    messages = smtp.mailbox.wait_for(4)  # each order: the confirmation and the estate's copy
    first = next(m for m in messages if m["To"] == "acheteur1@example.com")
    second = next(m for m in messages if m["To"] == "acheteur2@example.com")
    assert "Les conditions générales de vente que vous avez acceptées y sont jointes" in body_of(first)
    name, pdf = _cgv_attachment(first)
    assert name == "conditions-generales-de-vente-v1.pdf" and pdf == v1.pdf
    text = _pdf_text(pdf)
    assert DEMO_MEDIATOR in text and ANSWERS["mediator_name"] not in text and "version 1" in text
    name, pdf = _cgv_attachment(second)
    assert name == "conditions-generales-de-vente-v2.pdf"
    text = _pdf_text(pdf)
    assert ANSWERS["mediator_name"] in text and DEMO_MEDIATOR not in text and "version 2" in text
    assert "Les caisses bois sont consignées." in text and "pris en charge par le vendeur" in text
    # the legal mentions the PDF must carry
    assert "Formulaire type de rétractation" in text and "annexe à l'article R221-1" in text
    assert "L221-28" in text
    assert "boissons alcoolisées dont la livraison est différée au-delà de trente jours" in text
    assert "quatorze jours" in text and "L217-3" in text and "1641" in text and "L3342-1" in text
    assert "SIRET 81472563600017" in text or "SIRET : 81472563600017" in text

    with session_for(app) as session:
        orders = {o.email: o.sales_terms_id for o in session.scalars(select(Order))}
    assert orders == {"acheteur1@example.com": v1.id, "acheteur2@example.com": v2.id}

    shop = visitor(app)
    page = text_of(shop.get(f"/{VERNETTE}/cgv"))
    assert "Version 2, en vigueur" in page and ANSWERS["mediator_name"] in page and DEMO_MEDIATOR not in page
    old = shop.get(f"/{VERNETTE}/cgv/1.pdf")
    assert old.status_code == 200 and old.data == v1.pdf
    assert old.headers["Content-Disposition"] == 'attachment; filename="conditions-generales-de-vente-v1.pdf"'
    assert shop.get(f"/{VERNETTE}/cgv/3.pdf").status_code == 404


def test_the_order_pages_link_to_the_version_accepted(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=60)
    login(client, "client@chai.example")
    _fill_cart(client, VERNETTE, wine_id)
    form = checkout_form(token="pages", delivery="pickup")
    for key in ("email", "password", "confirm"):
        form.pop(key)
    response = client.post(f"/{VERNETTE}/commande", data=form)
    assert response.status_code == 302, text_of(response)[:2000]
    (v1,) = _versions(app, VERNETTE)
    page = text_of(client.get(response.headers["Location"]))
    assert f"/{VERNETTE}/cgv/1.pdf" in page and "Conditions générales de vente acceptées (version 1, PDF)" in page
    assert f'href="/{VERNETTE}/cgv/1.pdf">CGV (version 1)' in text_of(client.get("/compte/commandes"))
    assert client.get(f"/{VERNETTE}/cgv/1.pdf").data == v1.pdf
    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
    vigneron = visitor(app)
    login(vigneron, "vigneron@vernette.example")
    page = text_of(vigneron.get(f"/gestion/{VERNETTE}/commandes/{order.id}"))
    assert f"/gestion/{VERNETTE}/conditions-generales/{v1.id}.pdf" in page
    pdf = vigneron.get(f"/gestion/{VERNETTE}/conditions-generales/{v1.id}.pdf")
    assert pdf.status_code == 200 and pdf.data == v1.pdf


def test_the_checkout_links_to_the_cgv(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    _fill_cart(client, VERNETTE, wine_id)
    page = text_of(client.get(f"/{VERNETTE}/commande"))
    assert f'href="/{VERNETTE}/cgv"' in page


def test_the_database_refuses_to_change_or_delete_a_published_version(app):
    (v1,) = _versions(app, VERNETTE)
    with session_for(app) as session:
        with pytest.raises(DBAPIError):
            session.execute(update(SalesTerms).where(SalesTerms.id == v1.id).values(body="Autre texte"))
        session.rollback()
        with pytest.raises(DBAPIError):
            session.execute(delete(SalesTerms).where(SalesTerms.id == v1.id))
        session.rollback()
    (after,) = _versions(app, VERNETTE)
    assert after.body == v1.body


@pytest.mark.parametrize(("changes", "message"), [
    ({"mediator_name": ""}, "Indiquez le nom du médiateur de la consommation (obligatoire)."),
    ({"mediator_address": "  "}, "Indiquez l'adresse du médiateur de la consommation (obligatoire)."),
    ({"mediator_url": ""}, "Indiquez le site internet du médiateur de la consommation (obligatoire)."),
    ({"mediator_url": "javascript:alert(1)"}, "Adresse de site invalide"),
    ({"privacy_url": "www.sans-protocole"}, "Adresse de site invalide"),
    ({"return_costs": "le-voisin"}, "Choisissez qui paie les frais de retour."),
    ({"mediator_name": "x" * 201}, "Ce texte est trop long (200 caractères au plus)."),
    ({"extra_clauses": "x" * 20001}, "Ce texte est trop long"),
])
def test_bad_answers_get_a_french_message_and_publish_nothing(app, client, changes, message):
    login(client, "vigneron@vernette.example")
    before = _versions(app, VERNETTE)
    response = client.post(ADMIN, data=ANSWERS | changes | {"action": "publish"})
    assert response.status_code == 422 and message in text_of(response)
    assert [v.id for v in _versions(app, VERNETTE)] == [v.id for v in before]
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action.like("sales_terms.%"))) == 0


def test_the_preview_shows_the_answers_and_publishes_nothing(app, client):
    login(client, "vigneron@vernette.example")
    page = text_of(client.get(ADMIN))
    assert DEMO_MEDIATOR in page and "Version en vigueur : version 1" in page
    response = client.post(ADMIN, data=ANSWERS | {"action": "preview"})
    page = text_of(response)
    assert response.status_code == 200 and "Aperçu de la nouvelle version" in page
    assert ANSWERS["mediator_name"] in page and "Les caisses bois sont consignées." in page
    assert "Enlèvement à la propriété" in page and "Expédition sous 5 jours ouvrés" in page
    assert len(_versions(app, VERNETTE)) == 1


def test_publishing_is_audited(app, client):
    login(client, "vigneron@vernette.example")
    assert client.post(ADMIN, data=ANSWERS | {"action": "publish"}).status_code == 302
    with session_for(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "sales_terms.publish")).one()
    assert json.loads(entry.after)["version"] == 2 and json.loads(entry.before)["version"] == 1
    assert "vigneron@vernette.example" in entry.actor_label


def test_a_seller_and_another_estates_staff_cannot_reach_the_cgv_back_office(app):
    rozel = visitor(app)
    login(rozel, "vigneron@rozel.example")
    (vernette_v1,) = _versions(app, VERNETTE)
    (rozel_v1,) = _versions(app, ROZEL)
    assert rozel.get(ADMIN).status_code == 404
    assert rozel.post(ADMIN, data=ANSWERS | {"action": "publish"}).status_code == 404
    # La Vernette's version, under Rozel's own back office: 404 (and its own is there)
    assert rozel.get(f"/gestion/{ROZEL}/conditions-generales/{vernette_v1.id}.pdf").status_code == 404
    assert rozel.get(f"/gestion/{ROZEL}/conditions-generales/{rozel_v1.id}.pdf").data == rozel_v1.pdf
    page = text_of(rozel.get(f"/gestion/{ROZEL}/conditions-generales"))
    assert DEMO_MEDIATOR not in page and "Centre de médiation des vignerons de Loire" in page
    assert len(_versions(app, VERNETTE)) == 1


def test_a_shop_shows_only_its_own_versions(app, client):
    login_vernette = visitor(app)
    login(login_vernette, "vigneron@vernette.example")
    assert login_vernette.post(ADMIN, data=ANSWERS | {"action": "publish"}).status_code == 302
    (rozel_v1,) = _versions(app, ROZEL)
    assert client.get(f"/{ROZEL}/cgv/2.pdf").status_code == 404  # La Vernette's version 2
    assert client.get(f"/{ROZEL}/cgv/1.pdf").data == rozel_v1.pdf
    page = text_of(client.get(f"/{ROZEL}/cgv"))
    assert "Version 1, en vigueur" in page and ANSWERS["mediator_name"] not in page
    assert "SCEA Domaine Rozel, service des retours, 12 rue des Caves" in page and "71570" not in page
    assert client.get(f"/{VERNETTE}/cgv/99999999999.pdf").status_code == 404


# ------------------------------------------------------------------ first order without a version


def _new_estate(app, slug: str = "domaine-neuf") -> int:  # type: ignore[no-untyped-def]
    """A published estate that never published its CGV, with one wine on "Particuliers": its wine id."""
    with session_for(app) as session:
        estate = Estate(slug=slug, name="Domaine Neuf", legal_name="GAEC du Domaine Neuf", street="1 chemin des Vignes",
                        postcode="33000", city="Bordeaux", email="contact@neuf.example", siret="12345678900011",
                        order_prefix="NEU", is_published=True)
        session.add(estate)
        session.flush()
        particuliers = PriceList(estate_id=estate.id, name="Particuliers", default_for=CustomerKind.PARTICULIER,
                                 prices_include_vat=True, position=0)
        vat = session.scalars(select(VatRate).where(VatRate.rate_bp == 2000)).one()
        wine = Wine(estate_id=estate.id, name="Bordeaux rouge", colour=Colour.ROUGE, vintage=2022, stock=500,
                    vat_rate_id=vat.id, alcohol_permille=130, allergens="Contient des sulfites")
        session.add_all([particuliers, wine])
        session.flush()
        session.add(Price(estate_id=estate.id, wine_id=wine.id, price_list_id=particuliers.id, amount_cents=1200))
        session.commit()
        return wine.id


def test_the_first_order_of_an_estate_without_cgv_publishes_version_1_from_the_template(app, client):
    wine_id = _new_estate(app)
    page = text_of(client.get("/domaine-neuf/cgv"))  # the template, not published by a visit
    assert "GAEC du Domaine Neuf" in page and "[à compléter par le vendeur]" in page
    assert _versions(app, "domaine-neuf") == []
    assert _order(client, "domaine-neuf", wine_id, 1).status_code == 302
    (v1,) = _versions(app, "domaine-neuf")
    assert v1.version == 1 and v1.published_by_user_id is None
    text = _pdf_text(v1.pdf)
    assert "GAEC du Domaine Neuf" in text and "12345678900011" in text
    assert "Médiateur : [à compléter par le vendeur]" in text and "L221-28" in text
    with session_for(app) as session:
        assert session.scalars(select(Order.sales_terms_id)).one() == v1.id
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.estate_id == v1.estate_id)).all() == [
            "sales_terms.auto_publish"]
    # a second order keeps version 1; the back office flags the missing mediator
    assert _order(visitor(app), "domaine-neuf", wine_id, 2).status_code == 302
    assert len(_versions(app, "domaine-neuf")) == 1
    login(client, "operateur@chai.example")
    page = text_of(client.get("/gestion/domaine-neuf/conditions-generales"))
    assert "n'indique pas de médiateur de la consommation" in page
    assert "Automatiquement, à la première commande" in page
    assert 'id="sales-terms-todo"' in text_of(client.get("/gestion/domaine-neuf/"))
    assert 'id="sales-terms-todo"' not in text_of(client.get(f"/gestion/{VERNETTE}/"))  # its demo version has one


def test_two_first_orders_at_once_publish_one_version_1(app):
    wine_id = _new_estate(app)
    clients = []
    for n in range(4):
        buyer = visitor(app)
        _fill_cart(buyer, "domaine-neuf", wine_id)
        clients.append(buyer)
    responses = at_once([lambda buyer=buyer, n=n: buyer.post(
        "/domaine-neuf/commande", data=checkout_form(token=f"race{n}", email=f"race{n}@example.com", delivery="pickup"))
        for n, buyer in enumerate(clients)])
    assert [r.status_code for r in responses] == [302] * 4
    (v1,) = _versions(app, "domaine-neuf")
    with session_for(app) as session:
        assert set(session.scalars(select(Order.sales_terms_id).where(Order.estate_id == v1.estate_id))) == {v1.id}
    # the counter gave its number back: the vigneron's publication is version 2
    operator = visitor(app)
    login(operator, "operateur@chai.example")
    assert operator.post("/gestion/domaine-neuf/conditions-generales",
                         data=ANSWERS | {"action": "publish"}).status_code == 302
    assert [v.version for v in _versions(app, "domaine-neuf")] == [1, 2]


def test_a_confirmation_attaches_the_cgv_only_when_the_order_has_a_version(app):
    """services.rewards' zero-value gift orders are not sales: they have no CGV version."""
    from services import orders

    order = Order(id=1, estate_id=1, sales_terms_id=None)
    assert orders._confirmation_attachments(order) == ["order_form:1"]
    order.sales_terms_id = 7
    assert orders._confirmation_attachments(order) == ["order_form:1", "sales_terms:7"]


def test_the_cgv_text_follows_the_estates_settings(app):
    """What comes from the estate (payment modes, pickup, destinations) is written at publication."""
    from services import sales_terms

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == ROZEL)).one()
        estate.accepts_cash, estate.allows_pickup, estate.destination_countries = False, False, "FR BE DE"
        body = sales_terms.render_body(estate, sales_terms.Completions(primeur_clause=False))
        assert "espèces" not in body and "Enlèvement à la propriété" not in body
        assert "France, Belgique, Allemagne" in body and "ne propose pas à ce jour de vente en primeur" in body
        assert body.count("[à compléter par le vendeur]") == 3  # the mediator's three lines
        session.rollback()
