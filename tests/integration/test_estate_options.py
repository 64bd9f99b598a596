"""The options the platform operator switches per estate (issue 13): tastings and
producer groups switched off give 404 on their pages, for the estate's own manager, and
hide their links; the other estate is untouched; switched back on, all is as before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from admin.access import OPTION_MODULES
from models import Estate, User, utcnow
from tests.conftest import login, session_for, text_of, visitor
from tests.integration.test_group_shop import _member, _setup, _shop

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
MANAGERS = {VERNETTE: "vigneron@vernette.example", ROZEL: "vigneron@rozel.example"}
CUSTOMER = "client@chai.example"

#: the nav links of each option (templates/admin/layout.html)
NAV_LINKS = {
    "tastings_enabled": ("/reunions", "/fidelite/reunions"),
    "groups_enabled": ("/catalogues", "/ventes"),
    "newsletter_enabled": ("/lettres",),  # issue 14: lettres d'information
}


def _switch(app, slug: str, option: str, on: bool) -> None:  # type: ignore[no-untyped-def]
    """What the operator's switch does: the estate's column."""
    with session_for(app) as session:
        session.execute(update(Estate).where(Estate.slug == slug).values({option: on}))
        session.commit()


def _manager(app, slug: str):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, MANAGERS[slug])
    return client


def _admin_urls(app, slug: str, module: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, URL) of every endpoint the back-office module defines, under ``slug``
    (ids that name nothing: the option's 404 comes first anyway)."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "__module__", "") != module:
            continue
        values = {arg: 1 for arg in rule.arguments if arg != "estate_slug"}
        url = adapter.build(rule.endpoint, {"estate_slug": slug, **values})
        urls += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert urls, module
    return urls


def _nav(client, slug: str) -> str:  # type: ignore[no-untyped-def]
    page = text_of(client.get(f"/gestion/{slug}/"))
    return page.split('<nav class="admin-nav"', 1)[1].split("</nav>", 1)[0]


def _links_shown(client, slug: str, option: str) -> list[bool]:  # type: ignore[no-untyped-def]
    nav = _nav(client, slug)
    return [f'href="/gestion/{slug}{path}"' in nav for path in NAV_LINKS[option]]


def _main_page(option: str) -> str:
    return {"tastings_enabled": "/reunions", "groups_enabled": "/catalogues", "newsletter_enabled": "/lettres"}[option]


@pytest.mark.parametrize("option", sorted(OPTION_MODULES.values()))
def test_an_option_switched_off_gives_404_and_hides_its_links_for_that_estate_only(app, option):
    module = next(name for name, column in OPTION_MODULES.items() if column == option)
    vernette, rozel = _manager(app, VERNETTE), _manager(app, ROZEL)
    main = _main_page(option)
    assert vernette.get(f"/gestion/{VERNETTE}{main}").status_code == 200
    assert _links_shown(vernette, VERNETTE, option) == [True] * len(NAV_LINKS[option])

    _switch(app, VERNETTE, option, False)
    for method, url in _admin_urls(app, VERNETTE, module):
        assert vernette.open(url, method=method, data={"name": "x"}).status_code == 404, f"{method} {url}"
    assert _links_shown(vernette, VERNETTE, option) == [False] * len(NAV_LINKS[option])
    assert vernette.get(f"/gestion/{VERNETTE}/").status_code == 200  # the rest of the back office
    assert vernette.get(f"/gestion/{VERNETTE}/amis").status_code == 200
    assert rozel.get(f"/gestion/{ROZEL}{main}").status_code == 200  # the other estate: untouched
    assert _links_shown(rozel, ROZEL, option) == [True] * len(NAV_LINKS[option])
    operator = visitor(app)
    login(operator, "operateur@chai.example")
    assert operator.get(f"/gestion/{VERNETTE}{main}").status_code == 404  # off for everyone

    _switch(app, VERNETTE, option, True)
    assert vernette.get(f"/gestion/{VERNETTE}{main}").status_code == 200
    assert _links_shown(vernette, VERNETTE, option) == [True] * len(NAV_LINKS[option])


def _a_tasting(app, slug: str) -> str:  # type: ignore[no-untyped-def]
    """A coming tasting of the estate's vigneron; its invitation token."""
    from services import tastings
    from services.tenancy import scope_to_estate

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        scope_to_estate(session, estate.id)
        staff = session.scalars(select(User).where(User.email == MANAGERS[slug])).one()
        now = utcnow()
        tasting = tastings.create(session, estate, tastings.TastingData(
            f"hote@{slug}.example", "Hôte", "Options", now + timedelta(days=20), "Chez l'hôte"), staff, now=now,
            secret_key="k", public_url="http://localhost")
        session.commit()
        return tasting.token


def test_tastings_switched_off_close_the_shops_tasting_pages_of_that_estate_only(app):
    tokens = {slug: _a_tasting(app, slug) for slug in (VERNETTE, ROZEL)}
    customer = visitor(app)
    login(customer, CUSTOMER)

    def statuses(slug: str) -> list[int]:
        token = tokens[slug]
        return [visitor(app).get(f"/{slug}/reunion/{token}").status_code,
                customer.get(f"/{slug}/reunion/{token}").status_code,
                customer.get(f"/{slug}/mes-cadeaux").status_code]

    assert statuses(VERNETTE) == [200, 200, 200]
    _switch(app, VERNETTE, "tastings_enabled", False)
    assert statuses(VERNETTE) == [404, 404, 404]
    token = tokens[VERNETTE]
    for url in (f"/{VERNETTE}/reunion/{token}", f"/{VERNETTE}/reunion/{token}/participer",
                f"/{VERNETTE}/reunion/{token}/commander", f"/{VERNETTE}/mes-cadeaux/1", f"/{VERNETTE}/reunion/quitter"):
        assert customer.post(url, data={"wine_id": "1"}).status_code == 404, url
    assert customer.get(f"/{VERNETTE}/").status_code == 200  # the shop itself stays open
    assert statuses(ROZEL) == [200, 200, 200]
    _switch(app, VERNETTE, "tastings_enabled", True)
    assert statuses(VERNETTE) == [200, 200, 200]


def test_tasting_mode_ends_when_tastings_are_switched_off(app):
    token = _a_tasting(app, VERNETTE)
    customer = visitor(app)
    login(customer, CUSTOMER)
    customer.post(f"/{VERNETTE}/reunion/{token}/participer")
    assert customer.post(f"/{VERNETTE}/reunion/{token}/commander").status_code == 302
    assert 'id="tasting-banner"' in text_of(customer.get(f"/{VERNETTE}/"))
    _switch(app, VERNETTE, "tastings_enabled", False)
    page = text_of(customer.get(f"/{VERNETTE}/"))
    assert 'id="tasting-banner"' not in page and f"/reunion/{token}" not in page
    _switch(app, VERNETTE, "tastings_enabled", True)
    assert 'id="tasting-banner"' in text_of(customer.get(f"/{VERNETTE}/"))  # the session kept it


def test_groups_switched_off_take_the_estates_shelf_out_of_the_group_shop(app):
    setup = _setup(app)
    member = _member(app)
    shop = text_of(member.get(f"{_shop(setup)}/boutique"))
    assert "Domaine de la Vernette" in shop and "Domaine Rozel" in shop
    assert f'name="wine_id" value="{setup.wines[VERNETTE]}"' in shop

    _switch(app, VERNETTE, "groups_enabled", False)
    shop = text_of(member.get(f"{_shop(setup)}/boutique"))
    assert "Domaine Rozel" in shop and f'name="wine_id" value="{setup.wines[VERNETTE]}"' not in shop
    refused = member.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[VERNETTE], "quantity": 1},
                          follow_redirects=True)
    assert "Ce vin n'est pas proposé à cette distribution." in text_of(refused)
    assert member.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[ROZEL], "quantity": 1}).status_code == 302

    _switch(app, VERNETTE, "groups_enabled", True)
    again = member.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[VERNETTE], "quantity": 1})
    assert again.status_code == 302


def test_groups_switched_off_close_the_estates_catalogue_link(app):
    from models import Catalogue

    _setup(app)
    with session_for(app) as session:
        token = session.scalars(select(Catalogue.token).join(Estate, Estate.id == Catalogue.estate_id)
                                .where(Estate.slug == VERNETTE)).first()
    client = visitor(app)
    assert client.get(f"/groupes/catalogues/{token}").status_code == 200
    _switch(app, VERNETTE, "groups_enabled", False)
    assert client.get(f"/groupes/catalogues/{token}").status_code == 404
    _switch(app, VERNETTE, "groups_enabled", True)
    assert client.get(f"/groupes/catalogues/{token}").status_code == 200
