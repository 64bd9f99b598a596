"""A fair's public invitation page: the estate, the fair, its dates, venue and stand,
and how to order online for pickup there."""

from __future__ import annotations

from flask import abort, g, render_template

from models import db, utcnow
from services import fairs
from shop import bp


@bp.get("/salon/<token>")
def fair_invitation(token: str):  # type: ignore[no-untyped-def]
    """:raise 404: no participation of this estate has this token."""
    participation = fairs.by_token(db.session, token)
    if participation is None:
        abort(404)
    fair = participation.fair
    return render_template("shop/fair_invitation.html", estate=g.estate, participation=participation, fair=fair,
                           dates=fairs.dates_label(fair), pickup_label=fairs.pickup_label(participation),
                           ordering=participation.pickup_enabled and fair.ends_on >= fairs.paris_date(utcnow()),
                           prefair=fairs.paris_date(utcnow()) < fair.starts_on and (
                               participation.prefair_discount_bp or participation.prefair_price_list_id),
                           percent=fairs.percent_label(participation.prefair_discount_bp))
