"""An estate's shop: its page and its wine pages."""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template
from flask_login import current_user
from sqlalchemy import select

from models import CustomerKind, Estate, db
from services import catalogue, page_cache
from services.tenancy import scope_to_estate
from shop import bp
from shop.cart import badge_count
from shop.group_purchases import in_group_mode
from shop.site import require_age_confirmation


@bp.url_value_preprocessor
def _load_estate(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """:raise 404: no published estate has this slug."""
    slug = (values or {}).pop("estate_slug", None)
    estate = db.session.scalars(
        select(Estate).where(Estate.slug == slug, Estate.is_published.is_(True))
    ).first()
    if estate is None:
        abort(404)
    g.estate = estate
    scope_to_estate(db.session, estate.id)


@bp.url_defaults
def _add_estate_slug(endpoint: str, values: dict[str, Any]) -> None:
    if "estate_slug" not in values and getattr(g, "estate", None) is not None:
        values["estate_slug"] = g.estate.slug


bp.before_request(require_age_confirmation)


def _visitor_price_list():  # type: ignore[no-untyped-def]
    user = current_user if current_user.is_authenticated else None
    return catalogue.price_list_for(db.session, g.estate, user)


def _anonymous_key(endpoint: str, wine_id: int | None = None) -> tuple | None:
    """Everything an anonymous visitor's shop page shows, for services.page_cache: the
    estate, the list anonymous visitors buy from (catalogue.price_list_for without a
    user), its wines. None: the wine is not on that list (404)."""
    price_list = catalogue.default_price_list_row(db.session, g.estate.id, CustomerKind.PARTICULIER)
    rows = catalogue.shop_rows(db.session, g.estate.id, price_list[0], wine_id) if price_list else ()
    if wine_id is not None and not rows:
        return None
    return (endpoint, catalogue.row_values(g.estate), price_list, rows)


@bp.get("/")
def page():  # type: ignore[no-untyped-def]
    def render(**context: Any) -> str:
        price_list = _visitor_price_list()
        lines = catalogue.shop_lines(db.session, price_list)
        return render_template("shop/estate.html", estate=g.estate, price_list=price_list,
                               groups=catalogue.group_by_colour(lines), **context)

    if not page_cache.applies() or in_group_mode():  # the group banner is the visitor's own
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

    if not page_cache.applies() or in_group_mode():  # the group banner is the visitor's own
        return render()
    key = _anonymous_key("wine", wine_id)
    if key is None:
        abort(404)
    return page_cache.serve(key, render, badge_count)
