"""Payments errors, each with its HTTP status and stable code::

NotFound (404)
├── PaymentNotFound (payment_not_found)
└── PaymentRequestNotFound (payment_request_not_found)
Conflict (409)
├── IllegalTransition (payment_state_conflict)
├── IdempotencyKeyReused (idempotency_key_reused): same key, another body
├── RequestAlreadyPaid (payment_request_paid)
├── RequestNotPayable (payment_request_not_payable): cancelled or expired
├── InstalmentAlreadyPaid (instalment_paid)
└── PaymentNotRefundable (payment_not_refundable): not a successful payment
PreconditionFailed (412)
└── RefundAmountAvailableMismatch (refund_amount_available_mismatch): someone refunded meanwhile
Unprocessable (422)
├── CardRejected (card_invalid): the card details cannot be charged at all (a decline is not
│   an error: it is an outcome, recorded as a failed payment)
├── AmountOverMaximum (amount_over_maximum)
├── AmountNotChargeable (amount_not_chargeable): e.g. HUF not in whole forints
├── CurrencyMismatch (currency_mismatch): not the currency of the payment request
├── AmountMismatch (amount_mismatch): not what the payment request or instalment asks
├── RequestPastDue (payment_request_past_due)
├── InvalidCreditorReference (creditor_reference_invalid)
├── RefundExceedsAvailable (refund_exceeds_available)
└── ImportHasErrors (import_has_errors): rows listed in ``errors``
ProviderFailed (502 provider_error): the payment provider could not be reached or refused the call
Unauthorized (401)
└── ProviderSignatureInvalid (provider_signature_invalid): a provider webhook failed verification
"""

from __future__ import annotations

from services.common.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    TesseraError,
    Unauthorized,
    Unprocessable,
)


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class PaymentRequestNotFound(NotFound):
    code = "payment_request_not_found"


class IllegalTransition(Conflict):
    code, title = "payment_state_conflict", "Payment state conflict"


class IdempotencyKeyReused(Conflict):
    code, title = "idempotency_key_reused", "Idempotency key used with another request"


class RequestAlreadyPaid(Conflict):
    code, title = "payment_request_paid", "Already paid"


class RequestNotPayable(Conflict):
    code, title = "payment_request_not_payable", "Payment request cannot be paid"


class InstalmentAlreadyPaid(Conflict):
    code, title = "instalment_paid", "Instalment already paid"


class PaymentNotRefundable(Conflict):
    code, title = "payment_not_refundable", "Payment cannot be refunded"


class RefundAmountAvailableMismatch(PreconditionFailed):
    code, title = "refund_amount_available_mismatch", "Refund amount available has changed"


class CardRejected(Unprocessable):
    code, title = "card_invalid", "Card details invalid"


class AmountOverMaximum(Unprocessable):
    code, title = "amount_over_maximum", "Amount over the maximum"


class AmountNotChargeable(Unprocessable):
    code, title = "amount_not_chargeable", "Amount cannot be charged in this currency"


class CurrencyMismatch(Unprocessable):
    code, title = "currency_mismatch", "Wrong currency"


class AmountMismatch(Unprocessable):
    code, title = "amount_mismatch", "Amount differs from what is owed"


class RequestPastDue(Unprocessable):
    code, title = "payment_request_past_due", "Payment request past its due date"


class InvalidCreditorReference(Unprocessable):
    code, title = "creditor_reference_invalid", "Invalid creditor reference"


class RefundExceedsAvailable(Unprocessable):
    code, title = "refund_exceeds_available", "Refund larger than what remains"


class ImportHasErrors(Unprocessable):
    code, title = "import_has_errors", "The file has invalid rows"


class ProviderFailed(TesseraError):
    status, code, title = 502, "provider_error", "Payment provider error"


class ProviderSignatureInvalid(Unauthorized):
    code, title = "provider_signature_invalid", "Provider webhook signature invalid"
