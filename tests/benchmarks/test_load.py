"""The wrk wrapper: requests made unique per send, prepared requests sent once each, and the
result line parsed. Runs wrk for a second against a tiny local server."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

from benchmarks._load import LoadError, Prepared, Template, load, parse_output
from tests.benchmarks.conftest import Recorder

if shutil.which("wrk") is None:
    if os.environ.get("CI"):
        pytest.fail("wrk is missing: apt-get install wrk", pytrace=False)
    pytest.skip("wrk is not installed (apt-get install wrk)", allow_module_level=True)


def test_a_template_makes_every_request_unique(server: str) -> None:
    work = Template("/v1/x", body=b'{"n": "@@N@@"}', headers={"Idempotency-Key": "key-@@N@@"})
    result = load(server, work, seconds=1, connections=4, threads=2)
    assert result.requests > 10
    assert result.statuses == {201: result.requests} and result.non_2xx == 0
    keys = [key for key, _ in Recorder.seen]
    bodies = [body for _, body in Recorder.seen]
    assert len(set(keys)) == len(keys) and len(set(bodies)) == len(bodies)
    assert all(b"@@N@@" not in body and key.startswith("key-") for key, body in Recorder.seen)
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


def test_prepared_requests_go_once_each_and_repeats_are_counted(server: str) -> None:
    requests = [(f"item {i}".encode(), {"Idempotency-Key": f"k{i}"}) for i in range(5)]
    requests.append((b"refuse", {"Idempotency-Key": "k-refused"}))
    result = load(server, Prepared("/v1/x", requests), seconds=1, connections=2, threads=2)
    sent = [body for _, body in Recorder.seen]
    assert set(sent) == {body for body, _ in requests}
    assert result.repeated >= result.requests - len(requests) > 0
    assert result.non_2xx >= 1 and 409 in result.statuses
    assert not result.all_answered(201)


def test_output_without_a_result_line_is_an_error() -> None:
    with pytest.raises(LoadError, match="no result line"):
        parse_output("Running 1s test @ http://127.0.0.1:1\n")
    parsed = parse_output(
        "TESSERA-WRK-RESULT requests=10 duration_us=2000000 errors=1 p50=1500 p90=2000 p99=3000 "
        "max=4000 repeated=0 statuses=201:9,500:1\n"
    )
    assert (parsed.rate, parsed.p99_ms, parsed.non_2xx, parsed.socket_errors) == (5.0, 3.0, 1, 1)
    assert parsed.answers() == "201: 9, 500: 1, socket errors: 1"


def test_missing_wrk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("benchmarks._load.WRK", "wrk-that-is-not-there")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(LoadError, match="apt-get install wrk"):
        load(url, Template("/"), seconds=1)
