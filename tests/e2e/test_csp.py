"""The Content-Security-Policy in a real browser: Chromium reports no violation on the
main flows (estate page with its video, add to cart with htmx, checkout and the card
payment page, the back-office orders table and its htmx buttons, the two-factor QR
code), htmx still works, and an inline script is indeed blocked.

Violations are seen two ways: Chromium's console message ("… violates the following
Content Security Policy directive …", for this site's pages only), and a
``securitypolicyviolation`` listener that an init script installs in every page."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Order
from services.demo import DEMO_PASSWORD
from tests.conftest import first_orderable_wine, session_for
from tests.e2e.conftest import accept_and_place_order, fill_customer

SLUG = "domaine-de-la-vernette"

LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' ' + (event.blockedURI || 'inline'));
});
"""


class Watched:
    """A browser context whose pages report every CSP violation of this site."""

    def __init__(self, browser, live_server) -> None:  # type: ignore[no-untyped-def]
        self.origin = live_server.url
        self.context = browser.new_context(locale="fr-FR", base_url=live_server.url)
        self.context.set_default_timeout(15_000)
        self.context.add_init_script(LISTENER)
        self.console: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", self._on_console)

    def _on_console(self, message) -> None:  # type: ignore[no-untyped-def]
        url = (message.location or {}).get("url", "")
        if "Content Security Policy" in message.text and (url.startswith(self.origin) or not url):
            self.console.append(message.text)

    def listened(self) -> list[str]:
        """Violations the listener saw in the current document."""
        return self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self) -> None:
        assert self.console == [], self.console
        assert self.listened() == [], self.listened()


@pytest.fixture
def watched(browser, live_server):  # type: ignore[no-untyped-def]
    watch = Watched(browser, live_server)
    yield watch
    watch.context.close()


def _poll(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _past_the_age_gate(page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/{SLUG}/")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    expect(page.get_by_role("heading", name="Domaine de la Vernette", level=1)).to_be_visible()


def test_the_detection_works_an_injected_inline_script_and_style_are_blocked(watched):
    page = watched.page
    _past_the_age_gate(page)
    watched.assert_clean()

    page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.__inlineRan = true;';
        document.head.appendChild(script);
        document.querySelector('h1').setAttribute('style', 'color: rgb(0, 128, 0)');
    }""")
    assert _poll(lambda: len(watched.listened()) >= 2), watched.listened()
    assert page.evaluate("window.__inlineRan === undefined")
    assert any(v.startswith("script-src") for v in watched.listened())
    assert any(v.startswith("style-src") for v in watched.listened())
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") != "rgb(0, 128, 0)"
    assert _poll(lambda: len(watched.console) >= 2), watched.console

    # Markup written into a page of this site runs under its policy too.
    watched.console.clear()
    page.set_content('<p id="x">x</p><script>window.__written = true;</script>')
    assert page.evaluate("window.__written === undefined")
    assert _poll(lambda: any("script-src" in text for text in watched.console)), watched.console


def test_estate_page_and_add_to_cart_with_htmx_raise_no_violation(watched, live_server):
    wine_id, _, _ = first_orderable_wine(live_server.app, SLUG)
    page = watched.page
    _past_the_age_gate(page)
    expect(page.locator(".estate-video iframe")).to_have_count(1)  # the demo's YouTube video
    page.evaluate("window.__sameDocument = true")
    badge = page.locator("#cart-badge .badge")
    before = int(badge.inner_text())
    page.locator(f"#add-{wine_id}").get_by_role("button").first.click()
    expect(badge).to_have_text(str(before + 1))
    expect(page.locator(f"#add-{wine_id}")).to_contain_text("Ajouté au panier.")
    assert page.evaluate("window.__sameDocument === true"), "htmx did not swap: the page reloaded"
    watched.assert_clean()


def test_checkout_and_the_card_payment_page_raise_no_violation(watched, live_server):
    wine_id, _, unit_cents = first_orderable_wine(live_server.app, SLUG)
    page = watched.page
    _past_the_age_gate(page)
    quantity = 6 * max(1, -(-6000 // (6 * unit_cents)))  # whole cases of 6, and the estate's 60 € minimum
    for n in range(1, quantity + 1):
        page.locator(f"#add-{wine_id}").get_by_role("button").first.click()
        expect(page.locator("#cart-badge .badge")).to_have_text(str(n))
    watched.assert_clean()

    page.locator("#cart-badge").click()
    page.get_by_role("button", name="Commander").click()
    expect(page.locator("#checkout-form")).to_be_visible()
    watched.assert_clean()
    fill_customer(page, email="csp.client@example.com", first="Inès", last="Morel", phone="06 22 33 44 55",
                  street="2 rue du Pressoir", postcode="21200", city="Beaune")
    page.get_by_label("Livraison à domicile").check()
    expect(page.locator("#checkout-summary")).to_contain_text("Frais de port")  # the htmx recalculation
    page.get_by_label("Carte bancaire").check()
    watched.assert_clean()
    accept_and_place_order(page)

    # form-action lets the checkout's POST end on the payment page (another origin)
    expect(page).to_have_url(re.compile(r"/sandbox/pay/"))
    assert not page.url.startswith(live_server.url)
    page.get_by_role("button", name="Payer avec la carte de test").click()
    expect(page.get_by_text("Paiement accepté")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Payée")
    watched.assert_clean()


def _a_cheque_order(live_server) -> str:  # type: ignore[no-untyped-def]
    """A customer orders by cheque over HTTP (CSRF token and all); its number."""
    client = live_server.app.test_client()
    token = lambda html: re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)  # noqa: E731
    client.post("/age", data={"answer": "yes", "csrf_token": token(client.get("/age").get_data(as_text=True))})
    wine_id, _, unit_cents = first_orderable_wine(live_server.app, SLUG)
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}",
                data={"quantity": str(6 * max(1, -(-6000 // (6 * unit_cents)))), "csrf_token": token(page)})
    form = client.get(f"/{SLUG}/commande").get_data(as_text=True)
    checkout_token = re.search(r'name="checkout_token" type="hidden" value="([^"]+)"', form).group(1)
    response = client.post(f"/{SLUG}/commande", data={
        "csrf_token": token(form), "checkout_token": checkout_token, "email": "csp.cheque@example.com",
        "password": "un-mot-de-passe", "confirm": "un-mot-de-passe", "first_name": "Luc", "last_name": "Valat",
        "phone": "0600000001", "street": "1 place du Marché", "postcode": "71000", "city": "Mâcon",
        "country": "FR", "delivery": "pickup", "payment_mode": "cheque", "accept_conditions": "y", "adult": "y",
        "birth_date": "1979-03-02"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_back_office_orders_table_and_its_htmx_buttons_raise_no_violation(watched, live_server):
    number = _a_cheque_order(live_server)
    page = watched.page
    page.goto("/compte/connexion")
    page.get_by_label("Adresse email").fill("vigneron@vernette.example")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/gestion/{SLUG}/commandes")
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Statut").select_option("pending_payment")  # hx-get on change, with hx-push-url
    expect(page).to_have_url(re.compile(r"statut=pending_payment"))
    row = page.locator("tr", has_text=number)
    expect(row).to_contain_text("En attente de paiement")
    row.get_by_role("button", name="Paiement reçu").click()  # hx-post, the row swaps itself
    expect(page.locator("tr", has_text=number)).to_contain_text("Payée")
    assert page.evaluate("window.__sameDocument === true"), "the orders table reloaded"
    with session_for(live_server.app) as session:
        assert session.scalars(select(Order.status).where(Order.number == number)).one().value == "paid"
    watched.assert_clean()


def test_the_two_factor_qr_code_shows_under_the_policy(watched, live_server):
    page = watched.page
    page.goto("/compte/connexion")
    page.get_by_label("Adresse email").fill("client@chai.example")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto("/compte/double-authentification")
    page.get_by_role("button", name="Activer la double authentification").click()
    qr_code = page.locator(".totp-qr img")
    expect(qr_code).to_be_visible()
    assert _poll(lambda: qr_code.evaluate("img => img.complete && img.naturalWidth > 0"))
    watched.assert_clean()
