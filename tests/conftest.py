"""Fixtures shared by every test layer.

* ``app`` / ``client``: the real app on a real SQLite file per test, copied from a
  template database that was migrated with Alembic and seeded with the demo once.
* ``smtp``: a real SMTP server (aiosmtpd) on a free local port.
* ``session_for(app)``: a database session outside any request, for arranging and
  checking rows (it opts out of the estate filter, as platform code does).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import threading
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.pool import NullPool

from app import create_app, normalise_database_url
from models import db
from services.demo import DEMO_PASSWORD
from services.tenancy import allow_all_estates

T = TypeVar("T")

TEST_SECRET = "test-secret-key-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestDatabase:
    """Where a test's database lives: a SQLite file, or a database on the PostgreSQL
    server of the run (``pytest --db postgresql``); ``instance_path`` is its own folder."""

    __test__ = False  # not a test class, although its name starts with "Test"

    def __init__(self, url: str, instance_path: Path, backend: str) -> None:
        self.url = url
        self.instance_path = instance_path
        self.backend = backend

    def __repr__(self) -> str:
        return f"TestDatabase({self.url!r})"


def make_app(database: TestDatabase | Path, **overrides: object) -> Flask:
    if isinstance(database, Path):  # a SQLite file of the test's own
        database = TestDatabase(f"sqlite:///{database}", database.parent, "sqlite")
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(database.instance_path),
        "SQLALCHEMY_DATABASE_URI": database.url,
        "SECRET_KEY": TEST_SECRET,
        "WTF_CSRF_ENABLED": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 9,  # discard; tests that read mail use the smtp fixture
        "FACEBOOK_GRAPH_URL": "http://127.0.0.1:9/v21.0",  # refused: never Facebook; tests/fake_graph.py serves it
        "MAIL_SEND_ON_REQUEST": False,
        "PUBLIC_URL": "http://shop.test",
        "RATELIMIT_ENABLED": False,  # tests log in often; tests/integration/test_rate_limits.py turns it on
    }
    config.update(overrides)
    application = create_app(config)
    _made_apps.append(application)
    return application


_made_apps: list[Flask] = []


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    """Close the pools of every app a test made: PostgreSQL keeps a server process per
    open connection, and a test database cannot be dropped while one is open."""
    yield
    while _made_apps:
        with _made_apps.pop().app_context():
            db.engine.dispose()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=("sqlite", "postgresql"), default=os.environ.get("CHAI_TEST_DB", "sqlite"),
        help="Database of the run. postgresql uses DATABASE_URL's server when given, else starts "
             "a throw-away cluster from Debian's packages (tests/pgcluster.py).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "sqlite":
        skip = pytest.mark.skip(reason="checks SQLite's own settings")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


class PostgresServer:
    """Creates and drops the run's databases on one PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.admin_url = make_url(admin_url)
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.names = itertools.count()

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        return self.url(name)

    def drop(self, name: str) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer | None]:
    if backend != "postgresql":
        yield None
        return
    given = os.environ.get("DATABASE_URL")
    if given:
        yield PostgresServer(normalise_database_url(given))
        return
    from tests import pgcluster

    folder = Path(tempfile.mkdtemp(prefix="chai-pg-"))
    try:
        yield PostgresServer(pgcluster.start(folder))
    finally:
        pgcluster.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def new_database(backend: str, pg_server: PostgresServer | None, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``new_database(template=None)``: an empty database, or a copy of ``template``."""

    def create(template: TestDatabase | None = None) -> TestDatabase:
        folder = tmp_path_factory.mktemp("db")
        if backend == "sqlite":
            path = folder / "chai.sqlite3"
            if template is not None:
                shutil.copyfile(template.url.removeprefix("sqlite:///"), path)
            return TestDatabase(f"sqlite:///{path}", folder, backend)
        assert pg_server is not None
        name = f"chai_test_{os.getpid()}_{next(pg_server.names)}"
        source = template.url.rsplit("/", 1)[1] if template is not None else None
        return TestDatabase(pg_server.create(name, source), folder, backend)

    return create


@pytest.fixture(scope="session")
def template_db(new_database) -> TestDatabase:  # type: ignore[no-untyped-def]
    """An Alembic-migrated, demo-seeded database, copied for each test."""
    from flask_migrate import upgrade

    from services.demo import seed_demo

    template = new_database()
    app = make_app(template)
    with app.app_context():
        upgrade()
        allow_all_estates(db.session)
        seed_demo(db.session, producer_group=False, tastings=False, platform=False)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return template


@pytest.fixture
def database(template_db: TestDatabase, new_database, pg_server: PostgresServer | None) -> Iterator[TestDatabase]:  # type: ignore[no-untyped-def]
    copy = new_database(template_db)
    yield copy
    if pg_server is not None:
        pg_server.drop(copy.url.rsplit("/", 1)[1])


@pytest.fixture
def empty_database(new_database, pg_server: PostgresServer | None) -> Iterator[TestDatabase]:  # type: ignore[no-untyped-def]
    fresh = new_database()
    yield fresh
    if pg_server is not None:
        pg_server.drop(fresh.url.rsplit("/", 1)[1])


@pytest.fixture
def app(database: TestDatabase) -> Flask:
    return make_app(database)


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Each call in a thread of its own, all released together (a barrier): their
    results, in the order of ``calls`` (the concurrency tests' "at the same moment")."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait()
        results[n] = calls[n]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


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
        "shipping_country": "FR", "birth_date": "1980-05-17",
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
