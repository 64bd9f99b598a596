"""Parrainage in the shop: the sponsor's page with their link, and the link itself."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import EstateCustomer, db
from services import orders, referrals
from services.database import writes_on_get
from services.templating import euros
from shop import bp


def referral_code() -> str | None:
    return session.get("referral", {}).get(str(g.estate.id))


@bp.get("/parrainage/<code>")
def referral_link(code: str):  # type: ignore[no-untyped-def]
    """A friend's link: remembered for this visitor's first order at the estate.

    :raise 404: no customer of this estate has this code.
    """
    sponsor = referrals.sponsor_by_code(db.session, code)
    if sponsor is None:
        abort(404)
    remembered = dict(session.get("referral", {}))
    remembered[str(g.estate.id)] = sponsor.referral_code
    session["referral"] = remembered
    if g.estate.referral_referee_bonus_cents:
        flash(_("Bienvenue ! Vous êtes parrainé : %(bonus)s offerts sur votre première commande.",
                bonus=euros(g.estate.referral_referee_bonus_cents)), "success")
    return redirect(url_for("shop.page"))


@bp.get("/parrainage")
@login_required
@writes_on_get
def referral_page():  # type: ignore[no-untyped-def]
    """The customer's personal link and code (created on first visit)."""
    if not (g.estate.referral_sponsor_bonus_cents or g.estate.referral_referee_bonus_cents):
        abort(404)
    customer = orders.find_customer(db.session, current_user)
    if customer is None:
        customer = EstateCustomer(estate_id=g.estate.id, email=current_user.email, user_id=current_user.id,
                                  first_name=current_user.first_name, last_name=current_user.last_name)
        db.session.add(customer)
        db.session.flush()
    code = referrals.code_for(db.session, customer)
    db.session.commit()
    link = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("shop.referral_link", code=code)
    return render_template("shop/referral.html", estate=g.estate, code=code, link=link)
