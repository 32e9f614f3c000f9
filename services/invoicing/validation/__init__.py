"""Tessera's EN 16931 validator for UBL 2.1 invoices and credit notes: a pure library.

    >>> from services.invoicing.validation import validate
    >>> report = validate(xml_bytes)
    >>> report.valid, [(f.rule, f.location) for f in report.findings]

Hardened parse, UBL 2.1 XSD, then every EN 16931 business rule of the CEN/TC 434 artefacts
(release 1.3.16), implemented natively. See ``engine.py`` for the stages.
"""

from services.invoicing.validation.engine import RuleInfo, rule_catalogue, validate
from services.invoicing.validation.findings import Finding, Severity, ValidationReport

__all__ = ["Finding", "RuleInfo", "Severity", "ValidationReport", "rule_catalogue", "validate"]
