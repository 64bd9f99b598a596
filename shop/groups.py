"""Producer groups (issue 11, seed 002), every URL under ``/groupes/``.

* ``groups.py`` (this module): the group's own pages — "Mes groupes", creating a group,
  its settings and link, "Membres" and invitations, joining, the "Catalogues" tab (link,
  unlink), a catalogue's page (the URL an estate sends), the "Distributions" tab.
* ``group_shop.py``: the group shop of one distribution (one basket across estates),
  its checkout and single payment, the distribution sheet and collection ticking.

Access is decided by services.producer_groups (:func:`load_group`): anyone who may not
see a group gets 404, so its existence is not even confirmed.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from models import Distribution, ProducerGroup, db
from services import producer_groups
from shop.site import require_age_confirmation

groups_bp = Blueprint("groups", __name__, url_prefix="/groupes")
groups_bp.before_request(require_age_confirmation)  # the group shop sells wine


def load_group(group_id: int, *, admin: bool = False) -> ProducerGroup:
    """The group, for a user who may see it (a member, or staff of a linked estate);
    ``admin``: only for its administrators.

    :raise 404: no such group, or the user may not see it.
    """
    group = db.session.get(ProducerGroup, group_id)
    user = current_user if current_user.is_authenticated else None
    if group is None or user is None:
        abort(404)
    if admin:
        if not producer_groups.is_admin(db.session, group.id, user):
            abort(404)
    elif not producer_groups.can_see(db.session, group.id, user):
        abort(404)
    return group


def load_distribution(group: ProducerGroup, distribution_id: int) -> Distribution:
    """:raise 404: not a distribution of this group."""
    distribution = db.session.get(Distribution, distribution_id)
    if distribution is None or distribution.group_id != group.id:
        abort(404)
    return distribution


from shop import group_shop  # noqa: E402,F401 — the group shop's routes
