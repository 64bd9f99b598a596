"""A fair's public invitation page: the estate, the fair, its dates, venue and stand,
and how to order online for pickup there."""

from __future__ import annotations

from flask import abort, g, render_template, session

from models import db, utcnow
from services import fairs
from shop import bp


#: session key: estate id → the fair participation whose invitation the visitor opened
INVITATION_KEY = "fair_invitations"


def invited_fair_id() -> int | None:
    """The fair of this estate whose invitation link the visitor opened, if any."""
    value = session.get(INVITATION_KEY, {}).get(str(g.estate_id))
    return value if isinstance(value, int) else None


@bp.get("/salon/<token>")
def fair_invitation(token: str):  # type: ignore[no-untyped-def]
    """:raise 404: no participation of this estate has this token."""
    participation = fairs.by_token(db.session, token)
    if participation is None:
        abort(404)
    fair = participation.fair
    invitations = dict(session.get(INVITATION_KEY, {}))
    invitations[str(g.estate_id)] = participation.id  # the checkout offers "Retrait sur le salon" first
    session[INVITATION_KEY] = invitations
    return render_template("shop/fair_invitation.html", estate=g.estate, participation=participation, fair=fair,
                           dates=fairs.dates_label(fair), pickup_label=fairs.pickup_label(participation),
                           ordering=participation.pickup_enabled and fair.ends_on >= fairs.paris_date(utcnow()),
                           prefair=fairs.paris_date(utcnow()) < fair.starts_on and (
                               participation.prefair_discount_bp or participation.prefair_price_list_id),
                           percent=fairs.percent_label(participation.prefair_discount_bp))
