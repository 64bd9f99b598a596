"""Email outbox: messages are rows written in the same transaction as the change
that causes them, and sent after commit by :func:`send_pending` (a job, or right after
the request). An SMTP outage delays mail; it never loses it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models import OutboxAttachment, OutboxMessage

MAX_ATTEMPTS = 8
#: wait before retry n (1-based): 1, 2, 4, 8 … minutes, capped at 4 hours
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=4)

Attachment = tuple[str, str, bytes]  #: filename, content type, content
Sender = Callable[[OutboxMessage, list[Attachment]], None]


def queue_email(
    session: Session,
    *,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    estate_id: int | None = None,
    attachments: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    """Write the message (and its attachments' sources, resolved when sending:
    services.documents) in the caller's transaction; returns its id.

    Core statements built once, sent at once (a checkout queues two messages: as ORM
    objects flushed at commit they cost a tenth of the order, issue 8)."""
    connection = session.connection()
    message_id = connection.execute(_QUEUE, {
        "recipient": recipient, "subject": subject, "body_text": body_text, "body_html": body_html,
        "estate_id": estate_id, "headers": json.dumps(headers) if headers else ""}).scalar_one()
    if attachments:
        connection.execute(_ATTACH, [{"message_id": message_id, "source": source} for source in attachments])
    return message_id


_QUEUE = insert(OutboxMessage.__table__).returning(OutboxMessage.id)  #: the columns' defaults fill the rest
_ATTACH = insert(OutboxAttachment.__table__)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def send_pending(session: Session, send: Sender, now: datetime, limit: int = 50) -> int:
    """Send due messages; returns how many went out. Commits after each message so a
    message that went out is never sent twice, even if a later one fails.

    Each message is claimed with a guarded UPDATE (status pending → sending) so two
    workers running this job at once never send the same message.
    """
    reclaim_stuck(session, now)
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    session.commit()
    sent = 0
    for message_id in ids:
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            .values(status="sending", next_attempt_at=now)  # claim time, for reclaim_stuck
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if claimed != 1:
            continue
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        try:
            files = _resolve_attachments(session, message)
            session.commit()  # a document rendered for the first time is archived now
            send(message, files)
        except Exception as exc:  # noqa: BLE001 — any transport failure means "retry later"
            session.rollback()
            message = session.get(OutboxMessage, message_id)
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
            else:
                message.status = "pending"
                message.next_attempt_at = now + backoff(message.attempts)
        else:
            message.attempts += 1
            message.status = "sent"
            message.sent_at = now
            sent += 1
        session.commit()
    return sent


def _resolve_attachments(session: Session, message: OutboxMessage) -> list[Attachment]:
    from services.documents import resolve
    from services.tenancy import all_estates

    with all_estates(session):
        documents = [resolve(session, attachment.source) for attachment in message.attachments]
    return [(d.filename, d.content_type, d.content) for d in documents]


def reclaim_stuck(session: Session, now: datetime, older_than: timedelta = timedelta(minutes=15)) -> int:
    """Messages left "sending" by a process that died mid-send go back to pending
    (at-least-once: such a message may be sent twice, never lost)."""
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at <= now - older_than)
        .values(status="pending")
        .execution_options(synchronize_session=False)
    ).rowcount


# --------------------------------------------------------------- Flask-side glue
# Rendering uses the app's Jinja templates (templates/email/NAME.txt + NAME.html) and
# sending uses Flask-Mail; both need an application context, never a request.


def queue_template(
    session: Session,
    name: str,
    *,
    recipient: str,
    subject: str,
    estate_id: int | None = None,
    attachments: list[str] | None = None,
    headers: dict[str, str] | None = None,
    **context: object,
) -> int:
    from flask import render_template

    return queue_email(
        session,
        recipient=recipient,
        subject=subject,
        body_text=render_template(f"email/{name}.txt", **context),
        body_html=render_template(f"email/{name}.html", **context),
        estate_id=estate_id,
        attachments=attachments,
        headers=headers,
    )


class _Verbatim(str):
    """An extra header written as is, on one line (RFC 5322 allows 998 characters).
    Flask-Mail's SMTP policy would RFC 2047-encode a long value without spaces, and a
    List-Unsubscribe URL must stay a plain URL in angle brackets (RFC 2369, 8058) for
    mail clients to offer the one-click unsubscribe. The policy calls ``fold`` on any
    value that has a ``name`` (email.policy.EmailPolicy._fold)."""

    name = ""

    @classmethod
    def of(cls, name: str, value: str) -> "_Verbatim":
        header = cls(value.replace("\r", " ").replace("\n", " "))  # no header injection
        header.name = name
        return header

    def fold(self, *, policy) -> str:  # type: ignore[no-untyped-def]
        return f"{self.name}: {self}{policy.linesep}"


def flask_mail_sender(message: OutboxMessage, attachments: list[Attachment]) -> None:
    from flask import current_app
    from flask_mail import Message

    mail = current_app.extensions["mail"]
    msg = Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html or None,
        extra_headers={name: _Verbatim.of(name, value) for name, value in json.loads(message.headers).items()}
        if message.headers else None,
    )
    for filename, content_type, content in attachments:
        msg.attach(filename, content_type, content)
    mail.send(msg)


def deliver_now() -> int:
    """After a request committed mail, try to send it at once; failures stay queued
    for the outbox job."""
    from flask import current_app

    from models import db, utcnow

    if not current_app.config.get("MAIL_SEND_ON_REQUEST"):
        return 0
    try:
        return send_pending(db.session, flask_mail_sender, utcnow())
    except Exception:  # noqa: BLE001 — the job will retry; the request already succeeded
        current_app.logger.exception("outbox delivery failed")
        db.session.rollback()
        return 0
