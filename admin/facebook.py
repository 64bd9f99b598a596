""""Lier une page Facebook" (seed 000), from "Mes actualités": the page's posts, past
and new, come in as news (services.facebook, job ``facebook-import``), and the screen
explains how to point the page's "Acheter" button to the estate's shop. Managers only
(admin.access lets no seller in).

The page access token is write-only: never shown back, never logged, and the audit
log says "jeton modifié" instead of its value.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from admin import bp
from models import db, utcnow
from services import audit, facebook

#: "Importer maintenant" runs in the request: a first import walks this many pages of
#: posts at most, the job brings the older ones.
PAGES_NOW = 4
TOKEN_CHANGED = "jeton modifié"  #: what the audit log holds instead of a token

audit.ACTION_LABELS.update({"facebook.link": _l("Page Facebook liée"), "facebook.unlink": _l("Page Facebook déliée")})
audit.FIELD_LABELS.setdefault("facebook_page_id", _l("Page Facebook"))
audit.FIELD_LABELS.setdefault("facebook_page_token", _l("Jeton d'accès de la page Facebook"))


class LinkForm(FlaskForm):
    page = StringField(_l("Identifiant ou adresse de la page Facebook"), description=_l(
        "Par exemple 102345678901234, mon.domaine ou https://www.facebook.com/mon.domaine"))
    token = PasswordField(_l("Jeton d'accès de la page"))


def _page(form: LinkForm, status: int = 200):  # type: ignore[no-untyped-def]
    estate = g.estate
    shop_url = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("shop.page", estate_slug=estate.slug)
    return render_template("admin/facebook.html", form=form, estate=estate, shop_url=shop_url,
                           has_news_page="admin.news_page" in current_app.view_functions), status


@bp.route("/actualites/facebook", methods=["GET", "POST"])
def facebook_page():  # type: ignore[no-untyped-def]
    """The link's state; POST "Lier une page Facebook": checked with Facebook, then saved."""
    form = LinkForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():  # the CSRF token
        return _page(form, 422)
    page_ref = facebook.parse_page_ref(form.page.data)
    token = facebook.valid_token(form.token.data)
    if page_ref is None:
        form.page.errors = [_("Indiquez l'identifiant de la page (des chiffres), son nom d'utilisateur "
                              "ou son adresse https://www.facebook.com/…")]
    if token is None:
        form.token.errors = [_("Collez le jeton d'accès de la page tel que Facebook le donne (sans espace).")]
    if page_ref is None or token is None:
        return _page(form, 422)
    estate = g.estate
    before = {"facebook_page_id": estate.facebook_page_id}
    try:
        page = facebook.link_page(db.session, estate, facebook.GraphClient.from_config(current_app.config),
                                  page_ref, token)
    except facebook.FacebookUnavailable as exc:
        db.session.rollback()
        form.token.errors = [_("La page n'est pas liée : %(reason)s", reason=str(exc))]
        return _page(form, 422)
    audit.record(db.session, estate.id, current_user, "facebook.link", estate, before,
                 {"facebook_page_id": page.id, "facebook_page_token": TOKEN_CHANGED}, page.name or page.id,
                 only_changes=False)
    db.session.commit()
    flash(_("La page Facebook « %(name)s » est liée. Ses publications arrivent à la prochaine importation "
            "automatique (toutes les 30 minutes), ou tout de suite avec « Importer maintenant ».",
            name=page.name or page.id), "success")
    return redirect(url_for("admin.facebook_page"))


@bp.post("/actualites/facebook/importer")
def facebook_import():  # type: ignore[no-untyped-def]
    """"Importer maintenant": this estate's page, in the request."""
    estate_id = g.estate.id
    if not g.estate.facebook_page_id:
        flash(_("Liez d'abord une page Facebook."), "error")
        return redirect(url_for("admin.facebook_page"))
    outcome = facebook.import_all(db.session, utcnow(), facebook.GraphClient.from_config(current_app.config),
                                  estate_id=estate_id, max_pages=PAGES_NOW).get(estate_id)
    db.session.commit()  # the news, or the failure's message on the estate
    if isinstance(outcome, facebook.FacebookUnavailable):
        flash(_("L'import n'a pas abouti : %(reason)s", reason=str(outcome)), "error")
    elif outcome is None:
        flash(_("La page Facebook a changé entre-temps : rechargez la page."), "error")
    elif outcome:
        flash(ngettext("%(num)d publication importée comme actualité.",
                       "%(num)d publications importées comme actualités.", outcome), "success")
    else:
        flash(_("Aucune nouvelle publication sur la page Facebook."), "success")
    return redirect(url_for("admin.facebook_page"))


@bp.post("/actualites/facebook/delier")
def facebook_unlink():  # type: ignore[no-untyped-def]
    """"Délier": the page and its token are forgotten; imported news stay."""
    estate = g.estate
    if not estate.facebook_page_id and not estate.facebook_page_token:
        flash(_("Aucune page Facebook n'est liée."), "error")
        return redirect(url_for("admin.facebook_page"))
    before = {"facebook_page_id": estate.facebook_page_id, "facebook_page_token": TOKEN_CHANGED}
    facebook.unlink_page(db.session, estate)
    audit.record(db.session, estate.id, current_user, "facebook.unlink", estate, before,
                 {"facebook_page_id": None, "facebook_page_token": None}, before["facebook_page_id"] or "",
                 only_changes=False)
    db.session.commit()
    flash(_("La page Facebook est déliée. Les actualités déjà importées restent publiées."), "success")
    return redirect(url_for("admin.facebook_page"))
