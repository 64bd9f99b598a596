"""Issue 11's acceptance, in a real browser: an administrator (Vernette's vigneron) creates
a group and a distribution; Vernette links its catalogue itself ("Relier ce catalogue à
un de mes groupes"); Rozel sends its catalogue's URL and the administrator links it;
both click "Participe"; a member invited by email sets a password, fills one basket
with wines of both estates and pays once on the payment page; each estate gets its own
order, invoice and emails; the closing job sends each estate its list and the
administrator a distribution sheet naming the member and both estates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from models import Distribution, Estate, ProducerGroup, GroupTransfer, Invoice, Order, OrderStatus, Price, PriceList, Wine, utcnow
from services import jobs, mail
from services.demo import DEMO_PASSWORD
from services.templating import PARIS
from tests.conftest import body_of, session_for
from tests.e2e.test_csp import Watched
from tests.e2e.test_group_purchase import _messages, _pdf_text, _subject

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
GROUP = "Amicale du Bourg"
MEMBER_EMAIL = "margot.membre@example.com"


def _a_wine(app, slug: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A wine of the estate on "Particuliers", sold by the bottle; the estate takes any quantity."""
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        estate.mixing_allowed, estate.minimum_order_cents, estate.accepts_card = False, 0, True
        particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                               PriceList.name == "Particuliers")).one()
        wine = session.scalars(select(Wine).join(Price, Price.wine_id == Wine.id).where(
            Price.price_list_id == particuliers.id, Price.promo_active.is_(False), Wine.is_visible.is_(True),
            Wine.is_available.is_(True), Wine.stock >= 24).order_by(Wine.id.desc())).first()
        wine.order_multiple = 1
        session.commit()
        return wine.id, wine.name


def _context(browser, live_server):  # type: ignore[no-untyped-def]
    """A browser that records this site's Content-Security-Policy violations (test_csp)."""
    watched = Watched(browser, live_server)
    WATCHED.append(watched)
    return watched.context, watched.page


WATCHED: list[Watched] = []


def _log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/compte/connexion")
    page.get_by_label("Adresse email").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    page.goto("/")  # the platform's pages ask the age once per session
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()


def _new_catalogue(page, slug: str, wine_id: int) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/gestion/{slug}/catalogues")
    page.get_by_role("button", name="Nouveau catalogue").click()
    page.get_by_label("Nom du catalogue").fill("Sélection des groupes")
    page.get_by_label("Tarif").select_option(label="Particuliers")
    page.locator(f'input[name="wine_ids"][value="{wine_id}"]').check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#catalogue-url")).to_be_visible()


def _participate(page, slug: str, distribution_id: int) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/gestion/{slug}/ventes")
    participation = page.locator(f"#participation-{distribution_id}")
    participation.get_by_role("button", name="Participe", exact=True).click()
    expect(page.locator(f"#participation-{distribution_id}").get_by_role("button", name="Ne plus participer")).to_be_visible()


def test_a_group_distribution_from_creation_to_the_distribution_sheet(browser, live_server, live_smtp, live_sandbox):
    app = live_server.app
    WATCHED.clear()
    vernette_wine, vernette_name = _a_wine(app, VERNETTE)
    rozel_wine, rozel_name = _a_wine(app, ROZEL)

    # 1. Vernette's vigneron creates the group and a distribution in ten days.
    admin_context, admin = _context(browser, live_server)
    _log_in(admin, "vigneron@vernette.example")
    admin.goto("/groupes/")
    admin.get_by_role("button", name="Créer un groupe").click()
    admin.get_by_label("Nom du groupe").fill(GROUP)
    admin.get_by_label("Lieu habituel des distributions").fill("Salle des fêtes, 2 place du Bourg, Lyon")
    admin.get_by_role("button", name="Créer le groupe").click()
    expect(admin.get_by_role("heading", name=GROUP, level=1)).to_be_visible()
    group_url = admin.url
    day = (datetime.now(PARIS) + timedelta(days=10)).date()
    admin.get_by_label("Date de la distribution").fill(day.isoformat())
    admin.get_by_label("Heure de début (heure de Paris)").fill("18:00")
    admin.get_by_label("Heure de fin (heure de Paris)").fill("20:00")
    admin.get_by_label("Fin des commandes : date").fill((day - timedelta(days=2)).isoformat())
    admin.get_by_label("Fin des commandes : heure (heure de Paris)").fill("20:00")
    admin.get_by_role("button", name="Créer la distribution").click()
    expect(admin.get_by_role("status")).to_contain_text("est créée")

    # 2. Vernette links its own catalogue (case 2: its vigneron runs the group).
    _new_catalogue(admin, VERNETTE, vernette_wine)
    admin.locator("#link-group").select_option(label=GROUP)
    admin.get_by_role("button", name="Relier ce catalogue à un de mes groupes").click()
    expect(admin.get_by_text(f"Catalogue relié au groupe « {GROUP} »")).to_be_visible()

    # 3. Rozel is only invited (case 1): it sends its catalogue's URL, the administrator links it.
    rozel_context, rozel = _context(browser, live_server)
    _log_in(rozel, "vigneron@rozel.example")
    _new_catalogue(rozel, ROZEL, rozel_wine)
    catalogue_url = rozel.locator("#catalogue-url").input_value()
    assert catalogue_url.startswith(live_server.url + "/groupes/catalogues/")
    admin.goto(group_url + "/catalogues")
    admin.get_by_label("Adresse du catalogue").fill(catalogue_url)
    admin.get_by_role("button", name="Relier le catalogue").click()
    expect(admin.get_by_role("rowheader", name="Domaine Rozel")).to_be_visible()

    # 4. Both estates click "Participe" on their "Ventes" tab.
    with session_for(app) as session:
        distribution_id = session.scalars(select(Distribution.id).join(
            ProducerGroup, ProducerGroup.id == Distribution.group_id).where(ProducerGroup.name == GROUP)).one()
    _participate(admin, VERNETTE, distribution_id)
    _participate(rozel, ROZEL, distribution_id)

    # 5. The administrator invites a member by email.
    admin.goto(group_url + "/membres")
    admin.get_by_label("Adresses email (une par ligne, ou séparées par des virgules)").fill(MEMBER_EMAIL)
    admin.get_by_role("button", name="Envoyer les invitations").click()
    (invitation,) = _messages(live_smtp, lambda m: m["To"] == MEMBER_EMAIL)
    link = re.search(rf"{re.escape(live_server.url)}/groupes/invitation/[A-Za-z0-9_-]+", body_of(invitation)).group(0)

    # 6. The member sets a password, fills one basket with both estates' wines, pays once.
    member_context, member = _context(browser, live_server)
    member.goto(link)
    member.get_by_role("button", name="J'ai 18 ans ou plus").click()
    member.get_by_label("Prénom").fill("Margot")
    member.get_by_label("Nom", exact=True).fill("Membre")
    member.get_by_label("Mot de passe", exact=True).fill("un-mot-de-passe-solide")
    member.get_by_label("Confirmez le mot de passe").fill("un-mot-de-passe-solide")
    member.get_by_label("Je certifie avoir 18 ans ou plus").check()
    member.get_by_role("button", name="Créer mon compte et rejoindre le groupe").click()
    expect(member.get_by_role("heading", name=GROUP, level=1)).to_be_visible()
    member.get_by_role("button", name="Boutique").click()
    for wine_id, name, estate in ((vernette_wine, vernette_name, "Domaine de la Vernette"),
                                  (rozel_wine, rozel_name, "Domaine Rozel")):
        member.locator(f"#offer-{wine_id} input[name=quantity]").fill("2")
        member.locator(f"#offer-{wine_id}").get_by_role("button", name="Ajouter").click()
        expect(member.locator("#group-basket")).to_contain_text(estate)
        expect(member.locator("#group-basket")).to_contain_text(name)
    member.get_by_role("button", name="Commander").click()
    expect(member.get_by_label("Prénom")).to_have_value("Margot")
    member.get_by_label("Téléphone").fill("06 12 12 12 12")
    member.get_by_label("Adresse", exact=True).fill("8 rue des Vignes")
    member.get_by_label("Code postal").fill("69004")
    member.get_by_label("Commune").fill("Lyon")
    member.get_by_label("J'ai lu et j'accepte les conditions générales de vente").check()
    member.get_by_label("Date de naissance").fill("1988-07-14")
    member.get_by_label("Je certifie avoir 18 ans ou plus").check()
    member.get_by_role("button", name=re.compile("^Payer")).click()
    member.get_by_role("button", name="Payer avec la carte de test").click()
    expect(member.locator("#payment-status")).to_contain_text("Paiement reçu")
    expect(member.locator("#group-orders")).to_contain_text("Domaine de la Vernette")
    expect(member.locator("#group-orders")).to_contain_text("Domaine Rozel")

    # 7. Each estate sells its own order: numbers, invoices, emails; one pay-in, two transfers.
    with session_for(app) as session:
        placed = session.scalars(select(Order).where(Order.email == MEMBER_EMAIL).order_by(Order.id)).all()
        assert len(placed) == 2 and {o.status for o in placed} == {OrderStatus.PAID}
        assert {o.number[:3] for o in placed} == {"VER", "ROZ"} and len({o.group_checkout_id for o in placed}) == 1
        invoices = {i.order_id: i.number for i in session.scalars(select(Invoice).where(
            Invoice.order_id.in_([o.id for o in placed])))}
        assert set(invoices) == {o.id for o in placed}
        transfers = session.scalars(select(GroupTransfer).where(GroupTransfer.order_id.in_([o.id for o in placed])))
        assert sorted(t.status for t in transfers) == ["succeeded", "succeeded"]
        numbers = {o.estate_id: o.number for o in placed}
        distribution = session.get(Distribution, placed[0].distribution_id)
        closes_at = distribution.orders_close_at
    assert len([p for p in live_sandbox.payins() if p["Tag"].startswith("GRP-")]) == 1
    for number in numbers.values():
        (invoice_mail,) = _messages(live_smtp, lambda m, n=number: m["To"] == MEMBER_EMAIL and n in _subject(m)
                                    and "Facture" in _subject(m))
        assert number in _pdf_text(invoice_mail)
    for recipient in ("contact@vernette.example", "contact@rozel.example"):
        _messages(live_smtp, lambda m, r=recipient: m["To"] == r and "Nouvelle commande" in _subject(m)
                  and "Margot Membre" in _subject(m))

    # 8. The closing job (frozen clock, two runs): each estate its list, the administrator the sheet.
    job = next(j for j in jobs.JOBS if j.name == "close-distributions")
    for minutes in (1, 2):
        with session_for(app) as session:
            job.run(session, closes_at + timedelta(minutes=minutes))
            session.commit()
            mail.send_pending(session, mail.flask_mail_sender, utcnow())
    for recipient in ("contact@vernette.example", "contact@rozel.example"):
        (estate_list,) = _messages(live_smtp, lambda m, r=recipient: m["To"] == r and "vos commandes" in _subject(m))
        assert "Margot Membre" in _pdf_text(estate_list)
    (sheet,) = _messages(live_smtp, lambda m: m["To"] == "vigneron@vernette.example"
                         and "Feuille de distribution" in _subject(m))
    text = _pdf_text(sheet)
    assert "Margot Membre" in text and "Domaine de la Vernette" in text and "Domaine Rozel" in text
    assert all(number in text for number in numbers.values())

    # 9. On the day the administrator ticks what the member collected.
    admin.goto(group_url)
    admin.get_by_role("button", name="Feuille de distribution").first.click()
    admin.on("dialog", lambda dialog: dialog.accept())
    for number in numbers.values():
        row = admin.locator("tr", has_text=number)
        row.get_by_role("button", name="Retiré").click()
        expect(admin.locator("tr", has_text=number)).to_contain_text("Retiré ✓")
    with session_for(app) as session:
        assert {o.status for o in session.scalars(select(Order).where(Order.email == MEMBER_EMAIL))} == \
            {OrderStatus.DELIVERED}
    for watched in WATCHED:  # no page of the flow broke the Content-Security-Policy
        assert watched.console == [], watched.console
    for context in (admin_context, rozel_context, member_context):
        context.close()
