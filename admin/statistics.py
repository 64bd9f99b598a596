"""Sales statistics and payments follow-up (statistiques de vente, suivi des paiements)."""

from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _
from jinja2_fragments.flask import render_block

from admin import bp
from models import db
from services import statistics


def _year(offered: list[int]) -> tuple[int, str | None]:
    """(the year asked for by ``?annee=``, or the current one; a French message when
    the value is not one of the offered years)."""
    default = statistics.current_year()
    raw = (request.args.get("annee") or "").strip()
    if not raw:
        return default, None
    if not (raw.isdigit() and len(raw) == 4):
        return default, _("« %(value)s » n'est pas une année : voici les chiffres de %(year)s.",
                          value=raw[:20], year=default)
    if int(raw) not in offered:
        return default, _("Aucune commande en %(asked)s : voici les chiffres de %(year)s.", asked=raw, year=default)
    return int(raw), None


@bp.get("/statistiques")
def statistics_page():  # type: ignore[no-untyped-def]
    overview = statistics.overview(db.session, g.estate.id)
    year, notice = _year(overview.years)
    context = dict(overview=overview, stats=statistics.for_year(db.session, g.estate.id, year), notice=notice)
    if request.htmx and request.htmx.target == "statistics":
        return render_block("admin/statistics.html", "statistics", **context)
    return render_template("admin/statistics.html", **context)
