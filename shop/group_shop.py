"""The group shop of one distribution: one basket across estates, one checkout that
makes one order per estate, one payment split per estate; the distribution sheet and
the administrator's collection ticking on the day."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import make_response as htmx_response
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Distribution, GroupCheckout, PaymentMode, ProducerGroup, db, utcnow
from services import distributions, group_payments, group_shop, mail, orders, producer_groups
from services import cart as carts
from services import distance_selling
from services.database import writes_on_get
from services.payments import PaymentError
from shop.cart import CART_MESSAGES, problem_message
from shop.checkout_forms import GroupCheckoutForm
from shop.groups import groups_bp, load_distribution, load_group
from shop.payments import provider


def _is_member(group_id: int) -> bool:
    return producer_groups.membership(db.session, group_id, current_user) is not None


def _context(group, distribution, error: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    now = utcnow()
    member = _is_member(group.id)
    parts = group_shop.parts(db.session, distribution, current_user, now) if member else []
    return dict(group=group, distribution=distribution, shelves=group_shop.shelves(db.session, distribution),
                parts=parts, total=sum(p.view.quote.total_ttc_cents for p in parts),
                problems=[problem_message(problem) for p in parts for problem in p.view.problems],
                is_member=member, is_open=group_shop.is_open(distribution, now), when=distributions.when(distribution),
                is_admin=producer_groups.is_admin(db.session, group.id, current_user), error=error)


@groups_bp.get("/<int:group_id>/distributions/<int:distribution_id>/boutique")
@login_required
def shop(group_id: int, distribution_id: int):  # type: ignore[no-untyped-def]
    """Members order here; the staff of a participating estate check their wines (step 3)."""
    group = load_group(group_id)
    distribution = load_distribution(group, distribution_id)
    return render_template("groups/shop.html", **_context(group, distribution))


@groups_bp.post("/<int:group_id>/distributions/<int:distribution_id>/panier")
@login_required
def basket_change(group_id: int, distribution_id: int):  # type: ignore[no-untyped-def]
    """Add bottles (``add``) or set a line's quantity (``set``, 0 removes it)."""
    group = load_group(group_id)
    distribution = load_distribution(group, distribution_id)
    if not _is_member(group.id):
        abort(404)
    wine_id = request.form.get("wine_id", type=int)
    quantity = request.form.get("quantity", type=int)
    error = None
    if wine_id is None:
        abort(404)
    if quantity is None:
        error = CART_MESSAGES["quantity"]({})
    else:
        try:
            group_shop.set_quantity(db.session, distribution, current_user, wine_id, quantity, utcnow(),
                                    add=request.form.get("mode") != "set")
            db.session.commit()
        except group_shop.NotOffered:
            db.session.rollback()
            error = _("Ce vin n'est pas proposé à cette distribution.")
        except group_shop.BasketClosed:
            db.session.rollback()
            error = _("Les commandes de cette distribution sont closes.")
        except carts.CartError as exc:
            db.session.rollback()
            error = CART_MESSAGES[exc.code](exc.params)
    if request.htmx:
        html = render_block("groups/shop.html", "basket", **_context(group, distribution, error))
        return htmx_response(html, 422 if error else 200)
    if error:
        flash(error, "error")
    return redirect(url_for("groups.shop", group_id=group.id, distribution_id=distribution.id))


@groups_bp.route("/<int:group_id>/distributions/<int:distribution_id>/commande", methods=["GET", "POST"])
@login_required
def checkout(group_id: int, distribution_id: int):  # type: ignore[no-untyped-def]
    group = load_group(group_id)
    distribution = load_distribution(group, distribution_id)
    if not _is_member(group.id):
        abort(404)
    context = _context(group, distribution)
    if not context["parts"]:
        return redirect(url_for("groups.shop", group_id=group.id, distribution_id=distribution.id))
    form = GroupCheckoutForm()
    if request.method == "GET":
        form.checkout_token.data = secrets.token_urlsafe(24)
        form.first_name.data, form.last_name.data = current_user.first_name, current_user.last_name
        form.phone.data = current_user.phone
        form.birth_date.data = current_user.birth_date
    conditions = [(p.estate, group_shop.conditions(p)) for p in context["parts"]]
    if request.method == "GET" or not form.validate():
        return render_template("groups/checkout.html", form=form, conditions=conditions, **context), (
            200 if request.method == "GET" else 422)
    return _place(form, group, distribution, context, conditions)


def _place(form: GroupCheckoutForm, group, distribution, context, conditions):  # type: ignore[no-untyped-def]
    data = orders.CheckoutData(
        email=current_user.email, first_name=form.first_name.data.strip(), last_name=form.last_name.data.strip(),
        phone=form.phone.data.strip(), company=(form.company.data or "").strip(), street=form.street.data.strip(),
        postcode=form.postcode.data.strip(), city=form.city.data.strip(), country=form.country.data,
        payment_mode=PaymentMode.CARD, delivery_key="", birth_date=form.birth_date.data)
    token = form.checkout_token.data or secrets.token_urlsafe(24)
    error = None
    try:
        paying = group_shop.checkout(db.session, group=group, distribution=distribution,
                                     user=current_user._get_current_object(), data=data, checkout_token=token,
                                     now=utcnow(), public_url=current_app.config["PUBLIC_URL"],
                                     idempotency_key=secrets.token_hex(16))
        db.session.commit()  # every order and the payment's key, before the provider is called
    except IntegrityError:  # the same checkout posted twice at once: the other one won
        db.session.rollback()
        paying = group_shop.find_checkout(db.session, token)
        if paying is None:
            raise
    except group_shop.BasketClosed:
        error = _("Les commandes de cette distribution sont closes.")
    except group_shop.EmptyBasket:
        error = _("Votre panier est vide.")
    except orders.OutOfStock as exc:
        error = _("Désolé, « %(name)s » vient d'être épuisé par une autre commande : rien n'a été commandé ni "
                  "débité. Modifiez votre panier.", name=exc.wine_name)
    except orders.CartNotOrderable as exc:
        error = " ".join(problem_message(p) for p in exc.problems)
    except distance_selling.UnderLegalAge:
        error = str(distance_selling.MINORS_REFUSAL)
    except distance_selling.BirthDateInvalid as exc:
        error = str(distance_selling.BIRTH_DATE_MESSAGES[exc.code])
    if error is not None:
        db.session.rollback()
        context = _context(group, distribution, error)
        return render_template("groups/checkout.html", form=form, conditions=conditions, **context), 409
    mail.deliver_now()
    return _start_payment(paying)


def _own_checkout(reference: str) -> GroupCheckout:
    paying = db.session.scalars(select(GroupCheckout).where(GroupCheckout.reference == reference)).first()
    if paying is None or paying.user_id != current_user.id:
        abort(404)
    return paying


def _start_payment(paying: GroupCheckout):  # type: ignore[no-untyped-def]
    if paying.status != "created":
        return redirect(url_for("groups.group_checkout", reference=paying.reference))
    if not group_shop.is_open(db.session.get(Distribution, paying.distribution_id), utcnow()):
        flash(_("Les commandes de cette distribution sont closes : ce panier ne peut plus être payé."), "error")
        return redirect(url_for("groups.group_checkout", reference=paying.reference))
    try:
        return_url = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("groups.payment_return",
                                                                            reference=paying.reference)
        payin = group_payments.submit(db.session, provider(), paying, current_user._get_current_object(), return_url)
        db.session.commit()
    except PaymentError:
        db.session.rollback()
        current_app.logger.exception("payment provider error for %s", paying.reference)
        flash(_("Le paiement en ligne est momentanément indisponible. Vos commandes sont enregistrées : "
                "réessayez dans un instant depuis cette page."), "error")
        return redirect(url_for("groups.group_checkout", reference=paying.reference))
    return redirect(payin.redirect_url or url_for("groups.group_checkout", reference=paying.reference))


@groups_bp.get("/paiements/<reference>")
@login_required
def group_checkout(reference: str):  # type: ignore[no-untyped-def]
    """The basket's orders, one per estate, and its one payment."""
    paying = _own_checkout(reference)
    distribution = db.session.get(Distribution, paying.distribution_id)
    return render_template("groups/paid.html", paying=paying, distribution=distribution,
                           placed=group_shop.checkout_orders(db.session, paying.id),
                           group=db.session.get(ProducerGroup, distribution.group_id),
                           when=distributions.when(distribution), status_labels=orders.STATUS_LABELS)


@groups_bp.post("/paiements/<reference>/payer")
@login_required
def pay_again(reference: str):  # type: ignore[no-untyped-def]
    return _start_payment(_own_checkout(reference))


@groups_bp.get("/paiements/<reference>/retour")
@login_required
@writes_on_get
def payment_return(reference: str):  # type: ignore[no-untyped-def]
    """Back from the provider: fetch the pay-in, pay the orders, then split the money."""
    paying = _own_checkout(reference)
    if request.args.get("transactionId", "") != (paying.provider_payin_id or ""):
        abort(404)
    try:
        payin = provider().get_payin(paying.provider_payin_id)
    except PaymentError:
        flash(_("Nous n'avons pas encore la réponse de la banque : rechargez cette page dans un instant."), "info")
        return redirect(url_for("groups.group_checkout", reference=reference))
    now = utcnow()
    group_payments.apply_payin(db.session, payin, now, current_app.config["PUBLIC_URL"])
    db.session.commit()  # the orders are paid whatever happens to the transfers
    group_payments.settle_transfers(db.session, provider(), now, paying.id)
    db.session.commit()
    mail.deliver_now()
    db.session.refresh(paying)
    if paying.status == "succeeded":
        flash(_("Paiement accepté : merci pour vos commandes !"), "success")
    elif paying.status == "failed":
        flash(_("Le paiement a été refusé. Vos commandes sont conservées : vous pouvez réessayer."), "error")
    return redirect(url_for("groups.group_checkout", reference=reference))


# ------------------------------------------------------------------ the distribution day


@groups_bp.get("/<int:group_id>/distributions/<int:distribution_id>/feuille")
@login_required
def distribution_sheet(group_id: int, distribution_id: int):  # type: ignore[no-untyped-def]
    group = load_group(group_id, admin=True)
    distribution = load_distribution(group, distribution_id)
    return render_template("groups/sheet.html", group=group, distribution=distribution,
                           sheet=distributions.sheet(db.session, distribution), when=distributions.when(distribution))


@groups_bp.get("/<int:group_id>/distributions/<int:distribution_id>/feuille.pdf")
@login_required
def distribution_sheet_pdf(group_id: int, distribution_id: int):  # type: ignore[no-untyped-def]
    group = load_group(group_id, admin=True)
    distribution = load_distribution(group, distribution_id)
    content = distributions.sheet_pdf(db.session, distribution)
    return content, 200, {"Content-Type": "application/pdf",
                          "Content-Disposition": f'inline; filename="feuille-de-distribution-{distribution.id}.pdf"'}


@groups_bp.post("/<int:group_id>/distributions/<int:distribution_id>/retraits/<int:order_id>")
@login_required
def collected(group_id: int, distribution_id: int, order_id: int):  # type: ignore[no-untyped-def]
    """On the day, the administrator ticks what a member collected."""
    group = load_group(group_id, admin=True)
    distribution = load_distribution(group, distribution_id)
    error = None
    try:
        distributions.mark_collected(db.session, distribution, order_id, current_user._get_current_object(),
                                     utcnow(), current_app.config["PUBLIC_URL"])
        db.session.commit()
    except LookupError:
        db.session.rollback()
        abort(404)
    except orders.TransitionNotAllowed:
        db.session.rollback()
        error = _("Cette commande ne peut pas être marquée retirée (non payée, ou déjà retirée).")
    mail.deliver_now()
    context = dict(group=group, distribution=distribution, sheet=distributions.sheet(db.session, distribution),
                   when=distributions.when(distribution), error=error)
    if request.htmx:
        return htmx_response(render_block("groups/sheet.html", "sheet_table", **context), 409 if error else 200)
    if error:
        flash(error, "error")
    return redirect(url_for("groups.distribution_sheet", group_id=group.id, distribution_id=distribution.id))
