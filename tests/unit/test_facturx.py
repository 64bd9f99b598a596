"""services.facturx without a database: the VAT number key, amounts written from cents,
and the CII XML of in-memory invoices, checked against the Factur-X EN 16931 XSD."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import facturx
import pytest
from hypothesis import given, strategies as st
from lxml import etree

from models import DeliveryKind, Estate, Invoice, InvoiceKind, Order, OrderLine, OrderStatus, PaymentMode
from services.facturx import (BuyerIds, FacturXError, NAMESPACES, decimal_amount, french_vat_number, invoice_xml,
                              rate_percent, unit_ht_cents)
from services.pricing import split_vat

ISSUED = datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc)  # 1 April in Paris


@pytest.mark.parametrize("number, expected", [
    ("843109679", "FR20843109679"),  # the demo's verified pro, Cave du Marché
    ("84310967900012", "FR20843109679"),  # its SIRET: the SIREN is the first nine digits
    ("814725636", "FR20814725636"),  # the demo estates' published numbers
    ("792354185", "FR64792354185"),
    ("404833048", "FR83404833048"),
    ("100000207", "FR03100000207"),  # a key under 10 keeps its leading zero
    ("000000002", "FR18000000002"),
    ("843 109 679 00012", "FR20843109679"),
])
def test_the_french_vat_number_is_fr_then_the_key_of_the_siren_then_the_siren(number, expected):
    assert french_vat_number(number) == expected


@pytest.mark.parametrize("number", ["", "84310967", "8431096790", "84310967900012 1", "84310967A", "８４３１０９６７９"])
def test_anything_but_nine_or_fourteen_ascii_digits_has_no_vat_number(number):
    with pytest.raises(ValueError):
        french_vat_number(number)


@pytest.mark.parametrize("cents, text", [
    (0, "0.00"), (5, "0.05"), (-5, "-0.05"), (100, "1.00"), (123456, "1234.56"), (-123456, "-1234.56"),
    (10**15 + 1, "10000000000000.01"),
])
def test_amounts_are_written_from_cents_with_two_decimals(cents, text):
    assert decimal_amount(cents) == text


@given(st.integers(min_value=-10**18, max_value=10**18))
def test_every_amount_reads_back_as_the_same_cents(cents):
    assert Decimal(decimal_amount(cents)) * 100 == cents


@pytest.mark.parametrize("value", [12.5, Decimal("12.50"), "1250", True])
def test_only_integer_cents_are_amounts(value):
    with pytest.raises(TypeError):
        decimal_amount(value)


@pytest.mark.parametrize("rate_bp, text", [(2000, "20"), (1000, "10"), (550, "5.5"), (210, "2.1"), (0, "0"),
                                           (1234, "12.34")])
def test_vat_rates_are_percentages_without_trailing_zeros(rate_bp, text):
    assert rate_percent(rate_bp) == text


# ----------------------------------------------------------------- in-memory invoices


def estate(**overrides: Any) -> Estate:
    values: dict[str, Any] = dict(id=1, slug="vernette", name="Domaine de la Vernette",
                                  legal_name="EARL Domaine de la Vernette", street="214 route des Thorins",
                                  postcode="71570", city="Romanèche-Thorins", country="FR",
                                  email="contact@vernette.example", siret="81472563600017",
                                  vat_number="FR20814725636")
    values.update(overrides)
    return Estate(**values)


def line(label: str, quantity: int, unit: int, rate_bp: int, *, includes_vat: bool, kind: str = "goods",
         shipping: bool = False) -> OrderLine:
    split = split_vat(unit * quantity, rate_bp, includes_vat=includes_vat)
    return OrderLine(label=label, quantity=quantity, unit_price_cents=unit, vat_rate_bp=rate_bp, ht_cents=split.ht_cents,
                     vat_cents=split.vat_cents, ttc_cents=split.ttc_cents, is_shipping=shipping, kind=kind)


def order(lines: list[OrderLine], includes_vat: bool = True, **overrides: Any) -> Order:
    values: dict[str, Any] = dict(
        id=42, estate_id=1, number="VER-00042", checkout_token="t", status=OrderStatus.PAID, customer_id=1,
        prices_include_vat=includes_vat, payment_mode=PaymentMode.CARD, delivery_kind=DeliveryKind.HOME,
        delivery_label="Livraison à domicile", email="camille@example.org", billing_name="Camille Durand",
        billing_company="", billing_street="3 rue des Lilas", billing_postcode="69007", billing_city="Lyon",
        billing_country="FR", bottles=0, goods_ht_cents=0, shipping_ttc_cents=0,
        total_ht_cents=sum(item.ht_cents for item in lines), total_vat_cents=sum(item.vat_cents for item in lines),
        total_ttc_cents=sum(item.ttc_cents for item in lines), conditions_accepted_at=ISSUED, created_at=ISSUED,
        paid_at=ISSUED, lines=lines, payments=[])
    values.update(overrides)
    return Order(**values)


def invoice_of(an_order: Order, **overrides: Any) -> Invoice:
    values: dict[str, Any] = dict(id=7, estate_id=1, order_id=an_order.id, kind=InvoiceKind.INVOICE,
                                  number="F2026-00017", issued_at=ISSUED, total_ht_cents=an_order.total_ht_cents,
                                  total_vat_cents=an_order.total_vat_cents, total_ttc_cents=an_order.total_ttc_cents)
    values.update(overrides)
    return Invoice(**values)


def parsed(xml: bytes) -> etree._Element:
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [str(value) for value in root.xpath(path, namespaces=NAMESPACES)]


def test_a_free_shipping_line_and_a_discount_become_allowances_and_a_zero_rate_is_category_z():
    lines = [
        line("Morgon 2022 — 75 cl", 6, 1850, 2000, includes_vat=True),
        line("Jus de raisin — 1 l", 3, 450, 550, includes_vat=True),
        line("Échantillon", 1, 300, 0, includes_vat=True),
        line("Remise -10 % (code AMIS)", 1, -1110, 2000, includes_vat=True, kind="discount"),
        line("Livraison à domicile", 1, 1590, 2000, includes_vat=True, kind="shipping", shipping=True),
        line("Frais de port offerts", 1, -1590, 2000, includes_vat=True, kind="shipping"),
    ]
    an_order = order(lines)
    root = parsed(invoice_xml(invoice_of(an_order), an_order, estate()))
    assert texts(root, "//ram:SpecifiedTradeProduct/ram:Name/text()") == [
        "Morgon 2022 — 75 cl", "Jus de raisin — 1 l", "Échantillon", "Frais de port"]
    assert texts(root, "//ram:SpecifiedTradeAllowanceCharge/ram:Reason/text()") == [
        "Remise -10 % (code AMIS)", "Frais de port offerts"]
    assert texts(root, "//ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount/text()") == ["9.25", "13.25"]
    assert texts(root, "//ram:NetPriceProductTradePrice/ram:ChargeAmount/text()") == ["15.42", "4.27", "3.00", "13.25"]
    breakdown = [(texts(tax, "ram:CategoryCode/text()")[0], texts(tax, "ram:RateApplicablePercent/text()")[0],
                  texts(tax, "ram:BasisAmount/text()")[0], texts(tax, "ram:CalculatedAmount/text()")[0])
                 for tax in root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax",
                                       namespaces=NAMESPACES)]
    assert breakdown == [("Z", "0", "3.00", "0.00"), ("S", "5.5", "12.80", "0.70"), ("S", "20", "83.25", "16.65")]
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert texts(root, summation + "LineTotalAmount/text()") == ["121.55"]
    assert texts(root, summation + "AllowanceTotalAmount/text()") == ["22.50"]
    assert texts(root, summation + "TaxBasisTotalAmount/text()") == ["99.05"]
    assert texts(root, summation + "GrandTotalAmount/text()") == ["116.40"]
    assert texts(root, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString/text()") == ["20260401"]


def test_the_unit_price_is_the_printed_one_ht_or_rounded_from_the_ttc_line():
    ttc = line("Morgon", 6, 1850, 2000, includes_vat=True)  # 92,50 HT for 6 → 15,4166… → 15,42
    ht = line("Morgon", 6, 1230, 2000, includes_vat=False)
    assert unit_ht_cents(ttc, True) == 1542 and unit_ht_cents(ht, False) == 1230


def test_a_credit_note_is_type_381_and_refers_to_the_credited_invoice_with_its_date():
    an_order = order([line("Morgon", 6, 1850, 2000, includes_vat=True)])
    credited = invoice_of(an_order, issued_at=datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    credit = invoice_of(an_order, id=8, kind=InvoiceKind.CREDIT_NOTE, number="AV2026-00003")
    root = parsed(invoice_xml(credit, an_order, estate(), credited=credited))
    assert texts(root, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert texts(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == ["F2026-00017"]
    assert texts(root, "//ram:InvoiceReferencedDocument//qdt:DateTimeString/text()") == ["20260105"]
    assert texts(root, "//ram:TotalPrepaidAmount/text()") == []
    assert texts(root, "//ram:DuePayableAmount/text()") == ["111.00"]


def test_a_professional_buyer_has_their_siret_and_vat_number_and_a_transfer_its_iban():
    from models import Payment, PaymentStatus

    an_order = order([line("Morgon", 12, 1230, 2000, includes_vat=False)], includes_vat=False, paid_at=None,
                     payment_mode=PaymentMode.TRANSFER, billing_company="Cave du Marché")
    an_order.payments = [Payment(provider="mangopay", mode=PaymentMode.TRANSFER, status=PaymentStatus.CREATED,
                                 amount_cents=an_order.total_ttc_cents, idempotency_key="k",
                                 wire_reference="VER42", bank_iban="FR76 3000 1007 9412 3456 7890 185")]
    buyer = BuyerIds(siret="84310967900012", vat_number="FR20843109679")
    root = parsed(invoice_xml(invoice_of(an_order), an_order, estate(), buyer=buyer, payment_label="Virement"))
    party = "//ram:BuyerTradeParty/"
    assert texts(root, party + "ram:Name/text()") == ["Cave du Marché"]
    assert texts(root, party + "ram:DefinedTradeContact/ram:PersonName/text()") == ["Camille Durand"]
    # the SIREN is the legal registration, the SIRET the global identifier (French rules BR-FR-09/10)
    assert texts(root, party + "ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()") == ["843109679"]
    assert texts(root, party + "ram:GlobalID[@schemeID='0009']/text()") == ["84310967900012"]
    assert texts(root, party + "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']/text()") == ["FR20843109679"]
    assert texts(root, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert texts(root, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID/text()") == ["FR7630001007941234567890185"]
    assert texts(root, "//ram:ApplicableHeaderTradeSettlement/ram:PaymentReference/text()") == ["VER42"]
    assert texts(root, "//ram:DuePayableAmount/text()") == ["177.12"]  # not paid yet
    assert texts(root, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID/text()") == ["B1"]
    assert texts(root, "//ram:SpecifiedTradePaymentTerms//udt:DateTimeString/text()") == ["20260401"]  # issue day


def test_a_transfer_without_a_known_account_is_an_undefined_instrument_not_an_invalid_58():
    an_order = order([line("Morgon", 6, 1850, 2000, includes_vat=True)], payment_mode=PaymentMode.TRANSFER)
    root = parsed(invoice_xml(invoice_of(an_order), an_order, estate()))
    assert texts(root, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["1"]


def test_totals_that_are_not_the_sums_of_the_lines_are_refused():
    an_order = order([line("Morgon", 6, 1850, 2000, includes_vat=True)])
    for wrong in (dict(total_ht_cents=9249, total_ttc_cents=11099), dict(total_vat_cents=1851, total_ttc_cents=11101),
                  dict(total_ttc_cents=11101)):
        with pytest.raises(FacturXError):
            invoice_xml(invoice_of(an_order, **wrong), an_order, estate())


def test_control_characters_typed_into_a_form_are_dropped_not_a_reason_to_fail():
    an_order = order([line("Morgon\x0b 2022", 6, 1850, 2000, includes_vat=True)], billing_name="Camille\x01 Durand",
                     billing_city="Lyon\x1f")
    root = parsed(invoice_xml(invoice_of(an_order), an_order, estate()))
    assert texts(root, "//ram:BuyerTradeParty/ram:Name/text()") == ["Camille Durand"]
    assert texts(root, "//ram:SpecifiedTradeProduct/ram:Name/text()") == ["Morgon 2022"]
    assert texts(root, "//ram:BuyerTradeParty//ram:CityName/text()") == ["Lyon"]


def test_an_estate_that_has_not_filled_in_its_identifiers_or_address_still_gets_a_valid_xml():
    an_order = order([line("Morgon", 6, 1850, 2000, includes_vat=True)], billing_street="", billing_postcode="")
    root = parsed(invoice_xml(invoice_of(an_order), an_order,
                              estate(legal_name="", siret="", vat_number="", street="", postcode="", email="")))
    assert texts(root, "//ram:SellerTradeParty/ram:Name/text()") == ["Domaine de la Vernette"]
    assert texts(root, "//ram:SellerTradeParty/ram:PostalTradeAddress/*/text()") == ["Romanèche-Thorins", "FR"]
    assert not root.xpath("//ram:SellerTradeParty/ram:SpecifiedLegalOrganization", namespaces=NAMESPACES)
    assert not root.xpath("//ram:SellerTradeParty/ram:GlobalID", namespaces=NAMESPACES)


def test_an_invoice_paid_before_it_was_issued_is_billing_mode_b2_due_on_its_payment_day():
    paid_at = datetime(2026, 3, 20, 10, 0, tzinfo=timezone.utc)
    an_order = order([line("Morgon", 6, 1850, 2000, includes_vat=True)], paid_at=paid_at)
    root = parsed(invoice_xml(invoice_of(an_order), an_order, estate()))
    assert texts(root, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID/text()") == ["B2"]
    assert texts(root, "//ram:SpecifiedTradePaymentTerms//udt:DateTimeString/text()") == ["20260320"]
    assert texts(root, "//ram:TotalPrepaidAmount/text()") == texts(root, "//ram:GrandTotalAmount/text()") == ["111.00"]
    assert texts(root, "//ram:DuePayableAmount/text()") == ["0.00"]
    seller = "//ram:SellerTradeParty/"
    assert texts(root, seller + "ram:GlobalID[@schemeID='0009']/text()") == ["81472563600017"]
    assert texts(root, seller + "ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()") == ["814725636"]


def test_the_legal_mentions_are_notes_with_one_subject_code_each():
    from services.facturx import mentions

    an_order = order([line("Morgon", 12, 1230, 2000, includes_vat=False)], includes_vat=False)
    notes = mentions(an_order, is_credit=False, credited_number=None)
    root = parsed(invoice_xml(invoice_of(an_order), an_order, estate(), notes=notes))
    codes = texts(root, "//rsm:ExchangedDocument/ram:IncludedNote/ram:SubjectCode/text()")
    assert sorted(codes) == ["AAB", "PMD", "PMT"]  # BR-FR-05, each once (BR-FR-06)
    assert texts(root, "//ram:IncludedNote[ram:SubjectCode='PMT']/ram:Content/text()") == [
        "indemnité forfaitaire pour frais de recouvrement : 40 €."]


def test_the_delivery_address_is_known_when_goods_are_sent_and_printed_when_it_differs():
    from services.facturx import ship_to

    lines = [line("Morgon", 6, 1850, 2000, includes_vat=True)]
    assert ship_to(order(lines)) is None  # a pickup: nothing is sent
    same = ship_to(order(lines, shipping_name="Camille Durand", shipping_street="3 rue des Lilas",
                         shipping_postcode="69007", shipping_city="Lyon", shipping_country="FR"))
    assert same is not None and not same.differs_from_billing
    elsewhere = order(lines, shipping_name="", shipping_street="Rue Haute 12", shipping_postcode="1000",
                      shipping_city="Bruxelles", shipping_country="BE")
    destination = ship_to(elsewhere)
    assert destination is not None and destination.differs_from_billing and destination.name == "Camille Durand"
    root = parsed(invoice_xml(invoice_of(elsewhere), elsewhere, estate()))
    assert texts(root, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID/text()") == ["BE"]


def test_an_invoice_issued_before_factur_x_has_no_recorded_buyer_to_repeat():
    from services.facturx import _recorded_buyer
    from services.pdf import html_to_pdf

    assert _recorded_buyer(html_to_pdf("<html><body><p>Facture</p></body></html>")) is None
