"""A Facebook page's posts come in as news (issue 14, seed 000 "Lier une page Facebook"),
through the real adapter and the real ``facebook-import`` job, against a local server
speaking that part of the Graph API (tests/fake_graph.py) on a frozen clock: each post
once, incremental runs, nothing half-written when Facebook fails, a retry on the next
run, and the back-office screen (link checked first, token never shown, unlink)."""

from __future__ import annotations

import html
import socket
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Estate, News
from services import facebook, jobs
from tests.conftest import login, session_for, text_of
from tests.fake_graph import FakeGraph

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
NOW = datetime(2026, 4, 1, 10, 0, tzinfo=timezone.utc)
URL = f"/gestion/{VERNETTE}/actualites/facebook"


@pytest.fixture
def graph(app):  # type: ignore[no-untyped-def]
    server = FakeGraph().start()
    app.config["FACEBOOK_GRAPH_URL"] = server.base_url
    yield server
    server.stop()


def link(app, graph: FakeGraph, slug: str = VERNETTE, page_id: str | None = None, token: str | None = None) -> None:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        estate.facebook_page_id = page_id or graph.page_id
        estate.facebook_page_token = token or graph.token
        session.commit()


def estate_of(app, slug: str = VERNETTE) -> dict:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        return {"page_id": estate.facebook_page_id, "token": estate.facebook_page_token,
                "imported_at": estate.facebook_imported_at, "error": estate.facebook_error}


def imported(app, slug: str = VERNETTE) -> list[News]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == slug)).one()
        rows = session.scalars(select(News).where(News.estate_id == estate_id, News.source == "facebook")
                               .order_by(News.published_at)).all()
        session.expunge_all()
        return list(rows)


def posts_calls(graph: FakeGraph) -> int:
    return sum(1 for path, _query in graph.calls if path.endswith("/posts"))


def test_three_posts_become_three_news_and_a_second_run_adds_only_the_new_one(app, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    for text in ("Les vendanges commencent !\nRendez-vous au chai dès lundi.", "Nouveau millésime 2025",
                 "Portes ouvertes samedi"):
        graph.add_post(text, picture="https://scontent.example/photo.jpg")

    jobs.run_by_hand(app, "facebook-import", NOW)

    news = imported(app)
    assert [n.title for n in news] == ["Les vendanges commencent !", "Nouveau millésime 2025", "Portes ouvertes samedi"]
    assert [n.facebook_post_id for n in news] == [p["id"] for p in graph.posts]
    assert news[0].body_html == "<p>Les vendanges commencent !<br>Rendez-vous au chai dès lundi.</p>"
    assert news[0].published_at == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    assert news[0].image_url == "https://scontent.example/photo.jpg"
    assert not any(n.customers_only for n in news)
    assert estate_of(app)["imported_at"] == NOW and estate_of(app)["error"] == ""

    graph.add_post("Le rosé est en bouteille")
    graph.calls.clear()
    jobs.run_by_hand(app, "facebook-import", NOW + timedelta(minutes=30))

    news = imported(app)
    assert len(news) == 4 and news[-1].title == "Le rosé est en bouteille"
    assert posts_calls(graph) == 1  # incremental: the first page was enough
    jobs.run_by_hand(app, "facebook-import", NOW + timedelta(minutes=60))
    assert len(imported(app)) == 4


def test_facebook_down_leaves_the_news_as_they_were_and_the_next_run_brings_the_missing_post(app, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    for n in range(3):
        graph.add_post(f"Publication {n + 1}")
    jobs.run_by_hand(app, "facebook-import", NOW)
    graph.add_post("Publication 4")
    graph.down()

    jobs.run_by_hand(app, "facebook-import", NOW + timedelta(minutes=30))

    assert [n.title for n in imported(app)] == ["Publication 1", "Publication 2", "Publication 3"]
    state = estate_of(app)
    assert state["error"].startswith("Impossible de joindre Facebook") and state["imported_at"] == NOW

    graph.up()
    jobs.run_by_hand(app, "facebook-import", NOW + timedelta(minutes=60))

    assert [n.title for n in imported(app)][-1] == "Publication 4" and len(imported(app)) == 4
    assert estate_of(app)["error"] == "" and estate_of(app)["imported_at"] == NOW + timedelta(minutes=60)


def test_the_first_import_walks_every_page_and_a_failure_midway_writes_nothing(app, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    for n in range(60):  # three pages of 25
        graph.add_post(f"Publication numéro {n + 1}")
    graph.fail_after = 2  # the third page answers 500

    jobs.run_by_hand(app, "facebook-import", NOW)

    assert imported(app) == []
    assert estate_of(app)["error"].startswith("Facebook est momentanément indisponible")
    assert estate_of(app)["imported_at"] is None

    graph.fail_after = None
    graph.calls.clear()
    jobs.run_by_hand(app, "facebook-import", NOW + timedelta(minutes=30))

    news = imported(app)
    assert len(news) == 60 and len({n.facebook_post_id for n in news}) == 60
    assert posts_calls(graph) == 3
    assert all(query["access_token"] == [graph.token] for _path, query in graph.calls)

    graph.add_post("La toute dernière")
    graph.calls.clear()
    jobs.run_by_hand(app, "facebook-import", NOW + timedelta(minutes=60))
    assert len(imported(app)) == 61 and imported(app)[-1].title == "La toute dernière"
    assert posts_calls(graph) == 2  # the second page was all known: the third not asked


def test_posts_without_message_duplicates_long_lines_and_markup_are_imported_sensibly(app, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    graph.add_post(None, when=datetime(2026, 3, 14, 23, 30, tzinfo=timezone.utc))  # 15 March in Paris
    long_line = "Notre cuvée " + "très " * 40 + "attendue"
    graph.add_post(long_line + "\n\nDeuxième paragraphe https://vernette.example/visite.",
                   when=datetime(2026, 3, 20, 8, 0, tzinfo=timezone.utc))
    graph.add_post('<script>alert("x")</script> & <b>gras</b>', when=datetime(2026, 3, 21, 8, 0, tzinfo=timezone.utc))
    graph.posts.append(dict(graph.posts[-1]))  # the same post twice in one answer

    jobs.run_by_hand(app, "facebook-import", NOW)

    news = imported(app)
    assert len(news) == 3
    assert news[0].title == "Publication Facebook du 15/03/2026" and news[0].body_html == ""
    assert news[1].title.endswith("…") and len(news[1].title) <= 121 and long_line.startswith(news[1].title[:-1])
    assert not news[1].title[:-1].endswith(" ")
    assert '<a href="https://vernette.example/visite" rel="nofollow noopener noreferrer">' in news[1].body_html
    assert news[1].body_html.count("<p>") == 2
    assert "<script>" not in news[2].body_html and "&lt;script&gt;" in news[2].body_html
    assert "&lt;b&gt;gras&lt;/b&gt;" in news[2].body_html


def test_a_paging_link_to_another_site_is_not_followed(app, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    for n in range(30):
        graph.add_post(f"Publication {n + 1}")
    graph.extra_next = "http://127.0.0.2:9/v21.0/elsewhere/posts?after=MjU="

    jobs.run_by_hand(app, "facebook-import", NOW)

    assert len(imported(app)) == 25  # the first page only; the token went nowhere else
    assert posts_calls(graph) == 1


def test_one_estate_refused_by_facebook_does_not_stop_the_others(app, graph):  # type: ignore[no-untyped-def]
    link(app, graph, slug=ROZEL, page_id="555555555", token="EAAG-rozel-token-0123456789")
    link(app, graph)
    graph.add_post("Bonjour")

    jobs.run_by_hand(app, "facebook-import", NOW)

    assert [n.title for n in imported(app)] == ["Bonjour"]
    assert imported(app, ROZEL) == []
    assert estate_of(app, ROZEL)["error"].startswith("Facebook refuse l'accès à cette page")
    link(app, graph, slug=ROZEL, page_id=graph.page_id, token="EAAG-expired-token-0123456789")
    jobs.run_by_hand(app, "facebook-import", NOW + timedelta(minutes=30))
    assert estate_of(app, ROZEL)["error"].startswith("Facebook refuse le jeton d'accès de la page")


# ------------------------------------------------------------------ the back office


def audit_text(app) -> str:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return " ".join(f"{e.action} {e.summary} {e.before} {e.after}" for e in session.scalars(select(AuditEntry)))


def test_linking_with_a_wrong_token_saves_nothing_and_says_why_in_french(app, client, graph):  # type: ignore[no-untyped-def]
    login(client, "vigneron@vernette.example")
    response = client.post(URL, data={"page": graph.page_id, "token": "EAAG-wrong-token-0123456789"})

    assert response.status_code == 422
    assert "La page n'est pas liée : Facebook refuse le jeton d'accès de la page" in text_of(response)
    assert estate_of(app)["page_id"] is None and estate_of(app)["token"] is None
    assert "facebook.link" not in audit_text(app)
    assert "EAAG-wrong-token" not in response.get_data(as_text=True)

    response = client.post(URL, data={"page": "https://evil.example/page", "token": "court"})
    assert response.status_code == 422
    page = text_of(response)
    assert "Indiquez l'identifiant de la page" in page and "Collez le jeton d'accès de la page" in page

    graph.down()
    response = client.post(URL, data={"page": graph.page_id, "token": graph.token})
    assert response.status_code == 422 and "Impossible de joindre Facebook" in text_of(response)
    assert estate_of(app)["page_id"] is None


def test_link_import_now_and_unlink_through_the_screen_never_show_the_token(app, client, graph):  # type: ignore[no-untyped-def]
    for n in range(3):
        graph.add_post(f"Publication {n + 1}")
    login(client, "vigneron@vernette.example")
    page = text_of(client.get(URL))
    assert "Aucune page Facebook n'est liée" in page and f"http://shop.test/{VERNETTE}" in page
    assert "Acheter" in page

    response = client.post(URL, data={"page": f"https://www.facebook.com/{graph.username}/", "token": graph.token})
    assert response.status_code == 302
    state = estate_of(app)
    assert state["page_id"] == graph.page_id and state["token"] == graph.token  # the username became the page id
    page = client.get(URL).get_data(as_text=True)
    assert graph.page_id in page and graph.token not in page

    response = client.post(f"{URL}/importer", follow_redirects=True)
    assert "3 publications importées comme actualités." in text_of(response)
    assert graph.token not in response.get_data(as_text=True)
    assert len(imported(app)) == 3 and estate_of(app)["imported_at"] is not None
    response = client.post(f"{URL}/importer", follow_redirects=True)
    assert "Aucune nouvelle publication" in text_of(response)

    graph.down()
    response = client.post(f"{URL}/importer", follow_redirects=True)
    assert "L'import n'a pas abouti : Impossible de joindre Facebook" in text_of(response)
    assert "Dernière erreur" in text_of(response)

    response = client.post(f"{URL}/delier", follow_redirects=True)
    assert "La page Facebook est déliée" in text_of(response)
    state = estate_of(app)
    assert state["page_id"] is None and state["token"] is None
    assert len(imported(app)) == 3  # the imported news stay

    log = audit_text(app)
    assert "facebook.link" in log and "facebook.unlink" in log and "jeton modifié" in log
    assert graph.token not in log
    assert graph.token not in client.get(f"/gestion/{VERNETTE}/journal").get_data(as_text=True)


def test_imported_news_show_on_the_estate_page_even_when_it_was_cached(app, client, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    assert "Fête des vendanges au domaine" not in text_of(client.get(f"/{VERNETTE}/"))  # cached for visitors
    graph.add_post("Fête des vendanges au domaine")
    jobs.run_by_hand(app, "facebook-import", NOW)

    page = text_of(client.get(f"/{VERNETTE}/"))
    assert "Fête des vendanges au domaine" in page


def test_import_now_walks_a_few_pages_and_the_job_brings_the_older_posts(app, client, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    for n in range(120):  # five pages of 25; "Importer maintenant" walks four
        graph.add_post(f"Publication {n + 1}")
    login(client, "vigneron@vernette.example")

    response = client.post(f"{URL}/importer", follow_redirects=True)

    assert "100 publications importées comme actualités." in text_of(response)
    assert estate_of(app)["imported_at"] is None  # the first import is not over
    jobs.run_by_hand(app, "facebook-import", NOW)
    assert len(imported(app)) == 120 and estate_of(app)["imported_at"] == NOW


def test_a_post_stored_meanwhile_by_another_import_is_skipped_without_error(app, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    first, second = graph.add_post("Déjà là"), graph.add_post("Nouvelle")
    jobs.run_by_hand(app, "facebook-import", NOW)
    graph.add_post("Encore une")
    posts = [post for post in map(facebook._post, reversed(graph.posts)) if post is not None]
    assert [p.id for p in posts][1:] == [second["id"], first["id"]]

    with session_for(app) as session:  # another import fetched the same posts before this one stored them
        estate = session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        added = facebook.store_posts(session, estate, posts, NOW + timedelta(minutes=1))
        session.commit()

    assert added == 1
    assert [n.title for n in imported(app)] == ["Déjà là", "Nouvelle", "Encore une"]


def test_another_estate_vigneron_cannot_see_or_change_the_link(app, client, graph):  # type: ignore[no-untyped-def]
    link(app, graph)
    login(client, "vigneron@rozel.example")

    assert client.get(URL).status_code == 404
    assert client.post(f"{URL}/delier").status_code == 404
    assert client.post(f"{URL}/importer").status_code == 404
    assert client.post(URL, data={"page": "123456789", "token": graph.token}).status_code == 404
    assert estate_of(app)["page_id"] == graph.page_id
    own = client.get(f"/gestion/{ROZEL}/actualites/facebook").get_data(as_text=True)
    assert graph.page_id not in own and "Aucune page Facebook" in html.unescape(own)


@pytest.mark.parametrize("typed, expected", [
    ("104857600123", "104857600123"),
    ("domaine.vernette", "domaine.vernette"),
    ("https://www.facebook.com/domaine.vernette/", "domaine.vernette"),
    ("facebook.com/profile.php?id=100064123456789", "100064123456789"),
    ("https://www.facebook.com/pages/Domaine-Vernette/104857600123", "104857600123"),
    ("https://evil.example/domaine.vernette", None),
    ("domaine vernette", None),
    ("", None),
    ("1234", None),
])
def test_the_page_is_given_by_its_id_username_or_address(typed, expected):  # type: ignore[no-untyped-def]
    assert facebook.parse_page_ref(typed) == expected


def test_the_news_count_is_unchanged_when_nothing_is_linked(app, graph):  # type: ignore[no-untyped-def]
    graph.add_post("Bonjour")
    jobs.run_by_hand(app, "facebook-import", NOW)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(News).where(News.source == "facebook")) == 0
    assert graph.calls == []


@pytest.mark.parametrize("status, body, message", [
    (200, b"<html>pas du JSON</html>", "Réponse inattendue de Facebook"),
    (502, b"Bad Gateway", "Réponse inattendue de Facebook"),
    (200, b'{"data": "pas une liste"}', "Réponse inattendue de Facebook"),
    (500, b'{"error": {"message": "x", "type": "OAuthException", "code": 2}}', "Facebook est momentanément indisponible"),
    (400, b'{"error": {"message": "x", "type": "OAuthException", "code": 4}}', "Facebook est momentanément indisponible"),
])
def test_unusable_answers_fail_the_import_with_a_french_message_and_write_nothing(app, graph, status, body, message):  # type: ignore[no-untyped-def]
    link(app, graph)
    graph.add_post("Bonjour")
    graph.raw_answer = (status, body)

    jobs.run_by_hand(app, "facebook-import", NOW)

    assert imported(app) == [] and estate_of(app)["error"].startswith(message)
    assert estate_of(app)["imported_at"] is None


def test_a_silent_server_times_out_with_a_french_message():  # type: ignore[no-untyped-def]
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        client = facebook.GraphClient(f"http://127.0.0.1:{silent.getsockname()[1]}/v21.0", timeout=0.3)
        with pytest.raises(facebook.FacebookUnavailable, match="^Facebook ne répond pas") as caught:
            client.page("104857600123", "EAAG-page-token-0123456789abcdef")
    assert "EAAG" not in str(caught.value) and caught.value.__cause__ is None
