"""Payments fixtures: localstripe, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.payments.servers import Localstripe


@pytest.fixture(scope="session")
def localstripe() -> Iterator[Localstripe]:
    server = Localstripe()
    server.start()
    yield server
    server.stop()
