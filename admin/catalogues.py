"""Catalogues for producer groups and the "Ventes" tab (issue 11, seed 002, the estate's side).

* "Catalogues": a selection of visible wines at one price list; its summary shows the
  URL the estate emails to a group's administrator (case 1) and, for staff who
  administer groups themselves, "Relier ce catalogue à un de mes groupes" (case 2).
* "Ventes": the coming distributions of the groups the estate is linked to, each with a
  self-replacing "Participe" button (htmx), and per group the distributions of a date
  range with "Participer à toutes les distributions".
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from htmx_flask import make_response as htmx_response
from jinja2_fragments.flask import render_block
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice

from admin import bp
from models import Catalogue, ProducerGroup, db, utcnow
from services import catalogue as wine_catalogue
from services import catalogues, producer_groups
from services.fairs import paris_date

MESSAGES = {
    ("name", "required"): _l("Indiquez le nom du catalogue."),
    ("name", "too_long"): _l("Le nom du catalogue compte au plus 120 caractères."),
    ("name", "taken"): _l("Un de vos catalogues porte déjà ce nom."),
    ("price_list_id", "unknown"): _l("Choisissez un de vos tarifs."),
    ("wine_ids", "empty"): _l("Cochez au moins un vin."),
    ("wine_ids", "unknown"): _l("Un des vins cochés n'est pas un vin de votre domaine : rechargez la page et recommencez."),
    ("wine_ids", "hidden"): _l("Un des vins cochés n'est pas affiché sur votre boutique : affichez-le ou décochez-le."),
    ("wine_ids", "not_priced"): _l("Un des vins cochés n'a pas de prix sur ce tarif : indiquez son prix dans ce "
                                   "tarif ou décochez-le."),
}
RANGE_MESSAGES = {
    "unparsable": _l("Date invalide : choisissez les dates « Du » et « Au » dans le calendrier (jj/mm/aaaa)."),
    "before_start": _l("La date « Au » doit suivre la date « Du »."),
    "too_long": _l("Choisissez une période d'un an au plus."),
}


class CatalogueForm(FlaskForm):
    name = StringField(_l("Nom du catalogue"))
    price_list_id = SelectField(_l("Tarif"), coerce=str, validate_choice=False)
    wine_ids = SelectMultipleField(_l("Vins"), coerce=str, validate_choice=False)


def _load(catalogue_id: int) -> Catalogue:
    """:raise 404: another estate's catalogue."""
    found = catalogues.get_catalogue(db.session, g.estate, catalogue_id)
    if found is None:
        abort(404)
    return found


def _id(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


# ------------------------------------------------------------------ catalogues


@bp.get("/catalogues")
def catalogues_page():  # type: ignore[no-untyped-def]
    return render_template("admin/catalogues.html", catalogues=catalogues.list_catalogues(db.session, g.estate))


@bp.route("/catalogues/nouveau", methods=["GET", "POST"])
def catalogue_new():  # type: ignore[no-untyped-def]
    return _form(None)


@bp.route("/catalogues/<int:catalogue_id>/modifier", methods=["GET", "POST"])
def catalogue_edit(catalogue_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's catalogue."""
    return _form(_load(catalogue_id))


def _form(catalogue: Catalogue | None):  # type: ignore[no-untyped-def]
    """The form; a GET with ``price_list_id`` (the select changed, htmx) shows that
    list's wines, checked as sent."""
    form = CatalogueForm(obj=catalogue)
    lists = wine_catalogue.list_price_lists(db.session)
    form.price_list_id.choices = [SelectChoice(str(pl.id), pl.name) for pl in lists]
    if not form.is_submitted():
        form.price_list_id.data = request.args.get("price_list_id") or str(
            catalogue.price_list_id if catalogue else (lists[0].id if lists else ""))
        form.wine_ids.data = request.args.getlist("wine_ids") if "price_list_id" in request.args else \
            [str(wine.id) for wine in (catalogue.wines if catalogue else [])]
        if request.htmx and "price_list_id" in request.args:
            return render_block("admin/catalogue_form.html", "wine_choices", **_form_context(form, catalogue))
    elif form.validate():
        data = catalogues.CatalogueData(form.name.data or "", _id(form.price_list_id.data),
                                        [_id(v) or -1 for v in form.wine_ids.data or []])  # -1: no such wine
        own_id = catalogue.id if catalogue is not None else None
        try:
            if catalogue is None:
                catalogue = catalogues.create_catalogue(db.session, g.estate, data, utcnow())
            else:
                catalogues.update_catalogue(db.session, catalogue, data)
        except catalogues.InvalidCatalogue as exc:
            db.session.rollback()
            catalogue = _load(own_id) if own_id is not None else None
            getattr(form, exc.field).errors = [*getattr(form, exc.field).errors, str(MESSAGES[exc.field, exc.code])]
        else:
            catalogue_id, name = catalogue.id, catalogue.name
            db.session.commit()
            flash(_("Le catalogue « %(name)s » est enregistré.", name=name), "success")
            return redirect(url_for("admin.catalogue_page", catalogue_id=catalogue_id))
    return (render_template("admin/catalogue_form.html", **_form_context(form, catalogue)),
            422 if form.is_submitted() else 200)


def _form_context(form: CatalogueForm, catalogue: Catalogue | None) -> dict:
    price_list_id = _id(form.price_list_id.data)
    return {"form": form, "catalogue": catalogue, "selected": set(form.wine_ids.data or []),
            "offerable": catalogues.offerable_wines(db.session, g.estate, price_list_id),
            "price_list": next((pl for pl in wine_catalogue.list_price_lists(db.session) if pl.id == price_list_id),
                               None)}


@bp.get("/catalogues/<int:catalogue_id>")
def catalogue_page(catalogue_id: int):  # type: ignore[no-untyped-def]
    """The catalogue's summary: its wines and prices, its URL, the groups it is linked to."""
    catalogue = _load(catalogue_id)
    return render_template("admin/catalogue.html", catalogue=catalogue,
                           lines=catalogues.catalogue_lines(db.session, catalogue),
                           url=catalogues.catalogue_url(current_app.config["PUBLIC_URL"], catalogue.token),
                           groups=catalogues.linked_groups(db.session, catalogue),
                           my_groups=producer_groups.administered_groups(db.session, current_user))


@bp.post("/catalogues/<int:catalogue_id>/relier")
def catalogue_link(catalogue_id: int):  # type: ignore[no-untyped-def]
    """"Relier ce catalogue à un de mes groupes": only a group the user administers."""
    catalogue = _load(catalogue_id)
    group_id = _id(request.form.get("group_id"))
    group = db.session.get(ProducerGroup, group_id) if group_id is not None else None
    try:
        if group is None:
            raise producer_groups.NotAllowed("no such group")
        producer_groups.link_catalogue(db.session, group, catalogue, current_user, utcnow())
    except producer_groups.NotAllowed:
        db.session.rollback()
        flash(_("Vous n'administrez pas ce groupe : le catalogue n'y a pas été relié."), "error")
    else:
        name = group.name
        db.session.commit()
        flash(_("Catalogue relié au groupe « %(name)s ».", name=name), "success")
    return redirect(url_for("admin.catalogue_page", catalogue_id=catalogue_id))


# ------------------------------------------------------------------ "Ventes"


@bp.get("/ventes")
def sales_page():  # type: ignore[no-untyped-def]
    return render_template("admin/sales.html", sales=catalogues.sales(db.session, g.estate.id, utcnow()))


def _distribution(distribution_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: no such distribution, or the estate is not linked to its group."""
    distribution = catalogues.linked_distribution(db.session, g.estate.id, distribution_id)
    if distribution is None:
        abort(404)
    return distribution


@bp.post("/ventes/<int:distribution_id>/participer")
def sale_participate(distribution_id: int):  # type: ignore[no-untyped-def]
    """"Participe"; an htmx post gets the widget back, a plain post a redirect."""
    distribution, error = _distribution(distribution_id), None
    try:
        producer_groups.participate(db.session, distribution, g.estate.id, utcnow())
    except producer_groups.NotAllowed:
        db.session.rollback()
        error = _("Les commandes sont closes.")
    else:
        db.session.commit()
    return _participation(distribution_id, error, _("Vous participez à cette distribution."))


@bp.post("/ventes/<int:distribution_id>/retirer")
def sale_withdraw(distribution_id: int):  # type: ignore[no-untyped-def]
    """"Ne plus participer": while orders are open and none was placed with the estate."""
    distribution, error = _distribution(distribution_id), None
    try:
        producer_groups.withdraw(db.session, distribution, g.estate.id)
    except producer_groups.NotAllowed:
        closed = distribution.status != producer_groups.OPEN
        db.session.rollback()
        error = _("Les commandes sont closes.") if closed else \
            _("Des commandes ont déjà été passées : vous ne pouvez plus vous retirer.")
    else:
        db.session.commit()
    return _participation(distribution_id, error, _("Vous ne participez plus à cette distribution."))


def _participation(distribution_id: int, error: str | None, done: str):  # type: ignore[no-untyped-def]
    if request.htmx:
        row = catalogues.sale_row(db.session, g.estate.id, _distribution(distribution_id), utcnow())
        html = render_block("admin/sales.html", "participation", row=row, error=error)
        return htmx_response(html, 422 if error else 200, trigger=None if error else "participation-changed")
    flash(error or done, "error" if error else "success")
    back = request.form.get("back", "")
    return redirect(back if back.startswith(f"/gestion/{g.estate.slug}/ventes") else url_for("admin.sales_page"))


def _group(group_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: the estate's catalogue is not linked to this group."""
    found = catalogues.group_link(db.session, g.estate.id, group_id)
    if found is None:
        abort(404)
    return found


@bp.get("/ventes/groupes/<int:group_id>")
def sales_group_page(group_id: int):  # type: ignore[no-untyped-def]
    """A linked group's distributions from "Du" to "Au" (Paris days, default 8 weeks)."""
    return _range_page(_group(group_id), request.args.get("du"), request.args.get("au"))


@bp.post("/ventes/groupes/<int:group_id>/participer")
def sales_group_join(group_id: int):  # type: ignore[no-untyped-def]
    """"Participer à toutes les distributions": those the page showed (``shown``) for its range, only."""
    link, group = _group(group_id)
    try:
        start, end = catalogues.parse_range(request.form.get("du"), request.form.get("au"), paris_date(utcnow()))
    except catalogues.InvalidRange as exc:
        return _range_page((link, group), request.form.get("du"), request.form.get("au"), exc)
    lower, upper = catalogues.paris_bounds(start, end)
    shown = [i for i in (_id(v) for v in request.form.getlist("shown")) if i is not None]
    try:
        joined = producer_groups.participate_in_range(db.session, group.id, g.estate.id, lower, upper, shown, utcnow())
    except producer_groups.NotAllowed:  # unlinked meanwhile
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(_("%(count)s distribution(s) rejointe(s).", count=len(joined)), "success")
    return redirect(url_for("admin.sales_group_page", group_id=group_id, du=start.isoformat(), au=end.isoformat()))


def _range_page(found, start_text: str | None, end_text: str | None,  # type: ignore[no-untyped-def]
                error: catalogues.InvalidRange | None = None):
    link, group = found
    today = paris_date(utcnow())
    if error is None:
        try:
            start, end = catalogues.parse_range(start_text, end_text, today)
        except catalogues.InvalidRange as exc:
            error = exc
    if error is not None:
        return render_template("admin/sales_group.html", group=group, link=link, rows=[], start=start_text or "",
                               end=end_text or "", error=str(RANGE_MESSAGES[error.code])), 422
    rows = catalogues.group_sales_in_range(db.session, g.estate.id, group.id, start, end, utcnow())
    next_start = end + timedelta(days=1)
    return render_template("admin/sales_group.html", group=group, link=link, rows=rows, start=start.isoformat(),
                           end=end.isoformat(), error=None, next_start=next_start.isoformat(),
                           next_end=(next_start + (end - start)).isoformat())
