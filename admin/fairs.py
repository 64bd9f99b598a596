"""Salons: the fairs the estate takes part in, their invitation (link and PDF), the
pre-fair price, and the picking list of the orders to hand over there."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from admin import bp
from admin.access import get_or_404
from admin.forms import parse_hundredths
from models import EstateFair, Fair, PriceList, db, utcnow
from services import audit, fairs
from services.web import download

MESSAGES = {
    "name": _l("Indiquez le nom du salon."),
    "city": _l("Indiquez la ville du salon."),
    "dates": _l("La fin du salon doit suivre son début."),
    "too_long": _l("Un salon dure au plus 31 jours : vérifiez les dates."),
    "stand": _l("Le stand compte au plus 60 caractères."),
    "percent": _l("Indiquez une remise entre 0,01 et 100 %."),
    "price_list": _l("Choisissez un de vos tarifs."),
    "both": _l("Choisissez un tarif ou un pourcentage, pas les deux."),
    "taken": _l("Vous participez déjà à ce salon."),
    "unknown": _l("Choisissez un salon de la liste, ou ajoutez-en un nouveau."),
}
audit.ACTION_LABELS.update({"fair.create": _l("Salon ajouté"), "fair.update": _l("Salon modifié"),
                           "fair.delete": _l("Salon retiré")})
PREFAIR_MODES = (("none", _l("Pas de tarif pré-salon")), ("list", _l("Un de mes tarifs")),
                 ("percent", _l("Une remise en %")))


class ParticipationForm(FlaskForm):
    fair_id = SelectField(_l("Salon"), coerce=str, validate_choice=False)
    name = StringField(_l("Nom du nouveau salon"), validators=[Optional(), Length(max=140)])
    city = StringField(_l("Ville"), validators=[Optional(), Length(max=100)])
    venue = StringField(_l("Lieu (salle, adresse)"), validators=[Optional(), Length(max=200)])
    starts_on = DateField(_l("Premier jour"), validators=[Optional()])
    ends_on = DateField(_l("Dernier jour"), validators=[Optional()])
    stand = StringField(_l("Stand"), validators=[Optional(), Length(max=60)])
    pickup_enabled = BooleanField(_l("Les clients peuvent retirer leur commande sur le salon"), default=True)
    prefair_mode = SelectField(_l("Tarif pré-salon (commandes passées avant le premier jour)"),
                               choices=[SelectChoice(k, str(v)) for k, v in PREFAIR_MODES], validate_choice=False)
    prefair_price_list_id = SelectField(_l("Tarif pré-salon"), coerce=str, validate_choice=False)
    prefair_percent = StringField(_l("Remise pré-salon (%)"), validators=[Optional(), Length(max=8)])

    def validate_prefair_percent(self, field: StringField) -> None:
        field.bp = parse_hundredths(field.data, message=_l("Pourcentage invalide : écrivez par exemple 10 ou 7,5.")) or 0
        if self.prefair_mode.data == "percent" and not 0 < field.bp <= 10_000:
            raise ValidationError(MESSAGES["percent"])

    def validate_prefair_mode(self, field: SelectField) -> None:
        if field.data not in dict(PREFAIR_MODES):
            raise ValidationError(_l("Choix invalide."))

    def validate_prefair_price_list_id(self, field: SelectField) -> None:
        field.id_value = None
        if self.prefair_mode.data != "list":
            return
        if not (field.data or "").isdigit() or len(field.data) > 9:
            raise ValidationError(MESSAGES["price_list"])
        field.id_value = int(field.data)


def _prepare(form: ParticipationForm, current: EstateFair | None) -> None:
    taken = set(db.session.scalars(select(EstateFair.fair_id)))
    today = fairs.paris_date(utcnow())
    choices = [SelectChoice("new", str(_l("— Ajouter un nouveau salon —")))]
    for fair in fairs.upcoming_fairs(db.session, today):
        if fair.id not in taken or (current is not None and fair.id == current.fair_id):
            choices.append(SelectChoice(str(fair.id), f"{fair.name} — {fair.city} ({fair.starts_on:%d/%m/%Y})"))
    form.fair_id.choices = choices
    lists = db.session.scalars(select(PriceList).order_by(PriceList.position, PriceList.id))
    form.prefair_price_list_id.choices = [SelectChoice("", "—")] + [SelectChoice(str(pl.id), pl.name) for pl in lists]


def _terms(form: ParticipationForm) -> fairs.Terms:
    mode = form.prefair_mode.data
    return fairs.Terms(stand=(form.stand.data or "").strip(), pickup_enabled=bool(form.pickup_enabled.data),
                       prefair_price_list_id=getattr(form.prefair_price_list_id, "id_value", None) if mode == "list" else None,
                       prefair_discount_bp=getattr(form.prefair_percent, "bp", 0) if mode == "percent" else 0)


def _show_error(form: ParticipationForm, exc: fairs.InvalidFair) -> None:
    field = getattr(form, exc.field, form.fair_id)
    field.errors = [*field.errors, str(MESSAGES[exc.code])]


def _audited(participation: EstateFair) -> dict:
    return audit.snapshot(participation, "fair_id", "stand", "pickup_enabled", "prefair_price_list_id",
                          "prefair_discount_bp")


@bp.get("/salons")
def fairs_page():  # type: ignore[no-untyped-def]
    return render_template("admin/fairs.html", participations=fairs.participations(db.session),
                           today=fairs.paris_date(utcnow()), percent=fairs.percent_label)


@bp.route("/salons/nouveau", methods=["GET", "POST"])
def fair_new():  # type: ignore[no-untyped-def]
    form = ParticipationForm()
    _prepare(form, None)
    if form.validate_on_submit():
        try:
            participation = _participate(form)
        except fairs.InvalidFair as exc:
            db.session.rollback()
            _prepare(form, None)
            _show_error(form, exc)
        else:
            audit.record(db.session, g.estate.id, current_user, "fair.create", participation, {},
                         _audited(participation), participation.fair.name)
            db.session.commit()
            flash(_("Vous participez au salon « %(name)s ».", name=participation.fair.name), "success")
            return redirect(url_for("admin.fair_edit", estate_fair_id=participation.id))
    return render_template("admin/fair_form.html", form=form, participation=None), 422 if form.is_submitted() else 200


def _participate(form: ParticipationForm) -> EstateFair:
    """:raise fairs.InvalidFair:"""
    choice = form.fair_id.data or ""
    if choice == "new":
        if form.starts_on.data is None or form.ends_on.data is None:
            raise fairs.InvalidFair("starts_on" if form.starts_on.data is None else "ends_on", "dates")
        fair = fairs.find_or_add_fair(db.session, g.estate, fairs.NewFair(
            form.name.data or "", form.city.data or "", form.venue.data or "", form.starts_on.data, form.ends_on.data))
    else:
        fair = db.session.get(Fair, int(choice)) if choice.isdigit() and len(choice) < 10 else None
        if fair is None or fair.ends_on < fairs.paris_date(utcnow()):
            raise fairs.InvalidFair("fair_id", "unknown")
    try:
        return fairs.participate(db.session, g.estate, fair, _terms(form))
    except IntegrityError:  # the same form posted twice at once
        raise fairs.InvalidFair("fair_id", "taken") from None


@bp.route("/salons/<int:estate_fair_id>", methods=["GET", "POST"])
def fair_edit(estate_fair_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's participation."""
    participation = get_or_404(EstateFair, estate_fair_id)
    form = ParticipationForm(obj=participation)
    _prepare(form, participation)
    if not form.is_submitted():
        form.fair_id.data = str(participation.fair_id)
        form.prefair_mode.data = ("list" if participation.prefair_price_list_id else
                                  "percent" if participation.prefair_discount_bp else "none")
        form.prefair_price_list_id.data = str(participation.prefair_price_list_id or "")
        form.prefair_percent.data = fairs.percent_label(participation.prefair_discount_bp) \
            if participation.prefair_discount_bp else ""
    elif form.validate():
        before = _audited(participation)
        try:
            fairs.update_terms(db.session, participation, _terms(form))
        except fairs.InvalidFair as exc:
            db.session.rollback()
            participation = get_or_404(EstateFair, estate_fair_id)
            _show_error(form, exc)
        else:
            audit.record(db.session, g.estate.id, current_user, "fair.update", participation, before,
                         _audited(participation), participation.fair.name)
            db.session.commit()
            flash(_("Le salon « %(name)s » est enregistré.", name=participation.fair.name), "success")
            return redirect(url_for("admin.fair_edit", estate_fair_id=participation.id))
    invitation = _invitation_url(participation)
    return render_template("admin/fair_form.html", form=form, participation=participation, invitation=invitation,
                           dates=fairs.dates_label(participation.fair)), 422 if form.is_submitted() else 200


@bp.post("/salons/<int:estate_fair_id>/retirer")
def fair_remove(estate_fair_id: int):  # type: ignore[no-untyped-def]
    participation = get_or_404(EstateFair, estate_fair_id)
    name, before = participation.fair.name, _audited(participation)
    try:
        fairs.remove(db.session, participation)
    except fairs.FairHasOrders:
        db.session.rollback()
        flash(_("Des commandes sont à retirer sur le salon « %(name)s » : il ne peut pas être retiré.", name=name),
              "error")
        return redirect(url_for("admin.fair_edit", estate_fair_id=estate_fair_id))
    audit.record(db.session, g.estate.id, current_user, "fair.delete", None, before, {}, name)
    db.session.commit()
    flash(_("Le salon « %(name)s » est retiré de vos salons.", name=name), "success")
    return redirect(url_for("admin.fairs_page"))


def _invitation_url(participation: EstateFair) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "shop.fair_invitation", estate_slug=g.estate.slug, token=participation.token)


@bp.get("/salons/<int:estate_fair_id>/invitation.pdf")
def fair_invitation_pdf(estate_fair_id: int):  # type: ignore[no-untyped-def]
    participation = get_or_404(EstateFair, estate_fair_id)
    content = fairs.invitation_pdf(g.estate, participation, _invitation_url(participation))
    return download(content, "application/pdf", f"invitation-salon-{participation.id}.pdf")


@bp.get("/salons/<int:estate_fair_id>/preparation.pdf")
def fair_picking_list(estate_fair_id: int):  # type: ignore[no-untyped-def]
    """The orders to hand over at the fair: participants, bottles per wine, totals."""
    participation = get_or_404(EstateFair, estate_fair_id)
    content = fairs.picking_list_pdf(db.session, g.estate, participation)
    return download(content, "application/pdf", f"preparation-salon-{participation.id}.pdf")
