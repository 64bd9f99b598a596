"""News on the shop side (issue 14): an estate's "Actualités" pages and its "Suivre"
button (``shop``), the customer area's "Mes actualités" and news frequency
(``account``), and the one-click unsubscribe link of the news emails (``site``).

Customers-only items never show in the shop, to anyone: only in "Mes actualités", to
users in the estate's customer file (services.news.feed).
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from htmx_flask import make_response as htmx_response
from sqlalchemy import select

from app import csrf
from models import Follow, User, db, utcnow
from services import news, unsubscribe
from shop import account_bp, bp, site_bp

FREQUENCY_LABELS = {"each": _l("À chaque actualité"), "weekly": _l("Chaque semaine"),
                    "monthly": _l("Chaque mois"), "never": _l("Jamais")}


# ------------------------------------------------------------------ an estate's news


@bp.get("/actualites")
def news_list():  # type: ignore[no-untyped-def]
    """The estate's public news, :data:`services.news.PAGE_SIZE` per page (``?page=``)."""
    page = request.args.get("page", 1, type=int)
    page = page if 0 < page < 100_000 else 1
    items, has_next = news.public_page(db.session, g.estate.id, utcnow(), page)
    return render_template("shop/news.html", estate=g.estate, items=items, page=page, has_next=has_next,
                           following=_following())


@bp.get("/actualites/<int:news_id>")
def news_item(news_id: int):  # type: ignore[no-untyped-def]
    """:raise 404: another estate's item, a customers-only one, or not yet published."""
    item = news.public_item(db.session, g.estate.id, news_id, utcnow())
    if item is None:
        abort(404)
    return render_template("shop/news_item.html", estate=g.estate, item=item, following=_following())


def _following() -> bool:
    return current_user.is_authenticated and news.follow_of(db.session, g.estate.id, current_user.id) is not None


def _follow_answer(following: bool, done: str):  # type: ignore[no-untyped-def]
    """htmx: the button, swapped in place; otherwise back to the page, with a message."""
    if request.htmx:
        html = render_template("shop/_news_follow.html", estate=g.estate, following=following, done=done)
        return htmx_response(html, 200)
    flash(done, "success")
    return redirect(url_for("shop.page"))


def _to_login():  # type: ignore[no-untyped-def]
    """A visitor is sent to the login page, and back to the estate page."""
    target = url_for("account.login", next=url_for("shop.page"))
    flash(_("Connectez-vous (ou créez un compte) pour suivre %(name)s.", name=g.estate.name), "info")
    if request.htmx:
        return htmx_response("", 200, redirect=target)
    return redirect(target)


@bp.post("/suivre")
def follow():  # type: ignore[no-untyped-def]
    """"Suivre": the estate's news by email, at the user's frequency."""
    if not current_user.is_authenticated:
        return _to_login()
    news.follow(db.session, g.estate.id, current_user.id, utcnow())
    db.session.commit()
    return _follow_answer(True, _("Vous suivez %(name)s.", name=g.estate.name))


@bp.post("/ne-plus-suivre")
def unfollow():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return _to_login()
    news.unfollow(db.session, g.estate.id, current_user.id)
    db.session.commit()
    return _follow_answer(False, _("Vous ne suivez plus %(name)s.", name=g.estate.name))


# ------------------------------------------------------------------ the customer area


def _feed_page(error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template("account/news.html", feed=news.feed(db.session, current_user.id, utcnow()),
                           followed=news.followed_estates(db.session, current_user.id),
                           frequency=current_user.news_frequency, labels=FREQUENCY_LABELS,
                           error=error), status


@account_bp.get("/actualites")
@login_required
def news_feed():  # type: ignore[no-untyped-def]
    """"Mes actualités": the news of the followed estates, and customers-only news."""
    return _feed_page()


@account_bp.post("/actualites/frequence")
@login_required
def news_frequency():  # type: ignore[no-untyped-def]
    """The frequency of the news emails (form field ``frequency``); a bad value: a
    French error and nothing changed."""
    try:
        news.set_frequency(db.session, current_user, request.form.get("frequency"))
    except news.UnknownFrequency:
        db.session.rollback()
        return _feed_page(_("Choisissez une fréquence parmi celles proposées."), 422)
    db.session.commit()
    if current_user.news_frequency == "never":
        flash(_("Vous ne recevrez plus les actualités par email."), "success")
    else:
        choice = str(FREQUENCY_LABELS[current_user.news_frequency]).lower()
        flash(_("Vous recevrez les actualités par email : %(choice)s.", choice=choice), "success")
    back = request.form.get("back")
    return redirect(url_for("account.overview") if back == "overview" else url_for("account.news_feed"))


@account_bp.post("/actualites/suivis/<int:follow_id>/retirer")
@login_required
def news_unfollow(follow_id: int):  # type: ignore[no-untyped-def]
    """"Ne plus suivre" in the customer area. :raise 404: not one of the user's follows."""
    row = db.session.scalars(select(Follow).where(Follow.id == follow_id, Follow.user_id == current_user.id)
                             .execution_options(all_estates=True)).first()
    if row is None:
        abort(404)
    name = row.estate.name
    db.session.delete(row)
    db.session.commit()
    flash(_("Vous ne suivez plus %(name)s.", name=name), "success")
    return redirect(url_for("account.news_feed"))


# ------------------------------------------------------------------ unsubscribe


@site_bp.route("/desabonnement/actualites/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: a mail client's one-click POST carries no CSRF token; the signed token is the proof
def news_unsubscribe(token: str):  # type: ignore[no-untyped-def]
    """GET: a confirmation page with a button; POST (that button, or the mail client's
    ``List-Unsubscribe=One-Click``): no more news emails.

    :raise 404: a forged or mangled token, or no such user.
    """
    user_id = unsubscribe.read_token(current_app.config["SECRET_KEY"], token, "news")
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        abort(404)
    if request.method == "POST":
        news.unsubscribe_user(db.session, user.id)
        db.session.commit()
        return render_template("shop/news_unsubscribe.html", token=token, done=True)
    return render_template("shop/news_unsubscribe.html", token=token, done=False,
                           already=user.news_frequency == "never")
