"""Producer groups (issue 11, seed 002), every URL under ``/groupes/``.

* ``groups.py`` (this module): the group's own pages — "Mes groupes", creating a group,
  its settings and link, "Membres" and invitations, joining, the "Catalogues" tab (link,
  unlink), a catalogue's page (the URL an estate sends), the "Distributions" tab.
* ``group_shop.py``: the group shop of one distribution (one basket across estates),
  its checkout and single payment, the distribution sheet and collection ticking.

Access is decided by services.producer_groups (:func:`load_group`): anyone who may not
see a group gets 404, so its existence is not even confirmed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from sqlalchemy.exc import IntegrityError

from models import Distribution, Estate, ProducerGroup, User, db, utcnow
from services import accounts, mail, producer_groups
from services.group_shop import checkouts_of
from services.producer_groups import InvalidGroup, NotAllowed
from services.ratelimit import limiter
from services.templating import PARIS
from shop.forms import DistributionForm, GroupForm, InvitationRegisterForm, InviteForm, LinkCatalogueForm
from shop.site import require_age_confirmation

groups_bp = Blueprint("groups", __name__, url_prefix="/groupes")
groups_bp.before_request(require_age_confirmation)  # the group shop sells wine


def load_group(group_id: int, *, admin: bool = False) -> ProducerGroup:
    """The group, for a user who may see it (a member, or staff of a linked estate);
    ``admin``: only for its administrators.

    :raise 404: no such group, or the user may not see it.
    """
    group = db.session.get(ProducerGroup, group_id)
    user = current_user if current_user.is_authenticated else None
    if group is None or user is None:
        abort(404)
    if admin:
        if not producer_groups.is_admin(db.session, group.id, user):
            abort(404)
    elif not producer_groups.can_see(db.session, group.id, user):
        abort(404)
    return group


def load_distribution(group: ProducerGroup, distribution_id: int) -> Distribution:
    """:raise 404: not a distribution of this group."""
    distribution = db.session.get(Distribution, distribution_id)
    if distribution is None or distribution.group_id != group.id:
        abort(404)
    return distribution


# ------------------------------------------------------------------ shared helpers

INVITE_PER_IP = "30 per hour"  #: each post may email 200 people: no mail-bombing from one connection
INVITE_MESSAGE = _l("Trop d'invitations envoyées depuis cette connexion. Réessayez dans une heure.")
TOO_LONG = _l("Ce texte est trop long.")
GROUP_MESSAGES = {"required": _l("Indiquez le nom du groupe."), "too_long": TOO_LONG}
DISTRIBUTION_MESSAGES = {
    "before_start": _l("La distribution doit finir après son heure de début."),
    "after_start": _l("Les commandes doivent se terminer au plus tard au début de la distribution."),
    "past": _l("La fin des commandes doit être dans le futur."),
    "required": _l("Indiquez le lieu de la distribution (ou un lieu habituel dans les paramètres du groupe)."),
    "too_long": TOO_LONG,
}
#: InvalidGroup.field of create_distribution → the form field that shows it
DISTRIBUTION_FIELDS = {"place": "place", "starts_at": "starts_time", "ends_at": "ends_time",
                       "orders_close_at": "closes_time"}
MEMBER_MESSAGES = {"last_admin": _l("Le groupe doit garder au moins un administrateur."),
                   "unknown": _l("Ce membre ne fait pas partie du groupe.")}
EMAILS_MESSAGES = {"required": _l("Indiquez au moins une adresse email."),
                   "too_many": _l("Au plus %(n)s adresses à la fois.", n=producer_groups.MAX_INVITATIONS)}
CATALOGUE_PATH = re.compile(r"/groupes/catalogues/([A-Za-z0-9_-]{1,64})/?(?:relier/?)?$")
BARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _user() -> User | None:
    return current_user._get_current_object() if current_user.is_authenticated else None  # type: ignore[attr-defined]


def _form_id(name: str) -> int | None:
    """A row id posted in a form (``member_id``, ``link_id``, ``group_id``), or None."""
    raw = (request.form.get(name) or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _add_error(form, name: str, message: object) -> None:  # type: ignore[no-untyped-def]
    form[name].errors = [*form[name].errors, str(message)]


def _public_url(endpoint: str, **values: object) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


def _group_data(form: GroupForm) -> producer_groups.GroupData:
    return producer_groups.GroupData(name=form.name.data or "", description=form.description.data or "",
                                     place=form.place.data or "", is_public=bool(form.is_public.data))


def _paris(day: date, at: time) -> datetime:
    """A date and time typed in Paris time, as aware UTC."""
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(timezone.utc)


@groups_bp.context_processor
def _group_helpers() -> dict:
    """For templates/groups/layout.html and the pages extending it: whether the user
    administers the group (asked once per request), and Paris dates."""

    def group_is_admin(group: ProducerGroup) -> bool:
        cache = g.setdefault("group_admin", {})
        if group.id not in cache:
            cache[group.id] = producer_groups.is_admin(db.session, group.id, _user())
        return cache[group.id]

    def paris(value: datetime) -> datetime:
        return value.astimezone(PARIS)

    def long_date(value: datetime) -> str:
        return format_date(value.astimezone(PARIS), "full")

    return {"group_is_admin": group_is_admin, "paris": paris, "long_date": long_date}


# ------------------------------------------------------------------ "Mes groupes", a new group


@groups_bp.get("/")
@login_required
def my_groups():  # type: ignore[no-untyped-def]
    return render_template("groups/index.html", groups=producer_groups.groups_of(db.session, _user()))


@groups_bp.route("/nouveau", methods=["GET", "POST"])
@login_required
def group_new():  # type: ignore[no-untyped-def]
    """Its creator becomes its administrator."""
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = producer_groups.create_group(db.session, _group_data(form), _user(), utcnow())
        except InvalidGroup as exc:
            db.session.rollback()
            _add_error(form, exc.field, GROUP_MESSAGES.get(exc.code, TOO_LONG))
        else:
            db.session.commit()
            flash(_("Le groupe « %(name)s » est créé : vous en êtes l'administrateur.", name=group.name), "success")
            return redirect(url_for("groups.group_page", group_id=group.id))
    return render_template("groups/new.html", form=form), 422 if form.is_submitted() else 200


# ------------------------------------------------------------------ "Distributions"


def _distributions_page(group: ProducerGroup, form: DistributionForm | None):  # type: ignore[no-untyped-def]
    now = utcnow()
    coming = producer_groups.distributions(db.session, group.id, coming_only=True, now=now)
    ids = [d.id for d in coming]
    return render_template("groups/distributions.html", group=group, distributions=coming, form=form, now=now,
                           estates=producer_groups.participating_estate_names(db.session, ids),
                           mine=checkouts_of(db.session, current_user.id, ids), OPEN=producer_groups.OPEN)


@groups_bp.get("/<int:group_id>")
@login_required
def group_page(group_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: the user may not see the group."""
    group = load_group(group_id)
    admin = producer_groups.is_admin(db.session, group.id, _user())
    return _distributions_page(group, DistributionForm(place=group.place) if admin else None)


@groups_bp.post("/<int:group_id>/distributions")
@login_required
def distribution_new(group_id: int):  # type: ignore[no-untyped-def]
    """"Nouvelle distribution", times typed in Paris time. :raise 404: not an administrator."""
    group = load_group(group_id, admin=True)
    form = DistributionForm()
    if form.validate_on_submit():
        data = producer_groups.DistributionData(
            starts_at=_paris(form.day.data, form.starts_time.data), ends_at=_paris(form.day.data, form.ends_time.data),
            place=form.place.data or "", orders_close_at=_paris(form.closes_on.data, form.closes_time.data))
        try:
            producer_groups.create_distribution(db.session, group, data, _user(), utcnow())
        except InvalidGroup as exc:
            db.session.rollback()
            _add_error(form, DISTRIBUTION_FIELDS.get(exc.field, "day"), DISTRIBUTION_MESSAGES.get(exc.code, TOO_LONG))
        except NotAllowed:
            abort(404)
        else:
            db.session.commit()
            flash(_("La distribution du %(day)s est créée.", day=format_date(form.day.data, "full")), "success")
            return redirect(url_for("groups.group_page", group_id=group.id))
    return _distributions_page(group, form), 422


# ------------------------------------------------------------------ "Catalogues"


def _catalogues_page(group: ProducerGroup, form: LinkCatalogueForm | None):  # type: ignore[no-untyped-def]
    links = producer_groups.linked_catalogues(db.session, group.id)
    counts = producer_groups.catalogue_wine_counts(db.session, [link.catalogue_id for link, _estate in links])
    return render_template("groups/catalogues.html", group=group, links=links, counts=counts, form=form)


@groups_bp.get("/<int:group_id>/catalogues")
@login_required
def catalogues(group_id: int):  # type: ignore[no-untyped-def]
    group = load_group(group_id)
    admin = producer_groups.is_admin(db.session, group.id, _user())
    return _catalogues_page(group, LinkCatalogueForm() if admin else None)


def catalogue_token(address: str) -> str | None:
    """The token in what an administrator pasted: the catalogue's full URL, its path,
    or the token alone."""
    address = address.strip()
    match = CATALOGUE_PATH.search(urlsplit(address).path if "/" in address else "")
    if match:
        return match.group(1)
    return address if BARE_TOKEN.fullmatch(address) else None


@groups_bp.post("/<int:group_id>/catalogues")
@login_required
def catalogue_link(group_id: int):  # type: ignore[no-untyped-def]
    """"Relier un catalogue" from its address. :raise 404: not an administrator."""
    group = load_group(group_id, admin=True)
    form = LinkCatalogueForm()
    if form.validate_on_submit():
        token = catalogue_token(form.address.data)
        catalogue = _offered(producer_groups.catalogue_by_token(db.session, token) if token else None)
        if catalogue is None:
            _add_error(form, "address", _l("Aucun catalogue ne correspond à cette adresse : vérifiez le lien "
                                           "envoyé par le domaine."))
        else:
            producer_groups.link_catalogue(db.session, group, catalogue, _user(), utcnow())
            db.session.commit()
            flash(_("Le catalogue « %(name)s » de %(estate)s est relié au groupe.", name=catalogue.name,
                    estate=db.session.get(Estate, catalogue.estate_id).name), "success")
            return redirect(url_for("groups.catalogues", group_id=group.id))
    return _catalogues_page(group, form), 422


@groups_bp.post("/<int:group_id>/catalogues/delier")
@login_required
def catalogue_unlink(group_id: int):  # type: ignore[no-untyped-def]
    """"Délier" (``link_id`` posted). :raise 404: not an administrator."""
    group = load_group(group_id, admin=True)
    link_id = _form_id("link_id")
    try:
        if link_id is None:
            raise NotAllowed("no such link")
        producer_groups.unlink_catalogue(db.session, group, link_id, _user())
    except NotAllowed:
        db.session.rollback()
        flash(_("Ce catalogue n'est pas relié au groupe."), "error")
    else:
        db.session.commit()
        flash(_("Le catalogue est délié du groupe."), "success")
    return redirect(url_for("groups.catalogues", group_id=group.id))


# ------------------------------------------------------------------ a catalogue's page (the URL an estate sends)


def _offered(catalogue):  # type: ignore[no-untyped-def]
    """The catalogue, or None when the platform operator switched its estate's producer
    groups off (Estate.groups_enabled, issue 13): its link leads nowhere meanwhile."""
    if catalogue is None or not db.session.get(Estate, catalogue.estate_id).groups_enabled:
        return None
    return catalogue


def _catalogue_or_404(token: str):  # type: ignore[no-untyped-def]
    """:raise 404: no catalogue has this token, or its estate's groups are switched off."""
    catalogue = _offered(producer_groups.catalogue_by_token(db.session, token))
    if catalogue is None:
        abort(404)
    return catalogue


@groups_bp.get("/catalogues/<token>")
def catalogue_page(token: str):  # type: ignore[no-untyped-def]
    """Open to anyone with the link. :raise 404: no catalogue has this token."""
    catalogue = _catalogue_or_404(token)
    user = _user()
    return render_template("groups/catalogue.html", catalogue=catalogue,
                           estate=db.session.get(Estate, catalogue.estate_id),
                           lines=producer_groups.catalogue_lines(db.session, catalogue),
                           my_groups=producer_groups.administered_groups(db.session, user) if user else [])


@groups_bp.post("/catalogues/<token>/relier")
@login_required
def catalogue_link_to_group(token: str):  # type: ignore[no-untyped-def]
    """"Relier ce catalogue à un de mes groupes" (``group_id`` posted): only a group the
    user administers. :raise 404: no catalogue has this token."""
    catalogue = _catalogue_or_404(token)
    group_id = _form_id("group_id")
    group = db.session.get(ProducerGroup, group_id) if group_id is not None else None
    try:
        if group is None:
            raise NotAllowed("no such group")
        producer_groups.link_catalogue(db.session, group, catalogue, _user(), utcnow())
    except NotAllowed:
        db.session.rollback()
        flash(_("Vous n'administrez pas ce groupe : le catalogue n'a pas été relié."), "error")
        return redirect(url_for("groups.catalogue_page", token=token))
    db.session.commit()
    flash(_("Catalogue relié au groupe « %(name)s ».", name=group.name), "success")
    return redirect(url_for("groups.catalogues", group_id=group.id))


# ------------------------------------------------------------------ "Membres" and invitations


def _members_page(group: ProducerGroup, form: InviteForm, report: producer_groups.Invitations | None = None):  # type: ignore[no-untyped-def]
    return render_template("groups/members.html", group=group, form=form, report=report,
                           rows=producer_groups.member_rows(db.session, group.id), me=_user())


@groups_bp.get("/<int:group_id>/membres")
@login_required
def members(group_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: not an administrator."""
    return _members_page(load_group(group_id, admin=True), InviteForm())


@groups_bp.post("/<int:group_id>/membres/inviter")
@limiter.limit(INVITE_PER_IP, message=INVITE_MESSAGE)
@login_required
def members_invite(group_id: int):  # type: ignore[no-untyped-def]
    """"Inviter des membres": each valid address gets an email with its own link; the
    malformed ones are shown back (and left in the box to correct). :raise 404: not an administrator."""
    group = load_group(group_id, admin=True)
    form = InviteForm()
    if not form.validate_on_submit():
        return _members_page(group, form), 422
    try:
        emails = producer_groups.parse_emails(form.emails.data)
    except InvalidGroup as exc:
        _add_error(form, "emails", EMAILS_MESSAGES[exc.code])
        return _members_page(group, form), 422
    report = producer_groups.invite_many(
        db.session, group, emails, _user(), utcnow(),
        link_for=lambda token: _public_url("groups.invitation", token=token),
        subject=_("Invitation au groupe %(name)s", name=group.name))
    db.session.commit()
    mail.deliver_now()
    form.emails.data = "\n".join(report.invalid)
    return _members_page(group, form, report), 422 if report.invalid else 200


def _member_action(group_id: int, action) -> object:  # type: ignore[no-untyped-def]
    group = load_group(group_id, admin=True)
    member_id = _form_id("member_id")
    try:
        action(group, member_id if member_id is not None else 0)
    except InvalidGroup as exc:
        db.session.rollback()
        flash(str(MEMBER_MESSAGES.get(exc.code, MEMBER_MESSAGES["unknown"])), "error")
        return redirect(url_for("groups.members", group_id=group.id))
    db.session.commit()
    if not producer_groups.is_admin(db.session, group.id, _user()):  # the administrator stepped down or left
        return redirect(url_for("groups.my_groups"))
    return redirect(url_for("groups.members", group_id=group.id))


@groups_bp.post("/<int:group_id>/membres/retirer")
@login_required
def member_remove(group_id: int):  # type: ignore[no-untyped-def]
    """"Retirer" (``member_id`` posted). :raise 404: not an administrator."""
    def remove(group: ProducerGroup, member_id: int) -> None:
        producer_groups.remove_member(db.session, group, member_id)
        flash(_("Le membre est retiré du groupe."), "success")
    return _member_action(group_id, remove)


@groups_bp.post("/<int:group_id>/membres/droits")
@login_required
def member_admin(group_id: int):  # type: ignore[no-untyped-def]
    """"Nommer administrateur" (``admin=1``) or "Retirer les droits d'administrateur"
    (``admin=0``), ``member_id`` posted. :raise 404: not an administrator."""
    admin = request.form.get("admin") == "1"

    def set_admin(group: ProducerGroup, member_id: int) -> None:
        producer_groups.set_admin(db.session, group, member_id, admin)
        flash(_("Le membre est maintenant administrateur du groupe.") if admin
              else _("Le membre n'est plus administrateur du groupe."), "success")
    return _member_action(group_id, set_admin)


@groups_bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):  # type: ignore[no-untyped-def]
    """The emailed link. Signed in with the invited address: "Rejoindre le groupe"; with
    another one: log out first. Not signed in: log in if the address has an account,
    else set a password here (the account gets the invited address) and join.

    :raise 404: unknown or used link ("Cette invitation n'est plus valable.").
    """
    found = producer_groups.find_invitation(db.session, token)
    if found is None:
        return render_template("groups/invitation.html", state="invalid"), 404
    page = {"group": db.session.get(ProducerGroup, found.group_id), "invitation": found, "token": token}
    user = _user()
    if user is not None and user.email != found.email:
        return render_template("groups/invitation.html", state="other", **page), 403 if request.method == "POST" else 200
    if user is not None:
        if request.method != "POST":
            return render_template("groups/invitation.html", state="join", **page)
        return _accept(found, page["group"], user, form=None)
    if accounts.find_user_by_email(db.session, found.email) is not None:
        login_url = url_for("account.login", next=url_for("groups.invitation", token=token))
        if request.method == "POST":
            return redirect(login_url)
        return render_template("groups/invitation.html", state="login", login_url=login_url, **page)
    form = InvitationRegisterForm()
    form.personal = [found.email]  # the password may not repeat the address
    if not form.validate_on_submit():
        return render_template("groups/invitation.html", state="register", form=form, **page), \
            422 if form.is_submitted() else 200
    return _accept(found, page["group"], None, form)


def _accept(found, group: ProducerGroup, user: User | None, form: InvitationRegisterForm | None):  # type: ignore[no-untyped-def]
    """Join with the invitation; a new person's account is made first, then signed in."""
    try:
        if user is None:
            user = accounts.register_user(db.session, email=found.email, password=form.password.data,
                                          first_name=form.first_name.data, last_name=form.last_name.data)
        producer_groups.accept_invitation(db.session, found, user, utcnow())
    except (NotAllowed, accounts.EmailTaken, IntegrityError):  # used meanwhile, or the account made meanwhile
        db.session.rollback()
        return render_template("groups/invitation.html", state="invalid"), 404
    db.session.commit()
    if form is not None:
        login_user(user)
        flash(_("Votre compte est créé."), "success")
    flash(_("Bienvenue dans le groupe « %(name)s » !", name=group.name), "success")
    return redirect(url_for("groups.group_page", group_id=group.id))


# ------------------------------------------------------------------ the group's link, "Paramètres"


@groups_bp.route("/rejoindre/<token>", methods=["GET", "POST"])
def join(token: str):  # type: ignore[no-untyped-def]
    """The group's link. Public group: anyone signed in joins (the POST; a visitor is
    sent to log in first). Invitation-only group: 403 for whoever is not a member.

    :raise 404: no group has this link.
    """
    group = producer_groups.group_by_join_token(db.session, token)
    if group is None:
        abort(404)
    user = _user()
    member = producer_groups.membership(db.session, group.id, user)
    if member is None and not group.is_public:
        return render_template("groups/join.html", group=group, state="refused"), 403
    here = url_for("groups.join", token=token)
    if request.method == "POST":
        if user is None:
            return redirect(url_for("account.login", next=here))
        if member is None:
            producer_groups.join(db.session, group, user, utcnow())  # public: never NotAllowed
            db.session.commit()
            flash(_("Bienvenue dans le groupe « %(name)s » !", name=group.name), "success")
        return redirect(url_for("groups.group_page", group_id=group.id))
    return render_template("groups/join.html", group=group, state="member" if member else "join", token=token,
                           login_url=url_for("account.login", next=here),
                           register_url=url_for("account.register", next=here))


@groups_bp.route("/<int:group_id>/parametres", methods=["GET", "POST"])
@login_required
def settings(group_id: int):  # type: ignore[no-untyped-def]
    """Name, description, place, public or not; the group's link. :raise 404: not an administrator."""
    group = load_group(group_id, admin=True)
    form = GroupForm(obj=group)
    if form.validate_on_submit():
        try:
            producer_groups.update_group(db.session, group, _group_data(form))
        except InvalidGroup as exc:
            db.session.rollback()
            _add_error(form, exc.field, GROUP_MESSAGES.get(exc.code, TOO_LONG))
        else:
            db.session.commit()
            flash(_("Les paramètres du groupe sont enregistrés."), "success")
            return redirect(url_for("groups.settings", group_id=group.id))
    return render_template("groups/settings.html", group=group, form=form,
                           link=_public_url("groups.join", token=group.join_token)), 422 if form.is_submitted() else 200


from shop import group_shop  # noqa: E402,F401 — the group shop's routes
