""""Mes actualités": the estate's news, public or for its customers only (seed 001),
written here or imported from its Facebook page. Managers only (admin.access lets no
seller in). The text's formatting is sanitised on save (services.richtext).
"""

from __future__ import annotations

from datetime import datetime, time

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Optional

from admin import bp
from admin.access import get_or_404
from admin.images import discard, store_uploaded
from models import News, db, utcnow
from services import audit, news
from services.templating import PARIS

MESSAGES = {
    ("title", "required"): _l("Indiquez le titre de l'actualité."),
    ("title", "too_long"): _l("Le titre compte au plus 200 caractères."),
    ("body", "too_long"): _l("Le texte compte au plus 50 000 caractères."),
    ("published_at", "out_of_range"): _l("Indiquez une date de publication entre 2000 et 2100."),
}
audit.ACTION_LABELS.update({"news.create": _l("Actualité publiée"), "news.update": _l("Actualité modifiée"),
                           "news.delete": _l("Actualité supprimée")})
audit.FIELD_LABELS.setdefault("title", _l("Titre"))
audit.FIELD_LABELS.setdefault("customers_only", _l("Clients uniquement"))
audit.FIELD_LABELS.setdefault("published_at", _l("Date de publication"))


class _FrenchDateField(DateField):
    """A date that does not parse says so in French (WTForms' own message is English)."""

    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_("Indiquez une date valide.")) from exc


class _FrenchTimeField(TimeField):
    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_("Indiquez une heure valide (hh:mm).")) from exc


class NewsForm(FlaskForm):
    title = StringField(_l("Titre"))
    body = TextAreaField(_l("Texte"), description=_l(
        "Mise en forme simple : paragraphes (séparés par une ligne vide), gras, italique, listes et liens ;"
        " le reste est retiré à l'enregistrement."))
    image = FileField(_l("Image (JPEG, PNG, WebP ou GIF, 8 Mo au plus ; facultative)"))
    remove_image = BooleanField(_l("Retirer l'image"))
    customers_only = BooleanField(_l("Clients uniquement (visible seulement dans l'espace client de vos clients)"))
    published_on = _FrenchDateField(_l("Date de publication"),
                                    validators=[InputRequired(_l("Indiquez une date valide."))])
    published_time = _FrenchTimeField(_l("Heure (heure de Paris)"), validators=[Optional()])


def _get_or_404(news_id: int) -> News:
    return get_or_404(News, news_id)


def _paris_now() -> datetime:
    return utcnow().astimezone(PARIS)


def _snapshot(item: News) -> dict:
    return {"title": item.title, "customers_only": item.customers_only, "published_at": item.published_at,
            "image": bool(item.image_path)}


@bp.get("/actualites")
def news_page():  # type: ignore[no-untyped-def]
    has_facebook = "admin.facebook_page" in current_app.view_functions
    return render_template("admin/news.html", items=news.of_estate(db.session, g.estate.id), now=utcnow(),
                           has_facebook=has_facebook, facebook_url=news.facebook_url)


@bp.route("/actualites/nouvelle", methods=["GET", "POST"])
def news_new():  # type: ignore[no-untyped-def]
    now = _paris_now()
    form = NewsForm(data={"published_on": now.date(), "published_time": now.time().replace(second=0, microsecond=0)})
    if form.validate_on_submit():
        return _save(form, News(estate_id=g.estate.id, author_user_id=current_user.id), created=True)
    return render_template("admin/news_form.html", form=form, item=None), 422 if form.is_submitted() else 200


@bp.route("/actualites/<int:news_id>", methods=["GET", "POST"])
def news_edit(news_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's item (or none)."""
    item = _get_or_404(news_id)
    local = item.published_at.astimezone(PARIS)
    form = NewsForm(data={"title": item.title, "body": item.body_html, "customers_only": item.customers_only,
                          "published_on": local.date(), "published_time": local.time().replace(microsecond=0)})
    if form.validate_on_submit():
        return _save(form, item, created=False)
    return render_template("admin/news_form.html", form=form, item=item), 422 if form.is_submitted() else 200


def _save(form: NewsForm, item: News, created: bool):  # type: ignore[no-untyped-def]
    def refused():  # type: ignore[no-untyped-def]
        db.session.rollback()
        return render_template("admin/news_form.html", form=form, item=None if created else item), 422

    before = {} if created else _snapshot(item)
    published_at = datetime.combine(form.published_on.data, form.published_time.data or time(0, 0),
                                    tzinfo=PARIS)
    image = store_uploaded(form.image, f"estate-{g.estate.id}/news")
    if form.image.errors:
        return refused()
    try:
        news.save(db.session, item, title=form.title.data, body=form.body.data,
                  customers_only=form.customers_only.data, published_at=published_at)
    except news.InvalidNews as exc:
        discard(image)
        field = form.published_on if exc.field == "published_at" else getattr(form, exc.field)
        field.errors = [*field.errors, str(MESSAGES[(exc.field, exc.code)])]
        return refused()
    old_image = item.image_path if (image or form.remove_image.data) else None
    if image or form.remove_image.data:
        item.image_path = image
    db.session.flush()
    audit.record(db.session, g.estate.id, current_user, "news.create" if created else "news.update", item,
                 before, _snapshot(item), item.title)
    db.session.commit()
    discard(old_image)
    flash(_("L'actualité « %(title)s » est enregistrée.", title=item.title), "success")
    return redirect(url_for("admin.news_page"))


@bp.post("/actualites/<int:news_id>/supprimer")
def news_delete(news_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's item (or none)."""
    item = _get_or_404(news_id)
    title, image = item.title, item.image_path
    audit.record(db.session, g.estate.id, current_user, "news.delete", item, _snapshot(item), {}, title)
    db.session.delete(item)
    db.session.commit()
    discard(image)
    flash(_("L'actualité « %(title)s » est supprimée.", title=title), "success")
    return redirect(url_for("admin.news_page"))
