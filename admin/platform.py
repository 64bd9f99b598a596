"""The platform operator's back office, every URL under ``/plateforme/`` (issue 13):
estates (create, options, subscription, staff), plans, the operator's invoices and the
payments received, professional accounts to verify, leads, and the operator's journal.

Only platform admins get in: anyone signed in without the role gets 404, so the URLs do
not even confirm the back office exists; an anonymous visitor is sent to log in. Every
change is written to the audit log (who, when, before and after): actions about one
estate carry its id, so the estate's journal shows them too; the others are platform
entries (no estate).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from admin.forms import EurosField
from models import Estate, OperatorInvoice, Plan, db, utcnow
from services import audit, mail
from services import platform as platforms
from services import subscriptions
from services.fairs import paris_date
from services.tenancy import allow_all_estates
from services.web import download

bp = Blueprint("operator", __name__, url_prefix="/plateforme")

_REQUIRED = _l("Ce champ est obligatoire.")
MESSAGES = {
    ("name", "required"): _l("Indiquez le nom."),
    ("name", "taken"): _l("Une formule porte déjà ce nom."),
    ("slug", "format"): _l("L'identifiant ne peut contenir que des lettres minuscules sans accent, des chiffres et "
                           "des tirets (par exemple domaine-des-aubes), 60 caractères au plus."),
    ("slug", "reserved"): _l("Cet identifiant est réservé par la plateforme : choisissez-en un autre."),
    ("slug", "taken"): _l("Un domaine utilise déjà cet identifiant."),
    ("email", "invalid"): _l("Adresse email invalide."),
    ("email", "already_staff"): _l("Cette personne fait déjà partie de l'équipe du domaine."),
    ("staff_email", "invalid"): _l("Adresse email invalide."),
    ("lead", "unknown"): _l("Ce prospect n'est plus à traiter : choisissez-en un autre ou aucun."),
    ("reason", "required"): _l("Indiquez la raison du refus : elle est envoyée au client."),
    ("reason", "too_long"): _l("La raison compte 255 caractères au plus."),
    ("plan", "required"): _l("Choisissez une formule."),
    ("starts_on", "required"): _l("Indiquez la date de début."),
    ("starts_on", "before_end"): _l("Le nouvel abonnement doit commencer après la fin du précédent."),
    ("billing_email", "invalid"): _l("Adresse email de facturation invalide."),
    ("payment_mode", "unknown"): _l("Choisissez virement ou chèque."),
    ("requested_on", "required"): _l("Indiquez la date de la demande écrite."),
    ("requested_on", "before_start"): _l("La demande de résiliation ne peut précéder le début de l'abonnement."),
    ("price", "invalid"): _l("Indiquez un prix mensuel HT, par exemple 39,00."),
    ("amount", "invalid"): _l("Indiquez le montant reçu, par exemple 117,00."),
    ("method", "unknown"): _l("Choisissez virement ou chèque."),
    ("received_on", "required"): _l("Indiquez la date de réception."),
}
audit.ACTION_LABELS.update({
    "operator.estate_create": _l("Domaine créé (plateforme)"),
    "operator.estate_options": _l("Options du domaine modifiées (plateforme)"),
    "operator.subscription": _l("Abonnement enregistré (plateforme)"),
    "operator.cancel": _l("Résiliation enregistrée (plateforme)"),
    "operator.staff_invite": _l("Membre de l'équipe invité (plateforme)"),
    "operator.plan_create": _l("Formule créée"),
    "operator.plan_update": _l("Formule modifiée"),
    "operator.payment": _l("Paiement d'abonnement reçu"),
    "operator.pro_verify": _l("Compte professionnel vérifié"),
    "operator.pro_reject": _l("Compte professionnel refusé"),
    "operator.lead_dismiss": _l("Prospect écarté"),
})
for _name, _label in {
    "slug": _l("Identifiant"), "legal_name": _l("Raison sociale"), "email": _l("Email"), "city": _l("Commune"),
    "groups_enabled": _l("Groupes de producteurs"), "tastings_enabled": _l("Réunions"),
    "newsletter_enabled": _l("Lettre d'information"), "is_published": _l("Boutique publiée"),
    "plan": _l("Formule"), "starts_on": _l("Début"), "billing_email": _l("Email de facturation"),
    "payment_mode": _l("Mode de paiement"), "cancel_requested_on": _l("Demande de résiliation du"),
    "ends_on": _l("Fin"), "monthly_price_cents": _l("Prix mensuel HT"), "method": _l("Moyen de paiement"),
    "reference": _l("Référence"), "received_on": _l("Reçu le"), "invoice": _l("Facture"),
    "pro_status": _l("Statut professionnel"), "staff_email": _l("Premier membre de l'équipe"),
    "lead": _l("Prospect"), "role": _l("Rôle"),
}.items():
    audit.FIELD_LABELS.setdefault(_name, _label)


# ------------------------------------------------------------------ access


@bp.before_request
def _require_operator():  # type: ignore[no-untyped-def]
    """:raise 404: signed in without the platform admin role."""
    if not current_user.is_authenticated:
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
    if not current_user.is_platform_admin:
        abort(404)
    if current_app.config.get("REQUIRE_STAFF_TOTP") and current_user.totp_enabled_at is None:
        flash(_("La double authentification est obligatoire pour accéder à la gestion : "
                "activez-la pour continuer."), "info")
        return redirect(url_for("account.two_factor", next=request.full_path.rstrip("?")))
    allow_all_estates(db.session)  # the operator reads every estate's rows
    return None


def _today() -> date:
    return paris_date(utcnow())


def _or_404(model: type, ident: int):  # type: ignore[no-untyped-def]
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def _field_error(form: FlaskForm, exc: platforms.InvalidPlatformInput | subscriptions.InvalidSubscription,
                 field: str | None = None) -> None:
    """Put the service's French message beside the form field at fault."""
    name = field or exc.field
    message = str(MESSAGES.get((exc.field, exc.code), _l("Valeur invalide.")))
    target = form[name] if name in form else None
    if target is None:
        flash(message, "error")
    else:
        target.errors = [*target.errors, message]


# ------------------------------------------------------------------- forms


def _plausible_date(form: FlaskForm, field: DateField) -> None:
    if field.data is not None and not 2000 <= field.data.year <= 2200:
        raise ValidationError(_l("Indiquez une date valide."))


def _amount_in_range(form: FlaskForm, field: EurosField) -> None:
    if field.cents is not None and field.cents > platforms.MAX_AMOUNT_CENTS:
        raise ValidationError(_l("Montant trop élevé."))


def _id(value: object) -> int:
    """A select's id, or -1 (then refused as "not a choice") for anything else."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return -1
    return number if 0 <= number < 2**31 else -1


def _mode_choices() -> list[SelectChoice]:
    return [SelectChoice(key, str(label)) for key, label in platforms.PAYMENT_MODE_LABELS.items()]


class EstateCreateForm(FlaskForm):
    name = StringField(_l("Nom du domaine"), validators=[DataRequired(_REQUIRED), Length(max=140)])
    slug = StringField(_l("Identifiant dans l'adresse"), validators=[DataRequired(_REQUIRED), Length(max=60)])
    legal_name = StringField(_l("Raison sociale"), validators=[Optional(), Length(max=140)])
    email = EmailField(_l("Email du domaine"), validators=[DataRequired(_REQUIRED), Length(max=254)])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=100)])
    staff_email = EmailField(_l("Email du gérant"), validators=[DataRequired(_REQUIRED), Length(max=254)])
    staff_first_name = StringField(_l("Prénom du gérant"), validators=[Optional(), Length(max=80)])
    staff_last_name = StringField(_l("Nom du gérant"), validators=[Optional(), Length(max=80)])
    lead = SelectField(_l("Prospect d'origine (Nos amis vignerons)"), coerce=_id, validate_choice=False, default=0)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        leads = platforms.new_leads(db.session)
        self.lead.choices = [SelectChoice(0, str(_l("Aucun")))] + [
            SelectChoice(lead.id, f"{lead.estate_name} — {lead.name} <{lead.email}>") for lead in leads]
        self.lead_ids = {0} | {lead.id for lead in leads}

    def validate_lead(self, field: SelectField) -> None:
        if field.data not in self.lead_ids:
            raise ValidationError(MESSAGES[("lead", "unknown")])


class OptionsForm(FlaskForm):
    reservations_enabled = BooleanField(platforms.OPTIONS["reservations_enabled"])
    groups_enabled = BooleanField(platforms.OPTIONS["groups_enabled"])
    tastings_enabled = BooleanField(platforms.OPTIONS["tastings_enabled"])
    newsletter_enabled = BooleanField(platforms.OPTIONS["newsletter_enabled"])
    is_published = BooleanField(_l("Boutique publiée (visible des clients)"))


class SubscriptionForm(FlaskForm):
    plan = SelectField(_l("Formule"), coerce=_id, validate_choice=False)
    starts_on = DateField(_l("Date de début"), validators=[InputRequired(_REQUIRED), _plausible_date])
    billing_email = EmailField(_l("Email de facturation"), validators=[DataRequired(_REQUIRED), Length(max=254)])
    payment_mode = SelectField(_l("Mode de paiement"), choices=_mode_choices, validate_choice=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        offered = [plan for plan in subscriptions.plans(db.session) if plan.is_active or plan.id == self.plan.data]
        self.plan.choices = [SelectChoice(plan.id, f"{plan.name} — {_plan_label(plan)}") for plan in offered]
        self.plan_ids = {plan.id for plan in offered}
        self.payment_mode.choices = _mode_choices()

    def validate_plan(self, field: SelectField) -> None:
        if field.data not in self.plan_ids:
            raise ValidationError(MESSAGES[("plan", "required")])

    def validate_payment_mode(self, field: SelectField) -> None:
        if field.data not in platforms.PAYMENT_MODE_LABELS:
            raise ValidationError(MESSAGES[("payment_mode", "unknown")])


def _plan_label(plan: Plan) -> str:
    from services.templating import euros

    return _("%(price)s HT par mois", price=euros(plan.monthly_price_cents))


class CancelForm(FlaskForm):
    requested_on = DateField(_l("Date de la demande écrite de résiliation"),
                             validators=[InputRequired(_REQUIRED), _plausible_date])


class InviteForm(FlaskForm):
    email = EmailField(_l("Adresse email"), validators=[DataRequired(_REQUIRED), Length(max=254)])
    first_name = StringField(_l("Prénom"), validators=[Optional(), Length(max=80)])
    last_name = StringField(_l("Nom"), validators=[Optional(), Length(max=80)])


class PlanForm(FlaskForm):
    name = StringField(_l("Nom de la formule"), validators=[DataRequired(_REQUIRED), Length(max=80)])
    monthly_price = EurosField(_l("Prix mensuel HT (€)"), validators=[InputRequired(_REQUIRED), _amount_in_range])
    is_active = BooleanField(_l("Proposée"), default=True)


class PaymentForm(FlaskForm):
    amount = EurosField(_l("Montant reçu (€)"), validators=[InputRequired(_REQUIRED), _amount_in_range])
    method = SelectField(_l("Moyen de paiement"), choices=_mode_choices, validate_choice=False)
    reference = StringField(_l("Référence (n° de chèque, libellé du virement)"),
                            validators=[Optional(), Length(max=80)])
    received_on = DateField(_l("Reçu le"), validators=[InputRequired(_REQUIRED), _plausible_date])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.method.choices = _mode_choices()

    def validate_method(self, field: SelectField) -> None:
        if field.data not in platforms.PAYMENT_MODE_LABELS:
            raise ValidationError(MESSAGES[("method", "unknown")])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Raison du refus (envoyée au client)"), validators=[Optional(), Length(max=255)])


# ---------------------------------------------------------------------- home


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("platform/home.html", counts=platforms.counts(db.session, _today()),
                           status_labels=platforms.STATUS_LABELS)


# ------------------------------------------------------------------- estates


def _estates_page(form: EstateCreateForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("platform/estates.html", form=form, rows=platforms.estate_rows(db.session, _today()),
                           status_labels=platforms.STATUS_LABELS, options=platforms.OPTIONS), status


@bp.route("/domaines", methods=["GET", "POST"])
def estates():  # type: ignore[no-untyped-def]
    """The estates and their status; "Créer un domaine" (prefilled from ``?lead=<id>``)."""
    form = EstateCreateForm()
    if not form.is_submitted():
        _prefill_from_lead(form, request.args.get("lead", type=int))
        return _estates_page(form)
    if not form.validate():
        return _estates_page(form, 422)
    data = platforms.EstateData(
        name=form.name.data, slug=form.slug.data, legal_name=form.legal_name.data or "", email=form.email.data,
        city=form.city.data or "", staff_email=form.staff_email.data, staff_first_name=form.staff_first_name.data or "",
        staff_last_name=form.staff_last_name.data or "", lead_id=form.lead.data or None)
    try:
        estate, user = platforms.create_estate(db.session, data, secret_key=current_app.config["SECRET_KEY"],
                                               public_url=current_app.config["PUBLIC_URL"])
        audit.record(db.session, estate.id, current_user, "operator.estate_create", estate, {},
                     {"slug": estate.slug, "name": estate.name, "staff_email": user.email, "lead": data.lead_id},
                     estate.name)
        db.session.commit()
    except platforms.InvalidPlatformInput as exc:
        db.session.rollback()
        _field_error(form, exc)
        return _estates_page(form, 422)
    except IntegrityError:  # the same slug created at the same moment
        db.session.rollback()
        form.slug.errors = [*form.slug.errors, str(MESSAGES[("slug", "taken")])]
        return _estates_page(form, 422)
    mail.deliver_now()
    flash(_("Le domaine « %(name)s » est créé ; %(email)s a reçu son invitation.", name=estate.name,
            email=user.email), "success")
    return redirect(url_for("operator.estate_page", estate_id=estate.id))


def _prefill_from_lead(form: EstateCreateForm, lead_id: int | None) -> None:
    lead = platforms.lead(db.session, lead_id) if lead_id else None
    if lead is None or lead.status != "new":
        return
    first, _space, last = lead.name.strip().partition(" ")
    form.lead.data, form.name.data, form.staff_email.data = lead.id, lead.estate_name, lead.email
    form.staff_first_name.data, form.staff_last_name.data = first, last


def _estate_page(estate: Estate, status: int = 200, **forms: FlaskForm):  # type: ignore[no-untyped-def]
    subscription = platforms.subscription_of(db.session, estate.id)
    options = forms.get("options") or OptionsForm(formdata=None, obj=estate)
    sub_form = forms.get("subscription") or SubscriptionForm(formdata=None, data=(
        {"plan": subscription.plan_id, "starts_on": subscription.starts_on, "billing_email": subscription.billing_email,
         "payment_mode": subscription.payment_mode} if subscription is not None
        else {"billing_email": estate.email, "starts_on": _today()}))
    return render_template(
        "platform/estate.html", estate=estate, subscription=subscription,
        plan=db.session.get(Plan, subscription.plan_id) if subscription else None,
        status=subscriptions.status(subscription, _today()), status_labels=platforms.STATUS_LABELS,
        options_form=options, subscription_form=sub_form, cancel_form=forms.get("cancel") or CancelForm(formdata=None),
        invite_form=forms.get("invite") or InviteForm(formdata=None), staff=platforms.staff_of(db.session, estate.id),
        invoices=platforms.invoice_rows(db.session, estate_id=estate.id),
        invoice_labels=platforms.INVOICE_STATUS_LABELS, free_months=platforms.free_months(db.session, estate.id),
        mode_labels=platforms.PAYMENT_MODE_LABELS, has_plans=bool(sub_form.plan.choices)), status


@bp.get("/domaines/<int:estate_id>")
def estate_page(estate_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: no such estate."""
    return _estate_page(_or_404(Estate, estate_id))


@bp.post("/domaines/<int:estate_id>/options")
def estate_options(estate_id: int):  # type: ignore[no-untyped-def]
    """The options the operator switches (and whether the shop is published)."""
    estate = _or_404(Estate, estate_id)
    form = OptionsForm()
    if not form.validate():
        return _estate_page(estate, 422, options=form)
    names = (*platforms.OPTIONS, "is_published")
    before = audit.snapshot(estate, *names)
    platforms.set_options(db.session, estate, {name: form[name].data for name in platforms.OPTIONS},
                          published=form.is_published.data)
    audit.record(db.session, estate.id, current_user, "operator.estate_options", estate, before,
                 audit.snapshot(estate, *names), estate.name)
    db.session.commit()
    flash(_("Les options de %(name)s sont enregistrées.", name=estate.name), "success")
    return redirect(url_for("operator.estate_page", estate_id=estate.id))


def _subscription_snapshot(subscription) -> dict:  # type: ignore[no-untyped-def]
    if subscription is None:
        return {}
    return {"plan": subscription.plan_id, **audit.snapshot(subscription, "starts_on", "billing_email", "payment_mode",
                                                           "cancel_requested_on", "ends_on")}


@bp.post("/domaines/<int:estate_id>/abonnement")
def estate_subscription(estate_id: int):  # type: ignore[no-untyped-def]
    """Record or change the subscription: plan, start date, billing email, payment mode."""
    estate = _or_404(Estate, estate_id)
    form = SubscriptionForm()
    if not form.validate():
        return _estate_page(estate, 422, subscription=form)
    before = _subscription_snapshot(platforms.subscription_of(db.session, estate.id))
    try:
        saved = subscriptions.subscribe(db.session, estate, plan_id=form.plan.data, starts_on=form.starts_on.data,
                                        billing_email=form.billing_email.data, payment_mode=form.payment_mode.data)
    except subscriptions.InvalidSubscription as exc:
        db.session.rollback()
        _field_error(form, exc)
        return _estate_page(estate, 422, subscription=form)
    audit.record(db.session, estate.id, current_user, "operator.subscription", saved, before,
                 _subscription_snapshot(saved), estate.name)
    db.session.commit()
    flash(_("L'abonnement de %(name)s est enregistré.", name=estate.name), "success")
    return redirect(url_for("operator.estate_page", estate_id=estate.id))


@bp.post("/domaines/<int:estate_id>/resiliation")
def estate_cancel(estate_id: int):  # type: ignore[no-untyped-def]
    """The estate's written request ends the subscription at the end of that month."""
    estate = _or_404(Estate, estate_id)
    form = CancelForm()
    subscription = platforms.subscription_of(db.session, estate.id)
    if subscription is None:
        flash(_("Ce domaine n'a pas d'abonnement à résilier."), "error")
        return _estate_page(estate, 422)
    if not form.validate():
        return _estate_page(estate, 422, cancel=form)
    before = _subscription_snapshot(subscription)
    try:
        subscriptions.cancel(db.session, subscription, form.requested_on.data)
    except subscriptions.InvalidSubscription as exc:
        db.session.rollback()
        _field_error(form, exc)
        return _estate_page(estate, 422, cancel=form)
    audit.record(db.session, estate.id, current_user, "operator.cancel", subscription, before,
                 _subscription_snapshot(subscription), estate.name)
    db.session.commit()
    flash(_("La résiliation est enregistrée : l'abonnement prend fin le %(day)s.",
            day=subscription.ends_on.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("operator.estate_page", estate_id=estate.id))


@bp.post("/domaines/<int:estate_id>/equipe")
def estate_invite(estate_id: int):  # type: ignore[no-untyped-def]
    """Invite another manager of the estate by email."""
    estate = _or_404(Estate, estate_id)
    form = InviteForm()
    if not form.validate():
        return _estate_page(estate, 422, invite=form)
    try:
        member, user = platforms.invite_staff(
            db.session, estate, email=form.email.data, first_name=form.first_name.data or "",
            last_name=form.last_name.data or "", secret_key=current_app.config["SECRET_KEY"],
            public_url=current_app.config["PUBLIC_URL"])
    except platforms.InvalidPlatformInput as exc:
        db.session.rollback()
        _field_error(form, exc)
        return _estate_page(estate, 422, invite=form)
    audit.record(db.session, estate.id, current_user, "operator.staff_invite", member, {},
                 {"role": member.role, "email": user.email}, user.email)
    db.session.commit()
    mail.deliver_now()
    flash(_("%(email)s est invité comme gérant de %(name)s.", email=user.email, name=estate.name), "success")
    return redirect(url_for("operator.estate_page", estate_id=estate.id))


# --------------------------------------------------------------------- plans


def _plans_page(form: PlanForm, status: int = 200, edit: tuple[int, PlanForm] | None = None):  # type: ignore[no-untyped-def]
    from services.pricing import format_euros_plain

    rows = []
    for plan in subscriptions.plans(db.session):
        if edit is not None and edit[0] == plan.id:
            rows.append((plan, edit[1]))
            continue
        row = PlanForm(formdata=None, obj=plan, prefix=f"plan{plan.id}")
        row.monthly_price.data = format_euros_plain(plan.monthly_price_cents)
        rows.append((plan, row))
    return render_template("platform/plans.html", form=form, rows=rows), status


@bp.route("/formules", methods=["GET", "POST"])
def plans():  # type: ignore[no-untyped-def]
    form = PlanForm()
    if not form.is_submitted():
        return _plans_page(form)
    if not form.validate():
        return _plans_page(form, 422)
    try:
        plan = subscriptions.save_plan(db.session, form.name.data, form.monthly_price.cents)
    except subscriptions.InvalidSubscription as exc:
        db.session.rollback()
        _field_error(form, exc, "monthly_price" if exc.field == "price" else None)
        return _plans_page(form, 422)
    plan.is_active = bool(form.is_active.data)
    audit.record(db.session, None, current_user, "operator.plan_create", plan, {},
                 audit.snapshot(plan, "name", "monthly_price_cents", "is_active"), plan.name)
    db.session.commit()
    flash(_("La formule « %(name)s » est créée.", name=plan.name), "success")
    return redirect(url_for("operator.plans"))


@bp.post("/formules/<int:plan_id>")
def plan_edit(plan_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: no such plan."""
    plan = _or_404(Plan, plan_id)
    form = PlanForm(prefix=f"plan{plan.id}")
    if not form.validate():
        return _plans_page(PlanForm(formdata=None), 422, (plan.id, form))
    before = audit.snapshot(plan, "name", "monthly_price_cents", "is_active")
    try:
        subscriptions.save_plan(db.session, form.name.data, form.monthly_price.cents, plan)
    except subscriptions.InvalidSubscription as exc:
        db.session.rollback()
        _field_error(form, exc, "monthly_price" if exc.field == "price" else None)
        return _plans_page(PlanForm(formdata=None), 422, (plan_id, form))
    plan.is_active = bool(form.is_active.data)
    audit.record(db.session, None, current_user, "operator.plan_update", plan, before,
                 audit.snapshot(plan, "name", "monthly_price_cents", "is_active"), plan.name)
    db.session.commit()
    flash(_("La formule « %(name)s » est enregistrée.", name=plan.name), "success")
    return redirect(url_for("operator.plans"))


# ------------------------------------------------------------------ invoices


@bp.get("/factures")
def invoices():  # type: ignore[no-untyped-def]
    """Every operator invoice; ``?impayees=1``: only those still to be paid."""
    unpaid_only = request.args.get("impayees") == "1"
    rows = platforms.invoice_rows(db.session, unpaid_only=unpaid_only)
    unpaid_total = sum(row.due_cents for row in (rows if unpaid_only else
                                                 platforms.invoice_rows(db.session, unpaid_only=True)))
    return render_template("platform/invoices.html", rows=rows, unpaid_only=unpaid_only, unpaid_total=unpaid_total,
                           labels=platforms.INVOICE_STATUS_LABELS)


def _invoice_page(invoice: OperatorInvoice, form: PaymentForm, status: int = 200):  # type: ignore[no-untyped-def]
    received = subscriptions.received_cents(db.session, invoice.id)
    return render_template("platform/invoice.html", invoice=invoice, estate=db.session.get(Estate, invoice.estate_id),
                           received=received, status=platforms.invoice_status(invoice),
                           labels=platforms.INVOICE_STATUS_LABELS, mode_labels=platforms.PAYMENT_MODE_LABELS,
                           form=form), status


@bp.get("/factures/<int:invoice_id>")
def invoice_page(invoice_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: no such invoice."""
    invoice = _or_404(OperatorInvoice, invoice_id)
    form = PaymentForm(formdata=None, method=invoice.payment_mode)
    form.received_on.data = _today()
    return _invoice_page(invoice, form)


@bp.post("/factures/<int:invoice_id>/paiement")
def invoice_payment(invoice_id: int):  # type: ignore[no-untyped-def]
    """Record a transfer or a cheque received; the invoice is paid once they cover its TTC."""
    invoice = _or_404(OperatorInvoice, invoice_id)
    form = PaymentForm()
    if not form.validate():
        return _invoice_page(invoice, form, 422)
    try:
        payment = subscriptions.record_payment(
            db.session, invoice, amount_cents=form.amount.cents, method=form.method.data,
            reference=form.reference.data or "", received_on=form.received_on.data, actor_user_id=current_user.id,
            now=utcnow())
    except subscriptions.InvalidSubscription as exc:
        db.session.rollback()
        _field_error(form, exc)
        return _invoice_page(invoice, form, 422)
    audit.record(db.session, invoice.estate_id, current_user, "operator.payment", payment, {},
                 {"invoice": invoice.number, **audit.snapshot(payment, "amount_cents", "method", "reference",
                                                               "received_on")}, invoice.number)
    db.session.commit()
    flash(_("Le paiement est enregistré.") + (" " + _("La facture est payée.") if invoice.paid_at else ""), "success")
    return redirect(url_for("operator.invoice_page", invoice_id=invoice.id))


@bp.get("/factures/<int:invoice_id>/facture.pdf")
def invoice_pdf(invoice_id: int):  # type: ignore[no-untyped-def]
    """The invoice as issued (its PDF is kept, never rendered again)."""
    invoice = _or_404(OperatorInvoice, invoice_id)
    if not invoice.pdf:
        abort(404)
    return download(invoice.pdf, "application/pdf", f"{invoice.number}.pdf")


# ------------------------------------------------------------- professionals


def _pros_page(status: int = 200, errors: dict[int, RejectForm] | None = None):  # type: ignore[no-untyped-def]
    return render_template("platform/pros.html", pending=platforms.pending_pros(db.session),
                           reviewed=platforms.reviewed_pros(db.session), activities=platforms.PRO_ACTIVITIES,
                           key_ok=platforms.siret_key_ok, forms=errors or {},
                           blank=RejectForm(formdata=None)), status


@bp.get("/professionnels")
def pros():  # type: ignore[no-untyped-def]
    return _pros_page()


def _pro_or_404(user_id: int):  # type: ignore[no-untyped-def]
    user = platforms.pending_pro(db.session, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/professionnels/<int:user_id>/verifier")
def pro_verify(user_id: int):  # type: ignore[no-untyped-def]
    """"Vérifier": pro prices from now on, and an email to the customer.

    :raise 404: not a professional account.
    """
    user = _pro_or_404(user_id)
    before = audit.snapshot(user, "pro_status")
    try:
        platforms.verify_pro(db.session, user, utcnow(), public_url=current_app.config["PUBLIC_URL"])
    except platforms.AlreadyReviewed:
        db.session.rollback()
        flash(_("Ce compte professionnel a déjà été examiné."), "info")
        return redirect(url_for("operator.pros"))
    audit.record(db.session, None, current_user, "operator.pro_verify", user, before,
                 audit.snapshot(user, "pro_status"), f"{user.company_name} ({user.email})")
    db.session.commit()
    mail.deliver_now()
    flash(_("Le compte de %(company)s est vérifié ; un email l'en informe.", company=user.company_name), "success")
    return redirect(url_for("operator.pros"))


@bp.post("/professionnels/<int:user_id>/refuser")
def pro_reject(user_id: int):  # type: ignore[no-untyped-def]
    """"Refuser" with a reason, emailed to the customer.

    :raise 404: not a professional account.
    """
    user = _pro_or_404(user_id)
    form = RejectForm()
    before = audit.snapshot(user, "pro_status")
    try:
        if not form.validate():
            raise platforms.InvalidPlatformInput("reason", "too_long")
        platforms.reject_pro(db.session, user, form.reason.data or "", utcnow(),
                             public_url=current_app.config["PUBLIC_URL"])
    except platforms.InvalidPlatformInput as exc:
        db.session.rollback()
        form.reason.errors = [str(MESSAGES[("reason", exc.code)])]
        return _pros_page(422, {user_id: form})
    except platforms.AlreadyReviewed:
        db.session.rollback()
        flash(_("Ce compte professionnel a déjà été examiné."), "info")
        return redirect(url_for("operator.pros"))
    audit.record(db.session, None, current_user, "operator.pro_reject", user, before,
                 {**audit.snapshot(user, "pro_status"), "reason": user.pro_rejection_reason},
                 f"{user.company_name} ({user.email})")
    db.session.commit()
    mail.deliver_now()
    flash(_("La demande de %(company)s est refusée ; un email en donne la raison.", company=user.company_name),
          "success")
    return redirect(url_for("operator.pros"))


# --------------------------------------------------------------------- leads


@bp.get("/prospects")
def leads():  # type: ignore[no-untyped-def]
    return render_template("platform/leads.html", rows=platforms.lead_rows(db.session),
                           labels=platforms.LEAD_STATUS_LABELS)


@bp.post("/prospects/<int:lead_id>/ecarter")
def lead_dismiss(lead_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: no such lead."""
    lead = platforms.lead(db.session, lead_id)
    if lead is None:
        abort(404)
    if not platforms.dismiss_lead(db.session, lead):
        flash(_("Ce prospect n'est plus à traiter."), "info")
        return redirect(url_for("operator.leads"))
    audit.record(db.session, None, current_user, "operator.lead_dismiss", lead, {"status": "new"},
                 {"status": "dismissed"}, f"{lead.estate_name} ({lead.email})")
    db.session.commit()
    flash(_("Le prospect « %(name)s » est écarté.", name=lead.estate_name), "success")
    return redirect(url_for("operator.leads"))


# ------------------------------------------------------------------- journal


@bp.get("/journal")
def audit_log():  # type: ignore[no-untyped-def]
    """The operator's actions: who, when, what, before and after."""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    rows, total = platforms.operator_log(db.session, page)
    return render_template("platform/audit.html", rows=rows, total=total, page=page,
                           pages=max((total - 1) // platforms.LOG_PAGE_SIZE + 1, 1),
                           action_labels=audit.ACTION_LABELS, changes=audit.changes)

