"""Accounts: sign-up (particulier, professionnel), login, logout, password reset."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask import session
from flask_login import current_user, login_required, login_user, logout_user

from models import db
from services import accounts, customer_orders, mail
from services import cart as carts
from services.web import pdf_response
from shop import account_bp
from shop.forms import AddressForm, ForgotPasswordForm, LoginForm, ProfileForm, ProRegisterForm, RegisterForm, ResetPasswordForm
from shop.site import url_is_local


def _next_url() -> str:
    target = request.values.get("next")
    return target if url_is_local(target) else url_for("site.home")


@account_bp.route("/inscription", methods=["GET", "POST"])
def register():  # type: ignore[no-untyped-def]
    return _register(RegisterForm(), pro=False)


@account_bp.route("/inscription-pro", methods=["GET", "POST"])
def register_pro():  # type: ignore[no-untyped-def]
    return _register(ProRegisterForm(), pro=True)


def _register(form: RegisterForm, pro: bool):  # type: ignore[no-untyped-def]
    template = "account/register_pro.html" if pro else "account/register.html"
    if not form.validate_on_submit():
        return render_template(template, form=form, next=_next_url()), 422 if form.is_submitted() else 200
    try:
        user = accounts.register_user(
            db.session,
            email=form.email.data,
            password=form.password.data,
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            phone=form.phone.data or "",
            siret=form.siret.data if pro else None,
            company_name=form.company_name.data if pro else "",
        )
    except accounts.EmailTaken:
        form.email.errors.append(_("Un compte existe déjà avec cette adresse. Connectez-vous ou réinitialisez votre mot de passe."))
        return render_template(template, form=form, next=_next_url()), 422
    db.session.commit()
    login_user(user)
    if pro:
        flash(_("Votre compte professionnel est en attente de vérification. "
                "En attendant, vous voyez les tarifs particuliers."), "info")
    else:
        flash(_("Bienvenue ! Votre compte est créé."), "success")
    return redirect(_next_url())


@account_bp.route("/connexion", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            if session.get("cart_token"):
                carts.claim(db.session, session["cart_token"], user.id)
                db.session.commit()
            return redirect(_next_url())
        form.password.errors.append(_("Adresse email ou mot de passe incorrect."))
        return render_template("account/login.html", form=form, next=_next_url()), 422
    return render_template("account/login.html", form=form, next=_next_url())


@account_bp.post("/deconnexion")
@login_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("site.home"))


@account_bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():  # type: ignore[no-untyped-def]
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = accounts.find_user_by_email(db.session, form.email.data)
        if user is not None:
            token = accounts.make_reset_token(current_app.config["SECRET_KEY"], user)
            link = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("account.reset_password", token=token)
            mail.queue_template(db.session, "password_reset", recipient=user.email,
                                  subject=_("Réinitialisation de votre mot de passe"), user=user, link=link)
        db.session.commit()
        mail.deliver_now()
        # Same answer whether or not the address has an account.
        flash(_("Si un compte existe pour cette adresse, un email avec un lien de "
                "réinitialisation vient d'être envoyé. Le lien est valable une heure."), "info")
        return redirect(url_for("account.login"))
    return render_template("account/forgot.html", form=form)


@account_bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
def reset_password(token: str):  # type: ignore[no-untyped-def]
    try:
        user = accounts.user_for_reset_token(db.session, current_app.config["SECRET_KEY"], token)
    except accounts.InvalidResetToken as exc:
        message = (_("Ce lien a expiré. Demandez-en un nouveau.") if exc.expired
                   else _("Ce lien n'est pas valable ou a déjà servi. Demandez-en un nouveau."))
        flash(message, "error")
        return redirect(url_for("account.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        accounts.set_password(db.session, user, form.password.data)
        db.session.commit()
        flash(_("Votre mot de passe est changé. Vous pouvez vous connecter."), "success")
        return redirect(url_for("account.login"))
    return render_template("account/reset.html", form=form), 422 if form.is_submitted() else 200


@account_bp.get("/")
@login_required
def overview():  # type: ignore[no-untyped-def]
    return render_template("account/overview.html", user=current_user,
                           staff_estates=accounts.manageable_estates(db.session, current_user),
                           estate_accounts=customer_orders.accounts(db.session, current_user),
                           profile=ProfileForm(obj=current_user))


@account_bp.post("/profil")
@login_required
def profile():  # type: ignore[no-untyped-def]
    form = ProfileForm()
    if not form.validate():
        return render_template("account/overview.html", user=current_user,
                               staff_estates=accounts.manageable_estates(db.session, current_user),
                               estate_accounts=customer_orders.accounts(db.session, current_user), profile=form), 422
    current_user.first_name = form.first_name.data.strip()
    current_user.last_name = form.last_name.data.strip()
    current_user.phone = (form.phone.data or "").strip()
    db.session.commit()
    flash(_("Votre profil est enregistré."), "success")
    return redirect(url_for("account.overview"))


@account_bp.get("/commandes")
@login_required
def orders():  # type: ignore[no-untyped-def]
    """The customer's orders at every estate, with their documents."""
    rows = customer_orders.history(db.session, current_user)
    return render_template("account/orders.html", rows=rows)


@account_bp.get("/commandes/<int:order_id>/<kind>.pdf")
@login_required
def order_document(order_id: int, kind: str):  # type: ignore[no-untyped-def]
    """:raise 404: not the customer's order, or no such document yet."""
    document = customer_orders.document_for_customer(db.session, current_user, order_id, kind)
    if document is None:
        abort(404)
    db.session.commit()  # an order form rendered for the first time is archived
    return pdf_response(document)


@account_bp.post("/adresses/<int:customer_id>")
@login_required
def addresses(customer_id: int):  # type: ignore[no-untyped-def]
    """The billing and delivery addresses an estate keeps for this customer (prefilled
    at its checkout). :raise 404: not the user's own line of a customer file."""
    form = AddressForm()
    if not customer_orders.update_addresses(db.session, current_user, customer_id, form):
        abort(404)
    if form.errors:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors), "error")
        return overview(), 422
    db.session.commit()
    flash(_("Vos adresses sont enregistrées."), "success")
    return redirect(url_for("account.overview"))
