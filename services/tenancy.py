"""One estate never sees another's rows.

Every ORM statement run by a session gets ``estate_id = <current estate>`` on every
:class:`models.EstateOwned` entity it touches (SQLAlchemy's ``with_loader_criteria``).
A session with no current estate sees no estate-owned row at all (fail closed) unless
platform or job code opts out explicitly with :func:`all_estates` or the execution
option ``all_estates=True``.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, TypeVar

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from models import EstateOwned

_ESTATE = "chai_estate_id"
_ALL = "chai_all_estates"
T = TypeVar("T")


class EstateMismatch(Exception):
    """A row of another estate was about to be written in an estate-scoped session."""


def scope_to_estate(session: Session, estate_id: int) -> None:
    session.info[_ESTATE] = estate_id
    session.info.pop(_ALL, None)


def current_estate_id(session: Session) -> int | None:
    return session.info.get(_ESTATE)


def allow_all_estates(session: Session) -> None:
    """For platform code, CLI commands and jobs that legitimately span estates."""
    session.info[_ALL] = True


@contextmanager
def all_estates(session: Session) -> Iterator[Session]:
    previous = session.info.get(_ALL)
    session.info[_ALL] = True
    try:
        yield session
    finally:
        if previous:
            session.info[_ALL] = previous
        else:
            session.info.pop(_ALL, None)


@contextmanager
def in_estate(session: Session, estate_id: int) -> Iterator[Session]:
    """Scope the session to one estate for a while (a group basket orders from several
    estates in one transaction: each estate's order is placed in its own scope)."""
    previous_estate, previous_all = session.info.get(_ESTATE), session.info.pop(_ALL, None)
    session.info[_ESTATE] = estate_id
    try:
        yield session
        session.flush()  # the estate's new rows are checked (before_flush) in its own scope
    finally:
        if previous_estate is None:
            session.info.pop(_ESTATE, None)
        else:
            session.info[_ESTATE] = previous_estate
        if previous_all:
            session.info[_ALL] = previous_all


def get_owned(session: Session, model: type[T], ident: int) -> T | None:
    """Load an estate-owned row by id through a filtered SELECT (never the identity map)."""
    return session.scalars(select(model).where(model.id == ident)).first()  # type: ignore[attr-defined]


@event.listens_for(Session, "do_orm_execute")
def _filter_by_estate(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # already carries the criteria of the statement that loaded the parent
    if state.execution_options.get("all_estates") or state.session.info.get(_ALL):
        return
    state.statement = state.statement.options(_criteria(state.session.info.get(_ESTATE)))


@lru_cache(maxsize=4096)
def _criteria(estate_id: int | None):  # type: ignore[no-untyped-def]
    """The estate's criteria option, built once per estate and process (building it,
    lambda analysis included, was a tenth of the ORM's time on a checkout)."""
    if estate_id is None:
        criteria = lambda cls: cls.estate_id.is_(None)  # noqa: E731 — matches nothing
    else:
        criteria = lambda cls: cls.estate_id == estate_id  # noqa: E731
    return with_loader_criteria(EstateOwned, criteria, include_aliases=True)


@event.listens_for(Session, "before_flush")
def _check_new_rows(session: Session, flush_context: object, instances: object) -> None:
    estate_id = session.info.get(_ESTATE)
    if estate_id is None or session.info.get(_ALL):
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, EstateOwned) and obj.estate_id not in (None, estate_id):
            raise EstateMismatch(f"{type(obj).__name__} of estate {obj.estate_id}")
