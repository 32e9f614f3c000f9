"""The one namespace map of Tessera's UBL libraries, and small element readers shared by them.

The map extends the validator's (``services.invoicing.validation.rules.base.NS``) with the
ApplicationResponse document namespace, so a prefix means the same thing everywhere.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from services.invoicing.validation.rules.base import NS as _VALIDATOR_NS

Element = etree._Element

APPLICATION_RESPONSE_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"

NS: Final[dict[str, str]] = {**_VALIDATOR_NS, "ar": APPLICATION_RESPONSE_NS}


def qname(prefixed: str) -> str:
    """``"cbc:ID"`` -> ``"{urn:...CommonBasicComponents-2}ID"``."""
    prefix, _, local = prefixed.partition(":")
    return f"{{{NS[prefix]}}}{local}"


def text(el: Element | None, path: str) -> str | None:
    """The stripped text of the leaf element at ``path`` below ``el``; None when absent or blank."""
    if el is None:
        return None
    found = el.find(path, NS)
    if found is None:
        return None
    # The string value, as XPath and Schematron read it: a comment cannot cut "1<!---->161.60" short.
    value = "".join(str(piece) for piece in found.itertext()).strip()
    return value or None


def attribute(el: Element | None, path: str, name: str) -> str | None:
    """The stripped attribute ``name`` of the element at ``path``; None when absent or blank."""
    if el is None:
        return None
    found = el.find(path, NS)
    if found is None:
        return None
    value = found.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None
