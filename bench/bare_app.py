"""The bare stack Chai is measured against: Flask, Jinja and SQLAlchemy Core, nothing
else, served by the same gunicorn settings as Chai (``bench/run`` starts both).

    GET  /liste     a 24-item Jinja list (the ceiling for a catalogue page)
    POST /commande  the checkout's rows in one transaction (bench/checkout_tx.py), then
                    a redirect to the order, like Chai's checkout

The database is ``BENCH_DATABASE_URL``: the benchmark's own, with Chai's engine
set-up (WAL, busy timeout and ``BEGIN IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, redirect, render_template, request
from jinja2 import DictLoader
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import checkout_tx  # noqa: E402
from services.database import install_engine_listeners  # noqa: E402

LIST_TEMPLATE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1>
<ul class="wines">
{% for item in items %}  <li id="vin-{{ item.id }}"><a href="/vin/{{ item.id }}">{{ item.name }} {{ item.vintage }}</a>
    <small>{{ item.appellation }} · 75 cl</small> <strong>{{ "%.2f"|format(item.cents / 100) }} €</strong></li>
{% endfor %}</ul></main></body></html>
"""

ITEMS = [{"id": n, "name": f"Cuvée n° {n}", "vintage": 2020 + n % 5, "appellation": "Beaujolais-Villages",
          "cents": 1000 + 50 * n} for n in range(1, 25)]


def create_app() -> Flask:
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"list.html": LIST_TEMPLATE})
    install_engine_listeners()
    # the same engine options as Chai's (app.py: pool_pre_ping, default pool)
    engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)

    @app.get("/liste")
    def wine_list():  # type: ignore[no-untyped-def]
        return render_template("list.html", title="Nos vins", items=ITEMS)

    @app.post("/commande")
    def checkout():  # type: ignore[no-untyped-def]
        spec = checkout_tx.spec_from_form(request.form)
        try:
            with engine.begin() as conn:
                number = checkout_tx.write_core(conn, spec, datetime.now(timezone.utc))
        except (checkout_tx.OutOfStock, checkout_tx.CodeExhausted):
            return "épuisé", 409
        return redirect(f"/commande/{number}")

    return app
