"""Fixtures shared by every test layer.

* ``app`` / ``client``: the real app on a real SQLite file per test, copied from a
  template database that was migrated with Alembic and seeded with the demo once.
* ``smtp``: a real SMTP server (aiosmtpd) on a free local port.
* ``session_for(app)``: a database session outside any request, for arranging and
  checking rows (it opts out of the estate filter, as platform code does).
"""

from __future__ import annotations

import shutil
import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from models import db
from services.demo import DEMO_PASSWORD
from services.tenancy import allow_all_estates

TEST_SECRET = "test-secret-key-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_app(db_file: Path, **overrides: object) -> Flask:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(db_file.parent),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "SECRET_KEY": TEST_SECRET,
        "WTF_CSRF_ENABLED": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 9,  # discard; tests that read mail use the smtp fixture
        "MAIL_SEND_ON_REQUEST": False,
        "PUBLIC_URL": "http://shop.test",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Alembic-migrated, demo-seeded database file, copied for each test."""
    from flask_migrate import upgrade

    from services.demo import seed_demo

    path = tmp_path_factory.mktemp("template") / "chai.sqlite3"
    app = make_app(path)
    with app.app_context():
        upgrade()
        allow_all_estates(db.session)
        seed_demo(db.session)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def db_file(template_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "chai.sqlite3"
    shutil.copyfile(template_db, target)
    return target


@pytest.fixture
def app(db_file: Path) -> Iterator[Flask]:
    application = make_app(db_file)
    yield application
    with application.app_context():
        db.engine.dispose()


def visitor(app: Flask) -> FlaskClient:
    """A browser of its own, past the age gate."""
    test_client = app.test_client()
    with test_client.session_transaction() as sess:
        sess["age_ok"] = True
    return test_client


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return visitor(app)


@contextmanager
def session_for(app: Flask) -> Iterator:
    with app.app_context():
        allow_all_estates(db.session)
        try:
            yield db.session
        finally:
            db.session.remove()


def login(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> None:
    response = client.post("/compte/connexion", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


# ------------------------------------------------------------------------- SMTP


class Mailbox:
    """Messages received by the test SMTP server; ``wait_for`` blocks on a condition,
    never on a fixed sleep."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # aiosmtpd hook
        with self._cond:
            self.messages.append(message_from_bytes(envelope.content))
            self._cond.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")
            return list(self.messages)


class SmtpServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def body_of(message: Message, subtype: str = "plain") -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The response body with HTML entities decoded (Jinja escapes apostrophes)."""
    import html

    return html.unescape(response.get_data(as_text=True))


# ------------------------------------------------------------------- payments


@pytest.fixture
def sandbox() -> Iterator:
    """The local Mangopay API simulator the real adapter talks to."""
    from services.payments.sandbox import MangopaySandbox

    server = MangopaySandbox().start()
    yield server
    server.stop()


def checkout_form(**overrides: str) -> dict[str, str]:
    """A complete checkout form for a guest (override or drop keys as needed)."""
    data = {
        "checkout_token": "tok-" + overrides.pop("token", "default"),
        "email": "nouveau@client.example", "password": "un-mot-de-passe", "confirm": "un-mot-de-passe",
        "first_name": "Camille", "last_name": "Durand", "phone": "06 12 34 56 78", "company": "",
        "street": "3 rue des Lilas", "postcode": "69007", "city": "Lyon", "country": "FR",
        "delivery": "home", "payment_mode": "cheque", "accept_conditions": "y", "adult": "y",
        "shipping_country": "FR",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def first_orderable_wine(app, slug: str, stock: int | None = None):  # type: ignore[no-untyped-def]
    """(wine id, order multiple, TTC unit price) of a visible, available wine priced on
    "Particuliers" without promotion; optionally set its stock first."""
    from sqlalchemy import select

    from models import Estate, Price, PriceList, Wine

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                               PriceList.name == "Particuliers")).one()
        wine, price = session.execute(
            select(Wine, Price).join(Price, Price.wine_id == Wine.id)
            .where(Price.price_list_id == particuliers.id, Price.promo_active.is_(False), Wine.is_visible.is_(True),
                   Wine.is_available.is_(True), Wine.order_multiple == 1, Wine.stock >= 24)
            .order_by(Wine.id)).first()
        if stock is not None:
            wine.stock = stock
            session.commit()
        return wine.id, wine.order_multiple, price.amount_cents
