"""Issue 11: a producer group's shop for one distribution — one basket across two
estates, one order per estate, one card payment split per estate by transfers (the
local Mangopay server), the closing job, the distribution sheet and the ticking; and
what must never happen: a replayed payment paying twice, a half-created checkout, a
member of another group or an unlinked estate seeing the shop."""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from models import (
    Catalogue,
    DeliveryKind,
    Distribution,
    Estate,
    GroupCheckout,
    GroupTransfer,
    Invoice,
    Order,
    OrderStatus,
    OutboxMessage,
    Price,
    PriceList,
    User,
    Wine,
    utcnow,
)
from services import group_payments, jobs, mail, producer_groups
from services.demo import DEMO_PASSWORD
from tests.conftest import login, make_app, session_for, text_of, visitor
from tests.integration.test_checkout import _pay_on_sandbox

VERNETTE, ROZEL = "domaine-de-la-vernette", "domaine-rozel"
ADMIN = "vigneron@vernette.example"  # Vernette's vigneron runs the group (seed 002, case 2)
MEMBER = "client@chai.example"
CLOSE_JOB = next(job for job in jobs.JOBS if job.name == "close-distributions")


@dataclass(frozen=True)
class Setup:
    group_id: int
    distribution_id: int
    wines: dict[str, int]  #: estate slug → a wine of its catalogue
    prices: dict[str, int]  #: estate slug → that wine's TTC price


def _catalogue(session, slug: str, now) -> tuple[Catalogue, int, int]:  # type: ignore[no-untyped-def]
    estate = session.scalars(select(Estate).where(Estate.slug == slug)).one()
    estate.minimum_order_cents, estate.mixing_allowed = 0, False  # per-bottle orders
    particuliers = session.scalars(select(PriceList).where(PriceList.estate_id == estate.id,
                                                           PriceList.name == "Particuliers")).one()
    wine, price = session.execute(
        select(Wine, Price).join(Price, Price.wine_id == Wine.id)
        .where(Price.price_list_id == particuliers.id, Price.promo_active.is_(False), Wine.is_visible.is_(True),
               Wine.is_available.is_(True), Wine.stock >= 24).order_by(Wine.id)).first()
    wine.order_multiple = 1
    catalogue = Catalogue(estate_id=estate.id, name=f"Catalogue groupes {slug}", price_list_id=particuliers.id,
                          token=secrets.token_urlsafe(24))
    catalogue.wines.append(wine)
    session.add(catalogue)
    session.flush()
    return catalogue, wine.id, price.amount_cents


def _setup(app, *, member: str = MEMBER, estates=(VERNETTE, ROZEL)) -> Setup:  # type: ignore[no-untyped-def]
    now = utcnow()
    with session_for(app) as session:
        admin = session.scalars(select(User).where(User.email == ADMIN)).one()
        group = producer_groups.create_group(session, producer_groups.GroupData("Amicale des Canuts",
                                                                                place="Salle des fêtes"), admin, now)
        wines, prices = {}, {}
        for slug in estates:
            catalogue, wines[slug], prices[slug] = _catalogue(session, slug, now)
            producer_groups.link_catalogue(session, group, catalogue, admin, now)
        start = now + timedelta(days=3)
        distribution = producer_groups.create_distribution(session, group, producer_groups.DistributionData(
            start, start + timedelta(hours=2), "", now + timedelta(days=2)), admin, now)
        for slug in estates:
            estate_id = session.scalars(select(Estate.id).where(Estate.slug == slug)).one()
            producer_groups.participate(session, distribution, estate_id, now)
        buyer = session.scalars(select(User).where(User.email == member)).one()
        group.is_public = True
        producer_groups.join(session, group, buyer, now)
        group.is_public = False
        session.commit()
        return Setup(group.id, distribution.id, wines, prices)


def _card_app(database, sandbox):  # type: ignore[no-untyped-def]
    return make_app(database, MANGOPAY_BASE_URL=sandbox.base_url, MANGOPAY_TIMEOUT=5,
                    MANGOPAY_CLIENT_ID="chai", MANGOPAY_API_KEY="key")


def _shop(setup: Setup) -> str:
    return f"/groupes/{setup.group_id}/distributions/{setup.distribution_id}"


def _member(app, email: str = MEMBER):  # type: ignore[no-untyped-def]
    client = visitor(app)
    login(client, email)
    return client


CHECKOUT = {"first_name": "Claire", "last_name": "Membre", "phone": "06 11 22 33 44", "street": "4 rue Royale",
            "postcode": "69001", "city": "Lyon", "country": "FR", "accept_conditions": "y", "adult": "y",
            "birth_date": "1980-05-17"}


def _fill_and_checkout(client, setup: Setup, quantities: dict[str, int], token: str = "tok-group-1"):  # type: ignore[no-untyped-def]
    for slug, quantity in quantities.items():
        response = client.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[slug], "quantity": quantity})
        assert response.status_code == 302, text_of(response)[:300]
    return client.post(f"{_shop(setup)}/commande", data={**CHECKOUT, "checkout_token": token})


def _orders(app):  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return session.execute(select(Order.id, Order.number, Order.estate_id, Order.status, Order.total_ttc_cents,
                                      Order.delivery_kind, Order.distribution_id, Order.group_checkout_id)
                               .order_by(Order.id)).all()


def test_one_basket_across_two_estates_makes_two_orders_paid_in_one_split_payment(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    client = _member(app)
    page = text_of(client.get(f"{_shop(setup)}/boutique"))
    assert "Domaine de la Vernette" in page and "Domaine Rozel" in page

    response = _fill_and_checkout(client, setup, {VERNETTE: 3, ROZEL: 2})
    assert response.status_code == 302 and "/sandbox/pay/" in response.headers["Location"], re.findall(r"flash-error[^>]*>([^<]*)", response.get_data(as_text=True))
    placed = _orders(app)
    assert len(placed) == 2 and {o.number[:3] for o in placed} == {"VER", "ROZ"}
    assert {o.delivery_kind for o in placed} == {DeliveryKind.DISTRIBUTION}
    assert {o.distribution_id for o in placed} == {setup.distribution_id}
    assert len({o.group_checkout_id for o in placed}) == 1
    expected = 3 * setup.prices[VERNETTE] + 2 * setup.prices[ROZEL]
    assert sum(o.total_ttc_cents for o in placed) == expected
    (payin,) = sandbox.payins()
    assert payin["DebitedFunds"]["Amount"] == expected  # one payment for the whole basket

    back = _pay_on_sandbox(response.headers["Location"], "accept")
    landing = client.get(urlsplit(back).path + "?" + urlsplit(back).query)
    assert landing.status_code == 302
    page = text_of(client.get(landing.headers["Location"]))
    assert "Paiement reçu" in page and all(o.number in page for o in placed)
    # the group's page leads back to them
    assert landing.headers["Location"] in client.get(f"/groupes/{setup.group_id}").get_data(as_text=True)

    with session_for(app) as session:
        assert {o.status for o in session.scalars(select(Order))} == {OrderStatus.PAID}
        invoices = session.scalars(select(Invoice)).all()
        assert sorted(i.estate_id for i in invoices) == sorted(o.estate_id for o in placed)
        transfers = session.scalars(select(GroupTransfer)).all()
        assert [t.status for t in transfers] == ["succeeded", "succeeded"]
        wallets = {session.get(Estate, t.estate_id).mangopay_wallet_id: t.amount_cents for t in transfers}
    made = sandbox.transfers()
    assert len(made) == 2 and all(t["Status"] == "SUCCEEDED" for t in made)
    for wallet_id, amount in wallets.items():  # each estate's share reached its own wallet
        assert sandbox.wallet(wallet_id)["Balance"]["Amount"] == amount
    assert sandbox.wallet(payin["CreditedWalletId"])["Balance"]["Amount"] == 0

    # Each estate is the seller: its own confirmation and notification, and the invoice mail.
    with session_for(app) as session:
        subjects = session.scalars(select(OutboxMessage.subject)).all()
    for order in placed:
        assert sum(order.number in s for s in subjects) >= 3  # confirmation, estate copy, invoice


def test_a_replayed_payment_or_repeated_notification_makes_no_second_order_or_transfer(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    client = _member(app)
    response = _fill_and_checkout(client, setup, {VERNETTE: 1, ROZEL: 1})
    # the same checkout posted again: the same orders, the same pay-in
    again = client.post(f"{_shop(setup)}/commande", data={**CHECKOUT, "checkout_token": "tok-group-1"})
    assert again.status_code == 302 and len(_orders(app)) == 2 and len(sandbox.payins()) == 1
    back = _pay_on_sandbox(response.headers["Location"], "accept")
    path = urlsplit(back).path + "?" + urlsplit(back).query
    payin_id = sandbox.payins()[0]["Id"]
    for _ in range(2):  # the return URL twice, then the hook twice
        assert client.get(path).status_code == 302
    for _ in range(2):
        hook = visitor(app).get(f"/paiements/mangopay/notification?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId={payin_id}")
        assert hook.status_code == 200
    with session_for(app) as session:
        assert len(_orders(app)) == 2
        assert session.scalar(select(func.count()).select_from(GroupTransfer)) == 2
        assert session.scalar(select(func.count()).select_from(Invoice)) == 2
        paying = session.scalars(select(GroupCheckout)).one()
    assert len(sandbox.transfers()) == 2
    # the service applied once more directly, and the transfers settled once more: nothing moves
    from shop.payments import provider

    with app.test_request_context(), session_for(app) as session:
        result = group_payments.apply_payin(session, provider().get_payin(payin_id), utcnow(), "http://shop.test")
        assert result is not None and result.id == paying.id
        assert group_payments.settle_transfers(session, provider(), utcnow()) == 0
        session.commit()
    assert len(sandbox.transfers()) == 2 and len(_orders(app)) == 2


def test_an_estate_out_of_stock_at_checkout_charges_nothing_and_creates_nothing(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    client = _member(app)
    for slug, quantity in {VERNETTE: 2, ROZEL: 2}.items():
        client.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[slug], "quantity": quantity})
    with session_for(app) as session:  # another order took Rozel's bottles meanwhile
        session.get(Wine, setup.wines[ROZEL]).stock = 1
        vernette_stock = session.get(Wine, setup.wines[VERNETTE]).stock
        session.commit()
    response = client.post(f"{_shop(setup)}/commande", data={**CHECKOUT, "checkout_token": "tok-stock"})
    assert response.status_code == 409
    assert "Il ne reste que 1 bouteilles" in text_of(response) or "épuisé" in text_of(response)
    assert _orders(app) == [] and sandbox.payins() == []
    with session_for(app) as session:
        assert session.get(Wine, setup.wines[VERNETTE]).stock == vernette_stock  # Vernette's bottles stay
        assert session.scalar(select(func.count()).select_from(GroupCheckout)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_closing_job_sends_each_estate_its_list_and_the_admins_the_sheet_once(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    client = _member(app)
    response = _fill_and_checkout(client, setup, {VERNETTE: 2, ROZEL: 1})
    back = _pay_on_sandbox(response.headers["Location"], "accept")
    client.get(urlsplit(back).path + "?" + urlsplit(back).query)
    with session_for(app) as session:
        closes_at = session.get(Distribution, setup.distribution_id).orders_close_at
    for minutes in (1, 2):  # two runs (two workers): one closing
        with session_for(app) as session:
            CLOSE_JOB.run(session, closes_at + timedelta(minutes=minutes))
            session.commit()
    with session_for(app) as session:
        assert session.get(Distribution, setup.distribution_id).status == "closed"
        lists = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("%vos commandes%"))).all()
        sheets = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("Feuille de distribution%"))).all()
        assert sorted(m.recipient for m in lists) == ["contact@rozel.example", "contact@vernette.example"]
        assert [m.recipient for m in sheets] == [ADMIN]
    sent = []
    with session_for(app) as session:
        mail.send_pending(session, lambda message, attachments: sent.append((message.subject, attachments)), utcnow())
    sheet_pdf = next(files for subject, files in sent if subject.startswith("Feuille"))[0][2]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sheet_pdf)).pages)
    assert "Claire Membre" in text and "Domaine de la Vernette" in text and "Domaine Rozel" in text
    estate_pdf = next(files for subject, files in sent if "vos commandes" in subject)[0][2]
    assert "Claire Membre" in "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(estate_pdf)).pages)

    # After closing, the basket refuses new bottles.
    refused = client.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[VERNETTE], "quantity": 1})
    assert refused.status_code == 302
    assert "closes" in text_of(client.get(f"{_shop(setup)}/boutique"))

    # On the day, the administrator ticks each order collected: "livrée", once.
    admin = _member(app, ADMIN)
    sheet = text_of(admin.get(f"{_shop(setup)}/feuille"))
    assert "Claire Membre" in sheet
    for order in _orders(app):
        assert admin.post(f"{_shop(setup)}/retraits/{order.id}").status_code == 302
    assert {o.status for o in _orders(app)} == {OrderStatus.DELIVERED}
    again = admin.post(f"{_shop(setup)}/retraits/{_orders(app)[0].id}", headers={"HX-Request": "true"})
    assert again.status_code == 409 and "ne peut pas" in text_of(again)
    assert client.post(f"{_shop(setup)}/retraits/{_orders(app)[0].id}").status_code == 404  # members don't tick


def test_outsiders_never_see_the_group_shop_or_its_orders(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app, estates=(VERNETTE,))  # Rozel is not linked
    client = _member(app)
    _fill_and_checkout(client, setup, {VERNETTE: 1})
    with session_for(app) as session:
        reference = session.scalars(select(GroupCheckout.reference)).one()
        # a member of another group
        other = session.scalars(select(User).where(User.email == "caviste@chai.example")).one()
        producer_groups.create_group(session, producer_groups.GroupData("Autre groupe"), other, utcnow())
        session.commit()
    for email in ("caviste@chai.example", "vigneron@rozel.example"):
        outsider = _member(app, email)
        for url in (f"{_shop(setup)}/boutique", f"{_shop(setup)}/feuille", f"{_shop(setup)}/commande",
                    f"/groupes/paiements/{reference}", f"/groupes/{setup.group_id}"):
            assert outsider.get(url).status_code == 404, (email, url)
        assert outsider.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[VERNETTE],
                                                              "quantity": 1}).status_code == 404
        # the group's orders stay out of the unlinked estate's back office
        if email == "vigneron@rozel.example":
            assert "VER-" not in text_of(outsider.get(f"/gestion/{ROZEL}/commandes"))
    # Vernette's vigneron (staff of a linked estate) sees the shop, as a preview
    staff = _member(app, "vigneron@vernette.example")
    preview = staff.get(f"{_shop(setup)}/boutique")
    assert preview.status_code == 200 and "Aperçu" not in text_of(preview)  # he administers the group...
    with session_for(app) as session:  # ...a colleague of his who is not a member only previews
        estate = session.scalars(select(Estate).where(Estate.slug == VERNETTE)).one()
        from models import EstateStaff
        from services.accounts import register_user

        colleague = register_user(session, email="caviste.vernette@example.com", password=DEMO_PASSWORD)
        session.add(EstateStaff(estate_id=estate.id, user_id=colleague.id))
        session.commit()
    preview = _member(app, "caviste.vernette@example.com").get(f"{_shop(setup)}/boutique")
    assert preview.status_code == 200 and "Aperçu" in text_of(preview)


@pytest.mark.parametrize("bad", [{"wine_id": "999999", "quantity": "1"}, {"wine_id": "abc", "quantity": "1"},
                                 {"quantity": "1"}, {"wine_id": "1", "quantity": "-3"}, {"wine_id": "1", "quantity": "x"}])
def test_bad_basket_input_changes_nothing(database, sandbox, bad):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    client = _member(app)
    if bad.get("wine_id") == "1":
        bad = {**bad, "wine_id": str(setup.wines[VERNETTE])}
    response = client.post(f"{_shop(setup)}/panier", data=bad)
    assert response.status_code in (302, 404)
    with session_for(app) as session:
        from models import GroupBasketLine

        assert session.scalar(select(func.count()).select_from(GroupBasketLine)) == 0


def test_two_members_racing_for_an_estates_last_bottles_one_basket_wins_whole_the_other_leaves_nothing(
        database, sandbox):
    from services.accounts import register_user
    from tests.conftest import at_once

    app = _card_app(database, sandbox)
    setup = _setup(app)
    with session_for(app) as session:
        group = session.get(Distribution, setup.distribution_id)
        second = register_user(session, email="second.membre@example.com", password=DEMO_PASSWORD)
        from models import GroupMembership

        session.add(GroupMembership(group_id=group.group_id, user_id=second.id, is_admin=False))
        session.get(Wine, setup.wines[ROZEL]).stock = 2  # Rozel's last two bottles
        vernette_stock = session.get(Wine, setup.wines[VERNETTE]).stock
        session.commit()
    clients = [_member(app), _member(app, "second.membre@example.com")]
    for client in clients:
        for slug, quantity in {VERNETTE: 1, ROZEL: 2}.items():
            assert client.post(f"{_shop(setup)}/panier", data={"wine_id": setup.wines[slug],
                                                                "quantity": quantity}).status_code == 302
    answers = at_once([lambda c=c, n=n: c.post(f"{_shop(setup)}/commande", data={**CHECKOUT, "checkout_token": f"race-{n}"})
                       for n, c in enumerate(clients)])
    assert sorted(a.status_code for a in answers) == [302, 409]
    with session_for(app) as session:
        placed = session.execute(select(Order.user_id, Order.estate_id)).all()
        assert len(placed) == 2 and len({user for user, _ in placed}) == 1  # the winner's two orders, nothing else
        assert session.scalar(select(func.count()).select_from(GroupCheckout)) == 1
        assert session.get(Wine, setup.wines[ROZEL]).stock == 0
        assert session.get(Wine, setup.wines[VERNETTE]).stock == vernette_stock - 1  # the loser's bottle is back
    assert len(sandbox.payins()) == 1  # only the winner was sent to pay


def test_the_demo_s_producer_group_is_ready_to_order_from(empty_database):
    """`flask chai seed-demo` (and the quickstart): the demo customer can fill a basket at
    the "Amicale des Canuts"' next distribution from both estates."""
    from flask_migrate import upgrade

    from models import ProducerGroup, db
    from services.demo import seed_demo
    from services.tenancy import allow_all_estates

    app = make_app(empty_database)
    with app.app_context():
        upgrade()
        allow_all_estates(db.session)
        seed_demo(db.session)
        db.session.commit()
        group = db.session.scalars(select(ProducerGroup)).one()
        distribution = db.session.scalars(select(Distribution)).one()
        group_id, distribution_id = group.id, distribution.id
        db.session.remove()
    client = _member(app)
    page = text_of(client.get(f"/groupes/{group_id}/distributions/{distribution_id}/boutique"))
    assert "Amicale des Canuts" in page and "Domaine de la Vernette" in page and "Domaine Rozel" in page
    assert page.count("Ajouter") >= 8  # four wines of each estate's "Sélection des groupes"


def test_the_estate_s_orders_table_filters_the_orders_of_a_distribution(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    _fill_and_checkout(_member(app), setup, {VERNETTE: 1, ROZEL: 1})
    staff = _member(app, "vigneron@vernette.example")
    table = text_of(staff.get(f"/gestion/{VERNETTE}/commandes"))
    assert "Toutes les distributions" in table and "Amicale des Canuts" in table
    with session_for(app) as session:
        mine = session.scalars(select(Order.number).where(Order.number.like("VER-%"))).one()
    filtered = text_of(staff.get(f"/gestion/{VERNETTE}/commandes?distribution={setup.distribution_id}"))
    assert mine in filtered and "ROZ-" not in filtered
    assert mine not in text_of(staff.get(f"/gestion/{VERNETTE}/commandes?distribution=999999"))


def test_a_basket_unpaid_when_orders_close_is_cancelled_and_a_late_payment_is_not_transferred(database, sandbox):
    app = _card_app(database, sandbox)
    setup = _setup(app)
    client = _member(app)
    response = _fill_and_checkout(client, setup, {VERNETTE: 2, ROZEL: 1})  # off to pay… and never comes back
    with session_for(app) as session:
        stock_before = {slug: session.get(Wine, wine_id).stock for slug, wine_id in setup.wines.items()}
        closes_at = session.get(Distribution, setup.distribution_id).orders_close_at
        reference = session.scalars(select(GroupCheckout.reference)).one()
    with session_for(app) as session:
        CLOSE_JOB.run(session, closes_at + timedelta(minutes=1))
        session.commit()
    with session_for(app) as session:
        assert {o.status for o in session.scalars(select(Order))} == {OrderStatus.CANCELLED}
        for slug, wine_id in setup.wines.items():  # the bottles are back on the shelf
            assert session.get(Wine, wine_id).stock == stock_before[slug] + {VERNETTE: 2, ROZEL: 1}[slug]
        cancelled_mails = session.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.subject.like("%Commande annulée%"))).all()
        assert cancelled_mails == [MEMBER, MEMBER]
        lists = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("%vos commandes%"))).all()
        assert all("Claire" not in m.body_text for m in lists)  # no estate prepares them
    # Paying again is refused, in French
    refused = client.post(f"/groupes/paiements/{reference}/payer")
    assert refused.status_code == 302
    assert "ne peut plus être payé" in text_of(client.get(refused.headers["Location"]))
    # The member finishes the payment page anyway: the money stays in their wallet, no transfer
    back = _pay_on_sandbox(response.headers["Location"], "accept")
    client.get(urlsplit(back).path + "?" + urlsplit(back).query)
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(GroupTransfer)) == 0
        assert {o.status for o in session.scalars(select(Order))} == {OrderStatus.CANCELLED}
        from models import Payment

        notes = session.scalars(select(Payment.result_message)).all()
        assert len(notes) == 2 and all("à rembourser" in note for note in notes)
    assert sandbox.transfers() == []
