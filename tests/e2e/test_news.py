""""Suivre" in the browser (issue 14): a visitor is sent to the login page and back, then
the button swaps in place with htmx ("Suivre" ↔ "Ne plus suivre"), without a reload."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from models import Estate, Follow, User
from services import accounts
from services.demo import DEMO_PASSWORD
from tests.conftest import session_for

SLUG = "domaine-de-la-vernette"
EMAIL = "suiveuse@example.com"


def _follows(app) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == SLUG)).one()
        return session.scalar(select(func.count()).select_from(Follow).join(User, User.id == Follow.user_id)
                              .where(Follow.estate_id == estate_id, User.email == EMAIL))


def test_follow_from_the_estate_page_through_login_then_in_place_with_htmx(page, live_server):
    app = live_server.app
    with session_for(app) as session:
        if session.scalars(select(User).where(User.email == EMAIL)).first() is None:
            accounts.register_user(session, email=EMAIL, password=DEMO_PASSWORD, first_name="Inès")
            session.commit()

    page.goto(f"/{SLUG}/")
    page.get_by_role("button", name="J'ai 18 ans ou plus").click()
    page.get_by_role("button", name="Suivre", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/compte/connexion?next=/{SLUG}/")
    page.get_by_label("Adresse email").fill(EMAIL)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(f"{live_server.url}/{SLUG}/")
    assert _follows(app) == 0

    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Suivre", exact=True).click()
    expect(page.get_by_role("button", name="Ne plus suivre")).to_be_visible()
    expect(page.locator("#suivre")).to_contain_text("Vous suivez Domaine de la Vernette.")
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not a new page
    assert _follows(app) == 1

    page.get_by_role("button", name="Ne plus suivre").click()
    expect(page.get_by_role("button", name="Suivre", exact=True)).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    assert _follows(app) == 0

    page.goto("/compte/actualites")
    expect(page.get_by_text("Vous ne suivez aucun domaine")).to_be_visible()
