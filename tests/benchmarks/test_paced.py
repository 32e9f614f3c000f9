"""The open-loop generator: it keeps the asked rate, sends each request once, and counts latency
from when a request was due, so a server that falls behind shows in the percentiles."""

from __future__ import annotations

import time

from benchmarks._load import Prepared, Template
from benchmarks._paced import paced
from tests.benchmarks.conftest import Recorder


def test_requests_go_out_at_the_asked_rate_each_made_unique(server: str) -> None:
    work = Template("/v1/x", body=b'{"n": "@@N@@"}', headers={"Idempotency-Key": "key-@@N@@"})
    result = paced(server, work, rate=100, seconds=1.5)
    assert result.requests == 150 and result.statuses == {201: 150} and result.socket_errors == 0
    assert 80 <= result.rate <= 105  # the last answers arrive a little after the last is sent
    keys = [key for key, _ in Recorder.seen]
    assert len(set(keys)) == 150 and all(key.startswith("key-") for key in keys)
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


def test_prepared_requests_are_sent_once_each(server: str) -> None:
    requests = [(f"item {i}".encode(), {"Idempotency-Key": f"k{i}"}) for i in range(20)]
    result = paced(server, Prepared("/v1/x", requests), rate=40, seconds=0.5)
    assert sorted(body for _, body in Recorder.seen) == sorted(body for body, _ in requests)
    assert result.statuses == {201: 20}


def test_a_server_that_falls_behind_shows_in_the_latency(server: str) -> None:
    """The server answers one request at a time, slowly: a closed-loop sender would just slow
    down; here the queue grows and the late requests count the time they waited."""
    Recorder.delay = 0.05
    try:
        started = time.perf_counter()
        result = paced(server, Template("/v1/x", body=b"{}"), rate=100, seconds=0.5)
    finally:
        Recorder.delay = 0.0
    assert result.statuses == {201: 50}
    assert time.perf_counter() - started >= 0.5
    assert result.max_ms > 100  # queued behind the slow ones, counted from when it was due
