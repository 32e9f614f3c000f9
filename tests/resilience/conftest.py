"""Fixtures of the fault scenarios: a suite of real processes on PostgreSQL, and a webhook
receiver that counts what it was sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.resilience.processes import Receiver, Suite, suite_fixture


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[Suite]:
    yield from suite_fixture(tmp_path)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()
