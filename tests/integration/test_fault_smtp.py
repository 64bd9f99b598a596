"""The SMTP server refuses mail for an hour (a real aiosmtpd server answering 451 or
421): the outbox keeps every message, retries with backoff, and once the server
accepts again every message goes out, once. The hour passes on the clock handed to
``mail.send_pending``, not in real time."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from models import OutboxMessage, db, utcnow
from services import mail
from tests.conftest import Mailbox, checkout_form, first_orderable_wine, free_port, make_app, session_for, visitor

VERNETTE = "domaine-de-la-vernette"
ORDERS = 8  #: each queues two emails: the customer's confirmation (with its PDF) and the estate's copy


class RefusingMailbox(Mailbox):
    """aiosmtpd handler: refuses every message at ``stage`` while ``refusing`` is set."""

    def __init__(self, stage: str, reply: str) -> None:
        super().__init__()
        self.stage, self.reply = stage, reply
        self.refusing = True
        self.refusals = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.refusing and self.stage == "RCPT":
            self.refusals += 1
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.refusing and self.stage == "DATA":
            self.refusals += 1
            return self.reply
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(params=[("RCPT", "451 4.3.0 Mailbox temporarily unavailable, try again later"),
                        ("DATA", "421 4.3.2 Service not available, closing transmission channel")],
                ids=["451-at-rcpt", "421-at-data"])
def refusing_smtp(request):  # type: ignore[no-untyped-def]
    handler = RefusingMailbox(*request.param)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_the_backoff_retries_for_more_than_an_hour_before_giving_up():
    schedule = [mail.backoff(n) for n in range(1, mail.MAX_ATTEMPTS)]
    assert sum(schedule, timedelta()) >= timedelta(hours=2)


def test_an_hour_of_smtp_refusals_loses_no_email_and_sends_each_once(database, refusing_smtp):
    handler, port = refusing_smtp
    app = make_app(database, MAIL_PORT=port, MAIL_SEND_ON_REQUEST=True)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=200)
    for n in range(ORDERS):  # each checkout tries to send at once, and is refused
        client = visitor(app)
        assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
        response = client.post(f"/{VERNETTE}/commande", data=checkout_form(token=f"smtp{n}", email=f"c{n}@example.com"))
        assert response.status_code == 302
    with session_for(app) as session:
        queued = session.scalars(select(OutboxMessage)).all()
        expected = Counter((m.recipient, m.subject) for m in queued)
        assert len(queued) == 2 * ORDERS and all(m.status == "pending" and m.attempts == 1 for m in queued)
    assert handler.refusals == 2 * ORDERS

    start = utcnow()
    with app.app_context():
        for minute in range(1, 61):  # the job's runs of the hour the server refuses mail
            assert mail.send_pending(db.session, mail.flask_mail_sender, start + timedelta(minutes=minute)) == 0
        states = Counter((m.status, m.attempts) for m in db.session.scalars(select(OutboxMessage)))
        # 1 + retries after 1, 2, 4, 8 and 16 minutes: 6 attempts, the next one after 32 more
        assert states == {("pending", 6): 2 * ORDERS}, states
        assert handler.messages == [] and handler.refusals == 6 * 2 * ORDERS

        handler.refusing = False
        sent_at = {}
        for minute in range(61, 181):
            now = start + timedelta(minutes=minute)
            if mail.send_pending(db.session, mail.flask_mail_sender, now):
                sent_at[minute] = now
        db.session.remove()

    received = handler.wait_for(2 * ORDERS)
    assert Counter((str(m["To"]), str(make_header(decode_header(m["Subject"])))) for m in received) == expected
    assert len({m["Message-ID"] for m in received}) == len(received) == 2 * ORDERS
    with session_for(app) as session:
        final = session.scalars(select(OutboxMessage)).all()
        assert {(m.status, m.attempts) for m in final} == {("sent", 7)}
    # All of them at the first retry after the outage ended (minute 63 or 64 by the clock).
    assert len(sent_at) == 1 and min(sent_at) in (63, 64)
