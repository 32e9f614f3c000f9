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

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.common.identity import Role

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


def _longest(prefixes: Iterable[str], path: str) -> str | None:
    matching = [p for p in prefixes if under(path, p)]
    return max(matching, key=len) if matching else None


def find_route(path: str, routes: tuple[Route, ...] = ROUTES) -> Route | None:
    """The route for ``path`` (the longest matching prefix), or ``None`` when it is not exposed."""
    prefix = _longest((r.prefix for r in routes), path)
    return next((r for r in routes if r.prefix == prefix), None)


def allowed_roles(method: str, path: str, rules: tuple[AccessRule, ...] = ACCESS) -> frozenset[Role]:
    """The roles that may call ``method path``; empty when no rule admits anyone (fail closed)."""
    method = method.upper()
    prefix = _longest((r.prefix for r in rules), path)
    roles: set[Role] = set()
    for rule in rules:
        if rule.prefix == prefix and method in rule.methods:
            roles |= rule.roles
    return frozenset(roles)


def unsafe_path(path: str) -> bool:
    """A path with ``.`` or ``..`` segments could be normalised into another prefix after the
    policy check (``/v1/invoices/../payments``), and some parsers read a backslash as a slash,
    so the gateway refuses both outright."""
    return "\\" in path or any(segment in (".", "..") for segment in path.split("/"))
