"""« Comptabilité »: the accounting export of a period (FEC and CSV) and the estate's
accounts and journal codes (services.accounting)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin import bp
from models import db
from services import accounting, audit
from services.database import writes_on_get
from services.web import download

audit.ACTION_LABELS.update({"accounting.settings": _l("Comptes comptables modifiés"),
                            "accounting.export": _l("Écritures comptables exportées")})
audit.FIELD_LABELS.update({
    "account_customers": _l("Compte clients"), "account_sales": _l("Compte de ventes"),
    "account_shipping": _l("Compte des frais de port"), "account_vat": _l("Compte de TVA collectée"),
    "account_bank": _l("Compte de banque"), "account_fees": _l("Compte des frais bancaires"),
    "journal_sales": _l("Journal des ventes"), "journal_bank": _l("Journal de banque"),
    "period": _l("Période"), "entries": _l("Écritures"),
})
audit.FAMILIES.setdefault("comptabilite", (_l("Comptabilité"), ("accounting.",)))

#: the settings form's labels, in its order
FIELD_LABELS = {
    "account_customers": _l("Clients (411)"), "account_sales": _l("Ventes de vins (706)"),
    "account_shipping": _l("Frais de port facturés (708)"), "account_vat": _l("TVA collectée (44571)"),
    "account_bank": _l("Banque (512)"), "account_fees": _l("Frais bancaires et commissions (627)"),
    "journal_sales": _l("Journal des ventes (VE)"), "journal_bank": _l("Journal de banque (BQ)"),
}


def _page(period: accounting.Period | None, *, period_error: str = "", form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    day = accounting.today()
    export = accounting.build(db.session, g.estate, period) if period is not None else None
    shown = period or accounting.default_period(day)
    try:
        fec_name = accounting.fec_filename(g.estate, shown)
    except accounting.MissingSiren:
        fec_name = ""
    return render_template("admin/accounting.html", export=export, period=shown, period_error=period_error,
                           presets=accounting.presets(day), fec_name=fec_name,
                           form=form if form is not None else accounting.settings_of(g.estate),
                           errors=errors or {}, field_labels=FIELD_LABELS,
                           du=request.args.get("du", "")[:20], au=request.args.get("au", "")[:20]), status


def _period() -> accounting.Period:
    """:raise accounting.InvalidPeriod:"""
    return accounting.parse_period(request.args.get("du"), request.args.get("au"), accounting.today())


@bp.get("/comptabilite")
def accounting_page():  # type: ignore[no-untyped-def]
    try:
        period = _period()
    except accounting.InvalidPeriod as exc:
        return _page(None, period_error=str(exc), status=400)
    return _page(period)


def _export(kind: str):  # type: ignore[no-untyped-def]
    try:
        period = _period()
    except accounting.InvalidPeriod as exc:
        return _page(None, period_error=str(exc), status=400)
    export = accounting.build(db.session, g.estate, period)
    if kind == "fec":
        try:
            filename = accounting.fec_filename(g.estate, period)
        except accounting.MissingSiren:
            flash(_("Indiquez le SIRET du domaine (page « Domaine ») : il donne son nom au fichier FEC."), "error")
            return redirect(url_for("admin.accounting_page", du=period.start.isoformat(), au=period.end.isoformat()))
        body, mimetype = accounting.to_fec(export), f"text/plain; charset={accounting.FEC_ENCODING}"
    else:
        filename = accounting.csv_filename(g.estate, period)
        body, mimetype = accounting.to_csv(export), "text/csv; charset=utf-8"
    accounting.record_export(db.session, g.estate, current_user, export, filename)
    db.session.commit()
    return download(body, mimetype, filename)


@bp.get("/comptabilite/fec")
@writes_on_get  # the export is written to the audit log
def accounting_fec():  # type: ignore[no-untyped-def]
    return _export("fec")


@bp.get("/comptabilite/ecritures.csv")
@writes_on_get  # the export is written to the audit log
def accounting_csv():  # type: ignore[no-untyped-def]
    return _export("csv")


@bp.post("/comptabilite/comptes")
def accounting_settings():  # type: ignore[no-untyped-def]
    form = {name: request.form.get(name, "")[:40] for name in accounting.SETTINGS_FIELDS}
    try:
        changed = accounting.update_settings(db.session, g.estate, current_user, form)
    except accounting.InvalidSettings as exc:
        db.session.rollback()
        try:
            period = _period()
        except accounting.InvalidPeriod:
            period = None
        return _page(period, form=form, errors=exc.errors, status=422)
    db.session.commit()
    flash(_("Les comptes comptables sont enregistrés.") if changed else _("Aucun changement."), "success")
    return redirect(url_for("admin.accounting_page", du=request.args.get("du", "")[:20] or None,
                            au=request.args.get("au", "")[:20] or None) + "#comptes")
