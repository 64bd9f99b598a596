"""Factur-X: the invoice and credit note PDFs carry their own structured data.

An issued invoice (or credit note) is one PDF/A-3 file in which the Cross Industry
Invoice XML of the EN 16931 profile (guideline ``urn:cen.eu:en16931:2017``) is embedded
as ``factur-x.xml``: people read the PDF, accounting software reads the XML, and both
say the same thing. So the XML is written from the very values the PDF prints: the
invoice's stored totals and the order lines' stored HT / VAT / TTC cents, never a VAT
recomputed here (rounding lives in services.pricing). Amounts are written from integer
cents as decimal strings, never through a float.

The buyer's identifiers come from their account: a verified professional's SIRET, and
the French intra-community VAT number computed from its SIREN. The printed invoice
shows the same two values (templates/pdf/invoice.html gets them from here).

Where EN 16931 leaves a choice, the French e-invoicing rules decide (the library ships
their schematron, BR-FR-*, as it ships EN 16931's; both are XSLT 2 and need a Saxon
server, so they are not run here: tests/integration/test_facturx.py checks the
calculation rules in Python): SIREN as legal registration and SIRET as global
identifier, billing mode B1 or B2 (already paid), mentions coded AAB, PMD, PMT.

Discount lines (negative amounts: promotions, "frais de port offerts") become
document-level allowances with their VAT rate, since an EN 16931 line may not have a
negative net price (BR-27); the VAT breakdown per rate still equals the printed one.

PDF/A-3: services.pdf embeds every font (DejaVu Sans, Debian's fonts-dejavu-core:
without it the PDFs fall back to a Helvetica that is not embedded, and are not
PDF/A, though their XML is still right). In ``pdfa3`` the factur-x library (Akretion,
PyPI) checks the XML against the Factur-X XSD, embeds it with its AFRelationship and
writes the XMP metadata that declares PDF/A-3B and Factur-X; then ``finish_pdfa`` adds
what the library does not (checked in factur-x 7.8): the sRGB output intent, whose
ICC profile Pillow generates (no file shipped), and a document information dictionary
that agrees with the XMP.

lxml, pypdf and factur-x are imported inside the functions, like xhtml2pdf in
services.pdf: a worker that never issues an invoice does not pay their memory.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO

from sqlalchemy.orm import Session

from models import Estate, Invoice, InvoiceKind, Order, OrderLine, User

GUIDELINE = "urn:cen.eu:en16931:2017"
CURRENCY = "EUR"
NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
TYPE_INVOICE = "380"  #: UNTDID 1001 commercial invoice
TYPE_CREDIT_NOTE = "381"  #: UNTDID 1001 credit note
#: ISO 6523 ICDs: the legal registration (BT-30, BT-47) is the SIREN under 0002, as the French
#: e-invoicing rules ask (BR-FR-10, BR-FR-32: nine digits); the SIRET is the party's global
#: identifier (BT-29, BT-46) under 0009, and must start with the SIREN (BR-FR-09)
SCHEME_SIREN = "0002"
SCHEME_SIRET = "0009"
#: BT-23, the French "cadre de facturation": goods (B), invoice to be paid (1) or already
#: paid (2: then the prepaid amount is the total, nothing is due, BR-FR-CO-09)
BILLING_MODE_DUE, BILLING_MODE_PAID = "B1", "B2"
#: UNTDID 4461 payment means: card, cheque, cash; a transfer is 58 (SEPA credit transfer)
#: when the account is known, else 1 ("instrument not defined": 30/58 require an IBAN, BR-61)
PAYMENT_MEANS = {"card": "48", "cheque": "20", "cash": "10", "transfer": "58"}
UNIT_CODE = "C62"  #: UN/ECE Rec 20 "one": bottles, cases, shipping
#: characters XML 1.0 cannot carry (lxml refuses them): dropped from names and labels, so
#: that a control character typed into a checkout form cannot stop an invoice being issued
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class FacturXError(RuntimeError):
    """The invoice's stored totals disagree with its lines: no coherent XML can say both."""


# ------------------------------------------------------------------- pure helpers


def decimal_amount(cents: int) -> str:
    """Integer cents as the XML's decimal: 123456 → "1234.56", -5 → "-0.05", 0 → "0.00"."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("amounts are integer cents")
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def rate_percent(rate_bp: int) -> str:
    """A VAT rate in basis points as a percentage: 2000 → "20", 550 → "5.5", 210 → "2.1"."""
    whole, frac = divmod(rate_bp, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".")


def french_vat_number(siren_or_siret: str) -> str:
    """The French intra-community VAT number of a company: "FR", a two-digit key, the SIREN.

    The key is (12 + 3 × (SIREN mod 97)) mod 97; the SIREN is the first nine digits of a
    SIRET. 843109679 → "FR20843109679".

    :raise ValueError: not 9 or 14 digits.
    """
    digits = (siren_or_siret or "").replace(" ", "")
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (9, 14):
        raise ValueError("a SIREN has 9 digits, a SIRET 14")
    siren = digits[:9]
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def unit_ht_cents(line: OrderLine, prices_include_vat: bool) -> int:
    """The unit price HT the invoice prints: the list price of an HT order; for a TTC
    order, the line's HT over its quantity, rounded half up to the cent (the line
    amounts are authoritative, the invoice says so)."""
    if not prices_include_vat:
        return line.unit_price_cents
    return (line.ht_cents * 2 + line.quantity) // (2 * line.quantity)


@dataclass(frozen=True)
class BuyerIds:
    """A professional buyer's identifiers, printed and in the XML; empty for a private buyer."""

    siret: str = ""
    vat_number: str = ""


def buyer_ids(session: Session, order: Order, credited: Invoice | None = None) -> BuyerIds:
    """The SIRET and VAT number of the order's account when it is a verified professional.

    A credit note names the buyer of the invoice it cancels: when that invoice is a
    Factur-X one, its identifiers are read back from its XML, whatever the account's
    status has become since.
    """
    if credited is not None and not credited.external and credited.document is not None:
        recorded = _recorded_buyer(credited.document.content)
        if recorded is not None:
            return recorded
    user = session.get(User, order.user_id) if order.user_id else None
    if user is None or not user.is_verified_pro or not user.siret:
        return BuyerIds()
    try:
        vat_number = french_vat_number(user.siret)
    except ValueError:
        return BuyerIds(siret=user.siret)
    return BuyerIds(siret=user.siret, vat_number=vat_number)


@dataclass(frozen=True)
class ShipTo:
    """Where the goods go (EN 16931 BG-13, BG-15)."""

    name: str
    street: str
    postcode: str
    city: str
    country: str
    #: printed too: an invoice names the delivery address when it differs from the
    #: customer's (CGI art. 242 nonies A, in force with the e-invoicing reform)
    differs_from_billing: bool


def ship_to(order: Order) -> ShipTo | None:
    """The order's delivery address; None when the goods are not sent (pickup, fair …)."""
    if not (order.shipping_street and order.shipping_city):
        return None
    country = order.shipping_country or order.billing_country or "FR"
    differs = ((order.shipping_street, order.shipping_postcode, order.shipping_city, country)
               != (order.billing_street, order.billing_postcode, order.billing_city, order.billing_country or "FR"))
    return ShipTo(order.shipping_name or order.billing_name, order.shipping_street, order.shipping_postcode,
                  order.shipping_city, country, differs)


def _recorded_buyer(pdf: bytes) -> BuyerIds | None:
    """The buyer identifiers in a Factur-X PDF's XML; None when the PDF has no XML (an
    invoice issued before Factur-X)."""
    from facturx import get_xml_from_pdf
    from lxml import etree

    _filename, xml = get_xml_from_pdf(pdf, check_xsd=False)
    if not xml:
        return None
    party = "//ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/"
    root = etree.fromstring(xml)
    siret = root.xpath(f"string({party}ram:GlobalID[@schemeID='{SCHEME_SIRET}'])", namespaces=NAMESPACES)
    vat_number = root.xpath(f"string({party}ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA'])",
                            namespaces=NAMESPACES)
    return BuyerIds(siret=str(siret), vat_number=str(vat_number))


def mentions(order: Order, *, is_credit: bool, credited_number: str | None) -> tuple[tuple[str, str], ...]:
    """The legal mentions templates/pdf/invoice.html prints under the totals, as the
    XML's notes: (text, UNTDID 4451 subject code or ""). Each text is printed word for
    word (tests/integration/test_facturx.py checks it). The French rules code the
    mentions on discount (AAB), late payment penalties (PMD) and the recovery
    indemnity (PMT) separately (BR-FR-05), so the printed sentence on the last two is
    split at its semicolon."""
    notes: list[tuple[str, str]]
    if is_credit:
        notes = [(f"Le présent avoir annule la facture n° {credited_number} pour les montants indiqués ci-dessus.",
                  "")]
    elif order.prices_include_vat:
        notes = [("Conditions de paiement : comptant.", ""), ("Pas d'escompte pour paiement anticipé.", "AAB")]
    else:
        notes = [("Conditions de paiement : comptant.", ""), ("Escompte pour paiement anticipé : néant.", "AAB"),
                 ("Pénalités de retard : trois fois le taux d'intérêt légal", "PMD"),
                 ("indemnité forfaitaire pour frais de recouvrement : 40 €.", "PMT")]
    if order.prices_include_vat:
        notes.append(("Prix unitaires HT arrondis au centime ; les montants des lignes font foi.", ""))
    return tuple(notes)


def _siren_siret(number: str) -> tuple[str, str]:
    """(SIREN, SIRET) of a registration number as stored: a SIRET gives both, a SIREN
    only itself; anything else is passed on as the SIREN, as typed."""
    digits = (number or "").replace(" ", "")
    if len(digits) == 14 and digits.isascii() and digits.isdigit():
        return digits[:9], digits
    return digits, ""


# ------------------------------------------------------------------------- the XML


def _paris_day(value: datetime) -> str:
    from services.templating import PARIS

    return value.astimezone(PARIS).strftime("%Y%m%d")


@dataclass(frozen=True)
class _Rate:
    rate_bp: int
    ht_cents: int = 0
    vat_cents: int = 0


def _category(rate_bp: int) -> str:
    """S (standard rated) for any positive rate; Z (zero rated) for 0 %, which S forbids."""
    return "S" if rate_bp > 0 else "Z"


def invoice_xml(invoice: Invoice, order: Order, estate: Estate, *, buyer: BuyerIds = BuyerIds(),
                credited: Invoice | None = None, payment_label: str = "",
                notes: tuple[tuple[str, str], ...] = ()) -> bytes:
    """The CII XML (Factur-X EN 16931) of an issued invoice or credit note, UTF-8.

    ``credited`` is the invoice a credit note cancels; ``payment_label`` the French name
    of the payment mode as printed; ``notes`` the printed legal mentions with their
    subject codes (``mentions``).

    :raise FacturXError: the invoice's totals are not the sums of the order's lines.
    """
    from lxml import etree

    is_credit = invoice.kind is InvoiceKind.CREDIT_NOTE
    lines = list(order.lines)
    items = [line for line in lines if line.ht_cents >= 0]
    allowances = [line for line in lines if line.ht_cents < 0]
    line_total = sum(line.ht_cents for line in items)
    allowance_total = -sum(line.ht_cents for line in allowances)
    rates: dict[int, _Rate] = {}
    for line in lines:
        rate = rates.get(line.vat_rate_bp, _Rate(line.vat_rate_bp))
        rates[line.vat_rate_bp] = _Rate(rate.rate_bp, rate.ht_cents + line.ht_cents, rate.vat_cents + line.vat_cents)
    if (line_total - allowance_total != invoice.total_ht_cents
            or sum(rate.vat_cents for rate in rates.values()) != invoice.total_vat_cents
            or invoice.total_ht_cents + invoice.total_vat_cents != invoice.total_ttc_cents):
        raise FacturXError(f"{invoice.number}: totals differ from the order lines")

    def el(parent, tag: str, text: str | None = None, **attributes: str):  # type: ignore[no-untyped-def]
        prefix, _, name = tag.partition(":")
        node = etree.SubElement(parent, f"{{{NAMESPACES[prefix]}}}{name}", attributes)
        if text is not None:
            node.text = _NOT_XML.sub("", text)
        return node

    def amount(parent, tag: str, cents: int, **attributes: str):  # type: ignore[no-untyped-def]
        return el(parent, tag, decimal_amount(cents), **attributes)

    def date(parent, tag: str, value: datetime, qualified: bool = False) -> None:  # type: ignore[no-untyped-def]
        holder = el(parent, tag)
        el(holder, "qdt:DateTimeString" if qualified else "udt:DateTimeString", _paris_day(value), format="102")

    def address(parent, street: str, postcode: str, city: str, country: str) -> None:  # type: ignore[no-untyped-def]
        node = el(parent, "ram:PostalTradeAddress")
        if postcode:
            el(node, "ram:PostcodeCode", postcode)
        if street:
            el(node, "ram:LineOne", street)
        if city:
            el(node, "ram:CityName", city)
        el(node, "ram:CountryID", (country or "FR").upper())

    def tax(parent, tag: str, rate_bp: int):  # type: ignore[no-untyped-def]
        node = el(parent, tag)
        el(node, "ram:TypeCode", "VAT")
        el(node, "ram:CategoryCode", _category(rate_bp))
        el(node, "ram:RateApplicablePercent", rate_percent(rate_bp))
        return node

    def party_ids(parent, registration: str) -> None:  # type: ignore[no-untyped-def]
        _siren, siret = _siren_siret(registration)
        if siret:
            el(parent, "ram:GlobalID", siret, schemeID=SCHEME_SIRET)

    def legal(parent, registration: str):  # type: ignore[no-untyped-def]
        siren, _siret = _siren_siret(registration)
        node = el(parent, "ram:SpecifiedLegalOrganization")
        el(node, "ram:ID", siren, schemeID=SCHEME_SIREN)
        return node

    paid = not is_credit and order.paid_at is not None
    root = etree.Element(f"{{{NAMESPACES['rsm']}}}CrossIndustryInvoice", nsmap=NAMESPACES)
    context = el(root, "rsm:ExchangedDocumentContext")
    el(el(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID",
       BILLING_MODE_PAID if paid else BILLING_MODE_DUE)
    el(el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", GUIDELINE)

    document = el(root, "rsm:ExchangedDocument")
    el(document, "ram:ID", invoice.number)
    el(document, "ram:TypeCode", TYPE_CREDIT_NOTE if is_credit else TYPE_INVOICE)
    date(document, "ram:IssueDateTime", invoice.issued_at)
    for text, subject in notes:
        note = el(document, "ram:IncludedNote")
        el(note, "ram:Content", text)
        if subject:
            el(note, "ram:SubjectCode", subject)

    transaction = el(root, "rsm:SupplyChainTradeTransaction")
    for number, line in enumerate(items, start=1):
        item = el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        el(el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(number))
        el(el(item, "ram:SpecifiedTradeProduct"), "ram:Name", "Frais de port" if line.is_shipping else line.label)
        price = el(el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        amount(price, "ram:ChargeAmount", unit_ht_cents(line, order.prices_include_vat))
        el(el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", str(line.quantity), unitCode=UNIT_CODE)
        settlement = el(item, "ram:SpecifiedLineTradeSettlement")
        tax(settlement, "ram:ApplicableTradeTax", line.vat_rate_bp)
        amount(el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
               line.ht_cents)

    agreement = el(transaction, "ram:ApplicableHeaderTradeAgreement")
    seller = el(agreement, "ram:SellerTradeParty")
    party_ids(seller, estate.siret)
    el(seller, "ram:Name", estate.legal_name or estate.name)
    if estate.siret:
        organization = legal(seller, estate.siret)
        if estate.legal_name and estate.legal_name != estate.name:
            el(organization, "ram:TradingBusinessName", estate.name)
    address(seller, estate.street, estate.postcode, estate.city, estate.country)
    if estate.email:
        el(el(seller, "ram:URIUniversalCommunication"), "ram:URIID", estate.email, schemeID="EM")
    if estate.vat_number:
        el(el(seller, "ram:SpecifiedTaxRegistration"), "ram:ID", estate.vat_number, schemeID="VA")

    party = el(agreement, "ram:BuyerTradeParty")
    party_ids(party, buyer.siret)
    el(party, "ram:Name", order.billing_company or order.billing_name)
    if buyer.siret:
        legal(party, buyer.siret)
    if order.billing_company and order.billing_name:
        el(el(party, "ram:DefinedTradeContact"), "ram:PersonName", order.billing_name)
    address(party, order.billing_street, order.billing_postcode, order.billing_city, order.billing_country)
    if order.email:
        el(el(party, "ram:URIUniversalCommunication"), "ram:URIID", order.email, schemeID="EM")
    if buyer.vat_number:
        el(el(party, "ram:SpecifiedTaxRegistration"), "ram:ID", buyer.vat_number, schemeID="VA")
    el(el(agreement, "ram:SellerOrderReferencedDocument"), "ram:IssuerAssignedID", order.number)

    delivery = el(transaction, "ram:ApplicableHeaderTradeDelivery")
    destination = ship_to(order)
    if destination is not None:
        ship = el(delivery, "ram:ShipToTradeParty")
        el(ship, "ram:Name", destination.name)
        address(ship, destination.street, destination.postcode, destination.city, destination.country)
    if order.delivered_at:
        date(el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime", order.delivered_at)

    settlement = el(transaction, "ram:ApplicableHeaderTradeSettlement")
    transfer = next((payment for payment in order.payments
                     if payment.mode.value == "transfer" and (payment.bank_iban or payment.wire_reference)), None)
    if transfer is not None and transfer.wire_reference:
        el(settlement, "ram:PaymentReference", transfer.wire_reference[:140])
    el(settlement, "ram:InvoiceCurrencyCode", CURRENCY)
    means = el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    code = PAYMENT_MEANS[order.payment_mode.value]
    iban = transfer.bank_iban.replace(" ", "") if transfer is not None else ""
    el(means, "ram:TypeCode", "1" if code == "58" and not iban else code)
    if payment_label:
        el(means, "ram:Information", payment_label)
    if code == "58" and iban:
        el(el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", iban)
    for rate in sorted(rates.values(), key=lambda r: r.rate_bp):
        breakdown = el(settlement, "ram:ApplicableTradeTax")
        amount(breakdown, "ram:CalculatedAmount", rate.vat_cents)
        el(breakdown, "ram:TypeCode", "VAT")
        amount(breakdown, "ram:BasisAmount", rate.ht_cents)
        el(breakdown, "ram:CategoryCode", _category(rate.rate_bp))
        el(breakdown, "ram:RateApplicablePercent", rate_percent(rate.rate_bp))
    for line in allowances:
        allowance = el(settlement, "ram:SpecifiedTradeAllowanceCharge")
        el(el(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
        amount(allowance, "ram:ActualAmount", -line.ht_cents)
        el(allowance, "ram:Reason", line.label)
        tax(allowance, "ram:CategoryTradeTax", line.vat_rate_bp)
    terms = el(settlement, "ram:SpecifiedTradePaymentTerms")
    if not is_credit:
        el(terms, "ram:Description", "Conditions de paiement : comptant.")
    # comptant: due on issue (BR-CO-25); an invoice already paid, on its payment (BR-FR-CO-09)
    date(terms, "ram:DueDateDateTime", order.paid_at if paid else invoice.issued_at)

    summation = el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    amount(summation, "ram:LineTotalAmount", line_total)
    amount(summation, "ram:AllowanceTotalAmount", allowance_total)
    amount(summation, "ram:TaxBasisTotalAmount", invoice.total_ht_cents)
    amount(summation, "ram:TaxTotalAmount", invoice.total_vat_cents, currencyID=CURRENCY)
    amount(summation, "ram:GrandTotalAmount", invoice.total_ttc_cents)
    if paid:
        amount(summation, "ram:TotalPrepaidAmount", invoice.total_ttc_cents)
    amount(summation, "ram:DuePayableAmount", 0 if paid else invoice.total_ttc_cents)
    if credited is not None:
        reference = el(settlement, "ram:InvoiceReferencedDocument")
        el(reference, "ram:IssuerAssignedID", credited.number)
        date(reference, "ram:FormattedIssueDateTime", credited.issued_at, qualified=True)

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------------- the PDF/A-3


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """An sRGB ICC profile (LittleCMS's built-in sRGB, through Pillow), built once."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def finish_pdfa(pdf: bytes) -> bytes:
    """The Factur-X PDF with what PDF/A wants and the library does not write: an sRGB
    /OutputIntents entry (GTS_PDFA1) in the catalog, PDF/A's declared colour space for
    the device-RGB colours the documents draw with; and a document information that
    agrees with the XMP metadata (the library names pypdf as the producer, and writes
    keywords only in the information dictionary, so they go)."""
    from pypdf import PdfWriter
    from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NumberObject,
                               TextStringObject)

    writer = PdfWriter(clone_from=BytesIO(pdf), keep_initial_header=True)
    profile = DecodedStreamObject()
    profile.set_data(srgb_profile())
    profile = profile.flate_encode()
    profile[NameObject("/N")] = NumberObject(3)
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"),
        NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
        NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
        # pypdf has no public way to add an indirect object; the factur-x library uses the same call
        NameObject("/DestOutputProfile"): writer._add_object(profile),
    })
    writer.root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    info = {key: value for key, value in (writer.metadata or {}).items()
            if key not in ("/Keywords", "/Trapped")}  # not in the XMP, where every entry must have its match
    info["/Producer"] = "pypdf"
    writer.metadata = info
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def pdfa3(pdf: bytes, xml: bytes, *, title: str, author: str, subject: str) -> bytes:
    """The Factur-X PDF: ``pdf`` (fonts embedded) with the XML checked against the
    Factur-X EN 16931 XSD and embedded, the PDF/A-3B XMP metadata, and the output intent.

    :raise Exception: whatever the factur-x library raises when the XML is not valid.
    """
    from facturx import generate_from_file

    # Not generate_from_binary: factur-x 7.8 with pypdf 7 writes its result into the
    # temporary file it read the input from, at the position the reader left, so the
    # bytes it returns are the input PDF followed by the Factur-X one (two headers).
    with tempfile.TemporaryDirectory(prefix="chai-facturx-") as folder:
        target = os.path.join(folder, "facture.pdf")
        generate_from_file(
            BytesIO(pdf), xml, flavor="factur-x", level="en16931", check_xsd=True, lang="fr-FR",
            output_pdf_file=target, xmp_compression=False,  # plain XMP: any PDF/A reader, a signature later
            pdf_metadata={"title": title, "author": author, "subject": subject},
        )
        with open(target, "rb") as result:
            return finish_pdfa(result.read())
