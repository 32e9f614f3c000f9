"""Stripe behind :class:`~services.payments.providers.PaymentProvider`, with the official SDK.

A Tessera payment opens one PaymentIntent (idempotency key ``tessera-payment-{id}``), which the
payer confirms on Tessera's hosted page with Stripe.js. Tessera learns the outcome from Stripe's
webhooks, verified with the SDK over the raw body (300 s tolerance, every configured secret, so
secrets can rotate), stored once by event id, then processed. Processing does not trust the
order of deliveries: it asks Stripe for the PaymentIntent's current state, so a late or repeated
event cannot undo a settled payment (https://docs.stripe.com/webhooks#event-ordering).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import stripe
from sqlalchemy.orm import Session

from services.common.db import utcnow
from services.common.outbox import Outbox
from services.payments import repository, service
from services.payments.errors import ProviderFailed, ProviderSignatureInvalid
from services.payments.models import UNFINISHED, PaymentState
from services.payments.providers import ChargeOutcome, Checkout, RefundOutcome

TOLERANCE_SECONDS = 300
PAYMENT_INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
    }
)
REFUND_EVENTS = frozenset({"charge.refunded", "refund.updated", "charge.refund.updated", "refund.created"})
PAYOUT_EVENTS = frozenset({"payout.paid"})


def _plain(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    result: dict[str, Any] = value.to_dict()
    return result


class StripeProvider:
    name = "stripe"
    uses_card_form = False

    def __init__(
        self,
        *,
        client: stripe.StripeClient,
        public_url: str,
        publishable_key: str,
        js_url: str,
        webhook_secrets: list[str],
        api_base: str = "https://api.stripe.com",
    ) -> None:
        self.client = client
        self.api_base = api_base
        self.public_url = public_url.rstrip("/")
        self.publishable_key = publishable_key
        self.js_url = js_url
        self.webhook_secrets = webhook_secrets

    @classmethod
    def build(
        cls,
        *,
        secret_key: str,
        api_base: str,
        public_url: str,
        publishable_key: str,
        js_url: str,
        webhook_secrets: list[str],
    ) -> StripeProvider:
        client = stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=2)
        return cls(
            client=client,
            public_url=public_url,
            publishable_key=publishable_key,
            js_url=js_url,
            webhook_secrets=webhook_secrets,
            api_base=api_base,
        )

    def checkout_url(self, payment_id: uuid.UUID) -> str:
        return f"{self.public_url}/pay/{payment_id}"

    def begin(self, *, payment_id: uuid.UUID, amount: int, currency: str, description: str) -> Checkout:
        try:
            params: Any = {
                "amount": amount,
                "currency": currency.lower(),
                "payment_method_types": ["card"],
                "metadata": {"tessera_payment_id": str(payment_id), "description": description[:500]},
            }
            intent = self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": f"tessera-payment-{payment_id}"}
            )
        except stripe.StripeError as error:
            raise ProviderFailed(
                f"Stripe refused to open the payment: {error.user_message or error}"
            ) from error
        return Checkout(provider_id=intent.id, client_secret=intent.client_secret)

    def _charge_details(self, charge_ref: Any) -> dict[str, Any]:
        if isinstance(charge_ref, str):
            return _plain(self.client.v1.charges.retrieve(charge_ref))
        return _plain(charge_ref)

    def _card(self, charge: dict[str, Any], payment_method: Any) -> tuple[str | None, str | None]:
        card = (charge.get("payment_method_details") or {}).get("card") or {}
        if card.get("last4"):
            return card.get("brand"), card.get("last4")
        if isinstance(payment_method, str) and payment_method:
            method = _plain(self.client.v1.payment_methods.retrieve(payment_method))
            card = method.get("card") or {}
        elif isinstance(payment_method, dict):
            card = payment_method.get("card") or {}
        return card.get("brand"), card.get("last4")

    def _balance(self, charge: dict[str, Any]) -> tuple[str | None, int | None, int | None]:
        reference = charge.get("balance_transaction")
        if not reference:
            return None, None, None
        txn = (
            _plain(self.client.v1.balance_transactions.retrieve(reference))
            if isinstance(reference, str)
            else reference
        )
        return str(txn["id"]), int(txn.get("fee") or 0), int(txn.get("net", txn.get("amount", 0)))

    def lookup(self, provider_id: str) -> ChargeOutcome | None:
        try:
            intent = _plain(self.client.v1.payment_intents.retrieve(provider_id))
        except stripe.StripeError as error:
            raise ProviderFailed(f"Stripe could not be asked about {provider_id}: {error}") from error
        status = intent.get("status")
        charge = self._charge_details(intent["latest_charge"]) if intent.get("latest_charge") else {}
        brand, last4 = self._card(charge, intent.get("payment_method")) if charge else (None, None)
        if status == "succeeded":
            txn_id, fee, net = self._balance(charge)
            return ChargeOutcome(
                succeeded=True,
                provider=self.name,
                transaction_id=provider_id,
                card_brand=brand,
                card_last4=last4,
                fee=fee,
                net=net,
                balance_transaction_id=txn_id,
            )
        if status == "canceled":
            return ChargeOutcome(
                succeeded=False, provider=self.name, transaction_id=provider_id, cancelled=True
            )
        failure = intent.get("last_payment_error") or {}
        if status == "requires_payment_method" and failure:
            return ChargeOutcome(
                succeeded=False,
                provider=self.name,
                transaction_id=provider_id,
                card_brand=brand,
                card_last4=last4,
                decline_code=str(failure.get("decline_code") or failure.get("code") or "card_declined"),
            )
        return None

    def refund(self, *, refund_id: uuid.UUID, provider_id: str, amount: int) -> RefundOutcome:
        try:
            refund = _plain(
                self.client.v1.refunds.create(
                    params={
                        "payment_intent": provider_id,
                        "amount": amount,
                        "metadata": {"tessera_refund_id": str(refund_id)},
                    },
                    options={"idempotency_key": f"tessera-refund-{refund_id}"},
                )
            )
        except stripe.StripeError as error:
            raise ProviderFailed(f"Stripe refused the refund: {error.user_message or error}") from error
        status = refund.get("status")
        succeeded = True if status == "succeeded" else False if status in ("failed", "canceled") else None
        return RefundOutcome(provider_refund_id=str(refund["id"]), succeeded=succeeded)

    def cancel(self, provider_id: str) -> bool:
        try:
            self.client.v1.payment_intents.cancel(
                provider_id, options={"idempotency_key": f"tessera-cancel-{provider_id}"}
            )
        except stripe.InvalidRequestError:
            # Stripe refuses to cancel a PaymentIntent that succeeded or is processing.
            return False
        except stripe.StripeError as error:
            raise ProviderFailed(f"Stripe could not cancel {provider_id}: {error}") from error
        return True

    def verify(self, body: bytes, signature: str | None) -> dict[str, Any]:
        """The event, if ``signature`` matches ``body`` under any configured secret."""
        if not signature:
            raise ProviderSignatureInvalid("The Stripe-Signature header is missing")
        last: Exception | None = None
        for secret in self.webhook_secrets:
            try:
                # The SDK checks the signature and the timestamp; the body is then read as plain
                # JSON once (``construct_event`` would also build an SDK object tree from it,
                # which this service turns straight back into a dict).
                stripe.WebhookSignature.verify_header(body, signature, secret, tolerance=TOLERANCE_SECONDS)
            except stripe.SignatureVerificationError as error:
                last = error
                continue
            except ValueError as error:  # a body that is not UTF-8
                raise ProviderSignatureInvalid(f"The webhook body is not a Stripe event: {error}") from error
            try:
                event = json.loads(body)
            except ValueError as error:
                raise ProviderSignatureInvalid(f"The webhook body is not a Stripe event: {error}") from error
            if not isinstance(event, dict):
                raise ProviderSignatureInvalid("The webhook body is not a Stripe event: not a JSON object")
            return event
        raise ProviderSignatureInvalid(f"No configured Stripe webhook secret verifies this delivery ({last})")


def receive_webhook(
    session: Session, *, provider: StripeProvider, body: bytes, signature: str | None, outbox: Outbox
) -> str:
    """Verify, store once, then process a Stripe event; returns what happened (for the log).

    Most events Stripe sends change nothing here: types Tessera does not act on, and payment
    events about intents it did not create. Their outcome is known before storing, so they are
    stored already marked processed, in one statement.
    """
    event = provider.verify(body, signature)
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id or not event_type:
        raise ProviderSignatureInvalid("The verified body lacks an event id or type")
    now = utcnow()
    obj = (event.get("data") or {}).get("object") or {}
    payment_id = None
    if event_type in PAYMENT_INTENT_EVENTS:
        payment_id = repository.payment_id_by_provider_id(session, provider.name, str(obj.get("id")))
        settled_already = "unknown_payment" if payment_id is None else None
    elif event_type in REFUND_EVENTS or event_type in PAYOUT_EVENTS:
        settled_already = None
    else:
        settled_already = "ignored"
    row = repository.store_provider_event(
        session,
        provider=provider.name,
        event_id=event_id,
        type_=event_type,
        payload=event,
        now=now,
        outcome=settled_already,
    )
    if row is None:
        return "duplicate"
    if settled_already is not None:
        return settled_already
    if payment_id is not None:
        outcome = _process_payment_intent(
            session, provider=provider, payment_id=payment_id, intent_id=str(obj.get("id")), outbox=outbox
        )
    elif event_type in REFUND_EVENTS:
        outcome = _process_refund(session, obj=obj, outbox=outbox)
    else:
        outcome = _process_payout(session, provider=provider, payout_id=str(obj.get("id")))
    repository.mark_provider_event(session, row, outcome=outcome, now=now)
    return outcome


def _process_payment_intent(
    session: Session, *, provider: StripeProvider, payment_id: uuid.UUID, intent_id: str, outbox: Outbox
) -> str:
    payment = service.get_payment(session, payment_id=payment_id, for_update=True)
    if payment.state not in UNFINISHED:
        return "already_finished"
    outcome = provider.lookup(intent_id)
    now = utcnow()
    if outcome is None:
        if payment.state is not PaymentState.SUBMITTED:
            service.mark_submitted(session, payment=payment, now=now)
        return "pending"
    service.settle(session, payment=payment, outcome=outcome, outbox=outbox, now=now)
    return "settled"


def _process_refund(session: Session, *, obj: dict[str, Any], outbox: Outbox) -> str:
    refunds = [obj] if obj.get("object") == "refund" else list(((obj.get("refunds") or {}).get("data")) or [])
    settled = 0
    for item in refunds:
        refund = repository.refund_by_provider_id(session, str(item.get("id")))
        status = item.get("status")
        if refund is None or status not in ("succeeded", "failed", "canceled"):
            continue
        settled += service.settle_refund(
            session, refund=refund, succeeded=status == "succeeded", outbox=outbox, now=utcnow()
        )
    return f"refunds_settled:{settled}"


def _process_payout(session: Session, *, provider: StripeProvider, payout_id: str) -> str:
    try:
        listing = provider.client.v1.balance_transactions.list(params={"payout": payout_id, "limit": 100})
        ids = [str(_plain(txn)["id"]) for txn in listing.auto_paging_iter()]
    except stripe.InvalidRequestError as error:
        # A refusal will not change on retry: keep the event (stored above) and say why.
        return f"payout_unlisted:{error.code or error.http_status}"
    except stripe.StripeError as error:
        raise ProviderFailed(f"Stripe could not list payout {payout_id}: {error}") from error
    marked = repository.mark_payout(session, provider=provider.name, transaction_ids=ids, payout_id=payout_id)
    return f"payout_marked:{marked}"
