"""The producer group's pages in English (Flask-Babel's second language): every page of
a member's and an administrator's path renders, translated."""

from __future__ import annotations

from tests.conftest import text_of
from tests.integration.test_group_shop import ADMIN, VERNETTE, _card_app, _fill_and_checkout, _member, _setup, _shop


def test_a_member_and_an_administrator_read_the_group_in_english(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    member = _member(app)
    with member.session_transaction() as session:
        session["lang"] = "en"
    shop = text_of(member.get(f"{_shop(setup)}/boutique"))
    assert "My basket" in shop and "Mon panier" not in shop
    _fill_and_checkout(member, setup, {VERNETTE: 1})
    assert "Distributions" in text_of(member.get(f"/groupes/{setup.group_id}"))
    admin = _member(app, ADMIN)
    with admin.session_transaction() as session:
        session["lang"] = "en"
    for url in (f"/groupes/{setup.group_id}/membres", f"/groupes/{setup.group_id}/parametres",
                f"/groupes/{setup.group_id}/catalogues", f"{_shop(setup)}/feuille", f"/gestion/{VERNETTE}/ventes",
                f"/gestion/{VERNETTE}/catalogues", "/groupes/"):
        response = admin.get(url)
        assert response.status_code == 200, url
    assert "Distribution sheet" in text_of(admin.get(f"{_shop(setup)}/feuille"))
    assert "Sales" in text_of(admin.get(f"/gestion/{VERNETTE}/ventes"))
