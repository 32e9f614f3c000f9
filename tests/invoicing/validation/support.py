"""Shared helpers for the validator's tests: the fetched UBL schemas and Tessera's own fixtures."""

from __future__ import annotations

import functools
import resource
from pathlib import Path

import pytest

from services.common import ubl_schemas

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ubl"
INVOICE = FIXTURES / "municipal-invoice.xml"
CREDIT_NOTE = FIXTURES / "municipal-creditnote.xml"


@functools.cache
def _fetched() -> Path | str:
    try:
        return ubl_schemas.fetch()
    except ubl_schemas.SchemasError as error:
        return str(error)


def require_schemas() -> Path:
    """The verified UBL 2.1 schema folder, fetched once per test session; skip when unobtainable."""
    result = _fetched()
    if isinstance(result, str):
        pytest.skip(f"UBL 2.1 schemas unavailable, run `make schemas`: {result}")
    return result


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Growth of this process's peak resident memory over a block, in MB.

    On Linux the peak is reset first (``/proc/self/clear_refs``), so the figure is the block's
    own; elsewhere it falls back to ``ru_maxrss``, which can only under-report a growth.
    """

    def __enter__(self) -> PeakMemory:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._exact = _status_kb("VmHWM") is not None
        except OSError:
            self._exact = False
        self._before = self._now()
        self.megabytes = 0.0
        return self

    def _now(self) -> float:
        if self._exact:
            return (_status_kb("VmHWM") or 0) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def __exit__(self, *exc: object) -> None:
        self.megabytes = self._now() - self._before
