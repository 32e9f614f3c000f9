"""Fault scenario: the receipts service is down while citizens pay. Payments succeed through the
gateway meanwhile; when receipts comes back, the outbox relay delivers what it missed, and every
payment has exactly one receipt, numbered without gaps, on an intact chain."""

from __future__ import annotations

import signal
from collections import Counter
from typing import Any

import httpx

from tests.resilience.processes import Suite, report, soak, start_suite, wait_until


def create_payment(api: httpx.Client, n: int) -> str:
    response = api.post(
        "/v1/payments",
        json={
            "amount": 1000 + n,
            "currency": "EUR",
            "reference": f"FAULT-R-{n:05d}",
            "description": f"Fault scenario fee {n}",
            "return_url": "https://example.org/back",
        },
    )
    assert response.status_code == 201, response.text
    payment_id: str = response.json()["payment_id"]
    return payment_id


def pay(api: httpx.Client, payment_id: str) -> None:
    response = api.post(
        f"/pay/{payment_id}", data={"card_number": "4242424242424242", "expiry": "12/40", "cvc": "123"}
    )
    assert response.status_code == 303, response.text


def all_receipts(api: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = api.get("/v1/receipts", params={"limit": 200, "offset": len(items)})
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        if len(items) >= body["total"] or not body["items"]:
            return items


def test_receipts_down_while_payments_succeed(suite: Suite) -> None:
    gateway, keys = start_suite(suite, with_invoicing=False)
    count = soak(20, 200)
    down_after = count // 4
    officer = httpx.Client(base_url=gateway, headers=keys.headers("officer"), timeout=20)
    payer = httpx.Client(base_url=gateway, timeout=20)
    receipts = suite.procs["receipts"]
    paid: list[str] = []
    try:
        for n in range(count):
            if n == down_after:
                receipts.kill(signal.SIGTERM)
            payment_id = create_payment(officer, n)
            pay(payer, payment_id)
            paid.append(payment_id)
        # While receipts is down the gateway answers for it with a problem, not a hang.
        down = officer.get("/v1/receipts")
        assert down.status_code in (502, 503), down.text
        assert down.headers["content-type"].startswith("application/problem+json")
        receipts.start()
        found = wait_until(
            lambda: (items := all_receipts(officer)) and len(items) >= count and items,
            60,
            f"{count} receipts\n{suite.logs()}",
        )
        per_payment = Counter(item["payment_id"] for item in found)
        duplicated = sum(n - 1 for n in per_payment.values() if n > 1)
        lost = len(set(paid) - set(per_payment))
        numbers = sorted(item["number"] for item in found)
        series = {item["series"] for item in found}
        checks = [officer.get(f"/v1/receipts/series/{key}/verification").json() for key in sorted(series)]
        report(
            "receipts down",
            payments_paid=len(paid),
            paid_while_down=count - down_after,
            receipts=len(found),
            duplicated=duplicated,
            lost=lost,
            numbers=f"{numbers[0]}..{numbers[-1]}",
            chains_intact=all(check["intact"] for check in checks),
        )
        assert (duplicated, lost, len(found)) == (0, 0, count)
        assert len(series) == 1 and numbers == list(range(1, count + 1))
        assert all(check["intact"] and check["checked"] == count for check in checks), checks
    finally:
        officer.close()
        payer.close()
