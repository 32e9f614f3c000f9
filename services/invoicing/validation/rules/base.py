"""The rule registry and the document context every EN 16931 rule reads.

A rule is a small named function registered with :func:`rule`. It receives the
:class:`Doc` (the parsed UBL document plus shared, lazily computed views of it) and
yields the elements at which it is broken: one yielded element is one finding, located
at that element. Yield the context element of the official assertion (for a rule about
an invoice line, the ``cac:InvoiceLine``; for a document-level rule, ``doc.root``), so
that counts agree with the official artefacts (``<error number="2">`` in the CEN unit tests).

Rules never raise on partial documents: the CEN unit test documents omit mandatory parts,
so every lookup must tolerate absence. The engine still catches an exception from a rule
and turns it into a fatal finding (fail closed), but that is a bug to fix, not a path to use.

Rules must be cheap: the whole validation of an example invoice has a budget of about
1 ms. Prefer ``el.find``/``el.findall``/``el.findtext`` with :data:`NS` (ElementPath, fast)
over XPath, read the shared walk and children map as ``doc.walk`` and ``doc.tree``, and share
other expensive views through :meth:`Doc.memo`. A rule that cannot be broken without some element
names it (``needs=``), and the engine skips it on documents without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from lxml import etree

from services.invoicing.validation.findings import Severity

if TYPE_CHECKING:
    from services.invoicing.validation.rules._amounts import Tree
    from services.invoicing.validation.rules._tree import Walk

Element = etree._Element

NS: dict[str, str] = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "sig": "urn:oasis:names:specification:ubl:schema:xsd:CommonSignatureComponents-2",
    "sac": "urn:oasis:names:specification:ubl:schema:xsd:SignatureAggregateComponents-2",
    "sbc": "urn:oasis:names:specification:ubl:schema:xsd:SignatureBasicComponents-2",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xades": "http://uri.etsi.org/01903/v1.3.2#",
}
INVOICE_NS = NS["inv"]
CREDIT_NOTE_NS = NS["cn"]

T = TypeVar("T")
Check = Callable[["Doc"], Iterable[Element]]


class Doc:
    """One UBL Invoice or CreditNote under validation.

    ``is_credit_note`` switches the names that differ between the two (``InvoiceLine`` /
    ``CreditNoteLine``, ``InvoicedQuantity`` / ``CreditedQuantity``, type code element).
    """

    __slots__ = ("root", "is_credit_note", "views", "walk", "tree")

    def __init__(self, root: Element) -> None:
        # Those modules import this one: they are read here, when the first document is checked.
        from services.invoicing.validation.rules._amounts import Tree
        from services.invoicing.validation.rules._tree import walk

        self.root = root
        self.is_credit_note = root.tag == f"{{{CREDIT_NOTE_NS}}}CreditNote"
        # The two views nearly every rule reads, made at once and read as attributes (without a call):
        # the one walk of the document, and its children by tag read as paths.
        self.walk: Walk = walk(root)
        self.tree: Tree = Tree(self.walk.children)
        # The other views computed so far, by key (see memo()).
        self.views: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[Doc], T]) -> T:
        """Compute a view of the document once per validation and share it between rules."""
        try:
            return self.views[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self.views[key] = compute(self)
            return value

    @property
    def line_tag(self) -> str:
        return "cac:CreditNoteLine" if self.is_credit_note else "cac:InvoiceLine"

    @property
    def quantity_tag(self) -> str:
        return "cbc:CreditedQuantity" if self.is_credit_note else "cbc:InvoicedQuantity"

    @property
    def lines(self) -> list[Element]:
        """The document's lines (BG-25), in document order."""
        return self.memo("lines", lambda d: d.root.findall(d.line_tag, NS))


def text(el: Element | None, path: str | None = None) -> str | None:
    """The stripped text of ``el`` (or of its first ``path`` descendant); None when absent."""
    if el is None:
        return None
    node = el if path is None else el.find(path, NS)
    if node is None:
        return None
    return (node.text or "").strip()


def decimal(value: str | None) -> Decimal | None:
    """An ``xs:decimal`` lexical value as Decimal; None when absent or not a number."""
    if value is None:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True, slots=True)
class Rule:
    """One EN 16931 rule: its id and flag as in the CEN/TC 434 artefacts, the business terms
    it speaks of, a message in Tessera's own words, and the check that finds where it is broken."""

    id: str
    severity: Severity
    terms: tuple[str, ...]
    message: str
    check: Check | None  # None for rules checked by a group pass (see register_group)
    # The tag (``{namespace}local``) of an element without which the rule cannot be broken: the
    # element its contexts are, or the value it tests. The engine skips the check on a document that
    # holds none.
    needs: str | None = None


class Registry(dict[str, Rule]):
    """Rule id -> rule, in registration order, and the rules that have a check of their own (most
    are checked by group passes), listed once for the engine and listed again after any change."""

    def __init__(self) -> None:
        super().__init__()
        self._checked: list[tuple[Rule, Check, str | None]] | None = None

    def checked(self) -> list[tuple[Rule, Check, str | None]]:
        """``(rule, check, needs)`` of every rule with a check of its own, in registration order."""
        if self._checked is None:
            self._checked = [(r, r.check, r.needs) for r in self.values() if r.check is not None]
        return self._checked

    def __setitem__(self, key: str, value: Rule) -> None:
        self._checked = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._checked = None
        super().__delitem__(key)

    def clear(self) -> None:
        self._checked = None
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._checked = None
        super().update(*args, **kwargs)

    def pop(self, *args: Any) -> Any:
        self._checked = None
        return super().pop(*args)

    def popitem(self) -> tuple[str, Rule]:
        self._checked = None
        return super().popitem()

    def setdefault(self, key: str, default: Rule) -> Rule:
        self._checked = None
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> Registry:  # type: ignore[override,misc]
        self._checked = None
        super().update(other)
        return self


REGISTRY = Registry()

GroupCheck = Callable[["Doc"], Iterable[tuple[str, Element]]]
GROUPS: list[GroupCheck] = []


def clark(name: str) -> str:
    """``cac:TaxTotal`` as ``{urn:...CommonAggregateComponents-2}TaxTotal``."""
    prefix, _, local = name.partition(":")
    return "{" + NS[prefix] + "}" + local


def rule(
    rule_id: str,
    *,
    flag: str = "fatal",
    terms: tuple[str, ...] = (),
    message: str,
    needs: str | None = None,
) -> Callable[[Check], Check]:
    """Register the decorated function as the check of ``rule_id``.

    ``needs`` names (``cac:AllowanceCharge``) an element without which the rule cannot be broken: its
    contexts, or the value it tests. A document that holds none is not checked.
    """

    def register(check: Check) -> Check:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} is registered twice")
        needed = None if needs is None else clark(needs)
        REGISTRY[rule_id] = Rule(rule_id, Severity(flag), terms, message, check, needed)
        return check

    return register


def register_group(rules: Iterable[Rule], check: GroupCheck) -> None:
    """Register many table-driven rules (code lists, UBL-CR element lists) checked in one pass.

    ``check`` walks the document once and yields ``(rule_id, element)`` for every breach; each
    rule in ``rules`` carries ``check=None``. Use this where hundreds of rules share one shape,
    so that their cost is one walk of the tree rather than one lookup per rule.
    """
    for r in rules:
        if r.id in REGISTRY:
            raise ValueError(f"rule {r.id} is registered twice")
        REGISTRY[r.id] = r
    GROUPS.append(check)


def each(elements: Iterable[Element], broken: Callable[[Element], bool]) -> Iterator[Element]:
    """Every element for which ``broken`` is true: the common shape of a rule.

    Collected at once (a generator costs more per element, and rules run over every line)."""
    return iter([el for el in elements if broken(el)])
