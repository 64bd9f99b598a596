"""Producer groups (issue 11, seed 002), the group's own pages: "Mes groupes", creating
a group, its tabs (Distributions, Catalogues, Membres, Paramètres), invitations by
email, the group's link, a catalogue's page and linking it, and who sees what."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, select

from models import (
    Catalogue,
    Distribution,
    Estate,
    GroupCatalogue,
    GroupInvitation,
    GroupMembership,
    OutboxMessage,
    PriceList,
    ProducerGroup,
    User,
    Wine,
)
from services import accounts
from services.demo import DEMO_PASSWORD
from services.templating import PARIS
from services.tenancy import all_estates
from tests.conftest import body_of, login, make_app, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
CUSTOMER, STAFF, ROZEL_STAFF = "client@chai.example", "vigneron@vernette.example", "vigneron@rozel.example"
NEW_PASSWORD = "une phrase de passe assez longue"


def _browser(app, email: str | None = None):  # type: ignore[no-untyped-def]
    client = visitor(app)
    if email is not None:
        login(client, email)
    return client


def _person(app, email: str) -> None:
    """An account of its own (a customer) with the demo password."""
    with session_for(app) as session:
        accounts.register_user(session, email=email, password=DEMO_PASSWORD, first_name="Alix", last_name="Martin")
        session.commit()


def _new_group(client, name: str = "CE des Canuts", public: bool = False, place: str = "Salle des fêtes") -> int:  # type: ignore[no-untyped-def]
    data = {"name": name, "description": "Le comité d'entreprise", "place": place}
    if public:
        data["is_public"] = "y"
    response = client.post("/groupes/nouveau", data=data)
    assert response.status_code == 302, text_of(response)[:500]
    return int(re.search(r"/groupes/(\d+)$", response.headers["Location"]).group(1))


def _join_token(app, group_id: int) -> str:
    with session_for(app) as session:
        return session.get(ProducerGroup, group_id).join_token


def _is_member(app, group_id: int, email: str) -> bool:
    with session_for(app) as session:
        return session.scalar(select(func.count()).select_from(GroupMembership).join(User, User.id == GroupMembership.user_id)
                              .where(GroupMembership.group_id == group_id, User.email == email)) == 1


def _catalogue(app, slug: str, name: str = "Sélection des groupes") -> str:
    """A catalogue of three wines at the estate's "Particuliers" list; its token."""
    with session_for(app) as session, all_estates(session):
        estate_id = session.scalars(select(Estate.id).where(Estate.slug == slug)).one()
        price_list_id = session.scalars(select(PriceList.id).where(PriceList.estate_id == estate_id,
                                                                   PriceList.name == "Particuliers")).one()
        catalogue = Catalogue(estate_id=estate_id, name=name, price_list_id=price_list_id,
                              token=secrets.token_urlsafe(24))
        catalogue.wines.extend(session.scalars(select(Wine).where(Wine.estate_id == estate_id).order_by(Wine.id)
                                               .limit(3)))
        session.add(catalogue)
        session.commit()
        return catalogue.token


def _links(app, group_id: int) -> int:
    with session_for(app) as session:
        return session.scalar(select(func.count()).select_from(GroupCatalogue).where(GroupCatalogue.group_id == group_id))


# ------------------------------------------------------------------ creating, tabs, access


def test_the_creator_of_a_group_is_its_administrator_and_sees_members_and_settings(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    listing = text_of(client.get("/groupes/"))
    assert "CE des Canuts" in listing and "Administrateur" in listing
    page = text_of(client.get(f"/groupes/{group_id}"))
    for tab in ("Distributions", "Catalogues", "Membres", "Paramètres", "Nouvelle distribution"):
        assert tab in page
    assert client.get(f"/groupes/{group_id}/membres").status_code == 200
    settings = text_of(client.get(f"/groupes/{group_id}/parametres"))
    assert 'id="group-link"' in settings
    assert f"http://shop.test/groupes/rejoindre/{_join_token(app, group_id)}" in settings
    assert "Groupe sur invitation : ce lien ne permet pas de rejoindre le groupe sans invitation." in settings
    assert "Mes groupes" in text_of(client.get("/compte/"))


def test_a_group_without_a_name_is_refused_in_french(client):
    login(client, CUSTOMER)
    response = client.post("/groupes/nouveau", data={"name": "  ", "place": "x" * 300})
    assert response.status_code == 422
    assert "Indiquez le nom du groupe." in text_of(response)
    assert "Field must be" not in text_of(response)


def test_the_settings_make_a_group_public_and_its_link_says_so(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    response = client.post(f"/groupes/{group_id}/parametres",
                           data={"name": "AMAP du quartier", "description": "", "place": "Place du marché", "is_public": "y"})
    assert response.status_code == 302
    settings = text_of(client.get(f"/groupes/{group_id}/parametres"))
    assert "Partagez ce lien sur vos supports : toute personne du territoire pourra rejoindre le groupe et commander." in settings
    with session_for(app) as session:
        group = session.get(ProducerGroup, group_id)
        assert (group.name, group.place, group.is_public) == ("AMAP du quartier", "Place du marché", True)


def test_a_plain_member_sees_distributions_and_catalogues_but_gets_404_on_members_and_settings(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client, public=True)
    _person(app, "voisin@example.org")
    member = _browser(app, "voisin@example.org")
    assert member.post(f"/groupes/rejoindre/{_join_token(app, group_id)}").status_code == 302
    page = text_of(member.get(f"/groupes/{group_id}"))
    assert "Membres" not in page and "Paramètres" not in page and "Nouvelle distribution" not in page
    assert member.get(f"/groupes/{group_id}/catalogues").status_code == 200
    for url in ("membres", "parametres"):
        assert member.get(f"/groupes/{group_id}/{url}").status_code == 404
    assert member.post(f"/groupes/{group_id}/parametres", data={"name": "Pris"}).status_code == 404
    assert member.post(f"/groupes/{group_id}/membres/inviter", data={"emails": "a@example.org"}).status_code == 404
    assert member.post(f"/groupes/{group_id}/distributions", data={}).status_code == 404
    with session_for(app) as session:
        assert session.get(ProducerGroup, group_id).name == "CE des Canuts"
        assert session.scalar(select(func.count()).select_from(GroupInvitation)) == 0


def test_a_member_of_another_group_and_a_stranger_get_404_on_the_group_pages(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    _person(app, "autre@example.org")
    other = _browser(app, "autre@example.org")
    _new_group(other, name="Association des voisins")
    for path in ("", "/catalogues", "/membres", "/parametres"):
        assert other.get(f"/groupes/{group_id}{path}").status_code == 404
    assert other.get("/groupes/999999").status_code == 404
    for path, data in (("/distributions", {}), ("/catalogues", {"address": "x"}), ("/catalogues/delier", {"link_id": "1"}),
                       ("/membres/retirer", {"member_id": "1"}), ("/membres/droits", {"member_id": "1", "admin": "1"})):
        assert other.post(f"/groupes/{group_id}{path}", data=data).status_code == 404
    assert "CE des Canuts" not in text_of(other.get("/groupes/"))
    anonymous = visitor(app).get(f"/groupes/{group_id}")
    assert anonymous.status_code == 302 and "/compte/connexion" in anonymous.headers["Location"]


# ------------------------------------------------------------------ invitations


def test_invitations_email_the_valid_addresses_and_list_the_invalid_one(database, smtp):
    app = make_app(database, MAIL_PORT=smtp.port, MAIL_SEND_ON_REQUEST=True)
    admin = _browser(app, CUSTOMER)
    group_id = _new_group(admin)
    response = admin.post(f"/groupes/{group_id}/membres/inviter",
                          data={"emails": "Camille@Example.org, pas-une-adresse\ndominique@example.org"})
    page = text_of(response)
    assert response.status_code == 422
    assert "2 invitations envoyées." in page
    assert "Ces adresses ne sont pas valides, aucune invitation ne leur a été envoyée : pas-une-adresse." in page
    messages = smtp.mailbox.wait_for(2)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) == 0
    assert len(smtp.mailbox.messages) == 2
    assert sorted(m["To"] for m in messages) == ["camille@example.org", "dominique@example.org"]
    assert {str(m["Subject"]) for m in messages} == {"Invitation au groupe CE des Canuts"}
    links = {m["To"]: re.search(r"http://shop\.test(/groupes/invitation/\S+)", body_of(m)).group(1) for m in messages}
    assert all(links[m["To"]] in body_of(m, "html") for m in messages)

    # a new person follows the link, sets a password, is signed in and a member
    newcomer = visitor(app)
    form = text_of(newcomer.get(links["camille@example.org"]))
    assert "Choisissez votre mot de passe" in form and "camille@example.org" in form
    short = newcomer.post(links["camille@example.org"], data={"first_name": "Camille", "last_name": "Roux",
                                                                "password": "court", "confirm": "court", "adult": "y"})
    assert short.status_code == 422 and "Le mot de passe doit compter au moins" in text_of(short)
    joined = newcomer.post(links["camille@example.org"], data={
        "first_name": "Camille", "last_name": "Roux", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "adult": "y"})
    assert joined.status_code == 302 and joined.headers["Location"].endswith(f"/groupes/{group_id}")
    assert "Distributions" in text_of(newcomer.get(f"/groupes/{group_id}"))
    assert _is_member(app, group_id, "camille@example.org")
    with session_for(app) as session:
        assert accounts.authenticate(session, "camille@example.org", NEW_PASSWORD) is not None

    # the same link again: used up
    again = visitor(app).get(links["camille@example.org"])
    assert again.status_code == 404 and "Cette invitation n'est plus valable." in text_of(again)
    assert "plus valable" in text_of(newcomer.post(links["camille@example.org"]))

    # inviting a member again reports it and sends nothing
    response = admin.post(f"/groupes/{group_id}/membres/inviter", data={"emails": "camille@example.org"})
    assert response.status_code == 200
    assert "Déjà membres du groupe (aucune invitation envoyée) : camille@example.org." in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_an_invitation_for_an_existing_account_asks_to_log_in_then_joins(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    _person(app, "deja@example.org")
    with session_for(app) as session:
        from services import producer_groups
        inviter = session.scalars(select(User).where(User.email == CUSTOMER)).one()
        token = producer_groups.invite(session, session.get(ProducerGroup, group_id), "deja@example.org", inviter,
                                       datetime.now(timezone.utc))
        session.commit()
    url = f"/groupes/invitation/{token}"
    page = text_of(visitor(app).get(url))
    assert "Un compte existe déjà pour deja@example.org" in page
    assert "/compte/connexion?next=/groupes/invitation/" in page
    assert "Cette invitation a été envoyée à deja@example.org" in text_of(client.get(url))  # signed in as someone else
    assert client.post(url).status_code == 403
    invited = _browser(app, "deja@example.org")
    assert "Rejoindre le groupe" in text_of(invited.get(url))
    assert invited.post(url).status_code == 302
    assert _is_member(app, group_id, "deja@example.org")
    assert not _is_member(app, group_id, "autre@example.org")


def test_more_than_200_addresses_at_once_are_refused_and_nothing_is_sent(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    emails = "\n".join(f"personne{n}@example.org" for n in range(201))
    response = client.post(f"/groupes/{group_id}/membres/inviter", data={"emails": emails})
    assert response.status_code == 422 and "Au plus 200 adresses à la fois." in text_of(response)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(GroupInvitation)) == 0


# ------------------------------------------------------------------ the group's link


def test_the_link_of_a_public_group_lets_a_signed_in_visitor_join(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client, public=True)
    url = f"/groupes/rejoindre/{_join_token(app, group_id)}"
    anonymous = visitor(app)
    assert "Rejoindre le groupe" in text_of(anonymous.get(url))
    refused = anonymous.post(url)
    assert refused.status_code == 302 and "/compte/connexion?next=/groupes/rejoindre/" in refused.headers["Location"]
    _person(app, "public@example.org")
    newcomer = _browser(app, "public@example.org")
    assert newcomer.post(url).status_code == 302
    assert _is_member(app, group_id, "public@example.org")
    assert "déjà partie de ce groupe" in text_of(newcomer.get(url))
    assert visitor(app).get("/groupes/rejoindre/inconnu").status_code == 404


def test_the_link_of_an_invitation_only_group_is_refused_and_joins_nobody(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client, public=False)
    url = f"/groupes/rejoindre/{_join_token(app, group_id)}"
    _person(app, "curieux@example.org")
    stranger = _browser(app, "curieux@example.org")
    for response in (stranger.get(url), stranger.post(url), visitor(app).post(url)):
        assert response.status_code == 403
        assert "Ce groupe est sur invitation : demandez une invitation à son administrateur." in text_of(response)
    assert not _is_member(app, group_id, "curieux@example.org")
    assert stranger.get(f"/groupes/{group_id}").status_code == 404


# ------------------------------------------------------------------ members


def test_members_are_promoted_and_removed_but_the_last_administrator_stays(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client, public=True)
    _person(app, "membre@example.org")
    assert _browser(app, "membre@example.org").post(f"/groupes/rejoindre/{_join_token(app, group_id)}").status_code == 302
    with session_for(app) as session:
        rows = {user.email: member.id for member, user in session.execute(
            select(GroupMembership, User).join(User, User.id == GroupMembership.user_id)
            .where(GroupMembership.group_id == group_id))}
    page = text_of(client.get(f"/groupes/{group_id}/membres"))
    assert "membre@example.org" in page and "Nommer administrateur" in page and "Membre" in page

    response = client.post(f"/groupes/{group_id}/membres/droits", data={"member_id": rows[CUSTOMER], "admin": "0"},
                           follow_redirects=True)
    assert "Le groupe doit garder au moins un administrateur." in text_of(response)
    response = client.post(f"/groupes/{group_id}/membres/retirer", data={"member_id": rows[CUSTOMER]},
                           follow_redirects=True)
    assert "Le groupe doit garder au moins un administrateur." in text_of(response)
    assert client.post(f"/groupes/{group_id}/membres/droits",
                       data={"member_id": rows["membre@example.org"], "admin": "1"}).status_code == 302
    assert "Retirer les droits d'administrateur" in text_of(client.get(f"/groupes/{group_id}/membres"))
    assert client.post(f"/groupes/{group_id}/membres/droits",
                       data={"member_id": rows["membre@example.org"], "admin": "0"}).status_code == 302
    assert client.post(f"/groupes/{group_id}/membres/retirer",
                       data={"member_id": rows["membre@example.org"]}).status_code == 302
    assert not _is_member(app, group_id, "membre@example.org")
    for garbage in ("abc", "-1", "99999999999999999999", "", "²"):
        response = client.post(f"/groupes/{group_id}/membres/retirer", data={"member_id": garbage}, follow_redirects=True)
        assert response.status_code == 200 and "Ce membre ne fait pas partie du groupe." in text_of(response)


# ------------------------------------------------------------------ distributions


def test_an_administrator_adds_a_distribution_in_paris_time(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    day = (datetime.now(PARIS) + timedelta(days=30)).date()
    closes = day - timedelta(days=3)
    response = client.post(f"/groupes/{group_id}/distributions", data={
        "day": day.isoformat(), "starts_time": "18:00", "ends_time": "20:00", "place": "",
        "closes_on": closes.isoformat(), "closes_time": "12:00"})
    assert response.status_code == 302
    with session_for(app) as session:
        distribution = session.scalars(select(Distribution).where(Distribution.group_id == group_id)).one()
        assert distribution.starts_at == datetime.combine(day, time(18, 0), tzinfo=PARIS).astimezone(timezone.utc)
        assert distribution.orders_close_at == datetime.combine(closes, time(12, 0), tzinfo=PARIS)
        assert distribution.place == "Salle des fêtes"  # the group's usual place
        distribution_id = distribution.id
    page = text_of(client.get(f"/groupes/{group_id}"))
    assert "de 18:00 à 20:00" in page and "Salle des fêtes" in page and "à 12:00" in page
    assert f"/groupes/{group_id}/distributions/{distribution_id}/boutique" in page
    assert f"/groupes/{group_id}/distributions/{distribution_id}/feuille" in page


def test_a_distribution_whose_orders_close_after_it_starts_is_refused_in_french(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    day = (datetime.now(PARIS) + timedelta(days=30)).date()
    cases = [
        ({"closes_on": (day + timedelta(days=1)).isoformat()}, "Les commandes doivent se terminer au plus tard au début"),
        ({"ends_time": "17:00"}, "La distribution doit finir après son heure de début."),
        ({"day": "2020-01-10", "closes_on": "2020-01-05"}, "La fin des commandes doit être dans le futur."),
        ({"day": "2031-13-45"}, "N'est pas une date valide."),
        ({"day": "0001-01-01"}, "Indiquez une date valide."),
        ({"starts_time": ""}, "Indiquez l'heure de début."),
        ({"place": "x" * 300}, "255"),
    ]
    for override, message in cases:
        data = {"day": day.isoformat(), "starts_time": "18:00", "ends_time": "20:00", "place": "Halle",
                "closes_on": (day - timedelta(days=2)).isoformat(), "closes_time": "12:00", **override}
        response = client.post(f"/groupes/{group_id}/distributions", data=data)
        assert response.status_code == 422, override
        assert message in text_of(response), override
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(Distribution)) == 0


# ------------------------------------------------------------------ catalogues


def test_an_administrator_links_a_catalogue_from_its_page_and_a_non_administrator_cannot(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    token = _catalogue(app, VERNETTE)
    page = text_of(visitor(app).get(f"/groupes/catalogues/{token}"))  # no login needed to look
    assert "Sélection des groupes" in page and "Domaine de la Vernette" in page and "TTC" in page and "€" in page
    assert "Relier ce catalogue" not in page
    assert visitor(app).get("/groupes/catalogues/inconnu").status_code == 404

    own = text_of(client.get(f"/groupes/catalogues/{token}"))
    assert "Relier ce catalogue à un de mes groupes" in own and "CE des Canuts" in own
    response = client.post(f"/groupes/catalogues/{token}/relier", data={"group_id": group_id}, follow_redirects=True)
    assert "Catalogue relié au groupe « CE des Canuts »." in text_of(response)
    assert response.request.path == f"/groupes/{group_id}/catalogues"
    listing = text_of(client.get(f"/groupes/{group_id}/catalogues"))
    assert "Domaine de la Vernette" in listing and "Sélection des groupes" in listing and "<td>3</td>" in listing
    assert _links(app, group_id) == 1

    _person(app, "intrus@example.org")
    intruder = _browser(app, "intrus@example.org")
    other_token = _catalogue(app, ROZEL)
    assert "Relier ce catalogue" not in text_of(intruder.get(f"/groupes/catalogues/{other_token}"))
    for value in (str(group_id), "abc", "99999999999999999999", "999999"):
        response = intruder.post(f"/groupes/catalogues/{other_token}/relier", data={"group_id": value},
                                 follow_redirects=True)
        assert "Vous n'administrez pas ce groupe" in text_of(response)
    assert _links(app, group_id) == 1


def test_a_catalogue_is_linked_from_its_address_and_unlinked(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    token = _catalogue(app, VERNETTE)
    unknown = client.post(f"/groupes/{group_id}/catalogues", data={"address": "http://shop.test/groupes/catalogues/nope"})
    assert unknown.status_code == 422 and "Aucun catalogue ne correspond à cette adresse" in text_of(unknown)
    assert client.post(f"/groupes/{group_id}/catalogues",
                       data={"address": f" http://shop.test/groupes/catalogues/{token} "}).status_code == 302
    assert _links(app, group_id) == 1
    rozel = _catalogue(app, ROZEL)
    assert client.post(f"/groupes/{group_id}/catalogues", data={"address": rozel}).status_code == 302
    assert _links(app, group_id) == 2
    with session_for(app) as session:
        link_id = session.scalars(select(GroupCatalogue.id).where(GroupCatalogue.group_id == group_id)
                                  .order_by(GroupCatalogue.id)).first()
    page = text_of(client.get(f"/groupes/{group_id}/catalogues"))
    assert "Délier" in page and "Domaine Rozel" in page
    response = client.post(f"/groupes/{group_id}/catalogues/delier", data={"link_id": link_id}, follow_redirects=True)
    assert "Le catalogue est délié du groupe." in text_of(response)
    assert _links(app, group_id) == 1
    again = client.post(f"/groupes/{group_id}/catalogues/delier", data={"link_id": link_id}, follow_redirects=True)
    assert "Ce catalogue n'est pas relié au groupe." in text_of(again)


def test_the_staff_of_a_linked_estate_sees_the_group_and_an_unlinked_estate_does_not(app, client):
    login(client, CUSTOMER)
    group_id = _new_group(client)
    assert client.post(f"/groupes/{group_id}/catalogues", data={"address": _catalogue(app, VERNETTE)}).status_code == 302
    vernette, rozel = _browser(app, STAFF), _browser(app, ROZEL_STAFF)
    page = vernette.get(f"/groupes/{group_id}")
    assert page.status_code == 200 and "Distributions" in text_of(page) and "Membres" not in text_of(page)
    assert vernette.get(f"/groupes/{group_id}/catalogues").status_code == 200
    assert vernette.get(f"/groupes/{group_id}/membres").status_code == 404
    for path in ("", "/catalogues", "/membres", "/parametres"):
        assert rozel.get(f"/groupes/{group_id}{path}").status_code == 404
