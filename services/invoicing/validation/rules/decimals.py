"""EN 16931 decimal rules BR-DEC-01 .. BR-DEC-28 (UBL binding, CEN/TC 434 artefacts 1.3.16).

Each rule allows at most two digits after the decimal point in one amount. The official test
counts the characters after the first '.' of the value exactly as written
(``string-length(substring-after(x, '.')) <= 2``), so trailing zeros or spaces after the point
count too, and a missing amount passes (other rules require it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from services.invoicing.validation.rules._amounts import (
    Tree,
    all_lines,
    contexts,
    document_allowances,
    document_charges,
    line_allowances,
    line_charges,
    root,
    steps,
    string_value,
    vat_breakdowns,
)
from services.invoicing.validation.rules.base import Doc, Element, each, rule

MAX_DECIMALS = 2
_TAX_AMOUNT = steps("cbc:TaxAmount")[0]


def too_many_decimals(t: Tree, parent: Element, path: str) -> bool:
    """True when the ``path`` amount under ``parent`` has more than two characters after its '.'.

    Several such amounts cannot be tested one by one (the official check errors on a
    sequence), so they count as broken.
    """
    found = t.all(parent, path)
    if len(found) > 1:
        return True
    return bool(found) and _more_than_two(string_value(found[0]))


def _more_than_two(value: str) -> bool:
    _, point, decimals = value.partition(".")
    return bool(point) and len(decimals) > MAX_DECIMALS


def _totals(doc: Doc) -> list[Element]:
    return contexts(doc, "LegalMonetaryTotal")


Contexts = Callable[[Doc], list[Element]]

# (rule, where the amount is checked, the amount, its business term, its name in EN 16931, the element
# without which the rule cannot be broken: the amount itself, or its context where the amount's name is common)
DECIMAL_RULES: tuple[tuple[str, Contexts, str, str, str, str], ...] = (
    ("BR-DEC-01", document_allowances, "cbc:Amount", "BT-92", "Document level allowance amount", "cac:AllowanceCharge"),
    ("BR-DEC-02", document_allowances, "cbc:BaseAmount", "BT-93", "Document level allowance base amount", "cbc:BaseAmount"),
    ("BR-DEC-05", document_charges, "cbc:Amount", "BT-99", "Document level charge amount", "cac:AllowanceCharge"),
    ("BR-DEC-06", document_charges, "cbc:BaseAmount", "BT-100", "Document level charge base amount", "cbc:BaseAmount"),
    ("BR-DEC-09", _totals, "cbc:LineExtensionAmount", "BT-106", "Sum of Invoice line net amount", "cac:LegalMonetaryTotal"),
    ("BR-DEC-10", _totals, "cbc:AllowanceTotalAmount", "BT-107", "Sum of allowances on document level", "cbc:AllowanceTotalAmount"),
    ("BR-DEC-11", _totals, "cbc:ChargeTotalAmount", "BT-108", "Sum of charges on document level", "cbc:ChargeTotalAmount"),
    ("BR-DEC-12", _totals, "cbc:TaxExclusiveAmount", "BT-109", "Invoice total amount without VAT", "cbc:TaxExclusiveAmount"),
    ("BR-DEC-14", _totals, "cbc:TaxInclusiveAmount", "BT-112", "Invoice total amount with VAT", "cbc:TaxInclusiveAmount"),
    ("BR-DEC-16", _totals, "cbc:PrepaidAmount", "BT-113", "Paid amount", "cbc:PrepaidAmount"),
    ("BR-DEC-17", _totals, "cbc:PayableRoundingAmount", "BT-114", "Rounding amount", "cbc:PayableRoundingAmount"),
    ("BR-DEC-18", _totals, "cbc:PayableAmount", "BT-115", "Amount due for payment", "cbc:PayableAmount"),
    ("BR-DEC-19", vat_breakdowns, "cbc:TaxableAmount", "BT-116", "VAT category taxable amount", "cbc:TaxableAmount"),
    ("BR-DEC-20", vat_breakdowns, "cbc:TaxAmount", "BT-117", "VAT category tax amount", "cac:TaxSubtotal"),
    ("BR-DEC-23", all_lines, "cbc:LineExtensionAmount", "BT-131", "Invoice line net amount", "cbc:LineExtensionAmount"),
    ("BR-DEC-24", line_allowances, "cbc:Amount", "BT-136", "Invoice line allowance amount", "cac:AllowanceCharge"),
    ("BR-DEC-25", line_allowances, "cbc:BaseAmount", "BT-137", "Invoice line allowance base amount", "cbc:BaseAmount"),
    ("BR-DEC-27", line_charges, "cbc:Amount", "BT-141", "Invoice line charge amount", "cac:AllowanceCharge"),
    ("BR-DEC-28", line_charges, "cbc:BaseAmount", "BT-142", "Invoice line charge base amount", "cbc:BaseAmount"),
)  # fmt: skip


def _decimal_rule(where: Contexts, path: str) -> Callable[[Doc], Iterator[Element]]:
    def check(doc: Doc) -> Iterator[Element]:
        t = doc.tree
        return iter([parent for parent in where(doc) if too_many_decimals(t, parent, path)])

    return check


for _id, _where, _path, _term, _name, _needs in DECIMAL_RULES:
    rule(_id, terms=(_term,), message=f"The {_name} ({_term}) must have at most two decimals.", needs=_needs)(
        _decimal_rule(_where, _path)
    )


# BR-DEC-13 and BR-DEC-15 are written in the official artefacts as
#   //cac:TaxTotal/cbc:TaxAmount[@currencyID = cbc:DocumentCurrencyCode]
# inside the predicate, cbc:DocumentCurrencyCode (cbc:TaxCurrencyCode) is read as a child of the
# cbc:TaxAmount being filtered, not of the document, so the official rules select an amount only
# when it carries such a child element, which no real amount does. Tessera answers as they do:
# the rules stay silent on every well-formed invoice, whatever BT-110/BT-111 look like.


def _tax_totals_tagged(doc: Doc, currency_element: str) -> list[Element]:
    if _TAX_AMOUNT not in doc.walk.under(steps(currency_element)[0]):  # no amount has such a child
        return []
    t = doc.tree
    return [
        amount
        for total in contexts(doc, "TaxTotal")
        for amount in t.all(total, "cbc:TaxAmount")
        if any(string_value(code) == amount.get("currencyID") for code in t.all(amount, currency_element))
    ]


def _tagged_decimals_broken(doc: Doc, currency_element: str) -> bool:
    selected = _tax_totals_tagged(doc, currency_element)
    if not selected:
        return False
    return len(selected) > 1 or _more_than_two(string_value(selected[0]))


@rule(
    "BR-DEC-13",
    needs="cac:TaxTotal",
    terms=("BT-110",),
    message="The Invoice total VAT amount (BT-110) must have at most two decimals.",
)
def total_vat_decimals(doc: Doc) -> Iterator[Element]:
    return each(root(doc), lambda _: _tagged_decimals_broken(doc, "cbc:DocumentCurrencyCode"))


@rule(
    "BR-DEC-15",
    needs="cbc:TaxCurrencyCode",
    terms=("BT-111",),
    message="The Invoice total VAT amount in accounting currency (BT-111) must have at most two decimals.",
)
def total_vat_accounting_decimals(doc: Doc) -> Iterator[Element]:
    return each(root(doc), lambda _: _tagged_decimals_broken(doc, "cbc:TaxCurrencyCode"))
