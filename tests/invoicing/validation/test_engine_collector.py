"""Asked to (the command line does), the engine holds Python's cyclic garbage collector off while
validating, and only then; by default (services) it leaves the collector alone."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.invoicing.validation import validate
from services.invoicing.validation.engine import _CollectorPause
from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules.base import REGISTRY, Doc, Element, Rule
from tests.invoicing.validation.support import INVOICE, require_schemas


@pytest.fixture(autouse=True, scope="module")
def schemas() -> Path:
    return require_schemas()


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_the_collector_is_off_during_the_rules_and_back_on_after(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def spy(doc: Doc) -> Iterator[Element]:
        seen.append(gc.isenabled())
        return iter(())

    monkeypatch.setitem(REGISTRY, "SPY", Rule("SPY", Severity.FATAL, (), "Spy.", spy))
    validate(INVOICE.read_bytes(), pause_collector=True)
    validate(INVOICE.read_bytes())
    assert seen == [False, True]
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        validate(INVOICE.read_bytes(), pause_collector=True)
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


@pytest.mark.usefixtures("collector_on")
def test_overlapping_pauses_end_with_the_last_one() -> None:
    pause = _CollectorPause()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with pause():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other)
    with pause():
        worker.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread is still validating
    release.set()
    worker.join(5)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_crash_inside_the_pause_still_ends_it() -> None:
    pause = _CollectorPause()
    with pytest.raises(RuntimeError), pause():
        raise RuntimeError("boom")
    assert gc.isenabled()
