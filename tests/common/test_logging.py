"""Logs of an exception in both formats: the console line shows the traceback, the JSON line
carries it as structured frames, and neither makes the logging call itself fail."""

from __future__ import annotations

import json

import pytest
import structlog

from services.common.logging import configure_logging


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
