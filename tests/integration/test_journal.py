"""The tamper-evident sales journal (CGI art. 286 I 3° bis, services/journal.py): every
invoice, credit note and succeeded payment appended in its own transaction, chained by
SHA-256; `flask journal verify` names the first altered entry; the database refuses
UPDATE and DELETE; closings, archives, concurrency, the back-office page."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from models import (DeliveryKind, Document, Estate, Invoice, InvoiceKind, JournalArchive, JournalClosing,
                    JournalEntry, Order, OrderLine, OrderStatus, Payment, PaymentMode, PaymentStatus, db)
from services import invoicing, jobs, journal, payment_flow
from services.payments import SUCCEEDED, PayIn
from services.templating import PARIS
from services.tenancy import scope_to_estate
from tests.conftest import at_once, login, session_for, text_of, visitor
from tests.integration.test_statistics import add_customer

VERNETTE = "domaine-de-la-vernette"
ROZEL = "domaine-rozel"
PUBLIC_URL = "http://shop.test"
_numbers = iter(range(1, 10_000))


def paris(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def _estate(session, slug: str = VERNETTE) -> Estate:  # type: ignore[no-untyped-def]
    return session.scalars(select(Estate).where(Estate.slug == slug)).one()


def _order(session, estate: Estate, lines: list[tuple[int, int]], at: datetime,  # type: ignore[no-untyped-def]
           status: OrderStatus = OrderStatus.PAID, mode: PaymentMode = PaymentMode.CHEQUE) -> Order:
    """An order whose ``lines`` are (VAT rate in basis points, TTC cents)."""
    n = next(_numbers)
    customer_id = add_customer(session, estate.id, f"journal{n}@example.com")
    order = Order(estate_id=estate.id, number=f"J-{n:05d}", checkout_token=f"journal-{n}", status=status,
                  customer_id=customer_id, prices_include_vat=True, payment_mode=mode,
                  delivery_kind=DeliveryKind.PICKUP, delivery_label="Enlèvement",
                  email="client@example.com", billing_name="Client Test", billing_street="1 rue du Test",
                  billing_postcode="69000", billing_city="Lyon", billing_country="FR", bottles=0, goods_ht_cents=0,
                  shipping_ttc_cents=0, total_ht_cents=0, total_vat_cents=0, total_ttc_cents=0,
                  conditions_accepted_at=at, created_at=at,
                  paid_at=None if status is OrderStatus.PENDING_PAYMENT else at)
    for rate, ttc in lines:
        ht = round(ttc * 10_000 / (10_000 + rate))
        order.lines.append(OrderLine(estate_id=estate.id, label=f"Vin à {rate}", quantity=1, unit_price_cents=ttc,
                                     vat_rate_bp=rate, ht_cents=ht, vat_cents=ttc - ht, ttc_cents=ttc))
        order.total_ttc_cents += ttc
        order.total_ht_cents += ht
        order.total_vat_cents += ttc - ht
        order.bottles += 1
    session.add(order)
    session.flush()
    return order


def _invoice(session, estate: Estate, order: Order, at: datetime,  # type: ignore[no-untyped-def]
             credited: Invoice | None = None) -> Invoice:
    """An Invoice row as services.invoicing writes it, with a tiny PDF (rendering one
    takes a second; the journal sees rows, not how they were made)."""
    kind = InvoiceKind.CREDIT_NOTE if credited else InvoiceKind.INVOICE
    number = f"{'AV' if credited else 'F'}T-{next(_numbers):05d}"
    document = Document(estate_id=estate.id, order_id=order.id, kind=kind.value, filename=f"{number}.pdf",
                        content=b"%PDF-1.4 " + number.encode(), created_at=at)
    invoice = Invoice(estate_id=estate.id, order_id=order.id, kind=kind, number=number, issued_at=at,
                      total_ht_cents=order.total_ht_cents, total_vat_cents=order.total_vat_cents,
                      total_ttc_cents=order.total_ttc_cents, credited_invoice_id=credited.id if credited else None,
                      document=document)
    session.add(invoice)
    session.flush()
    return invoice


def _pay(session, estate: Estate, order: Order, at: datetime,  # type: ignore[no-untyped-def]
         amount: int | None = None) -> Payment:
    payment = Payment(estate_id=estate.id, order_id=order.id, provider="manual", mode=order.payment_mode,
                      status=PaymentStatus.SUCCEEDED, amount_cents=order.total_ttc_cents if amount is None else amount,
                      idempotency_key=secrets.token_hex(16), succeeded_at=at)
    session.add(payment)
    session.flush()
    return payment


def _entries(session, estate_id: int) -> list[JournalEntry]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(JournalEntry).where(JournalEntry.estate_id == estate_id)
                                .order_by(JournalEntry.seq)))


def _verify(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["journal", "verify", *args])


# ------------------------------------------------------------------ recording


def test_an_invoice_a_credit_note_and_a_payment_each_append_one_chained_entry(app):
    with session_for(app) as session:
        estate = _estate(session)
        at = datetime.now(timezone.utc).replace(microsecond=123456)
        order = _order(session, estate, [(2000, 1200), (550, 1055)], at, status=OrderStatus.PENDING_PAYMENT)
        payment_flow.mark_paid_by_hand(session, estate, order, payment_flow.SYSTEM, at, PUBLIC_URL)
        session.flush()
        invoice = invoicing.issue_invoice(session, estate, order, at)
        credit = invoicing.issue_credit_note(session, estate, order, invoice, at + timedelta(seconds=1))
        session.commit()
        entries = _entries(session, estate.id)
        numbers = invoice.number, credit.number, order.number
    invoice_number, credit_number, order_number = numbers
    assert [(e.seq, e.kind) for e in entries] == [(1, "payment"), (2, "invoice"), (3, "credit_note")]
    assert [e.amount_cents for e in entries] == [2255, 2255, -2255]
    assert entries[0].previous_hash == journal.GENESIS
    assert [e.previous_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert entries[0].recorded_at == at  # microseconds round-trip
    sealed = json.loads(entries[1].payload)
    assert sealed["number"] == invoice_number and sealed["order"] == order_number and sealed["kind"] == "invoice"
    assert (sealed["total_ht_cents"], sealed["total_vat_cents"], sealed["total_ttc_cents"]) == (2000, 255, 2255)
    assert sealed["vat"] == {"550": {"ht_cents": 1000, "vat_cents": 55, "ttc_cents": 1055},
                             "2000": {"ht_cents": 1000, "vat_cents": 200, "ttc_cents": 1200}}
    assert entries[1].payload == journal.canonical_json(sealed)  # canonical: sorted keys, no spaces
    assert json.loads(entries[2].payload)["credits"] == invoice_number and entries[2].reference == credit_number
    paid = json.loads(entries[0].payload)
    assert (paid["order"], paid["mode"], paid["amount_cents"]) == (order_number, "cheque", 2255)
    for entry in entries:
        assert entry.hash == journal.entry_hash(entry.estate_id, entry.seq, entry.kind, entry.reference,
                                                entry.amount_cents, entry.recorded_at, entry.payload,
                                                entry.previous_hash)
    result = _verify(app, "--estate", VERNETTE)
    assert result.exit_code == 0 and f"{VERNETTE}: OK: 3 entries" in result.output


def test_a_rolled_back_sale_leaves_no_entry_and_no_gap(app):
    with session_for(app) as session:
        estate = _estate(session)
        at = datetime.now(timezone.utc)
        order = _order(session, estate, [(2000, 3000)], at)
        session.commit()
        invoicing.issue_invoice(session, estate, order, at)
        assert len(_entries(session, estate.id)) == 1  # in the transaction
        session.rollback()
        assert _entries(session, estate.id) == []
        order = session.get(Order, order.id)
        _pay(session, estate, order, at)
        session.commit()
        assert [(e.seq, e.kind, e.previous_hash) for e in _entries(session, estate.id)] == [
            (1, "payment", journal.GENESIS)]


def test_a_card_payment_settled_twice_by_the_provider_is_journaled_once(app):
    """services.payment_flow.apply_payin moves the payment by a bulk UPDATE (the hook of
    do_orm_execute), and a replayed notification changes nothing."""
    with session_for(app) as session:
        estate = _estate(session)
        at = datetime.now(timezone.utc)
        order = _order(session, estate, [(2000, 4800)], at, status=OrderStatus.PENDING_PAYMENT,
                       mode=PaymentMode.CARD)
        session.add(Payment(estate_id=estate.id, order_id=order.id, provider="mangopay", mode=PaymentMode.CARD,
                            status=PaymentStatus.CREATED, amount_cents=4800, provider_payin_id="payin-77",
                            idempotency_key=secrets.token_hex(16)))
        session.commit()
        assert _entries(session, estate.id) == []
        payin = PayIn(id="payin-77", status=SUCCEEDED, amount_cents=4800)
        for _ in range(2):
            payment_flow.apply_payin(session, "mangopay", payin, at, PUBLIC_URL)
            session.commit()
        entries = _entries(session, estate.id)
        assert session.get(Order, order.id).status is OrderStatus.PAID
        assert [(e.kind, e.amount_cents) for e in entries] == [("payment", 4800)]
        sealed = json.loads(entries[0].payload)
        assert (sealed["provider"], sealed["provider_reference"], sealed["order"]) == ("mangopay", "payin-77",
                                                                                       order.number)


def test_a_payment_moved_to_succeeded_by_the_unit_of_work_is_journaled_once(app):
    with session_for(app) as session:
        estate = _estate(session)
        at = datetime.now(timezone.utc)
        order = _order(session, estate, [(2000, 1500)], at, status=OrderStatus.PENDING_PAYMENT)
        payment = Payment(estate_id=estate.id, order_id=order.id, provider="manual", mode=PaymentMode.TRANSFER,
                          status=PaymentStatus.CREATED, amount_cents=1500, idempotency_key=secrets.token_hex(16))
        session.add(payment)
        session.commit()
        payment.status, payment.succeeded_at = PaymentStatus.SUCCEEDED, at
        session.commit()
        payment.result_message = "vu sur le relevé"
        session.commit()
        session.expire_all()
        payment = session.get(Payment, payment.id)
        payment.status = PaymentStatus.SUCCEEDED  # the old status not loaded: must not record twice
        session.commit()
        assert [(e.kind, e.reference) for e in _entries(session, estate.id)] == [
            ("payment", f"P{payment.id} {order.number}")]


def test_the_back_offices_paiement_recu_facturer_and_uploaded_invoice_are_journaled(app):
    """The real paths: "Paiement reçu" (a cheque), "Facturer" (the PDF rendered), an
    invoice uploaded from the estate's own software, then a cancellation's credit note."""
    from tests.integration.test_orders_admin import _order as place_orders

    first, second = place_orders(app, n=2, who="journal")
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    base = f"/gestion/{VERNETTE}/commandes"
    staff.post(f"{base}/{first}/statut", data={"to": "paid"})
    staff.post(f"{base}/{first}/facturer")
    uploaded = staff.post(f"{base}/{second}/facture-externe", content_type="multipart/form-data",
                          data={"number": "2026-118", "invoice": (io.BytesIO(b"%PDF-1.4\n%mine\n"), "f.pdf")})
    assert uploaded.status_code == 302
    staff.post(f"{base}/{first}/statut", data={"to": "cancelled"})
    with session_for(app) as session:
        estate_id = _estate(session).id
        entries = _entries(session, estate_id)
        numbers = {order_id: session.get(Order, order_id).number for order_id in (first, second)}
    assert [e.kind for e in entries] == ["payment", "invoice", "invoice", "credit_note"]
    assert [json.loads(e.payload)["order"] for e in entries] == [numbers[first]] * 2 + [numbers[second], numbers[first]]
    assert json.loads(entries[2].payload)["external"] is True and entries[2].reference == "2026-118"
    invoice = json.loads(entries[1].payload)
    assert invoice["vat"] and invoice["total_ttc_cents"] == entries[1].amount_cents
    for total in ("ht_cents", "vat_cents", "ttc_cents"):  # the breakdown per rate adds up to the totals
        assert sum(rate[total] for rate in invoice["vat"].values()) == invoice[f"total_{total}"]
    assert entries[3].amount_cents == -entries[1].amount_cents
    assert _verify(app).exit_code == 0


def test_journaling_a_payment_costs_three_statements(app):
    """The counter's UPDATE, the previous entry's hash, the INSERT: the order's number
    comes from the session when it holds the order."""
    from tests.querycount import count_queries

    with session_for(app) as session:
        estate = _estate(session)
        at = datetime.now(timezone.utc)
        orders = [_order(session, estate, [(2000, 1000)], at) for _ in range(2)]
        _pay(session, estate, orders[0], at)  # the first entry also creates the counter
        session.commit()
        assert orders[1].number and orders[1].total_ttc_cents  # loaded, as in a view that marks it paid
        with count_queries(app) as queries:
            _pay(session, estate, orders[1], at)
        (inserted,) = [n for n, statement in enumerate(queries) if statement.startswith("INSERT INTO payment")]
        assert len(queries[inserted + 1:]) == 3, queries.report()
        assert "journal_entry" in queries[-1] and queries[-1].startswith("INSERT")
        session.commit()


def test_estates_have_separate_chains(app):
    with session_for(app) as session:
        at = datetime.now(timezone.utc)
        for slug in (VERNETTE, ROZEL, VERNETTE):
            estate = _estate(session, slug)
            _pay(session, estate, _order(session, estate, [(2000, 1000)], at), at)
        session.commit()
        vernette, rozel = _estate(session).id, _estate(session, ROZEL).id
        assert [e.seq for e in _entries(session, vernette)] == [1, 2]
        assert [(e.seq, e.previous_hash) for e in _entries(session, rozel)] == [(1, journal.GENESIS)]
    result = _verify(app)
    assert result.exit_code == 0
    assert f"{VERNETTE}: OK: 2 entries" in result.output and f"{ROZEL}: OK: 1 entries" in result.output


# ------------------------------------------------------------------ tampering and triggers


def _three_entries(app) -> int:  # type: ignore[no-untyped-def]
    """A payment, an invoice and a credit note of Vernette; its estate id."""
    with session_for(app) as session:
        estate = _estate(session)
        at = datetime.now(timezone.utc)
        order = _order(session, estate, [(2000, 2400)], at)
        _pay(session, estate, order, at)
        invoice = _invoice(session, estate, order, at)
        _invoice(session, estate, order, at + timedelta(seconds=1), credited=invoice)
        session.commit()
        return estate.id


def _with_trigger_off(session, backend: str, table: str, operation: str, statement: str,  # type: ignore[no-untyped-def]
                      params: dict) -> None:
    """Run ``statement`` past the append-only trigger, as someone with the database's
    keys would, then put the trigger back."""
    if backend == "postgresql":
        session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        session.execute(text(statement), params)
        session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
    else:
        name = f"{table}_no_{operation.lower()}"
        session.execute(text(f"DROP TRIGGER {name}"))
        session.execute(text(statement), params)
        session.execute(text(f"CREATE TRIGGER {name} BEFORE {operation} ON {table} BEGIN SELECT "
                             f"RAISE(ABORT, 'append-only: {operation} on {table} refused'); END"))
    session.commit()


def _flip(value: str) -> str:
    """One byte changed, in the middle."""
    middle = len(value) // 2
    return value[:middle] + chr(ord(value[middle]) ^ 1) + value[middle + 1:]


@pytest.mark.parametrize("column", ["payload", "amount_cents", "recorded_at", "previous_hash", "hash", "reference"])
def test_changing_a_byte_of_a_past_entry_makes_verify_name_it(app, backend, column):
    estate_id = _three_entries(app)
    assert _verify(app).exit_code == 0
    with session_for(app) as session:
        entry = session.scalars(select(JournalEntry).where(JournalEntry.estate_id == estate_id,
                                                           JournalEntry.seq == 2)).one()
        entry_id, kind, reference = entry.id, entry.kind, entry.reference
        changed = {"payload": _flip(entry.payload), "amount_cents": entry.amount_cents + 1,
                   "recorded_at": entry.recorded_at + timedelta(microseconds=1),
                   "previous_hash": _flip(entry.previous_hash), "hash": _flip(entry.hash),
                   "reference": _flip(entry.reference)}[column]
        _with_trigger_off(session, backend, "journal_entry", "UPDATE",
                          f"UPDATE journal_entry SET {column} = :value WHERE id = :id",
                          {"value": changed, "id": entry_id})
        assert getattr(session.get(JournalEntry, entry_id), column) == changed
    result = _verify(app)
    assert result.exit_code == 1
    if column == "reference":
        reference = changed
    assert f"{VERNETTE}: BROKEN at seq 2 ({kind} {reference})" in result.output, result.output


def test_a_deleted_entry_breaks_the_chain_at_its_place_and_a_deleted_last_one_is_seen_too(app, backend):
    estate_id = _three_entries(app)
    with session_for(app) as session:
        _with_trigger_off(session, backend, "journal_entry", "DELETE",
                          "DELETE FROM journal_entry WHERE estate_id = :e AND seq = 2", {"e": estate_id})
    result = _verify(app, "--estate", VERNETTE)
    assert result.exit_code == 1 and "BROKEN at seq 3" in result.output and "numéro 2 manquant" in result.output
    with session_for(app) as session:
        _with_trigger_off(session, backend, "journal_entry", "DELETE",
                          "DELETE FROM journal_entry WHERE estate_id = :e AND seq = 3", {"e": estate_id})
    result = _verify(app, "--estate", VERNETTE)
    assert result.exit_code == 1 and "BROKEN at seq 2" in result.output and "manquantes en fin" in result.output


def _refused(session, statement: str, params: dict) -> bool:  # type: ignore[no-untyped-def]
    try:
        with session.begin_nested():
            session.execute(text(statement), params)
    except DatabaseError as exc:
        return "append-only" in str(exc)
    return False


def test_the_database_refuses_to_update_or_delete_entries_invoices_and_their_pdfs(app):
    estate_id = _three_entries(app)
    with session_for(app) as session:
        entry_id = session.scalar(select(JournalEntry.id).where(JournalEntry.estate_id == estate_id))
        invoice = session.scalars(select(Invoice).where(Invoice.estate_id == estate_id)).first()
        invoice_id, document_id, order_id = invoice.id, invoice.document_id, invoice.order_id
        assert _refused(session, "UPDATE journal_entry SET amount_cents = 1 WHERE id = :id", {"id": entry_id})
        assert _refused(session, "DELETE FROM journal_entry WHERE id = :id", {"id": entry_id})
        assert _refused(session, "UPDATE invoice SET total_ttc_cents = 1 WHERE id = :id", {"id": invoice_id})
        assert _refused(session, "DELETE FROM invoice WHERE id = :id", {"id": invoice_id})
        assert _refused(session, "DELETE FROM document WHERE id = :id", {"id": document_id})
        assert _refused(session, "UPDATE document SET content = :c WHERE id = :id", {"c": b"%PDF-x", "id": document_id})
        # an order form is not a legal record: it may go (with its order, say)
        form = Document(estate_id=estate_id, order_id=order_id, kind="order_form", filename="bon.pdf",
                        content=b"%PDF-1.4")
        session.add(form)
        session.commit()
        assert not _refused(session, "DELETE FROM document WHERE id = :id", {"id": form.id})
        session.commit()
        assert session.get(JournalEntry, entry_id) is not None and session.get(Document, document_id) is not None
    assert _verify(app).exit_code == 0


def test_no_code_path_updates_or_deletes_a_journal_row():
    """The journal's rows are only ever inserted: no ORM or Core UPDATE/DELETE names them."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    pattern = re.compile(r"(update|delete)\((JournalEntry|JournalClosing|JournalArchive)|"
                         r"(UPDATE|DELETE FROM)\s+journal_", re.IGNORECASE)
    offenders = [str(path.relative_to(root)) for folder in ("services", "admin", "shop") for path in
                 (root / folder).rglob("*.py") if pattern.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


# ------------------------------------------------------------------ closings


def _closings(session, estate_id: int, period: str) -> list[JournalClosing]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(JournalClosing).where(JournalClosing.estate_id == estate_id,
                                                             JournalClosing.period == period)
                                .order_by(JournalClosing.starts_on)))


def _totals(closing: JournalClosing) -> tuple:
    return (closing.entries, closing.sales_ttc_cents, closing.sales_ht_cents, closing.vat_cents,
            closing.credits_ttc_cents, closing.payments_cents, closing.perpetual_total_cents)


def _march_sales(app) -> int:  # type: ignore[no-untyped-def]
    """2 March (Paris): invoices A (12 € at 20 %, 10.55 € at 5.5 %) and B (36 €), A's
    credit note, B's payment and a 10 € cheque at 23:30; 3 March at 00:30 (still 2 March
    in UTC): invoice C (12 €)."""
    with session_for(app) as session:
        estate = _estate(session)
        a = _order(session, estate, [(2000, 1200), (550, 1055)], paris(2026, 3, 2, 9))
        b = _order(session, estate, [(2000, 3600)], paris(2026, 3, 2, 9))
        invoice_a = _invoice(session, estate, a, paris(2026, 3, 2, 10))
        _invoice(session, estate, b, paris(2026, 3, 2, 11))
        _invoice(session, estate, a, paris(2026, 3, 2, 15), credited=invoice_a)
        _pay(session, estate, b, paris(2026, 3, 2, 16))
        _pay(session, estate, a, paris(2026, 3, 2, 23, 30), amount=1000)
        c = _order(session, estate, [(2000, 1200)], paris(2026, 3, 3, 0, 10))
        _invoice(session, estate, c, paris(2026, 3, 3, 0, 30))
        session.commit()
        return estate.id


def test_a_day_closing_holds_the_paris_days_totals_and_the_job_catches_up_missed_days(app):
    estate_id = _march_sales(app)
    jobs.run_by_hand(app, "journal-closings", paris(2026, 3, 4, 0, 20))  # the runs of 3 and 4 March were missed
    with session_for(app) as session:
        march_2, march_3 = _closings(session, estate_id, "day")
        assert (march_2.starts_on, march_2.ends_on, march_3.starts_on) == (date(2026, 3, 2), date(2026, 3, 2),
                                                                          date(2026, 3, 3))
        #                        entries, invoices TTC, HT, VAT, credit notes TTC, payments, perpetual
        assert _totals(march_2) == (5, 1200 + 1055 + 3600, 1000 + 1000 + 3000, 200 + 55 + 600, 2255, 3600 + 1000,
                                    3600)
        assert _totals(march_3) == (1, 1200, 1000, 200, 0, 0, 3600 + 1200)
        assert (march_2.last_seq, march_3.last_seq) == (5, 6)
        sealed = {e.seq: e for e in _entries(session, estate_id)}
        for closing in (march_2, march_3):
            entry = sealed[closing.entry_seq]
            assert entry.kind == "closing" and entry.hash == closing.hash
            assert json.loads(entry.payload)["perpetual_total_cents"] == closing.perpetual_total_cents
        assert _closings(session, estate_id, "month") == []  # March is not over
        count = session.scalar(select(func.count()).select_from(JournalEntry))
    jobs.run_by_hand(app, "journal-closings", paris(2026, 3, 4, 0, 20))
    jobs.run_by_hand(app, "journal-closings", paris(2026, 3, 5, 0, 20))  # 4 March: only closings, no sale
    with session_for(app) as session:
        assert len(_closings(session, estate_id, "day")) == 2
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == count
    assert _verify(app).exit_code == 0


def test_month_and_year_closings_carry_the_perpetual_grand_total_across_months(app):
    estate_id = _march_sales(app)
    jobs.run_by_hand(app, "journal-closings", paris(2026, 3, 4, 0, 20))
    with session_for(app) as session:
        estate = _estate(session)
        _invoice(session, estate, _order(session, estate, [(2000, 6000)], paris(2026, 4, 10)), paris(2026, 4, 10))
        session.commit()
    jobs.run_by_hand(app, "journal-closings", paris(2026, 5, 1, 0, 20))  # 1 April's run was missed
    with session_for(app) as session:
        march, april = _closings(session, estate_id, "month")
        assert (march.starts_on, march.ends_on, april.starts_on, april.ends_on) == (
            date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 30))
        assert _totals(march) == (6, 7055, 6000, 1055, 2255, 4600, 4800)
        assert _totals(april) == (1, 6000, 5000, 1000, 0, 0, 4800 + 6000)
        assert _totals(_closings(session, estate_id, "day")[-1]) == (1, 6000, 5000, 1000, 0, 0, 10800)
        assert _closings(session, estate_id, "year") == []
    jobs.run_by_hand(app, "journal-closings", paris(2027, 1, 1, 0, 20))
    jobs.run_by_hand(app, "journal-closings", paris(2027, 1, 1, 0, 20))
    with session_for(app) as session:
        (year,) = _closings(session, estate_id, "year")
        assert (year.starts_on, year.ends_on) == (date(2026, 1, 1), date(2026, 12, 31))
        assert _totals(year) == (7, 13055, 11000, 2055, 2255, 4600, 10800)
        assert len(_closings(session, estate_id, "month")) == 2  # May to December: only closings, none needed
    assert _verify(app).exit_code == 0


def test_closing_by_hand_is_refused_before_the_period_ends_and_made_once(app):
    _march_sales(app)
    runner = app.test_cli_runner()
    future = (datetime.now(timezone.utc) + timedelta(days=2)).astimezone(PARIS).date().isoformat()
    refused = runner.invoke(args=["journal", "close", "--period", "day", "--date", future])
    assert refused.exit_code == 1 and "pas terminée" in refused.output
    made = runner.invoke(args=["journal", "close", "--period", "month", "--date", "2026-03-15"])
    assert made.exit_code == 0 and "grand total perpétuel 48.00 €" in made.output, made.output
    again = runner.invoke(args=["journal", "close", "--period", "month", "--date", "2026-03-01"])
    assert again.exit_code == 0 and "déjà clôturée" in again.output
    earlier = runner.invoke(args=["journal", "close", "--period", "month", "--date", "2026-02-01"])
    assert earlier.exit_code == 1 and "postérieure" in earlier.output
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(JournalClosing)) == 1
    assert _verify(app).exit_code == 0


def test_an_altered_closing_is_named_by_verify(app, backend):
    estate_id = _march_sales(app)
    jobs.run_by_hand(app, "journal-closings", paris(2026, 3, 4, 0, 20))
    with session_for(app) as session:
        first = _closings(session, estate_id, "day")[0]
        _with_trigger_off(session, backend, "journal_closing", "UPDATE",
                          "UPDATE journal_closing SET sales_ttc_cents = 1 WHERE id = :id", {"id": first.id})
        seq = first.entry_seq
    result = _verify(app)
    assert result.exit_code == 1 and f"BROKEN at seq {seq} (closing day 2026-03-02)" in result.output, result.output


# ------------------------------------------------------------------ archives


def test_an_archives_sha256_is_recorded_and_its_manifest_matches_its_files(app):
    estate_id = _march_sales(app)
    jobs.run_by_hand(app, "journal-closings", paris(2026, 3, 4, 0, 20))
    with session_for(app) as session:
        estate = _estate(session)
        out = io.BytesIO()
        record = journal.export_archive(session, estate, date(2026, 3, 1), date(2026, 3, 31), paris(2026, 4, 2),
                                        out, user_id=None)
        session.commit()
        data = out.getvalue()
        assert record.sha256 == hashlib.sha256(data).hexdigest() and record.size == len(data)
        last = _entries(session, estate_id)[-1]
        assert (last.kind, last.seq, json.loads(last.payload)["sha256"]) == ("archive", record.entry_seq, record.sha256)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = set(archive.namelist()) - {"manifest.json"}
        assert names == set(manifest["files"])
        for name in names:
            assert hashlib.sha256(archive.read(name)).hexdigest() == manifest["files"][name]["sha256"]
        assert len([n for n in names if n.startswith("factures/")]) == 3
        assert len([n for n in names if n.startswith("avoirs/")]) == 1
        lines = archive.read("journal.jsonl").decode().splitlines()
        assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5, 6, 7, 8]  # sales, then two closings
        assert archive.read("journal.csv").decode().splitlines()[0].startswith("seq;kind;reference")
        assert len(archive.read("clotures.jsonl").decode().splitlines()) == 2
    assert _verify(app).exit_code == 0


def test_the_archive_command_writes_the_file_whose_hash_it_records(app, tmp_path):
    _march_sales(app)
    out = tmp_path / "archive.zip"
    result = app.test_cli_runner().invoke(args=["journal", "archive", "--estate", VERNETTE, "--from", "2026-03-01",
                                                "--to", "2026-03-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with session_for(app) as session:
        (record,) = session.scalars(select(JournalArchive)).all()
        assert record.sha256 == hashlib.sha256(out.read_bytes()).hexdigest() and record.sha256 in result.output
    reversed_dates = app.test_cli_runner().invoke(args=["journal", "archive", "--estate", VERNETTE, "--from",
                                                        "2026-03-31", "--to", "2026-03-01", "--out", str(out)])
    assert reversed_dates.exit_code == 1 and "le premier jour ou après" in reversed_dates.output


# ------------------------------------------------------------------ concurrency


def test_two_sales_recorded_at_once_get_seq_1_and_2_on_one_valid_chain(app):
    with session_for(app) as session:
        estate = _estate(session)
        estate_id = estate.id
        at = datetime.now(timezone.utc)
        order_ids = [_order(session, estate, [(2000, 1000 * (n + 1))], at).id for n in range(2)]
        session.commit()

    def pay(order_id: int):  # type: ignore[no-untyped-def]
        def run() -> None:
            with app.app_context():
                scope_to_estate(db.session, estate_id)
                try:
                    estate = db.session.get(Estate, estate_id)
                    _pay(db.session, estate, db.session.get(Order, order_id), datetime.now(timezone.utc))
                    db.session.commit()
                finally:
                    db.session.remove()
        return run

    at_once([pay(order_ids[0]), pay(order_ids[1])])
    with session_for(app) as session:
        entries = _entries(session, estate_id)
        assert [e.seq for e in entries] == [1, 2]
        assert sorted(e.amount_cents for e in entries) == [1000, 2000]
        assert entries[1].previous_hash == entries[0].hash
    assert _verify(app).exit_code == 0


# ------------------------------------------------------------------ the back office


def test_the_journal_page_shows_closings_chain_status_and_exports_an_archive(app):
    estate_id = _march_sales(app)
    jobs.run_by_hand(app, "journal-closings", paris(2026, 4, 1, 0, 20))
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    page = text_of(staff.get(f"/gestion/{VERNETTE}/journal-des-ventes"))
    assert "Journal intègre : 9 écritures vérifiées, 3 clôtures." in page
    with session_for(app) as session:
        month = _closings(session, estate_id, "month")[0]
    assert month.hash[:12] in page and "48,00" in page
    assert "Journal des ventes" in text_of(staff.get(f"/gestion/{VERNETTE}/"))
    response = staff.post(f"/gestion/{VERNETTE}/journal-des-ventes/archive",
                          data={"starts_on": "2026-03-01", "ends_on": "2026-03-31"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    digest = hashlib.sha256(response.data).hexdigest()
    assert response.headers["X-Archive-SHA256"] == digest
    assert digest in text_of(staff.get(f"/gestion/{VERNETTE}/journal-des-ventes"))
    refused = staff.post(f"/gestion/{VERNETTE}/journal-des-ventes/archive",
                         data={"starts_on": "2026-03-31", "ends_on": "2026-03-01"})
    assert refused.status_code == 422 and "le premier jour ou après" in text_of(refused)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(JournalArchive)) == 1


def test_an_estate_sees_only_its_own_journal_and_a_broken_chain_is_shown(app, backend):
    estate_id = _march_sales(app)
    jobs.run_by_hand(app, "journal-closings", paris(2026, 4, 1, 0, 20))
    rozel = visitor(app)
    login(rozel, "vigneron@rozel.example")
    assert rozel.get(f"/gestion/{VERNETTE}/journal-des-ventes").status_code == 404
    assert rozel.post(f"/gestion/{VERNETTE}/journal-des-ventes/archive",
                      data={"starts_on": "2026-03-01", "ends_on": "2026-03-31"}).status_code == 404
    own = text_of(rozel.get(f"/gestion/{ROZEL}/journal-des-ventes"))
    assert "Journal intègre : 0 écritures vérifiées, 0 clôtures." in own and "Aucune clôture" in own
    with session_for(app) as session:
        assert "48,00" not in own and _closings(session, estate_id, "month")[0].hash[:12] not in own
        entry = _entries(session, estate_id)[3]
        _with_trigger_off(session, backend, "journal_entry", "UPDATE",
                          "UPDATE journal_entry SET amount_cents = 1 WHERE id = :id", {"id": entry.id})
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    page = text_of(staff.get(f"/gestion/{VERNETTE}/journal-des-ventes"))
    assert "Journal altéré à l'écriture n° 4" in page
