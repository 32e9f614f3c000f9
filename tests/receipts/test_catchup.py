"""A receipts service that was down catches up: payments taken while it is unreachable all get
their receipt once it returns, numbered without gaps, none twice (the payments outbox redelivers)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.payments.models import OUTBOX_TABLES
from services.receipts import service
from services.receipts.models import Receipt
from tests.payments.test_flow import pay, relay_for

Headers = Callable[..., dict[str, str]]


def test_receipts_down_while_payments_are_taken_then_catches_up_once(
    payments_client: TestClient, receipts_client: TestClient, principal_headers: Headers
) -> None:
    receipts_up = False

    def route(request: httpx.Request) -> httpx.Response:
        if not receipts_up:
            raise httpx.ConnectError("receipts is down", request=request)
        answer = receipts_client.request(
            request.method, str(request.url), content=request.read(), headers=dict(request.headers)
        )
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    relay = relay_for(payments_client, httpx.Client(transport=httpx.MockTransport(route)))
    taken = {pay(payments_client, principal_headers) for _ in range(5)}
    for _ in range(2):
        assert relay.run_once().delivered == 0
        time.sleep(0.003)

    receipts_up = True
    time.sleep(0.003)
    delivered = 0
    for _ in range(5):
        delivered += relay.run_once().delivered
        time.sleep(0.003)
    assert delivered == 5
    # A lost acknowledgement makes the outbox deliver everything again: nothing changes.
    with payments_client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        session.execute(OUTBOX_TABLES.deliveries.update().values(delivered_at=None))
        session.commit()
    assert relay.run_once().delivered == 5

    database = receipts_client.app.state.database  # type: ignore[attr-defined]
    with database.sessionmaker() as session:
        stored = list(session.scalars(select(Receipt).order_by(Receipt.number)))
        assert {str(r.payment_id) for r in stored} == taken
        assert [r.number for r in stored] == [1, 2, 3, 4, 5]
        issuing: Any = receipts_client.app.state.issuing  # type: ignore[attr-defined]
        verdict = service.verify_series(session, series_key=stored[0].series_key, verifier=issuing.verifier)
    assert verdict.intact and verdict.checked == 5
