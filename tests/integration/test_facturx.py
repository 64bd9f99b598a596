"""Factur-X invoices and credit notes, issued through the back office as a vigneron does:
the PDF is PDF/A-3 (every font embedded, an sRGB output intent, the XMP that declares
it) and carries the EN 16931 CII XML, valid against the library's XSD, whose identifiers
and amounts are the ones the PDF prints."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile

import facturx
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from models import Document, Estate, Invoice, InvoiceKind, Order, VatRate, Wine
from services.facturx import GUIDELINE, NAMESPACES
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

VERNETTE = "domaine-de-la-vernette"
NS = NAMESPACES
SUMMATION = ("rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
             "ram:SpecifiedTradeSettlementHeaderMonetarySummation/")
CAVISTE_SIRET = "84310967900012"  # services.demo, "Cave du Marché"
CAVISTE_VAT = "FR20843109679"  # FR + (12 + 3 × (843109679 mod 97)) mod 97 + SIREN


# -------------------------------------------------------------------------- helpers


def plain(value: str) -> str:
    """Whitespace collapsed (pypdf ends cells with newlines; French amounts use no-break spaces)."""
    return " ".join(value.split())


def fr(amount: str) -> str:
    """An XML amount as the PDF prints it: "1234.56" → "1 234,56 €"."""
    sign = "-" if amount.startswith("-") else ""
    whole, frac = amount.lstrip("-").split(".")
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return f"{sign}{' '.join([whole, *groups])},{frac} €"


def pdf_text(data: bytes) -> str:
    return plain(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def embedded_xml(data: bytes) -> etree._Element:
    """The factur-x.xml the PDF embeds, checked against the Factur-X EN 16931 XSD."""
    filename, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    return etree.fromstring(xml)


def one(root: etree._Element, path: str) -> str:
    (node,) = root.xpath(path, namespaces=NS)
    return node.text if isinstance(node, etree._Element) else str(node)


def amounts(root: etree._Element, path: str) -> list[int]:
    return [cents(node.text) for node in root.xpath(path, namespaces=NS)]


def cents(text: str) -> int:
    whole, _, frac = text.lstrip("-").partition(".")
    assert len(frac) == 2, text  # every amount with exactly two decimals, never a float's repr
    value = int(whole) * 100 + int(frac)
    return -value if text.startswith("-") else value


def assert_fonts_embedded(data: bytes) -> None:
    """pdffonts (poppler-utils, installed by scripts/test.sh) lists every font, embedded or not."""
    pdffonts = shutil.which("pdffonts")
    assert pdffonts, "pdffonts is missing: install poppler-utils (scripts/test.sh does)"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        output = subprocess.run([pdffonts, file.name], capture_output=True, text=True, check=True).stdout
    rows = output.splitlines()[2:]  # a header line and a dashes line
    assert rows, output
    for row in rows:
        # name, type (one or two words), encoding, then emb sub uni object-id generation
        emb = row.split()[-5]
        assert emb == "yes", f"font not embedded: {row}"


def assert_pdfa3(data: bytes) -> None:
    # one PDF from byte 0, not a PDF with another appended (factur-x's generate_from_binary does that)
    assert data.startswith(b"%PDF-1.") and data.count(b"%PDF-") == 1
    reader = PdfReader(io.BytesIO(data))
    catalog = reader.trailer["/Root"]
    (intent,) = [item.get_object() for item in catalog["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    icc = profile.get_data()
    assert profile["/N"] == 3 and icc[36:40] == b"acsp" and icc[16:20] == b"RGB "
    metadata = catalog["/Metadata"].get_object()
    assert metadata["/Subtype"] == "/XML" and "/Filter" not in metadata  # readable as is
    xmp = etree.fromstring(metadata.get_data())
    xmp_ns = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dc": "http://purl.org/dc/elements/1.1/",
              "pdf": "http://ns.adobe.com/pdf/1.3/", "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
              "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"}

    def xmp_value(path: str) -> str:
        (value,) = xmp.xpath(f"//{path}/text()", namespaces=xmp_ns)
        return str(value)

    assert (xmp_value("pdfaid:part"), xmp_value("pdfaid:conformance")) == ("3", "B")
    assert (xmp_value("fx:ConformanceLevel"), xmp_value("fx:DocumentFileName")) == ("EN 16931", "factur-x.xml")
    info = reader.metadata  # the document information agrees with the XMP, entry by entry
    xmp_ns["xmp"] = "http://ns.adobe.com/xap/1.0/"
    assert xmp_value("pdf:Producer") == info["/Producer"]
    assert xmp_value("dc:title/rdf:Alt/rdf:li") == info["/Title"]
    assert xmp_value("dc:creator/rdf:Seq/rdf:li") == info["/Author"]
    assert xmp_value("dc:description/rdf:Alt/rdf:li") == info["/Subject"]
    assert xmp_value("xmp:CreatorTool") == info["/Creator"]
    assert "/Keywords" not in info or xmp_value("pdf:Keywords") == info["/Keywords"]
    (filespec,) = [item.get_object() for item in catalog["/AF"]]
    assert filespec["/F"] == "factur-x.xml" and filespec["/AFRelationship"] == "/Data"


def assert_coherent(root: etree._Element) -> None:
    """The EN 16931 calculation rules the schematron checks (no Saxon here): BR-CO-10,
    11, 13, 14, 15, 16, BR-S-08 and BR-27."""
    lines = amounts(root, "//ram:IncludedSupplyChainTradeLineItem//ram:LineTotalAmount")
    prices = amounts(root, "//ram:NetPriceProductTradePrice/ram:ChargeAmount")
    allowances = amounts(root, "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge"
                               "[ram:ChargeIndicator/udt:Indicator='false']/ram:ActualAmount")
    summary = {tag: cents(one(root, SUMMATION + f"ram:{tag}")) for tag in (
        "LineTotalAmount", "AllowanceTotalAmount", "TaxBasisTotalAmount", "TaxTotalAmount", "GrandTotalAmount",
        "DuePayableAmount")}
    prepaid = amounts(root, SUMMATION + "ram:TotalPrepaidAmount")
    assert all(price >= 0 for price in prices) and all(amount >= 0 for amount in allowances)
    assert summary["LineTotalAmount"] == sum(lines)
    assert summary["AllowanceTotalAmount"] == sum(allowances)
    assert summary["TaxBasisTotalAmount"] == summary["LineTotalAmount"] - summary["AllowanceTotalAmount"]
    breakdown = root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    assert summary["TaxTotalAmount"] == sum(cents(one(tax, "ram:CalculatedAmount")) for tax in breakdown)
    assert summary["GrandTotalAmount"] == summary["TaxBasisTotalAmount"] + summary["TaxTotalAmount"]
    assert summary["DuePayableAmount"] == summary["GrandTotalAmount"] - sum(prepaid)
    for tax in breakdown:
        rate = one(tax, "ram:RateApplicablePercent")
        on_lines = amounts(root, "//ram:IncludedSupplyChainTradeLineItem[ram:SpecifiedLineTradeSettlement/"
                                 f"ram:ApplicableTradeTax/ram:RateApplicablePercent='{rate}']//ram:LineTotalAmount")
        off = amounts(root, "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge"
                            f"[ram:CategoryTradeTax/ram:RateApplicablePercent='{rate}']/ram:ActualAmount")
        assert cents(one(tax, "ram:BasisAmount")) == sum(on_lines) - sum(off), rate


def assert_totals_printed(root: etree._Element, text: str) -> None:
    """GrandTotal, TaxBasis, TaxTotal and each rate's VAT of the XML, as the PDF prints them."""
    assert f"Total HT {fr(one(root, SUMMATION + 'ram:TaxBasisTotalAmount'))}" in text
    assert f"Total TTC {fr(one(root, SUMMATION + 'ram:GrandTotalAmount'))}" in text
    breakdown = root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    tax_total = fr(one(root, SUMMATION + "ram:TaxTotalAmount"))
    if len(breakdown) == 1:
        rate = one(breakdown[0], "ram:RateApplicablePercent").replace(".", ",")
        assert f"TVA {rate} % {tax_total}" in text
        assert one(breakdown[0], "ram:CalculatedAmount") == one(root, SUMMATION + "ram:TaxTotalAmount")
    else:
        assert f"Total TVA {tax_total}" in text
        for tax in breakdown:
            rate = one(tax, "ram:RateApplicablePercent").replace(".", ",")
            basis, vat = fr(one(tax, "ram:BasisAmount")), fr(one(tax, "ram:CalculatedAmount"))
            assert f"TVA {rate} % sur {basis} {vat}" in text, (rate, basis, vat)
    for note in root.xpath("//rsm:ExchangedDocument/ram:IncludedNote/ram:Content", namespaces=NS):
        assert plain(note.text) in text, note.text  # the XML's notes are the printed mentions


def assert_matches_invoice(root: etree._Element, invoice: Invoice, order: Order) -> None:
    """The XML's amounts are the stored cents: the invoice's totals, the lines' HT and VAT."""
    assert cents(one(root, SUMMATION + "ram:TaxBasisTotalAmount")) == invoice.total_ht_cents
    assert cents(one(root, SUMMATION + "ram:TaxTotalAmount")) == invoice.total_vat_cents
    assert cents(one(root, SUMMATION + "ram:GrandTotalAmount")) == invoice.total_ttc_cents
    assert one(root, SUMMATION + "ram:TaxTotalAmount/@currencyID") == "EUR"
    positive = [line.ht_cents for line in order.lines if line.ht_cents >= 0]
    negative = [-line.ht_cents for line in order.lines if line.ht_cents < 0]
    assert amounts(root, "//ram:IncludedSupplyChainTradeLineItem//ram:LineTotalAmount") == positive
    assert amounts(root, "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge/"
                         "ram:ActualAmount") == negative
    for rate_bp in {line.vat_rate_bp for line in order.lines}:
        rate = f"{rate_bp // 100}.{rate_bp % 100:02d}".rstrip("0").rstrip(".")
        (tax,) = root.xpath(f"//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
                            f"[ram:RateApplicablePercent='{rate}']", namespaces=NS)
        assert cents(one(tax, "ram:CalculatedAmount")) == sum(
            line.vat_cents for line in order.lines if line.vat_rate_bp == rate_bp)


def staff_client(app):  # type: ignore[no-untyped-def]
    staff = visitor(app)
    login(staff, "vigneron@vernette.example")
    return staff


def invoice_order(app, staff, order_id: int) -> None:  # type: ignore[no-untyped-def]
    assert staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "paid"}).status_code in (200, 302)
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/facturer")
    assert response.status_code == 302, text_of(response)[:2000]


def documents_of(app, order_id: int) -> list[tuple[Invoice, Order, bytes]]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        order = session.get(Order, order_id)
        rows = session.scalars(select(Invoice).where(Invoice.order_id == order_id).order_by(Invoice.id)).all()
        result = [(invoice, order, invoice.document.content) for invoice in rows]
        for invoice, _, _ in result:
            session.expunge(invoice)
        list(order.lines), list(order.payments)
        session.expunge(order)
        return result


def place(app, client, token: str, **form: str) -> int:  # type: ignore[no-untyped-def]
    response = client.post(f"/{VERNETTE}/commande", data=checkout_form(token=token, **form))
    assert response.status_code == 302, text_of(response)[:3000]
    with session_for(app) as session:
        return session.scalars(select(Order.id).where(Order.checkout_token == f"tok-{token}")).one()


def juice_wine(app, wine_id: int) -> None:
    """Put a wine at 5.5 % (as grape juice would be), so that the order has two rates."""
    with session_for(app) as session:
        reduced = session.scalars(select(VatRate).where(VatRate.rate_bp == 550)).one()
        session.get(Wine, wine_id).vat_rate_id = reduced.id
        session.commit()


def other_orderable_wine(app, not_id: int) -> int:  # type: ignore[no-untyped-def]
    page = text_of(visitor(app).get(f"/{VERNETTE}/"))
    ids = [int(found) for found in re.findall(r'id="add-(\d+)"', page)]
    return next(wine_id for wine_id in ids if wine_id != not_id)


# -------------------------------------------------------------------------- tests


def test_a_private_buyers_invoice_embeds_its_lines_shipping_discount_and_vat_rates_as_printed(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=100)
    second = other_orderable_wine(app, wine_id)
    juice_wine(app, second)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "5"}).status_code == 302
    assert client.post(f"/{VERNETTE}/panier/ajouter/{second}", data={"quantity": "1"}).status_code == 302
    client.post(f"/{VERNETTE}/panier/code", data={"code": "#LAVERNETTE"})  # the demo's -10 % code
    order_id = place(app, client, "particulier", delivery="home", ship_elsewhere="y", shipping_name="Dominique Martin",
                     shipping_street="8 allée des Tilleuls", shipping_postcode="69100", shipping_city="Villeurbanne")
    staff = staff_client(app)
    invoice_order(app, staff, order_id)

    ((invoice, order, data),) = documents_of(app, order_id)
    kinds = [line.kind for line in order.lines]
    assert order.prices_include_vat and "shipping" in kinds and "discount" in kinds
    assert len({line.vat_rate_bp for line in order.lines}) == 2
    root = embedded_xml(data)
    text = pdf_text(data)
    assert one(root, "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == GUIDELINE
    assert one(root, "rsm:ExchangedDocument/ram:ID") == invoice.number and invoice.number in text
    assert one(root, "rsm:ExchangedDocument/ram:TypeCode") == "380"
    issued = one(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
    assert f"Date d'émission : {issued[6:]}/{issued[4:6]}/{issued[:4]}" in text  # the same (Paris) day
    assert f"Commande n° {one(root, '//ram:SellerOrderReferencedDocument/ram:IssuerAssignedID')}" in text
    assert_matches_invoice(root, invoice, order)
    assert_coherent(root)
    assert_totals_printed(root, text)
    seller = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/"
    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
    # the SIRET printed is the seller's global identifier, its SIREN the legal registration (BR-FR-09/10)
    assert one(root, seller + "ram:GlobalID[@schemeID='0009']") == estate.siret
    assert one(root, seller + "ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == estate.siret[:9]
    assert one(root, seller + "ram:SpecifiedTaxRegistration/ram:ID") == estate.vat_number
    assert one(root, seller + "ram:SpecifiedTaxRegistration/ram:ID/@schemeID") == "VA"
    assert one(root, seller + "ram:PostalTradeAddress/ram:CountryID") == "FR"
    assert f"SIRET {estate.siret}" in text and estate.vat_number in text
    buyer = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/"
    assert one(root, buyer + "ram:Name") == "Camille Durand"
    assert not root.xpath(buyer + "ram:SpecifiedTaxRegistration", namespaces=NS)  # a private buyer has none
    assert not root.xpath(buyer + "ram:SpecifiedLegalOrganization", namespaces=NS)
    assert not root.xpath(buyer + "ram:GlobalID", namespaces=NS)
    # paid before it was invoiced: nothing left to pay
    assert cents(one(root, SUMMATION + "ram:TotalPrepaidAmount")) == invoice.total_ttc_cents
    assert cents(one(root, SUMMATION + "ram:DuePayableAmount")) == 0 and "FACTURE ACQUITTÉE" in text
    assert one(root, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == "B2"
    # delivered elsewhere than billed: the address is in the XML and printed (CGI art. 242 nonies A)
    ship = "//ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty/"
    assert [one(root, ship + field) for field in ("ram:Name", "ram:PostalTradeAddress/ram:LineOne",
                                                  "ram:PostalTradeAddress/ram:PostcodeCode",
                                                  "ram:PostalTradeAddress/ram:CityName")] == [
        "Dominique Martin", "8 allée des Tilleuls", "69100", "Villeurbanne"]
    assert "Adresse de livraison : Dominique Martin, 8 allée des Tilleuls, 69100 Villeurbanne" in text
    assert_fonts_embedded(data)
    assert_pdfa3(data)


def test_a_professional_buyers_invoice_carries_their_siret_and_vat_number_printed_and_in_the_xml(app):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=100)
    pro = visitor(app)
    login(pro, "caviste@chai.example")
    assert pro.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "12"}).status_code == 302
    order_id = place(app, pro, "pro", email="caviste@chai.example", company="Cave du Marché")
    invoice_order(app, staff_client(app), order_id)

    ((invoice, order, data),) = documents_of(app, order_id)
    assert not order.prices_include_vat  # the pro price list is HT
    root = embedded_xml(data)
    text = pdf_text(data)
    buyer = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/"
    assert one(root, buyer + "ram:SpecifiedTaxRegistration/ram:ID") == CAVISTE_VAT
    assert one(root, buyer + "ram:SpecifiedTaxRegistration/ram:ID/@schemeID") == "VA"
    assert one(root, buyer + "ram:GlobalID[@schemeID='0009']") == CAVISTE_SIRET
    assert one(root, buyer + "ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == CAVISTE_SIRET[:9]
    assert one(root, buyer + "ram:Name") == "Cave du Marché"
    assert f"SIRET {CAVISTE_SIRET}" in text and f"N° TVA intracommunautaire {CAVISTE_VAT}" in text
    # HT prices: the unit price is the price list's, and quantity × price is the line
    for item in root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS):
        price = cents(one(item, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount"))
        quantity = int(one(item, ".//ram:BilledQuantity"))
        assert price * quantity == cents(one(item, ".//ram:LineTotalAmount"))
    assert_matches_invoice(root, invoice, order)
    assert_coherent(root)
    assert_totals_printed(root, text)
    assert sorted(root.xpath("//rsm:ExchangedDocument/ram:IncludedNote/ram:SubjectCode/text()",
                             namespaces=NS)) == ["AAB", "PMD", "PMT"]  # the French rules' legal mentions
    # delivered to the billing address: in the XML, not printed twice
    assert one(root, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:LineOne") == "3 rue des Lilas"
    assert "Adresse de livraison" not in text
    assert_fonts_embedded(data)
    assert_pdfa3(data)


def test_a_credit_note_is_a_factur_x_381_that_names_the_invoice_it_cancels(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=100)
    assert client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
    order_id = place(app, client, "avoir", delivery="home")
    staff = staff_client(app)
    invoice_order(app, staff, order_id)
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "cancelled"})

    (invoice, _, _), (credit, order, data) = documents_of(app, order_id)
    assert credit.kind is InvoiceKind.CREDIT_NOTE
    root = embedded_xml(data)
    text = pdf_text(data)
    assert one(root, "rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(root, "rsm:ExchangedDocument/ram:ID") == credit.number and f"Avoir n° {credit.number}" in text
    reference = "//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument/"
    assert one(root, reference + "ram:IssuerAssignedID") == invoice.number
    assert f"Avoir sur la facture n° {invoice.number}" in text
    assert one(root, reference + "ram:FormattedIssueDateTime/qdt:DateTimeString/@format") == "102"
    # the credit note is owed back in full: no prepaid amount on it
    assert not root.xpath(SUMMATION + "ram:TotalPrepaidAmount", namespaces=NS)
    assert cents(one(root, SUMMATION + "ram:DuePayableAmount")) == credit.total_ttc_cents > 0
    assert_matches_invoice(root, credit, order)
    assert_coherent(root)
    assert_totals_printed(root, text)
    assert_fonts_embedded(data)
    assert_pdfa3(data)


def test_the_stored_invoice_is_the_one_customers_download_and_uploaded_invoices_stay_as_uploaded(app, client):
    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=100)
    client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    order_id = place(app, client, "telechargement")
    staff = staff_client(app)
    invoice_order(app, staff, order_id)
    ((_, _, stored),) = documents_of(app, order_id)
    download = staff.get(f"/gestion/{VERNETTE}/commandes/{order_id}/facture.pdf")
    assert download.status_code == 200 and download.data == stored
    embedded_xml(download.data)

    client.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    other_id = place(app, client, "externe")
    uploaded = b"%PDF-1.4\n% made in the estate's own software\n"
    response = staff.post(f"/gestion/{VERNETTE}/commandes/{other_id}/facture-externe",
                          data={"number": "2026-118", "invoice": (io.BytesIO(uploaded), "f.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    with session_for(app) as session:
        document = session.scalars(select(Document).where(Document.order_id == other_id,
                                                          Document.kind == "external_invoice")).one()
        assert document.content == uploaded


def test_a_credit_note_names_the_invoiced_professional_even_if_their_account_is_no_longer_verified(app):
    from models import ProStatus, User

    wine_id, _, _ = first_orderable_wine(app, VERNETTE, stock=100)
    pro = visitor(app)
    login(pro, "caviste@chai.example")
    pro.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    order_id = place(app, pro, "pro-avoir", email="caviste@chai.example", company="Cave du Marché")
    staff = staff_client(app)
    invoice_order(app, staff, order_id)
    with session_for(app) as session:
        session.scalars(select(User).where(User.email == "caviste@chai.example")).one().pro_status = ProStatus.NONE
        session.commit()
    staff.post(f"/gestion/{VERNETTE}/commandes/{order_id}/statut", data={"to": "cancelled"})

    (_, _, invoice_pdf), (credit, _, data) = documents_of(app, order_id)
    assert credit.kind is InvoiceKind.CREDIT_NOTE
    buyer = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/"
    for pdf in (invoice_pdf, data):
        root = embedded_xml(pdf)
        assert one(root, buyer + "ram:SpecifiedTaxRegistration/ram:ID") == CAVISTE_VAT
        assert one(root, buyer + "ram:GlobalID") == CAVISTE_SIRET
        assert f"N° TVA intracommunautaire {CAVISTE_VAT}" in pdf_text(pdf)
