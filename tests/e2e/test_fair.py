"""A customer follows the estate's fair invitation, orders in the browser and chooses
"Retrait sur le salon …": no shipping, the pre-fair discount, the order tagged with
the fair and listed when the vigneron filters the orders table by that fair."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect
from sqlalchemy import select

from models import DeliveryKind, Estate, EstateFair, Fair, Order
from services.demo import DEMO_PASSWORD
from services.fairs import paris_date
from services.pricing import percent_of
from tests.conftest import first_orderable_wine, session_for

SLUG = "domaine-rozel"


def test_a_customer_orders_for_pickup_at_the_fair_from_the_invitation(page, browser, live_server):
    tomorrow = paris_date(datetime.now(timezone.utc)) + timedelta(days=1)
    with session_for(live_server.app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        participation = EstateFair(estate_id=estate_id, token=secrets.token_urlsafe(24), stand="E2E",
                                   prefair_discount_bp=1000,
                                   fair=Fair(name="Salon des Vignerons Indépendants", city="Lille",
                                             venue="Grand Palais", starts_on=tomorrow,
                                             ends_on=tomorrow + timedelta(days=2)))
        session.add(participation)
        session.commit()
        participation_id, token = participation.id, participation.token
    wine_id, _, unit = first_orderable_wine(live_server.app, SLUG)
    label = "Retrait sur le salon Salon des Vignerons Indépendants (Lille, stand E2E)"

    page.goto(f"/{SLUG}/salon/{token}")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Salon des Vignerons Indépendants")
    expect(page.locator("article")).to_contain_text("Grand Palais")
    page.get_by_role("button", name="Commander avec retrait sur le salon").click()
    page.locator(f"#add-{wine_id}").get_by_role("button").first.click()
    expect(page.locator("#cart-badge .badge")).not_to_have_text("0")
    page.locator("#cart-badge").click()
    page.get_by_role("button", name="Commander").click()

    page.get_by_label("Adresse email").fill("salon.e2e@example.com")
    page.get_by_label("Choisissez un mot de passe").fill("un-mot-de-passe")
    page.get_by_label("Confirmez le mot de passe").fill("un-mot-de-passe")
    page.get_by_label("Prénom").fill("Lucie")
    page.get_by_label("Nom", exact=True).fill("Salonnière")
    page.get_by_label("Téléphone").fill("06 01 02 03 04")
    page.get_by_label("Adresse", exact=True).fill("5 rue Nationale")
    page.locator("#postcode").fill("59000")
    page.get_by_label("Commune").first.fill("Lille")
    page.get_by_label(label).check()
    summary = page.locator("#checkout-summary")
    expect(summary).to_contain_text("Tarif pré-salon -10 %")
    expect(summary).not_to_contain_text("Frais de port")
    page.get_by_label("Chèque").check()
    page.get_by_label("J'ai lu et j'accepte les conditions générales de vente").check()
    page.get_by_label("Date de naissance").fill("1990-10-01")
    page.get_by_label("Je certifie avoir 18 ans ou plus").check()
    page.get_by_role("button", name="Valider la commande").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Commande")
    number = re.search(r"Commande (\S+)", page.get_by_role("heading", level=1).inner_text()).group(1)
    with session_for(live_server.app) as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        assert order.delivery_kind is DeliveryKind.FAIR and order.estate_fair_id == participation_id
        assert order.delivery_label == label and order.shipping_ttc_cents == 0
        assert [line.label for line in order.lines if line.kind == "discount"] == ["Tarif pré-salon -10 %"]
        bottles = sum(line.quantity for line in order.lines if line.kind == "goods")
        assert order.total_ttc_cents == unit * bottles - percent_of(unit * bottles, 1000)

    staff = browser.new_context(locale="fr-FR", base_url=live_server.url)
    staff.set_default_timeout(15_000)
    admin = staff.new_page()
    admin.goto("/compte/connexion")
    admin.get_by_label("Adresse email").fill("vigneron@rozel.example")
    admin.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    admin.get_by_role("button", name="Se connecter").click()
    admin.goto(f"/gestion/{SLUG}/commandes")
    admin.get_by_label("Salon", exact=True).select_option(str(participation_id))
    expect(admin).to_have_url(re.compile(rf"salon={participation_id}"))
    expect(admin.locator("#orders-table")).to_contain_text(number)
    staff.close()
