"""One estate never sees another's rows: the URL map walked with the other estate's
ids, and the session filter itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from models import CustomerImport, Estate, EstateCustomer, Invoice, Order, Price, PriceList, Promotion, Wine, db
from models import EstateFair, PickupPoint  # noqa: I001 — issue 10
from models import GroupPurchase, GroupPurchaseRequest  # noqa: I001 — issue 10
from models import Catalogue, Distribution, GroupCatalogue  # noqa: I001 — issue 11
from models import EstateStaff, Reward, RewardRule, Tasting  # noqa: I001 — issue 12
from models import EstateFriend  # noqa: I001 — issue 13
from models import ClosingPeriod  # noqa: I001 — issue 14
from models import Follow, News  # noqa: I001 — issue 14: actualités, « Suivre »
from models import Mailing  # noqa: I001 — issue 14: lettres d'information
from models import SalesTerms  # noqa: I001 — issue 15: CGV versions
from services.tenancy import EstateMismatch, scope_to_estate
from tests.conftest import login, session_for

OWN, OTHER = "domaine-de-la-vernette", "domaine-rozel"
STAFF = {OWN: "vigneron@vernette.example", OTHER: "vigneron@rozel.example"}


def _estate_ids(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {e.slug: e.id for e in session.scalars(select(Estate))}


def _object_ids(session, estate_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One object of the estate for every id argument a URL rule may take."""
    return {
        "order_id": session.scalars(select(Order.id).where(Order.estate_id == estate_id)).first(),
        "promotion_id": session.scalars(select(Promotion.id).where(Promotion.estate_id == estate_id)).first(),
        "import_id": session.scalars(select(CustomerImport.id).where(CustomerImport.estate_id == estate_id)).first(),
        "code": session.scalars(select(EstateCustomer.referral_code).where(
            EstateCustomer.estate_id == estate_id, EstateCustomer.referral_code.is_not(None))).first(),
        "invoice_id": session.scalars(select(Invoice.id).where(Invoice.estate_id == estate_id)).first(),
        "number": session.scalars(select(Order.number).where(Order.estate_id == estate_id)).first(),
        "wine_id": session.scalars(select(Wine.id).where(Wine.estate_id == estate_id)).first(),
        "price_list_id": session.scalars(select(PriceList.id).where(PriceList.estate_id == estate_id)).first(),
        "customer_id": session.scalars(select(EstateCustomer.id).where(EstateCustomer.estate_id == estate_id)).first(),
        "estate_fair_id": session.scalars(select(EstateFair.id).where(EstateFair.estate_id == estate_id)).first(),
        "pickup_point_id": session.scalars(select(PickupPoint.id).where(PickupPoint.estate_id == estate_id)).first(),
        "token": session.scalars(select(EstateFair.token).where(EstateFair.estate_id == estate_id)).first(),
        "group_id": session.scalars(select(GroupPurchase.id).where(GroupPurchase.estate_id == estate_id)).first(),
        "request_id": session.scalars(select(GroupPurchaseRequest.id)
                                      .where(GroupPurchaseRequest.estate_id == estate_id)).first(),
        # issue 11: the estate's catalogue, and a distribution of a group only this estate is linked
        # to (the last one: _producer_group_at's; the demo's group links both estates)
        "catalogue_id": session.scalars(select(Catalogue.id).where(Catalogue.estate_id == estate_id)
                                        .order_by(Catalogue.id.desc())).first(),
        "distribution_id": session.scalars(
            select(Distribution.id).join(GroupCatalogue, GroupCatalogue.group_id == Distribution.group_id)
            .where(GroupCatalogue.estate_id == estate_id).order_by(Distribution.id.desc())).first(),
        # issue 12: a tasting still open (its id and invitation link), a reward rule, a reward
        # won at a closed tasting, a member of the staff
        "tasting_id": session.scalars(select(Tasting.id).where(Tasting.estate_id == estate_id,
                                                               Tasting.status == "planned")).first(),
        "tasting_token": session.scalars(select(Tasting.token).where(Tasting.estate_id == estate_id,
                                                                     Tasting.status == "planned")).first(),
        "rule_id": session.scalars(select(RewardRule.id).where(RewardRule.estate_id == estate_id)).first(),
        "reward_id": session.scalars(select(Reward.id).where(Reward.estate_id == estate_id)).first(),
        "staff_id": session.scalars(select(EstateStaff.id).where(EstateStaff.estate_id == estate_id)).first(),
        # issue 13: one of the estate's "amis vignerons"
        "friend_id": session.scalars(select(EstateFriend.id).where(EstateFriend.estate_id == estate_id)).first(),
        # issue 14: one of the estate's closing periods (_closing_at)
        "closing_period_id": session.scalars(select(ClosingPeriod.id).where(ClosingPeriod.estate_id == estate_id)).first(),
        # issue 14: one of the estate's news (_news_at)
        "news_id": session.scalars(select(News.id).where(News.estate_id == estate_id)).first(),
        "follow_id": session.scalars(select(Follow.id).where(Follow.estate_id == estate_id)).first(),
        # issue 14: one of the estate's newsletters (_mailing_at)
        "mailing_id": session.scalars(select(Mailing.id).where(Mailing.estate_id == estate_id)).first(),
        # issue 15: the estate's latest CGV version (its id; its number: _sales_terms_at gives Rozel a
        # version 2, which La Vernette does not have)
        "sales_terms_id": session.scalars(select(SalesTerms.id).where(SalesTerms.estate_id == estate_id)
                                          .order_by(SalesTerms.version.desc())).first(),
        "version": session.scalars(select(SalesTerms.version).where(SalesTerms.estate_id == estate_id)
                                   .order_by(SalesTerms.version.desc())).first(),
    }


def _snapshot(session, estate_id: int):  # type: ignore[no-untyped-def]
    wines = session.execute(select(Wine.id, Wine.stock, Wine.vintage, Wine.is_visible, Wine.is_available)
                            .where(Wine.estate_id == estate_id).order_by(Wine.id)).all()
    prices = session.execute(select(Price.id, Price.amount_cents, Price.promo_active)
                             .where(Price.estate_id == estate_id).order_by(Price.id)).all()
    lists = session.execute(select(PriceList.id, PriceList.name).where(PriceList.estate_id == estate_id)).all()
    lists += session.execute(select(Promotion.id, Promotion.name).where(Promotion.estate_id == estate_id)).all()
    estate = session.execute(select(Estate.name, Estate.minimum_order_cents, Estate.loyalty_enabled)
                             .where(Estate.id == estate_id)).one()
    customers = session.execute(select(EstateCustomer.id, EstateCustomer.loyalty_balance_cents, EstateCustomer.notes)
                                .where(EstateCustomer.estate_id == estate_id).order_by(EstateCustomer.id)).all()
    imports = session.execute(select(CustomerImport.id).where(CustomerImport.estate_id == estate_id)).all()
    order_rows = session.execute(select(Order.id, Order.status, Order.invoiced_at).where(Order.estate_id == estate_id)).all()
    invoices = session.execute(select(Invoice.id, Invoice.number).where(Invoice.estate_id == estate_id)).all()
    return wines, prices, lists, estate, order_rows, invoices, customers, imports


def _an_invoiced_order_at(app, slug: str) -> None:
    """Give the other estate an order with an invoice, so that order and invoice URLs are walked too."""
    from tests.conftest import checkout_form, first_orderable_wine

    wine_id, _, _ = first_orderable_wine(app, slug)
    buyer = app.test_client()
    with buyer.session_transaction() as sess:
        sess["age_ok"] = True
    buyer.post(f"/{slug}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{slug}/commande", data=checkout_form(delivery="pickup")).status_code == 302
    staff = app.test_client()
    login(staff, "vigneron@rozel.example")
    order_id = _object_ids_for(app, slug)["order_id"]
    staff.post(f"/gestion/{slug}/commandes/{order_id}/statut", data={"to": "paid"})
    staff.post(f"/gestion/{slug}/commandes/{order_id}/facturer")
    with session_for(app) as session:  # and a customer import waiting for confirmation
        estate_id = _estate_ids(session)[slug]
        session.add(CustomerImport(estate_id=estate_id, content="email\nx@example.com\n"))
        sponsor = session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == estate_id)).first()
        sponsor.referral_code = "ROZELAMI"
        session.commit()
    _sales_terms_at(app, slug)
    _occasions_at(app, slug)


def _sales_terms_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: a second CGV version of the estate, so that its number names nothing at the other estate."""
    from models import utcnow
    from services import sales_terms

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        latest = sales_terms.latest(session, estate.id)
        sales_terms.publish(session, estate, sales_terms.completions_of(latest, estate), user=None, now=utcnow())
        session.commit()


def _occasions_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 10: a fair participation and a pickup point of the estate, so that their URLs are walked too."""
    from datetime import date, datetime, timezone

    from models import EstateFair, Fair, PickupPoint

    with session_for(app) as session:
        estate_id = _estate_ids(session)[slug]
        fair = Fair(name=f"Salon {slug}", city="Lyon", starts_on=date(2099, 3, 1), ends_on=date(2099, 3, 2))
        session.add(EstateFair(estate_id=estate_id, fair=fair, token=f"jeton-{slug}", stand="A1"))
        session.add(PickupPoint(estate_id=estate_id, name=f"Point {slug}", starts_on=date(2099, 3, 1),
                                ends_on=date(2099, 3, 2)))
        session.add(GroupPurchase(estate_id=estate_id, token=f"groupe-{slug}", organiser_name="Org", organiser_email="org@example.com",
                                  estimated_bottles=60, delivery_name="Org", street="1 rue", postcode="69001", city="Lyon",
                                  closes_at=datetime(2099, 3, 1, tzinfo=timezone.utc)))
        session.add(GroupPurchaseRequest(estate_id=estate_id, organiser_name="Org", email="org@example.com",
                                         estimated_bottles=60, street="1 rue", postcode="69001", city="Lyon"))
        session.commit()
    _producer_group_at(app, slug)


def _producer_group_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: a catalogue of the estate, linked to a group its vigneron runs, with a distribution."""
    import secrets
    from datetime import timedelta

    from models import User, utcnow
    from services import producer_groups

    with session_for(app) as session:
        estate_id = _estate_ids(session)[slug]
        price_list = session.scalars(select(PriceList).where(PriceList.estate_id == estate_id)).first()
        wine = session.scalars(select(Wine).join(Price, Price.wine_id == Wine.id)
                               .where(Price.price_list_id == price_list.id)).first()
        catalogue = Catalogue(estate_id=estate_id, name=f"Catalogue {slug}", price_list_id=price_list.id,
                              token=secrets.token_urlsafe(24))
        catalogue.wines.append(wine)
        session.add(catalogue)
        staff = session.scalars(select(User).where(User.email == STAFF[slug])).one()
        now = utcnow()
        group = producer_groups.create_group(session, producer_groups.GroupData(f"Groupe {slug}", place="Salle"), staff, now)
        producer_groups.link_catalogue(session, group, catalogue, staff, now)
        start = now + timedelta(days=30)
        distribution = producer_groups.create_distribution(session, group, producer_groups.DistributionData(
            start, start + timedelta(hours=2), "", start - timedelta(days=1)), staff, now)
        producer_groups.participate(session, distribution, estate_id, now)
        session.commit()
    _tastings_at(app, slug)


def _tastings_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: a coming tasting of the estate's vigneron, a reward rule, and a closed
    tasting whose host won a gift to choose."""
    from datetime import timedelta

    from models import User, utcnow
    from services import rewards, tastings
    from services.tenancy import scope_to_estate

    with session_for(app) as session:
        estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
        scope_to_estate(session, estate.id)
        staff = session.scalars(select(User).where(User.email == STAFF[slug])).one()
        wine = session.scalars(select(Wine).order_by(Wine.id)).first()
        rewards.save_rule(session, estate, rewards.RuleData("host", "gift_choice", wine_ids=(wine.id,)))
        now = utcnow()
        closed = tastings.create(session, estate, tastings.TastingData(
            f"hote-passe@{slug}.example", "Hôte", "Passé", now + timedelta(days=1), "Chez l'hôte"), staff, now=now,
            secret_key="k", public_url="http://localhost")
        rewards.close(session, estate, closed, actor=staff, now=now, public_url="http://localhost")
        tastings.create(session, estate, tastings.TastingData(
            f"hote@{slug}.example", "Hôte", "Prochain", now + timedelta(days=20), "Chez l'hôte"), staff, now=now,
            secret_key="k", public_url="http://localhost")
        session.commit()
    _friends_at(app, slug)
    _closing_at(app, slug)
    _news_at(app, slug)
    _mailing_at(app, slug)


def _news_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: a published public news item of the estate, and the demo customer
    following the estate, once."""
    from datetime import timedelta

    from models import User, utcnow

    with session_for(app) as session:
        estate_id = _estate_ids(session)[slug]
        if session.scalars(select(News.id).where(News.estate_id == estate_id)).first() is None:
            session.add(News(estate_id=estate_id, title=f"Actualité de test {slug}", body_html="<p>Test.</p>",
                             published_at=utcnow() - timedelta(days=1)))
            customer = session.scalars(select(User.id).where(User.email == "client@chai.example")).one()
            session.add(Follow(estate_id=estate_id, user_id=customer))
            session.commit()


def _mailing_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: a draft newsletter of the estate, once."""
    from models import Mailing

    with session_for(app) as session:
        estate_id = _estate_ids(session)[slug]
        if session.scalars(select(Mailing.id).where(Mailing.estate_id == estate_id)).first() is None:
            session.add(Mailing(estate_id=estate_id, subject=f"Lettre de test {slug}", body_html="<p>Test.</p>"))
            session.commit()


def _closing_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: a closing period of the estate, months ahead (it changes no order), once."""
    from datetime import timedelta

    from services import closing

    with session_for(app) as session:
        estate_id = _estate_ids(session)[slug]
        if session.scalars(select(ClosingPeriod.id).where(ClosingPeriod.estate_id == estate_id)).first() is None:
            start = closing.today() + timedelta(days=200)
            session.add(ClosingPeriod(estate_id=estate_id, starts_on=start, ends_on=start + timedelta(days=10),
                                      message="Fermeture de test.", orders_taken=True))
            session.commit()


def _friends_at(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 13: the other estate among the estate's "amis vignerons" (once)."""
    from models import EstateFriend

    with session_for(app) as session:
        ids = _estate_ids(session)
        friend_id = ids[OTHER if slug == OWN else OWN]
        if session.scalars(select(EstateFriend.id).where(EstateFriend.estate_id == ids[slug],
                                                         EstateFriend.friend_estate_id == friend_id)).first() is None:
            session.add(EstateFriend(estate_id=ids[slug], friend_estate_id=friend_id))
            session.commit()


def _object_ids_for(app, slug: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return _object_ids(session, _estate_ids(session)[slug])


def test_staff_get_404_on_every_url_that_names_another_estates_objects(app, client):
    _an_invoiced_order_at(app, OTHER)
    login(client, "vigneron@vernette.example")
    with session_for(app) as session:
        estate_ids = _estate_ids(session)
        other_ids = _object_ids(session, estate_ids[OTHER])
        before = _snapshot(session, estate_ids[OTHER])
    adapter = app.url_map.bind("localhost")
    checked = []
    for rule in app.url_map.iter_rules():
        if "estate_slug" not in rule.arguments:
            continue
        id_args = rule.arguments - {"estate_slug", "kind"}
        # Under the staff's own estate, any URL naming the other estate's object is a 404;
        # under the other estate, every back-office URL is (its shop is public, of course).
        slugs = ([OWN] if id_args else []) + ([OTHER] if rule.endpoint.startswith("admin.") else [])
        for slug in slugs:
            values = {"estate_slug": slug, "kind": "facture"}
            for arg in id_args:
                assert arg in other_ids, f"teach this test which object {arg!r} of {rule} names"
                values[arg] = other_ids[arg]
            assert all(values[arg] is not None for arg in id_args), f"no object for {rule}"
            url = adapter.build(rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"price": "1,00", "stock": "0", "name": "x"},
                                       headers={"HX-Request": "true"} if "row" in rule.endpoint else {})
                assert response.status_code == 404, f"{method} {url} → {response.status_code}"
                checked.append((method, rule.endpoint))
    endpoints = {endpoint for _, endpoint in checked}
    assert {"admin.wine_row_edit", "admin.wine_edit", "admin.price_list_edit", "admin.settings",
            "admin.wines", "shop.wine", "admin.order_page", "admin.order_status", "admin.order_document",
            "admin.invoice_document", "shop.order", "shop.payment_return", "admin.promotion_edit",
            "admin.customer_card", "admin.customer_loyalty", "admin.customers_import_confirm",
            "shop.cgv_pdf", "admin.sales_terms_pdf"} <= endpoints  # issue 15: CGV versions
    with session_for(app) as session:
        assert _snapshot(session, estate_ids[OTHER]) == before


def test_the_wines_table_refuses_another_estates_price_list(app, client):
    login(client, "vigneron@vernette.example")
    with session_for(app) as session:
        other_list = _object_ids(session, _estate_ids(session)[OTHER])["price_list_id"]
    assert client.get(f"/gestion/{OWN}/vins?tarif={other_list}").status_code == 404


def test_a_customer_gets_404_in_the_back_office(client):
    login(client, "client@chai.example")
    assert client.get(f"/gestion/{OWN}/vins").status_code == 404


def test_anonymous_visitors_are_sent_to_login(app):
    response = app.test_client().get(f"/gestion/{OWN}/vins")
    assert response.status_code == 302 and response.headers["Location"].startswith("/compte/connexion")


def test_the_platform_admin_can_open_every_back_office(client):
    login(client, "operateur@chai.example")
    assert client.get(f"/gestion/{OWN}/vins").status_code == 200
    assert client.get(f"/gestion/{OTHER}/vins").status_code == 200


# ------------------------------------------------------------ the session filter


def test_a_session_without_an_estate_sees_no_estate_owned_row(app):
    with app.app_context():
        assert db.session.scalars(select(Wine)).all() == []
        assert db.session.scalars(select(Estate)).all() != []  # platform rows stay visible
        db.session.remove()


def test_a_scoped_session_sees_only_its_estate_including_through_relationships(app):
    with app.app_context():
        ids = {e.slug: e.id for e in db.session.scalars(select(Estate))}
        scope_to_estate(db.session, ids[OWN])
        wines = db.session.scalars(select(Wine)).all()
        assert wines and {w.estate_id for w in wines} == {ids[OWN]}
        for price_list in db.session.scalars(select(PriceList)):
            assert {p.estate_id for p in price_list.prices} <= {ids[OWN]}
        assert db.session.scalars(select(Price).join(Wine)).all()
        assert {p.estate_id for p in db.session.scalars(select(Price).join(Wine))} == {ids[OWN]}
        db.session.remove()


def test_a_bulk_update_in_a_scoped_session_leaves_other_estates_alone(app):
    with session_for(app) as session:
        ids = _estate_ids(session)
        other_before = _snapshot(session, ids[OTHER])
    with app.app_context():
        scope_to_estate(db.session, ids[OWN])
        db.session.execute(update(Wine).values(stock=0))
        db.session.commit()
        db.session.remove()
    with session_for(app) as session:
        assert _snapshot(session, ids[OTHER]) == other_before
        assert set(session.scalars(select(Wine.stock).where(Wine.estate_id == ids[OWN]))) == {0}


def test_writing_another_estates_row_in_a_scoped_session_is_refused(app):
    with session_for(app) as session:
        ids = _estate_ids(session)
        vat_rate_id = session.scalars(select(Wine.vat_rate_id)).first()
    with app.app_context():
        scope_to_estate(db.session, ids[OWN])
        db.session.add(Wine(estate_id=ids[OTHER], name="Intrus", colour="rouge", vat_rate_id=vat_rate_id))
        with pytest.raises(EstateMismatch):
            db.session.flush()
        db.session.rollback()
        db.session.remove()


def test_in_estate_scopes_for_a_while_and_puts_the_scope_back_even_on_an_error(app):
    """A group basket places each estate's order in that estate's scope (issue 11)."""
    from services.tenancy import current_estate_id, in_estate

    with app.app_context():
        ids = {e.slug: e.id for e in db.session.scalars(select(Estate))}
        scope_to_estate(db.session, ids[OWN])
        with in_estate(db.session, ids[OTHER]):
            assert {w.estate_id for w in db.session.scalars(select(Wine))} == {ids[OTHER]}
        assert current_estate_id(db.session) == ids[OWN]
        with pytest.raises(ZeroDivisionError), in_estate(db.session, ids[OTHER]):
            db.session.add(Wine(estate_id=ids[OWN], name="x"))  # would fail the scope check if flushed here
            raise ZeroDivisionError
        assert current_estate_id(db.session) == ids[OWN]
        db.session.rollback()
        db.session.remove()


def test_a_seller_sees_only_their_own_tastings_and_customers_and_nothing_of_another_estate(app, client):
    """Issue 12: a seller of La Vernette walks every back-office URL: with Rozel's objects,
    under Rozel, and under La Vernette outside the seller's pages, all 404; the manager's
    tasting (not the seller's) and its host's card too."""
    from admin.access import SELLER_ENDPOINTS
    from models import User
    from services import accounts

    _an_invoiced_order_at(app, OTHER)
    _tastings_at(app, OWN)  # the vigneron's tastings, not the seller's
    with session_for(app) as session:
        estate_ids = _estate_ids(session)
        seller = accounts.register_user(session, email="vendeuse@vernette.example", password="x" * 16)
        session.add(EstateStaff(estate_id=estate_ids[OWN], user_id=seller.id, role="seller"))
        session.commit()
        other_ids = _object_ids(session, estate_ids[OTHER])
        own_ids = _object_ids(session, estate_ids[OWN])
        host_id = session.scalars(select(Tasting.host_customer_id).where(Tasting.id == own_ids["tasting_id"])).one()
        before = _snapshot(session, estate_ids[OTHER])
        assert session.scalars(select(User).where(User.email == "vendeuse@vernette.example")).one()
    login(client, "vendeuse@vernette.example", "x" * 16)
    adapter = app.url_map.bind("localhost")
    reached = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        id_args = rule.arguments - {"estate_slug", "kind"}
        cases = [(OTHER, other_ids)]
        if id_args:
            cases.append((OWN, other_ids))
        if rule.endpoint not in SELLER_ENDPOINTS:
            cases.append((OWN, own_ids))
        for slug, ids in cases:
            values = {"estate_slug": slug, "kind": "facture",
                      **{arg: ids[arg] if ids[arg] is not None else other_ids[arg] for arg in id_args}}
            url = adapter.build(rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={"name": "x"})
                if rule.endpoint == "admin.dashboard" and slug == OWN:
                    assert response.status_code == 302, url  # to the seller's tastings
                    continue
                assert response.status_code == 404, f"{method} {url} → {response.status_code}"
                reached.add(rule.endpoint)
    assert {"admin.orders_table", "admin.customers", "admin.customer_card", "admin.tasting_page",
            "admin.seller_customer_card", "admin.reward_rules", "admin.team_page"} <= reached
    # La Vernette's tastings that are not the seller's, and customers the seller does not serve
    assert client.get(f"/gestion/{OWN}/reunions/{own_ids['tasting_id']}").status_code == 404
    assert client.get(f"/gestion/{OWN}/reunions/clients/{host_id}").status_code == 404
    page = client.get(f"/gestion/{OWN}/reunions").get_data(as_text=True)
    assert "Prochain" not in page and "hote@" not in page
    with session_for(app) as session:
        assert _snapshot(session, estate_ids[OTHER]) == before
