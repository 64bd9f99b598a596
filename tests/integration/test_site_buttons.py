""""Sur votre site": copy-ready buttons for the estate's own website (seed 000), and the
shop page their "straight into the cart" link lands on (a GET changes nothing; one
POST adds the wine)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from models import Cart, CartLine, Estate, Wine
from tests.conftest import first_orderable_wine, login, session_for, text_of, visitor

VERNETTE = "domaine-de-la-vernette"
ROZEL = "domaine-rozel"


def _snippets(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r'<textarea[^>]*readonly[^>]*>(.*?)</textarea>', page, re.S)]


def _href(snippet: str) -> str:
    return re.search(r'href="([^"]+)"', snippet).group(1)


def _buttons_page(app) -> str:  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    response = staff.get(f"/gestion/{VERNETTE}/boutons")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _cart_lines(app, estate_slug: str = VERNETTE) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == estate_slug)).one()
        return [(line.wine_id, line.quantity) for line in session.scalars(
            select(CartLine).join(Cart, Cart.id == CartLine.cart_id).where(Cart.estate_id == estate_id))]


def test_the_snippets_are_plain_links_with_inline_style_and_absolute_urls(app):
    page = _buttons_page(app)
    snippets = _snippets(page)
    with session_for(app) as session:
        visible = session.scalars(select(Wine).join(Estate).where(Estate.slug == VERNETTE,
                                                                  Wine.is_visible.is_(True))).all()
    assert len(snippets) == 1 + 2 * len(visible)
    for snippet in snippets:
        assert snippet.startswith("<a href=\"http://shop.test/") and snippet.endswith("</a>")
        assert 'style="' in snippet and 'rel="noopener"' in snippet and "<script" not in snippet
    assert _href(snippets[0]) == f"http://shop.test/{VERNETTE}/" and ">Boutique</a>" in snippets[0]
    # our own page previews them with a class, never an inline style (strict CSP)
    assert 'class="site-button"' in page
    outside_textareas = re.sub(r"<textarea.*?</textarea>", "", page, flags=re.S)
    assert "style=" not in outside_textareas
    assert "un seul clic sur « Ajouter au panier »" in html.unescape(page)


def test_every_snippet_url_resolves_in_the_shop(app):
    client = visitor(app)
    for snippet in _snippets(_buttons_page(app)):
        url = urlsplit(_href(snippet))
        response = client.get(url.path + ("?" + url.query if url.query else ""))
        assert response.status_code == 200, url


def test_the_cart_button_lands_on_a_page_that_adds_the_wine_with_one_post(app):
    wine_id, multiple, _ = first_orderable_wine(app, VERNETTE)
    snippet = next(s for s in _snippets(_buttons_page(app)) if f"/commander/{wine_id}?" in s)
    url = urlsplit(_href(snippet))
    client = visitor(app)
    landing = client.get(f"{url.path}?{url.query}")
    page = text_of(landing)
    assert landing.status_code == 200 and "Ajouter au panier" in page
    assert f'name="quantity" value="{multiple}"' in page
    assert _cart_lines(app) == []  # the GET changed nothing
    form = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    added = client.post(form, data={"quantity": "3", "back": f"/{VERNETTE}/panier"})
    assert added.status_code == 302 and added.headers["Location"] == f"/{VERNETTE}/panier"
    assert _cart_lines(app) == [(wine_id, 3)]
    assert "3 × « " in text_of(client.get(f"/{VERNETTE}/panier"))


def test_the_prefilled_quantity_follows_the_order_multiple(app):
    with session_for(app) as session:
        wine = session.scalars(select(Wine).join(Estate).where(Estate.slug == VERNETTE, Wine.order_multiple == 6,
                                                               Wine.is_visible.is_(True))).first()
        session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one().mixing_allowed = False
        session.commit()
        wine_id = wine.id
    client = visitor(app)
    for asked, shown in (("8", 12), ("6", 6), ("0", 6), ("n'importe quoi", 6), ("", 6), ("99999999", 6)):
        page = text_of(client.get(f"/{VERNETTE}/commander/{wine_id}?quantite={asked}"))
        assert f'name="quantity" value="{shown}"' in page, asked


def test_the_landing_page_is_behind_the_age_gate_and_refuses_other_wines(app):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    fresh = app.test_client()
    gate = fresh.get(f"/{VERNETTE}/commander/{wine_id}?quantite=6")
    assert gate.status_code == 302 and gate.headers["Location"].startswith("/age")
    client = visitor(app)
    assert client.get(f"/{ROZEL}/commander/{wine_id}").status_code == 404  # another estate's wine
    assert client.get(f"/{VERNETTE}/commander/999999").status_code == 404
    with session_for(app) as session:
        session.get(Wine, wine_id).is_visible = False
        session.commit()
    assert client.get(f"/{VERNETTE}/commander/{wine_id}").status_code == 404


def test_an_unavailable_wine_says_so_in_french_without_a_form(app):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    with session_for(app) as session:
        session.get(Wine, wine_id).stock = 0
        session.commit()
    page = text_of(visitor(app).get(f"/{VERNETTE}/commander/{wine_id}"))
    assert "n'est pas disponible à la commande en ce moment" in page and "Ajouter au panier" not in page


def test_a_customer_cannot_open_the_buttons_page(app):
    client = visitor(app)
    login(client, "client@chai.example")
    assert client.get(f"/gestion/{VERNETTE}/boutons").status_code == 404
