"""Anonymous shop pages rendered once per content: the estate page and the wine pages
(and the htmx answer to "Ajouter", shop/cart.py, kept under what it shows); and, for
one signed-in user at a time, the back office's orders table (:func:`serve_signed_in`).

Every anonymous visitor of an estate sees the same page in one language, but for two
things: the CSRF token of their session and the bottles in their cart. The page is
rendered once with a placeholder for each, kept in this process, and served with the
visitor's token and count put in.

It is kept under a key made of what it shows: the estate's row, the price list's, the
rows of the wines with their prices and images (read on every request by Core:
services.catalogue.published_estate_rows, wine_page_rows), the language and the URL. A change to any of
them (a price, a description, a stock going down) makes another key, in this worker and
in every other one: there is nothing to invalidate and no page is ever older than its
rows. Reading the rows is what the request still costs; loading them as ORM objects and
rendering the page cost ten times more (bench/README.md, estate page). The key is
only as complete as the list of tables it reads: a page that starts showing data from
another table must add it to its key (shop/estate.py, ``_anonymous_key``; the
templates say so at their top).

Only for anonymous GETs whose session holds nothing that may change the page
(:data:`NEUTRAL_SESSION_KEYS`): a signed-in visitor has prices, links and a header of
their own, a flash message is shown once, a group purchase shows its banner.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Flask, current_app, g, request, session
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

#: pages kept per worker (about 40 kB each): estates × price lists × languages × pages
MAX_PAGES = 256

# Random per process, so that no text a vigneron writes can contain them.
_CSRF_MARK = f"chai-csrf-{secrets.token_hex(12)}"
_COUNT_MARK = f"chai-count-{secrets.token_hex(12)}"



class _Pages:
    """One app's kept pages (an app's configuration shows in its pages: the test suite
    runs many apps in one process)."""

    def __init__(self) -> None:
        self.pages: OrderedDict[Hashable, str] = OrderedDict()
        self.lock = threading.Lock()
        self.signed_tokens: OrderedDict[str, str] = OrderedDict()  #: session's CSRF token → signed form
        self.private: OrderedDict[Hashable, str] = OrderedDict()  #: signed-in pages (:func:`serve_signed_in`)


def _store(app: Flask) -> _Pages:
    store = app.extensions.get("chai_page_cache")
    if store is None:
        store = app.extensions.setdefault("chai_page_cache", _Pages())
    return store


#: What an anonymous session may hold and still see the kept page: the language is in
#: the key, the CSRF token and the cart's count are put in. Anything else (a flash
#: message, promo codes, a group purchase, a sponsor's link, a signed-in user …) may
#: change the page, so the page is rendered for that visitor alone.
NEUTRAL_SESSION_KEYS = frozenset({"_fresh", "_permanent", "age_ok", "csrf_token", "cart_token", "lang",
                                  "fair_invitations"})  # only the checkout reads it


def applies() -> bool:
    """The request may get a kept page: an anonymous GET (or HEAD) whose session holds
    nothing but :data:`NEUTRAL_SESSION_KEYS`."""
    # The session first: a signed-in visitor's holds "_user_id", and looking at it costs
    # less than loading the user. Again after current_user: a "remember me" cookie logs
    # the visitor in while it loads, and that writes "_user_id" into the session.
    return (request.method in ("GET", "HEAD") and session.keys() <= NEUTRAL_SESSION_KEYS
            and not current_user.is_authenticated and session.keys() <= NEUTRAL_SESSION_KEYS)


def serve(content_key: Hashable, render: Callable[..., str], cart_count: Callable[[], int]) -> str:
    """The page for ``content_key`` with this visitor's CSRF token and cart count.

    ``render(**context)`` renders the page; ``context`` replaces the template's
    ``csrf_token`` and ``cart_count`` with placeholders. A page that holds this session's
    token anyway (a macro imported without context calls the global ``csrf_token``) is
    served but never kept: another visitor would receive the token.
    """
    store = _store(current_app)
    page = _kept(store, store.pages, MAX_PAGES, (content_key, str(get_locale())),
                 lambda: render(csrf_token=lambda: _CSRF_MARK, cart_count=lambda: _COUNT_MARK))
    return page.replace(_CSRF_MARK, str(escape(csrf_token()))).replace(_COUNT_MARK, str(int(cart_count())))


#: back-office pages kept per worker (about 60 kB each): users × filters × pages
MAX_PRIVATE_PAGES = 64


def serve_signed_in(content_key: Hashable, render: Callable[..., str]) -> str:
    """A signed-in user's page (the orders table) rendered once per content, for that
    user alone, like :func:`serve`: ``content_key`` holds every value the page shows
    (the rows read for it on this request, the estate's name …); the user, the language,
    the time zone and the URL are added here. ``render(csrf_token=…)`` gets the
    placeholder of the CSRF token. Rendered afresh while a flash message waits (it is
    shown once)."""
    if session.get("_flashes"):
        return render(csrf_token=csrf_token)
    store = _store(current_app)
    key = ("signed-in", current_user.get_id(), content_key, str(get_locale()), str(get_timezone()))
    page = _kept(store, store.private, MAX_PRIVATE_PAGES, key, lambda: render(csrf_token=lambda: _CSRF_MARK))
    return page.replace(_CSRF_MARK, str(escape(csrf_token())))


def _kept(store: _Pages, pages: OrderedDict[Hashable, str], most: int, content_key: tuple,
          render: Callable[[], str]) -> str:
    """The page kept under ``content_key`` and the request's URL, else ``render()``
    kept (least recently used pages leave first), placeholders left in."""
    key = (*content_key, request.scheme, request.host, request.root_path, request.path, request.query_string)
    with store.lock:
        page = pages.get(key)
        if page is not None:
            pages.move_to_end(key)
    if page is None:
        page = _compact(render())
        token = generate_csrf()
        if token.split(".", 1)[0] in page:  # the session's own token, signed at any time
            current_app.logger.warning("page_cache: %s shows the session's CSRF token; not kept", request.path)
        else:
            with store.lock:
                pages[key] = page
                while len(pages) > most:
                    pages.popitem(last=False)
    return page


#: signed CSRF tokens kept per worker (the sessions browsing at once)
MAX_SIGNED_TOKENS = 4096


def csrf_token() -> str:
    """Flask-WTF's generate_csrf(), its signature computed once per session token and
    worker: with WTF_CSRF_TIME_LIMIT None (app.py) a signed token never expires, so the
    one signed for this session before is as valid as a new one, and signing cost a
    tenth of a kept page. The templates' ``csrf_token()`` (services.templating)."""
    store = _store(current_app)
    raw = session.get("csrf_token")
    if current_app.config.get("WTF_CSRF_TIME_LIMIT") is None and isinstance(raw, str):
        signed = store.signed_tokens.get(raw)
        if signed is not None:
            g.csrf_token = signed  # what generate_csrf answers for the rest of the request
            return signed
    signed = generate_csrf()
    with store.lock:
        store.signed_tokens[session["csrf_token"]] = signed
        while len(store.signed_tokens) > MAX_SIGNED_TOKENS:
            store.signed_tokens.popitem(last=False)
    return signed


_INDENT = re.compile(r"\n[ \t]+")


def _compact(page: str) -> str:
    """The page without the templates' indentation (a fifth of the estate page, sent on
    every request), where no element keeps its spaces (``<pre>``, ``<textarea>``;
    ``white-space: pre-line`` collapses them anyway)."""
    if "<pre" in page or "<textarea" in page:
        return page
    return _INDENT.sub("\n", page)


def clear(app: Flask) -> None:
    """Forget every kept page (the query-count tests measure pages as rendered)."""
    store = _store(app)
    with store.lock:
        store.pages.clear()
        store.private.clear()
