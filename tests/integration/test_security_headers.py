"""Security headers on every response (pages, fragments, errors, static files), the
cookies' attributes over HTTPS, and no inline script or style in any page.

The page checks walk the URL map: a route added later is covered without editing
this file."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import EstateCustomer, Order, Wine
from services import security
from tests.conftest import login, make_app, session_for, visitor

SLUG = "domaine-de-la-vernette"
REQUIRED_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            assert words[0] not in parsed, f"{words[0]} given twice"
            parsed[words[0]] = words[1:]
    return parsed


def assert_secure_headers(response, *, https: bool = False) -> None:  # type: ignore[no-untyped-def]
    headers = response.headers
    csp = directives(headers.get("Content-Security-Policy", ""))
    for name, values in REQUIRED_DIRECTIVES.items():
        assert csp.get(name) == values, f"{name}: {csp.get(name)}"
    assert csp["form-action"][0] == "'self'"
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "same-origin")
    assert "camera=()" in headers["Permissions-Policy"]
    if https:
        assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    else:
        assert "Strict-Transport-Security" not in headers


def test_a_page_carries_the_csp_and_the_other_headers(client):
    response = client.get(f"/{SLUG}/")
    assert response.status_code == 200
    assert_secure_headers(response)


def test_an_htmx_fragment_carries_them_too(app, client):
    login(client, "vigneron@vernette.example")
    response = client.get(f"/gestion/{SLUG}/commandes?q=x", headers={"HX-Request": "true", "HX-Target": "orders-table"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert_secure_headers(response)


@pytest.mark.parametrize("url, method, status", [
    ("/nulle-part/", "GET", 404),
    ("/compte/deconnexion", "GET", 405),
    ("/static/css/nothing.css", "GET", 404),
])
def test_error_pages_carry_them(client, url, method, status):
    response = client.open(url, method=method)
    assert response.status_code == status
    assert_secure_headers(response)


def test_a_refused_csrf_token_and_a_server_error_carry_them(database):
    app = make_app(database, WTF_CSRF_ENABLED=True, TESTING=False)

    @app.get("/boom-for-test")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    client = visitor(app)
    response = client.post("/compte/connexion", data={"email": "client@chai.example", "password": "x"})
    assert response.status_code == 400
    assert_secure_headers(response)
    response = client.get("/boom-for-test")
    assert response.status_code == 500 and "Une erreur est survenue" in response.get_data(as_text=True)
    assert_secure_headers(response)


def test_static_files_carry_them(client):
    page = client.get(f"/{SLUG}/").get_data(as_text=True)
    for link in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        response = client.get(link)
        assert response.status_code == 200
        assert_secure_headers(response)
        response.close()


def test_hsts_is_sent_over_https_only(client):
    assert_secure_headers(client.get("/", base_url="https://shop.test"), https=True)
    assert_secure_headers(client.get("/", base_url="http://shop.test"), https=False)


def test_behind_a_proxy_https_is_read_from_x_forwarded_proto(database):
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = make_app(database)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)  # what gunicorn's forwarded_allow_ips does
    response = visitor(app).get("/", headers={"X-Forwarded-Proto": "https"})
    assert_secure_headers(response, https=True)


def test_form_action_allows_the_payment_page_and_nothing_else(database):
    app = make_app(database, MANGOPAY_BASE_URL="http://127.0.0.1:8765/v2.01/", PAYMENT_PAGE_ORIGINS=["https://pay.example"])
    csp = directives(visitor(app).get("/").headers["Content-Security-Policy"])
    assert csp["form-action"] == ["'self'", "https://pay.example", "http://127.0.0.1:8765"]


def test_a_view_may_send_a_stricter_policy_of_its_own(database):
    app = make_app(database)

    @app.get("/strict-for-test")
    def strict():  # type: ignore[no-untyped-def]
        return "x", 200, {"Content-Security-Policy": "default-src 'none'; sandbox"}

    response = visitor(app).get("/strict-for-test")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------------- cookies


def _set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_over_https_the_session_and_remember_cookies_are_secure_host_cookies(database):
    app = make_app(database, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.post("/compte/connexion", base_url="https://shop.test",
                           data={"email": "client@chai.example", "password": "chai-demo-2026", "remember": "y"})
    assert response.status_code == 302
    cookies = _set_cookies(response)
    assert set(cookies) == {"__Host-session", "__Host-remember_token"}, cookies
    for header in cookies.values():
        attributes = [part.strip() for part in header.split(";")]
        assert "Secure" in attributes and "HttpOnly" in attributes and "SameSite=Lax" in attributes
        assert "Path=/" in attributes
        assert not any(part.lower().startswith("domain=") for part in attributes)
    assert client.get("/compte/", base_url="https://shop.test").status_code == 200


def test_over_plain_http_the_demo_cookies_are_http_only_and_same_site(client):
    response = client.post("/compte/connexion", data={"email": "client@chai.example", "password": "chai-demo-2026",
                                                     "remember": "y"})
    cookies = _set_cookies(response)
    assert set(cookies) == {"session", "remember_token"}
    for header in cookies.values():
        assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


def test_signed_in_pages_are_not_stored_by_caches(client):
    login(client, "client@chai.example")
    assert "no-store" in client.get("/compte/").headers["Cache-Control"]


def test_cookie_settings_keep_an_explicit_host_prefix():
    settings = security.cookie_settings({"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_NAME": "__Host-chai"})
    assert settings["SESSION_COOKIE_NAME"] == "__Host-chai"
    assert settings["REMEMBER_COOKIE_NAME"] == "__Host-remember_token"
    assert security.cookie_settings({"SESSION_COOKIE_SECURE": False}).get("SESSION_COOKIE_NAME") is None


# ------------------------------------------------- every page: no inline code

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def _get_urls(app) -> list[str]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        known = {
            "wine_id": session.scalars(select(Wine.id).order_by(Wine.id)).first(),
            "order_id": session.scalars(select(Order.id).order_by(Order.id)).first(),
            "number": session.scalars(select(Order.number).order_by(Order.id)).first(),
            "customer_id": session.scalars(select(EstateCustomer.id).order_by(EstateCustomer.id)).first(),
        }
    values = {"estate_slug": SLUG, "filename": "css/chai.css", "kind": "bon-de-commande", "code": "fr",
              "version": 1,  # a CGV version number (issue 15)
              **{k: v for k, v in known.items() if v is not None}}
    adapter = app.url_map.bind("shop.test")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        args = {name: values.get(name, 1 if name.endswith("_id") else "x") for name in rule.arguments}
        urls.append(adapter.build(rule.endpoint, args))
    return urls


@pytest.mark.parametrize("who", [None, "client@chai.example", "vigneron@vernette.example", "operateur@chai.example"])
def test_every_get_route_carries_the_csp_and_its_pages_hold_no_inline_script_or_style(database, who):
    app = make_app(database, TESTING=False)  # a failing page renders the error page, which is checked too
    client = visitor(app)
    if who:
        login(client, who)
    urls = _get_urls(app)
    assert len(urls) >= 25
    pages = 0
    for url in urls:
        response = client.get(url)
        assert "Content-Security-Policy" in response.headers, url
        assert_secure_headers(response)
        if response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER, JS_URL):
                match = pattern.search(html)
                assert match is None, f"{url}: {match.group(0)[:120]}"
            pages += response.status_code == 200
        response.close()
    assert pages >= 5
