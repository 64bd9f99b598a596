"""Quarterly subscription invoicing (issue 13), table-driven on a frozen clock: every
month begun while subscribed is due, a cancellation ends at the end of the month it
was asked in, a sponsor's free month comes off once, a second run issues nothing, the
numbers have no gap, and the PDF holds the legal mentions and the totals."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from models import (
    Estate,
    FreeMonth,
    FriendLead,
    OperatorInvoice,
    OutboxAttachment,
    OutboxMessage,
    Plan,
    Subscription,
    db,
)
from services import jobs, subscriptions
from services.templating import PARIS
from services.tenancy import allow_all_estates

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
OPERATOR = {"name": "Chai Plateforme SAS", "address": "3 quai Saint-Vincent, 69001 Lyon", "siret": "84310967900012",
            "vat_number": "FR12843109679", "rcs": "RCS Lyon 843 109 679", "iban": "FR76 3000 6000 0112 3456 7890 189",
            "email": "facturation@chai.example"}


def paris(year: int, month: int, day: int, hour: int = 6) -> datetime:
    return datetime(year, month, day, hour, tzinfo=PARIS)


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    app.config["OPERATOR"] = OPERATOR
    with app.app_context():
        allow_all_estates(db.session)
        db.session.add(Plan(name="Essentiel", monthly_price_cents=3000))  # 30 € HT a month
        db.session.commit()
    yield app


def subscribe(app, slug: str, starts_on: date, cancel_on: date | None = None, mode: str = "transfer") -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        allow_all_estates(db.session)
        estate = db.session.scalars(select(Estate).where(Estate.slug == slug)).one()
        plan = db.session.scalars(select(Plan)).one()
        subscription = subscriptions.subscribe(db.session, estate, plan_id=plan.id, starts_on=starts_on,
                                               billing_email=f"compta@{slug}.example", payment_mode=mode)
        if cancel_on is not None:
            subscriptions.cancel(db.session, subscription, cancel_on)
        db.session.commit()
        db.session.remove()


def run(app, job: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    jobs.run_by_hand(app, job, at)


def invoices(app) -> list[tuple[str, str, date, int, int, int, list[str]]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        allow_all_estates(db.session)
        found = [(i.number, i.estate.slug, i.period_start, i.total_ht_cents, i.total_vat_cents, i.total_ttc_cents,
                  [line.label for line in i.lines])
                 for i in db.session.scalars(select(OperatorInvoice).order_by(OperatorInvoice.id))]
        db.session.remove()
        return found


CASES = [
    # (id, start, cancellation asked on, billing run, expected months, HT)
    ("started 14 February, billed 1 April for February and March", date(2026, 2, 14), None, paris(2026, 4, 1),
     ["février 2026", "mars 2026"], 6000),
    ("cancelled on 10 May, billed 1 July for April and May only", date(2026, 1, 1), date(2026, 5, 10),
     paris(2026, 7, 1), ["avril 2026", "mai 2026"], 6000),
    ("started on the last day of the quarter: that month is due", date(2026, 3, 31), None, paris(2026, 4, 1),
     ["mars 2026"], 3000),
    ("starting next quarter: nothing yet", date(2026, 4, 1), None, paris(2026, 4, 1), [], 0),
    ("started 20 November, billed 1 January for November and December", date(2025, 11, 20), None,
     paris(2026, 1, 1), ["novembre 2025", "décembre 2025"], 6000),
    ("cancelled the month it started", date(2026, 2, 14), date(2026, 2, 20), paris(2026, 4, 1),
     ["février 2026"], 3000),
    ("cancelled last quarter: nothing this quarter", date(2026, 1, 1), date(2026, 3, 3), paris(2026, 7, 1), [], 0),
]


@pytest.mark.parametrize("start, cancel_on, at, months, ht", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_month_begun_while_subscribed_is_billed_once(world, start, cancel_on, at, months, ht):
    subscribe(world, VERNETTE, start, cancel_on)
    run(world, "bill-subscriptions", at)
    run(world, "bill-subscriptions", at + timedelta(hours=2))  # a second run of the same quarter
    found = invoices(world)
    if not months:
        assert found == []
        return
    assert len(found) == 1
    number, slug, period_start, total_ht, vat, ttc, labels = found[0]
    assert (number, slug, total_ht) == ("ABO-000001", VERNETTE, ht)
    assert vat == ht // 5 and ttc == ht + ht // 5  # 20 %
    assert labels == [f"Abonnement Essentiel — {m}" for m in months]
    assert period_start == subscriptions.previous_quarter(at.date())[0]


def test_numbers_have_no_gap_across_estates_and_quarters(world):
    subscribe(world, VERNETTE, date(2026, 1, 1))
    subscribe(world, ROZEL, date(2026, 2, 1), mode="cheque")
    run(world, "bill-subscriptions", paris(2026, 4, 1))
    run(world, "bill-subscriptions", paris(2026, 4, 1, 9))
    run(world, "bill-subscriptions", paris(2026, 7, 1))
    found = invoices(world)
    assert [(n, slug, ht) for n, slug, _, ht, *_ in found] == [
        ("ABO-000001", VERNETTE, 9000), ("ABO-000002", ROZEL, 6000),
        ("ABO-000003", VERNETTE, 9000), ("ABO-000004", ROZEL, 9000)]


def test_a_sponsors_free_month_comes_off_once(world):
    with world.app_context():
        allow_all_estates(db.session)
        vernette, rozel = (db.session.scalars(select(Estate).where(Estate.slug == s)).one() for s in (VERNETTE, ROZEL))
        db.session.add(FriendLead(estate_id=vernette.id, name="Anne Rozel", email="anne@rozel.example",
                                  estate_name="Domaine Rozel", status="onboarded", onboarded_estate_id=rozel.id))
        db.session.commit()
        db.session.remove()
    subscribe(world, VERNETTE, date(2026, 1, 1))
    subscribe(world, ROZEL, date(2026, 2, 1))  # the lead's estate subscribes: Vernette earns a month
    subscribe(world, ROZEL, date(2026, 2, 1))  # recorded again (a plan change): no second month
    with world.app_context():
        assert len(db.session.scalars(select(FreeMonth)).all()) == 1
        db.session.remove()
    run(world, "bill-subscriptions", paris(2026, 4, 1))
    run(world, "bill-subscriptions", paris(2026, 7, 1))
    found = {(slug, start): (ht, labels) for _, slug, start, ht, _, _, labels in invoices(world)}
    ht, labels = found[(VERNETTE, date(2026, 1, 1))]
    assert ht == 9000 - 3000 and labels[-1] == "Mois offert — Parrainage : Domaine Rozel s'est abonné"
    assert found[(VERNETTE, date(2026, 4, 1))][0] == 9000  # once only
    assert found[(ROZEL, date(2026, 1, 1))][0] == 6000


def test_the_pdf_holds_the_legal_mentions_and_totals_and_is_emailed(world):
    subscribe(world, VERNETTE, date(2026, 2, 14), mode="cheque")
    run(world, "bill-subscriptions", paris(2026, 4, 1))
    with world.app_context():
        allow_all_estates(db.session)
        invoice = db.session.scalars(select(OperatorInvoice)).one()
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(invoice.pdf)).pages)
        text = " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())
        for expected in ("Facture n° ABO-000001", "Chai Plateforme SAS", "3 quai Saint-Vincent, 69001 Lyon",
                         "SIRET 84310967900012", "FR12843109679", "RCS Lyon 843 109 679", "Domaine de la Vernette",
                         "Abonnement Essentiel — février 2026", "Abonnement Essentiel — mars 2026",
                         "Total HT", "60,00 €", "TVA 20 %", "12,00 €", "Total TTC", "72,00 €",
                         "Date d'échéance : 01/05/2026", "par chèque", "40 €", "trois fois le taux d'intérêt légal"):
            assert expected in text, expected
        mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains("ABO-000001"))).one()
        assert mail.recipient == f"compta@{VERNETTE}.example"
        assert "72,00 € TTC" in mail.body_text.replace("\xa0", " ").replace("\u202f", " ")
        sources = db.session.scalars(select(OutboxAttachment.source).where(OutboxAttachment.message_id == mail.id)).all()
        assert sources == [f"operator_invoice:{invoice.id}"]
        db.session.remove()


def test_an_unpaid_invoice_is_reminded_once_30_days_after_issue(world):
    subscribe(world, VERNETTE, date(2026, 1, 1))
    subscribe(world, ROZEL, date(2026, 1, 1))
    run(world, "bill-subscriptions", paris(2026, 4, 1))
    with world.app_context():
        allow_all_estates(db.session)
        rozel_invoice = db.session.scalars(select(OperatorInvoice).join(Estate).where(Estate.slug == ROZEL)).one()
        subscriptions.record_payment(db.session, rozel_invoice, amount_cents=10800, method="cheque", reference="CHQ 1",
                                     received_on=date(2026, 4, 20), actor_user_id=None, now=paris(2026, 4, 21))
        db.session.commit()
        assert rozel_invoice.paid_at is not None
        db.session.remove()

    def reminders() -> list[str]:
        with world.app_context():
            found = list(db.session.scalars(select(OutboxMessage.recipient).where(
                OutboxMessage.subject.like("Chai - Rappel%"))))
            db.session.remove()
            return found

    run(world, "remind-subscriptions", paris(2026, 4, 30, 7))  # 29 days
    assert reminders() == []
    run(world, "remind-subscriptions", paris(2026, 5, 2, 7))
    run(world, "remind-subscriptions", paris(2026, 5, 3, 7))
    assert reminders() == [f"compta@{VERNETTE}.example"]  # once; Rozel paid


def test_a_partial_payment_leaves_the_invoice_unpaid(world):
    subscribe(world, VERNETTE, date(2026, 1, 1))
    run(world, "bill-subscriptions", paris(2026, 4, 1))
    with world.app_context():
        allow_all_estates(db.session)
        invoice = db.session.scalars(select(OperatorInvoice)).one()
        subscriptions.record_payment(db.session, invoice, amount_cents=5000, method="transfer", reference="VIR",
                                     received_on=date(2026, 4, 10), actor_user_id=None, now=paris(2026, 4, 10))
        assert invoice.paid_at is None and [i.id for i in subscriptions.unpaid(db.session)] == [invoice.id]
        subscriptions.record_payment(db.session, invoice, amount_cents=5800, method="transfer", reference="VIR 2",
                                     received_on=date(2026, 4, 12), actor_user_id=None, now=paris(2026, 4, 12))
        assert invoice.paid_at is not None and subscriptions.unpaid(db.session) == []
        for bad in (dict(amount_cents=0, method="transfer"), dict(amount_cents=100, method="cash")):
            with pytest.raises(subscriptions.InvalidSubscription):
                subscriptions.record_payment(db.session, invoice, reference="", received_on=date(2026, 4, 12),
                                             actor_user_id=None, now=paris(2026, 4, 12), **bad)
        db.session.rollback()
        db.session.remove()


def test_the_cli_runs_a_job_as_of_a_date(world):
    subscribe(world, VERNETTE, date(2026, 2, 14))
    runner = world.test_cli_runner()
    result = runner.invoke(args=["chai", "jobs", "run", "bill-subscriptions", "--at", "2026-04-01 06:00"])
    assert result.exit_code == 0, result.output
    assert "Tâche bill-subscriptions exécutée à la date du 01/04/2026 06:00" in result.output
    assert [(n, ht) for n, _, _, ht, *_ in invoices(world)] == [("ABO-000001", 6000)]
    assert runner.invoke(args=["chai", "jobs", "run", "nope"]).exit_code != 0
    assert runner.invoke(args=["chai", "jobs", "run", "bill-subscriptions", "--at", "1er avril"]).exit_code != 0
    listed = runner.invoke(args=["chai", "jobs", "list"]).output
    assert "bill-subscriptions" in listed and "month='1,4,7,10'" in listed


def test_subscription_rules(world):
    with world.app_context():
        allow_all_estates(db.session)
        estate = db.session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        plan = db.session.scalars(select(Plan)).one()
        for bad, field in ((dict(plan_id=None), "plan"), (dict(starts_on=None), "starts_on"),
                           (dict(billing_email="pas-un-email"), "billing_email"), (dict(payment_mode="carte"), "payment_mode")):
            fields = dict(plan_id=plan.id, starts_on=date(2026, 1, 1), billing_email="a@b.fr", payment_mode="transfer")
            fields.update(bad)
            with pytest.raises(subscriptions.InvalidSubscription) as refused:
                subscriptions.subscribe(db.session, estate, **fields)
            assert refused.value.field == field
        subscription = subscriptions.subscribe(db.session, estate, plan_id=plan.id, starts_on=date(2026, 1, 15),
                                               billing_email="a@b.fr", payment_mode="transfer")
        assert subscriptions.status(subscription, date(2026, 1, 10)) == "trial"
        assert subscriptions.status(subscription, date(2026, 1, 15)) == "active"
        subscriptions.cancel(db.session, subscription, date(2026, 5, 10))
        assert subscription.ends_on == date(2026, 5, 31)
        assert subscriptions.status(subscription, date(2026, 5, 31)) == "active"
        assert subscriptions.status(subscription, date(2026, 6, 1)) == "cancelled"
        assert db.session.scalars(select(Subscription)).one().ends_on == date(2026, 5, 31)
        db.session.rollback()
        db.session.remove()
