"""A stateful fake of the slice of the Stripe API Echoes uses, speaking Stripe's wire format.

The real ``stripe`` library talks to it over HTTP (point ``StripeClient``'s
``base_addresses={"api": fake.url}`` at it, or ``STRIPE_API_BASE`` for the app). What it
does the way Stripe does:

- requests are form-encoded with bracket notation (``line_items[0][price_data][currency]``)
  and parsed into nested dicts and lists; unknown parameters, missing required ones and
  malformed integers are refused with Stripe's error JSON
  ``{"error": {"type", "message", "param", "code"}}`` and the status codes the SDK maps to
  its exceptions (400, 401, 402, 404, 5xx);
- ``Authorization: Bearer sk_test_…`` is required and must be the fake's key;
- a POST's ``Idempotency-Key`` stores the first result and replays it (with
  ``Idempotent-Replayed: true``); the same key with different parameters is an
  ``idempotency_error``. As on Stripe, requests refused by validation store nothing;
- ``POST /v1/checkout/sessions`` (``mode=payment`` only) and
  ``GET /v1/checkout/sessions/{id}`` (with ``expand[]=line_items``).

What a customer or an operator would do on Stripe's side is a plain method here:
:meth:`StripeFake.complete_session` (paid by card, or unpaid for a delayed method such as
SEPA), :meth:`~StripeFake.succeed_async_payment`, :meth:`~StripeFake.fail_async_payment`,
:meth:`~StripeFake.expire_session`, :meth:`~StripeFake.refund`, :meth:`~StripeFake.dispute`
and :meth:`~StripeFake.close_dispute` (``GET /v1/disputes/{id}`` reads one back). Each changes the stored
objects the way Stripe would and returns the event JSON Stripe would POST to the webhook
endpoint; :meth:`~StripeFake.signed` turns an event into the raw body and
``Stripe-Signature`` header of that delivery. :meth:`~StripeFake.fail_next` makes the next
API calls fail, the way an outage or a declined card would.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

_ID_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_BRACKET_RE = re.compile(r"\[([^\[\]]*)\]")

#: Top-level parameters Stripe accepts on ``POST /v1/checkout/sessions`` (the ones a
#: one-time payment can use). Anything else is ``parameter_unknown``, as on Stripe.
_SESSION_PARAMS = frozenset({
    "allow_promotion_codes", "billing_address_collection", "cancel_url", "client_reference_id",
    "currency", "customer", "customer_creation", "customer_email", "expand", "expires_at",
    "invoice_creation", "line_items", "locale", "metadata", "mode", "payment_intent_data",
    "payment_method_types", "phone_number_collection", "submit_type", "success_url", "ui_mode",
})


class StripeApiError(Exception):
    """An error answer in Stripe's format; raised inside the fake, rendered as JSON."""

    def __init__(
        self, status: int, message: str, *, type: str = "invalid_request_error",
        param: str | None = None, code: str | None = None, should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"type": type, "message": message}}
        if param is not None:
            self.body["error"]["param"] = param
        if code is not None:
            self.body["error"]["code"] = code
        self.should_retry = should_retry


@dataclass(frozen=True)
class RecordedRequest:
    """One API call as the fake received it: the parsed parameters and the headers."""

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int


@dataclass
class _Failure:
    error: StripeApiError
    remaining: int


@dataclass
class _StoredResponse:
    fingerprint: tuple[str, str, str]
    status: int
    body: dict[str, Any]


@dataclass
class _State:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    line_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    payment_intent_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, _StoredResponse] = field(default_factory=dict)
    failures: list[_Failure] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    api_version: str = stripe.api_version


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's bracket notation into nested values: ``a[b][0][c]=x`` -> ``{"a": {"b": [{"c": "x"}]}}``.

    ``[]`` appends; a dict whose keys are all indexes becomes a list in index order.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY_RE.match(key)
        if match is None:
            raise StripeApiError(400, f"Invalid parameter name: {key}", param=key)
        parts = [match.group(1), *_BRACKET_RE.findall(match.group(2))]
        node = root
        for depth, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if depth == len(parts) - 1:
                node[part] = value
                break
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise StripeApiError(400, f"Invalid parameter: {key} mixes a value and a hash", param=key)
            node = child
    return _listify(root)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {k: _listify(v) for k, v in value.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def _integer(value: Any, param: str, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeApiError(400, f"Invalid integer: {value}", param=param, code="parameter_invalid_integer") from None
    if number < minimum:
        raise StripeApiError(
            400, f"This value must be greater than or equal to {minimum}.", param=param,
            code="parameter_invalid_integer",
        )
    return number


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StripeApiError(400, f"Invalid object: {param} must be a hash", param=param)
    if len(value) > 50:
        raise StripeApiError(400, "Metadata can have at most 50 keys.", param=param)
    for key, item in value.items():
        if len(key) > 40 or not isinstance(item, str) or len(item) > 500:
            raise StripeApiError(
                400, "Metadata keys are at most 40 characters and values at most 500 characters.",
                param=f"{param}[{key}]",
            )
    return dict(value)


def _missing(param: str) -> StripeApiError:
    return StripeApiError(400, f"Missing required param: {param}.", param=param, code="parameter_missing")


def _url(value: Any, param: str) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s]+$", value):
        raise StripeApiError(400, "Not a valid URL", param=param, code="url_invalid")
    return value


class StripeFake:
    """Run with ``with StripeFake() as fake:``; ``fake.url`` is the API base to use."""

    def __init__(
        self, *, secret_key: str | None = None, webhook_secret: str | None = None,
    ) -> None:
        self.secret_key = secret_key or "sk_test_" + secrets.token_hex(12)
        self.webhook_secret = webhook_secret or "whsec_" + secrets.token_hex(16)
        self._state = _State()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="stripe-fake", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StripeFake:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    @property
    def session_count(self) -> int:
        with self._lock:
            return len(self._state.sessions)

    def session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._state.sessions[session_id])

    def charge_for(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._charge_of(session_id))

    # -- failure injection -----------------------------------------------------------------

    def fail_next(
        self, status: int, *, type: str = "api_error", message: str | None = None,
        code: str | None = None, times: int = 1, should_retry: bool | None = None,
    ) -> None:
        """Answer the next ``times`` API calls with this error instead of running them.

        Like a failure in front of the API (nothing executes), the answer is not stored
        under the request's ``Idempotency-Key``. ``should_retry`` sets the
        ``Stripe-Should-Retry`` header the SDK obeys.
        """
        error = StripeApiError(
            status, message or "An unknown error occurred.", type=type, code=code,
            should_retry=should_retry,
        )
        with self._lock:
            self._state.failures.append(_Failure(error, times))

    # -- what happens on Stripe's side -----------------------------------------------------

    def complete_session(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """The customer submits the hosted page: paid by card, or ``paid=False`` for a
        delayed method (the session completes ``unpaid``; the money arrives later)."""
        with self._lock:
            session = self._open_session(session_id)
            intent = self._create_payment_intent(session)
            session.update(status="complete", url=None, payment_intent=intent["id"])
            session["customer_details"] = {
                "email": session["customer_email"] or "buyer@example.com", "name": "Test Buyer",
                "address": None, "phone": None, "tax_exempt": "none", "tax_ids": [],
            }
            if paid:
                self._capture(intent)
                session["payment_status"] = "paid"
            else:
                intent["status"] = "processing"
                session["payment_status"] = "unpaid"
            return self._event("checkout.session.completed", session)

    def succeed_async_payment(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            session, intent = self._awaiting_payment(session_id)
            self._capture(intent)
            session["payment_status"] = "paid"
            return self._event("checkout.session.async_payment_succeeded", session)

    def fail_async_payment(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            session, intent = self._awaiting_payment(session_id)
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "invalid_request_error", "code": "payment_method_provider_decline",
                "message": "The customer's bank declined the debit.",
            }
            return self._event("checkout.session.async_payment_failed", session)

    def expire_session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            session = self._open_session(session_id)
            session.update(status="expired", url=None)
            return self._event("checkout.session.expired", session)

    def refund(self, session_id: str, amount: int | None = None) -> dict[str, Any]:
        """Refund ``amount`` cents (default: what is left) of the session's charge."""
        with self._lock:
            charge = self._charge_of(session_id)
            remaining = charge["amount"] - charge["amount_refunded"]
            amount = remaining if amount is None else amount
            if not 0 < amount <= remaining:
                raise ValueError(f"can refund 1..{remaining} cents of {charge['id']}, not {amount}")
            previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            return self._event("charge.refunded", charge, previous_attributes=previous)

    def dispute(
        self, session_id: str, *, amount: int | None = None, reason: str = "fraudulent",
        status: str = "needs_response",
    ) -> dict[str, Any]:
        """The buyer disputes the session's charge with their bank (default: what was not
        refunded). ``status="warning_needs_response"`` is an inquiry, where no money moves."""
        with self._lock:
            charge = self._charge_of(session_id)
            amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
            if not 0 < amount <= charge["amount"]:
                raise ValueError(f"can dispute 1..{charge['amount']} cents of {charge['id']}, not {amount}")
            if charge.get("dispute"):
                raise ValueError(f"{charge['id']} is already disputed ({charge['dispute']})")
            now = int(time.time())
            dispute = {
                "id": new_id("dp"), "object": "dispute", "amount": amount, "currency": charge["currency"],
                "charge": charge["id"], "payment_intent": charge["payment_intent"], "reason": reason,
                "status": status, "created": now, "livemode": False, "metadata": {},
                "is_charge_refundable": False, "balance_transactions": [],
                "evidence": {}, "evidence_details": {
                    "due_by": now + 7 * 86400, "has_evidence": False, "past_due": False, "submission_count": 0,
                },
            }
            self._state.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            charge["dispute"] = dispute["id"]
            return self._event("charge.dispute.created", dispute)

    def close_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        """The bank decides: ``won`` (the money stays with the merchant) or ``lost``; an
        inquiry closes as ``warning_closed`` either way."""
        with self._lock:
            dispute = self._state.disputes[dispute_id]
            if dispute["status"] in ("won", "lost", "warning_closed"):
                raise ValueError(f"{dispute_id} is already closed ({dispute['status']})")
            previous = {"status": dispute["status"]}
            if dispute["status"].startswith("warning_"):
                dispute["status"] = "warning_closed"
            else:
                dispute["status"] = "won" if won else "lost"
            dispute["evidence_details"]["has_evidence"] = won
            return self._event("charge.dispute.closed", dispute, previous_attributes=previous)

    def signed(
        self, event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None,
    ) -> tuple[bytes, str]:
        """The raw body and ``Stripe-Signature`` header of one delivery of ``event``."""
        payload = json.dumps(event, indent=2)
        header = stripe.WebhookSignature.generate_signature_header(
            payload, secret or self.webhook_secret, timestamp=timestamp
        )
        return payload.encode(), header

    # -- internals (called with the lock held) ---------------------------------------------

    def _open_session(self, session_id: str) -> dict[str, Any]:
        session = self._state.sessions[session_id]
        if session["status"] != "open":
            raise ValueError(f"{session_id} is {session['status']}, not open")
        return session

    def _awaiting_payment(self, session_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        session = self._state.sessions[session_id]
        if session["status"] != "complete" or session["payment_status"] != "unpaid":
            raise ValueError(f"{session_id} is not a completed session waiting for its payment")
        return session, self._state.payment_intents[session["payment_intent"]]

    def _charge_of(self, session_id: str) -> dict[str, Any]:
        session = self._state.sessions[session_id]
        intent = self._state.payment_intents.get(session["payment_intent"] or "")
        if intent is None or intent["latest_charge"] is None:
            raise ValueError(f"{session_id} has no charge to refund")
        return self._state.charges[intent["latest_charge"]]

    def _create_payment_intent(self, session: dict[str, Any]) -> dict[str, Any]:
        data = self._state.payment_intent_data[session["id"]]
        intent = {
            "id": new_id("pi"), "object": "payment_intent", "amount": session["amount_total"],
            "amount_received": 0, "currency": session["currency"], "created": int(time.time()),
            "livemode": False, "metadata": dict(data.get("metadata", {})),
            "status": "requires_confirmation", "latest_charge": None,
            "description": data.get("description"),
        }
        self._state.payment_intents[intent["id"]] = intent
        return intent

    def _capture(self, intent: dict[str, Any]) -> None:
        """The money arrives: a succeeded Charge carrying the PaymentIntent's metadata."""
        charge = {
            "id": new_id("ch"), "object": "charge", "amount": intent["amount"],
            "amount_captured": intent["amount"], "amount_refunded": 0, "captured": True,
            "created": int(time.time()), "currency": intent["currency"], "livemode": False,
            "metadata": dict(intent["metadata"]), "paid": True, "payment_intent": intent["id"],
            "refunded": False, "status": "succeeded", "description": intent["description"],
            "disputed": False, "dispute": None,
        }
        self._state.charges[charge["id"]] = charge
        intent.update(status="succeeded", latest_charge=charge["id"], amount_received=intent["amount"])

    def _event(
        self, type: str, obj: dict[str, Any], *, previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return {
            "id": new_id("evt"), "object": "event", "api_version": self._state.api_version,
            "created": int(time.time()), "data": data, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": type,
        }

    # -- the HTTP API ----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One API request -> (status, JSON body, extra response headers)."""
        split = urlsplit(target)
        params: dict[str, Any] = {}
        extra: dict[str, str] = {}
        status = 500
        try:
            params = parse_form(split.query if method == "GET" else body)
            with self._lock:
                self._authenticate(headers.get("authorization"))
                if headers.get("stripe-version"):
                    self._state.api_version = headers["stripe-version"]
                key = headers.get("idempotency-key") if method == "POST" else None
                fingerprint = (method, split.path, json.dumps(params, sort_keys=True))
                if key is not None and key in self._state.idempotent:
                    stored = self._state.idempotent[key]
                    if stored.fingerprint != fingerprint:
                        raise StripeApiError(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters "
                            f"they were first used with. Try using a key other than '{key}' if you "
                            "meant to execute a different request.",
                            type="idempotency_error",
                        )
                    status, response = stored.status, copy.deepcopy(stored.body)
                    extra["Idempotent-Replayed"] = "true"
                    return status, response, extra
                self._take_injected_failure()
                status, response = self._route(method, split.path, params)
                if key is not None:
                    self._state.idempotent[key] = _StoredResponse(fingerprint, status, copy.deepcopy(response))
                return status, response, extra
        except StripeApiError as error:
            status = error.status
            if error.should_retry is not None:
                extra["Stripe-Should-Retry"] = "true" if error.should_retry else "false"
            return status, error.body, extra
        finally:
            with self._lock:
                self._state.requests.append(RecordedRequest(method, split.path, params, headers, status))

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.startswith("sk_test_") or key != self.secret_key:
            shown = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else "****"
            raise StripeApiError(401, f"Invalid API Key provided: {shown}", code="api_key_invalid")

    def _take_injected_failure(self) -> None:
        if not self._state.failures:
            return
        failure = self._state.failures[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            self._state.failures.pop(0)
        raise failure.error

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return 200, self._create_session(params)
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)", path)
        if method == "GET" and match:
            return 200, self._retrieve_session(match.group(1), params)
        match = re.fullmatch(r"/v1/disputes/([^/]+)", path)
        if method == "GET" and match:
            dispute = self._state.disputes.get(match.group(1))
            if dispute is None:
                raise StripeApiError(
                    404, f"No such dispute: '{match.group(1)}'", param="dispute", code="resource_missing"
                )
            return 200, copy.deepcopy(dispute)
        raise StripeApiError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in params:
            if name not in _SESSION_PARAMS:
                raise StripeApiError(400, f"Received unknown parameter: {name}", param=name, code="parameter_unknown")
        mode = params.get("mode")
        if not mode:
            raise _missing("mode")
        if mode not in ("payment", "setup", "subscription"):
            raise StripeApiError(400, "Invalid mode: must be one of payment, setup, or subscription", param="mode")
        if mode != "payment":
            raise StripeApiError(400, f"This fake implements mode=payment only, not {mode}", param="mode")
        ui_mode = params.get("ui_mode", "hosted_page")
        if ui_mode != "hosted_page":
            raise StripeApiError(400, f"This fake implements ui_mode=hosted_page only, not {ui_mode}", param="ui_mode")
        items = self._line_items(params.get("line_items"))
        currencies = {item["currency"] for item in items}
        if len(currencies) != 1:
            raise StripeApiError(400, "All line items must use the same currency.", param="line_items")
        client_reference_id = params.get("client_reference_id")
        if client_reference_id is not None and not 0 < len(client_reference_id) <= 200:
            raise StripeApiError(400, "client_reference_id must be 1 to 200 characters.", param="client_reference_id")
        intent_data = params.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise StripeApiError(400, "Invalid object: payment_intent_data must be a hash", param="payment_intent_data")
        intent_metadata = _metadata(intent_data.get("metadata"), "payment_intent_data[metadata]")
        created = int(time.time())
        session_id = new_id("cs_test", 58)
        session: dict[str, Any] = {
            "id": session_id, "object": "checkout.session", "mode": "payment", "ui_mode": ui_mode,
            "status": "open", "payment_status": "unpaid",
            "url": f"{self.url}/c/pay/{session_id}",
            "success_url": _url(params["success_url"], "success_url") if "success_url" in params else None,
            "cancel_url": _url(params["cancel_url"], "cancel_url") if "cancel_url" in params else None,
            "client_reference_id": client_reference_id,
            "customer_email": params.get("customer_email"), "customer_details": None,
            "metadata": _metadata(params.get("metadata"), "metadata"),
            "amount_subtotal": sum(i["amount_subtotal"] for i in items),
            "amount_total": sum(i["amount_total"] for i in items),
            "currency": currencies.pop(), "payment_intent": None,
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "created": created,
            "expires_at": _integer(params["expires_at"], "expires_at") if "expires_at" in params else created + 86400,
            "livemode": False,
        }
        self._state.sessions[session_id] = session
        self._state.line_items[session_id] = items
        self._state.payment_intent_data[session_id] = {**intent_data, "metadata": intent_metadata}
        return self._with_expansions(session, params)

    def _line_items(self, raw: Any) -> list[dict[str, Any]]:
        if not raw:
            raise _missing("line_items")
        if not isinstance(raw, list):
            raise StripeApiError(400, "Invalid array", param="line_items")
        items = []
        for index, entry in enumerate(raw):
            where = f"line_items[{index}]"
            if not isinstance(entry, dict):
                raise StripeApiError(400, "Invalid object", param=where)
            if "price" in entry:
                raise StripeApiError(400, "This fake implements price_data line items only", param=f"{where}[price]")
            price_data = entry.get("price_data")
            if not isinstance(price_data, dict):
                raise _missing(f"{where}[price_data]")
            currency = price_data.get("currency")
            if not currency:
                raise _missing(f"{where}[price_data][currency]")
            if not re.fullmatch(r"[a-z]{3}", currency):
                raise StripeApiError(400, f"Invalid currency: {currency}", param=f"{where}[price_data][currency]")
            if "unit_amount" not in price_data:
                raise _missing(f"{where}[price_data][unit_amount]")
            unit_amount = _integer(price_data["unit_amount"], f"{where}[price_data][unit_amount]")
            product = price_data.get("product_data")
            if not isinstance(product, dict) or not product.get("name"):
                raise _missing(f"{where}[price_data][product_data][name]")
            if "quantity" not in entry:
                raise _missing(f"{where}[quantity]")
            quantity = _integer(entry["quantity"], f"{where}[quantity]", minimum=1)
            items.append({
                "id": new_id("li"), "object": "item", "currency": currency, "quantity": quantity,
                "description": product["name"], "amount_subtotal": unit_amount * quantity,
                "amount_total": unit_amount * quantity,
                "price": {
                    "id": new_id("price"), "object": "price", "currency": currency,
                    "unit_amount": unit_amount, "type": "one_time", "product": new_id("prod"),
                },
            })
        return items

    def _retrieve_session(self, session_id: str, params: dict[str, Any]) -> dict[str, Any]:
        session = self._state.sessions.get(session_id)
        if session is None:
            raise StripeApiError(
                404, f"No such checkout.session: '{session_id}'", param="session", code="resource_missing"
            )
        return self._with_expansions(session, params)

    def _with_expansions(self, session: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        result = copy.deepcopy(session)
        expand = params.get("expand") or []
        for path in expand if isinstance(expand, list) else [expand]:
            if path == "line_items":
                items = copy.deepcopy(self._state.line_items[session["id"]])
                result["line_items"] = {
                    "object": "list", "data": items, "has_more": False,
                    "url": f"/v1/checkout/sessions/{session['id']}/line_items",
                }
            else:
                raise StripeApiError(
                    400, f"This property cannot be expanded ({path}).", param="expand"
                )
        return result


def _handler_for(fake: StripeFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "stripe-fake"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = fake.handle(method, self.path, headers, body)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Request-Id", new_id("req", 14))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
