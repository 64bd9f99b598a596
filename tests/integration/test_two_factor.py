"""Two-factor sign-in: enrolment with a QR code, the log-in's second step, codes used
once, recovery codes, re-authentication with a code, and the operator's requirement.

Codes come from pyotp on the real clock. A code is accepted for the current step and
the next one, never a step already used: ``fresh_code`` picks the first unused of the
current step and the next, so two verifications fit in any 30-second step."""

from __future__ import annotations

import base64
import re
import threading
import time

import pyotp
import pytest
from sqlalchemy import select

from models import RecoveryCode, User, utcnow
from services import security, two_factor
from tests.conftest import login, make_app, session_for, text_of, visitor

STAFF = "vigneron@vernette.example"
OPERATOR = "operateur@chai.example"
CUSTOMER = "client@chai.example"
PASSWORD = "chai-demo-2026"
ADMIN = "/gestion/domaine-de-la-vernette/"


def user_row(app, email: str) -> User:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def fresh_code(app, email: str) -> str:  # type: ignore[no-untyped-def]
    """A code for a step not used yet: the current step, else the next one."""
    user = user_row(app, email)
    current = int(time.time() // two_factor.STEP_SECONDS)
    step = max(current, user.totp_last_step + 1)
    assert step <= current + 1, "both steps of this window are used"
    return pyotp.TOTP(user.totp_secret).at(step * two_factor.STEP_SECONDS)


def wrong_code(app, email: str) -> str:  # type: ignore[no-untyped-def]
    """Six digits that are no code of the steps around now (typed with a space)."""
    totp = pyotp.TOTP(user_row(app, email).totp_secret)
    current = int(time.time() // two_factor.STEP_SECONDS)
    near = {totp.at(step * two_factor.STEP_SECONDS) for step in range(current - 2, current + 4)}
    code = next(c for c in ("123456", "654321", "111111", "909090", "246802", "135791", "864209") if c not in near)
    return code[:3] + " " + code[3:]


def enable(app, email: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Arrange: two-factor sign-in on for ``email``; its recovery codes."""
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        two_factor.begin_enrolment(session, user)
        user.totp_enabled_at = utcnow()
        codes = two_factor.new_recovery_codes(session, user)
        session.commit()
        return codes


def password_step(client, email: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/compte/connexion", data={"email": email, "password": PASSWORD, **extra})


def test_staff_turn_it_on_with_the_qr_code_and_get_ten_recovery_codes_once(app, client):
    login(client, STAFF)
    page = text_of(client.get("/compte/double-authentification"))
    assert "Activer la double authentification" in page
    assert client.post("/compte/double-authentification/activer").status_code == 302

    page = client.get("/compte/double-authentification").get_data(as_text=True)
    data_uri = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
    svg = base64.b64decode(data_uri).decode()
    assert svg.startswith("<svg") and "<script" not in svg and "<path" in svg
    assert "<svg" not in page  # an image, not inline markup
    user = user_row(app, STAFF)
    assert user.totp_secret and user.totp_enabled_at is None
    assert " ".join(user.totp_secret[i:i + 4] for i in range(0, len(user.totp_secret), 4)) in page

    response = client.post("/compte/double-authentification/confirmer", data={"code": wrong_code(app, STAFF)})
    assert response.status_code == 422 and "Ce code n'est pas le bon." in text_of(response)
    assert user_row(app, STAFF).totp_enabled_at is None

    response = client.post("/compte/double-authentification/confirmer", data={"code": fresh_code(app, STAFF)})
    assert response.status_code == 200
    shown = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.get_data(as_text=True))
    assert len(shown) == 10 and len(set(shown)) == 10
    assert "La double authentification est activée." in text_of(response)
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == STAFF)).one()
        assert user.totp_enabled_at is not None
        stored = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not set(shown) & set(stored)
    assert "<li><code>" not in client.get("/compte/double-authentification").get_data(as_text=True)  # shown once
    assert signed_in(client)


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/compte/").status_code == 200


def test_log_in_asks_for_the_code_after_the_password_and_a_code_works_once(app):
    enable(app, STAFF)
    first = visitor(app)
    response = password_step(first, STAFF, next=ADMIN)
    assert response.status_code == 302 and response.headers["Location"] == "/compte/connexion/code"
    assert not signed_in(first)  # the password alone signs nobody in
    assert first.get(ADMIN).status_code == 302
    with first.session_transaction() as sess:
        assert "_user_id" not in sess and set(sess[security.PENDING_LOGIN]) == {"uid", "v", "remember", "exp", "next"}

    code = fresh_code(app, STAFF)
    response = first.post("/compte/connexion/code", data={"code": wrong_code(app, STAFF)})
    assert response.status_code == 422 and "Ce code n'est pas valable ou a déjà servi." in text_of(response)
    response = first.post("/compte/connexion/code", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == ADMIN
    assert first.get(ADMIN).status_code == 200

    second = visitor(app)  # the same code, seen over a shoulder
    password_step(second, STAFF)
    response = second.post("/compte/connexion/code", data={"code": code})
    assert response.status_code == 422
    assert not signed_in(second)


def test_one_code_posted_twice_at_once_signs_in_once(app):
    enable(app, STAFF)
    clients = [visitor(app) for _ in range(4)]
    for client in clients:
        password_step(client, STAFF)
    code = fresh_code(app, STAFF)
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))

    def post(client) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        statuses.append(client.post("/compte/connexion/code", data={"code": code}).status_code)

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 422, 422, 422]


def test_a_recovery_code_signs_in_once(app):
    codes = enable(app, STAFF)
    first = visitor(app)
    password_step(first, STAFF)
    response = first.post("/compte/connexion/code", data={"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302
    assert "Code de secours accepté. Il vous en reste 9." in text_of(first.get("/compte/"))

    second = visitor(app)
    password_step(second, STAFF)
    assert second.post("/compte/connexion/code", data={"code": codes[3]}).status_code == 422
    assert not signed_in(second)
    assert second.post("/compte/connexion/code", data={"code": codes[4]}).status_code == 302


def test_the_second_step_expires(app, client):
    enable(app, STAFF)
    password_step(client, STAFF)
    with client.session_transaction() as sess:
        pending = sess[security.PENDING_LOGIN]
        sess[security.PENDING_LOGIN] = dict(pending, exp=int(time.time()) - 1)
    response = client.post("/compte/connexion/code", data={"code": fresh_code(app, STAFF)}, follow_redirects=True)
    assert "Le délai pour saisir le code est dépassé. Reconnectez-vous." in text_of(response)
    assert not signed_in(client)


def test_the_second_step_without_a_first_one_goes_back_to_the_log_in(client):
    response = client.post("/compte/connexion/code", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/compte/connexion"


def test_remember_me_is_honoured_after_the_second_step(app):
    enable(app, CUSTOMER)
    client = visitor(app)
    password_step(client, CUSTOMER, remember="y")
    client.post("/compte/connexion/code", data={"code": fresh_code(app, CUSTOMER)})
    restarted = visitor(app)
    restarted.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert signed_in(restarted)


def test_turning_it_off_needs_the_password_and_a_code_again(app, client):
    codes = enable(app, CUSTOMER)
    password_step(client, CUSTOMER)
    client.post("/compte/connexion/code", data={"code": codes[0]})
    with client.session_transaction() as sess:
        sess[security.REAUTH_AT] = int(time.time() - 3600)
    response = client.post("/compte/double-authentification/desactiver")
    assert response.status_code == 302 and response.headers["Location"].startswith("/compte/confirmer")
    page = text_of(client.get(response.headers["Location"]))
    assert "Code de l'application d'authentification" in page

    response = client.post("/compte/confirmer", data={"password": PASSWORD, "next": "/compte/double-authentification"})
    assert response.status_code == 422 and "Mot de passe ou code incorrect." in text_of(response)
    response = client.post("/compte/confirmer", data={"password": PASSWORD, "code": fresh_code(app, CUSTOMER),
                                                      "next": "/compte/double-authentification"})
    assert response.status_code == 302
    assert client.post("/compte/double-authentification/desactiver").status_code == 302
    user = user_row(app, CUSTOMER)
    assert user.totp_enabled_at is None and user.totp_secret is None
    with session_for(app) as session:
        assert session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).first() is None
    assert password_step(visitor(app), CUSTOMER).headers["Location"] == "/"  # password only again


def test_turning_it_on_ends_the_other_sessions(app):
    here, there = visitor(app), visitor(app)
    login(here, CUSTOMER)
    login(there, CUSTOMER)
    here.post("/compte/double-authentification/activer")
    here.post("/compte/double-authentification/confirmer", data={"code": fresh_code(app, CUSTOMER)})
    assert signed_in(here)
    assert not signed_in(there)


def test_new_recovery_codes_replace_the_old_ones(app, client):
    old = enable(app, CUSTOMER)
    password_step(client, CUSTOMER)
    client.post("/compte/connexion/code", data={"code": old[0]})
    response = client.post("/compte/double-authentification/codes-de-secours")
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    other = visitor(app)
    password_step(other, CUSTOMER)
    assert other.post("/compte/connexion/code", data={"code": old[1]}).status_code == 422
    assert other.post("/compte/connexion/code", data={"code": new[1]}).status_code == 302


# ------------------------------------------------------------ REQUIRE_STAFF_TOTP


@pytest.mark.parametrize("email", [STAFF, OPERATOR])
def test_when_required_staff_without_it_are_sent_to_enrol_before_the_back_office(database, email):
    app = make_app(database, REQUIRE_STAFF_TOTP=True)
    client = visitor(app)
    login(client, email)
    response = client.get(ADMIN + "commandes")
    assert response.status_code == 302
    assert response.headers["Location"] == "/compte/double-authentification?next=" + "/gestion/domaine-de-la-vernette/commandes"
    page = text_of(client.get(response.headers["Location"]))
    assert "La double authentification est obligatoire pour accéder à la gestion" in page
    assert client.get("/compte/").status_code == 200  # the rest of the account is open

    client.post("/compte/double-authentification/activer", data={"next": ADMIN + "commandes"})
    response = client.post("/compte/double-authentification/confirmer",
                           data={"code": fresh_code(app, email), "next": ADMIN + "commandes"})
    assert f'href="{ADMIN}commandes"' in response.get_data(as_text=True)
    assert client.get(ADMIN + "commandes").status_code == 200
    # and it cannot be turned off while required
    client.post("/compte/double-authentification/desactiver")
    assert user_row(app, email).totp_enabled_at is not None


def test_when_not_required_staff_go_straight_in_and_customers_are_never_asked(database):
    app = make_app(database)
    staff = visitor(app)
    login(staff, STAFF)
    assert staff.get(ADMIN).status_code == 200
    required = make_app(database, REQUIRE_STAFF_TOTP=True)
    customer = visitor(required)
    login(customer, CUSTOMER)
    assert customer.get("/compte/").status_code == 200
    assert customer.get(ADMIN).status_code == 404  # not staff: the back office stays hidden
