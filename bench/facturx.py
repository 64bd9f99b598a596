"""What Factur-X costs per issued invoice: the plain xhtml2pdf PDF against the Factur-X
one (the XML, the library's XSD check and embedding, the PDF/A pass), rendered
from in-memory models (no database), in one process, after one warm-up render.

    .venv/bin/python -m bench.facturx [--lines 4] [--runs 10]

Prints the median time of each step, the ratio Factur-X / plain, and both sizes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _models(lines: int):  # type: ignore[no-untyped-def]
    from models import DeliveryKind, Estate, Invoice, InvoiceKind, Order, OrderLine, OrderStatus, PaymentMode
    from services.pricing import split_vat

    now = datetime.now(timezone.utc)
    estate = Estate(id=1, slug="vernette", name="Domaine de la Vernette", legal_name="EARL Domaine de la Vernette",
                    street="214 route des Thorins", postcode="71570", city="Romanèche-Thorins", country="FR",
                    email="contact@vernette.example", siret="81472563600017", vat_number="FR20814725636")
    order_lines = []
    for n in range(lines):
        split = split_vat(1850 * 6, 2000, includes_vat=True)
        order_lines.append(OrderLine(label=f"Cuvée n° {n + 1} 2022 — 75 cl", quantity=6, unit_price_cents=1850,
                                     vat_rate_bp=2000, ht_cents=split.ht_cents, vat_cents=split.vat_cents,
                                     ttc_cents=split.ttc_cents, kind="goods"))
    order = Order(id=1, estate_id=1, number="VER-00001", checkout_token="t", status=OrderStatus.PAID, customer_id=1,
                  prices_include_vat=True, payment_mode=PaymentMode.CARD, delivery_kind=DeliveryKind.HOME,
                  delivery_label="Livraison à domicile", email="camille@example.org", billing_name="Camille Durand",
                  billing_company="", billing_street="3 rue des Lilas", billing_postcode="69007", billing_city="Lyon",
                  billing_country="FR", bottles=6 * lines, goods_ht_cents=0, shipping_ttc_cents=0,
                  total_ht_cents=sum(x.ht_cents for x in order_lines),
                  total_vat_cents=sum(x.vat_cents for x in order_lines),
                  total_ttc_cents=sum(x.ttc_cents for x in order_lines), conditions_accepted_at=now, created_at=now,
                  paid_at=now, lines=order_lines, payments=[])
    invoice = Invoice(id=1, estate_id=1, order_id=1, kind=InvoiceKind.INVOICE, number="F2026-00001", issued_at=now,
                      total_ht_cents=order.total_ht_cents, total_vat_cents=order.total_vat_cents,
                      total_ttc_cents=order.total_ttc_cents)
    return estate, order, invoice


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=4)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    from flask import render_template
    from flask_babel import force_locale

    from app import create_app
    from services import facturx
    from services.pdf import html_to_pdf

    folder = tempfile.mkdtemp(prefix="chai-bench-facturx-")
    app = create_app({"TESTING": True, "INSTANCE_PATH": folder, "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/unused.db"})
    estate, order, invoice = _models(args.lines)
    context = dict(invoice=invoice, order=order, estate=estate, credited_number=None, paid_at=order.paid_at,
                   payment_label="Carte bancaire", status_label="Payée")
    times: dict[str, list[float]] = {"plain PDF": [], "CII XML": [], "PDF/A pass": [], "factur-x (XSD, embed)": []}
    with app.test_request_context(), force_locale("fr"):
        for run in range(args.runs + 1):  # the first run warms the imports and caches up
            start = time.perf_counter()
            plain = html_to_pdf(render_template("pdf/invoice.html", **context))
            t_pdf = time.perf_counter()
            xml = facturx.invoice_xml(invoice, order, estate, payment_label="Carte bancaire")
            t_xml = time.perf_counter()
            intent = facturx.finish_pdfa(plain)
            t_intent = time.perf_counter()
            full = facturx.pdfa3(plain, xml, title="Facture", author="EARL", subject="Facture")
            t_full = time.perf_counter()
            if run:
                times["plain PDF"].append(t_pdf - start)
                times["CII XML"].append(t_xml - t_pdf)
                times["PDF/A pass"].append(t_intent - t_xml)
                # pdfa3 runs the PDF/A pass too: count it once
                times["factur-x (XSD, embed)"].append((t_full - t_intent) - (t_intent - t_xml))
    medians = {step: statistics.median(values) for step, values in times.items()}
    for step, value in medians.items():
        print(f"{step:24} {value * 1000:8.1f} ms")
    extra = sum(medians.values()) - medians["plain PDF"]
    print(f"{'Factur-X / plain':24} {(medians['plain PDF'] + extra) / medians['plain PDF']:8.2f} ×"
          f"  (+{extra * 1000:.0f} ms per invoice, {args.lines} lines)")
    print(f"{'size plain / Factur-X':24} {len(plain):8d} B → {len(full)} B ({len(intent) - len(plain):+d} B of"
          f" output intent)")


if __name__ == "__main__":
    main()
