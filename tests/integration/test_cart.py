"""The cart: adding by the order multiple or +1, quantities, rules, badge, login."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Estate, Wine
from tests.conftest import at_once, first_orderable_wine, login, session_for, text_of

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
HX = {"HX-Request": "true"}


def _badge(html: str) -> int:
    return int(re.search(r'id="cart-badge"[^>]*>\s*\S+ <span class="badge on">(\d+)</span>', html).group(1))


def test_adding_with_htmx_returns_the_form_and_an_out_of_band_badge(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="add-{wine_id}"' in html and "Ajouté au panier." in html
    assert 'hx-swap-oob="true"' in html and _badge(html) == 6
    assert response.headers["HX-Trigger"] == "cart-changed"
    assert _badge(client.get(f"/{VERNETTE}/").get_data(as_text=True)) == 6


def test_adding_without_javascript_redirects_back_with_a_message(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6", "back": f"/{VERNETTE}/"},
                           follow_redirects=True)
    assert "ajouté au panier" in text_of(response)
    assert _badge(response.get_data(as_text=True)) == 6


def test_a_wine_sold_by_six_cannot_be_added_one_by_one_without_mixing(app, client):
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == ROZEL)).one()
        assert not estate.mixing_allowed
        wine = session.scalars(select(Wine).where(Wine.estate_id == estate.id, Wine.is_visible.is_(True),
                                                  Wine.is_available.is_(True), Wine.stock >= 12)).first()
        wine.order_multiple = 6
        session.commit()
        wine_id, name = wine.id, wine.name
    response = client.post(f"/{ROZEL}/panier/ajouter/{wine_id}", data={"quantity": "1"}, headers=HX)
    assert response.status_code == 422
    assert f"« {name} » se commande par 6 bouteilles." in text_of(response)
    assert client.post(f"/{ROZEL}/panier/ajouter/{wine_id}", data={"quantity": "6"}, headers=HX).status_code == 200


def test_mixing_allows_plus_one_but_the_case_must_be_complete(app, client):
    wine_a, _, _ = first_orderable_wine(app, VERNETTE)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        assert estate.mixing_allowed and estate.case_size == 6
    client.post(f"/{VERNETTE}/panier/ajouter/{wine_a}", data={"quantity": "5"})
    page = text_of(client.get(f"/{VERNETTE}/panier"))
    assert "Les cartons panachés sont de 6 bouteilles : ajoutez encore 1 bouteille(s)." in page
    assert 'id="checkout-link"' not in page
    assert client.get(f"/{VERNETTE}/commande").status_code == 302
    client.post(f"/{VERNETTE}/panier/ajouter/{wine_a}", data={"quantity": "1"})
    assert 'id="checkout-link"' in client.get(f"/{VERNETTE}/panier").get_data(as_text=True)


def test_stock_and_availability_are_enforced(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=4)
    response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}, headers=HX)
    assert response.status_code == 422 and "Il ne reste que 4 bouteilles" in text_of(response)
    with session_for(app) as session:
        unavailable = session.scalars(select(Wine).join(Estate).where(Estate.slug == VERNETTE,
                                                                      Wine.is_available.is_(False))).first()
        unavailable_id = unavailable.id
    response = client.post(f"/{VERNETTE}/panier/ajouter/{unavailable_id}", data={"quantity": "6"}, headers=HX)
    assert response.status_code == 422 and "n'est pas disponible à la vente" in text_of(response)


def test_a_wine_of_another_estate_cannot_be_added(app, client):
    wine_id, _, _ = first_orderable_wine(app, ROZEL)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 404


def test_garbage_quantities_get_a_french_message(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    for value in ("", "abc", "-6", "1e9", "999999"):
        response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": value}, headers=HX)
        assert response.status_code == 422, value
        body = text_of(response)
        assert "Indiquez une quantité" in body or "Il ne reste que" in body, value


def test_quantities_change_and_lines_go_with_htmx(app, client):
    wine_id, _, unit = first_orderable_wine(app, VERNETTE)
    client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    response = client.post(f"/{VERNETTE}/panier/{wine_id}", data={"quantity": "12"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="cart-body"' in html and _badge(html) == 12
    assert f"{(unit * 12) // 100}," in html
    response = client.post(f"/{VERNETTE}/panier/{wine_id}", data={"remove": "1"}, headers=HX)
    assert "Votre panier est vide." in text_of(response) and _badge(response.get_data(as_text=True)) == 0


def test_the_minimum_order_is_enforced(app, client):
    wine_id, _, unit = first_orderable_wine(app, VERNETTE)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        estate.minimum_order_cents = unit * 6 + 100
        session.commit()
    client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    page = text_of(client.get(f"/{VERNETTE}/panier"))
    assert "Le minimum de commande est de" in page and "il manque 1,00" in page


def test_the_cart_follows_the_customer_who_logs_in(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    login(client, "client@chai.example")
    other_device = app.test_client()
    with other_device.session_transaction() as sess:
        sess["age_ok"] = True
    login(other_device, "client@chai.example")
    assert _badge(other_device.get(f"/{VERNETTE}/").get_data(as_text=True)) == 6


def test_a_verified_pro_sees_ht_totals_and_vat_in_the_cart(app, client):
    login(client, "caviste@chai.example")
    page = client.get(f"/{VERNETTE}/").get_data(as_text=True)
    wine_id = int(re.search(r'id="add-(\d+)"', page).group(1))
    client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    cart = text_of(client.get(f"/{VERNETTE}/panier"))
    assert "Prix unitaire HT" in cart and "Total HT" in cart and "TVA" in cart and "Total TTC" in cart


def test_clicks_at_once_on_one_cart_add_up(app, client):
    """Eight "Ajouter" of one visitor at the same moment (several tabs, an impatient
    double click): the cart's row lock makes each add read the quantity the previous
    one wrote, so none is lost (PostgreSQL would otherwise let two read the same)."""
    from models import CartLine

    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "1"}, headers=HX).status_code == 200
    cookie = client.get_cookie("session").value
    tabs = []
    for _ in range(8):
        tab = app.test_client()
        tab.set_cookie("session", cookie)
        tabs.append(tab)
    answers = at_once([lambda tab=tab: tab.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "1"},
                                                headers=HX).status_code for tab in tabs])
    assert answers == [200] * len(tabs)
    with session_for(app) as session:
        quantities = session.scalars(select(CartLine.quantity).where(CartLine.wine_id == wine_id)).all()
    assert quantities == [1 + len(tabs)]
