"""Home tastings, the guest's side (seed 003, "réunions"): the host's invitation link,
ordering during the tasting, and "Mes cadeaux".

* ``/reunion/<token>``: the tasting (estate, host's first name, date, place, seller).
  A visitor signs up there (the account, the estate's customer file and the guest row
  in one transaction) or logs in and comes back; a signed-in person clicks "Je
  participe". A participant (guest or host) sees their own orders in the tasting, never
  anyone else's, and the participants by first name, with "Choisir mon cadeau" beside
  their own when they won a gift in this tasting.
* Tasting mode: "Commander pendant la réunion" keeps the tasting's token in the Flask
  session, per estate (``session["tastings"][estate id]``), with a banner; while the
  tasting is open and the user takes part, the checkout offers "Livraison chez l'hôte"
  and tags the order with the tasting and its seller (:func:`current_tasting`).
* ``/mes-cadeaux``: the user's card at the estate (points, vouchers, codes) and the
  gifts to choose (services.rewards.claim_gift makes a paid order at 0 € holding it).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import EstateCustomer, Order, Reward, Tasting, db, utcnow
from services import accounts, mail, orders, ratelimit, rewards, tastings
from services import cart as carts
from services.ratelimit import limiter
from services.tenancy import get_owned
from shop import bp
from shop.forms import RegisterForm

#: session key: estate id → the token of the tasting the visitor orders in
SESSION_KEY = "tastings"


# ------------------------------------------------------------------------ helpers


@bp.before_request
def _tastings_switched_on() -> None:
    """:raise 404: a page of this module while the platform operator has switched
    tastings off for the estate (Estate.tastings_enabled, issue 13)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "__module__", None) == __name__ and not g.estate.tastings_enabled:
        abort(404)


def _tasting_or_404(token: str) -> Tasting:
    """:raise 404: no tasting has this token, or it is another estate's."""
    found = tastings.find_by_token(db.session, token)
    if found is None or found[1].id != g.estate.id:
        abort(404)
    return found[0]


def _customer() -> EstateCustomer | None:
    """The signed-in user's line in this estate's customer file."""
    return orders.find_customer(db.session, current_user) if current_user.is_authenticated else None


def _takes_part(tasting: Tasting, customer: EstateCustomer | None) -> bool:
    return customer is not None and (customer.id == tasting.host_customer_id
                                     or tastings.is_guest(db.session, tasting.id, customer.id))


def _own_orders(tasting: Tasting, customer: EstateCustomer) -> list[Order]:
    """The customer's own orders in the tasting: never the other participants'."""
    return list(db.session.scalars(select(Order).where(Order.tasting_id == tasting.id,
                                                       Order.customer_id == customer.id).order_by(Order.id)))


def _page(tasting: Tasting, form: RegisterForm | None = None, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    customer = _customer()
    taking_part = _takes_part(tasting, customer)
    gifts = ([r for r in rewards.gifts_to_choose(db.session, customer.id) if r.tasting_id == tasting.id]
             if taking_part else [])
    here = url_for("shop.tasting_invitation", tasting_token=tasting.token)
    return render_template(
        "shop/tasting.html", estate=g.estate, tasting=tasting, host=tasting.host, seller=tasting.seller,
        status_label=tastings.STATUS_LABELS.get(tasting.status, tasting.status),
        is_open=tasting.status == tastings.PLANNED,
        customer=customer, taking_part=taking_part, form=form, error=error, gifts=gifts,
        own_orders=_own_orders(tasting, customer) if taking_part else [],
        participants=tastings.participants(db.session, tasting) if taking_part else [],
        order_statuses=orders.STATUS_LABELS, in_tasting_mode=_mode_token() == tasting.token,
        login_url=url_for("account.login", next=here)), status


def _closed_message(tasting: Tasting) -> str:
    if tasting.status == tastings.CANCELLED:
        return _("Cette réunion est annulée : il n'est plus possible d'y participer.")
    return _("Cette réunion est terminée : il n'est plus possible d'y participer.")


# ------------------------------------------------------------------ the invitation


@bp.route("/reunion/<tasting_token>", methods=["GET", "POST"])
@limiter.limit(ratelimit.SIGNUP_PER_IP, scope="signup", message=ratelimit.SIGNUP_MESSAGE)
@limiter.limit(ratelimit.SIGNUP_PER_ACCOUNT, key=ratelimit.submitted_email, scope="signup",
               message=ratelimit.SIGNUP_MESSAGE)
def tasting_invitation(tasting_token: str):  # type: ignore[no-untyped-def]
    """The host's link. The POST is a visitor's sign-up: account, customer file, guest.

    :raise 404: no tasting of this estate has this token.
    """
    tasting = _tasting_or_404(tasting_token)
    if current_user.is_authenticated:
        if request.method == "POST":  # signed in meanwhile (another tab): "Je participe" is the way
            return redirect(url_for("shop.tasting_invitation", tasting_token=tasting.token))
        return _page(tasting)
    form = RegisterForm()
    if not form.validate_on_submit():
        return _page(tasting, form=form, status=422 if form.is_submitted() else 200)
    if tasting.status != tastings.PLANNED:
        return _page(tasting, form=form, error=_closed_message(tasting), status=409)
    try:
        user = accounts.register_user(db.session, email=form.email.data, password=form.password.data,
                                      first_name=form.first_name.data, last_name=form.last_name.data,
                                      phone=form.phone.data or "")
        tastings.join(db.session, g.estate, tasting, user, now=utcnow())
        db.session.commit()
    except (accounts.EmailTaken, IntegrityError):  # IntegrityError: the same address signed up meanwhile
        db.session.rollback()
        form.email.errors.append(_("Un compte existe déjà avec cette adresse : connectez-vous pour participer "
                                   "à la réunion."))
        return _page(tasting, form=form, status=422)
    except tastings.NotOpen:  # closed meanwhile
        db.session.rollback()
        return _page(tasting, form=form, error=_closed_message(tasting), status=409)
    login_user(user)
    flash(_("Bienvenue ! Votre compte est créé et vous participez à la réunion."), "success")
    return redirect(url_for("shop.tasting_invitation", tasting_token=tasting.token))


@bp.post("/reunion/<tasting_token>/participer")
def tasting_join(tasting_token: str):  # type: ignore[no-untyped-def]
    """"Je participe": the signed-in user joins as a guest (again: nothing changes).

    :raise 404: no tasting of this estate has this token.
    """
    tasting = _tasting_or_404(tasting_token)
    here = url_for("shop.tasting_invitation", tasting_token=tasting.token)
    if not current_user.is_authenticated:
        return redirect(url_for("account.login", next=here))
    try:
        tastings.join(db.session, g.estate, tasting, current_user._get_current_object(), now=utcnow())
        db.session.commit()
    except tastings.NotOpen:
        db.session.rollback()
        return _page(tasting, error=_closed_message(tasting), status=409)
    except IntegrityError:  # the same user's second click, at the same moment: the first one joined
        db.session.rollback()
    flash(_("Vous participez à la réunion."), "success")
    return redirect(here)


# ------------------------------------------------------------------- tasting mode


def _mode_token() -> str | None:
    estate_id = getattr(g, "estate_id", None)
    value = session.get(SESSION_KEY, {}).get(str(estate_id)) if estate_id is not None else None
    if not isinstance(value, str) or not g.estate.tastings_enabled:  # switched off: no tasting mode
        return None
    return value


def current_tasting(*, lock: bool = False) -> Tasting | None:
    """The tasting the visitor orders in at this estate: in tasting mode, the tasting
    open and the user one of its participants; None otherwise. ``lock``: its row is
    locked until the transaction ends, so that an order is either counted by the
    tasting's closing (services.rewards.close) or refused, never placed after it."""
    token = _mode_token()
    if token is None or not current_user.is_authenticated:
        return None
    statement = select(Tasting).where(Tasting.token == token)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    tasting = db.session.scalars(statement).first()  # the estate's own only (services.tenancy)
    if tasting is None or tasting.status != tastings.PLANNED or not _takes_part(tasting, _customer()):
        return None
    return tasting


@bp.post("/reunion/<tasting_token>/commander")
def tasting_order(tasting_token: str):  # type: ignore[no-untyped-def]
    """"Commander pendant la réunion": the shop in tasting mode.

    :raise 404: no tasting of this estate has this token.
    """
    tasting = _tasting_or_404(tasting_token)
    if not current_user.is_authenticated:
        return redirect(url_for("account.login", next=url_for("shop.tasting_invitation", tasting_token=tasting.token)))
    if tasting.status != tastings.PLANNED:
        return _page(tasting, error=_closed_message(tasting), status=409)
    if not _takes_part(tasting, _customer()):
        return _page(tasting, error=_("Cliquez d'abord sur « Je participe » pour commander pendant la réunion."),
                     status=403)
    modes = dict(session.get(SESSION_KEY, {}))
    modes[str(g.estate.id)] = tasting.token
    session[SESSION_KEY] = modes
    flash(_("Vous commandez pendant la réunion : choisissez vos vins, la livraison chez l'hôte vous sera proposée."),
          "info")
    return redirect(url_for("shop.page"))


@bp.post("/reunion/quitter")
def leave_tasting():  # type: ignore[no-untyped-def]
    modes = dict(session.get(SESSION_KEY, {}))
    if modes.pop(str(g.estate.id), None) is not None:
        session[SESSION_KEY] = modes
        flash(_("Vous ne commandez plus dans la réunion."), "info")
    return redirect(url_for("shop.page"))


@dataclass(frozen=True)
class Banner:
    tasting: Tasting
    host_first_name: str
    is_open: bool


@bp.context_processor
def _tasting_banner() -> dict:
    """``tasting_banner`` for templates/base.html: None outside tasting mode."""
    token = _mode_token() if request.endpoint != "static" else None
    if token is None:
        return {"tasting_banner": None}
    tasting = db.session.scalars(select(Tasting).where(Tasting.token == token)).first()
    if tasting is None:
        return {"tasting_banner": None}
    is_open = tasting.status == tastings.PLANNED and _takes_part(tasting, _customer())
    return {"tasting_banner": Banner(tasting, tasting.host.first_name, is_open)}


# ------------------------------------------------------------------- "Mes cadeaux"


@dataclass(frozen=True)
class GiftToChoose:
    reward: Reward
    options: list[tuple[int, str, bool]]  #: (wine id, label, in stock)


def _gifts_page(customer: EstateCustomer | None, status: int = 200):  # type: ignore[no-untyped-def]
    if customer is None:
        return render_template("shop/gifts.html", estate=g.estate, customer=None, card=None, to_choose=[],
                               chosen=[]), status
    to_choose = [GiftToChoose(reward, [(wine.id, carts.wine_label(wine), wine.is_available and wine.stock >= 1)
                                       for wine in rewards.gift_options(db.session, reward)])
                 for reward in rewards.gifts_to_choose(db.session, customer.id)]
    card = rewards.card(db.session, g.estate, customer)
    chosen = [r for r in card.rewards if r.status == "chosen"]
    gift_orders = {o.id: o for o in db.session.scalars(select(Order).where(
        Order.id.in_([r.gift_order_id for r in chosen if r.gift_order_id])))} if chosen else {}
    return render_template("shop/gifts.html", estate=g.estate, customer=customer, card=card, to_choose=to_choose,
                           chosen=[(r, gift_orders.get(r.gift_order_id)) for r in chosen]), status


@bp.get("/mes-cadeaux")
@login_required
def my_gifts():  # type: ignore[no-untyped-def]
    return _gifts_page(_customer())


#: services.rewards.GiftRefused's codes → (status, message); "not_yours" is a 404
GIFT_REFUSALS = {
    "already_chosen": (409, _l("Vous avez déjà choisi ce cadeau.")),
    "not_offered": (422, _l("Ce vin ne fait pas partie des cadeaux proposés : choisissez-en un dans la liste.")),
    "out_of_stock": (409, _l("Ce vin est épuisé : choisissez-en un autre ou revenez plus tard.")),
}


@bp.post("/mes-cadeaux/<int:reward_id>")
@login_required
def choose_my_gift(reward_id: int):  # type: ignore[no-untyped-def]
    """"Choisir mon cadeau": form field ``wine_id``, one of the reward's gifts.

    :raise 404: no reward of this estate has this id, or it is someone else's.
    """
    customer = _customer()
    reward = get_owned(db.session, Reward, reward_id)
    if customer is None or reward is None or reward.customer_id != customer.id:
        abort(404)
    raw = (request.form.get("wine_id") or "").strip()
    try:
        if not raw.isdigit() or len(raw) > 12:
            raise rewards.GiftRefused("not_offered")
        order = rewards.claim_gift(db.session, g.estate, reward, int(raw), customer=customer, now=utcnow(),
                                   public_url=current_app.config["PUBLIC_URL"])
        db.session.commit()
    except rewards.GiftRefused as exc:
        db.session.rollback()
        if exc.code == "not_yours":
            abort(404)
        status, message = GIFT_REFUSALS.get(exc.code, GIFT_REFUSALS["not_offered"])
        flash(str(message), "error")
        return _gifts_page(_customer(), status)
    except orders.OutOfStock as exc:
        db.session.rollback()
        flash(_("Désolé, « %(name)s » est épuisé : choisissez un autre vin ou revenez plus tard.",
                name=exc.wine_name), "error")
        return _gifts_page(_customer(), 409)
    mail.deliver_now()
    flash(_("Votre cadeau est ajouté à la commande %(number)s", number=order.number), "success")
    return redirect(url_for("shop.my_gifts"))
