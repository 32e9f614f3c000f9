"""The languages of the partner cities' citizens (en, it, et, hu, sv): which one a page speaks,
and how money looks in it. Each service keeps its own words; this is what they share.

Numbers and money follow the CLDR conventions of each language's home country (English as in
Ireland: day before month, the euro), through Babel.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from babel.numbers import format_currency, get_currency_precision

LANGUAGES: tuple[str, ...] = ("en", "it", "et", "hu", "sv")
LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType(
    {"en": "English", "it": "Italiano", "et": "Eesti", "hu": "Magyar", "sv": "Svenska"}
)
LOCALES: Mapping[str, str] = MappingProxyType(
    {"en": "en_IE", "it": "it_IT", "et": "et_EE", "hu": "hu_HU", "sv": "sv_SE"}
)
_MAX_ACCEPT_LANGUAGE_ITEMS = 20


def _base(tag: str) -> str:
    return tag.strip().split("-")[0].split("_")[0].lower()


def choose_language(*, switch: str | None, accept_language: str | None, fallback: str | None) -> str:
    """The page language: an explicit switch (``?lang=``), else the browser's best supported
    ``Accept-Language`` entry (RFC 9110 quality values), else ``fallback``, else English."""
    if switch and _base(switch) in LANGUAGES:
        return _base(switch)
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        for position, part in enumerate(accept_language.split(",")[:_MAX_ACCEPT_LANGUAGE_ITEMS]):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            params = params.strip()
            if params.startswith("q="):
                try:
                    quality = float(params[2:])
                except ValueError:
                    quality = 0.0
            if _base(tag) in LANGUAGES and quality > 0:
                ranked.append((-quality, position, _base(tag)))
        if ranked:
            return min(ranked)[2]
    if fallback and _base(fallback) in LANGUAGES:
        return _base(fallback)
    return "en"


def minor_unit_digits(currency: str) -> int:
    """Digits after the decimal point of a currency's minor unit (2 for EUR, GBP, SEK and HUF)."""
    return int(get_currency_precision(currency))


def format_money(amount_minor: int, currency: str, language: str) -> str:
    """``4500, "EUR", "it"`` -> ``45,00 €``; exact (Decimal), never through a float."""
    value = Decimal(amount_minor).scaleb(-minor_unit_digits(currency))
    return str(format_currency(value, currency, locale=LOCALES.get(language, LOCALES["en"])))
