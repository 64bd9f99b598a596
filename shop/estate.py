"""An estate's shop: its page and its wine pages."""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template
from flask_login import current_user
from sqlalchemy import select

from models import CustomerKind, Estate, db, utcnow
from services import catalogue, closing, friends, page_cache
from services import news  # issue 14: the estate's latest news
from services.tenancy import scope_to_estate
from shop import bp
from shop.cart import badge_count
from shop.site import require_age_confirmation


#: Views services.page_cache may answer: for them the estate is read by Core with what
#: the page's key needs, and ``g.estate`` is loaded only if the page is rendered.
_CACHED_VIEWS = frozenset({"shop.page", "shop.wine"})
#: Views that read the estate by Core for anonymous visitors (``g.anonymous_rows``).
_LEAN_VIEWS = frozenset({"shop.add"})


def _reads_estate_by_core(endpoint: str | None) -> bool:
    if endpoint in _CACHED_VIEWS:
        return page_cache.applies()
    return endpoint in _LEAN_VIEWS and not current_user.is_authenticated


@bp.url_value_preprocessor
def _load_estate(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """:raise 404: no published estate has this slug."""
    slug = (values or {}).pop("estate_slug", None)
    if _reads_estate_by_core(endpoint):
        if endpoint == "shop.page":  # and its friends, in the same statement (services.friends)
            found = friends.estate_page_rows(db.session, slug, CustomerKind.PARTICULIER)
            rows, g.friends_json = found if found is not None else (None, None)
        else:
            rows = catalogue.published_estate_rows(db.session, slug, CustomerKind.PARTICULIER)
        if rows is None:
            abort(404)
        g.anonymous_rows = rows
        g.estate_id, g.estate_slug = rows.estate_id, slug
        g.load_estate_later(lambda: db.session.get(Estate, rows.estate_id))
        scope_to_estate(db.session, rows.estate_id)
        return
    estate = db.session.scalars(
        select(Estate).where(Estate.slug == slug, Estate.is_published.is_(True))
    ).first()
    if estate is None:
        abort(404)
    g.estate = estate
    g.estate_id, g.estate_slug = estate.id, estate.slug
    scope_to_estate(db.session, estate.id)


@bp.url_defaults
def _add_estate_slug(endpoint: str, values: dict[str, Any]) -> None:
    if "estate_slug" not in values and getattr(g, "estate_slug", None) is not None:
        values["estate_slug"] = g.estate_slug


bp.before_request(require_age_confirmation)


def _visitor_price_list():  # type: ignore[no-untyped-def]
    user = current_user if current_user.is_authenticated else None
    return catalogue.price_list_for(db.session, g.estate, user)


def closing_banner() -> closing.Banner | None:
    """The estate's closing period in force today (Paris), read once per request; the
    shop's templates call it (shop/_closing_banner.html) and the kept pages' keys hold it."""
    if "closing_banner" not in g:
        g.closing_banner = closing.banner(db.session, g.estate_id, closing.today())
    return g.closing_banner


@bp.context_processor
def _closing_banner() -> dict:
    return {"closing_banner": closing_banner}


def latest_news() -> tuple[news.ShownNews, ...]:
    """The estate page's latest public news (issue 14), read once per request by Core:
    part of the kept page's key."""
    if "latest_news" not in g:
        g.latest_news = news.latest_public(db.session, g.estate_id, utcnow())
    return g.latest_news


def _anonymous_key(endpoint: str, wine_id: int | None = None) -> tuple | None:
    """Everything an anonymous visitor's shop page shows, for services.page_cache: the
    estate, the list anonymous visitors buy from (catalogue.price_list_for without a
    user), its wines. None: the wine is not on that list (404)."""
    estate_rows: catalogue.EstateRows = g.anonymous_rows
    price_list = estate_rows.price_list
    if wine_id is None:  # wines and friends: JSON texts read with the estate (friends.estate_page_rows)
        return (endpoint, estate_rows.estate, price_list, estate_rows.wines, g.friends_json, closing_banner(),
                latest_news())
    rows = catalogue.wine_page_rows(db.session, estate_rows.estate_id, price_list[0], wine_id) if price_list else ()
    return (endpoint, estate_rows.estate, price_list, rows, closing_banner()) if rows else None


@bp.get("/")
def page():  # type: ignore[no-untyped-def]
    def render(**context: Any) -> str:
        price_list = _visitor_price_list()
        lines = catalogue.shop_lines(db.session, price_list)
        kept_friends = getattr(g, "friends_json", None)
        shown = (friends.shown_from_json(kept_friends) if kept_friends is not None
                 else friends.shown(db.session, g.estate.id))
        return render_template("shop/estate.html", estate=g.estate, price_list=price_list,
                               groups=catalogue.group_by_colour(lines), friends=shown, latest_news=latest_news(),
                               following=news.follow_of(db.session, g.estate.id, current_user.id) is not None
                               if current_user.is_authenticated else False, **context)

    if getattr(g, "anonymous_rows", None) is None or not page_cache.applies():
        return render()
    return page_cache.serve(_anonymous_key("page"), render, badge_count)


@bp.get("/vin/<int:wine_id>")
def wine(wine_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: the wine is hidden, another estate's, or not on the visitor's list."""
    def render(**context: Any) -> str:
        price_list = _visitor_price_list()
        line = catalogue.shop_line(db.session, price_list, wine_id)
        if line is None:
            abort(404)
        return render_template("shop/wine.html", estate=g.estate, line=line, price_list=price_list, **context)

    if getattr(g, "anonymous_rows", None) is None or not page_cache.applies():
        return render()
    key = _anonymous_key("wine", wine_id)
    if key is None:
        abort(404)
    return page_cache.serve(key, render, badge_count)
