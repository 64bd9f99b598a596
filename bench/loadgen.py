"""The checkout load, from a process of its own: ``bench/run`` starts

    python -m bench.loadgen PLAN.json RESULT.json

PLAN says where the server is, how many connections (one thread and one keep-alive
``http.client`` connection each) and what to post. The load runs in rounds: every
connection gets its orders ready (untimed), all wait at a barrier, then all post them;
a round is timed from the go to the last answer.

* ``"chai"``: each virtual customer is a bench account of La Vernette, with a cookie
  jar and an address of its own. It passes the age gate and logs in once. Each round,
  untimed, it adds two wines with htmx (CSRF header), types the public code (the first
  time: the session keeps it) and opens the checkout page; timed, it posts the
  checkout form (cheque, home delivery) and expects the 302 to the new order's page.
  Round 0 is the warm-up, then ``rounds`` timed rounds.
* ``"bare"``: each order is one POST of plain fields to the bare route; ``warmup``
  orders per connection, then the timed round.

RESULT gets orders, seconds, orders/s, the requests made, the CPU this process used
while timed, and every unexpected answer (the run fails on any).
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
CHECKOUT_TOKEN = re.compile(r'name="checkout_token"[^>]*value="([^"]+)"')


class Unexpected(Exception):
    pass


class Browser:
    """One keep-alive connection with a cookie jar; reconnects when the server has
    closed an idle connection (gunicorn's keep-alive timeout)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}  #: sent with every request
        self.requests = 0

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, str]:
        body = urlencode(form) if form is not None else None
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Only an idle connection closed by the server: a checkout posted twice
                # is still one order (its token), and adds are not retried after a reply.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    raise
        self.requests += 1
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data.decode("utf-8", "replace")

    def expect(self, status: int, method: str, path: str, **kwargs) -> tuple[http.client.HTTPMessage, str]:  # type: ignore[no-untyped-def]
        got, headers, text = self.request(method, path, **kwargs)
        if got != status:
            raise Unexpected(f"{method} {path}: {got} instead of {status}: {text[:300]!r}")
        return headers, text


# ----------------------------------------------------------------------- Chai


@dataclass
class Customer:
    """A virtual customer: a browser of its own (cookie jar) behind an address of its own."""

    account: dict
    cookies: dict = field(default_factory=dict)
    csrf: str = ""
    typed_code: bool = False


def chai_log_in(browser: Browser, plan: dict, account: dict) -> Customer:
    """Pass the age gate and log in (once: a log-in hashes the password, 0.2 s).

    The load comes through a reverse proxy on loopback, as in production: its
    ``X-Forwarded-For`` names the customer's address, which Chai's abuse limits (per
    address) believe. The limits stay on and count every customer on their own.
    """
    slug = plan["slug"]
    browser.cookies = {}
    browser.headers = {"X-Forwarded-For": account["ip"]}
    _, page = browser.expect(200, "GET", "/compte/connexion")
    csrf = CSRF_INPUT.search(page).group(1)
    browser.expect(302, "POST", "/age", form={"csrf_token": csrf, "answer": "yes", "next": f"/{slug}/"})
    browser.expect(302, "POST", "/compte/connexion",
                   form={"csrf_token": csrf, "email": account["email"], "password": plan["password"]})
    _, page = browser.expect(200, "GET", f"/{slug}/")  # a new session after log-in: its CSRF token
    return Customer(account, browser.cookies, CSRF_HEADER.search(page).group(1))


def chai_fill(browser: Browser, plan: dict, customer: Customer) -> dict:
    """Fill the cart (two wines, htmx, CSRF header), type the code the first time, open
    the checkout page: the form to post."""
    slug, account = plan["slug"], customer.account
    browser.cookies = customer.cookies
    browser.headers = {"X-Forwarded-For": account["ip"]}
    htmx = {"HX-Request": "true", "X-CSRFToken": customer.csrf}
    for wine_id, quantity in account["wines"]:
        _, text = browser.expect(200, "POST", f"/{slug}/panier/ajouter/{wine_id}",
                                 form={"quantity": str(quantity)}, headers=htmx)
        if 'class="added"' not in text:
            raise Unexpected(f"add {wine_id}: not added: {text[:300]!r}")
    if not customer.typed_code:  # the session keeps it for the next orders
        _, text = browser.expect(200, "POST", f"/{slug}/panier/code", form={"code": plan["code"]}, headers=htmx)
        customer.typed_code = True
    _, page = browser.expect(200, "GET", f"/{slug}/commande")
    token = CHECKOUT_TOKEN.search(page)
    if token is None:
        raise Unexpected(f"no checkout form: {page[:300]!r}")
    if f"(code {plan['code']})" not in page:
        raise Unexpected(f"the checkout does not apply {plan['code']}")
    return {
        "csrf_token": CSRF_INPUT.search(page).group(1), "checkout_token": token.group(1),
        "first_name": account["first_name"], "last_name": account["last_name"], "phone": "06 12 34 56 78",
        "company": "", "street": "3 rue des Lilas", "postcode": "69007", "city": "Lyon", "country": "FR",
        "delivery": "home", "payment_mode": "cheque", "accept_conditions": "y", "adult": "y", "birth_date": "1980-05-17",
        "shipping_country": "FR",
    }


def chai_order(browser: Browser, plan: dict, customer: Customer, form: dict) -> None:
    browser.cookies = customer.cookies
    browser.headers = {"X-Forwarded-For": customer.account["ip"]}
    headers, _ = browser.expect(302, "POST", f"/{plan['slug']}/commande", form=form)
    if f"/{plan['slug']}/commande/" not in (headers.get("Location") or ""):
        raise Unexpected(f"checkout redirected to {headers.get('Location')!r}, not to an order")


# ----------------------------------------------------------------------- bare


def bare_order(browser: Browser, plan: dict, form: dict) -> None:
    headers, _ = browser.expect(302, "POST", "/commande", form=form)
    if "/commande/" not in (headers.get("Location") or ""):
        raise Unexpected(f"bare checkout redirected to {headers.get('Location')!r}")


# ----------------------------------------------------------------------- run


def run(plan: dict) -> dict:
    """Rounds: every connection gets its orders ready (untimed), all wait, then all post
    them (timed, from the go to the last answer). Chai: round 0 is the warm-up and each
    customer orders once per round; bare: one warm-up round of ``warmup`` orders per
    connection, then one timed round."""
    connections = plan["connections"]
    shares = [plan["jobs"][i::connections] for i in range(connections)]
    chai = plan["kind"] == "chai"
    rounds = plan["rounds"] + 1 if chai else 2
    sync = threading.Barrier(connections + 1)
    errors: list[str] = []
    counts = [[0] * connections for _ in range(rounds)]
    finished = [0.0] * connections
    requests = [0] * connections

    def worker(index: int) -> None:
        browser = Browser(plan["base"])
        try:
            customers = [chai_log_in(browser, plan, account) for account in shares[index]] if chai else []
            for number in range(rounds):
                if chai:
                    work = [(customer, chai_fill(browser, plan, customer)) for customer in customers]
                else:
                    cut = min(plan["warmup"], len(shares[index]))
                    work = [(None, form) for form in (shares[index][:cut] if number == 0 else shares[index][cut:])]
                sync.wait()  # ready
                sync.wait()  # go
                for customer, form in work:
                    if chai:
                        chai_order(browser, plan, customer, form)
                    else:
                        bare_order(browser, plan, form)
                    counts[number][index] += 1
                finished[index] = time.perf_counter()
                sync.wait()  # done
        except threading.BrokenBarrierError:
            pass
        except Exception as exc:  # noqa: BLE001 — reported, and the run fails
            errors.append(f"{type(exc).__name__}: {exc}")
            sync.abort()
        requests[index] = browser.requests

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    timed = cpu = 0.0
    try:
        for number in range(rounds):
            sync.wait()
            go, cpu_go = time.perf_counter(), time.process_time()
            sync.wait()
            sync.wait()
            if number > 0:
                timed += max(finished) - go
                cpu += time.process_time() - cpu_go
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join()
    orders = sum(sum(c) for c in counts[1:])
    return {"orders": orders, "seconds": timed, "rate": orders / timed if timed > 0 else 0.0,
            "cpu_share": cpu / timed if timed > 0 else 0.0,  # this process's CPU while timed (1.0: a core)
            "warmup_orders": sum(counts[0]), "rounds": rounds - 1,
            "elapsed": time.perf_counter() - started, "requests": sum(requests), "errors": errors}


def main() -> None:
    plan_path, result_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as handle:
        plan = json.load(handle)
    result = run(plan)
    with open(result_path, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
