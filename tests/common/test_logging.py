"""Logs of an exception in both formats: the console line shows the traceback, the JSON line
carries it as structured frames, and neither makes the logging call itself fail."""

from __future__ import annotations

import json
import os

import pytest
import structlog

from services.common.logging import configure_logging, new_request_id


def log_a_failure() -> None:
    try:
        raise ZeroDivisionError("the failure being logged")
    except ZeroDivisionError:
        structlog.get_logger("test").exception("round failed", relay="relay-1")


def test_console_format_logs_an_exception_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(service="test", fmt="console")
    log_a_failure()
    err = capsys.readouterr().err
    assert "round failed" in err and "relay-1" in err
    assert "Traceback" in err and "ZeroDivisionError: the failure being logged" in err


def test_json_format_logs_an_exception_as_structured_frames(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(service="test", fmt="json")
    log_a_failure()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "round failed" and line["service"] == "test"
    assert line["exception"][0]["exc_type"] == "ZeroDivisionError"


def test_new_request_ids_are_distinct_in_a_process_and_in_a_forked_child() -> None:
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover  (runs in the child)
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    # The child draws its own prefix: its next id shares nothing with the parent's next one.
    assert from_child not in ids and from_child[:16] != new_request_id()[:16]
