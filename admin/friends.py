""""Nos amis vignerons" (seed 000): the estate's friends on the platform, shown on its
shop page, and its invitations of winegrowers not yet on the platform (a free month
for the sponsor when one subscribes). Managers only (admin.access lets no seller in).

The "+" and "Retirer" buttons post with htmx and get the lists back (a plain post, a
redirect to the page): the server's lists are the truth.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from htmx_flask import make_response as htmx_response
from jinja2_fragments.flask import render_block
from wtforms import EmailField, StringField, TextAreaField

from admin import bp
from admin.access import get_or_404
from models import Estate, EstateFriend, db
from services import audit, friends, mail

REFUSALS = {
    "itself": _l("Votre domaine ne peut pas être son propre ami : choisissez un autre domaine de la liste."),
    "unknown": _l("Ce domaine n'est pas (ou plus) sur la plateforme : choisissez un domaine de la liste."),
    "duplicate": _l("Ce domaine fait déjà partie de vos amis vignerons."),
}
LEAD_MESSAGES = {
    ("name", "required"): _l("Indiquez le nom du vigneron."),
    ("name", "too_long"): _l("Le nom compte au plus 160 caractères."),
    ("email", "required"): _l("Indiquez l'adresse email du vigneron."),
    ("email", "too_long"): _l("L'adresse email compte au plus 254 caractères."),
    ("email", "invalid"): _l("Adresse email invalide."),
    ("email", "already_invited"): _l("Vous avez déjà invité ce vigneron : nous le contactons."),
    ("estate_name", "required"): _l("Indiquez le nom de son domaine."),
    ("estate_name", "too_long"): _l("Le nom du domaine compte au plus 140 caractères."),
    ("message", "too_long"): _l("Le message compte au plus 2 000 caractères."),
}
audit.ACTION_LABELS.update({"friend.add": _l("Ami vigneron ajouté"),
                           "friend.remove": _l("Ami vigneron retiré"),
                           "friend.invite": _l("Vigneron invité (parrainage)")})
audit.FIELD_LABELS.setdefault("estate_name", _l("Domaine"))


class InviteForm(FlaskForm):
    """"Inviter un vigneron qui n'est pas sur Chai"; services.friends.invite checks it."""

    name = StringField(_l("Nom du vigneron"))
    email = EmailField(_l("Adresse email"))
    estate_name = StringField(_l("Nom de son domaine"))
    message = TextAreaField(_l("Message (facultatif)"))


def _context(**extra: object) -> dict:
    return dict(friends=friends.friends_of(db.session), candidates=friends.candidates(db.session, g.estate.id),
                leads=friends.leads_of(db.session), lead_labels=friends.LEAD_STATUS_LABELS, **extra)


def _page(form: InviteForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("admin/friends.html", form=form, **_context()), status


def _answer(error: str | None, done: str):  # type: ignore[no-untyped-def]
    """htmx: the lists, with the message; otherwise a flash and the page."""
    if request.htmx:
        html = render_block("admin/friends.html", "friends_lists", error=error, done=None if error else done,
                            **_context())
        return htmx_response(html, 422 if error else 200)
    flash(error or done, "error" if error else "success")
    return redirect(url_for("admin.friends_page"))


@bp.get("/amis")
def friends_page():  # type: ignore[no-untyped-def]
    return _page(InviteForm(formdata=None))


@bp.post("/amis/ajouter")
def friend_add():  # type: ignore[no-untyped-def]
    """"+" (form field ``estate_id``): another published estate of the platform."""
    try:
        friend = friends.add_friend(db.session, g.estate, friends.parse_estate_id(request.form.get("estate_id")))
    except friends.FriendRefused as exc:
        db.session.rollback()
        return _answer(str(REFUSALS.get(exc.code, REFUSALS["unknown"])), "")
    name = db.session.get(Estate, friend.friend_estate_id).name
    audit.record(db.session, g.estate.id, current_user, "friend.add", friend, {}, {"name": name}, name)
    db.session.commit()
    return _answer(None, _("%(name)s fait partie de vos amis vignerons.", name=name))


@bp.post("/amis/<int:friend_id>/retirer")
def friend_remove(friend_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's friend row (or none)."""
    friend = get_or_404(EstateFriend, friend_id)
    name = db.session.get(Estate, friend.friend_estate_id).name
    friends.remove_friend(db.session, friend)
    audit.record(db.session, g.estate.id, current_user, "friend.remove", ("estate_friend", friend_id),
                 {"name": name}, {}, name)
    db.session.commit()
    return _answer(None, _("%(name)s ne fait plus partie de vos amis vignerons.", name=name))


@bp.post("/amis/inviter")
def friend_invite():  # type: ignore[no-untyped-def]
    """"Inviter un vigneron qui n'est pas sur Chai": a lead for the operator, emailed."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        lead = friends.invite(db.session, g.estate, current_user._get_current_object(), name=form.name.data,
                              email=form.email.data, estate_name=form.estate_name.data, message=form.message.data,
                              operator_email=(current_app.config.get("OPERATOR") or {}).get("email"))
    except friends.InvalidLead as exc:
        db.session.rollback()
        field = getattr(form, exc.field)
        field.errors = [*field.errors, str(LEAD_MESSAGES.get((exc.field, exc.code), _("Valeur invalide.")))]
        return _page(form, 422)
    audit.record(db.session, g.estate.id, current_user, "friend.invite", lead, {}, {"estate_name": lead.estate_name},
                 lead.estate_name)
    db.session.commit()
    mail.deliver_now()
    flash(_("Merci : nous contactons ce vigneron. Vous recevrez un mois offert quand il s'abonnera."), "success")
    return redirect(url_for("admin.friends_page"))
