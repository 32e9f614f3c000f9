"""Stripe event processing that localstripe does not exercise: a refund Stripe settles later."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.outbox import Outbox, Subscriptions
from services.payments import service, stripe_provider
from services.payments.models import OUTBOX_TABLES, Currency, RefundState
from services.payments.providers import ChargeOutcome
from services.payments.schemas import PaymentCreate, RefundCreate
from tests.payments.test_service import SlowProvider

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OUTBOX = Outbox(OUTBOX_TABLES, Subscriptions())


def test_a_pending_refund_is_settled_by_stripes_refund_event(session: Session) -> None:
    provider = SlowProvider()
    data = PaymentCreate(amount=800, reference="r", description="d", return_url="https://x.test/")
    limits = service.Limits(max_amount={Currency.EUR: 10_000})
    payment = service.create_payment(
        session, data=data, provider=provider, created_by="k", limits=limits, now=NOW
    )
    outcome = ChargeOutcome(
        succeeded=True, provider="stripe", transaction_id=str(payment.provider_transaction_id)
    )
    service.settle(session, payment=payment, outcome=outcome, outbox=OUTBOX, now=NOW)
    refund = service.create_refund(
        session,
        payment_id=payment.id,
        data=RefundCreate(amount=300, refund_amount_available=800),
        provider=provider,
        outbox=OUTBOX,
        created_by="k",
    )
    session.commit()
    assert refund.state == RefundState.SUBMITTED
    summary = service.payment_view(session, payment, provider).refund_summary
    assert (summary.amount_available, summary.amount_submitted) == (500, 300)

    event = {
        "object": "charge",
        "refunds": {"data": [{"id": refund.provider_refund_id, "status": "succeeded"}]},
    }
    assert stripe_provider._process_refund(session, obj=event, outbox=OUTBOX) == "refunds_settled:1"
    # A repeated or unrelated refund event changes nothing more.
    assert stripe_provider._process_refund(session, obj=event, outbox=OUTBOX) == "refunds_settled:0"
    other = {"object": "refund", "id": "re_unknown", "status": "succeeded"}
    assert stripe_provider._process_refund(session, obj=other, outbox=OUTBOX) == "refunds_settled:0"
    session.commit()
    assert refund.state == RefundState.SUCCESS  # type: ignore[comparison-overlap]
    kinds = list(
        session.scalars(select(OUTBOX_TABLES.events.c.type).order_by(OUTBOX_TABLES.events.c.sequence))
    )
    assert kinds == ["payment.succeeded", "payment.refunded"]


@pytest.mark.parametrize(
    "body",
    [b'\xff\xfe{"id": "evt_1"}', b"[1, 2]", b"{not json", b'"text"'],
    ids=["not-utf8", "array", "not-json", "string"],
)
def test_a_correctly_signed_body_that_is_not_an_event_object_is_refused(body: bytes) -> None:
    from services.payments.errors import ProviderSignatureInvalid
    from tests.payments.test_contract import stripe_signature

    provider = offline_provider("whsec_one")
    with pytest.raises(ProviderSignatureInvalid, match="not a Stripe event"):
        provider.verify(body, stripe_signature(body, "whsec_one"))


def test_a_signed_event_is_read_as_plain_json() -> None:
    from tests.payments.test_contract import stripe_event, stripe_signature

    provider = offline_provider("whsec_old", "whsec_new")
    body = stripe_event("payment_intent.succeeded", "pi_123")
    event = provider.verify(body, stripe_signature(body, "whsec_new"))
    assert type(event) is dict and event["data"]["object"]["id"] == "pi_123"


def offline_provider(*secrets: str) -> stripe_provider.StripeProvider:
    """A Stripe provider whose API is unreachable: enough for everything that must not call it."""
    return stripe_provider.StripeProvider.build(
        secret_key="sk_test_x",
        api_base="http://127.0.0.1:9",
        public_url="http://payments.test",
        publishable_key="pk_test_x",
        js_url="http://127.0.0.1:9/js.stripe.com/v3/",
        webhook_secrets=list(secrets),
    )


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [("payment_intent.succeeded", "unknown_payment"), ("customer.created", "ignored")],
)
def test_an_event_that_changes_nothing_is_stored_once_as_processed(
    session: Session, event_type: str, expected: str
) -> None:
    from services.payments.models import ProviderEvent
    from tests.payments.test_contract import stripe_event, stripe_signature

    provider = offline_provider("whsec_one")
    body = stripe_event(event_type, "pi_not_ours")
    signature = stripe_signature(body, "whsec_one")
    receive = stripe_provider.receive_webhook
    assert receive(session, provider=provider, body=body, signature=signature, outbox=OUTBOX) == expected
    assert receive(session, provider=provider, body=body, signature=signature, outbox=OUTBOX) == "duplicate"
    stored = session.scalars(select(ProviderEvent)).all()
    assert [(e.type, e.outcome, e.processed_at is not None) for e in stored] == [(event_type, expected, True)]
