"""The order form and invoice PDFs: rendered from in-memory models (no rows), converted
with xhtml2pdf and read back with pypdf."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any

import flask
import pytest
from pypdf import PdfReader

from models import DeliveryKind, Estate, Invoice, InvoiceKind, Order, OrderLine, OrderStatus, PaymentMode, utcnow
from services.pdf import FONT_DIR, PdfError, html_to_pdf
from services.templating import euros
from services.templating import PARIS  # the documents print Paris dates
from tests.conftest import TestDatabase, make_app

HEALTH_WARNING = "L'abus d'alcool est dangereux pour la santé, à consommer avec modération."


def make_estate(**overrides: Any) -> Estate:
    values: dict[str, Any] = dict(
        id=1, slug="vernette", name="Domaine de la Vernette", legal_name="EARL Vernay Père & Fils",
        street="12 chemin des Crêts", postcode="69840", city="Juliénas", country="FR",
        phone="04 74 00 00 00", email="contact@vernette.example", siret="81234567800019",
        vat_number="FR12812345678",
    )
    values.update(overrides)
    return Estate(**values)


def line(label: str, quantity: int, unit: int, vat_bp: int, ht: int, ttc: int, shipping: bool = False) -> OrderLine:
    return OrderLine(label=label, quantity=quantity, unit_price_cents=unit, vat_rate_bp=vat_bp,
                     ht_cents=ht, vat_cents=ttc - ht, ttc_cents=ttc, is_shipping=shipping)


def make_order(lines: list[OrderLine] | None = None, **overrides: Any) -> Order:
    if lines is None:
        lines = [
            line("Morgon Côte du Py 2022 — 75 cl", 6, 1850, 2000, 9250, 11100),
            line("Beaujolais-Villages Rosé 2023 — 75 cl", 12, 1100, 2000, 11000, 13200),
            line("Jus de raisin bio — 1 l", 3, 450, 550, 1280, 1350),
            line("Livraison à domicile", 1, 1590, 2000, 1325, 1590, shipping=True),
        ]
    now = utcnow()
    values: dict[str, Any] = dict(
        id=42, estate_id=1, number="VER-00042", checkout_token="t" * 32, status=OrderStatus.PAID,
        customer_id=1, prices_include_vat=True, payment_mode=PaymentMode.CARD,
        delivery_kind=DeliveryKind.HOME, delivery_label="Livraison à domicile (Colissimo)",
        email="camille.durand@example.org", phone="06 12 34 56 78",
        billing_name="Camille Durand", billing_company="", billing_street="3 rue de la République",
        billing_postcode="69002", billing_city="Lyon", billing_country="FR",
        shipping_name="Camille Durand", shipping_street="8 allée des Tilleuls", shipping_postcode="69100",
        shipping_city="Villeurbanne", shipping_country="FR", customer_note="",
        bottles=18, goods_ht_cents=21530, shipping_ttc_cents=1590,
        total_ht_cents=sum(item.ht_cents for item in lines),
        total_vat_cents=sum(item.vat_cents for item in lines),
        total_ttc_cents=sum(item.ttc_cents for item in lines),
        conditions_accepted_at=now, created_at=now - timedelta(days=2), lines=lines,
    )
    values.update(overrides)
    return Order(**values)


def make_invoice(order: Order, **overrides: Any) -> Invoice:
    values: dict[str, Any] = dict(
        id=7, estate_id=1, order_id=order.id, kind=InvoiceKind.INVOICE, number="F2025-00017",
        issued_at=utcnow(), total_ht_cents=order.total_ht_cents, total_vat_cents=order.total_vat_cents,
        total_ttc_cents=order.total_ttc_cents,
    )
    values.update(overrides)
    return Invoice(**values)


def plain(value: str) -> str:
    """Whitespace collapsed to single spaces: pypdf ends every table cell and wrapped
    line with a newline, and French number formatting uses no-break spaces."""
    return " ".join(value.split())


def text_of(data: bytes) -> list[str]:
    return [plain(page.extract_text()) for page in PdfReader(BytesIO(data)).pages]


@pytest.fixture
def render(database: TestDatabase):
    """render(template, **context) → (page texts, PDF bytes); also formats money the
    way the templates do, through render.euros(cents)."""
    app = make_app(database)

    def _render(template: str, **context: Any) -> tuple[list[str], bytes]:
        with app.test_request_context():
            html = flask.render_template(template, **context)
        data = html_to_pdf(html)
        assert data.startswith(b"%PDF-")
        return text_of(data), data

    def _euros(cents: int) -> str:
        with app.test_request_context():
            return plain(euros(cents))

    _render.euros = _euros  # type: ignore[attr-defined]
    return _render


def render_order_form(render, order: Order, estate: Estate | None = None) -> list[str]:
    pages, _ = render("pdf/order_form.html", order=order, estate=estate or make_estate(),
                      payment_label="Carte bancaire", status_label="Payée")
    return pages


def render_invoice(render, order: Order, invoice: Invoice, **context: Any) -> list[str]:
    context.setdefault("credited_number", None)
    context.setdefault("paid_at", order.paid_at)
    context.setdefault("payment_label", "Carte bancaire")
    pages, _ = render("pdf/invoice.html", invoice=invoice, order=order, estate=make_estate(), **context)
    return pages


# ----------------------------------------------------------------------- order form


def test_order_form_shows_number_customer_seller_lines_and_total(render):
    order = make_order(customer_note="Merci de livrer après 18 h.")
    (text,) = render_order_form(render, order)
    assert "Bon de commande n° VER-00042" in text
    assert order.created_at.astimezone(PARIS).strftime("%d/%m/%Y") in text
    assert "Camille Durand" in text and "3 rue de la République" in text and "camille.durand@example.org" in text
    assert "8 allée des Tilleuls" in text and "Livraison à domicile (Colissimo)" in text
    assert "SIRET 81234567800019" in text and "FR12812345678" in text and "Domaine de la Vernette" in text
    assert "Carte bancaire" in text and "Payée" in text
    assert "Prix unitaire TTC" in text and "Frais de port" in text and "Morgon Côte du Py 2022" in text
    assert "20 %" in text and "5,5 %" in text
    assert render.euros(27240) == "272,40 €" and "272,40 €" in text
    assert "Merci de livrer après 18 h." in text
    assert HEALTH_WARNING in text


def test_order_form_of_a_pro_order_labels_unit_prices_ht_and_skips_an_empty_shipping_address(render):
    order = make_order(prices_include_vat=False, billing_company="Cave du Marché SARL", shipping_street="",
                       delivery_kind=DeliveryKind.PICKUP, delivery_label="Enlèvement à la propriété")
    (text,) = render_order_form(render, order)
    assert "Prix unitaire HT" in text and "Cave du Marché SARL" in text
    assert "Enlèvement à la propriété" in text and "8 allée des Tilleuls" not in text
    assert "Note du client" not in text


def test_order_form_uses_the_trade_name_when_the_estate_has_no_legal_name(render):
    (text,) = render_order_form(render, make_order(), make_estate(legal_name=""))
    assert "Domaine de la Vernette — 12 chemin des Crêts" in text


def test_an_order_of_forty_lines_spans_pages_and_every_page_has_the_footer(render):
    lines = [line(f"Cuvée n° {i} — Juliénas Vieilles Vignes 2021 — 75 cl", 6, 1500, 2000, 7500, 9000)
             for i in range(1, 41)]
    order = make_order(lines=lines)
    pages = render_order_form(render, order)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert HEALTH_WARNING in text, f"page {number}"
        assert "SIRET 81234567800019" in text and f"page {number} / {len(pages)}" in text
        if "Cuvée n°" in text:
            assert "Désignation" in text, f"page {number}: the table header repeats"
    assert all(f"Cuvée n° {i} —" in "".join(pages) for i in range(1, 41))
    assert f"Total TTC {render.euros(360000)}" in " ".join(pages)


# -------------------------------------------------------------------------- invoices


def test_paid_invoice_carries_the_legal_mentions_and_the_acquitted_stamp(render):
    order = make_order(paid_at=utcnow())
    invoice = make_invoice(order)
    (text,) = render_invoice(render, order, invoice)
    assert "Facture n° F2025-00017" in text and "Commande n° VER-00042" in text
    assert "FACTURE ACQUITTÉE" in text
    assert f"Payée le {order.paid_at.astimezone(PARIS).strftime('%d/%m/%Y')} par Carte bancaire" in text
    assert "N° TVA intracommunautaire FR12812345678" in text and "SIRET 81234567800019" in text
    assert "EARL Vernay Père & Fils" in text and "Camille Durand" in text and "69002 Lyon" in text
    assert f"Date d'émission : {invoice.issued_at.astimezone(PARIS).strftime('%d/%m/%Y')}" in text
    assert f"Date de la vente : {order.created_at.astimezone(PARIS).strftime('%d/%m/%Y')}" in text
    assert "PU HT" in text and "Conditions de paiement : comptant." in text
    assert "Pas d'escompte pour paiement anticipé." in text and "Pénalités de retard" not in text
    assert "272,40 €" in text
    assert HEALTH_WARNING in text


def test_invoice_breaks_vat_down_by_rate_when_there_are_several(render):
    order = make_order(paid_at=utcnow())
    (text,) = render_invoice(render, order, make_invoice(order))
    assert f"TVA 20 % sur {render.euros(21575)} {render.euros(4315)}" in text
    assert f"TVA 5,5 % sur {render.euros(1280)} {render.euros(70)}" in text
    assert f"Total TVA {render.euros(4385)}" in text


def test_invoice_with_one_vat_rate_shows_a_single_vat_line(render):
    order = make_order(lines=[line("Morgon 2022 — 75 cl", 6, 1850, 2000, 9250, 11100)], paid_at=utcnow())
    (text,) = render_invoice(render, order, make_invoice(order))
    assert f"TVA 20 % {render.euros(1850)}" in text and "Total TVA" not in text


def test_unpaid_invoice_has_no_acquitted_stamp(render):
    order = make_order(paid_at=None)
    (text,) = render_invoice(render, order, make_invoice(order), payment_label="Virement bancaire")
    assert "Facture n° F2025-00017" in text and "ACQUITTÉE" not in text
    assert "Mode de paiement : Virement bancaire" in text


def test_invoice_to_a_professional_prints_the_late_payment_mentions(render):
    order = make_order(prices_include_vat=False, billing_company="Cave du Marché SARL", paid_at=utcnow())
    (text,) = render_invoice(render, order, make_invoice(order))
    assert "Escompte pour paiement anticipé : néant." in text
    assert ("Pénalités de retard : trois fois le taux d'intérêt légal ; indemnité forfaitaire pour frais "
            "de recouvrement : 40 €.") in text
    assert "Cave du Marché SARL" in text and "arrondis" not in text


def test_credit_note_names_the_invoice_it_cancels_and_shows_positive_amounts(render):
    order = make_order(paid_at=utcnow())
    credit = make_invoice(order, kind=InvoiceKind.CREDIT_NOTE, number="AV2025-00003")
    (text,) = render_invoice(render, order, credit, credited_number="F2025-00017")
    assert "Avoir n° AV2025-00003" in text and "Avoir sur la facture n° F2025-00017" in text
    assert "Facture n°" not in text and "ACQUITTÉE" not in text
    assert "272,40 €" in text and "-272" not in text and "−272" not in text


def test_names_outside_the_french_alphabet_survive_in_the_pdf(render):
    if not (FONT_DIR / "DejaVuSans.ttf").is_file():
        pytest.skip("DejaVu Sans is not installed: the PDFs fall back to Helvetica (WinAnsi only)")
    order = make_order(billing_name="Łukasz Żółć", billing_company="Şahin Şarap Ltd", paid_at=utcnow())
    (text,) = render_invoice(render, order, make_invoice(order))
    assert "Łukasz Żółć" in text and "Şahin Şarap Ltd" in text


def test_an_external_url_in_a_document_is_refused():
    with pytest.raises(PdfError, match="external"):
        html_to_pdf('<html><body><img src="https://example.com/logo.png"></body></html>')
