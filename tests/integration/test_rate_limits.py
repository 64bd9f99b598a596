"""Abuse limits: log-in, sign-up, password reset, promo codes and checkout, counted per
address, per account and per cart, in memory or in the database shared by workers.

The suite's apps run with RATELIMIT_ENABLED=False (tests/conftest.py); these turn it on.
No test waits for a window to end: the database storage's windows are closed by
rewriting ``expires_at``.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import OutboxMessage, RateLimitCounter, utcnow
from services import jobs, ratelimit
from tests.conftest import make_app, session_for, text_of, visitor

STORAGES = ["memory://", "chai-db://"]
LOGIN_MESSAGE = str(ratelimit.LOGIN_MESSAGE)
SLUG = "domaine-de-la-vernette"


def limited_app(database, storage: str = "memory://", **config):  # type: ignore[no-untyped-def]
    return make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=storage, **config)


def log_in(client, email: str, password: str = "pas-le-bon-mot-de-passe", ip: str = "203.0.113.10",  # type: ignore[no-untyped-def]
           **headers: str):
    return client.post("/compte/connexion", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers)



# ------------------------------------------------------------------ log-in


@pytest.mark.parametrize("storage", STORAGES)
def test_the_eleventh_login_attempt_in_a_minute_from_one_address_gets_the_french_limit_message(database, storage):
    client = visitor(limited_app(database, storage))
    for i in range(10):
        assert log_in(client, f"inconnu{i}@example.com").status_code == 422
    refused = log_in(client, "inconnu10@example.com")
    assert refused.status_code == 429
    page = text_of(refused)
    assert LOGIN_MESSAGE in page
    assert "<footer" in page and "Se connecter" in page  # the site's layout, not a bare error
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("storage", STORAGES)
def test_another_address_is_not_limited_by_the_first_ones_attempts(database, storage):
    client = visitor(limited_app(database, storage))
    for i in range(11):
        log_in(client, f"inconnu{i}@example.com", ip="203.0.113.10")
    assert log_in(client, "inconnu0@example.com", ip="203.0.113.10").status_code == 429
    assert log_in(client, "inconnu0@example.com", ip="198.51.100.20").status_code == 422
    assert log_in(client, "client@chai.example", "chai-demo-2026", ip="198.51.100.20").status_code == 302


@pytest.mark.parametrize("storage", STORAGES)
def test_one_account_is_limited_across_addresses_even_with_the_right_password(database, storage):
    client = visitor(limited_app(database, storage))
    for i in range(10):
        assert log_in(client, "client@chai.example", ip=f"198.51.100.{i + 1}").status_code == 422
    refused = log_in(client, "Client@Chai.example ", "chai-demo-2026", ip="198.51.100.99")
    assert refused.status_code == 429 and LOGIN_MESSAGE in text_of(refused)
    assert log_in(client, "caviste@chai.example", "chai-demo-2026", ip="198.51.100.99").status_code == 302


def test_the_limit_message_is_an_htmx_fragment_for_htmx_requests(database):
    client = visitor(limited_app(database))
    for i in range(10):
        log_in(client, f"inconnu{i}@example.com")
    refused = log_in(client, "inconnu@example.com", **{"HX-Request": "true"})
    assert refused.status_code == 429
    body = text_of(refused)
    assert body.startswith('<p class="flash flash-error" role="alert">') and LOGIN_MESSAGE in body
    assert "<footer" not in body and refused.headers["HX-Reswap"] == "beforebegin"


def test_showing_the_login_page_is_not_an_attempt(database):
    client = visitor(limited_app(database))
    for _ in range(15):
        assert client.get("/compte/connexion", environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 200
    assert log_in(client, "inconnu@example.com").status_code == 422


def test_limits_are_off_when_disabled_as_in_the_rest_of_the_suite(app, client):
    for i in range(15):
        assert log_in(client, f"inconnu{i}@example.com").status_code == 422


def test_second_factor_codes_for_one_account_are_limited_across_sessions_and_addresses(database):
    from services.security import PENDING_LOGIN

    app = limited_app(database)
    with session_for(app) as session:
        from models import User

        user_id = session.scalars(select(User.id).where(User.email == "vigneron@vernette.example")).one()
    for i in range(5):
        attacker = visitor(app)  # a fresh session each time, the same account
        with attacker.session_transaction() as sess:
            sess[PENDING_LOGIN] = {"uid": user_id, "v": 0, "remember": False, "exp": 2**40, "next": "/"}
        response = attacker.post("/compte/connexion/code", data={"code": f"{i:06d}"},
                                 environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"})
        assert response.status_code != 429
    attacker = visitor(app)
    with attacker.session_transaction() as sess:
        sess[PENDING_LOGIN] = {"uid": user_id, "v": 0, "remember": False, "exp": 2**40, "next": "/"}
    refused = attacker.post("/compte/connexion/code", data={"code": "123456"}, environ_base={"REMOTE_ADDR": "198.51.100.77"})
    assert refused.status_code == 429 and LOGIN_MESSAGE in text_of(refused)


# ------------------------------------------------------------------ client address behind a proxy


def test_behind_the_trusted_proxy_the_last_forwarded_hop_is_the_client(database):
    client = visitor(limited_app(database))
    proxy = "127.0.0.1"  # nginx on the same machine (FORWARDED_ALLOW_IPS default)
    for i in range(10):
        # The client wrote a different first hop each time: only nginx's last hop counts.
        assert log_in(client, f"inconnu{i}@example.com", ip=proxy,
                      **{"X-Forwarded-For": f"10.0.0.{i}, 198.51.100.7"}).status_code == 422
    assert log_in(client, "x@example.com", ip=proxy, **{"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert log_in(client, "x@example.com", ip=proxy, **{"X-Forwarded-For": "198.51.100.8"}).status_code == 422


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(database):
    client = visitor(limited_app(database))
    for i in range(10):
        assert log_in(client, f"inconnu{i}@example.com", ip="203.0.113.50",
                      **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code == 422
    assert log_in(client, "x@example.com", ip="203.0.113.50", **{"X-Forwarded-For": "198.51.100.200"}).status_code == 429


# ------------------------------------------------------------------ several workers: the database storage


def test_two_workers_on_the_database_storage_count_together(database):
    worker_a = visitor(limited_app(database, "chai-db://"))
    worker_b = visitor(limited_app(database, "chai-db://"))
    for i in range(5):
        assert log_in(worker_a, f"a{i}@example.com").status_code == 422
        assert log_in(worker_b, f"b{i}@example.com").status_code == 422
    assert log_in(worker_a, "a@example.com").status_code == 429
    assert log_in(worker_b, "b@example.com").status_code == 429
    with session_for(worker_a.application) as session:
        counters = session.scalars(select(RateLimitCounter).where(RateLimitCounter.key.like("%ip:203.0.113.10%"))).all()
        assert [c.hits for c in counters] == [12]


def test_two_workers_with_memory_storage_each_count_alone(database):
    """Why several workers need chai-db:// or Redis (and proof each app has its own counters)."""
    worker_a = visitor(limited_app(database, "memory://"))
    worker_b = visitor(limited_app(database, "memory://"))
    for i in range(8):
        assert log_in(worker_a, f"a{i}@example.com").status_code == 422
        assert log_in(worker_b, f"b{i}@example.com").status_code == 422


def test_a_closed_window_starts_again_and_the_hourly_job_deletes_old_counters(database):
    app = limited_app(database, "chai-db://")
    client = visitor(app)
    for i in range(11):
        log_in(client, f"inconnu{i}@example.com")
    assert log_in(client, "x@example.com").status_code == 429
    with session_for(app) as session:  # the minute is over
        session.execute(update(RateLimitCounter).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert log_in(client, "x@example.com").status_code == 422
    with session_for(app) as session:
        counter = session.scalars(select(RateLimitCounter).where(RateLimitCounter.key.like("%ip:203.0.113.10%"))).one()
        assert counter.hits == 1 and counter.expires_at > utcnow()
        session.execute(update(RateLimitCounter).values(expires_at=utcnow() - timedelta(minutes=5)))
        session.commit()
    prune = next(job for job in jobs.JOBS if job.name == "prune-rate-limits")
    assert jobs.run_once(app, prune, utcnow().replace(microsecond=0)) is True
    with session_for(app) as session:
        assert session.scalars(select(RateLimitCounter)).all() == []


def test_concurrent_hits_on_the_database_storage_are_all_counted(database):
    app = limited_app(database, "chai-db://")
    storage = ratelimit.DatabaseStorage("chai-db://")
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def hammer() -> None:
        try:
            with app.app_context():
                for _ in range(25):
                    value = storage.incr("LIMITER/test/concurrency", 60)
                    with lock:
                        results.append(value)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(results) == list(range(1, 201))  # every hit saw its own count: none lost, none twice
    with app.app_context():
        assert storage.get("LIMITER/test/concurrency") == 200
        assert storage.get_expiry("LIMITER/test/concurrency") > utcnow().timestamp()
        storage.clear("LIMITER/test/concurrency")
        assert storage.get("LIMITER/test/concurrency") == 0


# ------------------------------------------------------------------ sign-up, password reset


def test_sign_ups_from_one_address_share_one_limit_across_both_forms(database):
    client = visitor(limited_app(database))
    for i in range(10):
        path = "/compte/inscription" if i % 2 else "/compte/inscription-pro"
        response = client.post(path, data={"email": f"nouveau{i}@example.com"}, environ_base={"REMOTE_ADDR": "203.0.113.10"})
        assert response.status_code == 422  # incomplete form: refused, but counted
    refused = client.post("/compte/inscription", data={"email": "autre@example.com"},
                          environ_base={"REMOTE_ADDR": "203.0.113.10"})
    assert refused.status_code == 429 and str(ratelimit.SIGNUP_MESSAGE) in text_of(refused)


def test_reset_links_for_one_address_are_limited_so_nobody_is_mail_bombed(database):
    app = limited_app(database)
    client = visitor(app)
    with session_for(app) as session:
        before = len(session.scalars(select(OutboxMessage)).all())
    for i in range(3):
        response = client.post("/compte/mot-de-passe-oublie", data={"email": "client@chai.example"},
                               environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"})
        assert response.status_code == 302
    refused = client.post("/compte/mot-de-passe-oublie", data={"email": "client@chai.example"},
                          environ_base={"REMOTE_ADDR": "198.51.100.50"})
    assert refused.status_code == 429 and str(ratelimit.RESET_MESSAGE) in text_of(refused)
    with session_for(app) as session:
        assert len(session.scalars(select(OutboxMessage)).all()) == before + 3


# ------------------------------------------------------------------ promo codes, checkout


def _try_code(client, code: str, ip: str = "203.0.113.10", **headers: str):  # type: ignore[no-untyped-def]
    return client.post(f"/{SLUG}/panier/code", data={"code": code}, environ_base={"REMOTE_ADDR": ip}, headers=headers)


@pytest.mark.parametrize("storage", STORAGES)
def test_the_twenty_first_promo_code_in_an_hour_from_one_address_is_refused(database, storage):
    client = visitor(limited_app(database, storage))
    for i in range(20):
        assert _try_code(client, f"ESSAI{i}").status_code in (200, 302, 422)
    refused = _try_code(client, "#LAVERNETTE", **{"HX-Request": "true", "HX-Target": "cart-body"})
    assert refused.status_code == 429 and str(ratelimit.PROMO_CODE_MESSAGE) in text_of(refused)
    # Taking a code off the cart is not an attempt.
    assert client.post(f"/{SLUG}/panier/code", data={"remove": "ESSAI1"},
                       environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code in (200, 302)


def test_one_cart_is_limited_whatever_address_it_comes_from(database):
    app = limited_app(database)
    client = visitor(app)
    with client.session_transaction() as sess:
        sess["cart_token"] = "panier-de-test"
    for i in range(20):
        _try_code(client, f"ESSAI{i}", ip=f"198.51.100.{i + 1}")
    assert _try_code(client, "ESSAI", ip="198.51.100.99").status_code == 429
    other = visitor(app)
    assert _try_code(other, "ESSAI", ip="198.51.100.99").status_code != 429


def test_checkout_posts_have_a_generous_limit_and_summary_refreshes_are_free(database):
    client = visitor(limited_app(database))
    summary = {"HX-Request": "true", "HX-Target": "checkout-summary"}
    for _ in range(70):
        response = client.post(f"/{SLUG}/commande", headers=summary, environ_base={"REMOTE_ADDR": "203.0.113.10"})
        assert response.status_code != 429
    for _ in range(60):
        assert client.post(f"/{SLUG}/commande", environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code != 429
    assert client.post(f"/{SLUG}/commande", environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 429
