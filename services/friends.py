""""Nos amis vignerons" (seed 000): the estates of the platform an estate shows to its
visitors, and the winegrowers not yet on the platform it invites (the operator's leads).

* A friend is another published estate of the platform (:class:`models.EstateFriend`,
  one row per pair, never the estate itself). The shop's estate page lists the friends
  that are published, with their region and a link to their shop.
* An invitation is a :class:`models.FriendLead` (status "new") and an email to the
  platform operator, who contacts the winegrower; when the estate made from the lead
  subscribes, the sponsor gets one free month (services.subscriptions, not here).

The estate page is a kept page (services.page_cache): what it shows of the friends is
read with the estate and the wines, in the same statement (:func:`estate_page_rows`),
and is part of the page's key, so a friend added, removed, renamed or unpublished shows
at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Estate, EstateFriend, FriendLead, PriceList, Role, User
from services import accounts, catalogue, mail
from services.errors import FieldError

#: FriendLead.status → what the estate reads
LEAD_STATUS_LABELS = {"new": _l("en attente"), "onboarded": _l("inscrit"), "dismissed": _l("écarté")}

#: the invitation form's limits (the columns' sizes)
LIMITS = {"name": 160, "email": 254, "estate_name": 140, "message": 2000}


class FriendRefused(Exception):
    """The "+" cannot add this estate: ``code`` is "itself", "unknown" (no such
    estate, or not published) or "duplicate" (already a friend)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class InvalidLead(FieldError):
    """An invitation breaks a rule; ``field`` names the offending field."""


@dataclass(frozen=True)
class ShownFriend:
    """A friend as the shop's estate page shows it."""

    slug: str
    name: str
    region: str


# ------------------------------------------------------------------ the back office


def friends_of(session: Session) -> list[tuple[EstateFriend, Estate]]:
    """The current estate's friends (services.tenancy scopes EstateFriend), by name,
    each with its estate, published or not (the page says which)."""
    return [(friend, estate) for friend, estate in session.execute(
        select(EstateFriend, Estate).join(Estate, Estate.id == EstateFriend.friend_estate_id)
        .order_by(Estate.name, Estate.id))]


def candidates(session: Session, estate_id: int) -> list[Estate]:
    """The platform's other published estates that are not yet friends of ``estate_id``,
    by name: what the "+" offers."""
    already = select(EstateFriend.friend_estate_id).where(EstateFriend.estate_id == estate_id)
    return list(session.scalars(
        select(Estate).where(Estate.id != estate_id, Estate.is_published.is_(True), Estate.id.not_in(already))
        .order_by(Estate.name, Estate.id)))


def parse_estate_id(raw: object) -> int | None:
    """The posted ``estate_id``, or None when it is not a plausible id."""
    text = str(raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def add_friend(session: Session, estate: Estate, friend_estate_id: int | None) -> EstateFriend:
    """"+": ``friend_estate_id`` becomes a friend of ``estate``.

    :raise FriendRefused: itself, unknown or unpublished, or already a friend (a double
        click included: the unique pair decides, nothing is changed).
    """
    if friend_estate_id is None:
        raise FriendRefused("unknown")
    if friend_estate_id == estate.id:
        raise FriendRefused("itself")
    published = session.scalar(select(Estate.id).where(Estate.id == friend_estate_id, Estate.is_published.is_(True)))
    if published is None:
        raise FriendRefused("unknown")
    if session.scalar(select(EstateFriend.id).where(EstateFriend.estate_id == estate.id,
                                                    EstateFriend.friend_estate_id == friend_estate_id)) is not None:
        raise FriendRefused("duplicate")
    friend = EstateFriend(estate_id=estate.id, friend_estate_id=friend_estate_id)
    try:
        with session.begin_nested():
            session.add(friend)
    except IntegrityError:  # the same "+" twice at once: the other one added it
        raise FriendRefused("duplicate") from None
    return friend


def remove_friend(session: Session, friend: EstateFriend) -> None:
    session.delete(friend)
    session.flush()


def leads_of(session: Session) -> list[FriendLead]:
    """The current estate's invitations, newest first (services.tenancy scopes them)."""
    return list(session.scalars(select(FriendLead).order_by(FriendLead.created_at.desc(), FriendLead.id.desc())))


def _clean(value: object, limit: int) -> str:
    return " ".join(str(value or "").replace("\x00", "").split())[:limit + 1]


def invite(session: Session, estate: Estate, sponsor: User | None, *, name: str, email: str, estate_name: str,
           message: str, operator_email: str | None) -> FriendLead:
    """"Inviter un vigneron qui n'est pas sur Chai": the lead (status "new") and an email
    to the operator (``operator_email``, else every platform administrator), in the
    same transaction.

    :raise InvalidLead: a field missing or too long, an invalid address, or this estate
        invited this address already.
    """
    name, estate_name = _clean(name, LIMITS["name"]), _clean(estate_name, LIMITS["estate_name"])
    email = _clean(email, LIMITS["email"]).lower()
    message = str(message or "").replace("\x00", "").strip()
    for field, value in (("name", name), ("email", email), ("estate_name", estate_name)):
        if not value:
            raise InvalidLead(field, "required")
    for field, value in (("name", name), ("email", email), ("estate_name", estate_name), ("message", message)):
        if len(value) > LIMITS[field]:
            raise InvalidLead(field, "too_long")
    if not accounts.is_email(email):
        raise InvalidLead("email", "invalid")
    if session.scalar(select(FriendLead.id).where(FriendLead.estate_id == estate.id,
                                                  func.lower(FriendLead.email) == email)) is not None:
        raise InvalidLead("email", "already_invited")
    lead = FriendLead(estate_id=estate.id, name=name, email=email, estate_name=estate_name, message=message,
                      status="new")
    session.add(lead)
    session.flush()
    for recipient in operator_recipients(session, operator_email):
        mail.queue_template(session, "friend_lead", recipient=recipient, estate_id=estate.id,
                            subject=f"Chai - Vigneron à contacter : {estate_name} (parrain : {estate.name})"[:255],
                            estate=estate, sponsor=sponsor, lead=lead)
    return lead


def operator_recipients(session: Session, configured: str | None) -> list[str]:
    """The operator's address from the configuration (``OPERATOR["email"]``), else every
    platform administrator's."""
    if configured and configured.strip():
        return [configured.strip()]
    return list(session.scalars(select(User.email).order_by(User.id)
                                .where(User.role == Role.PLATFORM_ADMIN, User.is_active_account.is_(True))))


# ------------------------------------------------------------------ the shop's estate page


def _friend_rows(estate_id):  # type: ignore[no-untyped-def]
    """The published friends of ``estate_id`` (a bound parameter, or the estate column
    of an enclosing query): Core, with the estate written in (services.tenancy does not
    see Core statements)."""
    friend_row, friend = EstateFriend.__table__, Estate.__table__.alias("friend_estate")
    return (select(friend.c.slug, friend.c.name, friend.c.region)
            .select_from(friend_row.join(friend, friend.c.id == friend_row.c.friend_estate_id))
            .where(friend_row.c.estate_id == estate_id, friend.c.is_published.is_(True)))


def _folded(estate_id, dialect: str):  # type: ignore[no-untyped-def]
    """:func:`_friend_rows` as one JSON text, like services.catalogue folds the wines."""
    rows = _friend_rows(estate_id)
    columns = list(rows.selected_columns)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        folded = func.json_agg(aggregate_order_by(func.json_build_array(*columns), columns[0]))
        return rows.with_only_columns(cast(folded, String), maintain_column_froms=True)
    return rows.with_only_columns(func.json_group_array(func.json_array(*columns)), maintain_column_froms=True)


@lru_cache(maxsize=4)
def _estate_page_statement(dialect: str):  # type: ignore[no-untyped-def]
    """services.catalogue's estate page statement (estate, default list, wines) with the
    friends folded in one more column: still one statement per kept page."""
    statement = catalogue._published_estate_statement(dialect)  # noqa: SLF001 — extended, not copied
    estate = Estate.__table__
    return statement.add_columns(_folded(estate.c.id, dialect).scalar_subquery().label("friends"))


def estate_page_rows(session: Session, slug: str | None, kind: object) -> tuple[catalogue.EstateRows, str] | None:
    """:func:`services.catalogue.published_estate_rows` with ``with_wines``, and the
    estate's published friends as one JSON text (for the page's key and its section);
    None: no published estate has this slug."""
    connection = session.connection()
    row = connection.execute(_estate_page_statement(connection.dialect.name), {"slug": slug, "kind": kind}).first()
    if row is None:
        return None
    columns = Estate.__table__.columns
    split, end = len(columns), len(columns) + len(PriceList.__table__.columns)
    price_list = tuple(row[split:end])
    has_list = price_list[0] is not None
    rows = catalogue.EstateRows(row[columns.keys().index("id")], tuple(row[:split]),
                                price_list if has_list else None, row[end] if has_list else None)
    return rows, row[end + 1] or "[]"


def shown_from_json(text: str | None) -> list[ShownFriend]:
    """The friends of :func:`estate_page_rows`'s JSON text, by name."""
    return _by_name(ShownFriend(*item) for item in json.loads(text or "[]"))


def shown(session: Session, estate_id: int) -> list[ShownFriend]:
    """The estate's published friends, by name (the estate page rendered for one visitor)."""
    statement = _friend_rows(bindparam("estate_id"))
    return _by_name(ShownFriend(*row) for row in session.connection().execute(statement, {"estate_id": estate_id}))


def _by_name(friends) -> list[ShownFriend]:  # type: ignore[no-untyped-def]
    return sorted(friends, key=lambda f: (f.name.casefold(), f.slug))
