"""Pure UBL 2.1 libraries the invoicing service calls: no web framework, no database.

- ``facts``: the business terms the buyer's checks need, read from an invoice (:func:`read_facts`).
- ``lifecycle``: Peppol invoice statuses, the transitions Tessera allows, reason and action codes.
- ``response``: Peppol Invoice Response documents (UBL ApplicationResponse) for each status.
- ``seal``: the archive seal (enveloped XAdES-BES in the UBL signature extension) and its check.
- ``render``: a readable HTML rendering of an invoice or credit note.
- ``cli``: ``tessera seal sign|verify``.

The modules are imported one by one (``from services.invoicing.ubl.seal import Sealer``) so that
reading facts does not pay for the signature and template libraries.
"""
