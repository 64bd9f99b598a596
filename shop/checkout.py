"""Checkout: the form, placing the order, paying, and the order's own page."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from models import DeliveryKind, Order, OrderStatus, PaymentMode, PaymentStatus, User, db, utcnow
from services import accounts, delivery, loyalty, mail, orders, payment_flow, promotion_store, referrals, tastings, vouchers
from services import cart as carts
from services import distance_selling
from services import sales_terms  # issue 15: the CGV version the order accepted
from services.database import writes_on_get
from services.payments import PaymentError
from services.ratelimit import CHECKOUT_PER_IP, limiter
from shop import bp
from shop.cart import cart_token, commit_keeping_loaded, current_view, forget_code, problem_message
from shop.checkout_forms import CheckoutForm
from shop.fairs import invited_fair_id
from shop.group_purchases import checkout_refusal, current_group_id
from shop.payments import provider
from shop.tastings import current_tasting
from shop.referral import referral_code


def _options() -> list[delivery.DeliveryOption]:
    # in group mode (an achat groupé's link), the group's delivery only
    options = delivery.options_for(db.session, g.estate, delivery.DeliveryContext(utcnow(), current_group_id()))
    tasting = current_tasting() if current_group_id() is None else None
    # ordering during a home tasting (its link's "Commander pendant la réunion"): to the host too
    return ([tastings.host_option(tasting)] + options) if tasting is not None else options


def _prepare(form: CheckoutForm, options: list[delivery.DeliveryOption]) -> None:
    form.delivery.choices = [SelectChoice(o.key, o.label) for o in options]
    kind = next((o.kind for o in options if o.key == form.delivery.data), None)
    labels = orders.PAYMENT_LABELS
    form.payment_mode.choices = [SelectChoice(m.value, str(labels[m]))
                                 for m in orders.allowed_payment_modes(g.estate, kind)]
    # only the countries the estate ships to (issue 15); another one posted is refused by
    # place_order with the list of those it ships to, not by the select's own check
    form.shipping_country.choices = [SelectChoice(code, name) for code, name in distance_selling.country_choices(g.estate)]
    form.shipping_country.validate_choice = False


def _conditions(country: str, view: carts.CartView) -> str:
    """The sales conditions the customer accepts: the price list's own (the cart view's,
    already built: building it again priced the whole cart a second time), then
    France's or other countries' depending on the destination."""
    view_list = view.price_list
    parts = [view_list.sales_conditions if view_list else ""]
    parts.append(g.estate.sales_conditions_fr if country == "FR" else g.estate.sales_conditions_export)
    return "\n\n".join(p for p in parts if p)


def _summary(view: carts.CartView, form: CheckoutForm, options: list[delivery.DeliveryOption]):  # type: ignore[no-untyped-def]
    """(quote, error) for the delivery and destination currently chosen in the form."""
    option = next((o for o in options if o.key == form.delivery.data), None)
    if option is None:
        return view.quote, None
    country = form.shipping_country.data if form.ship_elsewhere.data else form.country.data
    postcode = form.shipping_postcode.data if form.ship_elsewhere.data else form.postcode.data
    try:
        mode = PaymentMode(form.payment_mode.data) if form.payment_mode.data in {m.value for m in PaymentMode} else None
        user = current_user if current_user.is_authenticated else None
        bonus, _sponsor = referrals.referee_bonus(db.session, g.estate, referral_code(), user)
        quote, _zone, _view = orders.quote_for(db.session, g.estate, view, option, country or "FR", postcode or "",
                                               mode, utcnow(), form.loyalty.cents or 0, bonus,
                                               _points(form))
    except distance_selling.DestinationRefused as exc:
        return view.quote, exc.message()
    except delivery.DeliveryUnavailable:
        return view.quote, _("Le domaine ne livre pas à cette destination. Choisissez l'enlèvement ou une autre adresse.")
    return quote, None


def _render(form: CheckoutForm, view: carts.CartView, options, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    quote, shipping_error = _summary(view, form, options)
    country = form.shipping_country.data if form.ship_elsewhere.data else form.country.data
    customer = view.pricing.customer if view.pricing else None
    balance = customer.loyalty_balance_cents if customer else 0
    points_balance = customer.points_balance if customer and g.estate.points_mode != "off" and g.estate.points_value_cents else 0
    context = dict(form=form, view=view, estate=g.estate, quote=quote, shipping_error=shipping_error, balance=balance,
                   points_balance=points_balance,
                   conditions=_conditions(country or "FR", view), error=error, options=options)
    if request.htmx and request.htmx.target == "checkout-summary":
        return render_block("shop/checkout.html", "summary", **context)
    return render_template("shop/checkout.html", **context), status


@bp.route("/commande", methods=["GET", "POST"])
@limiter.limit(CHECKOUT_PER_IP, exempt_when=lambda: bool(request.htmx and request.htmx.target == "checkout-summary"))
def checkout():  # type: ignore[no-untyped-def]
    showing = request.method == "GET" or bool(request.htmx and request.htmx.target == "checkout-summary")
    # Placing the order prices the cart once, with its delivery (orders.place_order):
    # the promotions are applied there, not to this view too (a page shown again after
    # a refusal prices it with them, as the cart page does).
    view = current_view(with_promotions=showing)
    if view.is_empty or view.problems:
        return redirect(url_for("shop.cart"))  # the cart page says what to fix
    options = _options()
    form = CheckoutForm()
    if request.method == "GET":
        form.checkout_token.data = secrets.token_urlsafe(24)
        _prefill(form, options)
    _prepare(form, options)
    refused = checkout_refusal(view.bottles)  # a closed group purchase, or under its minimum per participant
    if showing:
        return _render(form, view, options, error=refused)
    if refused:
        return _render(form, current_view(), options, 422, refused)
    if not form.validate() or not _guest_fields_ok(form):
        return _render(form, current_view(), options, 422)
    user = _checkout_user(form)
    if user is None:
        return _render(form, current_view(), options, 422)
    return _place(form, view, user, options)


def _prefill(form: CheckoutForm, options) -> None:  # type: ignore[no-untyped-def]
    if options:
        # a visitor who came by a fair's invitation link collects at that fair
        invited = invited_fair_id()
        form.delivery.data = next((o.key for o in options if o.kind is DeliveryKind.FAIR and o.occasion_id == invited),
                                  options[0].key)
    if current_user.is_authenticated:
        form.birth_date.data = current_user.birth_date
        form.first_name.data, form.last_name.data = current_user.first_name, current_user.last_name
        form.phone.data, form.company.data = current_user.phone, current_user.company_name
        customer = orders.find_customer(db.session, current_user)
        if customer is not None:
            form.street.data, form.postcode.data = customer.billing_street, customer.billing_postcode
            form.city.data, form.country.data = customer.billing_city, customer.billing_country or "FR"
            form.phone.data = customer.phone or form.phone.data


def _guest_fields_ok(form: CheckoutForm) -> bool:
    if current_user.is_authenticated:
        return True
    ok = True
    for field in (form.email, form.password, form.confirm):
        if not field.data:
            field.errors = [_("Ce champ est obligatoire.")]
            ok = False
    return ok


def _checkout_user(form: CheckoutForm):  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return current_user._get_current_object()
    try:
        user = accounts.register_user(db.session, email=form.email.data, password=form.password.data,
                                      first_name=form.first_name.data, last_name=form.last_name.data,
                                      phone=form.phone.data)
    except accounts.EmailTaken:
        form.email.errors = [_("Un compte existe déjà avec cette adresse : connectez-vous pour commander.")]
        return None
    return user


def _points(form: CheckoutForm) -> int:
    value = form.points.data
    return value if isinstance(value, int) and 0 < value <= 10_000_000 else 0


def _data(form: CheckoutForm) -> orders.CheckoutData:
    elsewhere = bool(form.ship_elsewhere.data)
    return orders.CheckoutData(
        email=current_user.email if current_user.is_authenticated else accounts.normalise_email(form.email.data),
        first_name=form.first_name.data.strip(), last_name=form.last_name.data.strip(),
        phone=form.phone.data.strip(), company=(form.company.data or "").strip(),
        street=form.street.data.strip(), postcode=form.postcode.data.strip(), city=form.city.data.strip(),
        country=form.country.data, payment_mode=PaymentMode(form.payment_mode.data),
        delivery_key=form.delivery.data, ship_to_billing=not elsewhere,
        shipping_name=(form.shipping_name.data or "").strip(), shipping_street=(form.shipping_street.data or "").strip(),
        shipping_postcode=(form.shipping_postcode.data or "").strip(),
        shipping_city=(form.shipping_city.data or "").strip(), shipping_country=form.shipping_country.data,
        note=(form.note.data or "").strip(), loyalty_cents=form.loyalty.cents or 0, referral_code=referral_code(),
        points=_points(form), newsletter=bool(form.newsletter.data) and g.estate.newsletter_enabled,
        birth_date=form.birth_date.data)


def _place(form: CheckoutForm, view: carts.CartView, user, options):  # type: ignore[no-untyped-def]
    data = _data(form)
    token = form.checkout_token.data or secrets.token_urlsafe(24)
    tasting = current_tasting(lock=True)  # locked until the commit: the tasting's closing counts this order
    if tasting is None:  # closed meanwhile: no delivery to its host any more
        options = [o for o in options if o.kind is not DeliveryKind.TASTING]
    try:
        order = orders.place_order(
            db.session, estate=g.estate, view=view, data=data, user=user, checkout_token=token,
            conditions=_conditions(data.country if data.ship_to_billing else data.shipping_country, view),
            now=utcnow(), public_url=current_app.config["PUBLIC_URL"], group_purchase_id=current_group_id(),
            options=options, tasting_id=tasting.id if tasting else None,
            seller_user_id=tasting.seller_user_id if tasting else None)
        commit_keeping_loaded()  # the redirect shows the order just written: no second transaction
    except IntegrityError:  # the same checkout, posted twice at once: the other one won
        db.session.rollback()
        order = orders.find_by_checkout_token(db.session, token)
        if order is None:
            raise
    except orders.OutOfStock as exc:
        db.session.rollback()
        return _render(form, current_view(), options, 409,
                       _("Désolé, « %(name)s » vient d'être épuisé par une autre commande. Votre panier a été mis à jour.",
                         name=exc.wine_name))
    except orders.CartNotOrderable as exc:
        db.session.rollback()
        return _render(form, current_view(), options, 409, " ".join(problem_message(p) for p in exc.problems))
    except distance_selling.DestinationRefused as exc:
        db.session.rollback()
        return _render(form, view, options, 422, exc.message())
    except distance_selling.UnderLegalAge:
        db.session.rollback()
        return _render(form, view, options, 422, str(distance_selling.MINORS_REFUSAL))
    except distance_selling.BirthDateInvalid as exc:
        db.session.rollback()
        return _render(form, view, options, 422, str(distance_selling.BIRTH_DATE_MESSAGES[exc.code]))
    except delivery.DeliveryUnavailable:
        db.session.rollback()
        return _render(form, view, options, 422, _("Le domaine ne livre pas à cette destination."))
    except orders.PaymentModeRefused:
        db.session.rollback()
        return _render(form, view, options, 422, _("Ce mode de paiement n'est pas proposé avec cette livraison."))
    except vouchers.VoucherUsed:
        db.session.rollback()
        return _render(form, current_view(), options, 409,
                       _("Ce bon d'achat vient d'être utilisé par une autre commande : vérifiez le nouveau total."))
    except loyalty.InsufficientBalance:
        db.session.rollback()
        return _render(form, current_view(), options, 409,
                       _("Votre solde d'avoir fidélité a changé entre-temps : vérifiez le montant utilisé."))
    except promotion_store.CodeExhausted as exc:
        db.session.rollback()
        forget_code(exc.code)
        return _render(form, current_view(), options, 409,
                       _("Le code %(code)s vient d'atteindre sa limite d'utilisation : il a été retiré. "
                         "Vérifiez le nouveau total.", code=exc.code))
    if not current_user.is_authenticated:
        login_user(user)
        carts.claim(db.session, cart_token(), user.id)
        db.session.commit()
    mail.deliver_now()
    return _start_payment(order)


def _start_payment(order: Order):  # type: ignore[no-untyped-def]
    """Card: off to the provider's page. Transfer: the bank details on the order page."""
    if order.payment_mode not in payment_flow.PROVIDER_MODES or order.status is not OrderStatus.PENDING_PAYMENT:
        return redirect(url_for("shop.order", number=order.number))
    try:
        payment = payment_flow.open_payment(db.session, order, "mangopay")
        db.session.commit()  # the idempotency key is stored before the provider is called
        return_url = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("shop.payment_return", number=order.number)
        payin = payment_flow.submit(db.session, provider(), payment, order, g.estate, order_user(order), return_url)
        db.session.commit()
    except PaymentError:
        db.session.rollback()
        current_app.logger.exception("payment provider error for %s", order.number)
        flash(_("Le paiement en ligne est momentanément indisponible. Votre commande est enregistrée : "
                "réessayez dans un instant depuis cette page."), "error")
        return redirect(url_for("shop.order", number=order.number))
    if order.payment_mode is PaymentMode.CARD and payin.redirect_url:
        return redirect(payin.redirect_url)
    return redirect(url_for("shop.order", number=order.number))


def order_user(order: Order) -> User:
    return db.session.get(User, order.user_id)


def _own_order(number: str) -> Order:
    """:raise 404: no such order at this estate, or not the visitor's."""
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    if order is None or not current_user.is_authenticated or order.user_id != current_user.id:
        abort(404)
    return order


@bp.get("/commande/<number>")
@login_required
def order(number: str):  # type: ignore[no-untyped-def]
    order = _own_order(number)
    payment = order.payments[-1] if order.payments else None
    waiting = order.status.value in ("pending_payment", "paid", "preparing")  # not yet sent, nor cancelled
    return render_template("shop/order.html", order=order, estate=g.estate, payment=payment,
                           status_label=orders.STATUS_LABELS[order.status],
                           payment_label=orders.PAYMENT_LABELS[order.payment_mode],
                           expected=orders.expected_dispatch(db.session, g.estate, order) if waiting else None,
                           accepted_terms=sales_terms.version_of_order(db.session, order))  # issue 15


@bp.post("/commande/<number>/payer")
@login_required
def pay(number: str):  # type: ignore[no-untyped-def]
    """Try the online payment again (after a refused card or an unreachable provider)."""
    return _start_payment(_own_order(number))


@bp.get("/commande/<number>/retour-paiement")
@login_required
@writes_on_get
def payment_return(number: str):  # type: ignore[no-untyped-def]
    """The provider sends the customer back here: fetch the pay-in, then show the order."""
    order = _own_order(number)
    transaction = request.args.get("transactionId", "")
    known = {p.provider_payin_id for p in order.payments if p.provider_payin_id}
    if transaction not in known:
        abort(404)
    try:
        payin = provider().get_payin(transaction)
    except PaymentError:
        flash(_("Nous n'avons pas encore la réponse de la banque : rechargez cette page dans un instant."), "info")
        return redirect(url_for("shop.order", number=number))
    payment = payment_flow.apply_payin(db.session, "mangopay", payin, utcnow(), current_app.config["PUBLIC_URL"])
    db.session.commit()
    mail.deliver_now()
    if payment is not None and payment.status is PaymentStatus.SUCCEEDED:
        flash(_("Paiement accepté : merci pour votre commande !"), "success")
    elif payment is not None and payment.status is PaymentStatus.FAILED:
        flash(_("Le paiement a été refusé. Votre commande est conservée : vous pouvez réessayer."), "error")
    return redirect(url_for("shop.order", number=number))

