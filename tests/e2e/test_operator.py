"""Issue 13's acceptance, in a real browser: the platform operator creates an estate and
invites its first staff member by email; that person opens the link from the email
(the live SMTP server), chooses a password, logs in and sees only their estate."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from models import Estate, EstateStaff, User
from tests.conftest import session_for
from tests.e2e.test_csp import Watched
from tests.e2e.test_tasting import NEW_PASSWORD, _log_in, choose_password

SLUG = "domaine-des-aubes-e2e"
MANAGER = "marie.aubert@aubes.example"


def test_the_operator_creates_an_estate_and_its_invited_manager_sees_only_that_estate(browser, live_server, live_smtp):
    app = live_server.app
    watched = []

    # 1. The operator opens the platform back office from the header and creates the estate.
    operator = Watched(browser, live_server)
    watched.append(operator)
    page = operator.page
    _log_in(page, "operateur@chai.example")
    page.get_by_role("link", name="Opérateur", exact=True).click()
    expect(page.get_by_role("heading", name="Opérateur de la plateforme")).to_be_visible()
    page.get_by_role("navigation", name="Gestion de la plateforme").get_by_role("link", name="Domaines").click()
    page.get_by_label("Nom du domaine", exact=True).fill("Domaine des Aubes")
    page.get_by_label("Identifiant dans l'adresse").fill(SLUG)
    page.get_by_label("Raison sociale", exact=True).fill("EARL des Aubes")
    page.get_by_label("Email du domaine").fill("contact@aubes.example")
    page.get_by_label("Commune").fill("Chablis")
    page.get_by_label("Email du gérant").fill(MANAGER)
    page.get_by_label("Prénom du gérant").fill("Marie")
    page.get_by_label("Nom du gérant", exact=True).fill("Aubert")
    page.get_by_role("button", name="Créer le domaine").click()
    expect(page.get_by_role("heading", name="Domaine des Aubes")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"{MANAGER} a reçu son invitation")
    expect(page.locator("#estate-status")).to_have_text("En essai")
    expect(page.get_by_role("cell", name=MANAGER)).to_be_visible()

    # 2. The manager opens the link of the invitation email and chooses a password.
    manager = Watched(browser, live_server)
    watched.append(manager)
    staff = manager.page
    choose_password(staff, live_smtp, MANAGER, "Domaine des Aubes", log_in=False)

    # 3. They log in: their estate's back office opens, the others' are 404, and no "Opérateur" link.
    _log_in(staff, MANAGER, NEW_PASSWORD)
    expect(staff.get_by_role("link", name="Opérateur", exact=True)).to_have_count(0)
    assert staff.goto(f"/gestion/{SLUG}/").status == 200
    expect(staff.get_by_role("link", name=re.compile("Gestion · Domaine des Aubes"))).to_be_visible()
    assert staff.goto("/gestion/domaine-de-la-vernette/").status == 404
    assert staff.goto("/gestion/domaine-rozel/").status == 404
    assert staff.goto("/plateforme/").status == 404
    staff.goto("/compte/")
    estates = staff.get_by_role("article").filter(has=staff.get_by_role("heading", name="Mes domaines"))
    expect(estates.get_by_role("link")).to_have_count(1)
    expect(estates.get_by_role("link")).to_have_text("Gérer Domaine des Aubes")

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == SLUG)).one()
        user = session.scalars(select(User).where(User.email == MANAGER)).one()
        assert session.execute(select(EstateStaff.estate_id, EstateStaff.role)
                               .where(EstateStaff.user_id == user.id)).all() == [(estate.id, "manager")]
    for watch in watched:
        watch.assert_clean()
        watch.context.close()
