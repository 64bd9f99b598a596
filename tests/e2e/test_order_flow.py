"""The heart of the product in a real browser: a visitor orders and pays with the
test card, emails with PDFs reach a real SMTP server, the vigneron works the orders
table ("Paiement reçu", "Envoyée") and the shipping email brings the invoice."""

from __future__ import annotations

import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from models import Estate, Order, Price, PriceList, Wine, utcnow
from services.demo import DEMO_PASSWORD
from tests.conftest import session_for
from tests.e2e.conftest import accept_and_place_order, fill_customer

SLUG = "domaine-de-la-vernette"
CUSTOMER = "e2e.client@example.com"


def _pdf_attachment_text(message) -> str:  # type: ignore[no-untyped-def]
    part = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    reader = PdfReader(io.BytesIO(part.get_payload(decode=True)))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u202f", " ").replace("\xa0", " ")


def _euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def _six_bottle_wine(app) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A Vernette wine sold by 6 (so one click adds 6 bottles), in stock, on "Particuliers"."""
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                               PriceList.name == "Particuliers")).one()
        wine = session.scalars(select(Wine).join(Price, Price.wine_id == Wine.id).where(
            Price.price_list_id == particuliers.id, Wine.is_visible.is_(True), Wine.is_available.is_(True),
            Wine.stock >= 60).order_by(Wine.id)).first()
        wine.order_multiple = 6
        session.commit()
        return wine.id, wine.name


def _messages_to(smtp, recipient: str, count: int):  # type: ignore[no-untyped-def]
    def mine() -> list:
        return [m for m in smtp.mailbox.messages if m["To"] == recipient]
    with smtp.mailbox._cond:
        assert smtp.mailbox._cond.wait_for(lambda: len(mine()) >= count, timeout=15), \
            f"{len(mine())} message(s) to {recipient}, expected {count}"
    return mine()


def _a_cheque_order(live_server) -> str:  # type: ignore[no-untyped-def]
    """A second customer orders by cheque over plain HTTP (CSRF token and all)."""
    client = live_server.app.test_client()
    token = lambda html: re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)  # noqa: E731
    client.post("/age", data={"answer": "yes", "csrf_token": token(client.get("/age").get_data(as_text=True))})
    wine_id, _ = _six_bottle_wine(live_server.app)
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    client.post(f"/{SLUG}/panier/ajouter/{wine_id}", data={"quantity": "6", "csrf_token": token(page)})
    form = client.get(f"/{SLUG}/commande").get_data(as_text=True)
    checkout_token = re.search(r'name="checkout_token" type="hidden" value="([^"]+)"', form).group(1)
    response = client.post(f"/{SLUG}/commande", data={
        "csrf_token": token(form), "checkout_token": checkout_token, "email": "cheque@example.com",
        "password": "un-mot-de-passe", "confirm": "un-mot-de-passe", "first_name": "Paul", "last_name": "Chèque",
        "phone": "0600000000", "street": "1 place du Marché", "postcode": "71000", "city": "Mâcon",
        "country": "FR", "delivery": "pickup", "payment_mode": "cheque", "accept_conditions": "y", "adult": "y",
        "birth_date": "1979-03-02"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_a_visitor_orders_pays_by_test_card_and_the_vigneron_ships(browser, live_server, live_smtp):
    wine_id, wine_name = _six_bottle_wine(live_server.app)
    context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()

    # The visitor: age, 6 bottles by htmx, the badge changes without a reload.
    page.goto(f"/{SLUG}/")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    expect(page.get_by_role("heading", name="Domaine de la Vernette", level=1)).to_be_visible()
    badge = page.locator("#cart-badge .badge")
    expect(badge).to_have_text("0")
    page.evaluate("window.__sameDocument = true")
    page.locator(f"#add-{wine_id}").get_by_role("button", name="Ajouter 6 bouteilles").click()
    expect(badge).to_have_text("6")
    expect(page.locator(f"#add-{wine_id}")).to_contain_text("Ajouté au panier.")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

    # Checkout as a new customer, home delivery in France, test card.
    page.locator("#cart-badge").click()
    page.get_by_role("button", name="Commander").click()
    fill_customer(page, email=CUSTOMER, first="Élise", last="Martin", phone="06 11 22 33 44",
                  street="8 quai Saint-Vincent", postcode="69001", city="Lyon")
    page.get_by_label("Livraison à domicile").check()
    expect(page.locator("#checkout-summary")).to_contain_text("Frais de port")
    page.get_by_label("Carte bancaire").check()
    accept_and_place_order(page)

    expect(page.get_by_text("MODE TEST")).to_be_visible()
    page.get_by_role("button", name="Payer avec la carte de test").click()
    expect(page.get_by_text("Paiement accepté")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Payée")
    number = re.search(r"Commande (\S+)", page.get_by_role("heading", level=1).inner_text()).group(1)
    with session_for(live_server.app) as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        total = order.total_ttc_cents
    assert order.shipping_ttc_cents > 0

    (confirmation,) = _messages_to(live_smtp, CUSTOMER, 1)
    text = _pdf_attachment_text(confirmation)
    assert number in text and _euros(total) in text
    context.close()

    # The vigneron: "Paiement reçu" on a cheque order, "Envoyée" on the card order.
    cheque_number = _a_cheque_order(live_server)
    staff = browser.new_context(locale="fr-FR", base_url=live_server.url)
    staff.set_default_timeout(15_000)
    admin = staff.new_page()
    admin.goto("/compte/connexion")
    admin.get_by_label("Adresse email").fill("vigneron@vernette.example")
    admin.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    admin.get_by_role("button", name="Se connecter").click()
    admin.goto(f"/gestion/{SLUG}/commandes")
    admin.evaluate("window.__sameDocument = true")

    cheque_row = admin.locator("tr", has_text=cheque_number)
    expect(cheque_row).to_contain_text("En attente de paiement")
    cheque_row.get_by_role("button", name="Paiement reçu").click()
    expect(admin.locator("tr", has_text=cheque_number)).to_contain_text("Payée")

    row = admin.locator("tr", has_text=number)
    expect(row).to_contain_text("Payée")
    row.get_by_label("Numéro de suivi").fill("6A00E2E")
    row.get_by_role("button", name="Envoyée").click()
    row = admin.locator("tr", has_text=number)
    expect(row).to_contain_text("Envoyée")
    expect(row).to_contain_text("Facturée")
    assert admin.evaluate("window.__sameDocument === true"), "the orders table reloaded"

    shipped = _messages_to(live_smtp, CUSTOMER, 2)[1]
    invoice_text = _pdf_attachment_text(shipped)
    assert f"F{utcnow().year}-" in invoice_text and "ACQUITTÉE" in invoice_text and _euros(total) in invoice_text
    staff.close()
