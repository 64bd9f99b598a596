"""An estate's shop: its page and its wine pages."""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template
from flask_login import current_user
from sqlalchemy import select

from models import Estate, db
from services import catalogue
from services.tenancy import scope_to_estate
from shop import bp
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


@bp.get("/")
def page():  # type: ignore[no-untyped-def]
    price_list = _visitor_price_list()
    lines = catalogue.shop_lines(db.session, price_list)
    return render_template(
        "shop/estate.html",
        estate=g.estate,
        price_list=price_list,
        groups=catalogue.group_by_colour(lines),
    )


@bp.get("/vin/<int:wine_id>")
def wine(wine_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: the wine is hidden, another estate's, or not on the visitor's list."""
    price_list = _visitor_price_list()
    line = catalogue.shop_line(db.session, price_list, wine_id)
    if line is None:
        abort(404)
    return render_template("shop/wine.html", estate=g.estate, line=line, price_list=price_list)
