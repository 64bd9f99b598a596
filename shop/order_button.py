""""Commander" buttons on the estate's own website (seed 000: "des boutons Commander sur
chacune de vos fiches vins"; admin/site_buttons.py gives their HTML).

A link cannot put the wine in the cart: a GET changes nothing, and every change is a
POST with its CSRF token. The button's link lands here: the wine, its price for the
visitor, the quantity prefilled, and one "Ajouter au panier" button posting to
shop.add, which goes on to the cart. Works without JavaScript, behind the age gate like
the whole shop.
"""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_login import current_user

from services import catalogue
from models import db
from shop import bp


def prefilled_quantity(raw: str | None, multiple: int, mixing_allowed: bool) -> int:
    """``?quantite=N`` as the estate sells it: at least one order multiple, rounded up to
    a multiple unless the estate allows mixing; anything unreadable: one multiple."""
    raw = (raw or "").strip()
    wanted = int(raw) if raw.isdigit() and len(raw) <= 4 else 0
    step = 1 if mixing_allowed else max(1, multiple)
    wanted = max(wanted, max(1, multiple))
    return -(-wanted // step) * step


@bp.get("/commander/<int:wine_id>")
def order_button(wine_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: the wine is hidden, another estate's, or not on the visitor's list."""
    user = current_user if current_user.is_authenticated else None
    price_list = catalogue.price_list_for(db.session, g.estate, user)
    line = catalogue.shop_line(db.session, price_list, wine_id)
    if line is None:
        abort(404)
    wine = line.wine
    quantity = prefilled_quantity(request.args.get("quantite"), wine.order_multiple, g.estate.mixing_allowed)
    return render_template("shop/order_button.html", estate=g.estate, line=line, price_list=price_list,
                           quantity=quantity, orderable=wine.is_available and wine.stock > 0)
