"""Who may enter an estate's back office, and the estate every query is scoped to."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

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
    """:raise 404: unknown estate, or the user is not on its staff."""
    if not current_user.is_authenticated:
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
    estate = db.session.scalars(select(Estate).where(Estate.slug == g.estate_slug)).first()
    if estate is None:
        abort(404)
    scope_to_estate(db.session, estate.id)
    if not current_user.is_platform_admin:
        member = db.session.scalars(
            select(EstateStaff.id).where(EstateStaff.user_id == current_user.id)
        ).first()
        if member is None:
            abort(404)
    g.estate = estate
    return None


def get_or_404(model: type, ident: int):  # type: ignore[no-untyped-def]
    """Load one of the current estate's rows; another estate's id is a 404."""
    from services.tenancy import get_owned

    obj = get_owned(db.session, model, ident)
    if obj is None:
        abort(404)
    return obj
