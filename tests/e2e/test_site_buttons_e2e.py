""""Sur votre site" in a real browser: the back-office page with its previews raises no
CSP violation and its preview looks like the snippet; a visitor following a "Commander
— directement au panier" link adds the wine with one click, JavaScript off."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from services.demo import DEMO_PASSWORD
from tests.conftest import first_orderable_wine
from tests.e2e.test_csp import Watched

SLUG = "domaine-de-la-vernette"


def test_the_buttons_page_previews_the_snippets_under_the_policy(browser, live_server):
    watched = Watched(browser, live_server)
    try:
        page = watched.page
        page.goto("/compte/connexion")
        page.get_by_label("Adresse email").fill("vigneron@vernette.example")
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.goto(f"/gestion/{SLUG}/boutons")
        preview = page.locator(".site-button-preview a.site-button").first
        expect(preview).to_have_text("Boutique")
        assert preview.evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(123, 30, 58)"
        snippet = page.locator("textarea#snippet-shop").input_value()
        assert "background:#7b1e3a" in snippet and snippet.startswith("<a href=")
        watched.assert_clean()
    finally:
        watched.context.close()


def test_a_cart_button_link_adds_the_wine_with_one_click_without_javascript(browser, live_server):
    wine_id, _, _ = first_orderable_wine(live_server.app, SLUG)
    context = browser.new_context(locale="fr-FR", base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/{SLUG}/commander/{wine_id}?quantite=2")
        page.get_by_role("button", name="J'ai 18 ans ou plus").click()  # the age gate, then back here
        expect(page).to_have_url(re.compile(rf"/{SLUG}/commander/{wine_id}"))
        expect(page.get_by_label("Nombre de bouteilles")).to_have_value("2")
        page.get_by_role("button", name="Ajouter au panier").click()
        expect(page).to_have_url(re.compile(rf"/{SLUG}/panier$"))
        expect(page.locator("main")).to_contain_text("2 × «")
    finally:
        context.close()
