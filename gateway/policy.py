"""Where each public path goes and who may call it: two small tables, read top to bottom.

``ROUTES`` maps a path prefix to the service that answers it and says whether an API key is
needed. ``ACCESS`` lists, for the paths that need a key, which roles may use which methods.
A path that no route names is not exposed (404 from the gateway itself): in particular the
services' own ``/webhooks/...`` receivers, ``/healthz`` and ``/metrics`` stay internal.

Provider webhooks (Stripe calling payments) will be exposed by adding a route with
``Auth.PROVIDER_SIGNATURE`` to ``ROUTES``: the gateway then forwards the request without a key
and without a caller identity, and the service verifies the provider's signature itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from services.common.identity import Role

T = TypeVar("T")
ANY_METHOD = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Upstream(StrEnum):
    INVOICING = "invoicing"
    PAYMENTS = "payments"
    RECEIPTS = "receipts"


class Auth(StrEnum):
    API_KEY = "api_key"  # a valid, unrevoked key whose role ACCESS admits
    PUBLIC = "public"  # pages for citizens: no key, rate-limited per client address
    PROVIDER_SIGNATURE = "provider_signature"  # no key; the service verifies the provider's signature
    SESSION = "session"  # pages: the API key from the header or the SESSION_COOKIE a login page set


# Set by the invoicing pages' login form (HttpOnly, Secure, SameSite=Strict, Path=/), the one login
# of every officer page (/invoicing, /reconciliation); read only on SESSION routes, so the API
# itself never accepts a cookie.
SESSION_COOKIE = "tessera_session"


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    upstream: Upstream
    auth: Auth


@dataclass(frozen=True, slots=True)
class AccessRule:
    prefix: str
    methods: frozenset[str]
    roles: frozenset[Role]


ROUTES: tuple[Route, ...] = (
    Route("/v1/invoices", Upstream.INVOICING, Auth.API_KEY),
    Route("/v1/payments", Upstream.PAYMENTS, Auth.API_KEY),
    Route("/v1/payment-requests", Upstream.PAYMENTS, Auth.API_KEY),
    Route("/v1/receipts", Upstream.RECEIPTS, Auth.API_KEY),
    Route("/v1/reconciliation", Upstream.RECEIPTS, Auth.API_KEY),
    Route("/pay", Upstream.PAYMENTS, Auth.PUBLIC),
    Route("/webhooks/stripe", Upstream.PAYMENTS, Auth.PROVIDER_SIGNATURE),
    Route("/verify", Upstream.RECEIPTS, Auth.PUBLIC),
    Route("/v1/inbox", Upstream.INVOICING, Auth.API_KEY),
    Route("/v1/routing-codes", Upstream.INVOICING, Auth.API_KEY),
    Route("/invoicing", Upstream.INVOICING, Auth.SESSION),
    Route("/invoicing/login", Upstream.INVOICING, Auth.PUBLIC),
    Route("/reconciliation", Upstream.RECEIPTS, Auth.SESSION),
)

_SUPPLIER, _OFFICER, _ADMIN, _SERVICE = Role.SUPPLIER, Role.OFFICER, Role.ADMIN, Role.SERVICE

# Finer checks (a supplier sees only its own invoices, which invoice actions are officer-only)
# belong to the services, which receive the caller's role and supplier identity.
ACCESS: tuple[AccessRule, ...] = (
    AccessRule("/v1/invoices", ANY_METHOD, frozenset({_SUPPLIER, _OFFICER, _ADMIN})),
    AccessRule("/v1/payments", ANY_METHOD, frozenset({_OFFICER, _ADMIN, _SERVICE})),
    AccessRule("/v1/payment-requests", ANY_METHOD, frozenset({_OFFICER, _ADMIN, _SERVICE})),
    AccessRule("/v1/receipts", ANY_METHOD, frozenset({_OFFICER, _ADMIN})),
    AccessRule("/v1/reconciliation", ANY_METHOD, frozenset({_OFFICER, _ADMIN})),
    AccessRule("/v1/keys", ANY_METHOD, frozenset({_ADMIN})),
    AccessRule("/v1/inbox", ANY_METHOD, frozenset({_OFFICER, _ADMIN})),
    AccessRule("/v1/routing-codes", ANY_METHOD, frozenset({_OFFICER, _ADMIN})),
    AccessRule("/invoicing", ANY_METHOD, frozenset({_SUPPLIER, _OFFICER, _ADMIN})),
    AccessRule("/invoicing/portal", ANY_METHOD, frozenset({_SUPPLIER})),
    AccessRule("/invoicing/inbox", ANY_METHOD, frozenset({_OFFICER, _ADMIN})),
    AccessRule("/reconciliation", READ_METHODS, frozenset({_OFFICER, _ADMIN})),
)


def under(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` itself or below it, segment-wise (``/v1/payments-x`` is not under
    ``/v1/payments``)."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _prefixes(path: str) -> Iterator[str]:
    """The prefixes ``path`` is :func:`under`, longest first: the path itself, then the path cut
    before each of its slashes (``""`` standing for ``"/"``)."""
    if not path:
        return
    yield path
    cut = path.rfind("/")
    while cut >= 0:
        yield path[:cut]
        cut = path.rfind("/", 0, cut)


class _Index(Generic[T]):
    """A table's entries by prefix (``""`` for ``"/"``), so that finding the longest prefix a
    path is under costs a few dict probes, whatever the size of the table (every request does it
    twice). Tables are built once, at import or by ``create_app``, so each one's index is built
    the first time it is used and kept, with the table itself so that its id is not reused."""

    _built: ClassVar[dict[int, tuple[object, _Index[Any]]]] = {}

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self.by_prefix: dict[str, T] = {}
        for prefix, entry in entries:
            key = "" if prefix == "/" else prefix
            if (key and not key.startswith("/")) or key.endswith("/"):
                raise ValueError(f"a table prefix must start with '/' and not end with one: {prefix!r}")
            self.by_prefix[key] = entry

    @classmethod
    def of(cls, table: tuple[Any, ...], entries: Callable[[], Iterable[tuple[str, T]]]) -> _Index[T]:
        kept = cls._built.get(id(table))
        if kept is None or kept[0] is not table:
            kept = (table, cls(entries()))
            cls._built[id(table)] = kept
        return kept[1]

    def longest(self, path: str) -> T | None:
        by_prefix = self.by_prefix
        for prefix in _prefixes(path):
            entry = by_prefix.get(prefix)
            if entry is not None:
                return entry
        return None


def find_route(path: str, routes: tuple[Route, ...] = ROUTES) -> Route | None:
    """The route for ``path`` (the longest matching prefix), or ``None`` when it is not exposed."""
    index: _Index[Route] = _Index.of(routes, lambda: ((r.prefix, r) for r in reversed(routes)))
    return index.longest(path)


def _roles_by_method(rules: tuple[AccessRule, ...]) -> Iterator[tuple[str, dict[str, frozenset[Role]]]]:
    """Each prefix with, for each method, the roles of all the rules of that prefix allowing it."""
    table: dict[str, dict[str, set[Role]]] = {}
    for rule in rules:
        by_method = table.setdefault(rule.prefix, {})
        for method in rule.methods:
            by_method.setdefault(method, set()).update(rule.roles)
    for prefix, by_method in table.items():
        yield prefix, {method: frozenset(roles) for method, roles in by_method.items()}


_NOBODY: frozenset[Role] = frozenset()


def allowed_roles(method: str, path: str, rules: tuple[AccessRule, ...] = ACCESS) -> frozenset[Role]:
    """The roles that may call ``method path``; empty when no rule admits anyone (fail closed):
    the rules of the longest prefix ``path`` is under decide, and those of shorter ones do not."""
    index: _Index[dict[str, frozenset[Role]]] = _Index.of(rules, lambda: _roles_by_method(rules))
    by_method = index.longest(path)
    return by_method.get(method.upper(), _NOBODY) if by_method is not None else _NOBODY


def unsafe_path(path: str) -> bool:
    """A path with ``.`` or ``..`` segments could be normalised into another prefix after the
    policy check (``/v1/invoices/../payments``), and some parsers read a backslash as a slash,
    so the gateway refuses both outright."""
    if "\\" in path:
        return True
    return "." in path and any(segment in (".", "..") for segment in path.split("/"))
