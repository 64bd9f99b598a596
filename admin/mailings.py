"""Lettres d'information (issue 14): the estate's newsletters to the customers of its
file who consented. Write, preview, test send to yourself, then "Envoyer": the
``mailings`` job sends them through the outbox at a bounded rate (services.mailings).

The whole module is the estate option ``newsletter_enabled`` (admin.access
OPTION_MODULES); managers only (no seller endpoint here).
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from admin import bp
from admin.access import get_or_404
from models import Mailing, db, utcnow
from services import audit, mail, mailings

REFUSALS = {
    "subject_required": _l("Indiquez l'objet de la lettre."),
    "subject_too_long": _l("L'objet compte au plus 200 caractères."),
    "body_required": _l("Écrivez le texte de la lettre."),
    "body_too_long": _l("Le texte de la lettre est trop long."),
    "unknown_promotion": _l("Ce code promo n'existe pas ou n'est plus actif : choisissez-en un dans la liste."),
    "public_promotion": _l("Ce code promo est public (montré à tous les visiteurs) : il ne peut pas être réservé "
                           "aux destinataires d'une lettre. Choisissez un code non public."),
    "not_draft": _l("Cette lettre est déjà envoyée : elle ne peut plus être modifiée ni envoyée à nouveau."),
    "test_required": _l("Envoyez-vous d'abord un test de cette version de la lettre, puis envoyez-la."),
    "no_recipients": _l("Aucun client n'a accepté de recevoir votre lettre d'information : personne à qui l'envoyer."),
}
STATUS_LABELS = {"draft": _l("Brouillon"), "sending": _l("Envoi en cours"), "sent": lazy_pgettext("lettre d'information", "Envoyée")}
audit.ACTION_LABELS.update({"mailing.create": _l("Lettre d'information créée"),
                           "mailing.update": _l("Lettre d'information modifiée"),
                           "mailing.send": _l("Lettre d'information envoyée"),
                           "customer.newsletter": _l("Accord pour la lettre d'information donné ou retiré")})
audit.FIELD_LABELS.setdefault("subject", _l("Objet"))
audit.FIELD_LABELS.setdefault("recipients", _l("Destinataires"))


class MailingForm(FlaskForm):
    """Subject, text and an optional code; services.mailings.save checks the values."""

    subject = StringField(_l("Objet"))
    body = TextAreaField(_l("Texte (gras, italique, listes et liens sont conservés)"))
    promotion_id = SelectField(_l("Code promo réservé aux destinataires (facultatif)"), validate_choice=False)


def _prepare(form: MailingForm) -> None:
    form.promotion_id.choices = [SelectChoice("", _("Aucun code promo"))] + [
        SelectChoice(str(p.id), f"{p.code} — {p.name}") for p in mailings.eligible_promotions(db.session, utcnow())]


def _promotion_id(raw: str | None) -> int | None:
    """"" is no code; anything but a positive id is an unknown promotion (0 matches none)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


@bp.get("/lettres")
def mailings_page():  # type: ignore[no-untyped-def]
    return render_template("admin/mailings.html", mailings=mailings.list_all(db.session),
                           consenting=mailings.consenting_count(db.session), status_labels=STATUS_LABELS)


@bp.route("/lettres/nouvelle", methods=["GET", "POST"])
def mailing_new():  # type: ignore[no-untyped-def]
    return _edit(None)


@bp.route("/lettres/<int:mailing_id>", methods=["GET", "POST"])
def mailing_edit(mailing_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's mailing (or none)."""
    return _edit(get_or_404(Mailing, mailing_id))


def _edit(mailing: Mailing | None):  # type: ignore[no-untyped-def]
    form = MailingForm(formdata=request.form if request.method == "POST" else None)
    _prepare(form)
    if request.method == "GET" and mailing is not None:
        form.subject.data, form.body.data = mailing.subject, mailing.body_html
        form.promotion_id.data = str(mailing.promotion_id or "")
    if request.method == "GET":
        return _page(form, mailing)
    if mailing is not None and mailing.status != "draft":
        return _page(form, mailing, 409, str(REFUSALS["not_draft"]))
    if not form.validate():  # the CSRF token
        return _page(form, mailing, 422)
    before = {"subject": mailing.subject, "promotion_id": mailing.promotion_id} if mailing else {}
    try:
        saved = mailings.save(db.session, g.estate.id, mailing, subject=form.subject.data or "",
                              body_html=form.body.data or "", promotion_id=_promotion_id(form.promotion_id.data),
                              user_id=current_user.id, now=utcnow())
    except mailings.MailingRefused as exc:
        db.session.rollback()
        return _page(form, mailing, 422, str(REFUSALS[exc.code]))
    audit.record(db.session, g.estate.id, current_user, "mailing.update" if mailing else "mailing.create", saved,
                 before, {"subject": saved.subject, "promotion_id": saved.promotion_id}, saved.subject,
                 only_changes=mailing is not None)
    db.session.commit()
    flash(_("Lettre enregistrée. Regardez l'aperçu et envoyez-vous un test avant de l'envoyer."), "success")
    return redirect(url_for("admin.mailing_edit", mailing_id=saved.id))


def _page(form: MailingForm, mailing: Mailing | None, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    preview = None
    if mailing is not None:
        promotion = mailing.promotion
        preview = mailings.render(mailing, g.estate, promotion, current_user.first_name,
                                  mailings.links(current_app.config["PUBLIC_URL"], g.estate,
                                                 current_app.config["SECRET_KEY"], 0))
    counts = dict((m.id, c) for m, c in mailings.list_all(db.session)).get(mailing.id) if mailing else None
    return render_template("admin/mailing.html", form=form, mailing=mailing, preview=preview, error=error,
                           consenting=mailings.consenting_count(db.session), counts=counts,
                           status_labels=STATUS_LABELS), status


@bp.post("/lettres/<int:mailing_id>/test")
def mailing_test(mailing_id: int):  # type: ignore[no-untyped-def]
    """"M'envoyer un test": the current version to the signed-in staff user only."""
    mailing = get_or_404(Mailing, mailing_id)
    if not FlaskForm().validate_on_submit():
        flash(_("Le formulaire a expiré. Rechargez la page et recommencez."), "error")
        return redirect(url_for("admin.mailing_edit", mailing_id=mailing_id))
    try:
        mailings.send_test(db.session, g.estate, mailing, recipient=current_user.email,
                           public_url=current_app.config["PUBLIC_URL"], secret_key=current_app.config["SECRET_KEY"],
                           now=utcnow())
    except mailings.MailingRefused as exc:
        db.session.rollback()
        flash(str(REFUSALS[exc.code]), "error")
        return redirect(url_for("admin.mailing_edit", mailing_id=mailing_id))
    db.session.commit()
    mail.deliver_now()
    flash(_("Test envoyé à %(email)s. Vérifiez-le, puis envoyez la lettre.", email=current_user.email), "success")
    return redirect(url_for("admin.mailing_edit", mailing_id=mailing_id))


@bp.post("/lettres/<int:mailing_id>/envoyer")
def mailing_send(mailing_id: int):  # type: ignore[no-untyped-def]
    """"Envoyer": recipients frozen now, emails queued by the ``mailings`` job."""
    mailing = get_or_404(Mailing, mailing_id)
    if not FlaskForm().validate_on_submit():
        flash(_("Le formulaire a expiré. Rechargez la page et recommencez."), "error")
        return redirect(url_for("admin.mailing_edit", mailing_id=mailing_id))
    try:
        count = mailings.start_sending(db.session, mailing, utcnow())
    except mailings.MailingRefused as exc:
        db.session.rollback()
        flash(str(REFUSALS[exc.code]), "error")
        return redirect(url_for("admin.mailing_edit", mailing_id=mailing_id))
    audit.record(db.session, g.estate.id, current_user, "mailing.send", ("mailing", mailing_id), {},
                 {"recipients": count}, mailing.subject)
    db.session.commit()
    flash(_("Envoi lancé à %(n)s clients : les emails partent au fil des minutes.", n=count), "success")
    return redirect(url_for("admin.mailings_page"))
