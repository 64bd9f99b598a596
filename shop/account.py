"""Accounts: sign-up (particulier, professionnel), login (with its second step when
two-factor sign-in is on), logout, password reset, and the account's security page:
email, password, two-factor sign-in, each behind a fresh re-authentication."""

from __future__ import annotations

import functools

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask import session
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from models import Role, User, db, utcnow
from services import accounts, customer_orders, mail, security, two_factor
from services import cart as carts
from services import ratelimit
from services.database import read_only_transactions
from services.ratelimit import limiter
from services.web import pdf_response
from shop import account_bp
from shop.forms import (AddressForm, EmailChangeForm, ForgotPasswordForm, LoginForm, PasswordChangeForm, ProfileForm,
                        ProRegisterForm, ReauthenticateForm, RegisterForm, ResetPasswordForm, SecondFactorForm,
                        TotpConfirmForm)
from shop.site import url_is_local

PENDING_LOGIN_SECONDS = 300  #: time to type the code after the password


def _next_url(default: str = "site.home") -> str:
    target = request.values.get("next")
    return target if url_is_local(target) else url_for(default)


@account_bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(ratelimit.SIGNUP_PER_IP, scope="signup", message=ratelimit.SIGNUP_MESSAGE)
@limiter.limit(ratelimit.SIGNUP_PER_ACCOUNT, key=ratelimit.submitted_email, scope="signup", message=ratelimit.SIGNUP_MESSAGE)
def register():  # type: ignore[no-untyped-def]
    return _register(RegisterForm(), pro=False)


@account_bp.route("/inscription-pro", methods=["GET", "POST"])
@limiter.limit(ratelimit.SIGNUP_PER_IP, scope="signup", message=ratelimit.SIGNUP_MESSAGE)
@limiter.limit(ratelimit.SIGNUP_PER_ACCOUNT, key=ratelimit.submitted_email, scope="signup", message=ratelimit.SIGNUP_MESSAGE)
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
    if pro:
        user.pro_activity = form.activity.data  # declared wine activity, for the operator's review
    db.session.commit()
    login_user(user)
    if pro:
        flash(_("Votre compte professionnel est en attente de vérification. "
                "En attendant, vous voyez les tarifs particuliers."), "info")
    else:
        flash(_("Bienvenue ! Votre compte est créé."), "success")
    return redirect(_next_url())


@account_bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(ratelimit.LOGIN_PER_IP, message=ratelimit.LOGIN_MESSAGE)
@limiter.limit(ratelimit.LOGIN_PER_ACCOUNT, key=ratelimit.submitted_email, message=ratelimit.LOGIN_MESSAGE)
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if form.validate_on_submit():
        with read_only_transactions():  # no write lock held during the 0.2 s of scrypt
            user = accounts.authenticate(db.session, form.email.data, form.password.data)
            db.session.commit()  # ends the read transaction: the writes below take the lock
        if user is not None:
            accounts.upgrade_hash(db.session, user, form.password.data)
            db.session.commit()  # a hash made under an older policy was upgraded
            if two_factor.is_enabled(user):
                # Not signed in yet: only who is waiting for the second step, until when.
                session[security.PENDING_LOGIN] = {
                    "uid": user.id, "v": user.session_version, "remember": bool(form.remember.data),
                    "exp": int(security.now()) + PENDING_LOGIN_SECONDS, "next": _next_url()}
                return redirect(url_for("account.login_code"))
            _sign_in(user, remember=bool(form.remember.data))
            return redirect(_next_url())
        form.password.errors.append(_("Adresse email ou mot de passe incorrect."))
        return render_template("account/login.html", form=form, next=_next_url()), 422
    return render_template("account/login.html", form=form, next=_next_url())


def _sign_in(user: User, remember: bool) -> None:
    """A new session for ``user`` (security.on_login), holding the visitor's cart."""
    login_user(user, remember=remember)
    if session.get("cart_token"):
        carts.claim(db.session, session["cart_token"], user.id)
    db.session.commit()


def _pending_user() -> User | None:
    pending = session.get(security.PENDING_LOGIN)
    if not isinstance(pending, dict) or not isinstance(pending.get("exp"), int):
        return None
    if pending["exp"] < security.now():
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or user.session_version != pending.get("v") or not user.is_active or not two_factor.is_enabled(user):
        return None
    return user


@account_bp.route("/connexion/code", methods=["GET", "POST"])
@limiter.limit(ratelimit.SECOND_FACTOR_PER_IP, message=ratelimit.LOGIN_MESSAGE)
@limiter.limit(ratelimit.SECOND_FACTOR_PER_ACCOUNT, key=ratelimit.pending_second_factor, message=ratelimit.LOGIN_MESSAGE)
def login_code():  # type: ignore[no-untyped-def]
    """Second step of the log-in: a code of the authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None:
        if session.pop(security.PENDING_LOGIN, None) is not None:
            flash(_("Le délai pour saisir le code est dépassé. Reconnectez-vous."), "info")
        return redirect(url_for("account.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        used = two_factor.verify_second_factor(db.session, user, form.code.data, security.now(), utcnow())
        if used is not None:
            pending = session[security.PENDING_LOGIN]
            _sign_in(user, remember=bool(pending.get("remember")))
            if used == "recovery":
                left = two_factor.recovery_codes_left(db.session, user)
                flash(ngettext("Code de secours accepté. Il vous en reste %(num)s.",
                               "Code de secours accepté. Il vous en reste %(num)s.", left), "info")
            target = pending.get("next")
            return redirect(target if url_is_local(target) else url_for("site.home"))
        db.session.rollback()
        form.code.errors.append(_("Ce code n'est pas valable ou a déjà servi. Vérifiez l'heure de votre téléphone, "
                                  "ou utilisez un code de secours."))
        return render_template("account/login_code.html", form=form), 422
    return render_template("account/login_code.html", form=form)


@account_bp.post("/deconnexion")
@login_required
def logout():  # type: ignore[no-untyped-def]
    """This device only: the session is emptied and the remember cookie deleted."""
    security.end_session()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("site.home"))


@account_bp.post("/deconnexion-partout")
@login_required
def logout_everywhere():  # type: ignore[no-untyped-def]
    """Every device: the user's session version moves on, so no session or remember
    cookie issued before is accepted any more."""
    security.bump_session_version(db.session, current_user._get_current_object())
    db.session.commit()
    security.end_session()
    flash(_("Vous êtes déconnecté de tous vos appareils."), "info")
    return redirect(url_for("site.home"))


@account_bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(ratelimit.RESET_REQUEST_PER_IP, message=ratelimit.RESET_MESSAGE)
@limiter.limit(ratelimit.RESET_REQUEST_PER_ACCOUNT, key=ratelimit.submitted_email, message=ratelimit.RESET_MESSAGE)
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
@limiter.limit(ratelimit.RESET_PASSWORD_PER_IP, message=ratelimit.RESET_MESSAGE)
def reset_password(token: str):  # type: ignore[no-untyped-def]
    try:
        user = accounts.user_for_reset_token(db.session, current_app.config["SECRET_KEY"], token)
    except accounts.InvalidResetToken as exc:
        message = (_("Ce lien a expiré. Demandez-en un nouveau.") if exc.expired
                   else _("Ce lien n'est pas valable ou a déjà servi. Demandez-en un nouveau."))
        flash(message, "error")
        return redirect(url_for("account.forgot_password"))
    form = ResetPasswordForm()
    form.personal = (user.email, user.first_name, user.last_name)
    if form.validate_on_submit():
        accounts.set_password(db.session, user, form.password.data)  # ends every session of the user
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
    from services import sales_terms  # issue 15: each order's CGV version, to download it again

    terms = sales_terms.version_numbers(db.session, [row.order.sales_terms_id for row in rows])
    return render_template("account/orders.html", rows=rows, terms_versions=terms)


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


@account_bp.post("/lettre/<int:customer_id>")
@login_required
def newsletter_consent(customer_id: int):  # type: ignore[no-untyped-def]
    """"Recevoir la lettre d'information" of one estate (issue 14): ticked gives consent
    (source "compte"), unticked withdraws it. :raise 404: not the user's own line."""
    from services import audit, mailings

    if not FlaskForm().validate_on_submit():
        flash(_("Le formulaire a expiré. Rechargez la page et recommencez."), "error")
        return redirect(url_for("account.overview"))
    wanted = request.form.get("newsletter") in ("1", "y", "on")
    changed = mailings.set_own_consent(db.session, current_user, customer_id, wanted, utcnow())
    if changed is None:
        abort(404)
    customer, before = changed
    audit.record(db.session, customer.estate_id, current_user, "customer.newsletter", customer, before,
                 mailings.consent_fields(customer), "espace client")
    db.session.commit()
    flash(_("Vous recevrez la lettre d'information de ce domaine.") if wanted
          else _("Vous ne recevrez plus la lettre d'information de ce domaine."), "success")
    return redirect(url_for("account.overview"))


# ------------------------------------------------------------------ security page


def recent_authentication_required(page: str):  # type: ignore[no-untyped-def]
    """Before a sensitive change, the password (and code) typed in the last REAUTH_MINUTES.
    A GET comes back to itself afterwards; a POST to its page ``page`` (its data is not kept)."""

    def decorator(view):  # type: ignore[no-untyped-def]
        @functools.wraps(view)
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            if security.recently_authenticated(int(current_app.config["REAUTH_MINUTES"]) * 60):
                return view(*args, **kwargs)
            if request.method == "GET":
                target = request.full_path.rstrip("?")
            else:
                target = url_for(page, next=request.values.get("next") or None)
            return redirect(url_for("account.reauthenticate", next=target))

        return wrapped

    return decorator


@account_bp.route("/confirmer", methods=["GET", "POST"])
@login_required
def reauthenticate():  # type: ignore[no-untyped-def]
    """"Confirmez votre identité": the password again, and a code when two-factor is on."""
    form = ReauthenticateForm()
    user = current_user._get_current_object()
    needs_code = two_factor.is_enabled(user)
    if form.validate_on_submit():
        ok = accounts.authenticate(db.session, user.email, form.password.data) is not None
        if ok and needs_code:
            ok = two_factor.verify_second_factor(db.session, user, form.code.data, security.now(), utcnow()) is not None
        if ok:
            db.session.commit()
            security.mark_reauthenticated()
            return redirect(_next_url("account.overview"))
        db.session.rollback()
        form.password.errors.append(_("Mot de passe ou code incorrect.") if needs_code else _("Mot de passe incorrect."))
        return render_template("account/reauthenticate.html", form=form, needs_code=needs_code,
                               next=_next_url("account.overview")), 422
    return render_template("account/reauthenticate.html", form=form, needs_code=needs_code,
                           next=_next_url("account.overview"))


@account_bp.route("/email", methods=["GET", "POST"])
@login_required
@recent_authentication_required("account.change_email")
def change_email():  # type: ignore[no-untyped-def]
    form = EmailChangeForm()
    if form.validate_on_submit():
        email = accounts.normalise_email(form.email.data)
        other = accounts.find_user_by_email(db.session, email)
        if other is None or other.id == current_user.id:
            current_user.email = email
            try:
                db.session.commit()
            except IntegrityError:  # taken at the same moment
                db.session.rollback()
            else:
                flash(_("Votre adresse email est changée : utilisez-la pour vous connecter."), "success")
                return redirect(url_for("account.overview"))
        form.email.errors.append(_("Un compte existe déjà avec cette adresse."))
        return render_template("account/email.html", form=form), 422
    return render_template("account/email.html", form=form), 422 if form.is_submitted() else 200


@account_bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
@recent_authentication_required("account.change_password")
def change_password():  # type: ignore[no-untyped-def]
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    form.personal = (user.email, user.first_name, user.last_name)
    if form.validate_on_submit():
        accounts.set_password(db.session, user, form.password.data)  # ends every session…
        security.reissue_login(user)  # …but this one
        db.session.commit()
        flash(_("Votre mot de passe est changé. Vos autres appareils sont déconnectés."), "success")
        return redirect(url_for("account.overview"))
    return render_template("account/password.html", form=form), 422 if form.is_submitted() else 200


def _totp_required(user: User) -> bool:
    """REQUIRE_STAFF_TOTP applies to the estates' staff and the operator."""
    if not current_app.config.get("REQUIRE_STAFF_TOTP"):
        return False
    return user.role in (Role.STAFF, Role.PLATFORM_ADMIN) or bool(accounts.manageable_estates(db.session, user))


def _two_factor_page(confirm: TotpConfirmForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    enabled = two_factor.is_enabled(user)
    qr_code = secret = None
    if not enabled and user.totp_secret:
        qr_code = two_factor.qr_code_data_uri(two_factor.provisioning_uri(user))
        secret = " ".join(user.totp_secret[i:i + 4] for i in range(0, len(user.totp_secret), 4))
    return render_template(
        "account/two_factor.html", user=user, enabled=enabled, qr_code=qr_code, secret=secret,
        confirm=confirm or TotpConfirmForm(), action=FlaskForm(), required=_totp_required(user),
        codes_left=two_factor.recovery_codes_left(db.session, user) if enabled else 0,
        next=request.values.get("next") if url_is_local(request.values.get("next")) else None), status


@account_bp.get("/double-authentification", endpoint="two_factor")
@login_required
@recent_authentication_required("account.two_factor")
def two_factor_page():  # type: ignore[no-untyped-def]
    return _two_factor_page()


@account_bp.post("/double-authentification/activer")
@login_required
@recent_authentication_required("account.two_factor")
def two_factor_start():  # type: ignore[no-untyped-def]
    """A new secret to scan; sign-in is unchanged until a first code confirms it."""
    form = FlaskForm()
    if form.validate_on_submit() and not two_factor.is_enabled(current_user):
        two_factor.begin_enrolment(db.session, current_user._get_current_object())
        db.session.commit()
    return redirect(url_for("account.two_factor", next=request.values.get("next") or None))


@account_bp.post("/double-authentification/confirmer")
@login_required
@recent_authentication_required("account.two_factor")
def two_factor_confirm():  # type: ignore[no-untyped-def]
    """The first code turns two-factor sign-in on; the recovery codes are shown once."""
    form = TotpConfirmForm()
    user = current_user._get_current_object()
    if two_factor.is_enabled(user) or not user.totp_secret:
        return redirect(url_for("account.two_factor"))
    if form.validate_on_submit():
        codes = two_factor.confirm_enrolment(db.session, user, form.code.data, security.now(), utcnow())
        if codes is not None:
            _end_other_sessions(user)
            db.session.commit()
            flash(_("La double authentification est activée."), "success")
            return _recovery_codes_page(codes)
        db.session.rollback()
        form.code.errors.append(_("Ce code n'est pas le bon. Vérifiez l'heure de votre téléphone et réessayez."))
    return _two_factor_page(confirm=form, status=422)


@account_bp.post("/double-authentification/codes-de-secours")
@login_required
@recent_authentication_required("account.two_factor")
def two_factor_recovery_codes():  # type: ignore[no-untyped-def]
    """New recovery codes; the old ones stop working."""
    user = current_user._get_current_object()
    if not FlaskForm().validate_on_submit() or not two_factor.is_enabled(user):
        return redirect(url_for("account.two_factor"))
    codes = two_factor.new_recovery_codes(db.session, user)
    db.session.commit()
    return _recovery_codes_page(codes)


@account_bp.post("/double-authentification/desactiver")
@login_required
@recent_authentication_required("account.two_factor")
def two_factor_disable():  # type: ignore[no-untyped-def]
    user = current_user._get_current_object()
    if not FlaskForm().validate_on_submit() or not two_factor.is_enabled(user):
        return redirect(url_for("account.two_factor"))
    if _totp_required(user):
        flash(_("La double authentification est obligatoire pour les comptes de gestion."), "error")
        return redirect(url_for("account.two_factor"))
    two_factor.disable(db.session, user)
    _end_other_sessions(user)
    db.session.commit()
    flash(_("La double authentification est désactivée."), "info")
    return redirect(url_for("account.overview"))


def _end_other_sessions(user: User) -> None:
    """A change of sign-in factor ends the user's other sessions (ASVS 7.4.3)."""
    security.bump_session_version(db.session, user)
    security.reissue_login(user)


def _recovery_codes_page(codes: list[str]):  # type: ignore[no-untyped-def]
    target = request.values.get("next")
    return render_template("account/recovery_codes.html", codes=codes,
                           next=target if url_is_local(target) else url_for("account.overview"))
