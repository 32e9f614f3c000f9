"""Bounds on numbers and dates a caller may send, so that an absurd value is a 422 naming the
field instead of an overflow deep inside (a day of year 1 moved to UTC or back by a look-back
window leaves Python's calendar; an offset past 2**63 does not fit a database integer).

Use the ``Annotated`` aliases in query parameters and schemas: ``Day``, ``Moment``, ``Offset``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, TypeVar

from fastapi import Query
from pydantic import AfterValidator

FIRST_YEAR = 1900
LAST_YEAR = 9998
# Far past any real page of results, and within every database's integer.
MAX_OFFSET = 2**31 - 1

When = TypeVar("When", date, datetime)


def in_calendar(value: When) -> When:
    """``value`` if its year is within the years Tessera handles; ValueError otherwise."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


Day = Annotated[date, AfterValidator(in_calendar)]
Moment = Annotated[datetime, AfterValidator(in_calendar)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")]
