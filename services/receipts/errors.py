"""Receipts errors, each with its HTTP status and stable code::

BadRequest (400)
└── EventMalformed (webhook_event_malformed, from services.common.webhooks)
NotFound (404)
├── ReceiptNotFound (receipt_not_found)
├── RunNotFound (reconciliation_run_not_found)
├── SeriesNotFound (receipt_series_not_found)
└── NothingToClose (nothing_to_close): no receipt was issued that day
Conflict (409)
├── OriginalReceiptMissing (original_receipt_missing): a refund arrived before its payment's
│   receipt; the sender retries (the outbox delivers in order per payment, so this is rare)
└── DayAlreadyClosed (day_already_closed)
PayloadTooLarge (413)
└── StatementTooLarge (statement_too_large)
Unprocessable (422)
├── EventDataInvalid (event_data_invalid): a known event type whose data is not usable
├── StatementRejected (statement_rejected): per-line errors in ``errors``; nothing was imported
└── PayoutRejected (payout_rejected): an imported payout that does not add up
ServiceUnavailable (503)
└── PdfNotReady (receipt_pdf_not_ready): the PDF is still being rendered; Retry-After says when
"""

from __future__ import annotations

from services.common.errors import Conflict, NotFound, PayloadTooLarge, ServiceUnavailable, Unprocessable


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"


class SeriesNotFound(NotFound):
    code = "receipt_series_not_found"


class RunNotFound(NotFound):
    code = "reconciliation_run_not_found"


class NothingToClose(NotFound):
    code = "nothing_to_close"


class OriginalReceiptMissing(Conflict):
    code = "original_receipt_missing"


class DayAlreadyClosed(Conflict):
    code = "day_already_closed"


class StatementTooLarge(PayloadTooLarge):
    code = "statement_too_large"


class EventDataInvalid(Unprocessable):
    code, title = "event_data_invalid", "Event data invalid"


class StatementRejected(Unprocessable):
    code, title = "statement_rejected", "Bank statement rejected"


class PayoutRejected(Unprocessable):
    code, title = "payout_rejected", "Payout rejected"


class PdfNotReady(ServiceUnavailable):
    code, title = "receipt_pdf_not_ready", "PDF not ready yet"
