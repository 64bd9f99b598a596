"""The cart at one estate: add (by the order multiple, or +1 when mixing is allowed),
change quantities, remove. Every form works without JavaScript; with htmx the cart
and the header badge update in place."""

from __future__ import annotations

import secrets
from types import SimpleNamespace
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import make_response as htmx_response
from jinja2_fragments.flask import render_blocks

from models import Wine, db, utcnow
from services import cart as carts
from services import catalogue, closing, orders, page_cache, promotion_store, ratelimit
from services.ratelimit import limiter
from services.tenancy import get_owned
from shop import bp

CART_MESSAGES = {
    "unavailable": lambda p: _("« %(name)s » n'est pas disponible à la vente.", **p),
    "not_multiple": lambda p: _("« %(name)s » se commande par %(n)s bouteilles.", **p),
    "stock": lambda p: _("Il ne reste que %(n)s bouteilles de « %(name)s ».", **p),
    "reservation_closed": lambda p: _("« %(name)s » n'est pas encore disponible et ne peut pas être réservé.", **p),
    "reservation_full": lambda p: _("Il n'y a plus assez de bouteilles à réserver de « %(name)s » : "
                                    "%(n)s au plus.", **p),
    "negative": lambda p: _("La quantité doit être un nombre positif."),
    "quantity": lambda p: _("Indiquez une quantité en nombre de bouteilles."),
}


def commit_keeping_loaded() -> None:
    """Commit without expiring what the request loaded. The answer then shows what this
    transaction just wrote without reading it back: after the commit of a POST, every
    read (the wine, the estate, the user …) started a second transaction, which on
    SQLite takes the write lock again (services.database) and waits behind the other
    writers. Later commits of the request expire as usual."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def cart_token() -> str:
    token = session.get("cart_token")
    if not token:
        token = session["cart_token"] = secrets.token_urlsafe(24)
    return token


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def price_list():  # type: ignore[no-untyped-def]
    return catalogue.price_list_for(db.session, g.estate, current_user if current_user.is_authenticated else None)


def entered_codes() -> list[str]:
    return list(session.get("promo_codes", {}).get(str(g.estate.id), []))


def _set_codes(codes: list[str]) -> None:
    all_codes = dict(session.get("promo_codes", {}))
    all_codes[str(g.estate.id)] = codes[:5]
    session["promo_codes"] = all_codes


def forget_code(code: str) -> None:
    _set_codes([c for c in entered_codes() if c != code])


def gift_choices() -> tuple[tuple[int, int], ...]:
    chosen = session.get("gift_choices", {}).get(str(g.estate.id), {})
    return tuple((int(promotion_id), int(wine_id)) for promotion_id, wine_id in chosen.items())


def visitor_pricing() -> carts.Pricing:
    user = current_user if current_user.is_authenticated else None
    customer = orders.find_customer(db.session, user) if user is not None else None
    kind = "professionnel" if user is not None and user.is_verified_pro else "particulier"
    return carts.Pricing(now=utcnow(), customer_kind=kind, customer=customer, codes=frozenset(entered_codes()),
                         gift_choices=gift_choices())


def current_view(*, with_promotions: bool = True) -> carts.CartView:
    cart = carts.find(db.session, session.get("cart_token"), _user_id())
    pricing = visitor_pricing()
    user = current_user if current_user.is_authenticated else None
    return carts.build_view(db.session, g.estate, cart,
                            catalogue.price_list_for(db.session, g.estate, user, pricing.customer), pricing,
                            with_promotions=with_promotions)


def closed_message(starts: str, ends: str, message: str) -> str:
    """A closing period that stops orders (services.closing.refusal), in the visitor's words."""
    return _("Le domaine est fermé du %(start)s au %(end)s et ne prend pas de commandes pendant cette "
             "période. %(message)s", start=starts, end=ends, message=message)


def problem_message(problem: carts.Problem) -> str:
    from services.templating import euros

    params = dict(problem.params)
    for key in ("amount", "missing") if problem.code == "minimum" else ():
        params[key] = euros(params[key])
    return {
        "unavailable": lambda: _("« %(name)s » n'est plus disponible : retirez-le du panier.", **params),
        "stock": lambda: _("Il ne reste que %(n)s bouteilles de « %(name)s ».", **params),
        "sold_out": lambda: _("« %(name)s » est épuisé : retirez-le du panier.", **params),
        "reservation_full": lambda: _("Il n'y a plus assez de bouteilles à réserver de « %(name)s » : "
                                      "%(n)s au plus.", **params),
        "multiple": lambda: _("« %(name)s » se commande par %(n)s bouteilles.", **params),
        "case": lambda: _("Les cartons panachés sont de %(n)s bouteilles : ajoutez encore %(missing)s bouteille(s).", **params),
        "minimum": lambda: _("Le minimum de commande est de %(amount)s : il manque %(missing)s.", **params),
        "empty": lambda: _("Votre panier est vide."),
        "closed": lambda: closed_message(params["start"], params["end"], params["message"]),
    }[problem.code]()


def _respond_cart(view: carts.CartView, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    if request.htmx:
        html = render_blocks("shop/cart.html", ["cart_body", "cart_badge_oob"], **_cart_context(view, error))
        return htmx_response(html, status, trigger="cart-changed")
    if error:
        flash(error, "error")
    return redirect(url_for("shop.cart"))


@bp.get("/panier")
def cart():  # type: ignore[no-untyped-def]
    return render_template("shop/cart.html", **_cart_context(current_view(), None))


def _cart_context(view: carts.CartView, error: str | None) -> dict:
    pending = set(view.promotions.pending_gift_choice) if view.promotions else set()
    return dict(view=view, estate=g.estate, error=error, problem_message=problem_message,
                entered_codes=entered_codes(), code_messages=CODE_MESSAGES,
                public_codes=promotion_store.public_codes(db.session, utcnow()),
                gift_offers=[p for p in view.available if p.id in pending])


def _quantity_from_form() -> int | None:
    raw = (request.form.get("quantity") or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 5 else None


@bp.post("/panier/ajouter/<int:wine_id>")
def add(wine_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: not one of this estate's wines."""
    rows = getattr(g, "anonymous_rows", None)  # an anonymous visitor: the estate read by Core
    if rows is not None:
        estate, price_list_id = rows.named(), rows.price_list[0] if rows.price_list else None
    else:
        estate, visitor_list = g.estate, price_list()
        price_list_id = visitor_list.id if visitor_list is not None else None
    quantity = _quantity_from_form()
    error = None
    bottles = None  #: for the header badge, counted as badge_count() does
    if quantity is None:
        wine = carts.wine_for_cart(db.session, g.estate_id, wine_id, price_list_id)
        error = CART_MESSAGES["quantity"]({})
    elif (stop := closing.refusal(db.session, g.estate_id, closing.today())) is not None:
        wine = carts.wine_for_cart(db.session, g.estate_id, wine_id, price_list_id)
        error = closed_message(f"{stop.starts_on:%d/%m/%Y}", f"{stop.ends_on:%d/%m/%Y}", stop.message)
    else:
        rules = carts.CartRules(g.estate_id, estate.mixing_allowed, estate.reservations_enabled)
        now = utcnow()
        try:
            cart_id = carts.cart_id_for_update(db.session, g.estate_id, cart_token(), _user_id(), now)
            added = carts.add(db.session, rules, cart_id, wine_id, price_list_id, quantity)
            wine = added.wine if added is not None else None
            if added is not None:
                bottles = added.bottles
                commit_keeping_loaded()
        except carts.CartError as exc:
            db.session.rollback()
            error = CART_MESSAGES[exc.code](exc.params)
            wine = carts.wine_for_cart(db.session, g.estate_id, wine_id, price_list_id)
    if wine is None:
        abort(404)
    if request.htmx:
        # The badge only needs the count: pricing the whole cart (current_view) for it
        # cost more than the rest of the request.
        html = _add_form_answer(wine, estate, error, None if error else quantity,
                                badge_count() if bottles is None else bottles)
        return htmx_response(html, 422 if error else 200, trigger="cart-changed")
    if error:
        flash(error, "error")
    else:
        flash(_("%(n)s × « %(name)s » ajouté au panier.", n=quantity, name=wine.name), "success")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith(f"/{estate.slug}/")
                    else url_for("shop.page"))


#: What the add form of templates/shop/estate.html shows of a wine: the template gets
#: these and nothing else, and its answer is kept under them.
ADD_FORM_WINE_FIELDS = ("id", "is_available", "stock", "order_multiple", "reservation_open", "reservation_cap",
                        "reserved_count")


def _add_form_answer(wine: Any, estate: Any, error: str | None, added: int | None, bottles: int) -> str:
    """The add form and the header badge after an add, rendered once per what they show
    (services.page_cache puts in the visitor's CSRF token and bottle count): the add is
    the shop's busiest answer, and rendering it cost a third of the request."""
    shown = SimpleNamespace(**{name: getattr(wine, name) for name in ADD_FORM_WINE_FIELDS})
    rules = SimpleNamespace(mixing_allowed=estate.mixing_allowed, reservations_enabled=estate.reservations_enabled)
    key = ("add_form", tuple(vars(shown).values()), tuple(vars(rules).values()), error, added)

    def render(csrf_token: Any, cart_count: Any) -> str:
        return render_blocks("shop/estate.html", ["add_form", "cart_badge_oob"], wine=shown, estate=rules,
                             error=error, added=added, bottles=cart_count(), csrf_token=csrf_token)

    return page_cache.serve(key, render, lambda: bottles)


CODE_MESSAGES = {
    "unknown": lambda code: _("Le code %(code)s n'existe pas. Vérifiez l'orthographe.", code=code),
    "expired": lambda code: _("Le code %(code)s n'est pas valable aujourd'hui.", code=code),
    "conditions": lambda code: _("Le code %(code)s est enregistré, mais votre panier ne remplit pas encore ses conditions.", code=code),
    "used_up": lambda code: _("Le code %(code)s n'est plus utilisable.", code=code),
    "not_cumulative": lambda code: _("Le code %(code)s ne se cumule pas avec la promotion en cours.", code=code),
}


def _my_voucher(code: str) -> bool:
    """A bon d'achat of the logged-in customer at this estate (someone else's is unknown)."""
    from services import vouchers

    pricing = visitor_pricing()
    return bool(vouchers.find_usable(db.session, pricing.customer, frozenset({code})))


@bp.post("/panier/code")
@limiter.limit(ratelimit.PROMO_CODE_PER_IP, exempt_when=lambda: bool(request.form.get("remove")),
               message=ratelimit.PROMO_CODE_MESSAGE)
@limiter.limit(ratelimit.PROMO_CODE_PER_CART, key=ratelimit.by_cart, exempt_when=lambda: bool(request.form.get("remove")),
               message=ratelimit.PROMO_CODE_MESSAGE)
def promo_code():  # type: ignore[no-untyped-def]
    """"J'ai un code promo": an unknown code is refused at once; a known one is kept
    in the session and the cart says whether it applies yet."""
    code = promotion_store.normalise_code(request.form.get("code"))[:40]
    error = None
    if request.form.get("remove"):
        forget_code(promotion_store.normalise_code(request.form.get("remove")))
    elif not code:
        error = _("Saisissez un code promo.")
    elif promotion_store.find_by_code(db.session, code) is None and not _my_voucher(code):
        error = CODE_MESSAGES["unknown"](code)
    elif code not in entered_codes():
        _set_codes(entered_codes() + [code])
    view = current_view()
    if error is None and code and code not in view.voucher_codes and view.promotions is not None \
            and code in view.promotions.refused_codes:
        error = CODE_MESSAGES[view.promotions.refused_codes[code]](code)
    return _respond_cart(view, error, 422 if error and code not in entered_codes() else 200)


@bp.post("/panier/cadeau")
def choose_gift():  # type: ignore[no-untyped-def]
    """A gift "au choix dans une liste": the customer picks it under the cart."""
    promotion_id, wine_id = request.form.get("promotion", ""), request.form.get("wine", "")
    error = None
    if not (promotion_id.isdigit() and wine_id.isdigit() and len(promotion_id) < 10 and len(wine_id) < 10):
        error = _("Choisissez un cadeau dans la liste.")
    else:
        all_choices = dict(session.get("gift_choices", {}))
        mine = dict(all_choices.get(str(g.estate.id), {}))
        mine[promotion_id] = int(wine_id)
        all_choices[str(g.estate.id)] = mine
        session["gift_choices"] = all_choices
    return _respond_cart(current_view(), error, 422 if error else 200)


@bp.post("/panier/<int:wine_id>")
def update_line(wine_id: int):  # type: ignore[no-untyped-def]
    wine = get_owned(db.session, Wine, wine_id)
    cart_obj = carts.find(db.session, session.get("cart_token"), _user_id())
    if wine is None or cart_obj is None:
        abort(404)
    quantity = 0 if request.form.get("remove") else _quantity_from_form()
    error = None
    if quantity is None:
        error = CART_MESSAGES["quantity"]({})
    else:
        try:
            carts.set_quantity(db.session, g.estate, cart_obj, wine, quantity)
            db.session.commit()
        except carts.CartError as exc:
            db.session.rollback()
            error = CART_MESSAGES[exc.code](exc.params)
    return _respond_cart(current_view(), error, 422 if error else 200)


def badge_count() -> int:
    """Bottles in the visitor's cart at the current estate (for the header badge)."""
    token, user_id = session.get("cart_token"), _user_id()
    if getattr(g, "estate_id", None) is None or (token is None and user_id is None):
        return 0
    cart_obj = carts.find(db.session, token, user_id)
    return sum(line.quantity for line in cart_obj.lines) if cart_obj else 0



@bp.context_processor
def _cart_badge() -> dict:
    return {"cart_count": badge_count}
