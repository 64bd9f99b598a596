"""The group shop of one distribution: one basket across estates, one checkout that
makes one order per estate, one payment split per estate; the distribution sheet and
the administrator's collection ticking on the day."""

from __future__ import annotations

from flask import render_template
from flask_login import login_required

from shop.groups import groups_bp, load_distribution, load_group


@groups_bp.get("/<int:group_id>/distributions/<int:distribution_id>/boutique")
@login_required
def shop(group_id: int, distribution_id: int):  # type: ignore[no-untyped-def]
    group = load_group(group_id)
    distribution = load_distribution(group, distribution_id)
    return render_template("groups/shop.html", group=group, distribution=distribution)


@groups_bp.get("/<int:group_id>/distributions/<int:distribution_id>/feuille")
@login_required
def distribution_sheet(group_id: int, distribution_id: int):  # type: ignore[no-untyped-def]
    group = load_group(group_id, admin=True)
    distribution = load_distribution(group, distribution_id)
    return render_template("groups/sheet.html", group=group, distribution=distribution)
