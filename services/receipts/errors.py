"""Receipts errors, each with its HTTP status and stable code::

NotFound (404)
└── ReceiptNotFound (receipt_not_found)
BadRequest (400)
└── EventMalformed (webhook_event_malformed, from services.common.webhooks)
Unprocessable (422)
└── EventDataInvalid (event_data_invalid): a known event type whose data is not usable
"""

from __future__ import annotations

from services.common.errors import NotFound, Unprocessable


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"


class EventDataInvalid(Unprocessable):
    code, title = "event_data_invalid", "Event data invalid"
