"""The estate's side of producer groups (issue 11, seed 002): its catalogues (the URL it
emails, "Relier ce catalogue à un de mes groupes"), its "Ventes" tab ("Participe", "Ne
plus participer") and "Participer à toutes les distributions" over a date range."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select, update

from models import (
    Catalogue,
    Distribution,
    DistributionParticipation,
    Estate,
    GroupCatalogue,
    Order,
    Price,
    PriceList,
    ProducerGroup,
    User,
    Wine,
    catalogue_wine,
)
from services import producer_groups
from services.fairs import PARIS, paris_date
from services.producer_groups import DistributionData, GroupData
from tests.conftest import checkout_form, first_orderable_wine, login, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
VERNETTE_STAFF, ROZEL_STAFF = "vigneron@vernette.example", "vigneron@rozel.example"
UTC = timezone.utc
HTMX = {"HX-Request": "true"}


def _now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return paris_date(_now())


def _staff(app, email: str = VERNETTE_STAFF):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email)
    return client


def _estate_id(session, slug: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _user(session, email: str) -> User:  # type: ignore[no-untyped-def]
    return session.scalars(select(User).where(User.email == email)).one()


def _list_and_wines(app, slug: str = VERNETTE, name: str = "Particuliers") -> tuple[int, list[int]]:
    """A price list of the estate and its visible wines priced on it."""
    with session_for(app) as session:
        estate_id = _estate_id(session, slug)
        list_id = session.scalars(select(PriceList.id).where(PriceList.estate_id == estate_id,
                                                             PriceList.name == name)).one()
        wine_ids = list(session.scalars(select(Wine.id).join(Price, Price.wine_id == Wine.id)
                                        .where(Price.price_list_id == list_id, Wine.is_visible.is_(True))
                                        .order_by(Wine.id)))
        return list_id, wine_ids


def _catalogue_rows(app) -> list:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        catalogues = session.execute(select(Catalogue.__table__).order_by(Catalogue.id)).all()
        wines = session.execute(select(catalogue_wine).order_by(catalogue_wine.c.catalogue_id,
                                                                catalogue_wine.c.wine_id)).all()
        return [*catalogues, *wines]


def _create_catalogue(app, staff, slug: str = VERNETTE, name: str = "Pour les AMAP") -> int:  # type: ignore[no-untyped-def]
    list_id, wine_ids = _list_and_wines(app, slug)
    response = staff.post(f"/gestion/{slug}/catalogues/nouveau",
                          data={"name": name, "price_list_id": str(list_id), "wine_ids": [str(i) for i in wine_ids[:2]]})
    assert response.status_code == 302, text_of(response)[:2000]
    with session_for(app) as session:
        return session.scalars(select(Catalogue.id).where(Catalogue.name == name)).one()


def _group(app, email: str = VERNETTE_STAFF, name: str = "AMAP des Pentes") -> int:
    with session_for(app) as session:
        group = producer_groups.create_group(session, GroupData(name=name, place="Lyon 1er"), _user(session, email),
                                             _now())
        session.commit()
        return group.id


def _link(app, group_id: int, catalogue_id: int, email: str = VERNETTE_STAFF) -> None:
    with session_for(app) as session:
        group = session.get(ProducerGroup, group_id)
        catalogue = session.get(Catalogue, catalogue_id)
        producer_groups.link_catalogue(session, group, catalogue, _user(session, email), _now())
        session.commit()


def _distribution(app, group_id: int, day: date, email: str = VERNETTE_STAFF, place: str = "Salle des fêtes") -> int:
    """A distribution from 18:00 to 20:00 (Paris) on ``day``; orders close two days before."""
    starts_at = datetime.combine(day, time(18, 0), PARIS)
    with session_for(app) as session:
        distribution = producer_groups.create_distribution(
            session, session.get(ProducerGroup, group_id),
            DistributionData(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), place=place,
                             orders_close_at=starts_at - timedelta(days=2)),
            _user(session, email), _now())
        session.commit()
        return distribution.id


def _participations(app, estate_slug: str = VERNETTE) -> list[int]:
    with session_for(app) as session:
        estate_id = _estate_id(session, estate_slug)
        return list(session.scalars(select(DistributionParticipation.distribution_id)
                                    .where(DistributionParticipation.estate_id == estate_id)
                                    .order_by(DistributionParticipation.distribution_id)))


def _linked_setup(app, staff) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Vernette's catalogue linked to a group with one distribution in three weeks."""
    catalogue_id = _create_catalogue(app, staff)
    group_id = _group(app)
    _link(app, group_id, catalogue_id)
    return catalogue_id, group_id, _distribution(app, group_id, _today() + timedelta(days=21))


# ------------------------------------------------------------------ catalogues


def test_a_catalogue_is_created_with_its_wines_and_shown_in_the_list(app):
    staff = _staff(app)
    form = staff.get(f"/gestion/{VERNETTE}/catalogues/nouveau")
    assert form.status_code == 200
    list_id, wine_ids = _list_and_wines(app)
    assert f'name="wine_ids" value="{wine_ids[0]}"' in text_of(form)
    catalogue_id = _create_catalogue(app, staff)
    with session_for(app) as session:
        catalogue = session.get(Catalogue, catalogue_id)
        assert catalogue.price_list_id == list_id
        assert {wine.id for wine in catalogue.wines} == set(wine_ids[:2])
        assert len(catalogue.token) >= 32
    listing = text_of(staff.get(f"/gestion/{VERNETTE}/catalogues"))
    assert "Pour les AMAP" in listing and "Nouveau catalogue" in listing


def test_the_price_list_select_refreshes_the_wines_offered(app):
    staff = _staff(app)
    list_id, wine_ids = _list_and_wines(app, name="Clients historiques")
    _, all_wines = _list_and_wines(app)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/catalogues/nouveau"))
    assert f'hx-get="/gestion/{VERNETTE}/catalogues/nouveau"' in page and 'hx-target="#catalogue-wines"' in page
    fragment = staff.get(f"/gestion/{VERNETTE}/catalogues/nouveau",
                         query_string={"price_list_id": str(list_id), "wine_ids": str(wine_ids[0])}, headers=HTMX)
    body = text_of(fragment)
    assert fragment.status_code == 200 and 'id="catalogue-wines"' in body and "<html" not in body
    assert f'value="{wine_ids[0]}" checked' in body
    assert all(f'value="{wine_id}"' not in body for wine_id in set(all_wines) - set(wine_ids))


def test_a_catalogue_is_edited_and_keeps_its_url(app):
    staff = _staff(app)
    catalogue_id = _create_catalogue(app, staff)
    list_id, wine_ids = _list_and_wines(app, name="Clients historiques")
    with session_for(app) as session:
        token = session.get(Catalogue, catalogue_id).token
    assert staff.get(f"/gestion/{VERNETTE}/catalogues/{catalogue_id}/modifier").status_code == 200
    response = staff.post(f"/gestion/{VERNETTE}/catalogues/{catalogue_id}/modifier",
                          data={"name": "Clients fidèles", "price_list_id": str(list_id), "wine_ids": [str(wine_ids[0])]})
    assert response.status_code == 302
    with session_for(app) as session:
        catalogue = session.get(Catalogue, catalogue_id)
        assert (catalogue.name, catalogue.price_list_id, catalogue.token) == ("Clients fidèles", list_id, token)
        assert [wine.id for wine in catalogue.wines] == [wine_ids[0]]


def test_bad_catalogue_input_is_refused_in_french_and_writes_nothing(app):
    staff = _staff(app)
    catalogue_id = _create_catalogue(app, staff)
    list_id, wine_ids = _list_and_wines(app)
    group_list_id, group_wines = _list_and_wines(app, name="Clients historiques")
    _, rozel_wines = _list_and_wines(app, ROZEL)
    not_on_group_list = next(wine_id for wine_id in wine_ids if wine_id not in group_wines)
    with session_for(app) as session:
        rozel_list = session.scalars(select(PriceList.id).where(PriceList.estate_id == _estate_id(session, ROZEL))).first()
        hidden = session.scalars(select(Wine.id).where(Wine.estate_id == _estate_id(session, VERNETTE),
                                                       Wine.is_visible.is_(False))).first()
    before = _catalogue_rows(app)
    cases = [
        ({"name": "Autre", "wine_ids": [str(rozel_wines[0])]}, "n'est pas un vin de votre domaine"),
        ({"name": "Autre", "price_list_id": str(group_list_id), "wine_ids": [str(not_on_group_list)]},
         "n'a pas de prix sur ce tarif"),
        ({"name": "  "}, "Indiquez le nom du catalogue."),
        ({"name": "Pour les AMAP"}, "Un de vos catalogues porte déjà ce nom."),
        ({"name": "Autre", "price_list_id": str(rozel_list)}, "Choisissez un de vos tarifs."),
        ({"name": "Autre", "price_list_id": "abc"}, "Choisissez un de vos tarifs."),
        ({"name": "Autre", "wine_ids": []}, "Cochez au moins un vin."),
        ({"name": "Autre", "wine_ids": ["x' OR 1=1"]}, "n'est pas un vin de votre domaine"),
        ({"name": "x" * 500}, "au plus 120 caractères"),
    ]
    if hidden is not None:
        cases.append(({"name": "Autre", "wine_ids": [str(hidden)]}, "n'est pas affiché sur votre boutique"))
    for overrides, message in cases:
        data = {"name": "Autre", "price_list_id": str(list_id), "wine_ids": [str(wine_ids[0])], **overrides}
        for url in (f"/gestion/{VERNETTE}/catalogues/nouveau", f"/gestion/{VERNETTE}/catalogues/{catalogue_id}/modifier"):
            if url.endswith("modifier") and overrides.get("name") == "Pour les AMAP":
                continue  # its own name
            response = staff.post(url, data=data)
            assert response.status_code == 422, (overrides, url)
            assert message in text_of(response), (overrides, url)
    assert _catalogue_rows(app) == before


def test_another_estates_catalogue_is_a_404(app):
    _create_catalogue(app, _staff(app))
    rozel = _staff(app, ROZEL_STAFF)
    with session_for(app) as session:
        catalogue_id = session.scalars(select(Catalogue.id)).one()
    for url in (f"/gestion/{ROZEL}/catalogues/{catalogue_id}", f"/gestion/{ROZEL}/catalogues/{catalogue_id}/modifier"):
        assert rozel.get(url).status_code == 404
    assert rozel.post(f"/gestion/{ROZEL}/catalogues/{catalogue_id}/relier", data={"group_id": "1"}).status_code == 404


def test_the_summary_shows_the_catalogue_url_and_its_wines(app):
    staff = _staff(app)
    catalogue_id = _create_catalogue(app, staff)
    with session_for(app) as session:
        catalogue = session.get(Catalogue, catalogue_id)
        token, first_wine = catalogue.token, catalogue.wines[0].name
    page = staff.get(f"/gestion/{VERNETTE}/catalogues/{catalogue_id}")
    body = text_of(page)
    assert page.status_code == 200
    assert re.search(r'<input[^>]*id="catalogue-url"[^>]*readonly[^>]*value="http://shop\.test/groupes/catalogues/'
                     + re.escape(token) + '"', body)
    assert first_wine in body and "€" in body
    assert "Relier ce catalogue à un de mes groupes" not in body  # the user administers no group yet


def test_relier_links_the_catalogue_to_a_group_the_user_administers(app):
    staff = _staff(app)
    catalogue_id = _create_catalogue(app, staff)
    group_id = _group(app)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/catalogues/{catalogue_id}"))
    assert "Relier ce catalogue à un de mes groupes" in page and f'<option value="{group_id}">AMAP des Pentes' in page
    response = staff.post(f"/gestion/{VERNETTE}/catalogues/{catalogue_id}/relier", data={"group_id": str(group_id)},
                          follow_redirects=True)
    assert "Catalogue relié au groupe « AMAP des Pentes »." in text_of(response)
    with session_for(app) as session:
        links = session.execute(select(GroupCatalogue.group_id, GroupCatalogue.catalogue_id)).all()
    assert links == [(group_id, catalogue_id)]
    assert "AMAP des Pentes" in text_of(staff.get(f"/gestion/{VERNETTE}/catalogues/{catalogue_id}"))


def test_relier_is_refused_for_a_group_the_user_does_not_administer(app):
    staff = _staff(app)
    catalogue_id = _create_catalogue(app, staff)
    others = _group(app, ROZEL_STAFF, "Groupe de Rozel")
    for group_id in (str(others), "999999", "abc", ""):
        response = staff.post(f"/gestion/{VERNETTE}/catalogues/{catalogue_id}/relier", data={"group_id": group_id},
                              follow_redirects=True)
        assert response.status_code == 200
        assert "Vous n'administrez pas ce groupe" in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(GroupCatalogue)) == 0


# ------------------------------------------------------------------ "Ventes"


def test_ventes_shows_a_linked_groups_distribution_and_participe_joins_once(app):
    staff = _staff(app)
    _, _, distribution_id = _linked_setup(app, staff)
    page = text_of(staff.get(f"/gestion/{VERNETTE}/ventes"))
    assert "AMAP des Pentes" in page and "Salle des fêtes" in page and ">Participe</button>" in page
    day = _today() + timedelta(days=21)
    assert f"{day:%d/%m/%Y} 18:00" in page  # Paris time
    url = f"/gestion/{VERNETTE}/ventes/{distribution_id}/participer"
    fragment = staff.post(url, headers=HTMX)
    body = text_of(fragment)
    assert fragment.status_code == 200 and "<html" not in body
    assert "Participe ✓" in body and "Ne plus participer" in body and f'id="participation-{distribution_id}"' in body
    assert staff.post(url, headers=HTMX).status_code == 200
    assert staff.post(url).status_code == 302  # without htmx: back to the page
    assert _participations(app) == [distribution_id]
    assert "Participe ✓" in text_of(staff.get(f"/gestion/{VERNETTE}/ventes"))


def test_ne_plus_participer_withdraws(app):
    staff = _staff(app)
    _, _, distribution_id = _linked_setup(app, staff)
    staff.post(f"/gestion/{VERNETTE}/ventes/{distribution_id}/participer", headers=HTMX)
    fragment = staff.post(f"/gestion/{VERNETTE}/ventes/{distribution_id}/retirer", headers=HTMX)
    assert fragment.status_code == 200 and ">Participe</button>" in text_of(fragment)
    assert _participations(app) == []
    response = staff.post(f"/gestion/{VERNETTE}/ventes/{distribution_id}/retirer", follow_redirects=True)
    assert "Vous ne participez plus à cette distribution." in text_of(response)


def test_withdrawing_after_orders_were_placed_is_refused_in_french(app):
    staff = _staff(app)
    _, _, distribution_id = _linked_setup(app, staff)
    staff.post(f"/gestion/{VERNETTE}/ventes/{distribution_id}/participer", headers=HTMX)
    wine_id, _, _ = first_orderable_wine(app, VERNETTE)
    buyer = visitor(app)
    buyer.post(f"/{VERNETTE}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{VERNETTE}/commande", data=checkout_form(delivery="pickup")).status_code == 302
    with session_for(app) as session:  # an order of the distribution, as the group shop places them
        order_id = session.scalars(select(Order.id).where(Order.estate_id == _estate_id(session, VERNETTE))).one()
        session.execute(update(Order).where(Order.id == order_id).values(distribution_id=distribution_id))
        session.commit()
    fragment = staff.post(f"/gestion/{VERNETTE}/ventes/{distribution_id}/retirer", headers=HTMX)
    assert fragment.status_code == 422
    assert "Des commandes ont déjà été passées : vous ne pouvez plus vous retirer." in text_of(fragment)
    assert _participations(app) == [distribution_id]


def test_a_closed_distribution_shows_commandes_closes_and_refuses_participe(app):
    staff = _staff(app)
    _, _, distribution_id = _linked_setup(app, staff)
    with session_for(app) as session:
        session.execute(update(Distribution).where(Distribution.id == distribution_id).values(status="closed"))
        session.commit()
    page = text_of(staff.get(f"/gestion/{VERNETTE}/ventes"))
    assert "Commandes closes" in page and ">Participe</button>" not in page
    fragment = staff.post(f"/gestion/{VERNETTE}/ventes/{distribution_id}/participer", headers=HTMX)
    assert fragment.status_code == 422 and "Les commandes sont closes." in text_of(fragment)
    response = staff.post(f"/gestion/{VERNETTE}/ventes/{distribution_id}/retirer", follow_redirects=True)
    assert "Les commandes sont closes." in text_of(response)
    assert _participations(app) == []


def test_an_estate_not_linked_to_the_group_neither_sees_nor_joins_its_distributions(app):
    staff = _staff(app)
    _, group_id, distribution_id = _linked_setup(app, staff)
    rozel = _staff(app, ROZEL_STAFF)
    page = text_of(rozel.get(f"/gestion/{ROZEL}/ventes"))
    assert "AMAP des Pentes" not in page and "Salle des fêtes" not in page
    for action in ("participer", "retirer"):
        assert rozel.post(f"/gestion/{ROZEL}/ventes/{distribution_id}/{action}", headers=HTMX).status_code == 404
        assert rozel.post(f"/gestion/{ROZEL}/ventes/{distribution_id}/{action}").status_code == 404
    assert rozel.get(f"/gestion/{ROZEL}/ventes/groupes/{group_id}").status_code == 404
    assert rozel.post(f"/gestion/{ROZEL}/ventes/groupes/{group_id}/participer",
                      data={"shown": str(distribution_id)}).status_code == 404
    assert staff.post(f"/gestion/{VERNETTE}/ventes/999999/participer").status_code == 404
    assert _participations(app, ROZEL) == []


# ------------------------------------------------------------------ a date range


def test_participer_a_toutes_joins_exactly_the_distributions_shown_for_the_range(app):
    staff = _staff(app)
    catalogue_id = _create_catalogue(app, staff)
    group_id = _group(app)
    _link(app, group_id, catalogue_id)
    start, end = _today() + timedelta(days=10), _today() + timedelta(days=20)
    first = _distribution(app, group_id, start + timedelta(days=2))
    second = _distribution(app, group_id, start + timedelta(days=5))
    after = _distribution(app, group_id, end + timedelta(days=5))
    url = f"/gestion/{VERNETTE}/ventes/groupes/{group_id}"
    page = text_of(staff.get(url, query_string={"du": start.isoformat(), "au": end.isoformat()}))
    assert "Participer à toutes les distributions" in page
    assert "Attention : cela ne concerne que les dates affichées ; choisissez la plage suivante" in page
    shown = re.findall(r'name="shown" value="(\d+)"', page)
    assert sorted(map(int, shown)) == [first, second]
    late = _distribution(app, group_id, start + timedelta(days=8))  # added after the page was shown
    response = staff.post(f"{url}/participer", data={"du": start.isoformat(), "au": end.isoformat(), "shown": shown},
                          follow_redirects=True)
    assert "2 distribution(s) rejointe(s)." in text_of(response)
    assert _participations(app) == [first, second]
    assert late not in _participations(app) and after not in _participations(app)
    again = staff.post(f"{url}/participer", data={"du": start.isoformat(), "au": end.isoformat(), "shown": shown},
                       follow_redirects=True)
    assert "0 distribution(s) rejointe(s)." in text_of(again)


def test_the_distributions_page_defaults_to_eight_weeks_from_today(app):
    staff = _staff(app)
    _, group_id, distribution_id = _linked_setup(app, staff)
    later = _distribution(app, group_id, _today() + timedelta(weeks=9))
    page = text_of(staff.get(f"/gestion/{VERNETTE}/ventes/groupes/{group_id}"))
    assert f'value="{_today().isoformat()}"' in page
    assert f'value="{(_today() + timedelta(weeks=8)).isoformat()}"' in page
    shown = [int(i) for i in re.findall(r'name="shown" value="(\d+)"', page)]
    assert shown == [distribution_id] and later not in shown


def test_bad_dates_are_refused_in_french_and_join_nothing(app):
    staff = _staff(app)
    _, group_id, distribution_id = _linked_setup(app, staff)
    url = f"/gestion/{VERNETTE}/ventes/groupes/{group_id}"
    today = _today()
    cases = [
        ({"du": today.isoformat(), "au": (today - timedelta(days=1)).isoformat()}, "La date « Au » doit suivre"),
        ({"du": "demain", "au": today.isoformat()}, "Date invalide"),
        ({"du": today.isoformat(), "au": "2024-13-45"}, "Date invalide"),
        ({"du": today.isoformat(), "au": "x" * 5000}, "Date invalide"),
        ({"du": today.isoformat(), "au": (today + timedelta(days=400)).isoformat()}, "un an au plus"),
    ]
    for dates, message in cases:
        page = staff.get(url, query_string=dates)
        assert page.status_code == 422 and message in text_of(page), dates
        posted = staff.post(f"{url}/participer", data={**dates, "shown": str(distribution_id)})
        assert posted.status_code == 422 and message in text_of(posted), dates
    assert _participations(app) == []
