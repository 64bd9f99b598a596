"""Hostile input, as a property: every POST route of the URL map, as every role, with
random and malicious form data. A new route is covered without editing this test.

For each POST rule (``app.url_map.iter_rules()``), hypothesis draws a role
(anonymous, customer, verified pro, staff of La Vernette, platform operator), the
rule's URL arguments (ids of the estate in the URL, of the *other* estate, or of
nothing), and a form: the route's real form as a page of the site renders it (its
fields and current values, found by crawling every GET page as every role), with some
fields replaced by hostile values (very long strings, control characters, HTML and
script, SQL fragments, negative, huge and exotic numbers, the other estate's ids),
some dropped, some made up; files for file fields; sometimes htmx headers and a
``next`` pointing elsewhere. Starting from the real form gets a hostile value past
the form's other checks, down to the services.

Properties, after each request (and after the page it redirects to):

* never a 5xx;
* never the script payloads echoed unescaped (in any letter case);
* never a redirect to another site;
* Domaine Rozel's rows (every table with an ``estate_id``, the rows linking to them,
  its ``estate`` row) unchanged: the walk posts to Rozel's back office, and to La
  Vernette's with Rozel's ids, but never to Rozel's shop, where any visitor may
  legitimately order, nor Rozel's back office as the operator, who may manage it;
  a customer's account pages may change that customer's own rows at Rozel (their
  addresses in its customer file), and nothing else of Rozel's;
* no row of one estate starts pointing at a row of the other (every foreign key
  between estate-owned tables, checked both ways).

The database is shared by all examples (one app per test): state accumulates, which
is the point (a wine renamed ``<script>…`` earlier shows on a later page). The role
accounts are put back as they were after each example (a hostile log-out, password
or 2FA change must not turn the rest of the walk anonymous). Examples are
derandomized: a run is reproducible, and shrinking is off, since state accumulates.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, func, or_, select, update
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect, Rule

from models import Estate, EstateCustomer, User, db
from services import accounts
from tests.conftest import TEST_SECRET, checkout_form, first_orderable_wine, login, make_app, session_for, visitor
from tests.integration.test_isolation import OTHER, OWN, _an_invoiced_order_at, _estate_ids, _object_ids
from tests.integration.test_isolation import _occasions_at  # noqa: I001 — issue 10

EXAMPLES_PER_ROUTE = 12
ROLES = {
    "anonymous": None,
    "customer": "client@chai.example",
    "pro": "caviste@chai.example",
    "staff": "vigneron@vernette.example",  # staff of OWN only
    "operator": "operateur@chai.example",
}
#: the back office is mostly 404 to the others: its own staff gets more of its examples
ADMIN_ROLES = ["staff", "staff", "staff", "operator", "operator", "customer", "pro", "anonymous"]
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = [
    SCRIPT, IMG, "javascript:alert(1)", "<svg onload=alert(1)>", "{{7*7}}", "${7*7}", "{% raw %}",
    "' OR '1'='1", "1; DROP TABLE wine; --", "' UNION SELECT password_hash FROM \"user\" --", "%", "_%_", "\\",
    "../../etc/passwd", "\x00", "a\x00b", "\r\nSet-Cookie: x=1", "NaN", "-NaN", "Infinity", "-inf", "-1", "0", "-0",
    "1e309", "1e-400", "99999999999999999999", "-99999999999999999999", "9223372036854775808", "2147483648",
    "0x10", " 7 ", "1,5", "1.5", "1 000", "12,345,6", "²", "١٢٣", "𝟙𝟚", "Ⅻ", "true", "on", "null", "[]",
    "{}",
    "2031-13-45", "0000-00-00", "9999-12-31T23:59:59", "-2026-01-01", "é" * 300, "\u202etxt.exe", "\ufeff", "",
]
#: names that mass assignment or a careless view might honour
SUSPICIOUS_NAMES = ["id", "estate_id", "estate", "estate_slug", "user_id", "role", "is_platform_admin",
                    "is_active_account", "pro_status", "session_version", "price_list_id", "wine_id", "customer_id",
                    "order_id", "invoice_id", "promotion_id", "status", "to", "amount", "amount_cents", "quantity",
                    "stock", "next", "csrf_token", "_method"]
FILE_NAMES = ["logo.png", "../../evil.png", "x.svg", "page.html", "é v i l.php.jpg", "", "a" * 300 + ".png"]
FILE_BODIES = [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
               b"<html><script>alert(1)</script></html>", b"GIF89a<script>alert(1)</script>", b"email\n<script>\n",
               "nom;email\nÉ;x@y\n".encode("latin-1"), b"\xff\xfe\x00\x00" * 100]
NEXT_URLS = ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/compte/"]
TARGETS = ["checkout-summary", "cart", "wine-row", "body", "<script>"]


# ----------------------------------------------------------------- the forms


@dataclass
class Form:
    """A POST form as a page renders it: its fields (name, value) in order, the
    alternative submit buttons, and its file inputs."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    """The POST forms of a page, and htmx widgets that post on their own: (action, Form)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, Form]] = []
        self._form: Form | None = None
        self._action = ""
        self._select: list[Any] | None = None  # [name, first value, selected value]
        self._textarea: list[Any] | None = None  # [name, text parts]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v if v is not None else "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "form":
            posts = a.get("hx-post") or a.get("method", "get").lower() == "post"
            self._form = Form() if posts else None
            self._action = a.get("hx-post") or a.get("action", "")
            return
        if tag != "form" and a.get("hx-post") and self._form is None:
            self.found.append((a["hx-post"], Form(fields=[(name, a.get("value", ""))] if name else [])))
        form = self._form
        if form is None:
            return
        kind = a.get("type", "text").lower()
        if tag == "input" and name:
            if kind == "file":
                form.files.append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields.append((name, a.get("value", "on")))
            elif kind in ("submit", "image", "button", "reset"):
                form.buttons.append((name, a.get("value", "")))
            else:
                form.fields.append((name, a.get("value", "")))
        elif tag == "button" and name:
            form.buttons.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = [name, None, None]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select[1] is None:
                self._select[1] = value
            if "selected" in a:
                self._select[2] = value
        elif tag == "textarea" and name:
            self._textarea = [name, []]

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            name, first, chosen = self._select
            self._form.fields.append((name, chosen if chosen is not None else first or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], "".join(self._textarea[1])))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.found.append((self._action, self._form))
            self._form = None


# ------------------------------------------------------------- the estates


def _own_objects(app: Flask) -> None:
    """La Vernette gets, like Rozel (test_isolation), an invoiced order, a customer
    import waiting and a referral code, so that every URL argument has an object."""
    from models import CustomerImport

    wine_id, _, _ = first_orderable_wine(app, OWN)
    buyer = visitor(app)
    buyer.post(f"/{OWN}/panier/ajouter/{wine_id}", data={"quantity": "6"})
    assert buyer.post(f"/{OWN}/commande", data=checkout_form(delivery="pickup", token="own",
                                                                email="hostile@client.example")).status_code == 302
    staff = visitor(app)
    login(staff, ROLES["staff"])
    with session_for(app) as session:
        order_id = _object_ids(session, _estate_ids(session)[OWN])["order_id"]
    staff.post(f"/gestion/{OWN}/commandes/{order_id}/statut", data={"to": "paid"})
    staff.post(f"/gestion/{OWN}/commandes/{order_id}/facturer")
    with session_for(app) as session:
        estate_id = _estate_ids(session)[OWN]
        session.add(CustomerImport(estate_id=estate_id, content="email\ny@example.com\n"))
        sponsor = session.scalars(select(EstateCustomer).where(EstateCustomer.estate_id == estate_id)).first()
        sponsor.referral_code = sponsor.referral_code or "VERNAMI"
        session.commit()
    _occasions_at(app, OWN)


@dataclass
class World:
    """What the walk knows: estates, their objects, the roles' browsers, the forms."""

    app: Flask
    estate_ids: dict[str, int]
    objects: dict[str, dict[str, Any]]  #: slug → URL argument → an object of that estate
    reset_token: str
    cookies: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)  #: role users' rows as they were
    forms: dict[str, list[Form]] = field(default_factory=dict)  #: endpoint → forms posting to it
    field_pool: list[str] = field(default_factory=list)  #: every form field name of the site
    #: issue 13: the operator's objects (a plan, La Vernette's invoice and lead, a pending pro)
    platform: dict[str, Any] = field(default_factory=dict)

    def arg_values(self, rule: Rule, arg: str, slug: str | None, role: str) -> list[Any]:
        """Candidate values of URL argument ``arg``: the URL's estate's object, the other
        estate's, none. :raise AssertionError: an argument this test was never taught."""
        own_slug = slug or OWN
        other_slug = OTHER if own_slug == OWN else OWN
        if rule.endpoint.startswith("operator.") and arg in ("plan_id", "invoice_id", "user_id", "lead_id"):
            # the operator's URLs: La Vernette's invoice and lead only (the operator may act on them),
            # a pending pro or a role account
            extra = [self.platform["customer_id"]] if arg == "user_id" else []
            return [self.platform[arg], *extra, 999_999]
        if arg in ("order_id", "promotion_id", "import_id", "invoice_id", "wine_id", "price_list_id", "customer_id",
                   "estate_fair_id", "pickup_point_id", "group_id", "request_id", "catalogue_id", "distribution_id",
                   "tasting_id", "rule_id", "reward_id", "staff_id", "tasting_token", "friend_id",
                   "closing_period_id", "news_id", "mailing_id"):
            return [self.objects[own_slug][arg], self.objects[other_slug][arg], 999_999]
        if arg == "follow_id":  # issue 14: the demo customer's follow of La Vernette (its own, for that role)
            return [self.objects[OWN][arg], 999_999]
        if arg == "reference":  # a group basket's payment (issue 11): none of these roles' own
            return ["GRP-000001", "x"]
        if arg == "number":
            return [self.objects[own_slug]["number"], self.objects[other_slug]["number"], "VER-99999"]
        if arg == "code":
            return [self.objects[own_slug]["code"], self.objects[other_slug]["code"], "INCONNU"]
        if arg == "estate_id":  # a platform URL naming an estate: the operator may manage Rozel
            return [self.estate_ids[OWN]] if role == "operator" else [self.estate_ids[OWN], self.estate_ids[OTHER]]
        if arg == "token":
            return [self.reset_token, "x"]
        if arg == "kind":
            return ["facture", "bon-de-commande", "avoir", "x"]
        raise AssertionError(f"teach this test what the argument {arg!r} of {rule.rule} ({rule.endpoint}) names")

    def slugs(self, rule: Rule, role: str) -> list[str | None]:
        if "estate_slug" not in rule.arguments:
            return [None]
        if rule.endpoint.startswith("admin.") and role != "operator":
            return [OWN, OTHER]
        return [OWN]  # Rozel's shop is public, and the operator manages Rozel: both may change it

    def browser(self, role: str) -> FlaskClient:
        client = self.app.test_client()
        for key, value, domain, path in self.cookies[role]:
            client.set_cookie(key, value, domain=domain, path=path)
        return client


def _cookies(client: FlaskClient) -> list[tuple[str, str, str, str]]:
    return [(c.key, c.value, c.domain, c.path) for c in client._cookies.values()]  # noqa: SLF001 — no public iterator


def _post_rules(app: Flask) -> list[Rule]:
    return sorted((rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and rule.endpoint != "static"),
                  key=lambda rule: rule.endpoint)


def _crawl(world: World) -> None:
    """GET every page as every role and collect the POST forms they render, by the
    endpoint they post to."""
    app = world.app
    adapter = app.url_map.bind("localhost")
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for role in ROLES:
        client = world.browser(role)
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in ("static", "site.upload", "site.mangopay_hook",
                                                                "shop.payment_return", "site.language"):
                continue
            if re.search(r"\.(pdf|csv|json)$", rule.rule):
                continue
            values: dict[str, Any] = {}
            try:
                for arg in rule.arguments:
                    values[arg] = OWN if arg == "estate_slug" else world.arg_values(rule, arg, OWN, role)[0]
            except AssertionError:
                continue  # a GET page whose arguments this test does not know: no forms from it
            page = client.get(adapter.build(rule.endpoint, values))
            if page.status_code != 200 or page.mimetype != "text/html":
                continue
            parser = _FormParser()
            parser.feed(page.get_data(as_text=True))
            for action, form in parser.found:
                path = urlsplit(action).path or adapter.build(rule.endpoint, values)
                try:
                    endpoint, _ = adapter.match(path, method="POST")
                except (HTTPException, RequestRedirect):
                    continue
                key = (endpoint, tuple(name for name, _ in form.fields + form.buttons) + tuple(form.files))
                world.field_pool.extend(name for name, _ in form.fields + form.buttons)
                world.field_pool.extend(form.files)
                if key not in seen:
                    seen.add(key)
                    world.forms.setdefault(endpoint, []).append(form)
    world.field_pool = sorted(set(world.field_pool) | _wtforms_field_names())


def _wtforms_field_names() -> set[str]:
    """Every field name of every form class, rendered on some page or not."""
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    names: set[str] = set()
    classes: list[type] = [FlaskForm]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        names |= {name for name, value in inspect.getmembers(cls) if isinstance(value, UnboundField)}
    return names


def _platform_objects(app: Flask) -> dict[str, Any]:
    """Issue 13: a plan, La Vernette subscribed last quarter and its invoice, a lead it
    sent, a professional waiting for verification."""
    from models import FriendLead, utcnow
    from services import subscriptions
    from services.fairs import paris_date

    with session_for(app) as session:
        estate_id = _estate_ids(session)[OWN]
        estate = session.get(Estate, estate_id)
        plan = subscriptions.save_plan(session, "Essentiel", 3900)
        start, _ = subscriptions.previous_quarter(paris_date(utcnow()))
        subscriptions.subscribe(session, estate, plan_id=plan.id, starts_on=start,
                                billing_email="compta@vernette.example", payment_mode="transfer")
        (invoice,) = subscriptions.bill_quarter(session, utcnow())
        pro = accounts.register_user(session, email="attente@cave.example", password="x" * 16,
                                     siret="73282932000074", company_name="Cave en attente")
        lead = FriendLead(estate_id=estate_id, name="Jean Voisin", email="jean@voisin.example",
                          estate_name="Domaine Voisin")
        session.add(lead)
        session.commit()
        customer_id = session.scalars(select(User.id).where(User.email == ROLES["customer"])).one()
        return {"plan_id": plan.id, "invoice_id": invoice.id, "user_id": pro.id, "lead_id": lead.id,
                "customer_id": customer_id}


def _build_world(app: Flask) -> World:
    _an_invoiced_order_at(app, OTHER)
    _own_objects(app)
    with session_for(app) as session:
        estate_ids = _estate_ids(session)
        objects = {slug: _object_ids(session, estate_ids[slug]) for slug in (OWN, OTHER)}
        customer = session.scalars(select(User).where(User.email == ROLES["customer"])).one()
        token = accounts.make_reset_token(TEST_SECRET, customer)
    for slug, found in objects.items():
        missing = [arg for arg, value in found.items() if value is None]
        assert not missing, f"{slug} has no object for {missing}"
    world = World(app, estate_ids, objects, token, platform=_platform_objects(app))
    wine_id, _, _ = first_orderable_wine(app, OWN)
    for role, email in ROLES.items():
        client = visitor(app)
        if email is not None:
            login(client, email)
        # A cart at La Vernette, so that the cart's and the checkout's forms show.
        assert client.post(f"/{OWN}/panier/ajouter/{wine_id}", data={"quantity": "6"}).status_code == 302
        world.cookies[role] = _cookies(client)
    world.accounts = _account_rows(app)
    _crawl(world)
    return world


# ------------------------------------------------------------ the checks


def _account_rows(app: Flask) -> dict[int, dict[str, Any]]:
    with session_for(app) as session:
        rows = session.execute(select(User.__table__).where(User.email.in_([e for e in ROLES.values() if e]))).all()
        return {row.id: dict(row._mapping) for row in rows}


def _put_accounts_back(world: World) -> None:
    """A hostile example may log a role out everywhere, change its password or start
    its two-factor enrolment: put the role accounts back as they were."""
    now = _account_rows(world.app)
    changed = {user_id: row for user_id, row in world.accounts.items() if now.get(user_id) != row}
    if changed:
        with session_for(world.app) as session:
            for user_id, row in changed.items():
                session.execute(update(User.__table__).where(User.__table__.c.id == user_id).values(**row))
            session.commit()


def _estate_owned(table: Table) -> bool:
    return "estate_id" in table.c and table.name != "outbox_message"  # mail is not the estate's data


def _digest(app: Flask, estate_id: int) -> dict[tuple[str, tuple[Any, ...]], str]:
    """A digest of each of the estate's rows, by (table, primary key): its estate row,
    every estate-owned row, and the rows of link tables that point at one of them."""
    digests = {}
    with session_for(app) as session:
        for table in db.metadata.sorted_tables:
            if table.name == "estate":
                condition = table.c.id == estate_id
            elif _estate_owned(table):
                condition = table.c.estate_id == estate_id
            else:
                links = [fk.parent.in_(select(fk.column).where(fk.column.table.c.estate_id == estate_id))
                         for fk in table.foreign_keys if _estate_owned(fk.column.table)]
                if not links:
                    continue
                condition = or_(*links)
            key = [column.name for column in table.primary_key.columns]
            for row in session.execute(select(table).where(condition)).mappings():
                digests[(table.name, tuple(row[name] for name in key))] = hashlib.sha256(
                    repr(tuple(row.values())).encode()).hexdigest()
    return digests


def _rows_of(app: Flask, estate_id: int, email: str) -> set[tuple[str, tuple[Any, ...]]]:
    """The estate's rows that are a customer's own (by user id or email): their entry
    in the estate's customer file, their cart …, which their account pages may change."""
    found = set()
    with session_for(app) as session:
        user_id = session.scalars(select(User.id).where(User.email == email)).one()
        for table in db.metadata.sorted_tables:
            mine = [table.c[name] == value for name, value in (("user_id", user_id), ("email", email))
                    if name in table.c]
            if not _estate_owned(table) or not mine:
                continue
            key = list(table.primary_key.columns)
            for row in session.execute(select(*key).where(table.c.estate_id == estate_id, or_(*mine))):
                found.add((table.name, tuple(row)))
    return found


def _cross_estate_links(app: Flask) -> dict[str, int]:
    """For every foreign key between estate-owned tables (and every pair of them in a
    link table): how many rows point at another estate's row."""
    counts = {}
    with session_for(app) as session:
        for table in db.metadata.sorted_tables:
            owned = [fk for fk in table.foreign_keys if _estate_owned(fk.column.table)]
            if _estate_owned(table):
                for fk in owned:
                    target = fk.column.table.alias()
                    query = (select(func.count()).select_from(table)
                             .join(target, fk.parent == target.c[fk.column.name])
                             .where(table.c.estate_id != target.c.estate_id))
                    counts[f"{table.name}.{fk.parent.name}"] = session.scalar(query)
            else:
                for first, second in zip(owned, owned[1:]):
                    a, b = first.column.table.alias(), second.column.table.alias()
                    query = (select(func.count()).select_from(table)
                             .join(a, first.parent == a.c[first.column.name])
                             .join(b, second.parent == b.c[second.column.name])
                             .where(a.c.estate_id != b.c.estate_id))
                    counts[f"{table.name}.{first.parent.name}~{second.parent.name}"] = session.scalar(query)
    return counts


def _echoes(body: str, sent: list[str]) -> list[str]:
    lowered = body.lower()
    return [payload for payload in (SCRIPT, IMG)
            if any(payload in value for value in sent) and payload.lower() in lowered]


# ------------------------------------------------------------ strategies


def _values(world: World) -> st.SearchStrategy[str]:
    ids = sorted({str(v) for objects in world.objects.values() for v in objects.values() if v is not None}
                 | {str(v) for v in world.estate_ids.values()})
    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
    return st.one_of(
        st.sampled_from(PAYLOADS),
        st.sampled_from(ids),
        st.integers(-(2**70), 2**70).map(str),
        st.integers(-1000, 1000).map(str),
        st.floats().map(repr),
        text,
        st.text(st.characters(max_codepoint=0x1F) | st.sampled_from("\x7f\u200b\u202e\ufeff\u2028"), min_size=1,
                max_size=8),
        st.builds(lambda s, n: s * n, st.sampled_from(["x", "é", "<b>", "9", " ", "'"]), st.integers(256, 20_000)),
        st.builds(lambda before, payload, after: before + payload + after, text,
                  st.sampled_from([SCRIPT, IMG, "\x00", "\r\n", "'", "%"]), text),
    )


def _names(world: World) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(SUSPICIOUS_NAMES), st.sampled_from(world.field_pool or ["x"]),
                     st.text("abcdefghijklmnopqrstuvwxyz_[]0123456789.-", min_size=1, max_size=24))


def _draw_form(data: st.DataObject, world: World, endpoint: str) -> tuple[MultiDict, list[str]]:
    """The route's real form (when a page renders one) with hostile changes; the
    values sent, for the echo check."""
    values, names = _values(world), _names(world)
    forms = world.forms.get(endpoint, [])
    form = data.draw(st.sampled_from(forms), label="form") if forms else Form()
    fields = list(form.fields)
    if form.buttons:
        fields.append(data.draw(st.sampled_from(form.buttons), label="button"))
    if fields:
        hostile = data.draw(st.sets(st.sampled_from(range(len(fields))), max_size=len(fields)), label="replaced")
        dropped = data.draw(st.sets(st.sampled_from(range(len(fields))), max_size=2), label="dropped")
        fields = [(name, data.draw(values, label=name) if i in hostile else value)
                  for i, (name, value) in enumerate(fields) if i not in dropped or i in hostile]
    extra = data.draw(st.lists(st.tuples(names, st.lists(values, min_size=1, max_size=3)), max_size=3), label="extra")
    for name, many in extra:
        fields.extend((name, value) for value in many)
    sent = [value for _, value in fields]
    form_data = MultiDict(fields)
    for name in form.files:
        if data.draw(st.booleans(), label=f"file {name}"):
            body = data.draw(st.sampled_from(FILE_BODIES), label="file body")
            form_data.add(name, (io.BytesIO(body), data.draw(st.sampled_from(FILE_NAMES), label="file name")))
    return form_data, sent


# ------------------------------------------------------------------ the test


@pytest.fixture
def world(database) -> World:  # type: ignore[no-untyped-def]
    return _build_world(make_app(database, RATELIMIT_ENABLED=False))


def test_hostile_input_to_every_post_route_as_every_role(world: World):
    app = world.app
    adapter = app.url_map.bind("localhost")
    rules = _post_rules(app)
    for rule in rules:  # fail at once on a route this test cannot fill, before any example
        for arg in rule.arguments - {"estate_slug"}:
            world.arg_values(rule, arg, OWN, "staff")
    other = [_digest(app, world.estate_ids[OTHER])]  # as it should be now
    own_rows = {role: _rows_of(app, world.estate_ids[OTHER], ROLES[role]) for role in ("customer", "pro")}
    links_before = _cross_estate_links(app)
    assert not any(links_before.values()), links_before
    posted: set[str] = set()

    def hostile_posts_to(rule: Rule):  # type: ignore[no-untyped-def]
        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.large_base_example, HealthCheck.filter_too_much])
        @given(data=st.data())
        def hostile_post(data: st.DataObject) -> None:
            role = data.draw(st.sampled_from(ADMIN_ROLES if rule.endpoint.startswith("admin.") else list(ROLES)),
                             label="role")
            slug = data.draw(st.sampled_from(world.slugs(rule, role)), label="estate")
            values: dict[str, Any] = {"estate_slug": slug} if slug else {}
            for arg in sorted(rule.arguments - {"estate_slug"}):
                values[arg] = data.draw(st.sampled_from(world.arg_values(rule, arg, slug, role)), label=arg)
            if data.draw(st.booleans(), label="query"):
                values["next"] = data.draw(st.sampled_from(NEXT_URLS), label="next")
            url = adapter.build(rule.endpoint, values)
            form, sent = _draw_form(data, world, rule.endpoint)
            sent += [str(v) for v in values.values()]
            headers = data.draw(st.sampled_from([{}, {"HX-Request": "true"}]), label="headers")
            if headers and data.draw(st.booleans(), label="hx-target"):
                headers["HX-Target"] = data.draw(st.sampled_from(TARGETS), label="target")

            client = world.browser(role)
            response = client.post(url, data=form, headers=headers)
            where = f"{role} POST {url} ({rule.endpoint}) → {response.status_code}"
            posted.add(rule.endpoint)
            assert response.status_code < 500, where
            body = response.get_data().decode("utf-8", "replace")  # a download (a ZIP archive) is bytes
            assert not _echoes(body, sent), f"{where}: script echoed unescaped"
            location = response.headers.get("Location", "")
            target = urlsplit(location)
            assert target.netloc in ("", "localhost") and not location.startswith(("//", "/\\")), \
                f"{where}: redirected to {location}"
            if 300 <= response.status_code < 400 and location:
                page = client.get(location)
                assert page.status_code < 500, f"{where}, then GET {location} → {page.status_code}"
                assert not _echoes(page.get_data(as_text=True), sent), f"{where}, then GET {location}: script echoed"

            _put_accounts_back(world)
            after = _digest(app, world.estate_ids[OTHER])
            changed = {key for key in other[0].keys() | after.keys() if other[0].get(key) != after.get(key)}
            if role in own_rows and slug is None:  # their own account: their own rows at Rozel too
                changed -= own_rows[role]
            assert not changed, f"{where}: Domaine Rozel's rows changed: {sorted(changed)}"
            other[0] = after
            links = _cross_estate_links(app)
            assert links == links_before, f"{where}: rows now point at the other estate: " + str(
                {k: v for k, v in links.items() if v != links_before.get(k)})

        return hostile_post

    for rule in rules:
        hostile_posts_to(rule)()

    assert posted == {rule.endpoint for rule in rules}


def test_a_nul_character_anywhere_in_a_request_is_refused_on_every_database(app):
    """PostgreSQL text cannot hold U+0000 (psycopg raises DataError, a 500), SQLite
    stores it: found by the walk above, on the estate settings form."""
    staff = visitor(app)
    login(staff, ROLES["staff"])
    url = f"/gestion/{OWN}/domaine"
    (form,) = [form for action, form in _parse(staff.get(url).get_data(as_text=True)) if action in ("", url)]
    data = MultiDict(form.fields)
    data["name"] = "Domaine\x00de la Vernette"
    assert staff.post(url, data=data).status_code == 400
    assert staff.get(f"/gestion/{OWN}/vins?tarif=1%00").status_code == 400
    assert staff.get("/domaine-de-la-vernette%00/").status_code in (400, 404)
    assert staff.get(f"/gestion/{OWN}%00/vins").status_code in (400, 404)
    with session_for(app) as session:
        from models import Estate
        assert session.scalars(select(Estate.name).where(Estate.slug == OWN)).one() == "Domaine de la Vernette"


def test_an_id_beyond_the_database_integer_is_a_404_on_every_database(app):
    """PostgreSQL's INTEGER stops at 2³¹ − 1: a larger id sent to it is a DataError (a
    500). Every ``<int:…>`` of the URL map stops there (app._DatabaseId)."""
    staff = visitor(app)
    login(staff, ROLES["staff"])
    assert staff.get(f"/{OWN}/vin/99999999999999999999").status_code == 404
    assert staff.get(f"/{OWN}/vin/2147483648").status_code == 404
    assert staff.get(f"/gestion/{OWN}/commandes/2147483648").status_code == 404
    from werkzeug.routing import IntegerConverter
    converters = [c for rule in app.url_map.iter_rules() for c in rule._converters.values()
                  if isinstance(c, IntegerConverter)]
    assert converters and all(c.max == 2**31 - 1 for c in converters)


def _parse(html: str) -> list[tuple[str, Form]]:
    parser = _FormParser()
    parser.feed(html)
    return parser.found
