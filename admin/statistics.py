"""Sales statistics and payments follow-up (statistiques de vente, suivi des paiements)."""

from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _

from admin import bp
from models import db
from services import charts, statistics
from services.delivery import KIND_LABELS
from services.orders import PAYMENT_LABELS
from services.web import download


def _period() -> tuple[statistics.Period, list[str]]:
    """:raise nothing: a bad query string gives the default period and French messages."""
    args = request.args
    return statistics.parse_period(args.get("du"), args.get("au"), args.get("granularite"), args.get("annee"),
                                   statistics.today())


def _labels() -> dict[object, str]:
    return {"particulier": _("Particuliers"), "professionnel": _("Professionnels"), "groupe": _("Groupes"),
            "group_purchase": _("Achat groupé"), "fair": _("Salon"),
            **{k: str(v) for k, v in KIND_LABELS.items()}, **{k: str(v) for k, v in PAYMENT_LABELS.items()}}


@bp.get("/statistiques")
def statistics_page():  # type: ignore[no-untyped-def]
    overview = statistics.overview(db.session, g.estate.id)
    period, notices = _period()
    stats = statistics.for_period(db.session, g.estate.id, period)
    labels = _labels()
    asked = request.args.get("granularite", "")
    context = dict(
        overview=overview, stats=stats, notices=notices, labels=labels,
        granularity_asked=asked if asked in statistics.GRANULARITIES else "",  # "" is "Automatique"
        presets=statistics.presets(statistics.today()),
        series_chart=charts.columns([(statistics.bucket_label(r.start, period.granularity), r.net_ttc_cents)
                                     for r in stats.series]),
        type_chart=charts.rows([(labels[s.key], s.ttc_cents) for s in stats.breakdown.by_customer_type]),
        payment_chart=charts.rows([(labels[s.key], s.ttc_cents) for s in stats.breakdown.by_payment]),
    )
    return render_template("admin/statistics.html", **context)


@bp.get("/statistiques.csv")
def statistics_csv():  # type: ignore[no-untyped-def]
    period, _notices = _period()
    stats = statistics.for_period(db.session, g.estate.id, period)
    filename = f"statistiques-{g.estate.slug}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return download(statistics.to_csv(stats, _labels()).encode("utf-8"), "text/csv", filename)
