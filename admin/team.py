"""Équipe (issue 12): the estate's staff, managers and sellers. Managers only
(admin.access lets no seller in)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from admin import bp
from admin.access import get_or_404
from models import EstateStaff, User, db
from services import audit, mail, tastings

_REQUIRED = _l("Ce champ est obligatoire.")
MESSAGES = {
    "invalid": _l("Adresse email invalide."),
    "unknown": _l("Choisissez un rôle de la liste."),
    "last_manager": _l("Le domaine doit garder au moins un gérant : nommez d'abord un autre gérant."),
}
audit.ACTION_LABELS.update({"staff.add": _l("Membre de l'équipe ajouté"),
                           "staff.role": _l("Rôle d'un membre de l'équipe changé"),
                           "staff.remove": _l("Membre de l'équipe retiré")})
audit.FIELD_LABELS.setdefault("role", _l("Rôle"))


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(key, str(label)) for key, label in tastings.ROLES.items()]


class StaffForm(FlaskForm):
    email = EmailField(_l("Adresse email"), validators=[DataRequired(_REQUIRED), Email(_l("Adresse email invalide.")),
                                                        Length(max=254)])
    first_name = StringField(_l("Prénom"), validators=[Optional(), Length(max=80)])
    last_name = StringField(_l("Nom"), validators=[Optional(), Length(max=80)])
    role = SelectField(_l("Rôle"), choices=_role_choices, default="seller",
                       validate_choice=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()


def _page(form: StaffForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/team.html", form=form, rows=tastings.staff_rows(db.session),
                           roles=tastings.ROLES), status


@bp.route("/equipe", methods=["GET", "POST"])
def team_page():  # type: ignore[no-untyped-def]
    """The staff list and the "add a person" form; a new person gets an email to choose
    their password (services.tastings.add_staff)."""
    form = StaffForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        form.role.errors = [str(MESSAGES["unknown"])] if form.role.errors else []
        return _page(form, 422)
    try:
        member = tastings.add_staff(db.session, g.estate, email=form.email.data, first_name=form.first_name.data or "",
                                    last_name=form.last_name.data or "", role=form.role.data,
                                    secret_key=current_app.config["SECRET_KEY"],
                                    public_url=current_app.config["PUBLIC_URL"])
    except tastings.InvalidTasting as exc:
        db.session.rollback()
        field = form.role if exc.field == "role" else form.email
        field.errors = [*field.errors, str(MESSAGES.get(exc.code, MESSAGES["invalid"]))]
        return _page(form, 422)
    user = db.session.get(User, member.user_id)
    audit.record(db.session, g.estate.id, current_user, "staff.add", member, {}, {"role": member.role},
                 user.email if user else "")
    db.session.commit()
    mail.deliver_now()
    flash(_("%(email)s fait partie de l'équipe (%(role)s).", email=user.email if user else "",
            role=tastings.ROLES[member.role]), "success")
    return redirect(url_for("admin.team_page"))


@bp.post("/equipe/<int:staff_id>/role")
def team_role(staff_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's staff row."""
    member = get_or_404(EstateStaff, staff_id)
    role = request.form.get("role", "")
    before = {"role": member.role}
    try:
        tastings.set_role(db.session, member, role)
    except tastings.InvalidTasting as exc:
        db.session.rollback()
        flash(str(MESSAGES.get(exc.code, MESSAGES["unknown"])), "error")
        return redirect(url_for("admin.team_page"))
    user = db.session.get(User, member.user_id)
    audit.record(db.session, g.estate.id, current_user, "staff.role", member, before, {"role": member.role},
                 user.email if user else "")
    db.session.commit()
    flash(_("Le rôle de %(email)s est enregistré.", email=user.email if user else ""), "success")
    if member.user_id == current_user.id and role == "seller":
        return redirect(url_for("admin.dashboard"))  # now a seller: their tastings
    return redirect(url_for("admin.team_page"))


@bp.post("/equipe/<int:staff_id>/retirer")
def team_remove(staff_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's staff row."""
    member = get_or_404(EstateStaff, staff_id)
    if member.user_id == current_user.id:
        flash(_("Vous ne pouvez pas vous retirer vous-même de l'équipe."), "error")
        return redirect(url_for("admin.team_page"))
    user = db.session.get(User, member.user_id)
    before = {"role": member.role}
    try:
        tastings.remove_staff(db.session, member)
    except tastings.InvalidTasting as exc:
        db.session.rollback()
        flash(str(MESSAGES.get(exc.code, MESSAGES["unknown"])), "error")
        return redirect(url_for("admin.team_page"))
    audit.record(db.session, g.estate.id, current_user, "staff.remove", ("estate_staff", staff_id), before, {},
                 user.email if user else "")
    db.session.commit()
    flash(_("%(email)s ne fait plus partie de l'équipe.", email=user.email if user else ""), "success")
    return redirect(url_for("admin.team_page"))
