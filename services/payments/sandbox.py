"""A local stand-in for Mangopay's REST API v2.01, for the tests and the offline demo.

:class:`MangopaySandbox` is a real HTTP server (stdlib, one daemon thread) that the real
:class:`services.payments.mangopay.MangopayProvider` talks to through the official SDK.
It keeps its state in memory and speaks the subset of the API that Chai uses, with
Mangopay's JSON shapes and rules:

* ``POST /v2.01/oauth/token`` (HTTP Basic, any non-empty client id and key) gives a
  bearer token valid for that client id only; other API calls without a valid token
  get 401;
* ``POST /v2.01/{clientId}/sca/users/natural`` and ``…/sca/users/legal`` (the SDK's
  category-aware user classes; the legacy ``/users/natural`` endpoints are retired),
  ``GET …/users/{id}``;
* ``POST …/wallets``, ``GET …/wallets/{id}`` (the balance is tracked: a succeeded
  pay-in credits its ``CreditedWalletId``, a payout debits its wallet);
* ``POST …/payins/card/web``: CREATED with ``RedirectURL`` =
  ``{base_url}/sandbox/pay/{id}``, a French test page whose buttons succeed or fail
  the pay-in (ResultCode 101101, "Do not honor") and redirect to ``ReturnURL`` with
  ``transactionId={id}`` appended, as Mangopay does;
* ``POST …/payins/bankwire/direct``: CREATED with a ``WireReference`` and the bank
  details to wire to; :meth:`MangopaySandbox.settle_payin` plays the wire arriving;
* ``GET …/payins/{id}``;
* ``POST …/users/{userId}/bankaccounts/iban`` (the IBAN checksum is verified);
* ``POST …/payouts/bankwire``: answered CREATED like Mangopay, or FAILED at once with
  Mangopay's result codes (001001 insufficient balance, 121002 author is not the
  wallet owner, 121007 author is not the bank account owner, 002701 author is a
  PAYER); a CREATED payout is executed right after the answer, so the next ``GET
  …/payouts/{id}`` (or ``…/payouts/bankwire/{id}``) shows SUCCEEDED;
* ``POST …/transfers`` (wallet to wallet), ``GET …/transfers/{id}``: SUCCEEDED at
  once, moving the balances, or FAILED with Mangopay's result codes (121002 author is
  not the debited wallet's owner, 001001 insufficient balance);
* ``Idempotency-Key`` as Mangopay: 16–36 letters, digits or dashes; a repeated key
  is answered 409 ``idempotent_creation_conflict`` and creates nothing, whatever the
  first outcome was; ``GET …/responses/{key}`` returns the first answer.

Errors use Mangopay's shape: ``{"Message", "Type", "Id", "Date", "errors"}`` with
``param_error`` (400), ``ressource_not_found`` (404, Mangopay's spelling) …

Faults, for the tests that prove a payment survives them (:meth:`MangopaySandbox.inject_fault`):
an API route answers 500 (or any status), or holds the connection past the client's
timeout, either *before* doing anything or *after* carrying the request out (the
charge happened, the answer was lost). :attr:`MangopaySandbox.calls` records every
API request (method, route, idempotency key, status sent) to count retries.

It is not a security boundary: any credentials are accepted, and the pay page has no
CSRF protection. Bind it to 127.0.0.1.
"""

from __future__ import annotations

import base64
import copy
import html
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

API_PREFIX = "/v2.01"
PAY_PAGE_PREFIX = "/sandbox/pay/"
TOKEN_LIFETIME = 3600
MAX_BODY = 1_000_000

REFUSED_CODE = "101101"
REFUSED_MESSAGE = "Transaction refused by the bank (Do not honor)"
WIRE_NOT_RECEIVED_CODE = "001999"
WIRE_NOT_RECEIVED_MESSAGE = "Generic Operation error"
PARAM_ERROR_MESSAGE = (
    "One or several required parameters are missing or incorrect. "
    "An incorrect resource ID also raises this kind of error."
)

_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9-]{16,36}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?")
_CARD_TYPES = {"CB_VISA_MASTERCARD", "MAESTRO", "DINERS", "AMEX", "BCMC", "PAYLIB"}


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 check digits (mod 97)."""
    iban = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    digits = "".join(str(int(char, 36)) for char in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _make_iban(country: str, bban: str) -> str:
    digits = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


#: where the sandbox asks bank wires to go: a made-up French account
WIRE_IBAN = _make_iban("FR", "30004000031234567890143")
WIRE_BIC = "BNPAFRPPXXX"
WIRE_OWNER = "MANGOPAY SA (TEST)"


class _ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.errors = status, type_, message, errors


def _param_error(errors: dict[str, str]) -> _ApiError:
    return _ApiError(400, "param_error", PARAM_ERROR_MESSAGE, errors)


def _not_found(what: str, ident: str) -> _ApiError:
    return _ApiError(
        404,
        "ressource_not_found",
        "The ressource does not exist",
        {"RessourceNotFound": f"Cannot found the ressource {what} with the id={ident}"},
    )


def _address(value: Any = None) -> dict[str, Any]:
    """An address with every key the SDK reads (it indexes them all)."""
    value = value if isinstance(value, dict) else {}
    keys = ("AddressLine1", "AddressLine2", "City", "Region", "PostalCode", "Country")
    return {key: value.get(key) for key in keys}


def _money(currency: str, amount: int) -> dict[str, Any]:
    return {"Currency": currency, "Amount": amount}


def _with_transaction_id(url: str, ident: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("transactionId", ident)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _euros(cents: int) -> str:
    return f"{cents // 100:,}".replace(",", "\u202f") + f",{cents % 100:02d}\u00a0€"


@dataclass
class _Client:
    """Everything one Mangopay client id owns."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    wallets: dict[str, dict[str, Any]] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    payins: dict[str, dict[str, Any]] = field(default_factory=dict)
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    bank_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: idempotency key → the first answer (GET /responses/{key})
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)


View = Callable[..., tuple[int, dict[str, Any]]]


@dataclass
class Fault:
    """What :meth:`MangopaySandbox.inject_fault` arms; see there."""

    method: str
    route: re.Pattern[str]
    status: int | None
    hang: float
    processed: bool
    remaining: int
    hits: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Requests hanging on this fault answer now."""
        self.released.set()


@dataclass(frozen=True)
class ApiCall:
    """One API request as the sandbox saw it (OAuth token requests are not recorded)."""

    method: str
    route: str  #: the path after ``/v2.01/{clientId}/``, e.g. ``payins/card/web``
    idempotency_key: str | None
    status: int  #: the status sent back (0: the client was gone before the answer)
    fault: bool  #: an injected fault answered (or withheld) it


class MangopaySandbox:
    """``start()`` / ``stop()`` (or ``with``); ``base_url`` is what to give
    :class:`~services.payments.mangopay.MangopayProvider`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._clients: dict[str, _Client] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token → (client id, expiry)
        self._ids = itertools.count(100_001)
        self._faults: list[Fault] = []
        #: every API request, in arrival order (see :class:`ApiCall`)
        self.calls: list[ApiCall] = []
        routes: list[tuple[str, str, View]] = [
            ("POST", r"sca/users/natural", self._create_natural_user),
            ("POST", r"sca/users/legal", self._create_legal_user),
            ("GET", r"users/(?P<ident>[^/]+)", self._get_user),
            ("POST", r"wallets", self._create_wallet),
            ("GET", r"wallets/(?P<ident>[^/]+)", self._get_wallet),
            ("POST", r"payins/card/web", self._create_card_payin),
            ("POST", r"payins/bankwire/direct", self._create_bank_wire_payin),
            ("GET", r"payins/(?P<ident>[^/]+)", self._get_payin),
            ("POST", r"users/(?P<user_id>[^/]+)/bankaccounts/iban", self._create_iban_account),
            ("GET", r"users/(?P<user_id>[^/]+)/bankaccounts/(?P<ident>[^/]+)", self._get_bank_account),
            ("POST", r"payouts/bankwire", self._create_payout),
            ("GET", r"payouts/(?:bankwire/)?(?P<ident>[^/]+)", self._get_payout),
            ("POST", r"transfers", self._create_transfer),
            ("GET", r"transfers/(?P<ident>[^/]+)", self._get_transfer),
            ("GET", r"responses/(?P<key>[^/]+)", self._get_response),
        ]
        # Mangopay's paths are case-insensitive (the SDK posts to …/bankaccounts/IBAN)
        self._routes = [
            (method, re.compile(pattern, re.IGNORECASE), view) for method, pattern, view in routes
        ]

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "MangopaySandbox":
        if self._server is not None:
            raise RuntimeError("sandbox already started")
        sandbox = self

        class Handler(_Handler):
            pass

        Handler.sandbox = sandbox
        self._server = ThreadingHTTPServer((self.host, self._requested_port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"mangopay-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._lock:
            for fault in self._faults:
                fault.release()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> "MangopaySandbox":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("sandbox not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---------------------------------------------------- helpers for tests

    def payin(self, payin_id: str) -> dict[str, Any]:
        """The pay-in as ``GET /payins/{id}`` shows it. :raise KeyError: unknown id."""
        with self._lock:
            return copy.deepcopy(self._find("payins", payin_id)[1][payin_id])

    def payins(self) -> list[dict[str, Any]]:
        """Every pay-in of every client, oldest first."""
        with self._lock:
            found = [p for client in self._clients.values() for p in client.payins.values()]
            return copy.deepcopy(sorted(found, key=lambda p: int(p["Id"])))

    def payout(self, payout_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._find("payouts", payout_id)[1][payout_id])

    def transfers(self) -> list[dict[str, Any]]:
        """Every transfer of every client, oldest first."""
        with self._lock:
            found = [t for client in self._clients.values() for t in client.transfers.values()]
            return copy.deepcopy(sorted(found, key=lambda t: int(t["Id"])))

    def wallet(self, wallet_id: str) -> dict[str, Any]:
        """The wallet with its current ``Balance``."""
        with self._lock:
            client = self._find("wallets", wallet_id)[0]
            return self._wallet_json(client, wallet_id)

    def revoke_tokens(self) -> None:
        """Forgets every bearer token, as when Mangopay revokes them: clients get 401."""
        with self._lock:
            self._tokens.clear()

    def settle_payin(self, payin_id: str, succeeded: bool = True) -> dict[str, Any]:
        """Plays the end of a CREATED pay-in: for a bank wire, the money arriving with
        the right reference (or never arriving); for a card, the customer paying or
        being refused without going through the page.

        :raise KeyError: unknown pay-in.
        :raise ValueError: the pay-in is no longer CREATED.
        """
        with self._lock:
            client, payins = self._find("payins", payin_id)
            payin = payins[payin_id]
            if payin["Status"] != "CREATED":
                raise ValueError(f"pay-in {payin_id} is already {payin['Status']}")
            if succeeded:
                self._succeed_payin(client, payin)
            elif payin["PaymentType"] == "CARD":
                self._fail_payin(payin, REFUSED_CODE, REFUSED_MESSAGE)
            else:
                self._fail_payin(payin, WIRE_NOT_RECEIVED_CODE, WIRE_NOT_RECEIVED_MESSAGE)
            return copy.deepcopy(payin)

    # ----------------------------------------------------------- faults

    def inject_fault(
        self,
        route: str,
        *,
        method: str = "POST",
        status: int | None = 500,
        hang: float = 0.0,
        processed: bool = True,
        times: int = 1,
    ) -> Fault:
        """Make the next ``times`` API requests ``method route`` fail.

        :param route: a regular expression matched (whole, case-insensitive) against the
            path after ``/v2.01/{clientId}/``: ``"payins/card/web"``, ``"payins/[^/]+"``.
        :param status: the status answered instead of the real one, with Mangopay's
            500 error body; None sends the real answer (after ``hang``: a slow answer).
        :param hang: seconds to hold the connection before answering; longer than the
            client's timeout, it is a timeout (the client is gone when the answer comes).
        :param processed: True carries the request out first (a pay-in is created, its
            idempotency key used: the answer is lost, not the charge); False fails
            before anything happens.
        :returns: the armed fault; its ``hits`` counts the requests it caught.
        """
        if status is None and not processed:
            raise ValueError("a fault that withholds the request must answer a status")
        fault = Fault(method.upper(), re.compile(route, re.IGNORECASE), status, hang, processed, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Disarm every fault; requests hanging on one answer now."""
        with self._lock:
            for fault in self._faults:
                fault.release()
            self._faults.clear()

    def api_calls(self, method: str | None = None, route: str | None = None) -> list[ApiCall]:
        """The recorded API requests, optionally only ``method`` and ``route`` (a
        regular expression matched whole against :attr:`ApiCall.route`)."""
        pattern = re.compile(route, re.IGNORECASE) if route is not None else None
        with self._lock:
            return [
                call for call in self.calls
                if (method is None or call.method == method.upper())
                and (pattern is None or pattern.fullmatch(call.route))
            ]

    def _take_fault(self, method: str, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.method == method and fault.route.fullmatch(route):
                    fault.remaining -= 1
                    fault.hits += 1
                    return fault
        return None

    def _record(self, method: str, route: str, key: str | None, status: int, fault: bool) -> None:
        with self._lock:
            self.calls.append(ApiCall(method, route, key, status, fault))

    def _find(self, kind: str, ident: str) -> tuple[_Client, dict[str, dict[str, Any]]]:
        for client in self._clients.values():
            objects = getattr(client, kind)
            if ident in objects:
                return client, objects
        raise KeyError(ident)

    # ------------------------------------------------------------- requests

    def handle_api(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """One API request (``path`` without the query string) → (status, JSON)."""
        path = re.sub(r"/{2,}", "/", path)
        if not path.lower().startswith(API_PREFIX + "/"):
            raise _ApiError(404, "ressource_not_found", "The ressource does not exist")
        rest = path[len(API_PREFIX) + 1 :]
        if rest.lower().rstrip("/") == "oauth/token" and method == "POST":
            return self._issue_token(headers.get("Authorization", ""))
        client_id, _, rest = rest.partition("/")
        with self._lock:
            self._authenticate(headers.get("Authorization", ""), client_id)
            client = self._clients.setdefault(client_id, _Client())
            for route_method, pattern, view in self._routes:
                match = pattern.fullmatch(rest.rstrip("/"))
                if match and route_method == method:
                    break
            else:
                raise _ApiError(404, "ressource_not_found", "The ressource does not exist")
            if method != "POST":
                return view(client, **match.groupdict())
            key = headers.get("Idempotency-Key")
            if key is not None:
                if not _IDEMPOTENCY_KEY.fullmatch(key):
                    raise _param_error(
                        {"Idempotency-Key": "must contain 16 to 36 alphanumeric characters or dashes"}
                    )
                if key in client.responses:
                    raise _ApiError(
                        409,
                        "idempotent_creation_conflict",
                        "A resource has already been created with this Idempotency Key",
                    )
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = None
            try:
                if not isinstance(data, dict):
                    raise _param_error({"body": "The request body is not a JSON object"})
                status, answer = view(client, data, **match.groupdict())
            except _ApiError as exc:
                status, answer = exc.status, _error_json(exc)
            if key is not None:
                client.responses[key] = {
                    "StatusCode": str(status),
                    "ContentLength": str(len(json.dumps(answer).encode())),
                    "ContentType": "application/json; charset=utf-8",
                    "Date": formatdate(usegmt=True),
                    "RequestURL": f"{self.base_url}{path}",
                    "Resource": copy.deepcopy(answer),
                }
            self._after_answer(client, answer)
            return status, answer

    def _issue_token(self, authorization: str) -> tuple[int, dict[str, Any]]:
        scheme, _, encoded = authorization.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except ValueError:
            decoded = ""
        client_id, _, api_key = decoded.partition(":")
        if scheme.lower() != "basic" or not client_id or not api_key:
            raise _ApiError(401, "invalid_client", "Authentication failed: invalid client credentials")
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = (client_id, time.monotonic() + TOKEN_LIFETIME)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}

    def _authenticate(self, authorization: str, client_id: str) -> None:
        scheme, _, token = authorization.partition(" ")
        known = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if known is None or known[1] < time.monotonic() or known[0] != client_id:
            raise _ApiError(401, "authentication_error", "Authorization has been denied for this request.")

    def _new_id(self) -> str:
        return str(next(self._ids))

    def _after_answer(self, client: _Client, answer: dict[str, Any]) -> None:
        # Mangopay answers a payout CREATED and executes it later; here, at once.
        payout = client.payouts.get(str(answer.get("Id")))
        if payout is not None and payout["Status"] == "CREATED" and answer.get("Type") == "PAYOUT":
            client.balances[payout["DebitedWalletId"]] -= payout["DebitedFunds"]["Amount"]
            payout.update(
                Status="SUCCEEDED", ResultCode="000000", ResultMessage="Success",
                ExecutionDate=int(time.time()), ModeApplied="STANDARD",
            )

    # ---------------------------------------------------------------- users

    def _user_common(self, data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        email = data.get("Email")
        if not isinstance(email, str) or "@" not in email:
            errors["Email"] = "The Email field is required and must be a valid email address."
        category = data.get("UserCategory")
        if category not in ("PAYER", "OWNER"):
            errors["UserCategory"] = "The UserCategory field is required (PAYER or OWNER)."
        accepted = data.get("TermsAndConditionsAccepted") in (True, 1)
        if category == "OWNER" and not accepted:
            errors["TermsAndConditionsAccepted"] = "Must be true for an OWNER."
        now = int(time.time())
        return {
            "Id": self._new_id(),
            "Tag": data.get("Tag"),
            "CreationDate": now,
            "Email": email,
            "KYCLevel": "LIGHT",
            "TermsAndConditionsAccepted": accepted,
            "TermsAndConditionsAcceptedDate": now if accepted else None,
            "UserCategory": category,
            "UserStatus": "ACTIVE",
            "PendingUserAction": None,  # SCA enrolment is skipped, as Mangopay's sandbox allows
        }

    def _create_natural_user(self, client: _Client, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        errors: dict[str, str] = {}
        for name in ("FirstName", "LastName"):
            value = data.get(name)
            if not isinstance(value, str) or not 1 <= len(value) <= 100:
                errors[name] = f"The {name} field is required (1 to 100 characters)."
        user = self._user_common(data, errors)
        if errors:
            raise _param_error(errors)
        user.update(
            PersonType="NATURAL",
            FirstName=data["FirstName"],
            LastName=data["LastName"],
            Address=_address(data.get("Address")),
            Birthday=data.get("Birthday"),
            Nationality=data.get("Nationality"),
            CountryOfResidence=data.get("CountryOfResidence"),
            Occupation=None,
            IncomeRange=None,
            ProofOfIdentity=None,
            ProofOfAddress=None,
            Capacity="NORMAL",
            PhoneNumber=data.get("PhoneNumber"),
            PhoneNumberCountry=data.get("PhoneNumberCountry"),
        )
        client.users[user["Id"]] = user
        return 200, copy.deepcopy(user)

    def _create_legal_user(self, client: _Client, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        errors: dict[str, str] = {}
        name = data.get("Name")
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            errors["Name"] = "The Name field is required (1 to 255 characters)."
        if data.get("LegalPersonType") not in ("BUSINESS", "ORGANIZATION", "SOLETRADER", "PARTNERSHIP"):
            errors["LegalPersonType"] = "The LegalPersonType field is required."
        representative = data.get("LegalRepresentative")
        if not isinstance(representative, dict):
            errors["LegalRepresentative"] = "The LegalRepresentative field is required."
            representative = {}
        user = self._user_common(data, errors)
        if errors:
            raise _param_error(errors)
        keys = (
            "FirstName", "LastName", "Birthday", "Nationality", "CountryOfResidence",
            "Email", "PhoneNumber", "PhoneNumberCountry",
        )
        user.update(
            PersonType="LEGAL",
            Name=name,
            LegalPersonType=data["LegalPersonType"],
            HeadquartersAddress=_address(data.get("HeadquartersAddress")),
            LegalRepresentative={key: representative.get(key) for key in keys},
            LegalRepresentativeAddress=_address(data.get("LegalRepresentativeAddress")),
            ProofOfRegistration=None,
            ShareholderDeclaration=None,
            Statute=None,
            CompanyNumber=data.get("CompanyNumber"),
        )
        client.users[user["Id"]] = user
        return 200, copy.deepcopy(user)

    def _get_user(self, client: _Client, ident: str) -> tuple[int, dict[str, Any]]:
        if ident not in client.users:
            raise _not_found("User", ident)
        return 200, copy.deepcopy(client.users[ident])

    # -------------------------------------------------------------- wallets

    def _create_wallet(self, client: _Client, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        errors: dict[str, str] = {}
        owners = data.get("Owners")
        if not isinstance(owners, list) or len(owners) != 1 or str(owners[0]) not in client.users:
            errors["Owners"] = "Owners must contain the id of one existing user."
        description = data.get("Description")
        if not isinstance(description, str) or not 1 <= len(description) <= 255:
            errors["Description"] = "The Description field is required (1 to 255 characters)."
        if not isinstance(data.get("Currency"), str) or not _CURRENCY.fullmatch(data["Currency"]):
            errors["Currency"] = "The Currency field is required (ISO 4217)."
        if errors:
            raise _param_error(errors)
        wallet = {
            "Id": self._new_id(),
            "Tag": data.get("Tag"),
            "CreationDate": int(time.time()),
            "Description": description,
            "Owners": [str(owners[0])],
            "Currency": data["Currency"],
            "FundsType": "DEFAULT",
        }
        client.wallets[wallet["Id"]] = wallet
        client.balances[wallet["Id"]] = 0
        return 200, self._wallet_json(client, wallet["Id"])

    def _get_wallet(self, client: _Client, ident: str) -> tuple[int, dict[str, Any]]:
        if ident not in client.wallets:
            raise _not_found("Wallet", ident)
        return 200, self._wallet_json(client, ident)

    def _wallet_json(self, client: _Client, wallet_id: str) -> dict[str, Any]:
        wallet = copy.deepcopy(client.wallets[wallet_id])
        wallet["Balance"] = _money(wallet["Currency"], client.balances[wallet_id])
        return wallet

    # -------------------------------------------------------------- pay-ins

    def _funds(
        self, data: dict[str, Any], name: str, currency: str | None, errors: dict[str, str]
    ) -> int:
        funds = data.get(name)
        amount = funds.get("Amount") if isinstance(funds, dict) else None
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            errors[name] = f"The {name} field is required: {{Currency, Amount in cents >= 0}}."
            return 0
        if currency is not None and funds.get("Currency") != currency:
            errors[name] = f"{name}.Currency must be the wallet's currency ({currency})."
        return amount

    def _payin_common(
        self, client: _Client, data: dict[str, Any], debited_name: str, fees_name: str
    ) -> tuple[dict[str, Any], dict[str, str], int, int]:
        errors: dict[str, str] = {}
        author = str(data.get("AuthorId"))
        if author not in client.users:
            errors["AuthorId"] = "The AuthorId field is required and must be an existing user."
        wallet = client.wallets.get(str(data.get("CreditedWalletId")))
        if wallet is None:
            errors["CreditedWalletId"] = "The CreditedWalletId field is required and must be an existing wallet."
        currency = wallet["Currency"] if wallet else None
        debited = self._funds(data, debited_name, currency, errors)
        fees = self._funds(data, fees_name, currency, errors)
        if not errors and debited <= fees:
            errors[debited_name] = "CreditedFunds must be more than 0 (DebitedFunds can not equal Fees)."
        payin = {
            "Id": self._new_id(),
            "Tag": data.get("Tag"),
            "CreationDate": int(time.time()),
            "AuthorId": author,
            "CreditedUserId": wallet["Owners"][0] if wallet else None,
            "Status": "CREATED",
            "ResultCode": None,
            "ResultMessage": None,
            "ExecutionDate": None,
            "Type": "PAYIN",
            "Nature": "REGULAR",
            "CreditedWalletId": wallet["Id"] if wallet else None,
            "DebitedWalletId": None,
        }
        return payin, errors, debited, fees

    def _create_card_payin(self, client: _Client, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payin, errors, debited, fees = self._payin_common(client, data, "DebitedFunds", "Fees")
        return_url = data.get("ReturnURL")
        if (
            not isinstance(return_url, str)
            or urlsplit(return_url).scheme not in ("http", "https")
            or re.search(r"[\x00-\x20\x7f]", return_url)
        ):
            errors["ReturnURL"] = "The ReturnURL field is required and must be an http(s) URL."
        if data.get("CardType") not in _CARD_TYPES:
            errors["CardType"] = "The CardType field is required."
        if not isinstance(data.get("Culture"), str) or not _COUNTRY.fullmatch(data["Culture"]):
            errors["Culture"] = "The Culture field is required (two letters, e.g. FR)."
        if errors:
            raise _param_error(errors)
        currency = client.wallets[payin["CreditedWalletId"]]["Currency"]
        payin.update(
            DebitedFunds=_money(currency, debited),
            CreditedFunds=_money(currency, debited - fees),
            Fees=_money(currency, fees),
            PaymentType="CARD",
            ExecutionType="WEB",
            RedirectURL=f"{self.base_url}{PAY_PAGE_PREFIX}{payin['Id']}",
            ReturnURL=_with_transaction_id(return_url, payin["Id"]),
            TemplateURL=None,
            CardType=data["CardType"],
            Culture=data["Culture"],
            SecureMode=data.get("SecureMode") or "DEFAULT",
            StatementDescriptor=data.get("StatementDescriptor"),
        )
        client.payins[payin["Id"]] = payin
        return 200, copy.deepcopy(payin)

    def _create_bank_wire_payin(self, client: _Client, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payin, errors, debited, fees = self._payin_common(
            client, data, "DeclaredDebitedFunds", "DeclaredFees"
        )
        if errors:
            raise _param_error(errors)
        currency = client.wallets[payin["CreditedWalletId"]]["Currency"]
        payin.update(
            DebitedFunds=None,  # known when the wire arrives
            CreditedFunds=None,
            Fees=None,
            PaymentType="BANK_WIRE",
            ExecutionType="DIRECT",
            DeclaredDebitedFunds=_money(currency, debited),
            DeclaredFees=_money(currency, fees),
            WireReference=secrets.token_hex(5).upper(),
            BankAccount={
                "Type": "IBAN",
                "OwnerName": WIRE_OWNER,
                "OwnerAddress": _address(
                    {"AddressLine1": "1 rue de la Banque", "City": "Paris", "PostalCode": "75002", "Country": "FR"}
                ),
                "IBAN": WIRE_IBAN,
                "BIC": WIRE_BIC,
            },
        )
        client.payins[payin["Id"]] = payin
        return 200, copy.deepcopy(payin)

    def _get_payin(self, client: _Client, ident: str) -> tuple[int, dict[str, Any]]:
        if ident not in client.payins:
            raise _not_found("PayIn", ident)
        return 200, copy.deepcopy(client.payins[ident])

    def _succeed_payin(self, client: _Client, payin: dict[str, Any]) -> None:
        if payin["PaymentType"] == "BANK_WIRE":
            payin["DebitedFunds"] = copy.deepcopy(payin["DeclaredDebitedFunds"])
            payin["Fees"] = copy.deepcopy(payin["DeclaredFees"])
            payin["CreditedFunds"] = _money(
                payin["DebitedFunds"]["Currency"],
                payin["DebitedFunds"]["Amount"] - payin["Fees"]["Amount"],
            )
        payin.update(
            Status="SUCCEEDED", ResultCode="000000", ResultMessage="Success",
            ExecutionDate=int(time.time()),
        )
        client.balances[payin["CreditedWalletId"]] += payin["CreditedFunds"]["Amount"]

    @staticmethod
    def _fail_payin(payin: dict[str, Any], code: str, message: str) -> None:
        payin.update(Status="FAILED", ResultCode=code, ResultMessage=message)

    # -------------------------------------------------------- bank accounts

    def _create_iban_account(
        self, client: _Client, data: dict[str, Any], user_id: str
    ) -> tuple[int, dict[str, Any]]:
        if user_id not in client.users:
            raise _not_found("User", user_id)
        errors: dict[str, str] = {}
        owner_name = data.get("OwnerName")
        if not isinstance(owner_name, str) or not owner_name.strip():
            errors["OwnerName"] = "The OwnerName field is required."
        address = data.get("OwnerAddress")
        if not isinstance(address, dict) or not all(
            isinstance(address.get(key), str) and address[key].strip()
            for key in ("AddressLine1", "City", "PostalCode", "Country")
        ):
            errors["OwnerAddress"] = "OwnerAddress needs AddressLine1, City, PostalCode and Country."
        elif not _COUNTRY.fullmatch(address["Country"]):
            errors["OwnerAddress.Country"] = "Two-letter country code (ISO 3166-1 alpha-2)."
        iban = data.get("IBAN")
        if not isinstance(iban, str) or not iban_is_valid(iban):
            errors["IBAN"] = "The IBAN is not valid."
        bic = data.get("BIC")
        if bic is not None and (not isinstance(bic, str) or not _BIC.fullmatch(bic)):
            errors["BIC"] = "The BIC is not valid."
        if errors:
            raise _param_error(errors)
        account = {
            "Id": self._new_id(),
            "Tag": data.get("Tag"),
            "CreationDate": int(time.time()),
            "UserId": user_id,
            "Type": "IBAN",
            "OwnerName": owner_name,
            "OwnerAddress": _address(address),
            "IBAN": iban.replace(" ", "").upper(),
            "BIC": bic,
            "Active": True,
        }
        client.bank_accounts[account["Id"]] = account
        return 200, copy.deepcopy(account)

    def _get_bank_account(self, client: _Client, user_id: str, ident: str) -> tuple[int, dict[str, Any]]:
        account = client.bank_accounts.get(ident)
        if account is None or account["UserId"] != user_id:
            raise _not_found("BankAccount", ident)
        return 200, copy.deepcopy(account)

    # -------------------------------------------------------------- payouts

    def _create_payout(self, client: _Client, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        errors: dict[str, str] = {}
        author = client.users.get(str(data.get("AuthorId")))
        if author is None:
            errors["AuthorId"] = "The AuthorId field is required and must be an existing user."
        wallet = client.wallets.get(str(data.get("DebitedWalletId")))
        if wallet is None:
            errors["DebitedWalletId"] = "The DebitedWalletId field is required and must be an existing wallet."
        account = client.bank_accounts.get(str(data.get("BankAccountId")))
        if account is None:
            errors["BankAccountId"] = "The BankAccountId field is required and must be an existing bank account."
        currency = wallet["Currency"] if wallet else None
        debited = self._funds(data, "DebitedFunds", currency, errors)
        fees = self._funds(data, "Fees", currency, errors)
        reference = data.get("BankWireRef")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 255):
            errors["BankWireRef"] = "At most 255 characters."
        if not errors and debited <= fees:
            errors["DebitedFunds"] = "CreditedFunds must be more than 0 (DebitedFunds can not equal Fees)."
        if errors:
            raise _param_error(errors)
        assert author is not None and wallet is not None and account is not None
        refusal: tuple[str, str] | None = None
        if author["UserCategory"] != "OWNER":
            refusal = ("002701", "Refused due to author's UserCategory: PAYER")
        elif author["Id"] not in wallet["Owners"]:
            refusal = ("121002", "The author is not the wallet owner")
        elif account["UserId"] != author["Id"]:
            refusal = ("121007", "The author is not the bank account owner")
        elif not account["Active"]:
            refusal = ("121006", "The associated bank account is not active")
        elif client.balances[wallet["Id"]] < debited:
            refusal = ("001001", "Unsufficient wallet balance")
        payout = {
            "Id": self._new_id(),
            "Tag": data.get("Tag"),
            "CreationDate": int(time.time()),
            "AuthorId": author["Id"],
            "CreditedUserId": None,
            "DebitedFunds": _money(wallet["Currency"], debited),
            "CreditedFunds": _money(wallet["Currency"], debited - fees),
            "Fees": _money(wallet["Currency"], fees),
            "Status": "FAILED" if refusal else "CREATED",
            "ResultCode": refusal[0] if refusal else None,
            "ResultMessage": refusal[1] if refusal else None,
            "ExecutionDate": None,
            "Type": "PAYOUT",
            "Nature": "REGULAR",
            "CreditedWalletId": None,
            "DebitedWalletId": wallet["Id"],
            "PaymentType": "BANK_WIRE",
            "BankAccountId": account["Id"],
            "BankWireRef": reference,
            "ModeRequested": None,
            "ModeApplied": "NONE" if refusal else "PENDING_RESPONSE",
            "FallbackReason": None,
            "EndToEndId": secrets.token_hex(16),
        }
        client.payouts[payout["Id"]] = payout
        return 200, copy.deepcopy(payout)

    def _get_payout(self, client: _Client, ident: str) -> tuple[int, dict[str, Any]]:
        if ident not in client.payouts:
            raise _not_found("PayOut", ident)
        return 200, copy.deepcopy(client.payouts[ident])

    # ------------------------------------------------------------ transfers

    def _create_transfer(self, client: _Client, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        errors: dict[str, str] = {}
        author = client.users.get(str(data.get("AuthorId")))
        if author is None:
            errors["AuthorId"] = "The AuthorId field is required and must be an existing user."
        debited_wallet = client.wallets.get(str(data.get("DebitedWalletId")))
        if debited_wallet is None:
            errors["DebitedWalletId"] = "The DebitedWalletId field is required and must be an existing wallet."
        credited_wallet = client.wallets.get(str(data.get("CreditedWalletId")))
        credited_user = data.get("CreditedUserId")
        if credited_wallet is None:
            errors["CreditedWalletId"] = "The CreditedWalletId field is required and must be an existing wallet."
        elif credited_user is not None and str(credited_user) not in credited_wallet["Owners"]:
            errors["CreditedUserId"] = "The CreditedUserId must be the owner of the credited wallet."
        currency = debited_wallet["Currency"] if debited_wallet else None
        if debited_wallet and credited_wallet and credited_wallet["Currency"] != currency:
            errors["CreditedWalletId"] = "The credited wallet's currency must be the debited wallet's."
        debited = self._funds(data, "DebitedFunds", currency, errors)
        fees = self._funds(data, "Fees", currency, errors)
        if not errors and debited <= fees:
            errors["DebitedFunds"] = "CreditedFunds must be more than 0 (DebitedFunds can not equal Fees)."
        if errors:
            raise _param_error(errors)
        assert author is not None and debited_wallet is not None and credited_wallet is not None
        refusal: tuple[str, str] | None = None
        if author["Id"] not in debited_wallet["Owners"]:
            refusal = ("121002", "The author is not the wallet owner")
        elif client.balances[debited_wallet["Id"]] < debited:
            refusal = ("001001", "Unsufficient wallet balance")
        if refusal is None:
            client.balances[debited_wallet["Id"]] -= debited
            client.balances[credited_wallet["Id"]] += debited - fees
        currency = debited_wallet["Currency"]
        transfer = {
            "Id": self._new_id(),
            "Tag": data.get("Tag"),
            "CreationDate": int(time.time()),
            "AuthorId": author["Id"],
            "CreditedUserId": credited_wallet["Owners"][0],
            "DebitedFunds": _money(currency, debited),
            "CreditedFunds": _money(currency, debited - fees),
            "Fees": _money(currency, fees),
            "Status": "FAILED" if refusal else "SUCCEEDED",
            "ResultCode": refusal[0] if refusal else "000000",
            "ResultMessage": refusal[1] if refusal else "Success",
            "ExecutionDate": None if refusal else int(time.time()),
            "Type": "TRANSFER",
            "Nature": "REGULAR",
            "DebitedWalletId": debited_wallet["Id"],
            "CreditedWalletId": credited_wallet["Id"],
            "ScaContext": None,
            "PendingUserAction": None,
        }
        client.transfers[transfer["Id"]] = transfer
        return 200, copy.deepcopy(transfer)

    def _get_transfer(self, client: _Client, ident: str) -> tuple[int, dict[str, Any]]:
        if ident not in client.transfers:
            raise _not_found("Transfer", ident)
        return 200, copy.deepcopy(client.transfers[ident])

    def _get_response(self, client: _Client, key: str) -> tuple[int, dict[str, Any]]:
        if key not in client.responses:
            raise _not_found("ApiResponse", key)
        return 200, copy.deepcopy(client.responses[key])

    # ------------------------------------------------------------- pay page

    def pay_page(self, payin_id: str) -> tuple[int, str]:
        with self._lock:
            try:
                payin = copy.deepcopy(self._find("payins", payin_id)[1][payin_id])
            except KeyError:
                payin = None
        if payin is None or payin["PaymentType"] != "CARD":
            return 404, _page("Paiement introuvable", "<p>Ce paiement n'existe pas.</p>")
        amount = html.escape(_euros(payin["DebitedFunds"]["Amount"]))
        action = html.escape(PAY_PAGE_PREFIX + payin_id)
        if payin["Status"] != "CREATED":
            label = "réussi" if payin["Status"] == "SUCCEEDED" else "refusé"
            body = (
                f"<p>Ce paiement de {amount} a déjà été traité : {label}.</p>"
                f'<p><a href="{html.escape(payin["ReturnURL"])}">Retour à la boutique</a></p>'
            )
            return 200, _page("Paiement déjà traité", body)
        tag = f"<p>Référence : {html.escape(str(payin['Tag']))}</p>" if payin.get("Tag") else ""
        body = (
            f'<p class="amount">Montant : <strong>{amount}</strong></p>{tag}'
            "<p>Aucune donnée de carte n'est demandée : choisissez l'issue du paiement.</p>"
            f'<form method="post" action="{action}">'
            '<input type="hidden" name="decision" value="accept">'
            '<button type="submit">Payer avec la carte de test</button></form>'
            f'<form method="post" action="{action}">'
            '<input type="hidden" name="decision" value="refuse">'
            '<button type="submit" class="secondary">Refuser le paiement</button></form>'
        )
        return 200, _page("Paiement par carte", body)

    def pay_decision(self, payin_id: str, decision: str) -> tuple[int, str]:
        """(302, return URL) once decided; (4xx, HTML) otherwise. A second decision on
        a pay-in already decided changes nothing and redirects again."""
        if decision not in ("accept", "refuse"):
            return 400, _page("Choix invalide", "<p>Choisissez « Payer » ou « Refuser ».</p>")
        with self._lock:
            try:
                client, payins = self._find("payins", payin_id)
            except KeyError:
                return 404, _page("Paiement introuvable", "<p>Ce paiement n'existe pas.</p>")
            payin = payins[payin_id]
            if payin["PaymentType"] != "CARD":
                return 404, _page("Paiement introuvable", "<p>Ce paiement n'existe pas.</p>")
            if payin["Status"] == "CREATED":
                if decision == "accept":
                    self._succeed_payin(client, payin)
                else:
                    self._fail_payin(payin, REFUSED_CODE, REFUSED_MESSAGE)
            return 302, payin["ReturnURL"]


def _error_json(exc: _ApiError) -> dict[str, Any]:
    return {
        "Message": exc.message,
        "Type": exc.type,
        "Id": secrets.token_hex(8),
        "Date": int(time.time()),
        "errors": exc.errors,
    }


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}"
    ".test{background:#b00020;color:#fff;padding:.75rem;font-weight:bold;text-align:center}"
    "form{display:inline-block;margin:.5rem .5rem 0 0}"
    "button{font-size:1rem;padding:.6rem 1rem;cursor:pointer}"
    ".secondary{background:#eee}.amount{font-size:1.25rem}"
)


def _page(title: str, body: str) -> str:
    """``title`` is plain text; ``body`` is HTML already escaped by the caller."""
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} — MODE TEST</title><style>{_STYLE}</style></head><body>"
        '<p class="test">MODE TEST — aucune carte réelle n\'est débitée</p>'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _api_route(path: str) -> str | None:
    """``/v2.01/{clientId}/payins/card/web`` → ``payins/card/web``; None for the OAuth
    token and for paths outside the API."""
    path = re.sub(r"/{2,}", "/", path)
    if not path.lower().startswith(API_PREFIX + "/"):
        return None
    rest = path[len(API_PREFIX) + 1 :]
    if rest.lower().rstrip("/") == "oauth/token":
        return None
    return rest.partition("/")[2].rstrip("/")


class _Handler(BaseHTTPRequestHandler):
    sandbox: MangopaySandbox
    server_version = "MangopaySandbox/1"
    # one request per connection: a stopped sandbox leaves no kept-alive connection
    # answering from a background thread
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send_json(413, _error_json(_ApiError(413, "param_error", "Request body too large")))
            return
        body = self.rfile.read(length) if length else b""
        if path.startswith(PAY_PAGE_PREFIX):
            self._pay_page(method, path[len(PAY_PAGE_PREFIX) :], body)
            return
        route = _api_route(path)
        fault = self.sandbox._take_fault(method, route) if route is not None else None
        if fault is None or fault.processed:
            try:
                status, answer = self.sandbox.handle_api(method, path, self.headers, body)
            except _ApiError as exc:
                status, answer = exc.status, _error_json(exc)
        if fault is not None:
            fault.released.wait(fault.hang)
            if fault.status is not None:
                status = fault.status
                answer = _error_json(_ApiError(status, "internal_server_error", "Internal server error"))
        sent = self._send_json(status, answer)
        if route is not None:
            key = self.headers.get("Idempotency-Key")
            self.sandbox._record(method, route, key, status if sent else 0, fault is not None)

    def _pay_page(self, method: str, payin_id: str, body: bytes) -> None:
        if method == "GET":
            status, page = self.sandbox.pay_page(payin_id)
        elif method == "POST":
            form = parse_qs(body.decode("utf-8", "replace"))
            status, page = self.sandbox.pay_decision(payin_id, (form.get("decision") or [""])[0])
            if status == 302:
                self.send_response(302)
                self.send_header("Location", page)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        else:
            status, page = 405, _page("Méthode non permise", "")
        encoded = page.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        )
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def _send_json(self, status: int, answer: dict[str, Any]) -> bool:
        """Whether the answer could be sent (a client that timed out is gone)."""
        encoded = json.dumps(answer).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # tests and the demo read state through the helpers, not the access log
