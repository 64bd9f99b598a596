"""Issue 10's acceptance for the achat groupé, in a real browser: a customer asks for a
group purchase and the estate's email reaches the SMTP server; the vigneron creates it;
the organiser's email holds the link; two participants order through it (free shipping,
tier discount on the invoice); the closing job runs with a frozen clock and sends one
recap with a picking list naming both; a third visitor of the link finds it closed."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from email.header import decode_header, make_header

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import func, select

from models import Estate, GroupPurchase, Order, Price, PriceList, Wine, utcnow
from services import jobs, mail
from services.demo import DEMO_PASSWORD
from services.templating import PARIS
from tests.conftest import body_of, session_for
from tests.e2e.conftest import accept_and_place_order, fill_customer

SLUG = "domaine-de-la-vernette"
ORGANISER = "Margaux Achat-Groupé"
ORGANISER_EMAIL = "margaux.organise@example.com"
DISCOUNT = "Remise achat groupé -5 %"


def _pdf_text(message) -> str:  # type: ignore[no-untyped-def]
    part = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    reader = PdfReader(io.BytesIO(part.get_payload(decode=True)))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u202f", " ").replace("\xa0", " ")


def _subject(message) -> str:  # type: ignore[no-untyped-def]
    return str(make_header(decode_header(message["Subject"] or "")))


def _messages(smtp, match, count: int = 1):  # type: ignore[no-untyped-def]
    def mine() -> list:
        return [m for m in smtp.mailbox.messages if match(m)]
    with smtp.mailbox._cond:
        assert smtp.mailbox._cond.wait_for(lambda: len(mine()) >= count, timeout=15), \
            f"{len(mine())} matching message(s), expected {count}"
    return mine()


def _estate_recipient(app) -> str:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        return estate.notification_email or estate.email


def _six_bottle_wine(app) -> int:  # type: ignore[no-untyped-def]
    """A Vernette wine sold by 6, in stock, on "Particuliers"."""
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                               PriceList.name == "Particuliers")).one()
        wine = session.scalars(select(Wine).join(Price, Price.wine_id == Wine.id).where(
            Price.price_list_id == particuliers.id, Wine.is_visible.is_(True), Wine.is_available.is_(True),
            Wine.stock >= 60).order_by(Wine.id)).first()
        wine.order_multiple = 6
        session.commit()
        return wine.id


def _browser_page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _through_the_link(page, link: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(link)
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    expect(page.get_by_role("heading", name="Domaine de la Vernette", level=1)).to_be_visible()


def _participant_orders(browser, live_server, link: str, wine_id: int, *, first: str, last: str, email: str) -> str:  # type: ignore[no-untyped-def]
    context, page = _browser_page(browser, live_server)
    _through_the_link(page, link)
    expect(page.locator("#group-banner")).to_contain_text(f"Achat groupé organisé par {ORGANISER}")
    page.locator(f"#add-{wine_id}").get_by_role("button", name="Ajouter 6 bouteilles").click()
    expect(page.locator("#cart-badge .badge")).to_have_text("6")
    page.locator("#cart-badge").click()
    expect(page.locator("#group-banner")).to_be_visible()
    page.get_by_role("button", name="Commander").click()
    expect(page.get_by_label(f"Achat groupé — {ORGANISER}")).to_be_checked()
    expect(page.get_by_label("Livraison à domicile")).to_have_count(0)
    fill_customer(page, email=email, first=first, last=last, phone="06 44 55 66 77", street="5 rue du Bourg",
                  postcode="69003", city="Lyon")
    page.get_by_label("Chèque").check()
    expect(page.locator("#checkout-summary")).to_contain_text(DISCOUNT)
    accept_and_place_order(page)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Commande")
    number = re.search(r"Commande (\S+)", heading.inner_text()).group(1)
    expect(page.get_by_text(DISCOUNT)).to_be_visible()  # a line of the order, as the invoice prints it
    context.close()
    return number


def test_a_group_purchase_from_request_to_recap(browser, live_server, live_smtp):
    app = live_server.app
    wine_id = _six_bottle_wine(app)
    estate_email = _estate_recipient(app)

    # 1. A customer asks for a group purchase from the estate page.
    context, page = _browser_page(browser, live_server)
    page.goto(f"/{SLUG}/")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    page.get_by_role("button", name="Achat groupé").click()
    page.get_by_label("Votre nom").fill(ORGANISER)
    page.get_by_label("Adresse email").fill(ORGANISER_EMAIL)
    page.get_by_label("Téléphone").fill("06 98 76 54 32")
    page.get_by_label("Nombre de bouteilles estimé").fill("80")
    page.get_by_label("Adresse de livraison").fill("7 place des Terreaux")
    page.get_by_label("Code postal").fill("69001")
    page.get_by_label("Commune").fill("Lyon")
    page.get_by_label("Message (facultatif)").fill("Pour les amis de la chorale.")
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_text("Votre demande d'achat groupé a bien été envoyée")).to_be_visible()
    context.close()
    (request_mail,) = _messages(live_smtp, lambda m: m["To"] == estate_email and ORGANISER in _subject(m))
    request_body = body_of(request_mail)
    assert ORGANISER_EMAIL in request_body and "80" in request_body and "7 place des Terreaux" in request_body

    # 2. The vigneron creates it from the request, with tiers 60 → 5 %, 120 → 8 %.
    staff, admin = _browser_page(browser, live_server)
    admin.goto("/compte/connexion")
    admin.get_by_label("Adresse email").fill("vigneron@vernette.example")
    admin.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    admin.get_by_role("button", name="Se connecter").click()
    admin.goto(f"/gestion/{SLUG}/")
    admin.get_by_role("link", name="Achat groupé", exact=True).click()
    admin.locator("#group-requests tr", has_text=ORGANISER).get_by_role("button", name="Créer l'achat groupé").click()
    expect(admin.get_by_label("Organisateur", exact=True)).to_have_value(ORGANISER)
    expect(admin.get_by_label("Livraison offerte")).to_be_checked()
    closes_on = (datetime.now(PARIS) + timedelta(days=10)).date()
    admin.get_by_label("Date de clôture").fill(closes_on.isoformat())
    admin.get_by_label("Heure de clôture (heure de Paris)").fill("20:00")
    admin.get_by_label("Palier 1 : à partir de (bouteilles)").fill("60")
    admin.get_by_label("Palier 1 : remise (%)").fill("5")
    admin.get_by_label("Palier 2 : à partir de (bouteilles)").fill("120")
    admin.get_by_label("Palier 2 : remise (%)").fill("8")
    admin.get_by_role("button", name="Créer l'achat groupé").click()
    expect(admin.get_by_text(f"L'achat groupé de {ORGANISER} est créé")).to_be_visible()
    detail_url = admin.url

    # 3. The organiser's email holds the link.
    (link_mail,) = _messages(live_smtp, lambda m: m["To"] == ORGANISER_EMAIL)
    link = re.search(rf"{re.escape(live_server.url)}/{SLUG}/achat-groupe/[A-Za-z0-9_-]{{43,}}", body_of(link_mail)).group(0)
    assert admin.locator("#group-link").input_value() == link

    # 4. Two participants order through it: free shipping, the tier discount on the order.
    first = _participant_orders(browser, live_server, link, wine_id, first="Louise", last="Participante",
                                email="louise.groupe@example.com")
    second = _participant_orders(browser, live_server, link, wine_id, first="Hugo", last="Convive",
                                 email="hugo.groupe@example.com")
    with session_for(app) as session:
        group = session.scalars(select(GroupPurchase).where(GroupPurchase.organiser_email == ORGANISER_EMAIL)).one()
        orders = session.scalars(select(Order).where(Order.number.in_([first, second]))).all()
        assert [o.group_purchase_id for o in orders] == [group.id, group.id]
        assert [o.shipping_ttc_cents for o in orders] == [0, 0]
        assert all(any(line.label == DISCOUNT for line in o.lines) for o in orders)
        group_id, closes_at = group.id, group.closes_at
    assert closes_at.astimezone(PARIS).date() == closes_on

    # The first participant's invoice (payment received, then shipped) carries the discount.
    admin.goto(f"/gestion/{SLUG}/commandes")
    row = admin.locator("tr", has_text=first)
    row.get_by_role("button", name="Paiement reçu").click()
    row = admin.locator("tr", has_text=first)
    expect(row).to_contain_text("Payée")
    row.get_by_role("button", name="Envoyée").click()
    expect(admin.locator("tr", has_text=first)).to_contain_text("Envoyée")
    shipped = _messages(live_smtp, lambda m: m["To"] == "louise.groupe@example.com" and "factur" in _pdf_names(m), 1)
    invoice_text = _pdf_text(shipped[-1])
    assert f"F{utcnow().year}-" in invoice_text and DISCOUNT in invoice_text

    # 5. The closing job, with a frozen clock after the closing time, twice: one recap.
    job = next(j for j in jobs.JOBS if j.name == "close-group-purchases")
    for minutes in (1, 2):
        with session_for(app) as session:
            job.run(session, closes_at + timedelta(minutes=minutes))
            session.commit()
            mail.send_pending(session, mail.flask_mail_sender, utcnow())
    (recap,) = _messages(live_smtp, lambda m: m["To"] == estate_email and "terminé" in _subject(m)
                         and ORGANISER in _subject(m))
    assert first in body_of(recap) and second in body_of(recap)
    picking = _pdf_text(recap)
    assert "Louise Participante" in picking and "Hugo Convive" in picking and "7 place des Terreaux" in picking
    _messages(live_smtp, lambda m: m["To"] == ORGANISER_EMAIL and "terminé" in _subject(m))
    assert len([m for m in live_smtp.mailbox.messages
                if m["To"] == estate_email and "terminé" in _subject(m) and ORGANISER in _subject(m)]) == 1
    admin.goto(detail_url)
    expect(admin.locator("#group-status")).to_contain_text("Terminé")
    staff.close()

    # 6. A third visitor of the link: closed, and no order goes through.
    context, page = _browser_page(browser, live_server)
    _through_the_link(page, link)
    expect(page.locator("#group-banner")).to_contain_text("Cet achat groupé est terminé")
    page.locator(f"#add-{wine_id}").get_by_role("button", name="Ajouter 6 bouteilles").click()
    expect(page.locator("#cart-badge .badge")).to_have_text("6")
    page.goto(f"/{SLUG}/commande")
    expect(page.get_by_text("Cet achat groupé est terminé : il ne prend plus de commande.")).to_be_visible()
    fill_customer(page, email="tardif.groupe@example.com", first="Paul", last="Tardif", phone="06 00 00 00 01",
                  street="1 rue Neuve", postcode="69002", city="Lyon")
    accept_and_place_order(page)
    expect(page.get_by_text("Cet achat groupé est terminé : il ne prend plus de commande.")).to_be_visible()
    context.close()
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Order).where(Order.group_purchase_id == group_id)) == 2


def _pdf_names(message) -> str:  # type: ignore[no-untyped-def]
    return " ".join(part.get_filename() or "" for part in message.walk() if part.get_content_type() == "application/pdf")
