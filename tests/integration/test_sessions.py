"""Signed-in sessions: a new session at log-in, log-out here or everywhere, password
change and reset ending the other sessions (remember cookies included), idle and
absolute timeouts, re-authentication before sensitive changes, the password policy.

The session keeps epoch timestamps; tests move them back with ``session_transaction``
instead of waiting."""

from __future__ import annotations

import time

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import select
from werkzeug.security import check_password_hash

from models import User
from services import security
from services.accounts import make_reset_token
from tests.conftest import TEST_SECRET, checkout_form, first_orderable_wine, login, make_app, session_for, text_of, visitor

CUSTOMER = "client@chai.example"
NEW_PASSWORD = "la vigne en fleur"


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/compte/").status_code == 200


def user_row(app, email: str = CUSTOMER) -> User:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def session_cookie(client) -> str | None:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


# --------------------------------------------------------------- log-in


def test_log_in_starts_a_new_session_that_keeps_only_the_visitors_cart_and_choices(app, client):
    slug = "domaine-de-la-vernette"
    wine_id, _, _ = first_orderable_wine(app, slug)
    client.post(f"/{slug}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    client.get("/langue/en")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["csrf_token"] = "fixed-token"
        sess[security.REAUTH_AT] = int(time.time())
        cart_token = sess["cart_token"]
    before = session_cookie(client)

    login(client, CUSTOMER)

    assert session_cookie(client) != before
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.get("csrf_token") != "fixed-token"
        assert sess["cart_token"] == cart_token and sess["lang"] == "en" and sess["age_ok"] is True
        login_id = security.parse_login_id(sess["_user_id"])
    user = user_row(app)
    assert (login_id.user_id, login_id.version) == (user.id, user.session_version)
    assert abs(login_id.auth_at - time.time()) < 60
    assert "6" in client.get(f"/{slug}/panier").get_data(as_text=True)


def test_a_session_from_before_session_versions_is_logged_out(app, client):
    user = user_row(app)
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)  # what flask-login stored before
        sess["_fresh"] = True
    response = client.get("/compte/")
    assert response.status_code == 302 and "/compte/connexion" in response.headers["Location"]
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


# -------------------------------------------------------------- log-out


def test_log_out_ends_this_device_only(app):
    here, there = visitor(app), visitor(app)
    login(here, CUSTOMER)
    login(there, CUSTOMER)
    assert here.post("/compte/deconnexion").status_code == 302
    assert not signed_in(here)
    assert signed_in(there)


def test_log_out_everywhere_ends_every_session_and_remember_cookie(app):
    here, there, remembered = visitor(app), visitor(app), visitor(app)
    login(here, CUSTOMER)
    login(there, CUSTOMER)
    remembered.post("/compte/connexion", data={"email": CUSTOMER, "password": "chai-demo-2026", "remember": "y"})
    cookie = remembered.get_cookie("remember_token").value
    version = user_row(app).session_version

    response = here.post("/compte/deconnexion-partout", follow_redirects=True)
    assert "Vous êtes déconnecté de tous vos appareils." in text_of(response)
    assert user_row(app).session_version == version + 1
    assert not signed_in(here)
    response = there.get("/compte/", follow_redirects=True)
    assert "Votre session a pris fin" in text_of(response)
    assert not signed_in(there)
    browser_restarted = visitor(app)
    browser_restarted.set_cookie("remember_token", cookie)
    assert not signed_in(browser_restarted)


def test_a_remember_cookie_signs_in_after_a_browser_restart_until_the_version_moves(app):
    first = visitor(app)
    first.post("/compte/connexion", data={"email": CUSTOMER, "password": "chai-demo-2026", "remember": "y"})
    cookie = first.get_cookie("remember_token").value
    assert cookie.split("|")[0].count(":") == 2  # "<id>:<version>:<time>"

    restarted = visitor(app)
    restarted.set_cookie("remember_token", cookie)
    assert signed_in(restarted)

    with app.app_context():
        from models import db
        security.bump_session_version(db.session, db.session.get(User, user_row(app).id))
        db.session.commit()
    again = visitor(app)
    again.set_cookie("remember_token", cookie)
    response = again.get("/compte/")
    assert response.status_code == 302
    assert any(h.startswith("remember_token=;") for h in response.headers.getlist("Set-Cookie"))  # deleted


# ------------------------------------------------- password change and reset


def test_changing_the_password_keeps_this_session_and_ends_the_others(app):
    here, there, remembered = visitor(app), visitor(app), visitor(app)
    login(here, CUSTOMER)
    here.post("/compte/connexion", data={"email": CUSTOMER, "password": "chai-demo-2026", "remember": "y"})
    login(there, CUSTOMER)
    remembered.post("/compte/connexion", data={"email": CUSTOMER, "password": "chai-demo-2026", "remember": "y"})
    other_cookie = remembered.get_cookie("remember_token").value

    response = here.post("/compte/mot-de-passe", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302, text_of(response)[:500]
    assert "Votre mot de passe est changé" in text_of(here.get("/compte/"))
    assert signed_in(here)
    assert not signed_in(there)
    browser_restarted = visitor(app)
    browser_restarted.set_cookie("remember_token", other_cookie)
    assert not signed_in(browser_restarted)
    # this device's remember cookie was renewed with the new version
    mine = visitor(app)
    mine.set_cookie("remember_token", here.get_cookie("remember_token").value)
    assert signed_in(mine)

    user = user_row(app)
    assert check_password_hash(user.password_hash, NEW_PASSWORD)
    assert user.password_hash.startswith("scrypt:32768:8:3$") and user.password_changed_at is not None
    login(visitor(app), CUSTOMER, NEW_PASSWORD)


def test_a_password_reset_ends_every_session(app):
    there = visitor(app)
    login(there, CUSTOMER)
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == CUSTOMER)).one()
        token = make_reset_token(TEST_SECRET, user)
    response = visitor(app).post(f"/compte/reinitialiser/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert not signed_in(there)


# ------------------------------------------------------------------ timeouts


def _shift(client, *, seen_ago: float | None = None, auth_ago: float | None = None) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    with client.session_transaction() as sess:
        if seen_ago is not None:
            sess[security.SEEN_AT] = int(now - seen_ago)
        if auth_ago is not None:
            login_id = security.parse_login_id(sess["_user_id"])
            sess["_user_id"] = f"{login_id.user_id}:{login_id.version}:{int(now - auth_ago)}"


def test_a_session_idle_for_longer_than_the_limit_is_logged_out(app, client):
    login(client, CUSTOMER)
    _shift(client, seen_ago=2 * 3600 - 60)
    assert signed_in(client)  # and the request counts as activity:
    with client.session_transaction() as sess:
        assert time.time() - sess[security.SEEN_AT] < 60
    _shift(client, seen_ago=2 * 3600 + 1)
    response = client.get("/compte/", follow_redirects=True)
    assert "Votre session a expiré après une période d'inactivité. Reconnectez-vous." in text_of(response)
    assert not signed_in(client)


def test_the_idle_limit_is_configured_in_minutes(database):
    app = make_app(database, SESSION_IDLE_MINUTES=5)
    client = visitor(app)
    login(client, CUSTOMER)
    _shift(client, seen_ago=4 * 60)
    assert signed_in(client)
    _shift(client, seen_ago=6 * 60)
    assert not signed_in(client)


def test_a_session_older_than_the_absolute_limit_is_logged_out_however_active(app, client):
    login(client, CUSTOMER)
    _shift(client, seen_ago=0, auth_ago=12 * 3600 - 60)
    assert signed_in(client)
    _shift(client, seen_ago=0, auth_ago=12 * 3600 + 1)
    response = client.get("/compte/", follow_redirects=True)
    assert "Votre session a atteint sa durée maximale. Reconnectez-vous." in text_of(response)
    assert not signed_in(client)


def test_the_absolute_limit_applies_to_a_remember_cookie_too(app):
    user = user_row(app)
    with app.test_request_context():
        old = encode_cookie(f"{user.id}:{user.session_version}:{int(time.time() - 12 * 3600 - 5)}")
        recent = encode_cookie(f"{user.id}:{user.session_version}:{int(time.time() - 3600)}")
    fresh = visitor(app)
    fresh.set_cookie("remember_token", recent)
    assert signed_in(fresh)
    stale = visitor(app)
    stale.set_cookie("remember_token", old)
    assert not signed_in(stale)


def test_an_htmx_request_after_the_timeout_reloads_the_page(app, client):
    login(client, "vigneron@vernette.example")
    _shift(client, seen_ago=3 * 3600)
    response = client.get("/gestion/domaine-de-la-vernette/commandes?q=x", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Refresh"] == "true"
    assert not signed_in(client)


# --------------------------------------------------------- re-authentication


@pytest.mark.parametrize("url", ["/compte/mot-de-passe", "/compte/email", "/compte/double-authentification"])
def test_sensitive_pages_ask_for_the_password_again_after_a_while(client, url):
    login(client, CUSTOMER)
    assert client.get(url).status_code == 200  # just logged in: fresh
    with client.session_transaction() as sess:
        sess[security.REAUTH_AT] = int(time.time() - 16 * 60)
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/compte/confirmer?next=")


def test_a_password_change_is_refused_without_a_fresh_password_and_allowed_after(app, client):
    login(client, CUSTOMER)
    with client.session_transaction() as sess:
        sess[security.REAUTH_AT] = int(time.time() - 16 * 60)
    before = user_row(app).password_hash
    response = client.post("/compte/mot-de-passe", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and "/compte/confirmer" in response.headers["Location"]
    assert user_row(app).password_hash == before

    response = client.post("/compte/confirmer?next=/compte/mot-de-passe", data={"password": "pas-le-bon-mot"})
    assert response.status_code == 422 and "Mot de passe incorrect." in text_of(response)
    response = client.post("/compte/confirmer", data={"password": "chai-demo-2026", "next": "/compte/mot-de-passe"})
    assert response.status_code == 302 and response.headers["Location"] == "/compte/mot-de-passe"
    response = client.post("/compte/mot-de-passe", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and user_row(app).password_hash != before


def test_reauthentication_never_redirects_off_site(client):
    login(client, CUSTOMER)
    response = client.post("/compte/confirmer", data={"password": "chai-demo-2026", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/compte/"


def test_a_session_restored_from_the_remember_cookie_is_new_and_must_reauthenticate(app):
    first = visitor(app)
    first.post("/compte/connexion", data={"email": CUSTOMER, "password": "chai-demo-2026", "remember": "y"})
    restarted = visitor(app)
    with restarted.session_transaction() as sess:
        sess["csrf_token"] = "planted-by-an-attacker"
        sess[security.REAUTH_AT] = int(time.time())
    restarted.set_cookie("remember_token", first.get_cookie("remember_token").value)
    assert signed_in(restarted)
    with restarted.session_transaction() as sess:
        assert sess.get("csrf_token") != "planted-by-an-attacker" and security.REAUTH_AT not in sess
        assert sess["age_ok"] is True
    assert restarted.get("/compte/email").headers["Location"].startswith("/compte/confirmer")


def test_changing_the_email_needs_a_free_address_and_then_signs_in_with_it(app, client):
    login(client, CUSTOMER)
    response = client.post("/compte/email", data={"email": "caviste@chai.example"})
    assert response.status_code == 422 and "Un compte existe déjà avec cette adresse." in text_of(response)
    response = client.post("/compte/email", data={"email": "Claire.Nouvelle@Example.com"})
    assert response.status_code == 302
    assert user_row(app, "claire.nouvelle@example.com").id
    login(visitor(app), "claire.nouvelle@example.com")


# ------------------------------------------------------------ password policy

WEAK = [
    ("court-11car", "Le mot de passe doit compter au moins 12 caractères."),
    ("motdepasse2024", "Ce mot de passe est trop courant"),
    ("Azertyuiop123!", "Ce mot de passe est trop courant"),
]


@pytest.mark.parametrize("password, message", WEAK)
def test_sign_up_refuses_weak_passwords_in_french(app, client, password, message):
    data = {"first_name": "Paul", "last_name": "Durand", "email": "paul@example.com", "phone": "",
            "password": password, "confirm": password, "adult": "y"}
    response = client.post("/compte/inscription", data=data)
    assert response.status_code == 422 and message in text_of(response)
    with session_for(app) as session:
        assert session.scalars(select(User).where(User.email == "paul@example.com")).first() is None


def test_sign_up_refuses_a_password_made_of_the_persons_name(client):
    data = {"first_name": "Paul", "last_name": "Durandeau", "email": "paul@example.com", "phone": "",
            "password": "durandeau-1234", "confirm": "durandeau-1234", "adult": "y"}
    response = client.post("/compte/inscription", data=data)
    assert response.status_code == 422
    assert "Le mot de passe ne doit reprendre ni votre nom ni votre adresse email." in text_of(response)


@pytest.mark.parametrize("password, message", WEAK)
def test_password_change_and_reset_refuse_weak_passwords(app, client, password, message):
    login(client, CUSTOMER)
    response = client.post("/compte/mot-de-passe", data={"password": password, "confirm": password})
    assert response.status_code == 422 and message in text_of(response)
    with session_for(app) as session:
        token = make_reset_token(TEST_SECRET, session.scalars(select(User).where(User.email == CUSTOMER)).one())
    response = visitor(app).post(f"/compte/reinitialiser/{token}", data={"password": password, "confirm": password})
    assert response.status_code == 422 and message in text_of(response)
    assert signed_in(client)  # nothing changed


def test_the_checkout_refuses_a_common_password_for_the_new_account(app, client):
    slug = "domaine-de-la-vernette"
    wine_id, _, _ = first_orderable_wine(app, slug)
    client.post(f"/{slug}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    response = client.post(f"/{slug}/commande", data=checkout_form(token="weak", password="motdepasse123",
                                                                      confirm="motdepasse123"))
    assert response.status_code == 422 and "Ce mot de passe est trop courant" in text_of(response)
    response = client.post(f"/{slug}/commande", data=checkout_form(token="strong"))
    assert response.status_code == 302
    assert signed_in(client)
