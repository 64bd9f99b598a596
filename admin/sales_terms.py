""""Conditions générales de vente" (issue 15): the vigneron completes the CGV template
(services.sales_terms), previews the text, and publishes it as the next version; the
list of versions gives each one's PDF as published. Managers only (admin.access lets
no seller in)."""

from __future__ import annotations

from dataclasses import asdict

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from admin import bp
from models import db, utcnow
from services import audit, sales_terms
from services.web import download

MESSAGES = {
    "required": {
        "mediator_name": _l("Indiquez le nom du médiateur de la consommation (obligatoire)."),
        "mediator_address": _l("Indiquez l'adresse du médiateur de la consommation (obligatoire)."),
        "mediator_url": _l("Indiquez le site internet du médiateur de la consommation (obligatoire)."),
    },
    "url": _l("Adresse de site invalide : écrivez-la en entier, par exemple https://www.mediateur.fr."),
    "choice": _l("Choisissez qui paie les frais de retour."),
}
audit.ACTION_LABELS.update({
    "sales_terms.publish": _l("Conditions générales de vente publiées"),
    "sales_terms.auto_publish": _l("Conditions générales de vente publiées automatiquement"),
})
audit.FIELD_LABELS.setdefault("version", _l("Version"))
audit.FIELD_LABELS.setdefault("mediator_name", _l("Médiateur"))


class SalesTermsForm(FlaskForm):
    """The template's answers; services.sales_terms.validate checks them."""

    mediator_name = StringField(_l("Nom du médiateur de la consommation"))
    mediator_address = TextAreaField(_l("Adresse du médiateur"), render_kw={"rows": 2})
    mediator_url = StringField(_l("Site internet du médiateur"), render_kw={"placeholder": "https://"})
    return_address = TextAreaField(_l("Adresse de retour des produits en cas de rétractation"),
                                   description=_l("Précédée du nom du domaine. Vide : l'adresse du domaine."),
                                   render_kw={"rows": 2})
    return_costs = SelectField(_l("Frais de retour après une rétractation"), validate_choice=False,
                               choices=[SelectChoice("buyer", _l("À la charge de l'acheteur")),
                                        SelectChoice("estate", _l("Pris en charge par le domaine"))])
    delivery_details = TextAreaField(_l("Précisions sur la livraison (transporteurs, emballages, zones …)"),
                                     render_kw={"rows": 3})
    primeur_clause = BooleanField(_l("Le domaine vend des vins en primeur (exception au droit de rétractation, "
                                     "article L221-28 12°)"))
    excise_note = TextAreaField(_l("Droits d'accise pour les livraisons dans l'Union européenne"),
                                description=_l("Vide : les droits d'accise du pays de destination sont à la charge "
                                               "du domaine et compris dans le prix."), render_kw={"rows": 3})
    privacy_url = StringField(_l("Adresse de votre politique de confidentialité (facultatif)"),
                              render_kw={"placeholder": "https://"})
    extra_clauses = TextAreaField(_l("Clauses complémentaires (facultatif)"), render_kw={"rows": 5})


def _values(form: SalesTermsForm) -> dict[str, object]:
    return {name: form[name].data for name in
            ("mediator_name", "mediator_address", "mediator_url", "return_address", "return_costs",
             "delivery_details", "primeur_clause", "excise_note", "privacy_url", "extra_clauses")}


def _show_errors(form: SalesTermsForm, errors: dict[str, str]) -> None:
    for name, code in errors.items():
        if code == "required":
            message = str(MESSAGES["required"][name])
        elif code == "too_long":
            message = _("Ce texte est trop long (%(n)s caractères au plus).", n=sales_terms.MAX_LENGTHS[name])
        else:
            message = str(MESSAGES[code])
        form[name].errors = [message]


def _lenient(values: dict[str, object]) -> sales_terms.Completions:
    """What the preview shows of answers that do not validate yet."""
    return sales_terms.Completions(
        **{name: str(values.get(name) or "").strip()[:limit] for name, limit in sales_terms.MAX_LENGTHS.items()},
        return_costs="estate" if values.get("return_costs") == "estate" else "buyer",
        primeur_clause=bool(values.get("primeur_clause")))


@bp.route("/conditions-generales", methods=["GET", "POST"])
def sales_terms_page():  # type: ignore[no-untyped-def]
    estate = g.estate
    current = sales_terms.latest(db.session, estate.id)
    if request.method == "GET":
        form = SalesTermsForm(data=asdict(sales_terms.completions_of(current, estate)))
        return _render(form, current, sales_terms.completions_of(current, estate))
    form = SalesTermsForm()
    if not form.validate():  # the CSRF token only
        return _render(form, current, _lenient(_values(form)), status=400)
    values = _values(form)
    try:
        completions = sales_terms.validate(values)
    except sales_terms.InvalidSalesTerms as exc:
        _show_errors(form, exc.errors)
        return _render(form, current, _lenient(values), status=422)
    if request.form.get("action") != "publish":
        return _render(form, current, completions, previewing=True)
    terms = sales_terms.publish(db.session, estate, completions, user=current_user, now=utcnow())
    before = sales_terms.Completions.from_json(current.fields) if current is not None else None
    audit.record(db.session, estate.id, current_user, "sales_terms.publish", terms,
                 ({"version": current.version} | asdict(before)) if current is not None and before else {},
                 {"version": terms.version} | asdict(completions),
                 f"CGV version {terms.version}", only_changes=False)
    db.session.commit()
    flash(_("Version %(n)s des conditions générales de vente publiée : elle s'applique aux nouvelles commandes.",
            n=terms.version), "success")
    return redirect(url_for("admin.sales_terms_page"))


def _render(form: SalesTermsForm, current, completions: sales_terms.Completions, *,  # type: ignore[no-untyped-def]
            status: int = 200, previewing: bool = False):
    preview = sales_terms.blocks(sales_terms.render_body(g.estate, completions))
    return render_template("admin/sales_terms.html", form=form, current=current, preview=preview,
                           previewing=previewing, versions=sales_terms.versions(db.session, g.estate.id),
                           current_missing=(current is not None
                                            and sales_terms.Completions.from_json(current.fields).mediator_missing)
                           ), status


@bp.get("/conditions-generales/<int:sales_terms_id>.pdf")
def sales_terms_pdf(sales_terms_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: no version of this estate has this id."""
    terms = sales_terms.get(db.session, g.estate.id, sales_terms_id)
    if terms is None:
        abort(404)
    return download(terms.pdf, "application/pdf", sales_terms.filename(terms))
