"""An estate's Facebook page: its posts, past and new, come in as news (seed 000,
"Lier une page Facebook").

:class:`GraphClient` is a small adapter over the part of Facebook's Graph API that Chai
uses, at the base URL of ``app.config["FACEBOOK_GRAPH_URL"]`` (the tests point it at a
local server, ``tests/fake_graph.py``):

* ``GET {base}/{page_id}?fields=id,name&access_token=…``: checks a link, gives the
  page's numeric id and name;
* ``GET {base}/{page_id}/posts?fields=…&limit=…&access_token=…``: the page's posts,
  newest first, one page of results at a time, following ``paging.next`` only while
  it points under the configured base (the token is never sent anywhere else).

Every failure (connection refused, timeout, HTTP error, Graph's ``{"error": …}``,
unreadable JSON) raises :class:`FacebookUnavailable`, or :class:`FacebookRefused`
(its subclass) when Facebook refuses the token or the page: ``str(exc)`` is a French
message fit for the vigneron, which never holds the token or the URL (the token is in
the query string, so the underlying exception is not chained).

:func:`import_posts` turns posts into :class:`models.News` (source ``facebook``),
once each: the unique ``(estate_id, facebook_post_id)`` key, ids already stored
skipped, and each insert in a savepoint so that a concurrent import of the same post
is harmless. Everything is fetched before anything is written: a failure midway
leaves the news as they were and records the message in ``Estate.facebook_error``;
the ``facebook-import`` job tries again on its next run.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import nh3
import requests
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Estate, News
from services.templating import PARIS
from services.tenancy import all_estates, in_estate

log = logging.getLogger("chai.facebook")

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
TIMEOUT = 5.0  #: seconds per Graph API call
PAGE_SIZE = 25  #: posts asked per call (``limit``)
MAX_PAGES = 50  #: pages of posts walked at most by one import (the first one walks back in time)
TITLE_LENGTH = 120
POST_FIELDS = "id,message,created_time,full_picture,permalink_url"
#: Graph error codes that say "try again later" rather than "this token or page is refused".
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 368, 613})

MESSAGES = {
    "timeout": _l("Facebook ne répond pas : nouvel essai à la prochaine importation."),
    "unreachable": _l("Impossible de joindre Facebook : nouvel essai à la prochaine importation."),
    "down": _l("Facebook est momentanément indisponible : nouvel essai à la prochaine importation."),
    "unexpected": _l("Réponse inattendue de Facebook : nouvel essai à la prochaine importation."),
    "token": _l("Facebook refuse le jeton d'accès de la page : il est invalide ou a expiré. "
                "Liez la page à nouveau avec un nouveau jeton."),
    "page": _l("Facebook refuse l'accès à cette page : vérifiez son identifiant et les autorisations du jeton."),
}
_PAGE_NAME = re.compile(r"[A-Za-z0-9.\-]{2,50}")
_URL = re.compile(r"https?://[^\s<>\"']+")


class FacebookUnavailable(Exception):
    """Facebook could not be reached or answered something unusable; try again later.
    ``str(exc)`` is a French message for the vigneron."""


class FacebookRefused(FacebookUnavailable):
    """Facebook refused the page access token, or the page (unknown, not allowed)."""


@dataclass(frozen=True)
class Page:
    id: str
    name: str


@dataclass(frozen=True)
class Post:
    id: str
    message: str
    created_at: datetime | None
    picture: str | None
    permalink: str | None


class GraphClient:
    """The Graph API at ``base_url`` (``https://graph.facebook.com/v21.0``)."""

    def __init__(self, base_url: str = DEFAULT_GRAPH_URL, timeout: float = TIMEOUT, page_size: int = PAGE_SIZE) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.page_size = page_size

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GraphClient:
        return cls(config.get("FACEBOOK_GRAPH_URL") or DEFAULT_GRAPH_URL,
                   float(config.get("FACEBOOK_TIMEOUT") or TIMEOUT))

    def page(self, page_id: str, token: str) -> Page:
        """The page's id and name: checks that ``token`` gives access to ``page_id``.

        :raise FacebookRefused: the token or the page is refused.
        :raise FacebookUnavailable: Facebook could not be asked.
        """
        data = self._get(f"{self.base_url}/{page_id}", {"fields": "id,name", "access_token": token})
        page_ref = data.get("id")
        if not isinstance(page_ref, str) or not page_ref or len(page_ref) > 40:
            raise FacebookUnavailable(str(MESSAGES["unexpected"]))
        name = data.get("name")
        return Page(id=page_ref, name=name[:200] if isinstance(name, str) else "")

    def post_pages(self, page_id: str, token: str, max_pages: int = MAX_PAGES) -> Iterator[list[Post]]:
        """The page's posts, newest first, one page of results at a time (at most
        ``max_pages``). Stop iterating to stop asking.

        :raise FacebookRefused, FacebookUnavailable: as :meth:`page`.
        """
        url: str | None = f"{self.base_url}/{page_id}/posts"
        params: dict[str, str] = {"fields": POST_FIELDS, "limit": str(self.page_size), "access_token": token}
        for _ in range(max_pages):
            if url is None:
                return
            data = self._get(url, params)
            rows = data.get("data")
            if not isinstance(rows, list):
                raise FacebookUnavailable(str(MESSAGES["unexpected"]))
            posts = [post for post in map(_post, rows) if post is not None]
            yield posts
            paging = data.get("paging")
            following = paging.get("next") if isinstance(paging, dict) else None
            if not rows or not isinstance(following, str):
                return
            url, params = self._next(following, token)

    def _next(self, link: str, token: str) -> tuple[str | None, dict[str, str]]:
        """``paging.next`` split into URL and query, with our token; (None, {}) when the
        link leads out of the configured base: never followed."""
        base, parts = urlsplit(self.base_url), urlsplit(link)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(base.path + "/"):
            log.warning("facebook: paging.next outside %s not followed", self.base_url)
            return None, {}
        query = {key: value for key, value in parse_qsl(parts.query) if key != "access_token"}
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), query | {"access_token": token}

    def _get(self, url: str, params: dict[str, str]) -> dict:
        try:
            response = requests.get(url, params=params, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            raise FacebookUnavailable(str(MESSAGES["timeout"])) from None  # its text holds the URL, token included
        except requests.RequestException:
            raise FacebookUnavailable(str(MESSAGES["unreachable"])) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            log.info("facebook: Graph error %s (%s, HTTP %s)", code, error.get("type"), response.status_code)
            if response.status_code >= 500 or code in TRANSIENT_CODES:
                raise FacebookUnavailable(str(MESSAGES["down"]))
            if code == 190 or (error.get("type") == "OAuthException" and code not in (10, 100, 200)):
                raise FacebookRefused(str(MESSAGES["token"]))
            raise FacebookRefused(str(MESSAGES["page"]))
        if response.status_code != 200 or not isinstance(data, dict):
            log.info("facebook: HTTP %s from the Graph API", response.status_code)
            raise FacebookUnavailable(str(MESSAGES["unexpected"]))
        return data


def parse_page_ref(value: str | None) -> str | None:
    """The page's id or username from what the vigneron typed: digits, a username, or
    the page's address (``https://www.facebook.com/domaine.vernette``,
    ``…/profile.php?id=123``); None when it is none of these."""
    text = (value or "").strip()
    if not text or len(text) > 300:
        return None
    if "/" in text:
        parts = urlsplit(text if "://" in text else "https://" + text)
        host = (parts.hostname or "").lower()
        if host not in ("facebook.com", "fb.com") and not host.endswith((".facebook.com", ".fb.com")):
            return None
        if parts.path.rstrip("/").endswith("profile.php"):
            text = dict(parse_qsl(parts.query)).get("id", "")
        else:
            segments = [s for s in parts.path.split("/") if s]
            if segments[:1] == ["pages"] and len(segments) >= 3:  # /pages/Nom-du-domaine/123456
                text = segments[-1]
            elif len(segments) == 1:
                text = segments[0]
            else:
                return None
    if text.isdigit() and 5 <= len(text) <= 25:
        return text
    if _PAGE_NAME.fullmatch(text) and not text.isdigit() and text.lower() not in ("profile.php", "pages", "groups"):
        return text
    return None


def valid_token(value: str | None) -> str | None:
    """A page access token as pasted: printable, no spaces, 20 to 1,000 characters."""
    token = (value or "").strip()
    if 20 <= len(token) <= 1000 and re.fullmatch(r"[A-Za-z0-9_\-.|%=]+", token):
        return token
    return None


# ------------------------------------------------------------------ posts → news


def _post(raw: object) -> Post | None:
    if not isinstance(raw, dict):
        return None
    post_id = raw.get("id")
    if not isinstance(post_id, str) or not post_id or len(post_id) > 80:
        return None
    message = raw.get("message")
    return Post(id=post_id, message=message.replace("\x00", "") if isinstance(message, str) else "",
                created_at=_parse_time(raw.get("created_time")),
                picture=_web_url(raw.get("full_picture"), 500), permalink=_web_url(raw.get("permalink_url"), 1000))


def _parse_time(value: object) -> datetime | None:
    """Graph's ``2026-03-01T09:30:00+0000``, as an aware UTC datetime."""
    if not isinstance(value, str):
        return None
    for form in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value.strip(), form).astimezone(timezone.utc)
        except ValueError:
            continue
    return None


def _web_url(value: object, limit: int) -> str | None:
    if isinstance(value, str) and len(value) <= limit and re.fullmatch(r"https?://[^\s<>\"']+", value):
        return value
    return None


def title_of(post: Post) -> str:
    """The message's first line, cut at a word boundary near 120 characters."""
    line = next((line.strip() for line in post.message.splitlines() if line.strip()), "")
    if not line:
        when = (post.created_at or datetime.now(timezone.utc)).astimezone(PARIS)
        return str(_l("Publication Facebook du %(date)s", date=when.strftime("%d/%m/%Y")))
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH + 1].rsplit(" ", 1)[0].rstrip(" ,;:.-") if " " in line[:TITLE_LENGTH + 1] else ""
    return (cut or line[:TITLE_LENGTH]) + "…"


def _linked(text: str) -> str:
    """Escaped text whose plain http(s) addresses are links."""
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        end = match.start() + len(url)
        out.append(html.escape(text[last:match.start()]))
        out.append(f'<a href="{html.escape(url)}" rel="nofollow noopener">{html.escape(url)}</a>')
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def body_of(post: Post) -> str:
    """The message as paragraphs (blank lines) and line breaks, escaped, its plain web
    addresses as links; sanitised like written news (nh3). The "Voir sur Facebook"
    link is not in it: pages build it from ``facebook_post_id`` (services.news)."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", post.message.replace("\r\n", "\n")) if p.strip()]
    parts = ["<p>" + "<br>".join(_linked(line) for line in paragraph.split("\n")) + "</p>" for paragraph in paragraphs]
    return nh3.clean("\n".join(parts), tags={"p", "br", "a"}, attributes={"a": {"href"}},
                     link_rel="nofollow noopener noreferrer", url_schemes={"http", "https"})


def fetch_new_posts(client: GraphClient, page_id: str, token: str, known: set[str], first: bool,
                    max_pages: int = MAX_PAGES) -> tuple[list[Post], bool]:
    """The posts not in ``known`` (each once, newest first) and whether the walk went to
    the end. A first import walks every page (up to ``max_pages``); later ones stop at
    the first page whose posts are all known.

    :raise FacebookUnavailable: (or FacebookRefused) nothing is returned then.
    """
    fresh: dict[str, Post] = {}
    pages = 0
    for posts in client.post_pages(page_id, token, max_pages):
        pages += 1
        new = [post for post in posts if post.id not in known and post.id not in fresh]
        for post in new:
            fresh[post.id] = post
        if not new and posts and not first:
            return list(fresh.values()), True
    return list(fresh.values()), pages < max_pages


def known_post_ids(session: Session, estate_id: int) -> set[str]:
    return set(session.scalars(select(News.facebook_post_id).where(
        News.estate_id == estate_id, News.facebook_post_id.is_not(None)).execution_options(all_estates=True)))


def store_posts(session: Session, estate: Estate, posts: list[Post], now: datetime, complete: bool = True) -> int:
    """Insert the posts as public news; returns how many were new. Records the import
    (``facebook_imported_at``, once the walk went to its end) and clears the error."""
    added = 0
    with in_estate(session, estate.id):
        for post in reversed(posts):  # oldest first: ids grow with time
            news = News(estate_id=estate.id, title=title_of(post)[:200], body_html=body_of(post),
                        image_url=post.picture, customers_only=False, published_at=post.created_at or now,
                        source="facebook", facebook_post_id=post.id, created_at=now)
            try:
                with session.begin_nested():  # another import storing the same post at the same moment
                    session.add(news)
            except IntegrityError:
                continue
            added += 1
    if complete:
        estate.facebook_imported_at = now
    estate.facebook_error = ""
    session.flush()
    return added


def record_failure(session: Session, estate: Estate, exc: FacebookUnavailable) -> None:
    estate.facebook_error = str(exc)[:255]
    session.flush()


def import_posts(session: Session, estate: Estate, client: GraphClient, now: datetime,
                 max_pages: int = MAX_PAGES) -> int:
    """Import the estate's new Facebook posts as news; how many came in.

    :raise FacebookUnavailable: (or FacebookRefused) no news written; the message is in
        ``estate.facebook_error``.
    """
    if not estate.facebook_page_id or not estate.facebook_page_token:
        return 0
    try:
        posts, complete = fetch_new_posts(client, estate.facebook_page_id, estate.facebook_page_token,
                                          known_post_ids(session, estate.id), estate.facebook_imported_at is None,
                                          max_pages)
    except FacebookUnavailable as exc:
        record_failure(session, estate, exc)
        raise
    first = estate.facebook_imported_at is None
    return store_posts(session, estate, posts, now, complete=complete or not first)


def link_page(session: Session, estate: Estate, client: GraphClient, page_ref: str, token: str) -> Page:
    """Check the link with Facebook, then store it; the next import walks every post.

    :raise FacebookUnavailable: (or FacebookRefused) nothing stored.
    """
    page = client.page(page_ref, token)
    if estate.facebook_page_id != page.id:
        estate.facebook_imported_at = None
    estate.facebook_page_id = page.id
    estate.facebook_page_token = token
    estate.facebook_error = ""
    session.flush()
    return page


def unlink_page(session: Session, estate: Estate) -> None:
    """Forget the page and its token; the news already imported stay."""
    estate.facebook_page_id = None
    estate.facebook_page_token = None
    estate.facebook_imported_at = None
    estate.facebook_error = ""
    session.flush()


# ------------------------------------------------------------------ the job


def import_all(session: Session, now: datetime, client: GraphClient | None = None, *,
               estate_id: int | None = None, max_pages: int = MAX_PAGES) -> dict[int, int | FacebookUnavailable]:
    """The ``facebook-import`` job: every estate with a linked page (or only
    ``estate_id``: "Importer maintenant"). Returns, per estate, how many posts came in
    or the failure, which is also recorded on the estate; one estate's failure does not
    stop the others.

    Facebook is asked with no transaction open: what the import needs is read first,
    that read-only transaction is ended (nothing was written yet), so SQLite's write
    lock is not held while Facebook answers; the news are then written in one short
    transaction, committed by the caller. A first import shortened by ``max_pages``
    leaves ``facebook_imported_at`` empty: the next run walks every post again."""
    if client is None:
        from flask import current_app

        client = GraphClient.from_config(current_app.config)
    statement = select(Estate).where(Estate.facebook_page_id.is_not(None), Estate.facebook_page_token.is_not(None))
    if estate_id is not None:
        statement = statement.where(Estate.id == estate_id)
    with all_estates(session):
        linked = [(estate.id, estate.facebook_page_id, estate.facebook_page_token, estate.facebook_imported_at is None,
                   known_post_ids(session, estate.id))
                  for estate in session.scalars(statement.order_by(Estate.id))]
    session.rollback()  # only read so far: end the transaction before the HTTP calls
    fetched: list[tuple[int, str, tuple[list[Post], bool] | FacebookUnavailable]] = []
    for ident, page_id, token, first, known in linked:
        try:
            fetched.append((ident, page_id, fetch_new_posts(client, page_id, token, known, first, max_pages)))
        except FacebookUnavailable as exc:
            fetched.append((ident, page_id, exc))
    outcomes: dict[int, int | FacebookUnavailable] = {}
    with all_estates(session):
        for ident, page_id, outcome in fetched:
            estate = session.get(Estate, ident)
            if estate is None or estate.facebook_page_id != page_id:
                continue  # unlinked or relinked meanwhile: the next run will do
            if isinstance(outcome, FacebookUnavailable):
                log.warning("facebook import of estate %s failed: %s", ident, outcome)
                record_failure(session, estate, outcome)
                outcomes[ident] = outcome
                continue
            posts, complete = outcome
            outcomes[ident] = store_posts(session, estate, posts, now, complete=complete or max_pages >= MAX_PAGES)
            if outcomes[ident]:
                log.info("facebook import of estate %s: %s new post(s)", ident, outcomes[ident])
    return outcomes
