"""Wine e-labels (issue 15, EU 2021/2117): no visible wine without its alcohol, volume and
allergens, whatever the path; the information on the wine page before purchase; the
public label page (no price, no cookie) and its QR code, decoded for real."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from models import Estate, Price, PriceList, Wine
from services import page_cache
from tests.conftest import login, session_for, text_of, visitor

VERNETTE = "domaine-de-la-vernette"
ROZEL = "domaine-rozel"
HX = {"HX-Request": "true"}
REFUSED = "Pour rendre ce vin visible, indiquez : le degré d'alcool, les allergènes."


def _wine(app, reference: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(wine id, id of its estate's "Particuliers" list) of a demo wine."""
    with session_for(app) as session:
        wine = session.scalars(select(Wine).where(Wine.reference == reference)).one()
        list_id = session.scalar(select(PriceList.id).where(PriceList.estate_id == wine.estate_id,
                                                            PriceList.name == "Particuliers"))
        return wine.id, list_id


def _set(app, wine_id: int, **values) -> None:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        wine = session.get(Wine, wine_id)
        for name, value in values.items():
            setattr(wine, name, value)
        session.commit()


def _stored(app, wine_id: int) -> dict:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        wine = session.get(Wine, wine_id)
        prices = session.scalars(select(Price.amount_cents).where(Price.wine_id == wine_id).order_by(Price.id)).all()
        names = ("name", "is_visible", "alcohol_permille", "volume_ml", "allergens", "ingredients", "energy_kj",
                 "energy_kcal", "fat_dg", "saturates_dg", "carbohydrate_dg", "sugars_dg", "protein_dg", "salt_dg",
                 "origin", "bottler", "stock")
        return {name: getattr(wine, name) for name in names} | {"prices": prices}


def _vat_id(page: str) -> str:
    return re.search(r'<option (?:selected )?value="(\d+)"[^>]*>TVA 20', page).group(1)


def _form(vat_id: str, **overrides: str | None) -> dict[str, str]:
    data = {"name": "Cuvée Étiquette", "colour": "rouge", "appellation": "Beaujolais", "vintage": "2024",
            "volume_ml": "750", "order_multiple": "1", "stock": "60", "vat_rate_id": vat_id, "alcohol": "13",
            "is_available": "y", "is_visible": "y", "available_again_month": "0",
            "allergens": "Contient des sulfites", "ingredients": "Raisins ; conservateur : sulfites",
            "energy_kj": "", "energy_kcal": "85", "fat": "0", "saturates": "0", "carbohydrate": "0,6",
            "sugars": "0,2", "protein": "0,1", "salt": "0", "origin": "Produit de France", "bottler": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _new_wine_id(app, name: str) -> int | None:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalar(select(Wine.id).where(Wine.name == name))


# ------------------------------------------------------------------ the rule


def test_a_new_wine_without_alcohol_and_allergens_is_refused_when_visible_and_nothing_is_created(app, client):
    login(client, "vigneron@vernette.example")
    vat_id = _vat_id(client.get(f"/gestion/{VERNETTE}/vins/nouveau").get_data(as_text=True))
    response = client.post(f"/gestion/{VERNETTE}/vins/nouveau", data=_form(vat_id, alcohol="", allergens=" "))
    assert response.status_code == 422
    assert REFUSED in text_of(response)
    assert _new_wine_id(app, "Cuvée Étiquette") is None


def test_a_hidden_draft_may_lack_its_label_then_is_refused_until_complete_and_then_shown(app, client):
    login(client, "vigneron@vernette.example")
    vat_id = _vat_id(client.get(f"/gestion/{VERNETTE}/vins/nouveau").get_data(as_text=True))
    draft = _form(vat_id, alcohol="", allergens="", is_visible=None)
    assert client.post(f"/gestion/{VERNETTE}/vins/nouveau", data=draft).status_code == 302
    wine_id = _new_wine_id(app, "Cuvée Étiquette")
    before = _stored(app, wine_id)
    assert before["is_visible"] is False and before["allergens"] == ""

    response = client.post(f"/gestion/{VERNETTE}/vins/{wine_id}",
                           data=dict(draft, is_visible="y", name="Autre nom", stock="5"))
    assert response.status_code == 422
    assert REFUSED in text_of(response)
    assert _stored(app, wine_id) == before  # not even the name

    response = client.post(f"/gestion/{VERNETTE}/vins/{wine_id}", data=dict(draft, is_visible="y", alcohol="12,5"))
    assert response.status_code == 422
    assert "Pour rendre ce vin visible, indiquez : les allergènes." in text_of(response)
    assert _stored(app, wine_id) == before

    response = client.post(f"/gestion/{VERNETTE}/vins/{wine_id}", data=_form(vat_id))
    assert response.status_code == 302
    stored = _stored(app, wine_id)
    assert stored["is_visible"] is True
    assert (stored["alcohol_permille"], stored["volume_ml"], stored["allergens"]) == (130, 750, "Contient des sulfites")
    # "0,6" g is stored in tenths of a gram; kJ computed from the kcal given alone
    assert (stored["energy_kj"], stored["energy_kcal"], stored["carbohydrate_dg"], stored["sugars_dg"],
            stored["protein_dg"], stored["salt_dg"], stored["fat_dg"]) == (356, 85, 6, 2, 1, 0, 0)
    form = text_of(client.get(f"/gestion/{VERNETTE}/vins/{wine_id}"))  # shown back as typed
    assert re.search(r'<input id="carbohydrate"[^>]* value="0,6"', form)
    assert re.search(r'<input id="salt"[^>]* value="0"', form)
    assert re.search(r'<input id="energy_kj"[^>]* value="356"', form)
    assert 'placeholder="EARL Domaine de la Vernette, 214 route des Thorins, 71570 Romanèche-Thorins"' in form


def test_the_wines_table_row_refuses_to_show_a_wine_without_its_label_and_changes_nothing(app, client):
    wine_id, list_id = _wine(app, "VER-BJC-24")  # the demo's hidden "Cuvée Comptoir", no Particuliers price
    _set(app, wine_id, allergens="", alcohol_permille=None)
    before = _stored(app, wine_id)
    login(client, "vigneron@vernette.example")
    url = f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}"
    data = {"price": "9,90", "promo_price": "", "vintage": "2024", "stock": "12", "is_available": "y",
            "available_again_month": "0", "available_again_year": "", "is_visible": "y"}
    response = client.post(url, data=data, headers=HX)
    assert response.status_code == 422
    body = text_of(response)
    assert 'class="editing"' in body and REFUSED in body
    assert _stored(app, wine_id) == before  # no price set, no stock changed

    _set(app, wine_id, allergens="Contient des sulfites", alcohol_permille=125)
    response = client.post(url, data=data, headers=HX)
    assert response.status_code == 200
    stored = _stored(app, wine_id)
    assert stored["is_visible"] is True and stored["stock"] == 12 and 990 in stored["prices"]


def test_a_wine_visible_before_the_rule_stays_visible_is_flagged_and_may_not_lose_more(app, client):
    wine_id, list_id = _wine(app, "VER-MOR-22")
    _set(app, wine_id, allergens="")  # visible, from before the e-label
    login(client, "vigneron@vernette.example")
    table = text_of(client.get(f"/gestion/{VERNETTE}/vins"))
    row = table[table.index(f'id="wine-{wine_id}"'):]
    assert "Étiquette incomplète" in row[:row.index("</tr>")]
    assert table.count("Étiquette incomplète") == 1  # every demo wine has its label

    # the row still saves a price with the wine shown, the shop keeps it
    data = {"price": "21,00", "promo_price": "", "vintage": "2022", "stock": "40", "is_available": "y",
            "available_again_month": "0", "available_again_year": "", "is_visible": "y"}
    assert client.post(f"/gestion/{VERNETTE}/vins/{wine_id}/modifier?tarif={list_id}", data=data,
                       headers=HX).status_code == 200
    assert _stored(app, wine_id)["is_visible"] is True
    assert client.get(f"/{VERNETTE}/vin/{wine_id}").status_code == 200

    # the form saves it as it is, but refuses to take its alcohol away too
    form_page = client.get(f"/gestion/{VERNETTE}/vins/{wine_id}").get_data(as_text=True)
    assert "Étiquette incomplète" in text_of(client.get(f"/gestion/{VERNETTE}/vins/{wine_id}"))
    vat_id = re.search(r'<option selected value="(\d+)"', form_page).group(1)
    data = _form(vat_id, name="Morgon « Côte du Py »", vintage="2022", allergens="", alcohol="13,5")
    assert client.post(f"/gestion/{VERNETTE}/vins/{wine_id}", data=data).status_code == 302
    before = _stored(app, wine_id)
    response = client.post(f"/gestion/{VERNETTE}/vins/{wine_id}", data=dict(data, alcohol="", stock="1"))
    assert response.status_code == 422
    assert "Pour que ce vin reste visible, indiquez : le degré d'alcool, les allergènes." in text_of(response)
    assert _stored(app, wine_id) == before


def test_bad_label_values_get_french_messages_and_change_nothing(app, client):
    wine_id, _ = _wine(app, "VER-MOR-22")
    before = _stored(app, wine_id)
    login(client, "vigneron@vernette.example")
    vat_id = _vat_id(client.get(f"/gestion/{VERNETTE}/vins/{wine_id}").get_data(as_text=True))
    cases = [
        ({"alcohol": "40"}, "Le degré d'alcool d'un vin est compris entre 0,5 et 25 % vol."),
        ({"alcohol": "0,2"}, "Le degré d'alcool d'un vin est compris entre 0,5 et 25 % vol."),
        ({"sugars": "-1"}, "Valeur invalide : écrivez des grammes pour 100 ml"),
        ({"salt": "0,15"}, "une décimale au plus"),
        ({"fat": "beaucoup"}, "Valeur invalide"),
        ({"protein": "150"}, "au plus 100 g pour 100 ml"),
        ({"fat": "0,1", "saturates": "0,5"}, "Les acides gras saturés ne peuvent pas dépasser les matières grasses."),
        ({"carbohydrate": "0,2", "sugars": "3"}, "Les sucres ne peuvent pas dépasser les glucides."),
        ({"energy_kj": "100", "energy_kcal": "85"}, "100 kJ ne font pas 85 kcal : 1 kcal = 4,184 kJ."),
        ({"energy_kcal": "-5"}, "Énergie invalide : entre 0 et 500 kcal pour 100 ml."),
        ({"energy_kj": "99999", "energy_kcal": ""}, "Énergie invalide : entre 0 et 2 100 kJ pour 100 ml."),
        ({"volume_ml": "5"}, "Contenance invalide."),
        ({"allergens": "x" * 300}, "Field cannot be longer than 255 characters."),
    ]
    for overrides, message in cases:
        response = client.post(f"/gestion/{VERNETTE}/vins/{wine_id}", data=_form(vat_id, **overrides))
        assert response.status_code == 422, overrides
        body = text_of(response)
        if message.startswith("Field cannot"):  # WTForms' own message, in French
            assert "255" in body, overrides
        else:
            assert message in body, overrides
        assert "Not a valid" not in body
        assert _stored(app, wine_id) == before, overrides


def test_the_sulfites_button_fills_the_allergens_field_keeping_what_was_typed(client):
    login(client, "vigneron@vernette.example")
    form = client.get(f"/gestion/{VERNETTE}/vins/nouveau").get_data(as_text=True)
    assert 'hx-get="/gestion/domaine-de-la-vernette/vins/allergenes-sulfites"' in form
    response = client.get(f"/gestion/{VERNETTE}/vins/allergenes-sulfites?allergens=", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="allergens-field"') and 'value="Contient des sulfites"' in html
    typed = text_of(client.get(f"/gestion/{VERNETTE}/vins/allergenes-sulfites?allergens=%C5%93uf", headers=HX))
    assert 'value="Contient des sulfites, œuf"' in typed
    kept = text_of(client.get(f"/gestion/{VERNETTE}/vins/allergenes-sulfites?allergens=Sulfites", headers=HX))
    assert 'value="Sulfites"' in kept


# ------------------------------------------------------------------ the shop


def test_the_wine_page_shows_the_mandatory_information_before_the_add_to_cart_button(app):
    wine_id, _ = _wine(app, "VER-MOR-22")
    page = text_of(visitor(app).get(f"/{VERNETTE}/vin/{wine_id}"))
    button = page.index('class="add-form"')
    for shown in ("13,5 % vol.", "75 cl", "<strong class=\"allergens\">Contient des sulfites</strong>",
                  "Raisins ; conservateur : anhydride sulfureux (sulfites)", "364 kJ / 87 kcal",
                  f'href="/{VERNETTE}/vin/{wine_id}/etiquette"'):
        assert shown in page, shown
        assert page.index(shown) < button, shown


def test_the_estate_page_card_shows_alcohol_and_allergens_before_its_add_button(app):
    wine_id, _ = _wine(app, "VER-MOR-22")
    page = text_of(visitor(app).get(f"/{VERNETTE}/"))
    card = page[page.index(f'id="vin-{wine_id}"'):]
    card = card[:card.index("</article>")]
    button = card.index('class="add-form"')
    for shown in ("13,5 % vol.", "<strong>Contient des sulfites</strong>", f'href="/{VERNETTE}/vin/{wine_id}/etiquette"'):
        assert 0 <= card.index(shown) < button, shown


def test_the_order_button_page_shows_the_label_before_its_button_too(app):
    wine_id, _ = _wine(app, "VER-MOR-22")
    page = text_of(visitor(app).get(f"/{VERNETTE}/commander/{wine_id}?quantite=6"))
    button = page.index('class="order-button-form"')
    for shown in ('<strong class="allergens">Contient des sulfites</strong>', "364 kJ / 87 kcal",
                  f'href="/{VERNETTE}/vin/{wine_id}/etiquette"'):
        assert 0 <= page.index(shown) < button, shown


def test_the_group_shop_shows_each_wines_alcohol_allergens_and_label_link(app):
    from tests.integration.test_group_shop import _member, _setup, _shop

    setup = _setup(app)  # a distribution where both estates sell a wine
    page = text_of(_member(app).get(f"{_shop(setup)}/boutique"))
    offers = dict(re.findall(r'<tr id="offer-(\d+)">(.*?)</tr>', page, re.S))
    assert set(offers) == {str(wine_id) for wine_id in setup.wines.values()}
    for slug, wine_id in setup.wines.items():
        row = offers[str(wine_id)]
        assert "% vol." in row and "<strong>Contient des sulfites</strong>" in row, slug
        assert f'href="/{slug}/vin/{wine_id}/etiquette"' in row, slug


def test_the_kept_wine_page_shows_a_changed_label_at_once(app):
    wine_id, _ = _wine(app, "VER-MOR-22")
    client = visitor(app)
    assert "Contient des sulfites</strong>" in text_of(client.get(f"/{VERNETTE}/vin/{wine_id}"))  # kept
    _set(app, wine_id, allergens="Contient des sulfites, œuf", energy_kcal=90)
    page = text_of(client.get(f"/{VERNETTE}/vin/{wine_id}"))
    assert "Contient des sulfites, œuf</strong>" in page and "/ 90 kcal" in page
    page_cache.clear(app)
    assert text_of(client.get(f"/{VERNETTE}/vin/{wine_id}")) == page


# ------------------------------------------------------------------ the e-label page


def test_the_label_page_has_the_nutrition_table_no_price_no_cart_and_sets_no_cookie(app):
    wine_id, _ = _wine(app, "VER-MOR-22")
    fresh = app.test_client()  # straight from a bottle's QR code: no session, no age confirmation
    response = fresh.get(f"/{VERNETTE}/vin/{wine_id}/etiquette")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    page = text_of(response)
    table = page[page.index('<table class="nutrition">'):page.index("</table>")]
    for row in ("Énergie</th><td>364 kJ / 87 kcal", "Matières grasses</th><td>0 g",
                "dont acides gras saturés</th><td>0 g", "Glucides</th><td>0,6 g", "dont sucres</th><td>0,2 g",
                "Protéines</th><td>0,1 g", "Sel</th><td>0 g"):
        assert row in table, row
    for shown in ("Morgon « Côte du Py » 2022", "Rouge · Morgon", "13,5 % vol.", "75 cl",
                  '<strong class="allergens">Contient des sulfites</strong>', "Produit de France",
                  "EARL Domaine de la Vernette, 214 route des Thorins, 71570 Romanèche-Thorins"):
        assert shown in page, shown
    for absent in ("€", "panier", "Ajouter", "<form", "<script", "csrf", "Se connecter", "Mon compte"):
        assert absent not in page, absent


def test_a_signed_in_visitor_gets_no_cookie_either(app, client, monkeypatch):
    from services import security

    wine_id, _ = _wine(app, "VER-MOR-22")
    login(client, "client@chai.example")
    later = security.now() + 10 * security.TOUCH_EVERY  # any other page would write "seen at" now
    monkeypatch.setattr(security, "now", lambda: later)
    assert "Set-Cookie" in client.get(f"/{VERNETTE}/").headers
    monkeypatch.setattr(security, "now", lambda: later + 10 * security.TOUCH_EVERY)
    for path in ("etiquette", "etiquette/qr.svg", "etiquette/qr.png"):
        response = client.get(f"/{VERNETTE}/vin/{wine_id}/{path}")
        assert response.status_code == 200 and "Set-Cookie" not in response.headers, path
    assert "Mon compte" not in text_of(client.get(f"/{VERNETTE}/vin/{wine_id}/etiquette"))


def test_a_hidden_wine_has_its_label_and_an_incomplete_one_shows_what_it_has(app):
    wine_id, _ = _wine(app, "VER-BJC-24")  # hidden from the shop
    client = app.test_client()
    assert client.get(f"/{VERNETTE}/vin/{wine_id}").status_code in (302, 404)  # not in the shop
    page = text_of(client.get(f"/{VERNETTE}/vin/{wine_id}/etiquette"))
    assert "Beaujolais « Cuvée Comptoir » 2024" in page and "Contient des sulfites" in page

    _set(app, wine_id, allergens="", ingredients="", energy_kj=None, energy_kcal=None, fat_dg=None,
         saturates_dg=None, carbohydrate_dg=None, sugars_dg=None, protein_dg=None, salt_dg=None, origin="",
         bottler="Les Chais Réunis, 1 quai du Rhône, 69000 Lyon")
    response = client.get(f"/{VERNETTE}/vin/{wine_id}/etiquette")
    assert response.status_code == 200
    page = text_of(response)
    assert "12,5 % vol." in page and "75 cl" in page
    assert "Allergènes" not in page and "<table" not in page and "Ingrédients" not in page
    assert "Mis en bouteille par</dt><dd>Les Chais Réunis, 1 quai du Rhône, 69000 Lyon" in page


def test_another_estates_wine_or_an_unknown_id_is_a_404(app):
    rozel_wine, _ = _wine(app, "ROZ-SCH-23")
    client = app.test_client()
    for path in ("etiquette", "etiquette/qr.svg", "etiquette/qr.png"):
        assert client.get(f"/{VERNETTE}/vin/{rozel_wine}/{path}").status_code == 404, path
        assert client.get(f"/{VERNETTE}/vin/999999/{path}").status_code == 404, path
        assert client.get(f"/{ROZEL}/vin/{rozel_wine}/{path}").status_code == 200, path


# ------------------------------------------------------------------ the QR code


def _decode(image: Image.Image) -> str:
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


def _svg_image(svg: str) -> Image.Image:
    """The SVG drawn by hand: one path of 1×1 squares ("Mx,yHx+1Vy+1Hxz") in a viewBox."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    path = re.search(r'<path d="([^"]+)"', svg).group(1)
    squares = re.findall(r"M(\d+),(\d+)H\d+V\d+H\d+z", path)
    assert squares and len(squares) == path.count("M")  # nothing else drawn
    image = Image.new("L", (size * 8, size * 8), 255)
    for x, y in squares:
        image.paste(0, (int(x) * 8, int(y) * 8, int(x) * 8 + 8, int(y) * 8 + 8))
    return image


@pytest.mark.parametrize("slug,reference", [(VERNETTE, "VER-MOR-22"), (ROZEL, "ROZ-SCC-20")])
def test_the_qr_code_decodes_to_the_label_page_which_resolves(app, slug, reference):
    wine_id, _ = _wine(app, reference)
    client = app.test_client()
    expected = f"{app.config['PUBLIC_URL'].rstrip('/')}/{slug}/vin/{wine_id}/etiquette"

    png = client.get(f"/{slug}/vin/{wine_id}/etiquette/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and "Set-Cookie" not in png.headers
    assert _decode(Image.open(io.BytesIO(png.data))) == expected

    svg = client.get(f"/{slug}/vin/{wine_id}/etiquette/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and "Set-Cookie" not in svg.headers
    assert _decode(_svg_image(svg.get_data(as_text=True))) == expected

    path = expected.removeprefix(app.config["PUBLIC_URL"].rstrip("/"))
    assert client.get(path).status_code == 200


def test_the_back_office_offers_the_qr_code_to_download_for_its_own_wines_only(app):
    wine_id, _ = _wine(app, "VER-MOR-22")
    client = visitor(app)
    login(client, "vigneron@vernette.example")
    form = text_of(client.get(f"/gestion/{VERNETTE}/vins/{wine_id}"))
    assert "QR code à imprimer sur l'étiquette" in form
    assert f"{app.config['PUBLIC_URL'].rstrip('/')}/{VERNETTE}/vin/{wine_id}/etiquette" in form
    svg = client.get(f"/gestion/{VERNETTE}/vins/{wine_id}/qr-etiquette.svg")
    assert svg.status_code == 200
    assert svg.headers["Content-Disposition"] == 'attachment; filename="etiquette-VER-MOR-22.svg"'
    assert svg.data == app.test_client().get(f"/{VERNETTE}/vin/{wine_id}/etiquette/qr.svg").data
    png = client.get(f"/gestion/{VERNETTE}/vins/{wine_id}/qr-etiquette.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert _decode(Image.open(io.BytesIO(png.data))).endswith(f"/{VERNETTE}/vin/{wine_id}/etiquette")

    other = visitor(app)
    login(other, "vigneron@rozel.example")
    assert other.get(f"/gestion/{ROZEL}/vins/{wine_id}/qr-etiquette.svg").status_code == 404
    assert other.get(f"/gestion/{ROZEL}/vins/{wine_id}/qr-etiquette.png").status_code == 404


def test_every_demo_wine_has_a_complete_label(app):
    from services import elabel

    with session_for(app) as session:
        wines = session.scalars(select(Wine).join(Estate, Estate.id == Wine.estate_id)).all()
        assert wines and all(elabel.missing_of(wine) == () for wine in wines)
        assert all(wine.energy_kj is not None and wine.sugars_dg is not None and wine.ingredients for wine in wines)
