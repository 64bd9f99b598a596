"""The accounting export (« Comptabilité »): a hand-built month of orders, paid, invoiced
and credited through the real services, exported as an FEC and a CSV and compared with
entries computed by hand."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (AuditEntry, DeliveryKind, Estate, EstateCustomer, Invoice, InvoiceKind, Order, OrderLine,
                    OrderStatus, Payment, PaymentMode)
from services import accounting, invoicing, orders, payment_flow, quote
from services.payments import SUCCEEDED, PayIn
from tests.conftest import login, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
PUBLIC_URL = "http://shop.test"
MARCH = {"du": "2025-03-01", "au": "2025-03-31"}
STAFF = orders.Actor(None, "Test")
FEC_HEADER = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
              "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
              "ValidDate", "Montantdevise", "Idevise"]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _estate(session: Session, slug: str) -> Estate:
    return session.scalars(select(Estate).where(Estate.slug == slug)).one()


def _customer(session: Session, estate: Estate, email: str, first: str, last: str, company: str = "",
              number: str = "") -> EstateCustomer:
    customer = EstateCustomer(estate_id=estate.id, email=email, first_name=first, last_name=last, company=company,
                              external_number=number)
    session.add(customer)
    session.flush()
    return customer


def _order(session: Session, estate: Estate, customer: EstateCustomer, number: str, mode: PaymentMode,
           items: list[quote.Item], *, shipping_ttc: int = 0, discount_ttc: int = 0, created: str) -> Order:
    """An order awaiting payment, priced by services.quote like a checkout's."""
    adjustments = [SimpleNamespace(wine_id=None, reason="Remise -10 %", amount_cents=-discount_ttc, vat_rate_bp=2000,
                                   promotion_id=None)] if discount_ttc else []
    priced = quote.price(items, prices_include_vat=True, shipping_ttc_cents=shipping_ttc, adjustments=adjustments)
    name = f"{customer.first_name} {customer.last_name}"
    order = Order(estate_id=estate.id, number=number, checkout_token=secrets.token_hex(16),
                  status=OrderStatus.PENDING_PAYMENT, customer_id=customer.id, prices_include_vat=True,
                  payment_mode=mode, delivery_kind=DeliveryKind.HOME if shipping_ttc else DeliveryKind.PICKUP,
                  delivery_label="Livraison" if shipping_ttc else "Enlèvement", email=customer.email,
                  billing_name=name, billing_company=customer.company, billing_street="3 rue des Lilas",
                  billing_postcode="69007", billing_city="Lyon", billing_country="FR", bottles=priced.bottles,
                  goods_ht_cents=priced.goods_ht_cents, shipping_ttc_cents=priced.shipping_ttc_cents,
                  total_ht_cents=priced.total_ht_cents, total_vat_cents=priced.total_vat_cents,
                  total_ttc_cents=priced.total_ttc_cents, conditions_accepted_at=utc(created), created_at=utc(created),
                  lines=[OrderLine(estate_id=estate.id, wine_id=None, label=line.label, quantity=line.quantity,
                                   unit_price_cents=line.unit_cents, vat_rate_bp=line.vat_rate_bp,
                                   ht_cents=line.ht_cents, vat_cents=line.vat_cents, ttc_cents=line.ttc_cents,
                                   is_shipping=line.is_shipping, kind=line.kind) for line in priced.lines])
    session.add(order)
    session.flush()
    return order


def _pay_by_card(session: Session, order: Order, at: str, fee_cents: int) -> None:
    """As the card flow records it: an attempt, its pay-in, then the provider's answer."""
    payment = payment_flow.open_payment(session, order, "mangopay")
    payment.provider_payin_id = f"PI-{order.number}"
    session.flush()
    payment_flow.apply_payin(session, "mangopay", PayIn(id=f"PI-{order.number}", status=SUCCEEDED,
                                                        amount_cents=order.total_ttc_cents), utc(at), PUBLIC_URL)
    payment.fee_cents = fee_cents  # what the provider kept (no code path records it yet)
    session.flush()


def _seed_march(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Vernette's March 2025, and a Rozel sale in the same month. Returns the numbers the
    services gave (invoices, credit note) by name."""
    wine = quote.Item(wine_id=0, label="Morgon 2022 — 75 cl", quantity=6, unit_cents=1200, vat_rate_bp=2000)
    with session_for(app) as session:
        vernette, rozel = _estate(session, VERNETTE), _estate(session, ROZEL)
        camille = _customer(session, vernette, "camille@compta.example", "Camille", "Durand")
        dupont = _customer(session, vernette, "cave@compta.example", "Paul", "Dupont", company="Cave Dupont",
                           number="CLI-042")
        claude = _customer(session, vernette, "claude@compta.example", "Claude", "Martin")
        # A: 6 × 12 € less 10 %, shipping 15,90 €, by card (fee 1,21 €), invoiced on the 6th (Paris)
        a = _order(session, vernette, camille, "CPT-A", PaymentMode.CARD, [wine], shipping_ttc=1590, discount_ttc=720,
                   created="2025-03-05T09:00:00")
        _pay_by_card(session, a, "2025-03-05T10:00:00", fee_cents=121)
        invoice_a = invoicing.issue_invoice(session, vernette, a, utc("2025-03-06T09:00:00"))
        # B: wine at 20 % and grape juice at 5,5 %, picked up, paid by transfer, invoiced, then cancelled
        b = _order(session, vernette, dupont, "CPT-B", PaymentMode.TRANSFER,
                   [quote.Item(0, "Fleurie 2023 — 75 cl", 12, 1000, 2000),
                    quote.Item(0, "Jus de raisin — 1 l", 3, 450, 550)], created="2025-03-09T09:00:00")
        payment_flow.mark_paid_by_hand(session, vernette, b, STAFF, utc("2025-03-10T15:00:00"), PUBLIC_URL)
        invoice_b = invoicing.issue_invoice(session, vernette, b, utc("2025-03-11T08:00:00"))
        orders.transition(session, vernette, b, OrderStatus.CANCELLED, actor=STAFF, now=utc("2025-03-20T08:00:00"),
                          public_url=PUBLIC_URL)  # the cancellation credits the invoice
        # C: paid by cheque at 00:30 on 1 March in Paris (still February in UTC), invoiced at
        # 00:30 on 1 April in Paris (still March in UTC): the payment is in, the invoice out
        c = _order(session, vernette, claude, "CPT-C", PaymentMode.CHEQUE,
                   [quote.Item(0, "Chiroubles 2023 — 75 cl", 1, 2000, 2000)], created="2025-02-28T20:00:00")
        payment_flow.mark_paid_by_hand(session, vernette, c, STAFF, utc("2025-02-28T23:30:00"), PUBLIC_URL)
        invoicing.issue_invoice(session, vernette, c, utc("2025-03-31T22:30:00"))
        # D: paid in February, invoiced in the estate's own software, uploaded on the 15th
        d = _order(session, vernette, claude, "CPT-D", PaymentMode.CHEQUE,
                   [quote.Item(0, "Chiroubles 2023 — 75 cl", 1, 2000, 2000)], created="2025-02-10T10:00:00")
        payment_flow.mark_paid_by_hand(session, vernette, d, STAFF, utc("2025-02-11T10:00:00"), PUBLIC_URL)
        invoicing.upload_external_invoice(session, vernette, d, b"%PDF-1.4 facture", "EXT-77",
                                          utc("2025-03-15T10:00:00"))
        # E: a gift, nothing to pay, invoiced on the 8th: an entry without amounts, left out
        # (and the entries after it are numbered without a gap)
        e = _order(session, vernette, claude, "CPT-E", PaymentMode.CASH,
                   [quote.Item(0, "Verre gravé offert", 1, 0, 2000)], created="2025-03-08T09:00:00")
        orders.transition(session, vernette, e, OrderStatus.PAID, actor=STAFF, now=utc("2025-03-08T09:00:00"),
                          public_url=PUBLIC_URL)
        invoicing.issue_invoice(session, vernette, e, utc("2025-03-08T10:00:00"))
        # Rozel: the same kind of sale in the same month, never in Vernette's export
        rozel_buyer = _customer(session, rozel, "camille@compta.example", "Camille", "Durand")
        r = _order(session, rozel, rozel_buyer, "CPT-R", PaymentMode.CHEQUE, [wine], created="2025-03-12T09:00:00")
        payment_flow.mark_paid_by_hand(session, rozel, r, STAFF, utc("2025-03-12T10:00:00"), PUBLIC_URL)
        invoicing.issue_invoice(session, rozel, r, utc("2025-03-13T10:00:00"))
        credit_b = session.scalars(select(Invoice).where(Invoice.order_id == b.id,
                                                         Invoice.kind == InvoiceKind.CREDIT_NOTE)).one()
        numbers = {"A": invoice_a.number, "B": invoice_b.number, "AV-B": credit_b.number,
                   "camille": f"C{camille.id}", "claude": f"C{claude.id}", "rozel": f"C{rozel_buyer.id}"}
        session.commit()
        return numbers


def expected_march(n: dict[str, str]) -> list[tuple]:  # type: ignore[type-arg]
    """(journal, number, date, piece, account, aux, debit, credit) of each FEC line, by hand.

    A: goods 72,00 TTC (60,00 HT) less 7,20 (6,00 HT), shipping 15,90 (13,25 HT): TTC 80,70,
    VAT 12,00 - 1,20 + 2,65 = 13,45. B: 120,00 TTC (100,00 HT) at 20 %, 13,50 TTC at 5,5 %
    (12,80 HT, 0,70 VAT): TTC 133,50. C: 20,00 TTC. D: 20,00 TTC = 16,67 HT + 3,33 VAT.
    """
    cam, dup, cla = n["camille"], "CLI-042", n["claude"]
    return [
        ("BQ", "1", "20250301", "CPT-C", "512", "", "20,00", "0,00"),
        ("BQ", "1", "20250301", "CPT-C", "411", cla, "0,00", "20,00"),
        ("BQ", "2", "20250305", "CPT-A", "512", "", "79,49", "0,00"),
        ("BQ", "2", "20250305", "CPT-A", "627", "", "1,21", "0,00"),
        ("BQ", "2", "20250305", "CPT-A", "411", cam, "0,00", "80,70"),
        ("VE", "1", "20250306", n["A"], "411", cam, "80,70", "0,00"),
        ("VE", "1", "20250306", n["A"], "706", "", "0,00", "54,00"),
        ("VE", "1", "20250306", n["A"], "708", "", "0,00", "13,25"),
        ("VE", "1", "20250306", n["A"], "44571", "", "0,00", "13,45"),
        ("BQ", "3", "20250310", "CPT-B", "512", "", "133,50", "0,00"),
        ("BQ", "3", "20250310", "CPT-B", "411", dup, "0,00", "133,50"),
        ("VE", "2", "20250311", n["B"], "411", dup, "133,50", "0,00"),
        ("VE", "2", "20250311", n["B"], "706", "", "0,00", "112,80"),
        ("VE", "2", "20250311", n["B"], "44571", "", "0,00", "20,00"),
        ("VE", "2", "20250311", n["B"], "44571", "", "0,00", "0,70"),
        ("VE", "3", "20250315", "EXT-77", "411", cla, "20,00", "0,00"),
        ("VE", "3", "20250315", "EXT-77", "706", "", "0,00", "16,67"),
        ("VE", "3", "20250315", "EXT-77", "44571", "", "0,00", "3,33"),
        ("VE", "4", "20250320", n["AV-B"], "411", dup, "0,00", "133,50"),
        ("VE", "4", "20250320", n["AV-B"], "706", "", "112,80", "0,00"),
        ("VE", "4", "20250320", n["AV-B"], "44571", "", "20,00", "0,00"),
        ("VE", "4", "20250320", n["AV-B"], "44571", "", "0,70", "0,00"),
    ]


def _fec_rows(body: bytes) -> list[list[str]]:
    text = body.decode("iso-8859-15")
    assert text.endswith("\r\n")
    return [line.split("\t") for line in text[:-2].split("\r\n")]


def _cents(amount: str) -> int:
    whole, frac = amount.split(",")
    assert len(frac) == 2 and whole.isdigit()
    return int(whole) * 100 + int(frac)


def _assert_balanced(rows: list[list[str]]) -> None:
    """Each entry (journal, number) and the whole file: debit == credit."""
    by_entry: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        totals = by_entry.setdefault((row[0], row[2]), [0, 0])
        totals[0] += _cents(row[11])
        totals[1] += _cents(row[12])
    for key, (debit, credit) in by_entry.items():
        assert debit == credit, key
    assert sum(d for d, _ in by_entry.values()) == sum(c for _, c in by_entry.values())


def _manager(app):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, "vigneron@vernette.example")
    return client


# ------------------------------------------------------------------ the FEC


def test_the_fec_of_a_seeded_month_has_the_hand_computed_balanced_entries_in_18_columns(app):
    numbers = _seed_march(app)
    response = _manager(app).get(f"/gestion/{VERNETTE}/comptabilite/fec", query_string=MARCH)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="814725636FEC20250331.txt"'
    assert "iso-8859-15" in response.headers["Content-Type"]
    header, *rows = _fec_rows(response.data)
    assert header == FEC_HEADER
    assert all(len(row) == 18 for row in rows)
    got = [(r[0], r[2], r[3], r[8], r[4], r[6], r[11], r[12]) for r in rows]
    assert got == expected_march(numbers)
    _assert_balanced(rows)
    for row in rows:
        assert row[1] == {"VE": "Ventes", "BQ": "Banque"}[row[0]]
        assert row[9] == row[3] == row[15]  # PieceDate, ValidDate: the day it was recorded
        assert row[13:15] == ["", ""] and row[16:] == ["", ""]  # no lettering, euros
        assert bool(row[6]) == bool(row[7]) == (row[4] == "411")
    first_invoice_line = rows[5]
    assert first_invoice_line[10] == f"Facture {numbers['A']} Camille Durand"
    assert first_invoice_line[7] == "Camille Durand" and first_invoice_line[5] == "Clients"
    assert rows[11][7] == "Cave Dupont" and rows[18][10].startswith(f"Avoir {numbers['AV-B']} Cave Dupont")
    assert "CPT-R" not in response.data.decode("iso-8859-15")  # Rozel's sale


def test_a_card_payment_through_the_mangopay_sandbox_is_a_bank_entry_of_its_day(database, sandbox):
    from models import User
    from tests.conftest import make_app

    app = make_app(database, MANGOPAY_BASE_URL=sandbox.base_url, PUBLIC_URL=PUBLIC_URL)
    with session_for(app) as session:
        vernette = _estate(session, VERNETTE)
        user = session.scalars(select(User).where(User.email == "client@chai.example")).one()
        buyer = _customer(session, vernette, "carte@compta.example", "Camille", "Durand")
        order = _order(session, vernette, buyer, "CPT-S", PaymentMode.CARD,
                       [quote.Item(0, "Morgon 2022 — 75 cl", 2, 1550, 2000)], created="2025-03-17T21:00:00")
        provider = payment_flow.configured_provider(app)
        payment = payment_flow.open_payment(session, order, "mangopay")
        session.commit()  # the key is stored before the provider is called
        payin = payment_flow.submit(session, provider, payment, order, vernette, user, f"{PUBLIC_URL}/retour")
        session.commit()
        sandbox.settle_payin(payin.id)  # the customer pays on the provider's page
        payment_flow.apply_payin(session, "mangopay", provider.get_payin(payin.id), utc("2025-03-17T23:10:00"),
                                 PUBLIC_URL)  # 00:10 on the 18th in Paris
        session.commit()
        aux = f"C{buyer.id}"
    client = visitor(app)
    login(client, "vigneron@vernette.example")
    rows = _fec_rows(client.get(f"/gestion/{VERNETTE}/comptabilite/fec", query_string=MARCH).data)[1:]
    assert [(r[0], r[2], r[3], r[8], r[4], r[6], r[11], r[12]) for r in rows] == [
        ("BQ", "1", "20250318", "CPT-S", "512", "", "31,00", "0,00"),
        ("BQ", "1", "20250318", "CPT-S", "411", aux, "0,00", "31,00")]
    assert rows[0][10] == "Règlement carte CPT-S Camille Durand"


def test_rozel_exports_only_its_own_sale(app):
    numbers = _seed_march(app)
    client = app.test_client()
    login(client, "vigneron@rozel.example")
    response = client.get(f"/gestion/{ROZEL}/comptabilite/fec", query_string=MARCH)
    header, *rows = _fec_rows(response.data)
    assert {row[8] for row in rows} <= {"CPT-R", *(f"F2025-{i:05d}" for i in range(1, 10))}
    assert {row[6] for row in rows if row[6]} == {numbers["rozel"]}
    assert [(r[0], r[4], r[11], r[12]) for r in rows] == [
        ("BQ", "512", "72,00", "0,00"), ("BQ", "411", "0,00", "72,00"),
        ("VE", "411", "72,00", "0,00"), ("VE", "706", "0,00", "60,00"), ("VE", "44571", "0,00", "12,00")]
    # and Vernette's vigneron cannot open Rozel's
    assert _manager(app).get(f"/gestion/{ROZEL}/comptabilite/fec", query_string=MARCH).status_code == 404


def test_the_accounts_and_journals_the_estate_sets_are_those_of_the_fec(app):
    numbers = _seed_march(app)
    client = _manager(app)
    form = {"account_customers": "41100000", "account_sales": "7010000", "account_shipping": "7085000",
            "account_vat": "4457120", "account_bank": "5121000", "account_fees": "6270000",
            "journal_sales": "vt", "journal_bank": "BNP"}
    response = client.post(f"/gestion/{VERNETTE}/comptabilite/comptes", data=form)
    assert response.status_code == 302
    rows = _fec_rows(client.get(f"/gestion/{VERNETTE}/comptabilite/fec", query_string=MARCH).data)[1:]
    assert {r[0] for r in rows} == {"VT", "BNP"}
    assert {r[4] for r in rows} == {"41100000", "7010000", "7085000", "4457120", "5121000", "6270000"}
    assert len(rows) == len(expected_march(numbers))
    with session_for(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "accounting.settings")).one()
        assert '"journal_sales": "VT"' in entry.after and '"account_sales": "706"' in entry.before


# ------------------------------------------------------------------ the CSV and the screen


def test_the_csv_has_the_same_lines_with_french_headers_and_neutralised_cells(app):
    numbers = _seed_march(app)
    with session_for(app) as session:  # a name a spreadsheet would run as a formula
        customer = session.scalars(select(EstateCustomer).where(EstateCustomer.email == "claude@compta.example")).one()
        customer.first_name, customer.last_name = "=HYPERLINK(\"x\")", "Martin"
        session.commit()
    response = _manager(app).get(f"/gestion/{VERNETTE}/comptabilite/ecritures.csv", query_string=MARCH)
    assert response.status_code == 200
    filename = f"ecritures-{VERNETTE}-2025-03-01-2025-03-31.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Journal", "Date", "N° pièce", "Compte", "Libellé compte", "Compte auxiliaire", "Libellé",
                       "Débit", "Crédit"]
    expected = expected_march(numbers)
    assert [(r[0], r[2], r[3], r[5], r[7], r[8]) for r in rows[1:]] == [(e[0], e[3], e[4], e[5], e[6], e[7])
                                                                      for e in expected]
    assert rows[1][1] == "01/03/2025" and rows[6][4] == "Clients"
    assert sum(_cents(r[7]) for r in rows[1:]) == sum(_cents(r[8]) for r in rows[1:])
    # the FEC keeps the name as it is (no formula there), the CSV neutralises it
    fec = _manager(app).get(f"/gestion/{VERNETTE}/comptabilite/fec", query_string=MARCH).data.decode("iso-8859-15")
    assert "\t=HYPERLINK" in fec


def test_the_screen_sums_each_journal_and_links_both_downloads(app):
    _seed_march(app)
    client = _manager(app)
    assert "Comptabilité" in text_of(client.get(f"/gestion/{VERNETTE}/statistiques"))
    page = text_of(client.get(f"/gestion/{VERNETTE}/comptabilite", query_string=MARCH))
    assert "Du 01/03/2025 au 31/03/2025" in page
    assert page.index('id="journal-VE"') < page.index('id="journal-BQ"')  # sales first
    ventes = page.split('id="journal-VE"')[1].split("</tr>")[0]
    banque = page.split('id="journal-BQ"')[1].split("</tr>")[0]
    # VE: 80,70 + 133,50 + 20,00 + 133,50 = 367,70; BQ: 20,00 + 80,70 + 133,50 = 234,20
    assert ">4<" in ventes and ventes.count("367,70") == 2
    assert ">3<" in banque and banque.count("234,20") == 2
    assert "601,90" in page.split('id="total-debit"')[1][:40]
    assert "comptabilite/fec?du=2025-03-01&amp;au=2025-03-31" in client.get(
        f"/gestion/{VERNETTE}/comptabilite", query_string=MARCH).get_data(as_text=True)
    assert "814725636FEC20250331.txt" in page


def test_the_default_period_is_last_month_and_the_presets_cover_the_quarter_and_year(app):
    from datetime import date

    presets = accounting.presets(date(2026, 2, 14))
    assert [(s.isoformat(), e.isoformat()) for _, s, e in presets] == [
        ("2026-01-01", "2026-01-31"), ("2026-02-01", "2026-02-14"), ("2025-10-01", "2025-12-31"),
        ("2026-01-01", "2026-02-14")]
    assert accounting.presets(date(2026, 5, 31))[2][1:] == (date(2026, 1, 1), date(2026, 3, 31))
    page = text_of(_manager(app).get(f"/gestion/{VERNETTE}/comptabilite"))
    last_month = accounting.default_period(accounting.today())
    assert f'name="du" value="{last_month.start.isoformat()}"' in page
    assert "Aucune facture, aucun avoir ni aucun paiement" in page or 'id="journals"' in page


def test_a_month_without_sales_gives_a_header_only_fec(app):
    rows = _fec_rows(_manager(app).get(f"/gestion/{VERNETTE}/comptabilite/fec",
                                       query_string={"du": "2001-01-01", "au": "2001-01-31"}).data)
    assert rows == [FEC_HEADER]


def test_exports_are_written_to_the_audit_log(app):
    client = _manager(app)
    client.get(f"/gestion/{VERNETTE}/comptabilite/fec", query_string=MARCH)
    client.get(f"/gestion/{VERNETTE}/comptabilite/ecritures.csv", query_string=MARCH)
    with session_for(app) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "accounting.export")
                                  .order_by(AuditEntry.id)).all()
        assert [e.summary for e in entries] == ["814725636FEC20250331.txt",
                                                f"ecritures-{VERNETTE}-2025-03-01-2025-03-31.csv"]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("query, message", [
    ({"du": "2025-03-31", "au": "2025-03-01"}, "La date de fin précède la date de début."),
    ({"du": "2024-01-01", "au": "2025-01-01"}, "au plus 366 jours"),
    ({"du": "2025-02-30", "au": "2025-03-31"}, "« 2025-02-30 » n'est pas une date"),
    ({"du": "<script>", "au": "2025-03-31"}, "n'est pas une date"),
    ({"du": "2025-03-01"}, "Indiquez la date de début et la date de fin"),
    ({"du": "2025-03-01", "au": "9" * 5000}, "n'est pas une date"),
])
@pytest.mark.parametrize("path", ["comptabilite", "comptabilite/fec", "comptabilite/ecritures.csv"])
def test_a_bad_period_explains_in_french_and_exports_nothing(app, query, message, path):
    client = _manager(app)
    response = client.get(f"/gestion/{VERNETTE}/{path}", query_string=query)
    assert response.status_code == 400
    assert "Content-Disposition" not in response.headers
    page = text_of(response)
    assert message in page and "Aucune écriture n'est exportée." in page
    assert "« <script> »" not in response.get_data(as_text=True)  # escaped
    with session_for(app) as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "accounting.export")).all() == []


def test_a_whole_leap_year_is_accepted(app):
    response = _manager(app).get(f"/gestion/{VERNETTE}/comptabilite/fec",
                                 query_string={"du": "2024-01-01", "au": "2024-12-31"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="814725636FEC20241231.txt"'


@pytest.mark.parametrize("field, value, message", [
    ("account_sales", "70A", "3 à 10 chiffres"),
    ("account_customers", "41", "3 à 10 chiffres"),
    ("account_vat", "44571000000", "3 à 10 chiffres"),
    ("account_bank", "", "3 à 10 chiffres"),
    ("journal_sales", "V E", "1 à 10 lettres ou chiffres"),
    ("journal_bank", "BANQUE-1", "1 à 10 lettres ou chiffres"),
    ("journal_bank", "ve", "un autre code que le journal des ventes"),
    ("journal_sales", "\t", "1 à 10 lettres ou chiffres"),
])
def test_bad_accounts_are_refused_with_a_french_message_and_nothing_changes(app, field, value, message):
    client = _manager(app)
    form = {"account_customers": "411", "account_sales": "707", "account_shipping": "708", "account_vat": "44571",
            "account_bank": "512", "account_fees": "627", "journal_sales": "VE", "journal_bank": "BQ", field: value}
    response = client.post(f"/gestion/{VERNETTE}/comptabilite/comptes", data=form)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page and "rien n'a été enregistré" in page
    assert 'aria-invalid="true"' in page
    with session_for(app) as session:
        estate = _estate(session, VERNETTE)
        assert (estate.account_sales, estate.journal_bank) == ("706", "BQ")
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "accounting.settings")).all() == []


def test_an_estate_without_siret_gets_the_csv_and_is_told_why_not_the_fec(app):
    with session_for(app) as session:
        _estate(session, VERNETTE).siret = ""
        session.commit()
    client = _manager(app)
    page = text_of(client.get(f"/gestion/{VERNETTE}/comptabilite", query_string=MARCH))
    assert "Indiquez le SIRET du domaine" in page and 'id="fec-download"' not in page
    response = client.get(f"/gestion/{VERNETTE}/comptabilite/fec", query_string=MARCH, follow_redirects=True)
    assert "Content-Disposition" not in response.headers and "Indiquez le SIRET du domaine" in text_of(response)
    assert client.get(f"/gestion/{VERNETTE}/comptabilite/ecritures.csv", query_string=MARCH).status_code == 200


def test_sellers_and_customers_do_not_see_the_accounting(app):
    from models import User
    from services import accounts

    response = _manager(app).post(f"/gestion/{VERNETTE}/equipe", data={
        "email": "vendeuse@compta.example", "first_name": "Sophie", "last_name": "Martin", "role": "seller"})
    assert response.status_code == 302
    with session_for(app) as session:
        user = session.scalars(select(User).where(User.email == "vendeuse@compta.example")).one()
        accounts.set_password(session, user, "un-mot-de-passe-vendeuse")
        session.commit()
    seller = app.test_client()
    login(seller, "vendeuse@compta.example", "un-mot-de-passe-vendeuse")
    assert seller.get(f"/gestion/{VERNETTE}/reunions").status_code == 200  # a seller indeed
    assert seller.get(f"/gestion/{VERNETTE}/comptabilite").status_code == 404
    assert seller.get(f"/gestion/{VERNETTE}/comptabilite/fec", query_string=MARCH).status_code == 404
    customer = app.test_client()
    login(customer, "client@chai.example")
    assert customer.get(f"/gestion/{VERNETTE}/comptabilite/ecritures.csv").status_code == 404


# ------------------------------------------------------------------ the service's rules


def test_fields_never_hold_a_separator_or_a_line_break():
    assert accounting.clean("Cave\tDu|pont\r\nSARL  x") == "Cave Du pont SARL x"


def test_a_name_outside_latin_9_is_transliterated_in_the_fec():
    from datetime import date

    line = accounting.Line("411", "Clients", "C1", "Łukasz Wąs 日本", "Facture F1 Łukasz", 100, 0)
    entry = accounting.Entry("VE", "Ventes", 1, date(2025, 3, 1), "F1", "Facture F1", utc("2025-03-01T10:00:00"),
                             (line, accounting.Line("706", "Ventes", "", "", "x", 0, 100)))
    body = accounting.to_fec(accounting.Export(1, accounting.Period(date(2025, 3, 1), date(2025, 3, 31)), [entry]))
    rows = _fec_rows(body)
    assert rows[1][7] == "Lukasz Was ??" and rows[1][11:13] == ["1,00", "0,00"]
