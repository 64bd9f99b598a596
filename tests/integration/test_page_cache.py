"""The kept anonymous shop pages (services.page_cache): never older than their rows,
each visitor's own CSRF token and cart, and nothing kept for signed-in visitors."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Price, PriceList, Wine
from services.templating import euros
from tests.conftest import login, make_app, session_for, text_of, visitor
from tests.querycount import count_queries

VERNETTE = "domaine-de-la-vernette"
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _particulier_price(app, reference: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(wine id, price id) of a demo wine on "Particuliers"."""
    with session_for(app) as session:
        return session.execute(
            select(Wine.id, Price.id).join(Price, Price.wine_id == Wine.id)
            .join(PriceList, PriceList.id == Price.price_list_id)
            .where(Wine.reference == reference, PriceList.name == "Particuliers")).one()


def _set_price(app, price_id: int, cents: int) -> None:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        session.get(Price, price_id).amount_cents = cents
        session.commit()


def test_a_price_change_shows_at_once_on_the_estate_and_wine_pages(app):
    wine_id, price_id = _particulier_price(app, "VER-MOR-22")
    client = visitor(app)
    for url in (f"/{VERNETTE}/", f"/{VERNETTE}/vin/{wine_id}"):
        client.get(url)  # kept
    _set_price(app, price_id, 4321)
    with app.test_request_context():
        shown = euros(4321)
    for url in (f"/{VERNETTE}/", f"/{VERNETTE}/vin/{wine_id}"):
        assert shown in text_of(client.get(url))
        assert shown in text_of(visitor(app).get(url))


def test_a_hidden_wine_leaves_the_kept_page_and_its_own_page_is_gone(app):
    wine_id, _ = _particulier_price(app, "VER-MOR-22")
    client = visitor(app)
    assert f'id="vin-{wine_id}"' in text_of(client.get(f"/{VERNETTE}/"))
    assert client.get(f"/{VERNETTE}/vin/{wine_id}").status_code == 200
    with session_for(app) as session:
        session.get(Wine, wine_id).is_visible = False
        session.commit()
    assert f'id="vin-{wine_id}"' not in text_of(client.get(f"/{VERNETTE}/"))
    assert client.get(f"/{VERNETTE}/vin/{wine_id}").status_code == 404


def test_each_visitor_gets_their_own_csrf_token_and_it_is_accepted(database):
    app = make_app(database, WTF_CSRF_ENABLED=True)
    wine_id, _ = _particulier_price(app, "VER-MOR-22")
    tokens = []
    for _ in range(2):
        client = visitor(app)
        page = client.get(f"/{VERNETTE}/").get_data(as_text=True)
        header, inputs = CSRF_HEADER.search(page).group(1), set(CSRF_INPUT.findall(page))
        assert "chai-csrf-" not in page and len(inputs) == 1
        response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "1"},
                               headers={"HX-Request": "true", "X-CSRFToken": header})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        response = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}",
                               data={"quantity": "1", "csrf_token": inputs.pop()})
        assert response.status_code == 302
        tokens.append(header.split(".", 1)[0])
    assert tokens[0] != tokens[1]  # two sessions, two raw tokens: no visitor sees another's


def test_the_cart_badge_is_each_visitors_own(app):
    wine_id, _ = _particulier_price(app, "VER-MOR-22")
    buyer, onlooker = visitor(app), visitor(app)
    onlooker.get(f"/{VERNETTE}/")  # the page is kept with an empty cart
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "3"})
    badge = re.compile(r'id="cart-badge"[^>]*>\s*\S+ <span class="badge on">(\d+)</span>')
    buyer.get(f"/{VERNETTE}/")  # shows the flash message of the add
    assert badge.search(text_of(buyer.get(f"/{VERNETTE}/"))).group(1) == "3"
    assert badge.search(text_of(onlooker.get(f"/{VERNETTE}/"))).group(1) == "0"


def test_a_signed_in_professional_gets_their_own_prices_not_a_kept_page(app):
    client = visitor(app)
    anonymous = text_of(client.get(f"/{VERNETTE}/"))
    assert "HT" not in re.sub(r"<[^>]+>", " ", anonymous).split()
    login(client, "caviste@chai.example")
    page = text_of(client.get(f"/{VERNETTE}/"))
    assert "Mon compte" in page and "prix hors taxe" in page


def test_a_session_holding_more_than_the_neutral_keys_gets_the_page_rendered_for_it(app):
    visitor(app).get(f"/{VERNETTE}/")  # kept
    with count_queries(app) as kept:
        assert visitor(app).get(f"/{VERNETTE}/").status_code == 200
    other = visitor(app)
    with other.session_transaction() as session:
        session["promo_codes"] = {}  # not in page_cache.NEUTRAL_SESSION_KEYS
    with count_queries(app) as rendered:
        assert other.get(f"/{VERNETTE}/").status_code == 200
    assert len(rendered) > len(kept)


def _changed(value, column):  # type: ignore[no-untyped-def]
    """Another value of the column's type (None: no other value to try)."""
    import enum
    from datetime import date, datetime, timedelta

    python_type = column.type.python_type if not hasattr(column.type, "enum_class") or column.type.enum_class is None \
        else column.type.enum_class
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        others = [member for member in python_type if member != value]
        return others[0] if others else None
    if python_type is bool:
        return not value
    if python_type is int:
        return 0 if value else 1
    if python_type is str:
        return (value or "") + " modifié"
    if python_type in (date, datetime):
        return (value or datetime(2026, 1, 1)) + timedelta(days=40)
    return None


def test_every_column_the_estate_page_shows_is_in_its_key(app):
    """services.catalogue reads the estate page's key from a chosen list of columns of
    wine, price and wine_image: change each column of those tables in turn and the kept
    page must still equal the page rendered afresh (a column the page shows but the key
    misses would leave the kept page stale)."""
    from sqlalchemy import update

    from models import WineImage
    from services import page_cache

    wine_id, price_id = _particulier_price(app, "VER-MOR-22")
    with session_for(app) as session:
        image_id = session.scalar(select(WineImage.id).where(WineImage.wine_id == wine_id))
        if image_id is None:
            wine = session.get(Wine, wine_id)
            image = WineImage(estate_id=wine.estate_id, wine_id=wine_id, path="vin.webp", position=0)
            session.add(image)
            session.commit()
            image_id = image.id
    skipped = {"id", "estate_id", "wine_id", "price_list_id", "vat_rate_id", "is_visible"}
    client = visitor(app)
    url = f"/{VERNETTE}/"
    checked = []
    for model, row_id in ((Wine, wine_id), (Price, price_id), (WineImage, image_id)):
        for column in model.__table__.columns:
            if column.name in skipped:
                continue
            with session_for(app) as session:
                before = session.execute(select(column).where(model.__table__.c.id == row_id)).scalar()
            after = _changed(before, column)
            if after is None:
                continue
            client.get(url)  # kept under the current rows
            with session_for(app) as session:
                try:
                    session.execute(update(model.__table__).where(model.__table__.c.id == row_id)
                                    .values({column.name: after}))
                    session.commit()
                except Exception:  # a CHECK refuses this value: try the next column
                    session.rollback()
                    continue
            kept = text_of(client.get(url))
            page_cache.clear(app)
            fresh = text_of(client.get(url))
            assert kept == fresh, f"{model.__name__}.{column.name} shows on the estate page but is not in its key"
            checked.append(f"{model.__name__}.{column.name}")
    assert len(checked) > 20, checked


def test_the_kept_add_answer_carries_each_visitors_token_count_and_message(database):
    """The htmx answer to "Ajouter" is kept per what it shows (shop/cart.py): two
    visitors adding the same wine each get their own CSRF token and bottle count, and a
    refused add its own message."""
    app = make_app(database, WTF_CSRF_ENABLED=True)
    wine_id, _ = _particulier_price(app, "VER-MOR-22")
    badge = re.compile(r'id="cart-badge"[^>]*>\s*\S+ <span class="badge on">(\d+)</span>')
    answers = []
    for quantity in ("6", "12"):
        client = visitor(app)
        page = client.get(f"/{VERNETTE}/").get_data(as_text=True)
        token = CSRF_HEADER.search(page).group(1)
        headers = {"HX-Request": "true", "X-CSRFToken": token}
        answer = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": quantity}, headers=headers)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200 and "Ajouté au panier." in html
        assert badge.search(html).group(1) == quantity
        assert set(CSRF_INPUT.findall(html)) == {token} and "chai-" not in html
        again = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}, headers=headers)
        assert badge.search(again.get_data(as_text=True)).group(1) == str(int(quantity) + 6)
        refused = client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "abc"}, headers=headers)
        assert refused.status_code == 422 and "Ajouté au panier." not in refused.get_data(as_text=True)
        answers.append(token)
    assert answers[0] != answers[1]


def test_kept_pages_lose_the_templates_indentation_but_not_the_text(app):
    """services.page_cache sends the kept page without the templates' indentation (a
    fifth of the estate page): the same page to the eye; and a page holding <pre> or a
    <textarea>, whose spaces show, is kept as rendered."""
    from services import page_cache

    client = visitor(app)
    url = f"/{VERNETTE}/"
    kept = text_of(client.get(url))
    assert "\n  " not in kept and "\n\t" not in kept
    with client.session_transaction() as session:
        session["promo_codes"] = {}  # not neutral: rendered for this visitor, not kept
    rendered = text_of(client.get(url))
    assert "\n  " in rendered
    assert re.sub(r"\s+", " ", kept) == re.sub(r"\s+", " ", rendered)
    assert page_cache._compact("<pre>\n  a\n    b</pre>") == "<pre>\n  a\n    b</pre>"
    assert page_cache._compact("<p>\n  a\n    b</p>") == "<p>\na\nb</p>"
