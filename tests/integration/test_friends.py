""""Nos amis vignerons" (issue 13, seed 000): the "+" picker of the platform's estates,
the friends on the shop's estate page (a kept page: never stale), removing one,
inviting a winegrower not on the platform (a lead and an email to the operator), and
one estate never seeing another's friends or leads."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import AuditEntry, Estate, EstateFriend, EstateStaff, FriendLead, OutboxMessage
from services import accounts
from tests.conftest import login, session_for, text_of, visitor

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
MANAGERS = {VERNETTE: "vigneron@vernette.example", ROZEL: "vigneron@rozel.example"}
HX = {"HX-Request": "true"}


def _estate_id(app, slug: str) -> int:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.scalars(select(Estate.id).where(Estate.slug == slug)).one()


def _manager(app, slug: str = VERNETTE):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, MANAGERS[slug])
    return client


def _friend_rows(app, slug: str = VERNETTE) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(EstateFriend id, friend estate id) of the estate."""
    with session_for(app) as session:
        return [tuple(row) for row in session.execute(
            select(EstateFriend.id, EstateFriend.friend_estate_id).join(Estate, Estate.id == EstateFriend.estate_id)
            .where(Estate.slug == slug).order_by(EstateFriend.id))]


def _new_estate(app, slug: str, name: str, *, published: bool = True,  # type: ignore[no-untyped-def]
                region: str = "Jura") -> int:
    with session_for(app) as session:
        estate = Estate(slug=slug, name=name, region=region, is_published=published)
        session.add(estate)
        session.commit()
        return estate.id


def _friends_section(html: str) -> str:
    found = re.search(r'<section class="estate-friends".*?</section>', html, re.S)
    return found.group(0) if found else ""


def _add(client, estate_id, slug: str = VERNETTE, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(f"/gestion/{slug}/amis/ajouter", data={"estate_id": str(estate_id)}, **kwargs)


# ------------------------------------------------------------------ friends


def test_a_friend_added_with_plus_shows_on_the_shop_page_under_nos_amis_vignerons(app):
    rozel = _estate_id(app, ROZEL)
    shopper = visitor(app)
    assert "Nos amis vignerons" not in text_of(shopper.get(f"/{VERNETTE}/"))  # kept, without friends
    manager = _manager(app)
    page = text_of(manager.get(f"/gestion/{VERNETTE}/amis"))
    assert "Domaine Rozel" in page and f'name="estate_id" value="{rozel}"' in page
    response = _add(manager, rozel)
    assert response.status_code == 302
    assert "Domaine Rozel fait partie de vos amis vignerons." in text_of(manager.get(response.headers["Location"]))
    [(friend_id, friend_estate)] = _friend_rows(app)
    assert friend_estate == rozel
    page = text_of(manager.get(f"/gestion/{VERNETTE}/amis"))
    assert f"/amis/{friend_id}/retirer" in page and f'name="estate_id" value="{rozel}"' not in page
    for client in (shopper, visitor(app), manager):  # the kept page, a new visitor, a signed-in one
        section = _friends_section(text_of(client.get(f"/{VERNETTE}/")))
        assert "Nos amis vignerons" in section
        assert f'href="/{ROZEL}/"' in section and "Domaine Rozel" in section
    with session_for(app) as session:
        region = session.scalars(select(Estate.region).where(Estate.id == rozel)).one()
    if region:
        assert region in _friends_section(text_of(visitor(app).get(f"/{VERNETTE}/")))
    assert "Nos amis vignerons" not in _friends_section(text_of(visitor(app).get(f"/{ROZEL}/")))  # not mutual
    own = _estate_id(app, VERNETTE)
    with session_for(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "friend.add")).one()
        assert entry.estate_id == own and entry.summary == "Domaine Rozel"


def test_plus_with_htmx_swaps_the_lists(app):
    rozel = _estate_id(app, ROZEL)
    manager = _manager(app)
    response = _add(manager, rozel, headers=HX)
    assert response.status_code == 200
    html = text_of(response)
    assert html.lstrip().startswith('<div id="friends-lists"')
    assert "Domaine Rozel fait partie de vos amis vignerons." in html and "/retirer" in html
    again = _add(manager, rozel, headers=HX)
    assert again.status_code == 422 and "fait déjà partie de vos amis vignerons" in text_of(again)
    assert len(_friend_rows(app)) == 1


def test_itself_unknown_unpublished_and_duplicate_estates_are_refused_in_french(app):
    own, rozel = _estate_id(app, VERNETTE), _estate_id(app, ROZEL)
    closed = _new_estate(app, "domaine-ferme", "Domaine Fermé", published=False)
    manager = _manager(app)
    assert "Domaine Fermé" not in text_of(manager.get(f"/gestion/{VERNETTE}/amis"))  # not offered
    assert _add(manager, rozel).status_code == 302
    before = _friend_rows(app)
    cases = {own: "ne peut pas être son propre ami", 999_999: "n'est pas (ou plus) sur la plateforme",
             closed: "n'est pas (ou plus) sur la plateforme", "abc": "n'est pas (ou plus) sur la plateforme",
             "": "n'est pas (ou plus) sur la plateforme", "-1": "n'est pas (ou plus) sur la plateforme",
             "9" * 40: "n'est pas (ou plus) sur la plateforme", rozel: "fait déjà partie de vos amis vignerons"}
    for value, message in cases.items():
        response = _add(manager, value, follow_redirects=True)
        assert response.status_code == 200 and message in text_of(response), value
        htmx = _add(manager, value, headers=HX)
        assert htmx.status_code == 422 and message in text_of(htmx), value
    no_field = manager.post(f"/gestion/{VERNETTE}/amis/ajouter", follow_redirects=True)
    assert "n'est pas (ou plus) sur la plateforme" in text_of(no_field)
    assert _friend_rows(app) == before


def test_only_published_friends_show_and_a_renamed_friend_shows_at_once_on_the_kept_page(app):
    jura = _new_estate(app, "domaine-du-jura", "Domaine du Jura", region="Jura")
    manager = _manager(app)
    assert _add(manager, jura).status_code == 302
    shopper = visitor(app)
    assert "Domaine du Jura" in _friends_section(text_of(shopper.get(f"/{VERNETTE}/")))  # kept
    with session_for(app) as session:
        session.get(Estate, jura).name = "Domaine des Monts du Jura"
        session.commit()
    assert "Domaine des Monts du Jura" in _friends_section(text_of(shopper.get(f"/{VERNETTE}/")))
    with session_for(app) as session:
        session.get(Estate, jura).is_published = False
        session.commit()
    assert "Nos amis vignerons" not in text_of(shopper.get(f"/{VERNETTE}/"))
    assert "Nos amis vignerons" not in text_of(manager.get(f"/{VERNETTE}/"))
    assert "Boutique fermée" in text_of(manager.get(f"/gestion/{VERNETTE}/amis"))  # still listed, said closed


def test_retirer_removes_the_friend_from_the_back_office_and_the_shop_page(app):
    rozel = _estate_id(app, ROZEL)
    manager = _manager(app)
    _add(manager, rozel)
    [(friend_id, _)] = _friend_rows(app)
    shopper = visitor(app)
    assert "Domaine Rozel" in _friends_section(text_of(shopper.get(f"/{VERNETTE}/")))
    response = manager.post(f"/gestion/{VERNETTE}/amis/{friend_id}/retirer", follow_redirects=True)
    assert "Domaine Rozel ne fait plus partie de vos amis vignerons." in text_of(response)
    assert _friend_rows(app) == []
    assert "Nos amis vignerons" not in text_of(shopper.get(f"/{VERNETTE}/"))
    assert manager.post(f"/gestion/{VERNETTE}/amis/{friend_id}/retirer").status_code == 404  # gone
    _add(manager, rozel)
    [(friend_id, _)] = _friend_rows(app)
    htmx = manager.post(f"/gestion/{VERNETTE}/amis/{friend_id}/retirer", headers=HX)
    assert htmx.status_code == 200 and f'value="{rozel}"' in text_of(htmx)  # back among the "+"
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "friend.remove")) == 2


# ------------------------------------------------------------------ invitations


INVITE = {"name": "Paul Vigneau", "email": "Paul@Vigneau.example", "estate_name": "Clos Vigneau",
          "message": "Un ami du Jura, très bons savagnins."}


def _outbox(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains("Vigneron à contacter"))
                                    .order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def test_inviting_a_winegrower_makes_a_lead_and_emails_the_platform_administrators(app):
    manager = _manager(app)
    response = manager.post(f"/gestion/{VERNETTE}/amis/inviter", data=INVITE, follow_redirects=True)
    page = text_of(response)
    assert "Merci : nous contactons ce vigneron. Vous recevrez un mois offert quand il s'abonnera." in page
    assert "Clos Vigneau" in page and "en attente" in page
    own = _estate_id(app, VERNETTE)
    with session_for(app) as session:
        lead = session.scalars(select(FriendLead)).one()
        assert (lead.estate_id, lead.status, lead.email, lead.estate_name) == (
            own, "new", "paul@vigneau.example", "Clos Vigneau")
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "friend.invite")) == 1
    [message] = _outbox(app)
    assert message.recipient == "operateur@chai.example"  # the demo's platform administrator
    for text in (message.body_text, message.body_html):
        assert "Domaine de la Vernette" in text and "Paul Vigneau" in text and "paul@vigneau.example" in text
        assert "Clos Vigneau" in text
        assert "Un mois offert au parrain quand le domaine s'abonne" in text.replace("&#39;", "'")
    again = manager.post(f"/gestion/{VERNETTE}/amis/inviter", data=INVITE)
    assert again.status_code == 422 and "Vous avez déjà invité ce vigneron" in text_of(again)
    assert len(_outbox(app)) == 1


def test_the_invitation_goes_to_the_configured_operator_address(app):
    app.config["OPERATOR"] = {"email": "contact@chai-operateur.example"}
    _manager(app).post(f"/gestion/{VERNETTE}/amis/inviter", data=INVITE)
    assert [m.recipient for m in _outbox(app)] == ["contact@chai-operateur.example"]


def test_an_invalid_invitation_is_explained_in_french_and_changes_nothing(app):
    manager = _manager(app)
    cases = [({**INVITE, "email": ""}, "Indiquez l'adresse email du vigneron."),
             ({**INVITE, "email": "pas-une-adresse"}, "Adresse email invalide."),
             ({**INVITE, "name": " "}, "Indiquez le nom du vigneron."),
             ({**INVITE, "estate_name": ""}, "Indiquez le nom de son domaine."),
             ({**INVITE, "estate_name": "x" * 500}, "Le nom du domaine compte au plus 140 caractères."),
             ({**INVITE, "message": "x" * 5000}, "Le message compte au plus 2 000 caractères."),
             ({}, "Indiquez le nom du vigneron.")]
    for data, message in cases:
        response = manager.post(f"/gestion/{VERNETTE}/amis/inviter", data=data)
        assert response.status_code == 422 and message in text_of(response), data
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(FriendLead)) == 0
    assert _outbox(app) == []


# ------------------------------------------------------------------ isolation and roles


def test_an_estate_never_sees_another_estates_friends_or_leads(app):
    vernette, rozel = _manager(app, VERNETTE), _manager(app, ROZEL)
    _add(vernette, _estate_id(app, ROZEL))
    vernette.post(f"/gestion/{VERNETTE}/amis/inviter", data=INVITE)
    [(friend_id, _)] = _friend_rows(app, VERNETTE)
    page = text_of(rozel.get(f"/gestion/{ROZEL}/amis"))
    assert "Clos Vigneau" not in page and "Paul Vigneau" not in page and "/retirer" not in page
    assert "Domaine de la Vernette" in page  # offered with "+": it is a published estate of the platform
    assert rozel.post(f"/gestion/{ROZEL}/amis/{friend_id}/retirer").status_code == 404  # Vernette's row
    assert rozel.post(f"/gestion/{VERNETTE}/amis/{friend_id}/retirer").status_code == 404  # not Rozel's staff
    assert rozel.get(f"/gestion/{VERNETTE}/amis").status_code == 404
    assert rozel.post(f"/gestion/{VERNETTE}/amis/ajouter", data={"estate_id": "1"}).status_code == 404
    assert rozel.post(f"/gestion/{VERNETTE}/amis/inviter", data=INVITE).status_code == 404
    assert _friend_rows(app, VERNETTE) == [(friend_id, _estate_id(app, ROZEL))]
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(FriendLead)) == 1


def test_a_seller_gets_404_on_the_friends_pages(app):
    own = _estate_id(app, VERNETTE)
    with session_for(app) as session:
        seller = accounts.register_user(session, email="vendeuse-amis@vernette.example", password="x" * 16)
        session.add(EstateStaff(estate_id=own, user_id=seller.id, role="seller"))
        session.commit()
    client = visitor(app)
    login(client, "vendeuse-amis@vernette.example", "x" * 16)
    assert client.get(f"/gestion/{VERNETTE}/amis").status_code == 404
    assert _add(client, _estate_id(app, ROZEL)).status_code == 404
    assert client.post(f"/gestion/{VERNETTE}/amis/inviter", data=INVITE).status_code == 404
    assert "Nos amis vignerons" not in text_of(client.get(f"/gestion/{VERNETTE}/reunions"))
    assert _friend_rows(app) == []
    manager_nav = text_of(_manager(app).get(f"/gestion/{VERNETTE}/"))
    assert f'href="/gestion/{VERNETTE}/amis"' in manager_nav
