"""The vigneron's back office: wines table with inline edit, wine form, settings, price lists."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Estate, Price, PriceList, Wine
from tests.conftest import login, session_for, text_of

SLUG = "domaine-de-la-vernette"
HX = {"HX-Request": "true"}


def _wine_on_particuliers(app):  # type: ignore[no-untyped-def]
    """A visible, available Vernette wine priced on "Particuliers", without promotion."""
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        price_list = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                             PriceList.name == "Particuliers")).one()
        price = session.scalars(select(Price).join(Wine).where(
            Price.price_list_id == price_list.id, Price.promo_active.is_(False),
            Wine.is_visible.is_(True), Wine.is_available.is_(True))).first()
        return price.wine_id, price_list.id, price.wine.name, price.amount_cents, price.wine.vintage, price.wine.stock


def _row_data(**overrides: str) -> dict[str, str]:
    data = {"price": "14,90", "promo_price": "", "vintage": "2022", "stock": "48", "is_available": "y",
            "available_again_month": "0", "available_again_year": "", "is_visible": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _stored(app, wine_id: int, price_list_id: int):  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        wine = session.get(Wine, wine_id)
        price = session.scalars(select(Price).where(Price.wine_id == wine_id,
                                                    Price.price_list_id == price_list_id)).first()
        return (price.amount_cents if price else None, price.promo_amount_cents if price else None,
                price.promo_active if price else None, wine.vintage, wine.stock, wine.is_available,
                wine.available_again_month, wine.available_again_year, wine.is_visible)


def test_the_wines_table_lists_every_wine_with_a_modifier_button(app, client):
    login(client, "vigneron@vernette.example")
    html = client.get(f"/gestion/{SLUG}/vins").get_data(as_text=True)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        names = session.scalars(select(Wine.name).where(Wine.estate_id == estate.id)).all()
    assert all(name in html for name in names)
    assert html.count(">Modifier</a>") == len(names)


def test_modifier_swaps_one_row_for_an_edit_row(app, client):
    wine_id, list_id, name, amount, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    response = client.get(f"/gestion/{SLUG}/vins/{wine_id}/modifier?tarif={list_id}", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="wine-{wine_id}" class="editing">')
    assert "<html" not in html and html.count("<tr") == 1
    assert f'value="{amount // 100},{amount % 100:02d}"' in html


def test_saving_the_row_returns_the_new_row_and_the_shop_shows_the_price(app, client):
    wine_id, list_id, name, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    response = client.post(f"/gestion/{SLUG}/vins/{wine_id}/modifier?tarif={list_id}", data=_row_data(), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="wine-{wine_id}">') and "14,90" in html
    assert _stored(app, wine_id, list_id)[:5] == (1490, None, False, 2022, 48)
    shop = client.get(f"/{SLUG}/").get_data(as_text=True)
    card = shop[shop.index(f'id="vin-{wine_id}"'):]
    assert re.search(r'class="price">14,90\xa0€', card[:2000])


def test_a_promotional_price_can_be_switched_on_and_off(app, client):
    wine_id, list_id, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    url = f"/gestion/{SLUG}/vins/{wine_id}/modifier?tarif={list_id}"
    client.post(url, data=_row_data(promo_price="11,50", promo_active="y"), headers=HX)
    assert _stored(app, wine_id, list_id)[:3] == (1490, 1150, True)
    card = client.get(f"/{SLUG}/vin/{wine_id}").get_data(as_text=True)
    assert "<del>14,90\xa0€</del>" in card and "11,50\xa0€" in card
    client.post(url, data=_row_data(promo_price="11,50"), headers=HX)
    assert _stored(app, wine_id, list_id)[:3] == (1490, 1150, False)
    assert "<del>" not in client.get(f"/{SLUG}/vin/{wine_id}").get_data(as_text=True)


def test_an_unavailable_wine_with_its_return_date(app, client):
    wine_id, list_id, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    data = _row_data(is_available=None, available_again_month="3", available_again_year="2031")
    response = client.post(f"/gestion/{SLUG}/vins/{wine_id}/modifier?tarif={list_id}", data=data, headers=HX)
    assert response.status_code == 200
    assert "De retour en mars 2031" in text_of(response)
    assert "Indisponible — de retour en mars 2031" in client.get(f"/{SLUG}/").get_data(as_text=True)


def test_bad_input_in_the_row_gets_a_french_message_and_changes_nothing(app, client):
    wine_id, list_id, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    before = _stored(app, wine_id, list_id)
    url = f"/gestion/{SLUG}/vins/{wine_id}/modifier?tarif={list_id}"
    cases = [
        (_row_data(price="abc"), "Montant invalide : écrivez par exemple 12,50."),
        (_row_data(price="0"), "Le prix doit être supérieur à zéro."),
        (_row_data(stock="-3"), "Le stock ne peut pas être négatif."),
        (_row_data(stock=""), "Ce champ est obligatoire."),
        (_row_data(vintage="12"), "Millésime invalide."),
        (_row_data(promo_active="y"), "Indiquez le prix promotionnel pour activer la promotion."),
        (_row_data(promo_price="20,00", promo_active="y"), "Le prix promotionnel doit être inférieur au prix normal."),
        (_row_data(is_available=None, available_again_month="3", available_again_year="2020"),
         "La date de retour doit être à venir."),
        (_row_data(is_available=None, available_again_month="3"),
         "Indiquez le mois et l'année de retour, ou aucun des deux."),
        (_row_data(available_again_month="13"), "Not a valid choice."),
    ]
    for data, message in cases:
        response = client.post(url, data=data, headers=HX)
        assert response.status_code == 422, message
        body = text_of(response)
        assert 'class="editing"' in body
        if message != "Not a valid choice.":
            assert message in body, message
        assert _stored(app, wine_id, list_id) == before, message


def test_an_empty_price_takes_the_wine_off_the_list(app, client):
    wine_id, list_id, name, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    client.post(f"/gestion/{SLUG}/vins/{wine_id}/modifier?tarif={list_id}", data=_row_data(price=""), headers=HX)
    assert _stored(app, wine_id, list_id)[0] is None
    assert f'id="vin-{wine_id}"' not in client.get(f"/{SLUG}/").get_data(as_text=True)


def test_the_row_form_works_without_htmx_through_the_wine_form(app, client):
    wine_id, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    response = client.get(f"/gestion/{SLUG}/vins/{wine_id}")
    assert response.status_code == 200 and "<html" in response.get_data(as_text=True)


def test_creating_a_wine(app, client):
    login(client, "vigneron@vernette.example")
    page = client.get(f"/gestion/{SLUG}/vins/nouveau").get_data(as_text=True)
    vat_id = re.search(r'<option (?:selected )?value="(\d+)"[^>]*>TVA 20', page).group(1)
    data = {"name": "Cuvée des Copains", "colour": "rouge", "appellation": "Beaujolais", "vintage": "2024",
            "volume_ml": "750", "order_multiple": "6", "stock": "120", "vat_rate_id": vat_id,
            "alcohol": "12,5", "is_available": "y", "is_visible": "y", "available_again_month": "0",
            "allergens": "Contient des sulfites"}  # issue 15: required for a visible wine (test_elabels.py)
    response = client.post(f"/gestion/{SLUG}/vins/nouveau", data=data)
    assert response.status_code == 302
    with session_for(app) as session:
        wine = session.scalars(select(Wine).where(Wine.name == "Cuvée des Copains")).one()
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        assert (wine.estate_id, wine.alcohol_permille, wine.order_multiple, wine.stock) == (estate.id, 125, 6, 120)


def test_a_wine_form_with_bad_input_creates_nothing(app, client):
    login(client, "vigneron@vernette.example")
    with session_for(app) as session:
        count = len(session.scalars(select(Wine)).all())
    response = client.post(f"/gestion/{SLUG}/vins/nouveau", data={"name": "", "colour": "rouge", "volume_ml": "0",
                                                                   "order_multiple": "0", "alcohol": "fort"})
    body = text_of(response)
    assert response.status_code == 422
    for message in ("Ce champ est obligatoire.", "Contenance invalide.", "Le multiple doit être entre 1 et 120.",
                    "Degré invalide : écrivez par exemple 13,5."):
        assert message in body
    with session_for(app) as session:
        assert len(session.scalars(select(Wine)).all()) == count


def test_estate_settings_are_saved_and_shown_on_the_shop(app, client):
    login(client, "vigneron@vernette.example")
    form = client.get(f"/gestion/{SLUG}/domaine").get_data(as_text=True)
    assert "Conditions de vente — France" in form
    data = {"name": "Domaine de la Vernette", "description": "Nouvelle présentation du domaine.",
            "minimum_order": "90", "case_size": "6", "mixing_allowed": "y", "siret": "",
            "video_url": "https://player.vimeo.com/video/12345"}
    response = client.post(f"/gestion/{SLUG}/domaine", data=data)
    assert response.status_code == 302
    shop = text_of(client.get(f"/{SLUG}/"))
    assert "Nouvelle présentation du domaine." in shop and "Minimum de commande : 90,00\xa0€" in shop
    assert "player.vimeo.com/video/12345" in shop


def test_bad_estate_settings_get_french_messages_and_change_nothing(app, client):
    login(client, "vigneron@vernette.example")
    data = {"name": "", "minimum_order": "beaucoup", "case_size": "0", "siret": "123", "video_url": "pas un lien"}
    response = client.post(f"/gestion/{SLUG}/domaine", data=data)
    body = text_of(response)
    assert response.status_code == 422
    for message in ("Ce champ est obligatoire.", "Montant invalide", "Entre 1 et 48 bouteilles.",
                    "Ce numéro SIRET n'est pas valide.", "Lien invalide."):
        assert message in body
    with session_for(app) as session:
        assert session.scalars(select(Estate.name).where(Estate.slug == SLUG)).one() == "Domaine de la Vernette"


def test_a_group_price_list_is_created_and_priced(app, client):
    wine_id, *_ = _wine_on_particuliers(app)
    login(client, "vigneron@vernette.example")
    response = client.post(f"/gestion/{SLUG}/tarifs/nouveau",
                           data={"name": "Revendeurs", "prices_include_vat": "ht", "cash_discount": "2,5"})
    assert response.status_code == 302
    list_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    response = client.post(f"/gestion/{SLUG}/tarifs/{list_id}",
                           data={"name": "Revendeurs", "prices_include_vat": "ht", "cash_discount": "2,5",
                                 f"price-{wine_id}": "7,80"})
    assert response.status_code == 302
    with session_for(app) as session:
        price_list = session.get(PriceList, list_id)
        assert (price_list.prices_include_vat, price_list.cash_discount_bp) == (False, 250)
        assert [(p.wine_id, p.amount_cents) for p in price_list.prices] == [(wine_id, 780)]
    duplicate = client.post(f"/gestion/{SLUG}/tarifs/nouveau", data={"name": "Revendeurs", "prices_include_vat": "ht"})
    assert "Un tarif porte déjà ce nom." in text_of(duplicate)


def test_one_bad_price_in_a_list_saves_none_of_them(app, client):
    login(client, "vigneron@vernette.example")
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        price_list = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                             PriceList.name == "Particuliers")).one()
        before = sorted((p.wine_id, p.amount_cents) for p in price_list.prices)
        wine_ids = [w for w, _ in before]
    data = {"name": "Particuliers", "prices_include_vat": "ttc", "cash_discount": "0"}
    data.update({f"price-{w}": "99,00" for w in wine_ids})
    data[f"price-{wine_ids[0]}"] = "douze"
    response = client.post(f"/gestion/{SLUG}/tarifs/{price_list.id}", data=data)
    assert response.status_code == 422
    assert "Certains prix sont invalides : rien n'a été enregistré." in text_of(response)
    with session_for(app) as session:
        assert sorted((p.wine_id, p.amount_cents) for p in session.get(PriceList, price_list.id).prices) == before
