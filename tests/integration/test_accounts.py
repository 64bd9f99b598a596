"""Sign-up, login, CSRF, professional accounts and password reset."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import ProStatus, User
from services.accounts import make_reset_token, user_for_reset_token
from tests.conftest import TEST_SECRET, body_of, login, make_app, session_for, text_of

VALID_SIRET = "732 829 320 00074"
PRO_FORM = {
    "company_name": "Cave des Amis", "siret": VALID_SIRET, "first_name": "Léa", "last_name": "Martin",
    "email": "lea@cave.example", "phone": "", "password": "un-mot-de-passe", "confirm": "un-mot-de-passe",
    "adult": "y", "activity": "caviste",
}


def user_count(app) -> int:
    with session_for(app) as session:
        return session.scalar(select(func.count()).select_from(User))


def test_a_particulier_signs_up_and_is_logged_in(client, app):
    data = dict(PRO_FORM, email="Paul@Example.com")
    del data["siret"], data["company_name"]
    response = client.post("/compte/inscription", data=data)
    assert response.status_code == 302
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == "paul@example.com")).one()
        assert user.pro_status is ProStatus.NONE
        assert user.password_hash != "un-mot-de-passe"
    assert "paul@example.com" in client.get("/compte/").get_data(as_text=True)


def test_sign_up_requires_being_of_age(client, app):
    before = user_count(app)
    data = {k: v for k, v in PRO_FORM.items() if k not in ("siret", "company_name", "adult")}
    response = client.post("/compte/inscription", data=data)
    assert response.status_code == 422
    assert "La vente d'alcool est interdite aux mineurs." in response.get_data(as_text=True)
    assert user_count(app) == before


def test_an_email_can_have_only_one_account(client, app):
    data = dict(PRO_FORM, email="client@chai.example")
    del data["siret"], data["company_name"]
    response = client.post("/compte/inscription", data=data)
    assert response.status_code == 422
    assert "Un compte existe déjà avec cette adresse" in response.get_data(as_text=True)


def test_a_bad_siret_gets_a_clear_message_and_creates_nothing(client, app):
    before = user_count(app)
    for siret, message in [("123", "Le numéro SIRET doit comporter 14 chiffres."),
                           ("73282932000075", "Ce numéro SIRET n'est pas valide (clé de contrôle incorrecte).")]:
        response = client.post("/compte/inscription-pro", data=dict(PRO_FORM, siret=siret))
        assert response.status_code == 422
        assert message in text_of(response)
    assert user_count(app) == before


def test_a_professional_sign_up_waits_for_verification(client, app):
    response = client.post("/compte/inscription-pro", data=PRO_FORM)
    assert response.status_code == 302
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == "lea@cave.example")).one()
        assert (user.siret, user.pro_status) == ("73282932000074", ProStatus.PENDING)
    assert "En attente de vérification" in client.get("/compte/").get_data(as_text=True)


def _prices_shown(client, slug="domaine-de-la-vernette") -> list[str]:
    html = client.get(f"/{slug}/").get_data(as_text=True)
    return re.findall(r'<strong class="price[^"]*">([^<]+)</strong>', html)


def test_an_unverified_pro_sees_particulier_prices_and_a_verified_one_sees_ht(client, app):
    anonymous = _prices_shown(client)
    client.post("/compte/inscription-pro", data=PRO_FORM)
    pending = _prices_shown(client)
    assert pending == anonymous and not any("HT" in p for p in pending)

    runner = app.test_cli_runner()
    result = runner.invoke(args=["chai", "verify-pro", "lea@cave.example"])
    assert result.exit_code == 0, result.output
    verified = _prices_shown(client)
    assert verified and all(p.endswith("HT") for p in verified)
    assert verified != anonymous
    assert "prix hors taxe (HT)" in client.get("/domaine-de-la-vernette/").get_data(as_text=True)


def test_a_rejected_pro_sees_particulier_prices(client, app):
    anonymous = _prices_shown(client)
    client.post("/compte/inscription-pro", data=PRO_FORM)
    result = app.test_cli_runner().invoke(args=["chai", "verify-pro", "--reject", "lea@cave.example"])
    assert result.exit_code == 0
    assert _prices_shown(client) == anonymous


def test_verify_pro_refuses_unknown_and_particulier_accounts(app):
    runner = app.test_cli_runner()
    assert "Aucun compte" in runner.invoke(args=["chai", "verify-pro", "nobody@example.com"]).output
    assert "n'est pas un compte professionnel" in runner.invoke(args=["chai", "verify-pro", "client@chai.example"]).output


def test_login_with_a_wrong_password_says_so_in_french(client):
    response = client.post("/compte/connexion", data={"email": "client@chai.example", "password": "faux"})
    assert response.status_code == 422
    assert "Adresse email ou mot de passe incorrect." in response.get_data(as_text=True)


def test_login_then_logout(client):
    login(client, "client@chai.example")
    assert client.get("/compte/").status_code == 200
    assert client.post("/compte/deconnexion").status_code == 302
    assert client.get("/compte/").status_code == 302


def test_login_does_not_redirect_to_another_site(client):
    response = client.post("/compte/connexion?next=https://evil.example/",
                           data={"email": "client@chai.example", "password": "chai-demo-2026"})
    assert response.headers["Location"] == "/"


def test_a_post_without_csrf_token_is_refused(database):
    app = make_app(database, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    before = user_count(app)
    data = {k: v for k, v in PRO_FORM.items() if k not in ("siret", "company_name")}
    response = client.post("/compte/inscription", data=data)
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)
    assert user_count(app) == before
    # and an htmx-style request without the header is refused too
    assert client.post("/age", data={"answer": "yes"}, headers={"HX-Request": "true"}).status_code == 400


def test_a_post_with_the_csrf_header_is_accepted(database):
    app = make_app(database, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    html = client.get("/age").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    response = client.post("/age", data={"answer": "yes"}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302


def test_session_cookie_is_http_only_and_same_site(client):
    response = client.post("/compte/connexion", data={"email": "client@chai.example", "password": "chai-demo-2026"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_reset_by_emailed_link(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    client = app.test_client()
    response = client.post("/compte/mot-de-passe-oublie", data={"email": "client@chai.example"})
    assert response.status_code == 302
    message = smtp.mailbox.wait_for(1)[0]
    assert message["To"] == "client@chai.example"
    assert "Réinitialisation" in str(message["Subject"]) or "=?utf-8?" in message["Subject"]
    link = re.search(r"http://shop\.test(/compte/reinitialiser/\S+)", body_of(message)).group(1)

    response = client.post(link, data={"password": "nouveau-secret", "confirm": "nouveau-secret"})
    assert response.status_code == 302
    login(client, "client@chai.example", "nouveau-secret")
    # the link served once: it no longer works
    response = client.get(link)
    assert response.status_code == 302 and "mot-de-passe-oublie" in response.headers["Location"]


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    client = app.test_client()
    response = client.post("/compte/mot-de-passe-oublie", data={"email": "personne@example.com"}, follow_redirects=True)
    assert "Si un compte existe pour cette adresse" in response.get_data(as_text=True)
    assert smtp.mailbox.messages == []


def test_reset_tokens_expire(app):
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == "client@chai.example")).one()
        token = make_reset_token(TEST_SECRET, user)
        assert user_for_reset_token(session, TEST_SECRET, token).id == user.id
        try:
            user_for_reset_token(session, TEST_SECRET, token, max_age=-1)
        except Exception as exc:  # noqa: BLE001
            assert getattr(exc, "expired", False)
        else:
            raise AssertionError("an expired token was accepted")


def test_a_forged_reset_link_is_refused(client):
    response = client.get("/compte/reinitialiser/not-a-token", follow_redirects=True)
    assert "pas valable" in response.get_data(as_text=True)


def test_a_hash_made_under_an_older_policy_is_redone_at_log_in(app, client):
    from werkzeug.security import generate_password_hash

    from services import passwords
    from services.demo import DEMO_PASSWORD

    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == "client@chai.example")).one()
        old_hash = user.password_hash = generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256")
        session.commit()
    assert client.post("/compte/connexion", data={"email": "client@chai.example", "password": DEMO_PASSWORD}
                       ).status_code == 302
    with session_for(app) as session:
        new_hash = session.scalars(select(User.password_hash).where(User.email == "client@chai.example")).one()
    assert new_hash != old_hash and not passwords.needs_rehash(new_hash)
    assert passwords.verify_password(new_hash, DEMO_PASSWORD)
