"""Points de retrait: temporary delivery points (a fair, a drop point) offered at
checkout from their first to their last day."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from admin import bp
from admin.access import get_or_404
from models import PickupPoint, db, utcnow
from services import audit, pickup_points
from services.fairs import paris_date

_REQUIRED = _l("Ce champ est obligatoire.")
MESSAGES = {
    "name": _l("Indiquez le nom du point de retrait."),
    "length": _l("Ce texte est trop long."),
    "dates": _l("Le dernier jour doit suivre le premier."),
    "too_long": _l("Un point de retrait temporaire dure au plus un an : vérifiez les dates."),
}
audit.ACTION_LABELS.update({"pickup_point.create": _l("Point de retrait ajouté"),
                           "pickup_point.update": _l("Point de retrait modifié"),
                           "pickup_point.delete": _l("Point de retrait supprimé")})


class PickupPointForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(_REQUIRED), Length(max=140)])
    street = StringField(_l("Adresse"), validators=[Optional(), Length(max=200)])
    postcode = StringField(_l("Code postal"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("Commune"), validators=[Optional(), Length(max=100)])
    starts_on = DateField(_l("Premier jour"), validators=[InputRequired(_REQUIRED)])
    ends_on = DateField(_l("Dernier jour (inclus)"), validators=[InputRequired(_REQUIRED)])
    instructions = TextAreaField(_l("Instructions de retrait (horaires, accès …)"), validators=[Optional(), Length(max=2000)])


def _audited(point: PickupPoint) -> dict:
    return audit.snapshot(point, "name", "street", "postcode", "city", "starts_on", "ends_on", "instructions")


@bp.get("/points-de-retrait")
def pickup_points_page():  # type: ignore[no-untyped-def]
    return render_template("admin/pickup_points.html", points=pickup_points.list_points(db.session),
                           today=paris_date(utcnow()), is_active=pickup_points.is_active)


@bp.route("/points-de-retrait/nouveau", methods=["GET", "POST"])
def pickup_point_new():  # type: ignore[no-untyped-def]
    return _form(None)


@bp.route("/points-de-retrait/<int:pickup_point_id>", methods=["GET", "POST"])
def pickup_point_edit(pickup_point_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's point."""
    return _form(get_or_404(PickupPoint, pickup_point_id))


def _form(point: PickupPoint | None):  # type: ignore[no-untyped-def]
    form = PickupPointForm(obj=point)
    if form.validate_on_submit():
        before = _audited(point) if point is not None else {}
        data = pickup_points.PointData(**{name: form[name].data or "" for name in pickup_points.LIMITS},
                                       starts_on=form.starts_on.data, ends_on=form.ends_on.data)
        try:
            saved = pickup_points.save(db.session, g.estate, point, data)
        except pickup_points.InvalidPickupPoint as exc:
            db.session.rollback()
            form[exc.field].errors = [*form[exc.field].errors, str(MESSAGES[exc.code])]
        else:
            audit.record(db.session, g.estate.id, current_user,
                         "pickup_point.update" if point is not None else "pickup_point.create", saved, before,
                         _audited(saved), saved.name)
            db.session.commit()
            flash(_("Le point de retrait « %(name)s » est enregistré.", name=saved.name), "success")
            return redirect(url_for("admin.pickup_points_page"))
    return render_template("admin/pickup_point_form.html", form=form, point=point), 422 if form.is_submitted() else 200


@bp.post("/points-de-retrait/<int:pickup_point_id>/supprimer")
def pickup_point_delete(pickup_point_id: int):  # type: ignore[no-untyped-def]
    point = get_or_404(PickupPoint, pickup_point_id)
    name, before = point.name, _audited(point)
    try:
        pickup_points.delete(db.session, point)
    except pickup_points.PickupPointHasOrders:
        db.session.rollback()
        flash(_("Des commandes sont à retirer au point « %(name)s » : il ne peut pas être supprimé. "
                "Raccourcissez plutôt ses dates.", name=name), "error")
        return redirect(url_for("admin.pickup_point_edit", pickup_point_id=pickup_point_id))
    audit.record(db.session, g.estate.id, current_user, "pickup_point.delete", ("pickup_point", pickup_point_id),
                 before, {}, name)
    db.session.commit()
    flash(_("Le point de retrait « %(name)s » est supprimé.", name=name), "success")
    return redirect(url_for("admin.pickup_points_page"))
