"""One live server and one headless Chromium for the whole browser session.

The server is the real app (CSRF on) on a copy of the migrated, demo-seeded database, served
by werkzeug in a thread; Chromium is Debian's, driven by Playwright. A missing
Chromium fails the run: a skipped browser test would prove nothing.
"""

from __future__ import annotations

import shutil
import threading
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from models import db
from tests.conftest import SmtpServer, TestDatabase, free_port, make_app

CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # no calls out of this machine
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LiveServer:
    def __init__(self, database: TestDatabase, smtp_port: int, payment_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = make_app(database, WTF_CSRF_ENABLED=True, TESTING=False, MAIL_PORT=smtp_port,
                            MAIL_SEND_ON_REQUEST=True, MANGOPAY_BASE_URL=payment_url, PUBLIC_URL=self.url)
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_sandbox() -> Iterator:
    from services.payments.sandbox import MangopaySandbox

    sandbox = MangopaySandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def live_server(template_db: TestDatabase, new_database, live_smtp: SmtpServer,  # type: ignore[no-untyped-def]
                live_sandbox) -> Iterator[LiveServer]:
    database = new_database(template_db)
    server = LiveServer(database, live_smtp.port, live_sandbox.base_url)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed: run scripts/test.sh, which installs Debian's chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server: LiveServer) -> Iterator:
    context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def fill_customer(page, *, first: str, last: str, phone: str, street: str, postcode: str, city: str,  # type: ignore[no-untyped-def]
                  email: str | None = None, password: str = "un-mot-de-passe") -> None:
    """The checkout's identity and billing fields; with ``email``, the new-account ones too."""
    if email is not None:
        page.get_by_label("Adresse email").fill(email)
        page.get_by_label("Choisissez un mot de passe").fill(password)
        page.get_by_label("Confirmez le mot de passe").fill(password)
    page.get_by_label("Prénom").fill(first)
    page.get_by_label("Nom", exact=True).fill(last)
    page.get_by_label("Téléphone").fill(phone)
    page.get_by_label("Adresse", exact=True).fill(street)
    page.locator("#postcode").fill(postcode)
    page.get_by_label("Commune").first.fill(city)


def accept_and_place_order(page, birth_date: str = "1985-04-12") -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("J'ai lu et j'accepte les conditions générales de vente").check()
    page.get_by_label("Date de naissance").fill(birth_date)  # issue 15: 18 or over
    page.get_by_label("Je certifie avoir 18 ans ou plus").check()
    page.get_by_role("button", name="Valider la commande").click()
