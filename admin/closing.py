"""Fermetures (seed 001): the estate's closing periods, shown on its shop pages and in
its order emails, pushing the expected shipping date past their end. Managers only
(admin.access lets no seller in)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, TextAreaField

from admin import bp
from admin.access import get_or_404
from models import ClosingPeriod, db
from services import audit, closing

MESSAGES = {
    ("starts_on", "required"): _l("Indiquez le premier jour de fermeture."),
    ("ends_on", "required"): _l("Indiquez le dernier jour de fermeture."),
    ("ends_on", "order"): _l("Le dernier jour doit être le premier jour ou après."),
    ("ends_on", "past"): _l("Cette période est entièrement passée : indiquez une fermeture en cours ou à venir."),
    ("starts_on", "overlap"): _l("Cette période chevauche une autre fermeture du domaine : modifiez celle-ci plutôt."),
    ("message", "required"): _l("Écrivez le message affiché aux clients."),
    ("message", "too_long"): _l("Le message compte au plus 500 caractères."),
}
audit.ACTION_LABELS.update({"closing.create": _l("Fermeture ajoutée"), "closing.update": _l("Fermeture modifiée"),
                           "closing.delete": _l("Fermeture supprimée")})
audit.FIELD_LABELS.setdefault("starts_on", _l("Du"))
audit.FIELD_LABELS.setdefault("ends_on", _l("Au"))
audit.FIELD_LABELS.setdefault("orders_taken", _l("Commandes possibles"))
AUDITED = ("starts_on", "ends_on", "message", "orders_taken")


class ClosingForm(FlaskForm):
    """services.closing.save checks the rules; the fields only parse."""

    starts_on = DateField(_l("Du"), render_kw={"required": True})
    ends_on = DateField(_l("Au (inclus)"), render_kw={"required": True})
    message = TextAreaField(_l("Message aux clients"), render_kw={"maxlength": closing.MESSAGE_MAX, "rows": 3})
    orders_taken = BooleanField(_l("Les commandes restent possibles (expédiées après la fermeture)"), default=True)

    def date_errors(self) -> bool:
        """Dates DateField could not read get a French message (empty: "required")."""
        bad = False
        for f in (self.starts_on, self.ends_on):
            if f.data is None and f.raw_data is not None:
                empty = not (f.raw_data and f.raw_data[0].strip())
                f.errors = [str(MESSAGES[(f.name, "required")]) if empty
                            else _("Date invalide : choisissez-la dans le calendrier (jj/mm/aaaa).")]
                bad = True
        return bad


def _label(period: ClosingPeriod) -> str:
    return _("Fermeture du %(start)s au %(end)s", start=period.starts_on.strftime("%d/%m/%Y"),
             end=period.ends_on.strftime("%d/%m/%Y"))


def _save(form: ClosingForm, period: ClosingPeriod | None):  # type: ignore[no-untyped-def]
    """The saved period, or None with the form's errors set (CSRF included)."""
    valid = form.validate()
    if form.date_errors() or not valid:
        return None
    try:
        return closing.save(db.session, g.estate.id, period, starts_on=form.starts_on.data, ends_on=form.ends_on.data,
                            message=form.message.data, orders_taken=bool(form.orders_taken.data), day=closing.today())
    except closing.InvalidPeriod as exc:
        db.session.rollback()
        field = getattr(form, exc.field)
        field.errors = [*(field.errors or []), str(MESSAGES[(exc.field, exc.code)])]
        return None


def _page(form: ClosingForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/closing.html", form=form, periods=closing.all_periods(db.session, g.estate.id),
                           today=closing.today()), status


@bp.route("/fermetures", methods=["GET", "POST"])
def closing_periods():  # type: ignore[no-untyped-def]
    """The periods (past ones greyed) and the form adding one."""
    form = ClosingForm()
    if not form.is_submitted():
        return _page(form)
    if (period := _save(form, None)) is not None:
        audit.record(db.session, g.estate.id, current_user, "closing.create", period, {},
                     audit.snapshot(period, *AUDITED), _label(period))
        db.session.commit()
        flash(_("La fermeture est enregistrée."), "success")
        return redirect(url_for("admin.closing_periods"))
    return _page(form, 422)


@bp.route("/fermetures/<int:closing_period_id>", methods=["GET", "POST"])
def closing_period_edit(closing_period_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's period (or none)."""
    period = get_or_404(ClosingPeriod, closing_period_id)
    form = ClosingForm(obj=period)
    if form.is_submitted():
        before = audit.snapshot(period, *AUDITED)
        if _save(form, period) is not None:
            audit.record(db.session, g.estate.id, current_user, "closing.update", period, before,
                         audit.snapshot(period, *AUDITED), _label(period))
            db.session.commit()
            flash(_("La fermeture est enregistrée."), "success")
            return redirect(url_for("admin.closing_periods"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/closing_form.html", form=form, period=period), status


@bp.post("/fermetures/<int:closing_period_id>/supprimer")
def closing_period_delete(closing_period_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's period (or none)."""
    period = get_or_404(ClosingPeriod, closing_period_id)
    label = _label(period)
    audit.record(db.session, g.estate.id, current_user, "closing.delete", ("closing_period", period.id),
                 audit.snapshot(period, *AUDITED), {}, label)
    closing.delete(db.session, period)
    db.session.commit()
    flash(_("%(label)s supprimée.", label=label), "success")
    return redirect(url_for("admin.closing_periods"))
