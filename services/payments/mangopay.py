"""Mangopay adapter (REST API v2.01) built on the official SDK ``mangopaysdk``.

What the SDK does that shapes this module (mangopaysdk 3.51):

* **Global configuration.** ``mangopay.client_id``, ``mangopay.apikey``,
  ``mangopay.sandbox`` and ``mangopay.api_url`` are module globals, read by a *default
  handler* that is memoized the first time any resource is used without an explicit
  handler: after that, changing the globals changes nothing, and two configurations
  in one process would share whichever came first. This adapter never touches the
  globals: each provider owns an ``APIRequest`` handler (client id, key, URL, timeout)
  and passes it to every call (``resource.save(handler=…)``, ``Model.get(id,
  handler=…)``). The SDK's lazy relation accessors (``payin.author``…) would fall back
  to the default handler, so only plain ``*_id`` fields are read here.
* **Base URL.** ``APIRequest(sandbox=False, api_url=…)`` takes any URL; it must end
  with ``/v2.01/`` (the SDK appends ``oauth/token`` and ``{client_id}/…`` to it).
  :func:`api_url` accepts ``https://api.sandbox.mangopay.com``,
  ``https://api.mangopay.com`` or ``http://127.0.0.1:PORT/``, with or without
  ``/v2.01``.
* **OAuth.** Before its first call a handler POSTs ``/v2.01/oauth/token`` with HTTP
  Basic ``client_id:api_key`` and caches the bearer token until 30 s before
  ``expires_in``. The SDK's default cache is a class-level dict shared by the process
  (keyed by client id + URL + key, so providers did not clobber each other, but
  shared tokens); each provider gets its own cache (:class:`_TokenCache`), dropped
  and refetched once when Mangopay answers 401 (token revoked, sandbox restarted).
* **Idempotency.** ``save(idempotency_key=…)`` sends the ``Idempotency-Key`` header
  (16–36 letters, digits or dashes). Mangopay answers **409** to any repeat of a key
  within 24 h, whatever the first outcome, and keeps the first answer at ``GET
  /responses/{key}``. :meth:`MangopayProvider._post` turns that 409 into the first
  answer, so a retry after a timeout gets the pay-in that was created, never a second
  one. Pay-ins, payouts and transfers use the caller's key. The calls whose signatures carry no
  key derive one from everything they send (``ensure_payer``: email and names;
  estate owner: legal name and email; wallet: owner id and currency; bank account:
  owner, IBAN, BIC, name and address): an identical retry within 24 h returns the
  same Mangopay object, a corrected retry gets a new key. Caveat: if the first
  attempt with a derived key failed on Mangopay's side, identical retries fail too
  until the key expires (24 h after its first use).
* **Transport.** ``requests`` through one module-level ``requests.Session`` (a shared
  connection pool; Mangopay sets no cookies). Connection errors and timeouts become
  ``mangopay.exceptions.APIError`` without a status code; HTTP errors become
  ``APIError`` with ``code`` and the decoded JSON in ``content``. A 404 on a GET is
  *not* an error for the SDK: it raises ``<Model>.DoesNotExist``.
* **Logging.** The SDK logs every API error on the ``mangopay`` logger at ERROR with
  the request body (IBANs, names), and every request with its headers (bearer token)
  at DEBUG: keep that logger at WARNING or above in production logs you share.
* **Users.** The category-aware user classes are ``NaturalUserSca`` and
  ``LegalUserSca`` (``POST /sca/users/natural`` and ``/sca/users/legal``); the
  legacy ``/users/natural`` and ``/users/legal`` endpoints stopped working on
  15 Dec 2025. A PAYER needs only names and email. An OWNER (the estate) must, on
  the real API, also give its legal representative's names, birthday, nationality and
  residence, its headquarters address and company number, and complete an SCA
  enrolment (``PendingUserAction.RedirectUrl``). :meth:`ensure_estate_wallet` only
  knows a legal name and an email, so against the real API the estate's user should
  be onboarded beforehand and passed as ``existing_user_id``.
* **Transfers.** A group basket is paid into the PAYER's own wallet, then split by
  one ``Transfer`` per estate (``POST /transfers``), executed at once: SUCCEEDED, or
  FAILED with a result code. The SDK refuses to save a ``Transfer`` without
  ``CreditedUserId``, hence :meth:`MangopayProvider.create_transfer`'s
  ``credited_user_id``. A PAYER → OWNER transfer needs no ``ScaContext``.

No network call happens at import or construction: the first token is fetched by the
first API call.
"""

from __future__ import annotations

import hashlib
import re
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import requests
from mangopay.api import APIRequest
from mangopay.auth import StorageStrategyBase
from mangopay.base import BaseApiModel, DoesNotExist
from mangopay.exceptions import APIError
from mangopay.query import SelectQuery
from mangopay.resources import (
    BankAccount,
    BankWirePayIn,
    BankWirePayOut,
    CardWebPayIn,
    LegalUserSca,
    NaturalUserSca,
    Wallet,
)
from mangopay.resources import Transfer as MangopayTransfer
from mangopay.resources import PayIn as MangopayPayIn
from mangopay.utils import Address, LegalRepresentative, Money

from services.payments import FAILED, SUCCEEDED, PayIn, PaymentError, PayOut, Transfer

SANDBOX_BASE_URL = "https://api.sandbox.mangopay.com"
PRODUCTION_BASE_URL = "https://api.mangopay.com"
CURRENCY = "EUR"

_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9-]{16,36}")

T = TypeVar("T")
M = TypeVar("M", bound=BaseApiModel)


def api_url(base_url: str) -> str:
    """The SDK's ``api_url`` for a base URL: ``https://api.mangopay.com`` →
    ``https://api.mangopay.com/v2.01/``."""
    url = base_url.strip().rstrip("/")
    if not re.match(r"https?://[^/]+", url):
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    if not url.lower().endswith("/v2.01"):
        url += "/v2.01"
    return url + "/"


def derived_key(kind: str, *parts: str) -> str:
    """A deterministic idempotency key (36 characters) for a request whose caller has
    no stored key: same parts, same key."""
    digest = hashlib.sha256("\x1f".join((kind, *parts)).encode("utf-8")).hexdigest()
    return f"{kind}-{digest}"[:36]


def _check_key(key: str) -> str:
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ValueError("a Mangopay idempotency key has 16 to 36 letters, digits or dashes")
    return key


def _check_amount(amount_cents: int) -> int:
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise ValueError(f"amount_cents must be a positive int, not {amount_cents!r}")
    return amount_cents


@contextmanager
def _sdk_warnings() -> Iterator[None]:
    # mangopay.fields turns the API's Unix timestamps (CreationDate, ExecutionDate…)
    # into naive UTC datetimes with datetime.utcfromtimestamp(), deprecated since
    # Python 3.12: every response would warn, and the test suite turns warnings into
    # errors. The SDK's result is right, so only that warning, raised from the SDK's
    # own modules, is ignored. catch_warnings() swaps the process-wide filter list and
    # is not thread-safe before Python 3.14: two overlapping calls can leave this one
    # narrow filter installed, which hides nothing else.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"datetime\.datetime\.utcfromtimestamp\(\) is deprecated",
            category=DeprecationWarning,
            module=r"mangopay(\.|$)",
        )
        yield


def _describe(exc: Exception) -> str:
    if isinstance(exc, APIError) and isinstance(exc.content, dict):
        content = exc.content
        parts = [str(exc.code or ""), str(content.get("Type") or ""), str(content.get("Message") or "")]
        if content.get("errors"):
            parts.append(str(content["errors"]))
        return " ".join(part for part in parts if part)
    if isinstance(exc, APIError) and exc.code:
        return f"{exc.code} {str(exc)[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _cents(money: Any) -> int | None:
    if isinstance(money, Money) and money.amount is not None:
        return int(money.amount)
    return None


class _TokenCache(StorageStrategyBase):
    """This provider's OAuth token (the SDK's default cache is process-wide)."""

    def __init__(self) -> None:
        self._tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, env_key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._tokens.get(env_key)

    def store(self, token: dict[str, Any], env_key: str) -> None:
        with self._lock:
            self._tokens[env_key] = token

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


class MangopayProvider:
    """:class:`services.payments.PaymentProvider` for Mangopay. Thread-safe: one
    instance can serve every request of the process."""

    name = "mangopay"

    def __init__(self, client_id: str, api_key: str, base_url: str, timeout: float = 20) -> None:
        if not client_id or not api_key:
            # the SDK would silently fall back on the mangopay.client_id/apikey globals
            raise ValueError("Mangopay client id and API key are required")
        self.client_id = client_id
        self.api_url = api_url(base_url)
        self._tokens = _TokenCache()
        self._handler = APIRequest(
            client_id=client_id,
            apikey=api_key,
            api_url=self.api_url,
            sandbox=False,  # True would make the SDK use mangopay.api_sandbox_url
            timeout=timeout,
            storage_strategy=self._tokens,
        )

    def __repr__(self) -> str:
        return f"<MangopayProvider {self.client_id} at {self.api_url}>"

    # ------------------------------------------------------------------ users

    def ensure_payer(
        self, *, email: str, first_name: str, last_name: str, existing_id: str | None
    ) -> str:
        if existing_id:
            return existing_id
        user = NaturalUserSca(
            first_name=first_name,
            last_name=last_name,
            email=email,
            user_category="PAYER",
            # a PAYER may leave it false; true records that the customer accepted the
            # shop's terms, which include Mangopay's
            terms_and_conditions_accepted=True,
        )
        key = derived_key("payer", email.strip().lower(), first_name, last_name)
        return self._post("create payer", user, key).id

    def ensure_estate_wallet(
        self,
        *,
        legal_name: str,
        email: str,
        existing_user_id: str | None,
        existing_wallet_id: str | None,
    ) -> tuple[str, str]:
        user_id = existing_user_id
        if not user_id:
            owner = LegalUserSca(
                name=legal_name,
                email=email,
                legal_person_type="BUSINESS",
                user_category="OWNER",
                terms_and_conditions_accepted=True,
                legal_representative=LegalRepresentative(email=email),
            )
            key = derived_key("estate", legal_name, email.strip().lower())
            user_id = self._post("create estate owner", owner, key).id
        if existing_wallet_id:
            return user_id, existing_wallet_id
        wallet = Wallet(
            owners_ids=[user_id],
            description=f"Chai — {legal_name}"[:255],
            currency=CURRENCY,
        )
        return user_id, self._post("create wallet", wallet, derived_key("wallet", user_id, CURRENCY)).id

    def ensure_payer_wallet(self, *, payer_id: str, existing_wallet_id: str | None) -> str:
        if existing_wallet_id:
            return existing_wallet_id
        wallet = Wallet(owners_ids=[payer_id], description="Chai — client", currency=CURRENCY)
        return self._post("create payer wallet", wallet, derived_key("wallet", payer_id, CURRENCY)).id

    # ---------------------------------------------------------------- pay-ins

    def create_card_payin(
        self,
        *,
        payer_id: str,
        wallet_id: str,
        amount_cents: int,
        return_url: str,
        tag: str,
        idempotency_key: str,
        culture: str = "FR",
    ) -> PayIn:
        payin = CardWebPayIn(
            author_id=payer_id,
            credited_wallet_id=wallet_id,
            debited_funds=Money(_check_amount(amount_cents), CURRENCY),
            fees=Money(0, CURRENCY),
            return_url=return_url,
            card_type="CB_VISA_MASTERCARD",
            culture=culture,
            tag=tag,
        )
        return self._posted_payin("create card pay-in", payin, _check_key(idempotency_key))

    def create_bank_wire_payin(
        self, *, payer_id: str, wallet_id: str, amount_cents: int, tag: str, idempotency_key: str
    ) -> PayIn:
        payin = BankWirePayIn(
            author_id=payer_id,
            credited_wallet_id=wallet_id,
            declared_debited_funds=Money(_check_amount(amount_cents), CURRENCY),
            declared_fees=Money(0, CURRENCY),
            tag=tag,
        )
        return self._posted_payin("create bank wire pay-in", payin, _check_key(idempotency_key))

    def get_payin(self, payin_id: str) -> PayIn:
        with self._errors(f"get pay-in {payin_id}"):
            payin = self._sdk(lambda: MangopayPayIn.get(payin_id, handler=self._handler))
        return _payin(payin)

    def payin_by_idempotency_key(self, idempotency_key: str) -> PayIn | None:
        """The pay-in created by the first POST that carried this key, as it is now.

        Mangopay keeps its first answer to a key for 24 h (``GET /responses/{key}``).
        None when it holds no pay-in under the key: the request never reached it, or
        it refused it (nothing was created, nothing charged), or the key is older.

        :raise PaymentError: Mangopay could not be reached.
        """
        key = _check_key(idempotency_key)
        what = f"response to idempotency key {key}"
        with self._errors(what):
            response, first = self._sdk(lambda: self._handler.request("GET", f"/responses/{key}"))
        if getattr(response, "status_code", 200) == 404 or not isinstance(first, dict):
            return None
        body = first.get("Resource") if isinstance(first.get("Resource"), dict) else {}
        if not str(first.get("StatusCode") or "").startswith("2") or not body.get("Id"):
            return None
        return self.get_payin(str(body["Id"]))

    def _posted_payin(self, what: str, payin: M, key: str) -> PayIn:
        created, replayed = self._post_once(what, payin, key)
        # a replay is the answer of the first request: read the pay-in as it is now
        return self.get_payin(created.id) if replayed else _payin(created)

    # ---------------------------------------------------------------- payouts

    def register_bank_account(
        self,
        *,
        owner_id: str,
        owner_name: str,
        iban: str,
        bic: str,
        address_line: str,
        city: str,
        postcode: str,
        country: str,
    ) -> str:
        iban = re.sub(r"\s+", "", iban).upper()
        bic = bic.strip().upper()
        account = BankAccount(
            user_id=owner_id,
            type="IBAN",
            owner_name=owner_name,
            owner_address=Address(
                address_line_1=address_line, city=city, postal_code=postcode, country=country
            ),
            iban=iban,
            bic=bic or None,
        )
        key = derived_key(
            "iban", owner_id, iban, bic, owner_name, address_line, city, postcode, country
        )
        return self._post("register bank account", account, key).id

    def create_payout(
        self,
        *,
        owner_id: str,
        wallet_id: str,
        bank_account_id: str,
        amount_cents: int,
        reference: str,
        idempotency_key: str,
    ) -> PayOut:
        """Mangopay answers CREATED, or FAILED at once when it refuses (insufficient
        balance, author not the wallet or account owner…), which raises
        :class:`PaymentError`. A CREATED payout settles later: :meth:`get_payout`
        (or the PAYOUT_NORMAL_SUCCEEDED/FAILED hook) tells when."""
        payout = BankWirePayOut(
            author_id=owner_id,
            debited_wallet_id=wallet_id,
            bank_account_id=bank_account_id,
            debited_funds=Money(_check_amount(amount_cents), CURRENCY),
            fees=Money(0, CURRENCY),
            bank_wire_ref=reference,
            tag=reference,
        )
        return self._post_refusable("payout", payout, idempotency_key, self.get_payout, _payout)

    def get_payout(self, payout_id: str) -> PayOut:
        with self._errors(f"get payout {payout_id}"):
            payout = self._sdk(lambda: BankWirePayOut.get(payout_id, handler=self._handler))
        return _payout(payout)

    # -------------------------------------------------------------- transfers

    def create_transfer(
        self,
        *,
        author_id: str,
        debited_wallet_id: str,
        credited_wallet_id: str,
        credited_user_id: str,
        amount_cents: int,
        tag: str,
        idempotency_key: str,
    ) -> Transfer:
        """Mangopay executes a transfer at once: SUCCEEDED, or FAILED (insufficient
        balance, author not the wallet owner…), which raises :class:`PaymentError`."""
        transfer = MangopayTransfer(
            author_id=author_id,
            credited_user_id=credited_user_id,
            debited_wallet_id=debited_wallet_id,
            credited_wallet_id=credited_wallet_id,
            debited_funds=Money(_check_amount(amount_cents), CURRENCY),
            fees=Money(0, CURRENCY),
            tag=tag,
        )
        return self._post_refusable("transfer", transfer, idempotency_key, self.get_transfer, _transfer)

    def get_transfer(self, transfer_id: str) -> Transfer:
        with self._errors(f"get transfer {transfer_id}"):
            transfer = self._sdk(lambda: MangopayTransfer.get(transfer_id, handler=self._handler))
        return _transfer(transfer)

    # -------------------------------------------------------------- plumbing

    def _post_refusable(self, kind: str, resource: M, key: str, fetch: Callable[[str], T],
                        convert: Callable[[M], T]) -> T:
        """POSTs a payout or a transfer, which Mangopay may answer FAILED at once: a
        replay is read again as it is now (``fetch``); a refusal raises.

        :raise PaymentError: refused (insufficient balance, author not the owner …) or
            Mangopay could not be reached.
        """
        created, replayed = self._post_once(f"create {kind}", resource, _check_key(key))
        result = fetch(created.id) if replayed else convert(created)
        if result.status == FAILED:  # type: ignore[attr-defined]
            raise PaymentError(
                f"Mangopay refused {kind} {created.id}: "
                f"{created.result_code or ''} {created.result_message or ''}".strip()
            )
        return result

    def _post(self, what: str, resource: M, key: str) -> M:
        return self._post_once(what, resource, key)[0]

    def _post_once(self, what: str, resource: M, key: str) -> tuple[M, bool]:
        """POSTs ``resource`` with ``key``; returns (resource as Mangopay answered,
        whether that answer is a replay of an earlier request with the same key).

        :raise PaymentError: Mangopay refused the request (now or the first time this
            key was used) or could not be reached.
        """
        with self._errors(what):
            try:
                self._sdk(lambda: resource.save(handler=self._handler, idempotency_key=key))
                return resource, False
            except APIError as exc:
                if not _is_idempotency_conflict(exc):
                    raise
            _, first = self._sdk(lambda: self._handler.request("GET", f"/responses/{key}"))
        first = first if isinstance(first, dict) else {}
        status = str(first.get("StatusCode") or "")
        body = first.get("Resource") if isinstance(first.get("Resource"), dict) else {}
        if not status.startswith("2") or not body.get("Id"):
            message = body.get("Message") or body.get("Type") or "no resource"
            raise PaymentError(
                f"Mangopay {what}: the first request with idempotency key {key} "
                f"failed ({status or 'unknown status'}: {message})"
            )
        model = type(resource)
        with _sdk_warnings():
            replayed = model(handler=self._handler, **SelectQuery(model).parse_result(body))
        return replayed, True

    def _sdk(self, call: Callable[[], T]) -> T:
        """Runs one SDK call; on 401 drops the cached token and tries once more (a 401
        means Mangopay did not process the request)."""
        with _sdk_warnings():
            try:
                return call()
            except APIError as exc:
                if exc.code != 401:
                    raise
            self._tokens.clear()
            return call()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except DoesNotExist as exc:
            raise PaymentError(f"Mangopay {what}: not found") from exc
        except APIError as exc:
            raise PaymentError(f"Mangopay {what}: {_describe(exc)}") from exc
        except requests.RequestException as exc:
            raise PaymentError(f"Mangopay {what}: {_describe(exc)}") from exc


def _is_idempotency_conflict(exc: APIError) -> bool:
    return (
        exc.code == 409
        and isinstance(exc.content, dict)
        and exc.content.get("Type") == "idempotent_creation_conflict"
    )


def _payin(payin: BaseApiModel) -> PayIn:
    status = getattr(payin, "status", None) or ""
    debited = _cents(getattr(payin, "debited_funds", None))
    declared = _cents(getattr(payin, "declared_debited_funds", None))
    # a bank wire is declared first; what arrived is in DebitedFunds once it succeeded
    amount = debited if (status == SUCCEEDED or declared is None) else declared
    bank = getattr(payin, "bank_account", None) if isinstance(payin, BankWirePayIn) else None
    bank = bank if isinstance(bank, dict) else {}
    return PayIn(
        id=str(payin.id),
        status=status,
        amount_cents=amount or 0,
        redirect_url=getattr(payin, "redirect_url", None) or None,
        wire_reference=getattr(payin, "wire_reference", None) or None,
        bank_iban=bank.get("IBAN") or None,
        bank_bic=bank.get("BIC") or None,
        bank_owner=bank.get("OwnerName") or None,
        result_message=getattr(payin, "result_message", None) or "",
        tag=getattr(payin, "tag", None) or "",
    )


def _payout(payout: BankWirePayOut) -> PayOut:
    return PayOut(
        id=str(payout.id),
        status=payout.status or "",
        amount_cents=_cents(payout.debited_funds) or 0,
    )


def _transfer(transfer: MangopayTransfer) -> Transfer:
    return Transfer(
        id=str(transfer.id),
        status=transfer.status or "",
        amount_cents=_cents(transfer.debited_funds) or 0,
        result_message=transfer.result_message or "",
    )
