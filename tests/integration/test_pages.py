"""Public pages: the platform home, the age gate, estate and wine pages, language."""

from __future__ import annotations

from sqlalchemy import select

from models import Estate, Wine
from tests.conftest import session_for, text_of

HEALTH_WARNING = "L'abus d'alcool est dangereux pour la santé, à consommer avec modération."


def test_home_lists_the_estates_in_french_with_the_health_warning(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Domaine de la Vernette" in html and "Domaine Rozel" in html
    assert "Achetez directement aux vignerons" in html
    assert HEALTH_WARNING in html
    assert 'lang="fr"' in html


def test_a_first_visit_asks_for_the_age_before_the_shop(app):
    client = app.test_client()
    response = client.get("/domaine-rozel/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/age?next=/domaine-rozel/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "J'ai 18 ans ou plus" in page and HEALTH_WARNING in page


def test_confirming_the_age_is_remembered_for_the_session(app):
    client = app.test_client()
    response = client.post("/age", data={"answer": "yes", "next": "/domaine-rozel/"})
    assert response.status_code == 302 and response.headers["Location"] == "/domaine-rozel/"
    assert client.get("/domaine-rozel/").status_code == 200
    assert client.get("/").status_code == 200


def test_refusing_the_age_keeps_the_shop_closed(app):
    client = app.test_client()
    response = client.post("/age", data={"answer": "no", "next": "/domaine-rozel/"})
    assert "réservée aux personnes majeures" in response.get_data(as_text=True)
    assert client.get("/domaine-rozel/").status_code == 302


def test_the_age_gate_does_not_redirect_to_another_site(app):
    client = app.test_client()
    response = client.post("/age", data={"answer": "yes", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    response = client.post("/age", data={"answer": "yes", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_estate_page_groups_wines_by_colour_with_ttc_prices(client):
    html = client.get("/domaine-de-la-vernette/").get_data(as_text=True)
    assert "Vins rouges" in html and "Vins blancs" in html
    assert "€" in html and " HT" not in html
    assert HEALTH_WARNING in html


def test_estate_page_shows_when_an_unavailable_wine_comes_back(client, app):
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == "domaine-rozel")).one()
        wine = session.scalars(
            select(Wine).where(Wine.estate_id == estate.id, Wine.is_available.is_(False),
                               Wine.is_visible.is_(True), Wine.available_again_month.is_not(None))
        ).first()
        assert wine is not None, "the demo has an unavailable wine with a return date"
        wine.available_again_month, wine.available_again_year = 3, 2027
        session.commit()
    html = client.get("/domaine-rozel/").get_data(as_text=True)
    assert "Indisponible — de retour en mars 2027" in html


def test_hidden_wines_are_not_shown(client, app):
    with session_for(app) as session:
        hidden = session.scalars(select(Wine).where(Wine.is_visible.is_(False))).first()
        estate_slug = session.get(Estate, hidden.estate_id).slug
        hidden_id, hidden_name = hidden.id, hidden.name
    assert hidden_name not in client.get(f"/{estate_slug}/").get_data(as_text=True)
    assert client.get(f"/{estate_slug}/vin/{hidden_id}").status_code == 404


def test_wine_page_shows_its_technical_sheet(client, app):
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == "domaine-rozel")).one()
        wine = session.scalars(select(Wine).where(Wine.estate_id == estate.id, Wine.is_visible.is_(True),
                                                  Wine.grapes != "")).first()
        wine_id, name, grapes = wine.id, wine.name, wine.grapes
    response = client.get(f"/domaine-rozel/vin/{wine_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert name in html and "Fiche technique" in html and grapes in html


def test_a_wine_is_only_reachable_through_its_own_estate(client, app):
    with session_for(app) as session:
        rozel = session.scalars(select(Estate).where(Estate.slug == "domaine-rozel")).one()
        wine_id = session.scalars(select(Wine.id).where(Wine.estate_id == rozel.id)).first()
    assert client.get(f"/domaine-de-la-vernette/vin/{wine_id}").status_code == 404


def test_unknown_estate_is_a_french_404(client):
    response = client.get("/domaine-inconnu/")
    assert response.status_code == 404
    assert "Cette page n'existe pas." in text_of(response)


def test_the_video_is_embedded_on_the_estate_page(client, app):
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == "domaine-rozel")).one()
        estate.video_url = "https://www.youtube-nocookie.com/embed/abc123"
        session.commit()
    html = client.get("/domaine-rozel/").get_data(as_text=True)
    assert '<iframe src="https://www.youtube-nocookie.com/embed/abc123"' in html


def test_english_is_offered_as_a_second_language(client):
    response = client.get("/langue/en?next=/")
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in html
    assert "Buy directly from winegrowers" in html
    assert "Alcohol abuse is dangerous for your health" in html
    client.get("/langue/fr")
    assert "Achetez directement aux vignerons" in client.get("/").get_data(as_text=True)


def test_responses_vary_on_hx_request(client):
    assert "HX-Request" in client.get("/").headers.get("Vary", "")


def test_an_unexpected_error_shows_a_french_page(database):
    from tests.conftest import make_app

    app = make_app(database, TESTING=False)

    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("bug")

    app.add_url_rule("/boom-for-test", view_func=boom)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["age_ok"] = True
    response = client.get("/boom-for-test")
    assert response.status_code == 500
    assert "Une erreur est survenue. Réessayez dans un instant." in text_of(response)
    assert "Traceback" not in text_of(response)
