"""Who may enter an estate's back office, and the estate every query is scoped to."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, select

from admin import bp
from models import Estate, EstateStaff, db
from services.tenancy import scope_to_estate


@bp.url_value_preprocessor
def _load_estate(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.estate_slug = (values or {}).pop("estate_slug", None)


@bp.url_defaults
def _add_estate_slug(endpoint: str, values: dict[str, Any]) -> None:
    if "estate_slug" not in values and getattr(g, "estate", None) is not None:
        values["estate_slug"] = g.estate.slug


@bp.before_request
def _require_staff():  # type: ignore[no-untyped-def]
    """Sets ``g.estate`` and ``g.staff_role`` ("manager", or "seller"; a platform admin
    counts as a manager); a seller's dashboard is their tastings.

    :raise 404: unknown estate, the user is not on its staff, the page belongs to an
        option switched off for the estate (:data:`OPTION_MODULES`), or a seller asks for
        a page outside :data:`SELLER_ENDPOINTS`.
    """
    if not current_user.is_authenticated:
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
    # The estate and the user's place on its staff in one statement (every back-office
    # request sends it; the orders table is timed against its raw SQL, issue 8).
    found = db.session.execute(_ESTATE_AND_STAFF, {"slug": g.estate_slug, "user_id": current_user.id}).first()
    if found is None:
        abort(404)
    estate, member, role = found
    if member is None and not current_user.is_platform_admin:
        abort(404)
    g.staff_role = "manager" if current_user.is_platform_admin else role
    if switched_off(estate, request.endpoint):
        abort(404)  # an option the platform operator switched off for this estate (issue 13)
    if g.staff_role == "seller" and request.endpoint not in SELLER_ENDPOINTS:
        if request.endpoint == "admin.dashboard" and estate.tastings_enabled:
            g.estate = estate  # for url_defaults
            return redirect(url_for("admin.tastings_page"))
        abort(404)  # a seller sees their tastings and customers only (issue 12)
    scope_to_estate(db.session, estate.id)
    g.estate = estate
    return None


#: What a seller (EstateStaff.role "seller") may open: their tastings, their orders and
#: customers, their own card and report (admin/tastings.py). Anything else is a 404.
SELLER_ENDPOINTS = frozenset({
    "admin.tastings_page", "admin.tasting_page", "admin.tasting_reschedule", "admin.tasting_close",
    "admin.tasting_book", "admin.tasting_order", "admin.direct_sale", "admin.seller_customers",
    "admin.seller_customer_card", "admin.seller_own_card", "admin.tastings_report", "admin.tasting_gift",
})


#: The back-office modules of an option the platform operator switches per estate: the
#: module of the view → the Estate column. Every page of the module is a 404 while the
#: option is off, and layout.html hides its links. (Reservations are switched in the
#: wine rows and the shop, services.reservations.)
OPTION_MODULES = {
    "admin.tastings": "tastings_enabled",  # réunions, vendeurs, ventes directes, fidélité réunions
    "admin.catalogues": "groups_enabled",  # catalogues for producer groups, "Ventes"
    "admin.mailings": "newsletter_enabled",  # lettres d'information (issue 14)
}


def switched_off(estate: Estate, endpoint: str | None) -> bool:
    """The endpoint belongs to an option that is off for ``estate``."""
    view = current_app.view_functions.get(endpoint or "")
    option = OPTION_MODULES.get(getattr(view, "__module__", ""))
    return option is not None and not getattr(estate, option)


def is_seller() -> bool:
    """The current back-office user is a seller (not a manager nor a platform admin)."""
    return getattr(g, "staff_role", None) == "seller"


_ESTATE_AND_STAFF = (select(Estate, EstateStaff.id, EstateStaff.role)
                     .outerjoin(EstateStaff, (EstateStaff.estate_id == Estate.id)
                                & (EstateStaff.user_id == bindparam("user_id")))
                     .where(Estate.slug == bindparam("slug")).limit(1)
                     .execution_options(all_estates=True))  # read before the request is scoped to the estate


def get_or_404(model: type, ident: int):  # type: ignore[no-untyped-def]
    """Load one of the current estate's rows; another estate's id is a 404."""
    from services.tenancy import get_owned

    obj = get_owned(db.session, model, ident)
    if obj is None:
        abort(404)
    return obj
