"""An estate's news (actualités), its followers ("Suivre") and their email digests.

News are written in the back office (admin/news.py) or imported from the estate's
Facebook page (``source='facebook'``). A public item shows on the estate page and its
"Actualités" page; a "clients uniquement" item shows only in the customer area, and
only to users in that estate's customer file (``EstateCustomer.user_id``).

Digests: jobs ``news-each`` (every 5 minutes), ``news-weekly`` (Monday 08:00, Paris)
and ``news-monthly`` (the 1st, 08:00, Paris) run :func:`send_digests` for the followers
of that frequency. A follower gets an item once: a ``NewsDelivery(news_id, user_id)``
row (unique pair) is inserted before the email is queued, and items already delivered
are skipped, whatever the frequency changes and however often the jobs run.

Which items a digest considers (decided here, issue 14): those published after the
user started following the estate, no later than ``now``, and within the frequency's
window (:data:`WINDOWS`: a day for "each", 8 days for "weekly", 32 for "monthly" — one
period and a margin, so a missed run is caught up by the next). Items published while
a user had chosen "jamais" and older than the window are never sent later; nothing is
marked for a user who gets nothing. Customers-only items go only to followers who are
customers of the estate; unpublished estates send nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Estate, EstateCustomer, Follow, News, NewsDelivery, User
from services import mail, richtext, unsubscribe

FREQUENCIES = ("each", "weekly", "monthly", "never")
WINDOWS = {"each": timedelta(days=1), "weekly": timedelta(days=8), "monthly": timedelta(days=32)}
PAGE_SIZE = 10
LATEST_ON_ESTATE_PAGE = 3
FACEBOOK_POST_URL = "https://www.facebook.com/{}"
_ALL = {"all_estates": True}


class InvalidNews(ValueError):
    """A news item refused; ``field`` and ``code`` ("required", "too_long",
    "out_of_range") name why."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field, self.code = field, code


class UnknownFrequency(ValueError):
    """Not one of :data:`FREQUENCIES`."""


# ------------------------------------------------------------------ writing


def save(session: Session, news: News, *, title: str | None, body: str | None, customers_only: bool,
         published_at: datetime) -> News:
    """Check and set the fields of a new or edited item (its ``estate_id`` set by the
    caller); the body is sanitised (services.richtext). :raise InvalidNews:"""
    title = (title or "").strip()
    if not title:
        raise InvalidNews("title", "required")
    if len(title) > 200:
        raise InvalidNews("title", "too_long")
    if len(body or "") > 50_000:
        raise InvalidNews("body", "too_long")
    if not 2000 <= published_at.year <= 2100:
        raise InvalidNews("published_at", "out_of_range")
    news.title, news.body_html = title, richtext.clean(body)
    news.customers_only, news.published_at = bool(customers_only), published_at
    if news.id is None:
        session.add(news)
    session.flush()
    return news


def facebook_url(news: News) -> str | None:
    """The post on Facebook of an imported item (its remote picture is not shown: the
    CSP allows images from this site only)."""
    return FACEBOOK_POST_URL.format(news.facebook_post_id) if news.facebook_post_id else None


# ------------------------------------------------------------------ reading


def is_customer(session: Session, estate_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return session.scalar(select(exists().where(EstateCustomer.estate_id == estate_id,
                                                EstateCustomer.user_id == user_id))
                          .execution_options(**_ALL)) or False


def _public(estate_id: int, now: datetime):  # type: ignore[no-untyped-def]
    return (select(News).where(News.estate_id == estate_id, News.customers_only.is_(False),
                               News.published_at <= now)
            .order_by(News.published_at.desc(), News.id.desc()))


@dataclass(frozen=True)
class ShownNews:
    """A public item as the estate page shows it (plain values: part of the page's key)."""

    id: int
    title: str
    body_html: str
    image_path: str | None
    published_at: datetime
    facebook_post_id: str | None

    @property
    def facebook_url(self) -> str | None:
        return FACEBOOK_POST_URL.format(self.facebook_post_id) if self.facebook_post_id else None


_NEWS = News.__table__
#: the estate page's latest public items: Core, built once (every estate page reads it)
_LATEST = (select(_NEWS.c.id, _NEWS.c.title, _NEWS.c.body_html, _NEWS.c.image_path, _NEWS.c.published_at,
                  _NEWS.c.facebook_post_id)
           .where(_NEWS.c.estate_id == bindparam("estate_id"), _NEWS.c.customers_only.is_(False),
                  _NEWS.c.published_at <= bindparam("now", type_=News.published_at.type))
           .order_by(_NEWS.c.published_at.desc(), _NEWS.c.id.desc()).limit(bindparam("limit")))


def latest_public(session: Session, estate_id: int, now: datetime,
                  limit: int = LATEST_ON_ESTATE_PAGE) -> tuple[ShownNews, ...]:
    """The estate page's latest public items, by Core in one statement (they are part of
    the anonymous page's key, shop/estate.py)."""
    rows = session.connection().execute(_LATEST, {"estate_id": estate_id, "now": now, "limit": limit})
    return tuple(ShownNews(*row) for row in rows)


def public_page(session: Session, estate_id: int, now: datetime, page: int) -> tuple[list[News], bool]:
    """One page of the estate's public items, and whether there is a next page."""
    page = max(1, page)
    rows = list(session.scalars(_public(estate_id, now).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
                                .execution_options(**_ALL)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def public_item(session: Session, estate_id: int, news_id: int, now: datetime) -> News | None:
    """A public, published item of the estate, else None (customers-only items are never
    shown in the shop, even to customers: they are in the customer area)."""
    return session.scalars(_public(estate_id, now).where(News.id == news_id).execution_options(**_ALL)).first()


def of_estate(session: Session, estate_id: int) -> list[News]:
    """Every item of the estate, future ones included (the back office)."""
    return list(session.scalars(select(News).where(News.estate_id == estate_id)
                                .order_by(News.published_at.desc(), News.id.desc())))


def feed(session: Session, user_id: int, now: datetime, limit: int = 30) -> list[tuple[News, Estate]]:
    """The customer area's "Mes actualités": the public items of the estates the user
    follows and the customers-only items of the estates whose customer they are."""
    followed = select(Follow.estate_id).where(Follow.user_id == user_id)
    customer_of = select(EstateCustomer.estate_id).where(EstateCustomer.user_id == user_id)
    statement = (select(News, Estate).join(Estate, Estate.id == News.estate_id)
                 .where(Estate.is_published.is_(True), News.published_at <= now,
                        or_(and_(News.customers_only.is_(False), News.estate_id.in_(followed)),
                            and_(News.customers_only.is_(True), News.estate_id.in_(customer_of))))
                 .order_by(News.published_at.desc(), News.id.desc()).limit(limit)
                 .execution_options(**_ALL))
    return [(news, estate) for news, estate in session.execute(statement)]


# ------------------------------------------------------------------ following


def follow_of(session: Session, estate_id: int, user_id: int) -> Follow | None:
    return session.scalars(select(Follow).where(Follow.estate_id == estate_id, Follow.user_id == user_id)
                           .execution_options(**_ALL)).first()


def follow(session: Session, estate_id: int, user_id: int, now: datetime) -> Follow:
    """Follow the estate (already following: the existing row, unchanged, so its news
    already due are not sent twice nor dropped)."""
    found = follow_of(session, estate_id, user_id)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = Follow(estate_id=estate_id, user_id=user_id, created_at=now)
            session.add(row)
    except IntegrityError:  # a double click in two requests: the other one followed
        found = follow_of(session, estate_id, user_id)
        assert found is not None
        return found
    return row


def unfollow(session: Session, estate_id: int, user_id: int) -> bool:
    """:returns: whether the user was following the estate."""
    found = follow_of(session, estate_id, user_id)
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def followed_estates(session: Session, user_id: int) -> list[tuple[Follow, Estate]]:
    statement = (select(Follow, Estate).join(Estate, Estate.id == Follow.estate_id)
                 .where(Follow.user_id == user_id).order_by(Estate.name).execution_options(**_ALL))
    return [(row, estate) for row, estate in session.execute(statement)]


def set_frequency(session: Session, user: User, value: str | None) -> None:
    """:raise UnknownFrequency: not one of :data:`FREQUENCIES`."""
    if value not in FREQUENCIES:
        raise UnknownFrequency(value)
    user.news_frequency = value
    session.flush()


def unsubscribe_user(session: Session, user_id: int) -> User | None:
    """The one-click unsubscribe: no more news emails (frequency "never"). None: no such user."""
    user = session.get(User, user_id)
    if user is not None:
        user.news_frequency = "never"
        session.flush()
    return user


# ------------------------------------------------------------------ digests


def due(session: Session, frequency: str, now: datetime) -> list[tuple[User, list[tuple[Estate, list[News]]]]]:
    """The items each follower of ``frequency`` is due (see the module's docstring),
    grouped by user then estate, oldest first."""
    window_start = now - WINDOWS[frequency]
    delivered = exists().where(NewsDelivery.news_id == News.id, NewsDelivery.user_id == Follow.user_id)
    customer = exists().where(EstateCustomer.estate_id == News.estate_id, EstateCustomer.user_id == Follow.user_id)
    statement = (
        select(User, Estate, News)
        .select_from(News)
        .join(Follow, Follow.estate_id == News.estate_id)
        .join(User, User.id == Follow.user_id)
        .join(Estate, Estate.id == News.estate_id)
        .where(User.news_frequency == frequency, User.is_active_account.is_(True), Estate.is_published.is_(True),
               News.published_at <= now, News.published_at > window_start, News.published_at > Follow.created_at,
               ~delivered, or_(News.customers_only.is_(False), customer))
        .order_by(User.id, Estate.name, Estate.id, News.published_at, News.id)
        .execution_options(**_ALL)
    )
    grouped: OrderedDict[int, tuple[User, OrderedDict[int, tuple[Estate, list[News]]]]] = OrderedDict()
    for user, estate, news in session.execute(statement):
        _, estates = grouped.setdefault(user.id, (user, OrderedDict()))
        estates.setdefault(estate.id, (estate, []))[1].append(news)
    return [(user, list(estates.values())) for user, estates in grouped.values()]


def _mark(session: Session, user_id: int, items: list[News], now: datetime) -> bool:
    """Insert the deliveries of ``items`` to the user; False: another run did already
    (the unique pair), and nothing is queued."""
    try:
        with session.begin_nested():
            session.execute(insert(NewsDelivery), [{"estate_id": n.estate_id, "news_id": n.id, "user_id": user_id,
                                                    "created_at": now} for n in items])
    except IntegrityError:
        return False
    return True


def _link(session: Session, message_id: int, user_id: int, items: list[News]) -> None:

    session.execute(update(NewsDelivery).where(NewsDelivery.user_id == user_id,
                                               NewsDelivery.news_id.in_([n.id for n in items]))
                    .values(outbox_message_id=message_id).execution_options(**_ALL))


def send_digests(session: Session, frequency: str, now: datetime, *, public_url: str, secret_key: str) -> int:
    """Queue the digests of ``frequency`` ("each": one email per item); returns how many
    emails were queued."""
    queued = 0
    for user, estates in due(session, frequency, now):
        token = unsubscribe.make_token(secret_key, "news", user.id)
        unsubscribe_url = f"{public_url}/desabonnement/actualites/{token}"
        context = dict(user=user, public_url=public_url, unsubscribe_url=unsubscribe_url,
                       account_url=f"{public_url}/compte/actualites", frequency=frequency)
        if frequency == "each":
            batches = [(f"{estate.name} : {item.title}"[:255], [(estate, [item])])
                       for estate, items in estates for item in items]
        else:
            batches = [("Les actualités de vos vignerons", estates)]
        for subject, groups in batches:
            items = [item for _, group_items in groups for item in group_items]
            if not _mark(session, user.id, items, now):
                continue
            message_id = mail.queue_template(
                session, "news_digest", recipient=user.email, subject=subject,
                estate_id=groups[0][0].id if len(groups) == 1 else None,
                headers=unsubscribe.headers(unsubscribe_url),
                groups=[(estate, [(item, item_url(public_url, estate, item)) for item in group_items])
                        for estate, group_items in groups],
                to_text=richtext.to_text, **context)
            _link(session, message_id, user.id, items)
            queued += 1
    return queued


def item_url(public_url: str, estate: Estate, news: News) -> str:
    if news.customers_only:
        return f"{public_url}/compte/actualites#actualite-{news.id}"
    return f"{public_url}/{estate.slug}/actualites/{news.id}"


def _job(frequency: str):  # type: ignore[no-untyped-def]
    def run(session: Session, now: datetime) -> int:
        from flask import current_app

        return send_digests(session, frequency, now, public_url=current_app.config["PUBLIC_URL"].rstrip("/"),
                            secret_key=current_app.config["SECRET_KEY"])

    run.__name__ = f"send_{frequency}"
    return run


send_each = _job("each")
send_weekly = _job("weekly")
send_monthly = _job("monthly")
