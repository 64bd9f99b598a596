"""Producer groups (seed 002): buyers who order from several estates at dated distributions.

* A :class:`models.ProducerGroup` has administrators and members
  (:class:`models.GroupMembership`). A public group's link (``join_token``) lets anyone
  join; an invitation-only group takes members by invitation from its "Membres" page
  (:func:`invite`, :func:`accept_invitation`).
* An estate offers a :class:`models.Catalogue` (wines at one price list). A group
  administrator links it (:func:`link_catalogue`), from the catalogue's URL that the
  estate sent (case 1) or from the estate's own back office when its staff administer
  the group (case 2, "Relier ce catalogue à un de mes groupes"); :func:`unlink_catalogue`.
* The group's :class:`models.Distribution` rows are its dated sales; a linked estate
  clicks "Participe" (:func:`participate`) or joins every distribution shown for a date
  range at once (:func:`participate_in_range`).

Access rules live here, in one place (:func:`membership`, :func:`can_shop`, …), and every
view asks them: a member of another group, or an estate that is not linked, sees
nothing of the group. Platform tables, not estate-owned: the estate filter of
services.tenancy does not apply, the checks here do.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Catalogue,
    Distribution,
    DistributionParticipation,
    Estate,
    EstateStaff,
    GroupCatalogue,
    GroupInvitation,
    GroupMembership,
    Price,
    ProducerGroup,
    User,
    Wine,
)
from services.errors import FieldError
from services.tenancy import all_estates

OPEN, CLOSED = "open", "closed"


class InvalidGroup(FieldError):
    """A group, distribution or invitation input breaks a rule (``field``, ``code``)."""


class NotAllowed(Exception):
    """The user may not do this in this group (not an administrator, not linked …)."""


# ------------------------------------------------------------------ groups and members


@dataclass(frozen=True)
class GroupData:
    name: str
    description: str = ""
    place: str = ""
    is_public: bool = False


def _check(data: GroupData) -> None:
    if not data.name.strip():
        raise InvalidGroup("name", "required")
    if len(data.name.strip()) > 140:
        raise InvalidGroup("name", "too_long")
    if len(data.place.strip()) > 255:
        raise InvalidGroup("place", "too_long")


def create_group(session: Session, data: GroupData, creator: User, now: datetime) -> ProducerGroup:
    """A new group; its creator is its first administrator."""
    _check(data)
    group = ProducerGroup(name=data.name.strip(), description=data.description.strip(), place=data.place.strip(),
                          is_public=data.is_public, join_token=secrets.token_urlsafe(24),
                          created_by_user_id=creator.id, created_at=now)
    session.add(group)
    session.flush()
    session.add(GroupMembership(group_id=group.id, user_id=creator.id, is_admin=True, joined_at=now))
    session.flush()
    return group


def update_group(session: Session, group: ProducerGroup, data: GroupData) -> None:
    _check(data)
    group.name, group.description = data.name.strip(), data.description.strip()
    group.place, group.is_public = data.place.strip(), data.is_public
    session.flush()


def membership(session: Session, group_id: int, user: User | None) -> GroupMembership | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return session.scalars(select(GroupMembership).where(GroupMembership.group_id == group_id,
                                                         GroupMembership.user_id == user.id)).first()


def is_admin(session: Session, group_id: int, user: User | None) -> bool:
    found = membership(session, group_id, user)
    return found is not None and found.is_admin


def staff_estate_ids(session: Session, user: User | None) -> set[int]:
    """The estates whose back office this user runs."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    with all_estates(session):
        return set(session.scalars(select(EstateStaff.estate_id).where(EstateStaff.user_id == user.id)))


def linked_estate_ids(session: Session, group_id: int) -> set[int]:
    return set(session.scalars(select(GroupCatalogue.estate_id).where(GroupCatalogue.group_id == group_id)))


def can_see(session: Session, group_id: int, user: User | None) -> bool:
    """Members, and the staff of an estate whose catalogue is linked (seed 002, step 3:
    the estate checks in the group's shop that its wines appear where they should)."""
    if membership(session, group_id, user) is not None:
        return True
    return bool(staff_estate_ids(session, user) & linked_estate_ids(session, group_id))


def groups_of(session: Session, user: User) -> list[tuple[ProducerGroup, bool]]:
    """"Mes groupes": (group, is administrator), by name."""
    rows = session.execute(select(ProducerGroup, GroupMembership.is_admin)
                           .join(GroupMembership, GroupMembership.group_id == ProducerGroup.id)
                           .where(GroupMembership.user_id == user.id).order_by(ProducerGroup.name)).all()
    return [(group, admin) for group, admin in rows]


def administered_groups(session: Session, user: User) -> list[ProducerGroup]:
    """The groups this user administers: what "Relier ce catalogue à un de mes groupes" offers."""
    return [group for group, admin in groups_of(session, user) if admin]


def members(session: Session, group_id: int) -> list[GroupMembership]:
    return list(session.scalars(select(GroupMembership).where(GroupMembership.group_id == group_id)
                                .join(User, User.id == GroupMembership.user_id)
                                .order_by(GroupMembership.is_admin.desc(), User.last_name, User.email)))


def join(session: Session, group: ProducerGroup, user: User, now: datetime) -> GroupMembership:
    """Join through the group's link: public groups only (an invitation-only group's
    link without an invitation is refused). Joining twice changes nothing.

    :raise NotAllowed: the group is invitation-only and the user not yet a member.
    """
    found = membership(session, group.id, user)
    if found is not None:
        return found
    if not group.is_public:
        raise NotAllowed("invitation-only group")
    return _add_member(session, group.id, user.id, now)


def _add_member(session: Session, group_id: int, user_id: int, now: datetime, admin: bool = False) -> GroupMembership:
    try:
        with session.begin_nested():
            found = GroupMembership(group_id=group_id, user_id=user_id, is_admin=admin, joined_at=now)
            session.add(found)
    except IntegrityError:  # the same person joining twice at once
        found = session.scalars(select(GroupMembership).where(GroupMembership.group_id == group_id,
                                                              GroupMembership.user_id == user_id)).one()
    return found


def set_admin(session: Session, group: ProducerGroup, member_id: int, admin: bool) -> None:
    """Make a member an administrator or a plain member; a group keeps one administrator.

    :raise InvalidGroup: ("member", "last_admin") or ("member", "unknown").
    """
    found = session.get(GroupMembership, member_id)
    if found is None or found.group_id != group.id:
        raise InvalidGroup("member", "unknown")
    if not admin and found.is_admin and _admin_count(session, group.id) <= 1:
        raise InvalidGroup("member", "last_admin")
    found.is_admin = admin
    session.flush()


def remove_member(session: Session, group: ProducerGroup, member_id: int) -> None:
    """:raise InvalidGroup: ("member", "last_admin") or ("member", "unknown")."""
    found = session.get(GroupMembership, member_id)
    if found is None or found.group_id != group.id:
        raise InvalidGroup("member", "unknown")
    if found.is_admin and _admin_count(session, group.id) <= 1:
        raise InvalidGroup("member", "last_admin")
    session.delete(found)
    session.flush()


def _admin_count(session: Session, group_id: int) -> int:
    return len(list(session.scalars(select(GroupMembership.id).where(GroupMembership.group_id == group_id,
                                                                      GroupMembership.is_admin.is_(True)))))


# ------------------------------------------------------------------ invitations


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite(session: Session, group: ProducerGroup, email: str, inviter: User, now: datetime) -> str | None:
    """Invite an address; returns the link's token to email, or None when that person
    is already a member. Inviting again replaces the earlier link.

    :raise InvalidGroup: ("email", "invalid").
    """
    from services.accounts import find_user_by_email, normalise_email

    email = normalise_email(email)
    if "@" not in email or len(email) > 254 or " " in email or email.startswith("@") or email.endswith("@"):
        raise InvalidGroup("email", "invalid")
    existing = find_user_by_email(session, email)
    if existing is not None and membership(session, group.id, existing) is not None:
        return None
    token = secrets.token_urlsafe(32)
    invitation = session.scalars(select(GroupInvitation).where(GroupInvitation.group_id == group.id,
                                                               GroupInvitation.email == email)).first()
    if invitation is None:
        invitation = GroupInvitation(group_id=group.id, email=email)
        session.add(invitation)
    invitation.token_hash, invitation.invited_by_user_id = _hash(token), inviter.id
    invitation.created_at, invitation.accepted_at = now, None
    session.flush()
    return token


def find_invitation(session: Session, token: str) -> GroupInvitation | None:
    """The pending invitation behind a link, or None (unknown, or already used)."""
    if not token or len(token) > 100:
        return None
    return session.scalars(select(GroupInvitation).where(GroupInvitation.token_hash == _hash(token),
                                                         GroupInvitation.accepted_at.is_(None))).first()


def accept_invitation(session: Session, invitation: GroupInvitation, user: User, now: datetime) -> GroupMembership:
    """The invited person (signed in, or just registered with the invited address)
    joins; the link is used up by a guarded UPDATE (two clicks join once).

    :raise NotAllowed: the link was used meanwhile, or the user's address is not the invited one.
    """
    if user.email != invitation.email:
        raise NotAllowed("not the invited address")
    used = session.execute(update(GroupInvitation).where(GroupInvitation.id == invitation.id,
                                                         GroupInvitation.accepted_at.is_(None))
                           .values(accepted_at=now).execution_options(synchronize_session=False)).rowcount
    if used != 1:
        raise NotAllowed("invitation already used")
    return _add_member(session, invitation.group_id, user.id, now)


# ------------------------------------------------------------------ catalogues


def catalogue_by_token(session: Session, token: str) -> Catalogue | None:
    if not token or len(token) > 64:
        return None
    with all_estates(session):
        return session.scalars(select(Catalogue).where(Catalogue.token == token)).first()


def link_catalogue(session: Session, group: ProducerGroup, catalogue: Catalogue, user: User,
                   now: datetime) -> GroupCatalogue:
    """An administrator links a catalogue to the group (one catalogue per estate: linking
    another catalogue of the same estate replaces it).

    :raise NotAllowed: the user does not administer the group.
    """
    if not is_admin(session, group.id, user):
        raise NotAllowed("not an administrator")
    link = session.scalars(select(GroupCatalogue).where(GroupCatalogue.group_id == group.id,
                                                        GroupCatalogue.estate_id == catalogue.estate_id)).first()
    if link is None:
        link = GroupCatalogue(group_id=group.id, estate_id=catalogue.estate_id, catalogue_id=catalogue.id)
        session.add(link)
    link.catalogue_id, link.linked_by_user_id, link.linked_at = catalogue.id, user.id, now
    session.flush()
    # the estate's participations go on with the new catalogue
    session.execute(update(DistributionParticipation)
                    .where(DistributionParticipation.estate_id == catalogue.estate_id,
                           DistributionParticipation.distribution_id.in_(
                               select(Distribution.id).where(Distribution.group_id == group.id)))
                    .values(catalogue_id=catalogue.id).execution_options(synchronize_session=False))
    return link


def unlink_catalogue(session: Session, group: ProducerGroup, link_id: int, user: User) -> None:
    """The administrator unlinks an estate's catalogue: the estate leaves the group's
    open distributions (orders already placed stay).

    :raise NotAllowed: not an administrator, or no such link in this group.
    """
    if not is_admin(session, group.id, user):
        raise NotAllowed("not an administrator")
    link = session.get(GroupCatalogue, link_id)
    if link is None or link.group_id != group.id:
        raise NotAllowed("no such link")
    session.execute(delete(DistributionParticipation)
                    .where(DistributionParticipation.estate_id == link.estate_id,
                           DistributionParticipation.distribution_id.in_(
                               select(Distribution.id).where(Distribution.group_id == group.id,
                                                             Distribution.status == OPEN)))
                    .execution_options(synchronize_session=False))
    session.delete(link)
    session.flush()


def linked_catalogues(session: Session, group_id: int) -> list[tuple[GroupCatalogue, Estate]]:
    with all_estates(session):
        return [(link, estate) for link, estate in session.execute(
            select(GroupCatalogue, Estate).join(Estate, Estate.id == GroupCatalogue.estate_id)
            .where(GroupCatalogue.group_id == group_id).order_by(Estate.name)).all()]


def estate_links(session: Session, estate_id: int) -> list[tuple[GroupCatalogue, ProducerGroup]]:
    """The groups this estate's catalogues are linked to (its "Ventes" tab)."""
    return [(link, group) for link, group in session.execute(
        select(GroupCatalogue, ProducerGroup).join(ProducerGroup, ProducerGroup.id == GroupCatalogue.group_id)
        .where(GroupCatalogue.estate_id == estate_id).order_by(ProducerGroup.name)).all()]


# ------------------------------------------------------------------ distributions


@dataclass(frozen=True)
class DistributionData:
    starts_at: datetime  #: aware
    ends_at: datetime
    place: str
    orders_close_at: datetime


def create_distribution(session: Session, group: ProducerGroup, data: DistributionData, user: User,
                        now: datetime) -> Distribution:
    """:raise NotAllowed: not an administrator. :raise InvalidGroup: a rule on the times or place."""
    if not is_admin(session, group.id, user):
        raise NotAllowed("not an administrator")
    place = data.place.strip() or group.place
    if not place:
        raise InvalidGroup("place", "required")
    if len(place) > 255:
        raise InvalidGroup("place", "too_long")
    if data.ends_at <= data.starts_at:
        raise InvalidGroup("ends_at", "before_start")
    if data.orders_close_at > data.starts_at:
        raise InvalidGroup("orders_close_at", "after_start")
    if data.orders_close_at <= now:
        raise InvalidGroup("orders_close_at", "past")
    distribution = Distribution(group_id=group.id, starts_at=data.starts_at, ends_at=data.ends_at, place=place,
                                orders_close_at=data.orders_close_at, status=OPEN, created_at=now)
    session.add(distribution)
    session.flush()
    return distribution


def distributions(session: Session, group_id: int, *, start: datetime | None = None, end: datetime | None = None,
                  coming_only: bool = False, now: datetime | None = None) -> list[Distribution]:
    """The group's distributions by date; ``start``/``end`` (end exclusive) bound the
    start time; ``coming_only`` keeps those not over at ``now``."""
    query = select(Distribution).where(Distribution.group_id == group_id)
    if start is not None:
        query = query.where(Distribution.starts_at >= start)
    if end is not None:
        query = query.where(Distribution.starts_at < end)
    if coming_only and now is not None:
        query = query.where(Distribution.ends_at > now)
    return list(session.scalars(query.order_by(Distribution.starts_at, Distribution.id)))


def participating_estate_ids(session: Session, distribution_id: int) -> set[int]:
    return set(session.scalars(select(DistributionParticipation.estate_id)
                               .where(DistributionParticipation.distribution_id == distribution_id)))


def _link_of(session: Session, group_id: int, estate_id: int) -> GroupCatalogue:
    link = session.scalars(select(GroupCatalogue).where(GroupCatalogue.group_id == group_id,
                                                        GroupCatalogue.estate_id == estate_id)).first()
    if link is None:
        raise NotAllowed("the estate's catalogue is not linked to this group")
    return link


def participate(session: Session, distribution: Distribution, estate_id: int, now: datetime) -> bool:
    """"Participe": the estate sells at this distribution with its linked catalogue.
    True when it joined now (False: it already took part).

    :raise NotAllowed: the estate's catalogue is not linked, or orders are closed.
    """
    link = _link_of(session, distribution.group_id, estate_id)
    if distribution.status != OPEN or distribution.orders_close_at <= now:
        raise NotAllowed("orders closed")
    try:
        with session.begin_nested():
            session.add(DistributionParticipation(distribution_id=distribution.id, estate_id=estate_id,
                                                  catalogue_id=link.catalogue_id, created_at=now))
    except IntegrityError:  # already taking part (or a double click)
        return False
    return True


def withdraw(session: Session, distribution: Distribution, estate_id: int) -> None:
    """"Ne participe plus": only while orders are open and none was placed with the estate.

    :raise NotAllowed: closed, or orders already placed.
    """
    from models import Order

    if distribution.status != OPEN:
        raise NotAllowed("orders closed")
    with all_estates(session):
        placed = session.scalar(select(Order.id).where(Order.distribution_id == distribution.id,
                                                       Order.estate_id == estate_id).limit(1))
    if placed is not None:
        raise NotAllowed("orders placed")
    session.execute(delete(DistributionParticipation).where(
        DistributionParticipation.distribution_id == distribution.id,
        DistributionParticipation.estate_id == estate_id).execution_options(synchronize_session=False))


def participate_in_range(session: Session, group_id: int, estate_id: int, start: datetime, end: datetime,
                         shown_ids: list[int], now: datetime) -> list[int]:
    """"Participer à toutes les distributions": join the distributions the page showed
    for this range, and only them (the seed warns: the next range is joined from the
    next page). ``shown_ids``: the ids the page listed; a distribution added since, or
    an id outside the group or the range, is not joined. Returns the ids joined now.

    :raise NotAllowed: the estate's catalogue is not linked to the group.
    """
    _link_of(session, group_id, estate_id)
    shown = set(shown_ids)
    joined = []
    for distribution in distributions(session, group_id, start=start, end=end):
        if distribution.id not in shown or distribution.status != OPEN or distribution.orders_close_at <= now:
            continue
        if participate(session, distribution, estate_id, now):
            joined.append(distribution.id)
    return joined


# ------------------------------------------------------------------ pages of the group (shop/groups.py)

MAX_INVITATIONS = 200  #: addresses in one "Inviter des membres" post
_EMAIL_SHAPE = re.compile(r"[^@\s,;<>()\[\]\"']+@[^@\s,;<>()\[\]\"'.]+(\.[^@\s,;<>()\[\]\"'.]+)+")


def group_by_join_token(session: Session, token: str) -> ProducerGroup | None:
    """The group behind a link ``/groupes/rejoindre/<token>``, or None."""
    if not token or len(token) > 64:
        return None
    return session.scalars(select(ProducerGroup).where(ProducerGroup.join_token == token)).first()


def member_rows(session: Session, group_id: int) -> list[tuple[GroupMembership, User]]:
    """The "Membres" list: administrators first, then by name (one query)."""
    return [(found, user) for found, user in session.execute(
        select(GroupMembership, User).join(User, User.id == GroupMembership.user_id)
        .where(GroupMembership.group_id == group_id)
        .order_by(GroupMembership.is_admin.desc(), User.last_name, User.email)).all()]


def participating_estate_names(session: Session, distribution_ids: list[int]) -> dict[int, list[str]]:
    """Distribution id → the names of the estates taking part, by name."""
    names: dict[int, list[str]] = {distribution_id: [] for distribution_id in distribution_ids}
    if not distribution_ids:
        return names
    for distribution_id, name in session.execute(
            select(DistributionParticipation.distribution_id, Estate.name)
            .join(Estate, Estate.id == DistributionParticipation.estate_id)
            .where(DistributionParticipation.distribution_id.in_(distribution_ids)).order_by(Estate.name)):
        names[distribution_id].append(name)
    return names


def catalogue_wine_counts(session: Session, catalogue_ids: list[int]) -> dict[int, int]:
    """Catalogue id → how many wines it offers."""
    from sqlalchemy import func

    from models import catalogue_wine

    if not catalogue_ids:
        return {}
    return {catalogue_id: count for catalogue_id, count in session.execute(
        select(catalogue_wine.c.catalogue_id, func.count())
        .where(catalogue_wine.c.catalogue_id.in_(catalogue_ids)).group_by(catalogue_wine.c.catalogue_id))}


def catalogue_lines(session: Session, catalogue: Catalogue) -> list[tuple[Wine, Price | None]]:
    """The catalogue's wines with their price on its list (services.catalogues' reading),
    across estates: the catalogue's page is outside the estate's URLs."""
    from services.catalogues import catalogue_lines as lines

    with all_estates(session):
        found = lines(session, catalogue)
        catalogue.price_list  # noqa: B018 — loaded here, read by the page
    return found


def parse_emails(raw: str) -> list[str]:
    """The addresses of the "Inviter des membres" box: one per line, or separated by
    commas or semicolons; normalised, without repeats, in the order typed.

    :raise InvalidGroup: ("emails", "required") or ("emails", "too_many").
    """
    from services.accounts import normalise_email

    found: list[str] = []
    for item in re.split(r"[\s,;]+", raw or ""):
        email = normalise_email(item)
        if email and email not in found:
            found.append(email)
            if len(found) > MAX_INVITATIONS:
                raise InvalidGroup("emails", "too_many")
    if not found:
        raise InvalidGroup("emails", "required")
    return found


@dataclass
class Invitations:
    invited: list[str]
    already_members: list[str]
    invalid: list[str]


def invite_many(session: Session, group: ProducerGroup, emails: list[str], inviter: User, now: datetime, *,
                link_for: Callable[[str], str], subject: str) -> Invitations:
    """Invite each address (:func:`invite`) and queue its email (templates/email/
    group_invitation.*) in the same transaction. A malformed address gets nothing.

    :raise NotAllowed: the inviter does not administer the group.
    """
    from services import mail

    if not is_admin(session, group.id, inviter):
        raise NotAllowed("not an administrator")
    result = Invitations([], [], [])
    for email in emails[:MAX_INVITATIONS]:
        if not _EMAIL_SHAPE.fullmatch(email):
            result.invalid.append(email)
            continue
        try:
            token = invite(session, group, email, inviter, now)
        except InvalidGroup:
            result.invalid.append(email)
            continue
        if token is None:
            result.already_members.append(email)
            continue
        mail.queue_template(session, "group_invitation", recipient=email, subject=subject, group=group,
                            inviter=inviter, link=link_for(token))
        result.invited.append(email)
    session.flush()
    return result
