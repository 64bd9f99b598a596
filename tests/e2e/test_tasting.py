"""Issue 12's acceptance, in a real browser: Vernette's vigneron adds a seller to the team
and sets the estate's reward rules for tastings; the seller (who chose a password from the
invitation email) creates a tasting at a new host's; two guests sign up through the host's
link; the seller records an order for each, delivered to the host; closing the tasting
gives the host 10 % of the revenue in points, a gift to choose and a voucher; the host
(who also chose a password from an email) clicks "Choisir mon cadeau", picks a wine, and
an order holding it as a 0 € gift line is created; the voucher email arrives once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from models import Estate, EstateCustomer, Order, OrderLine, OrderStatus, Price, PriceList, Reward, Tasting, Wine
from services import rewards
from services.pricing import percent_of
from services.demo import DEMO_PASSWORD
from services.templating import PARIS
from services.tenancy import scope_to_estate
from tests.conftest import body_of, session_for
from tests.e2e.test_csp import Watched
from tests.e2e.test_group_purchase import _messages, _subject

SLUG = "domaine-de-la-vernette"
SELLER, HOST = "lea.conseil@example.com", "helene.hote@example.com"
GUESTS = [("Gaspard", "guest.gaspard@example.com"), ("Inès", "guest.ines@example.com")]
NEW_PASSWORD = "une phrase de passe solide"
WATCHED: list[Watched] = []


def _context(browser, live_server):  # type: ignore[no-untyped-def]
    watched = Watched(browser, live_server)
    WATCHED.append(watched)
    return watched.page


def _adult(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")  # the platform's pages ask the age once per session
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()


def _log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto("/compte/connexion")
    page.get_by_label("Adresse email").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def choose_password(page, smtp, email: str, subject: str = "vous ouvre sa boutique", *,  # type: ignore[no-untyped-def]
                    log_in: bool = True) -> None:
    """The invitation email's link lets a new person choose their password (then log in)."""
    mail = _messages(smtp, lambda m: m["To"] == email and subject in _subject(m))[0]
    link = re.search(r"http://\S+/compte/reinitialiser/\S+", body_of(mail)).group(0)
    page.goto(link)
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Votre mot de passe est changé")).to_be_visible()
    if log_in:
        _log_in(page, email, NEW_PASSWORD)


def _wines(app) -> dict[str, tuple[int, str, int]]:  # type: ignore[no-untyped-def]
    """Two wines and their "Particuliers" price now (another browser test edits prices)."""
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                               PriceList.name == "Particuliers")).one()
        return {wine.reference: (wine.id, wine.name, price.effective_cents) for wine, price in session.execute(
            select(Wine, Price).join(Price, Price.wine_id == Wine.id).where(
                Wine.estate_id == estate.id, Price.price_list_id == particuliers.id,
                Wine.reference.in_(("VER-MOR-22", "VER-FLE-23"))))}


def _add_rule(page, action: str, reward: str, **fields: str | list[str]) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/gestion/{SLUG}/fidelite/reunions")
    page.locator("#action").select_option(label=action)
    page.locator("#reward").select_option(label=reward)
    if "percent" in fields:
        page.locator("#percent").fill(fields["percent"])  # type: ignore[arg-type]
    if "amount" in fields:
        page.locator("#amount").fill(fields["amount"])  # type: ignore[arg-type]
    for wine_id in fields.get("wines", []):
        page.locator(f'input[name="wine_ids"][value="{wine_id}"]').check()
    page.get_by_role("button", name="Ajouter la règle").click()
    expect(page.get_by_role("status")).to_contain_text("La règle est ajoutée")


def test_a_home_tasting_from_the_team_to_the_hosts_gift(browser, live_server, live_smtp):
    app = live_server.app
    WATCHED.clear()
    wines = _wines(app)
    morgon_id, _, morgon_cents = wines["VER-MOR-22"]
    fleurie_id, fleurie_name, fleurie_cents = wines["VER-FLE-23"]
    revenue = 6 * morgon_cents + 6 * fleurie_cents  # 210,00 € at the demo's prices
    points = percent_of(revenue, 1000)  # 10 %, one point per cent

    # 1. The vigneron adds a seller to the team and sets the reward rules for tastings.
    manager = _context(browser, live_server)
    _log_in(manager, "vigneron@vernette.example")
    manager.goto(f"/gestion/{SLUG}/equipe")
    manager.get_by_label("Adresse email").fill(SELLER)
    manager.get_by_label("Prénom").fill("Léa")
    manager.get_by_label("Nom", exact=True).fill("Conseil")
    manager.locator("#role").select_option(label="Conseiller (vendeur)")
    manager.get_by_role("button", name="Ajouter à l'équipe").click()
    expect(manager.get_by_role("cell", name=SELLER)).to_be_visible()
    _add_rule(manager, "Être hôte de la réunion", "Points : un pourcentage du chiffre d'affaires", percent="10")
    _add_rule(manager, "Être hôte de la réunion", "Cadeau : un produit au choix dans une liste",
              wines=[str(morgon_id), str(fleurie_id)])
    _add_rule(manager, "Être hôte de la réunion", "Bon d'achat", amount="10")

    # 2. The seller chooses a password from the invitation email and creates a tasting.
    seller = _context(browser, live_server)
    choose_password(seller, live_smtp, SELLER)
    assert seller.goto(f"/gestion/{SLUG}/commandes").status == 404  # a seller's back office: the tastings only
    seller.goto(f"/gestion/{SLUG}/reunions")
    day = (datetime.now(PARIS) + timedelta(days=7)).date()
    seller.get_by_label("Email de l'hôte").fill(HOST)
    seller.get_by_label("Prénom de l'hôte").fill("Hélène")
    seller.get_by_label("Nom de l'hôte", exact=True).fill("Hôte")
    seller.get_by_label("Date", exact=True).fill(day.isoformat())
    seller.get_by_label("Heure (heure de Paris)").fill("19:30")
    seller.get_by_label("Lieu", exact=True).fill("12 rue du Plat, 69002 Lyon")
    seller.get_by_role("button", name="Créer la réunion").click()
    expect(seller.get_by_role("heading", name="Réunion chez Hélène Hôte")).to_be_visible()
    tasting_url = seller.url
    invitation = seller.get_by_label("Lien d’invitation").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/{SLUG}/reunion/[\w-]+", invitation)
    host_mail = _messages(live_smtp, lambda m: m["To"] == HOST and "Votre réunion du" in _subject(m))[0]
    assert invitation in body_of(host_mail)

    # 3. Two guests sign up through the host's link.
    for first_name, email in GUESTS:
        guest = _context(browser, live_server)
        _adult(guest)
        guest.goto(invitation)
        guest.get_by_label("Prénom").fill(first_name)
        guest.get_by_label("Nom", exact=True).fill("Invité")
        guest.get_by_label("Adresse email").fill(email)
        guest.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
        guest.get_by_label("Confirmez le mot de passe").fill(NEW_PASSWORD)
        guest.get_by_label("Je certifie avoir 18 ans ou plus").check()
        guest.get_by_role("button", name="Créer mon compte et participer").click()
        expect(guest.get_by_text("Vous participez à cette réunion.")).to_be_visible()

    # 4. The seller records an order for each guest, delivered to the host, paid by cheque.
    numbers = []
    for (first_name, email), wine_id in zip(GUESTS, (morgon_id, fleurie_id)):
        seller.goto(tasting_url)
        seller.get_by_role("row", name=re.compile(first_name)).get_by_role("link", name="Commande").click()
        expect(seller.get_by_text(f"Commande pour {first_name} Invité <{email}>")).to_be_visible()
        seller.locator(f"#qty-{wine_id}").fill("6")
        seller.get_by_label(re.compile("Livraison chez l'hôte")).check()
        seller.get_by_label("Chèque").check()
        seller.get_by_role("button", name="Enregistrer la commande").click()
        flash = seller.get_by_text(re.compile(r"Commande VER-\d+ enregistrée"))
        expect(flash).to_be_visible()
        numbers.append(re.search(r"VER-\d+", flash.inner_text()).group(0))
    euros = f"{revenue // 100},{revenue % 100:02d}\u00a0€"
    expect(seller.locator("#tasting-revenue")).to_have_text(re.compile(euros.replace("\u00a0", "\\s")))

    # 5. Closing the tasting: 10 % of 210 € in points (one per cent), a gift, a voucher.
    seller.get_by_role("button", name="Clôturer la réunion").click()
    expect(seller.get_by_role("cell", name=f"{points} points")).to_be_visible()
    expect(seller.get_by_text("Choisir mon cadeau").first).to_be_visible()

    # 6. The host chooses a password, opens the link and clicks "Choisir mon cadeau".
    host = _context(browser, live_server)
    choose_password(host, live_smtp, HOST)
    _adult(host)
    host.goto(invitation)
    host.get_by_role("button", name="Choisir mon cadeau").click()
    host.get_by_label(re.compile(re.escape(fleurie_name))).check()
    host.get_by_role("button", name="Choisir mon cadeau").click()
    expect(host.get_by_text(re.compile(r"Votre cadeau est ajouté à la commande VER-\d+"))).to_be_visible()

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        scope_to_estate(session, estate.id)
        tasting = session.scalars(select(Tasting).where(Tasting.token == invitation.rsplit("/", 1)[1])).one()
        host_card = session.get(EstateCustomer, tasting.host_customer_id)
        assert tasting.status == "closed" and tasting.revenue_cents == revenue
        assert host_card.points_balance == points
        placed = session.scalars(select(Order).where(Order.tasting_id == tasting.id).order_by(Order.id)).all()
        assert [o.number for o in placed[:2]] == numbers
        gift_order = placed[2]
        assert gift_order.customer_id == host_card.id and gift_order.status is OrderStatus.PAID
        assert gift_order.total_ttc_cents == 0
        assert [(line.kind, line.wine_id, line.quantity, line.ttc_cents) for line in session.scalars(
            select(OrderLine).where(OrderLine.order_id == gift_order.id))] == [("gift", fleurie_id, 1, 0)]
        gift = session.scalars(select(Reward).where(Reward.tasting_id == tasting.id,
                                                    Reward.reward == "gift_choice")).one()
        assert gift.status == "chosen" and gift.gift_order_id == gift_order.id
        # closing again (a second click, a second worker) gives nothing more
        assert rewards.close(session, estate, tasting, actor=None, now=datetime.now(PARIS),
                             public_url=live_server.url) == []
        session.commit()

    # 7. The voucher email reached the SMTP server once.
    host.goto(invitation)  # a request: the outbox is flushed
    vouchers = _messages(live_smtp, lambda m: m["To"] == HOST and "bon d'achat" in _subject(m))
    assert len(vouchers) == 1 and "10,00" in body_of(vouchers[0])
    for watched in WATCHED:
        watched.assert_clean()
        watched.context.close()
