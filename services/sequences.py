"""Per-estate counters for order, invoice and credit-note numbers."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Sequence


def take_next(session: Session, estate_id: int, name: str) -> int:
    """Take the next value of the estate's counter ``name`` (1, 2, 3 …).

    The counter moves by one guarded UPDATE inside the caller's transaction: it holds
    the row lock (PostgreSQL) or the write lock (SQLite) until commit, and a rollback
    gives the number back, so numbers are gapless and never given twice.
    """
    for _ in range(2):
        taken = session.connection().execute(_TAKE, {"of_estate": estate_id, "counter": name}).scalar_one_or_none()
        if taken is not None:
            return taken - 1
        try:
            with session.begin_nested():  # two first uses at once: one wins the unique key
                session.add(Sequence(estate_id=estate_id, name=name, next_value=1))
        except IntegrityError:
            pass
    raise RuntimeError(f"sequence {name!r} of estate {estate_id} could not be advanced")


#: Core, built once: every order, invoice and credit note sends it
_TAKE = (update(Sequence.__table__)
         .where(Sequence.estate_id == bindparam("of_estate"), Sequence.name == bindparam("counter"))
         .values(next_value=Sequence.next_value + 1)
         .returning(Sequence.next_value))


def peek(session: Session, estate_id: int, name: str) -> int:
    value = session.scalar(
        select(Sequence.next_value)
        .where(Sequence.estate_id == estate_id, Sequence.name == name)
        .execution_options(all_estates=True)
    )
    return value or 1


def take_platform_next(session: Session, name: str) -> int:
    """The operator's counter ``name`` (its invoice numbers), as :func:`take_next`:
    gapless, never given twice."""
    from models import PlatformSequence

    statement = (update(PlatformSequence.__table__).where(PlatformSequence.name == name)
                 .values(next_value=PlatformSequence.next_value + 1).returning(PlatformSequence.next_value))
    for _ in range(2):
        taken = session.connection().execute(statement).scalar_one_or_none()
        if taken is not None:
            return taken - 1
        try:
            with session.begin_nested():
                session.add(PlatformSequence(name=name, next_value=1))
        except IntegrityError:
            pass
    raise RuntimeError(f"platform sequence {name!r} could not be advanced")
