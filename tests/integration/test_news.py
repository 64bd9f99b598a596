"""News, followers and their digests (issue 14): the back office's "Mes actualités"
(sanitised text, image, audit, isolation), the estate page and its "Actualités" pages,
"Suivre", the customer area's feed and frequency, the digest jobs on a frozen clock
read through the real SMTP server, and the one-click unsubscribe."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from urllib.parse import urlsplit

from PIL import Image
from sqlalchemy import func, select

from models import AuditEntry, Estate, Follow, News, NewsDelivery, OutboxMessage, User
from services import accounts, jobs, mail, unsubscribe
from services.demo import DEMO_PASSWORD
from tests.conftest import TEST_SECRET, body_of, login, make_app, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
CUSTOMER = "client@chai.example"  # in Vernette's customer file (and Rozel's)
HX = {"HX-Request": "true"}


def _estate_id(app, slug: str = VERNETTE) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _new_user(app, email: str, frequency: str = "weekly") -> int:  # type: ignore[no-untyped-def]
    """A platform account in no estate's customer file."""
    with session_for(app) as session:
        user = accounts.register_user(session, email=email, password=DEMO_PASSWORD, first_name="Lucie")
        user.news_frequency = frequency
        session.commit()
        return user.id


def _user_id(app, email: str) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def _set_frequency(app, email: str, frequency: str) -> None:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        session.scalars(select(User).where(User.email == email)).one().news_frequency = frequency
        session.commit()


def _follow(app, email: str, slug: str = VERNETTE):  # type: ignore[no-untyped-def]
    """Sign in and click "Suivre" (htmx); returns the signed-in client."""
    browser = visitor(app)
    login(browser, email)
    response = browser.post(f"/{slug}/suivre", headers=HX)
    assert response.status_code == 200 and "Ne plus suivre" in text_of(response)
    return browser


def _publish(app, title: str, at: datetime, slug: str = VERNETTE,  # type: ignore[no-untyped-def]
             **fields: object) -> int:
    with session_for(app) as session:
        item = News(estate_id=_estate_id(app, slug), title=title, body_html=f"<p>Texte de {title}</p>",
                    published_at=at, **fields)
        session.add(item)
        session.commit()
        return item.id


def _queued(app, recipient: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                    .order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def _send_outbox(app, now: datetime) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return mail.send_pending(session, mail.flask_mail_sender, now)


def _next_fire(name: str, after: datetime) -> datetime:
    """The job's next run after ``after``, by its own trigger (the frozen clock)."""
    fire = jobs.job_named(name).trigger.get_next_fire_time(None, after)
    while fire <= after:
        fire = jobs.job_named(name).trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return fire.astimezone(timezone.utc)


def _header(message, name: str) -> str:  # type: ignore[no-untyped-def]
    """A received header, decoded (RFC 2047) and unfolded."""
    return "".join(str(make_header(decode_header(message[name]))).splitlines())


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 20, 40)).save(out, format="PNG")
    return out.getvalue()


# ------------------------------------------------------------------ the digests (acceptance)


def test_weekly_follower_gets_one_digest_with_both_items_once_and_each_follower_gets_two_emails(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port)
    each_email = "lucie@exemple.fr"
    _new_user(app, each_email, frequency="each")
    _set_frequency(app, CUSTOMER, "weekly")
    _follow(app, CUSTOMER)
    _follow(app, each_email)
    start = datetime.now(timezone.utc)
    _publish(app, "Les vendanges commencent", start + timedelta(hours=1))
    _publish(app, "Portes ouvertes au caveau", start + timedelta(hours=2))

    each_run = _next_fire("news-each", start + timedelta(hours=2))
    jobs.run_by_hand(app, "news-each", each_run)
    jobs.run_by_hand(app, "news-each", each_run + timedelta(minutes=5))  # again: nothing more
    assert len(_queued(app, each_email)) == 2
    assert _queued(app, CUSTOMER) == []  # the weekly follower waits for Monday

    weekly_run = _next_fire("news-weekly", each_run)
    assert weekly_run.astimezone(jobs.PARIS).weekday() == 0 and weekly_run.astimezone(jobs.PARIS).hour == 8
    jobs.run_by_hand(app, "news-weekly", weekly_run)
    jobs.run_by_hand(app, "news-weekly", weekly_run)  # running it again sends nothing
    jobs.run_by_hand(app, "news-weekly", _next_fire("news-weekly", weekly_run))  # nor does next week's run
    jobs.run_by_hand(app, "news-monthly", _next_fire("news-monthly", weekly_run))  # other frequencies: nothing
    assert len(_queued(app, CUSTOMER)) == 1 and len(_queued(app, each_email)) == 2

    assert _send_outbox(app, weekly_run + timedelta(days=30)) == 3
    messages = smtp.mailbox.wait_for(3)
    digest = [m for m in messages if m["To"] == CUSTOMER]
    assert len(digest) == 1
    assert _header(digest[0], "Subject") == "Les actualités de vos vignerons"
    text = body_of(digest[0])
    assert "Les vendanges commencent" in text and "Portes ouvertes au caveau" in text
    assert "Texte de Les vendanges commencent" in text and "<p>" not in text
    assert "Domaine de la Vernette" in body_of(digest[0], "html")
    singles = sorted(_header(m, "Subject") for m in messages if m["To"] == each_email)
    assert singles == ["Domaine de la Vernette : Les vendanges commencent",
                       "Domaine de la Vernette : Portes ouvertes au caveau"]
    for message in messages:
        url = _header(message, "List-Unsubscribe").strip("<>")
        assert url.startswith("http://shop.test/desabonnement/actualites/")
        assert _header(message, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        assert url in body_of(message) and url in body_of(message, "html")
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(NewsDelivery)) == 4


def test_the_unsubscribe_link_of_a_digest_stops_further_mail(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port)
    email = "lucie@exemple.fr"
    _new_user(app, email, frequency="each")
    _follow(app, email)
    start = datetime.now(timezone.utc)
    _publish(app, "Première actualité", start + timedelta(minutes=10))
    jobs.run_by_hand(app, "news-each", start + timedelta(minutes=15))
    assert _send_outbox(app, start + timedelta(minutes=16)) == 1
    message = smtp.mailbox.wait_for(1)[0]
    path = urlsplit(_header(message, "List-Unsubscribe").strip("<>")).path

    # The mail client of RFC 8058: no session, no age confirmation, no CSRF token.
    strict = make_app(database, WTF_CSRF_ENABLED=True)
    page = strict.test_client().get(path)
    assert page.status_code == 200 and "Me désabonner" in text_of(page)
    assert strict.test_client().post(path.replace("actualites/", "actualites/x"),
                                     data={"List-Unsubscribe": "One-Click"}).status_code == 404
    with session_for(app) as session:
        assert session.get(User, _user_id(app, email)).news_frequency == "each"  # a bad token changed nothing
    done = strict.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "vous ne recevrez plus" in text_of(done)
    with session_for(app) as session:
        assert session.get(User, _user_id(app, email)).news_frequency == "never"

    _publish(app, "Deuxième actualité", start + timedelta(minutes=20))
    jobs.run_by_hand(app, "news-each", start + timedelta(minutes=25))
    jobs.run_by_hand(app, "news-weekly", _next_fire("news-weekly", start + timedelta(minutes=25)))
    assert len(_queued(app, email)) == 1
    assert _send_outbox(app, start + timedelta(days=10)) == 0


def test_a_token_for_a_newsletter_or_a_forged_one_does_not_unsubscribe_from_news(app):
    user_id = _user_id(app, CUSTOMER)
    browser = app.test_client()
    other_kind = unsubscribe.make_token(TEST_SECRET, "newsletter", user_id)
    forged = unsubscribe.make_token("another secret", "news", user_id)
    for token in (other_kind, forged, "nimportequoi", "x" * 500):
        assert browser.get(f"/desabonnement/actualites/{token}").status_code == 404
        assert browser.post(f"/desabonnement/actualites/{token}").status_code == 404
    with session_for(app) as session:
        assert session.get(User, user_id).news_frequency == "weekly"


def test_customers_only_news_never_shows_to_a_visitor_nor_to_a_follower_who_is_not_a_customer(app):
    now = datetime.now(timezone.utc)
    secret = _publish(app, "Prix réservés aux clients", now - timedelta(hours=2), customers_only=True)
    public = _publish(app, "Nouveau millésime", now - timedelta(hours=1))

    anonymous = visitor(app)
    for _ in range(2):  # rendered, then served from the page cache
        page = text_of(anonymous.get(f"/{VERNETTE}/"))
        assert "Nouveau millésime" in page and "Prix réservés aux clients" not in page
    listing = text_of(anonymous.get(f"/{VERNETTE}/actualites"))
    assert "Nouveau millésime" in listing and "Prix réservés aux clients" not in listing
    assert anonymous.get(f"/{VERNETTE}/actualites/{public}").status_code == 200
    assert anonymous.get(f"/{VERNETTE}/actualites/{secret}").status_code == 404
    assert anonymous.get(f"/{ROZEL}/actualites/{public}").status_code == 404  # another estate's id
    assert anonymous.get(f"/{VERNETTE}/actualites/99999999999999999999").status_code == 404

    outsider_email = "lucie@exemple.fr"
    _new_user(app, outsider_email, frequency="each")
    outsider = _follow(app, outsider_email)
    feed = text_of(outsider.get("/compte/actualites"))
    assert "Nouveau millésime" in feed and "Prix réservés aux clients" not in feed
    assert outsider.get(f"/{VERNETTE}/actualites/{secret}").status_code == 404
    assert "Prix réservés aux clients" not in text_of(outsider.get(f"/{VERNETTE}/"))

    customer = visitor(app)
    login(customer, CUSTOMER)  # not following Vernette: its customers-only news still in the area
    feed = text_of(customer.get("/compte/actualites"))
    assert "Prix réservés aux clients" in feed and "Nouveau millésime" not in feed
    assert customer.get(f"/{VERNETTE}/actualites/{secret}").status_code == 404  # only in the customer area

    # Emailed only to followers who are customers of the estate.
    _set_frequency(app, CUSTOMER, "each")
    _follow(app, CUSTOMER)
    with session_for(app) as session:  # both followed before the news were published
        for row in session.scalars(select(Follow)):
            row.created_at = now - timedelta(days=1)
        session.commit()
    jobs.run_by_hand(app, "news-each", now)
    assert sorted(m.subject for m in _queued(app, CUSTOMER)) == [
        "Domaine de la Vernette : Nouveau millésime", "Domaine de la Vernette : Prix réservés aux clients"]
    assert [m.subject for m in _queued(app, outsider_email)] == ["Domaine de la Vernette : Nouveau millésime"]


def test_a_digest_holds_only_news_published_after_following_within_its_window(app):
    now = datetime.now(timezone.utc)
    email = "lucie@exemple.fr"
    _new_user(app, email, frequency="never")
    _publish(app, "Avant le suivi", now - timedelta(days=3))
    _follow(app, email)
    with session_for(app) as session:
        session.scalars(select(Follow)).one().created_at = now - timedelta(days=20)
        session.commit()
    _publish(app, "Pendant « jamais »", now - timedelta(days=12))
    jobs.run_by_hand(app, "news-weekly", now)
    assert _queued(app, email) == []  # "jamais": nothing sent, nothing marked
    _set_frequency(app, email, "weekly")
    _publish(app, "Cette semaine", now - timedelta(days=2))
    _publish(app, "Programmée", now + timedelta(days=2))  # not yet published
    _publish(app, "Chez un autre domaine", now - timedelta(days=1), slug=ROZEL)  # not followed
    jobs.run_by_hand(app, "news-weekly", now)
    [digest] = _queued(app, email)
    assert "Avant le suivi" in digest.body_text and "Cette semaine" in digest.body_text
    assert "Pendant « jamais »" not in digest.body_text  # older than the weekly window
    assert "Programmée" not in digest.body_text and "Chez un autre domaine" not in digest.body_text
    assert json.loads(digest.headers)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    jobs.run_by_hand(app, "news-weekly", now + timedelta(days=7))
    [_, later] = _queued(app, email)
    assert "Programmée" in later.body_text and "Cette semaine" not in later.body_text


# ------------------------------------------------------------------ "Suivre" and the customer area


def test_a_visitor_clicking_follow_is_sent_to_the_login_page_and_back(app):
    anonymous = visitor(app)
    response = anonymous.post(f"/{VERNETTE}/suivre")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/compte/connexion?next=/{VERNETTE}/"
    response = anonymous.post(f"/{VERNETTE}/suivre", headers=HX)
    assert response.headers["HX-Redirect"] == f"/compte/connexion?next=/{VERNETTE}/"
    back = anonymous.post("/compte/connexion", data={"email": CUSTOMER, "password": DEMO_PASSWORD,
                                                     "next": f"/{VERNETTE}/"})
    assert back.status_code == 302 and back.headers["Location"] == f"/{VERNETTE}/"
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Follow)) == 0


def test_follow_and_unfollow_swap_the_button_and_work_without_javascript(app):
    browser = visitor(app)
    login(browser, CUSTOMER)
    page = text_of(browser.get(f"/{VERNETTE}/"))
    assert 'action="/domaine-de-la-vernette/suivre"' in page and "Ne plus suivre" not in page
    fragment = browser.post(f"/{VERNETTE}/suivre", headers=HX)
    html = text_of(fragment)
    assert html.lstrip().startswith('<form method="post" action="/domaine-de-la-vernette/ne-plus-suivre"')
    assert "Vous suivez Domaine de la Vernette." in html
    assert browser.post(f"/{VERNETTE}/suivre").status_code == 302  # twice, without htmx: still one follow
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Follow)) == 1
    assert "Ne plus suivre" in text_of(browser.get(f"/{VERNETTE}/"))
    account = text_of(browser.get("/compte/actualites"))
    assert "Domaine de la Vernette" in account and "Ne plus suivre" in account

    fragment = browser.post(f"/{VERNETTE}/ne-plus-suivre", headers=HX)
    assert 'action="/domaine-de-la-vernette/suivre"' in text_of(fragment)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Follow)) == 0


def test_unfollowing_from_the_customer_area_only_takes_ones_own_follows(app):
    _new_user(app, "lucie@exemple.fr")
    lucie = _follow(app, "lucie@exemple.fr")
    _follow(app, CUSTOMER)
    with session_for(app) as session:
        lucies = session.scalars(select(Follow.id).join(User).where(User.email == "lucie@exemple.fr")).one()
        customers = session.scalars(select(Follow.id).join(User).where(User.email == CUSTOMER)).one()
    assert lucie.post(f"/compte/actualites/suivis/{customers}/retirer").status_code == 404
    assert lucie.post("/compte/actualites/suivis/999999/retirer").status_code == 404
    assert lucie.post("/compte/actualites/suivis/99999999999999999999/retirer").status_code == 404
    response = lucie.post(f"/compte/actualites/suivis/{lucies}/retirer")
    assert response.status_code == 302 and response.headers["Location"] == "/compte/actualites"
    with session_for(app) as session:
        assert list(session.scalars(select(Follow.id))) == [customers]


def test_the_frequency_form_saves_a_known_choice_and_refuses_anything_else_in_french(app):
    browser = visitor(app)
    login(browser, CUSTOMER)
    overview = text_of(browser.get("/compte/"))
    for label in ("À chaque actualité", "Chaque semaine", "Chaque mois", "Jamais"):
        assert label in overview
    for bad in ("daily", "", "EACH"):
        response = browser.post("/compte/actualites/frequence", data={"frequency": bad})
        assert response.status_code == 422
        assert "Choisissez une fréquence parmi celles proposées." in text_of(response)
    assert browser.post("/compte/actualites/frequence", data={}).status_code == 422
    with session_for(app) as session:
        assert session.get(User, _user_id(app, CUSTOMER)).news_frequency == "weekly"
    response = browser.post("/compte/actualites/frequence", data={"frequency": "monthly", "back": "overview"})
    assert response.status_code == 302 and response.headers["Location"] == "/compte/"
    with session_for(app) as session:
        assert session.get(User, _user_id(app, CUSTOMER)).news_frequency == "monthly"
    assert 'value="monthly" checked' in text_of(browser.get("/compte/actualites"))
    response = browser.post("/compte/actualites/frequence", data={"frequency": "never"}, follow_redirects=True)
    assert "Vous ne recevrez plus les actualités par email." in text_of(response)


# ------------------------------------------------------------------ the back office


def test_news_text_is_sanitised_on_save_and_the_change_is_audited(app):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    body = ('<p onclick="steal()">Les <strong>vendanges</strong> <script>alert(1)</script>'
            '<img src=x onerror="alert(2)"> <a href="javascript:alert(3)">piège</a> '
            '<a href="https://vernette.example/visite">visite</a></p><ul><li>Syrah</li></ul>')
    response = staff.post(f"/gestion/{VERNETTE}/actualites/nouvelle",
                          data={"title": "Vendanges 2026", "body": body, "published_on": "2026-09-15",
                                "published_time": "09:30"})
    assert response.status_code == 302
    with session_for(app) as session:
        item = session.scalars(select(News).where(News.title == "Vendanges 2026")).one()
        stored = item.body_html
        assert item.published_at == datetime(2026, 9, 15, 7, 30, tzinfo=timezone.utc)  # 09:30 in Paris
        assert item.customers_only is False and item.source == "chai"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "news.create")).one()
        assert entry.subject_id == item.id and "Vendanges 2026" in entry.after
    for gone in ("<script", "alert(1)", "onerror", "onclick", "<img", "javascript:"):
        assert gone not in stored
    assert "<strong>vendanges</strong>" in stored and "<li>Syrah</li>" in stored
    assert '<a href="https://vernette.example/visite" rel="nofollow noopener">visite</a>' in stored
    assert "Vendanges 2026" in text_of(staff.get(f"/gestion/{VERNETTE}/actualites"))
    assert "Mes actualités" in text_of(staff.get(f"/gestion/{VERNETTE}/"))


def test_a_news_without_title_or_with_a_bad_date_is_refused_in_french_and_nothing_is_saved(app):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    url = f"/gestion/{VERNETTE}/actualites/nouvelle"
    response = staff.post(url, data={"title": "  ", "body": "Texte", "published_on": "2026-09-15"})
    assert response.status_code == 422 and "Indiquez le titre de l'actualité." in text_of(response)
    response = staff.post(url, data={"title": "T" * 201, "published_on": "2026-09-15"})
    assert response.status_code == 422 and "au plus 200 caractères" in text_of(response)
    response = staff.post(url, data={"title": "Bonne date ?", "published_on": "15/09/2026x"})
    assert response.status_code == 422 and "Indiquez une date valide." in text_of(response)
    response = staff.post(url, data={"title": "Bonne heure ?", "published_on": "2026-09-15",
                                     "published_time": "25:99"})
    assert response.status_code == 422 and "Indiquez une heure valide (hh:mm)." in text_of(response)
    response = staff.post(url, data={"title": "An 1", "published_on": "0001-01-01", "published_time": "00:00"})
    assert response.status_code == 422 and "entre 2000 et 2100" in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(News)) == 0


def test_the_image_is_checked_stored_and_shown_and_a_new_item_defaults_to_now(app):
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    url = f"/gestion/{VERNETTE}/actualites/nouvelle"
    form = staff.get(url)
    today = datetime.now(timezone.utc).astimezone(jobs.PARIS).date().isoformat()
    assert f'value="{today}"' in text_of(form)
    response = staff.post(url, data={"title": "Photo du chai", "published_on": today, "published_time": "00:00",
                                     "image": (io.BytesIO(b"<svg onload=alert(1)>"), "chai.png")},
                          content_type="multipart/form-data")
    assert response.status_code == 422 and "n'est pas une image" in text_of(response)
    response = staff.post(url, data={"title": "Photo du chai", "published_on": today, "published_time": "00:00",
                                     "image": (io.BytesIO(_png()), "chai.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    with session_for(app) as session:
        item = session.scalars(select(News)).one()
        path, news_id = item.image_path, item.id
    assert path.startswith(f"estate-{_estate_id(app)}/news/") and path.endswith(".webp")
    image = visitor(app).get(f"/uploads/{path}")
    assert image.status_code == 200 and image.mimetype == "image/webp"
    image.close()
    assert f"/uploads/{path}" in text_of(visitor(app).get(f"/{VERNETTE}/actualites/{news_id}"))

    edit = f"/gestion/{VERNETTE}/actualites/{news_id}"
    assert staff.post(edit, data={"title": "Photo du chai", "published_on": today, "published_time": "00:00",
                                  "remove_image": "y"}).status_code == 302
    with session_for(app) as session:
        assert session.get(News, news_id).image_path is None
    assert visitor(app).get(f"/uploads/{path}").status_code == 404  # the file went with it


def test_another_estates_news_ids_are_404_in_the_back_office(app):
    theirs = _publish(app, "Chez Vernette", datetime.now(timezone.utc))
    rozel = visitor(app)
    login(rozel, "vigneron@rozel.example")
    assert rozel.get(f"/gestion/{ROZEL}/actualites/{theirs}").status_code == 404
    assert rozel.post(f"/gestion/{ROZEL}/actualites/{theirs}",
                      data={"title": "Piraté", "published_on": "2026-01-01"}).status_code == 404
    assert rozel.post(f"/gestion/{ROZEL}/actualites/{theirs}/supprimer").status_code == 404
    assert rozel.get(f"/gestion/{ROZEL}/actualites/99999999999999999999").status_code == 404
    assert "Chez Vernette" not in text_of(rozel.get(f"/gestion/{ROZEL}/actualites"))
    assert rozel.get(f"/gestion/{VERNETTE}/actualites").status_code == 404
    with session_for(app) as session:
        assert session.get(News, theirs).title == "Chez Vernette"

    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    assert staff.post(f"/gestion/{VERNETTE}/actualites/{theirs}/supprimer").status_code == 302
    with session_for(app) as session:
        assert session.get(News, theirs) is None
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "news.delete")).one()


# ------------------------------------------------------------------ the estate page


def test_the_estate_page_shows_the_latest_three_public_news_and_never_a_stale_list(app):
    now = datetime.now(timezone.utc)
    for day in range(4):
        _publish(app, f"Actualité du jour {day}", now - timedelta(days=4 - day))
    _publish(app, "Pas encore publiée", now + timedelta(days=1))
    anonymous = visitor(app)
    page = text_of(anonymous.get(f"/{VERNETTE}/"))
    assert [f"Actualité du jour {d}" in page for d in range(4)] == [False, True, True, True]
    assert "Pas encore publiée" not in page and "Toutes les actualités" in page
    _publish(app, "Toute fraîche", now - timedelta(minutes=1))
    page = text_of(anonymous.get(f"/{VERNETTE}/"))  # the kept page's key holds the news
    assert "Toute fraîche" in page and "Actualité du jour 1" not in page


def test_the_news_pages_are_paginated_and_a_bad_page_number_is_the_first_page(app):
    now = datetime.now(timezone.utc)
    for n in range(12):
        _publish(app, f"Numéro {n:02d}", now - timedelta(hours=12 - n))
    anonymous = visitor(app)
    first = text_of(anonymous.get(f"/{VERNETTE}/actualites"))
    assert "Numéro 11" in first and "Numéro 02" in first and "Numéro 01" not in first
    assert "Plus anciennes" in first and "Plus récentes" not in first
    second = text_of(anonymous.get(f"/{VERNETTE}/actualites?page=2"))
    assert "Numéro 01" in second and "Numéro 00" in second and "Numéro 02" not in second
    for bad in ("abc", "-3", "0", "99999999999999999999"):
        response = anonymous.get(f"/{VERNETTE}/actualites?page={bad}")
        assert response.status_code == 200 and "Numéro 11" in text_of(response)


def test_facebook_news_link_to_their_post_instead_of_showing_a_remote_picture(app):
    remote = "https://scontent.example.fbcdn.net/v/t39/photo.jpg"
    news_id = _publish(app, "Importée de Facebook", datetime.now(timezone.utc) - timedelta(minutes=5),
                       source="facebook", facebook_post_id="1234_5678", image_url=remote)
    anonymous = visitor(app)
    for url in (f"/{VERNETTE}/", f"/{VERNETTE}/actualites", f"/{VERNETTE}/actualites/{news_id}"):
        html = text_of(anonymous.get(url))
        assert "Importée de Facebook" in html and remote not in html
        assert 'href="https://www.facebook.com/1234_5678"' in html and "Voir sur Facebook" in html
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    listing = text_of(staff.get(f"/gestion/{VERNETTE}/actualites"))
    assert "Voir sur Facebook" in listing and remote not in listing
