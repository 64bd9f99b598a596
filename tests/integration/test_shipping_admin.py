"""The vigneron sets the shipping grid and the delivery and payment modes."""

from __future__ import annotations

from sqlalchemy import select

from models import Estate, ShippingRate, ShippingZone
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of

SLUG = "domaine-rozel"


def _form(**extra: str) -> dict[str, str]:
    data = {"fr_metro-rows": "3", "fr_metro-0-min": "1", "fr_metro-0-price": "9,90",
            "fr_metro-1-min": "12", "fr_metro-1-price": "15", "fr_metro-2-min": "", "fr_metro-2-price": "",
            "corse-rows": "0", "eu-rows": "1", "eu-0-min": "6", "eu-0-price": "30", "world-rows": "0",
            "free_shipping_above": "200", "allows_pickup": "y", "accepts_card": "y", "accepts_cheque": "y",
            "order_prefix": "roz", "notification_email": "commandes@rozel.example", "pickup_instructions": "Au chai"}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def _grid(app):  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        return sorted((r.zone.value, r.min_bottles, r.price_cents)
                      for r in session.scalars(select(ShippingRate).where(ShippingRate.estate_id == estate.id)))


def test_the_grid_and_the_settings_are_saved(app, client):
    login(client, "vigneron@rozel.example")
    assert "Grille des frais de port" in text_of(client.get(f"/gestion/{SLUG}/livraison"))
    response = client.post(f"/gestion/{SLUG}/livraison", data=_form())
    assert response.status_code == 302
    assert _grid(app) == [("eu", 6, 3000), ("fr_metro", 1, 990), ("fr_metro", 12, 1500)]
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        assert (estate.free_shipping_above_cents, estate.order_prefix, estate.accepts_transfer,
                estate.allows_hand_delivery) == (20000, "ROZ", False, False)


def test_a_bad_grid_changes_nothing_and_says_why(app, client):
    login(client, "vigneron@rozel.example")
    before = _grid(app)
    cases = [
        (_form(**{"fr_metro-1-price": "quinze"}), "Prix invalide : écrivez par exemple 12,50."),
        (_form(**{"fr_metro-1-min": "1"}), "Deux tranches commencent au même nombre de bouteilles."),
        (_form(**{"fr_metro-1-min": "0"}), "Le nombre de bouteilles doit être un entier entre 1 et 10 000."),
        (_form(**{"fr_metro-1-min": ""}), "Indiquez à la fois le nombre de bouteilles et le prix."),
        (_form(order_prefix="R1"), "Le préfixe compte de 2 à 8 lettres"),
        (_form(accepts_card=None, accepts_cheque=None), "Gardez au moins un mode de paiement."),
        (_form(**{"fr_metro-rows": "abc"}, free_shipping_above="gratuit"), "Montant invalide"),
    ]
    for data, message in cases:
        response = client.post(f"/gestion/{SLUG}/livraison", data=data)
        assert response.status_code == 422, message
        assert message in text_of(response), message
        assert _grid(app) == before


def test_shipping_follows_the_grid_and_is_free_above_the_threshold(app, client):
    staff = app.test_client()
    login(staff, "vigneron@rozel.example")
    staff.post(f"/gestion/{SLUG}/livraison", data=_form(free_shipping_above="100000"))
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "12"})
    summary = text_of(client.post(f"/{SLUG}/commande", data=checkout_form(token="x"),
                                  headers={"HX-Request": "true", "HX-Target": "checkout-summary"}))
    assert "Frais de port" in summary and "15,00" in summary
    corsica = text_of(client.post(f"/{SLUG}/commande", data=checkout_form(postcode="20000", token="x"),
                                  headers={"HX-Request": "true", "HX-Target": "checkout-summary"}))
    assert "Le domaine ne livre pas à cette destination" in corsica
    staff.post(f"/gestion/{SLUG}/livraison", data=_form(free_shipping_above="10"))
    free = text_of(client.post(f"/{SLUG}/commande", data=checkout_form(token="x"),
                               headers={"HX-Request": "true", "HX-Target": "checkout-summary"}))
    assert "Frais de port" not in free


def test_an_order_keeps_the_conditions_it_was_accepted_with(app, client):
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        estate.sales_conditions_export = "Conditions export : droits d'accises à la charge du destinataire."
        estate.order_prefix = "ROZ"
        estate.destination_countries = "FR BE"  # issue 15: the estate ships to Belgium
        session.commit()
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "12"})
    response = client.post(f"/{SLUG}/commande", data=checkout_form(country="BE", postcode="1000", city="Bruxelles"))
    assert response.status_code == 302
    from models import Order

    with session_for(app) as session:
        order = session.scalars(select(Order)).one()
        assert "droits d'accises" in order.sales_conditions
        assert order.shipping_zone is ShippingZone.EU


def test_the_conditions_shown_follow_the_destination(app, client):
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        estate.sales_conditions_fr = "Conditions France : livraison sous 7 jours."
        estate.sales_conditions_export = "Conditions export : droits d'accises à la charge du destinataire."
        session.commit()
    wine_id, _, _ = first_orderable_wine(app, SLUG)
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "12"})
    assert "Conditions France" in text_of(client.get(f"/{SLUG}/commande"))
    summary = text_of(client.post(f"/{SLUG}/commande", data=checkout_form(country="BE", postcode="1000", token="y"),
                                  headers={"HX-Request": "true", "HX-Target": "checkout-summary"}))
    assert "Conditions export" in summary and "Conditions France" not in summary
