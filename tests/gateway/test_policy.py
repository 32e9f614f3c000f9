"""The route table and the access policy table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.policy import (
    ACCESS,
    ANY_METHOD,
    ROUTES,
    AccessRule,
    Auth,
    Route,
    Upstream,
    allowed_roles,
    find_route,
    under,
    unsafe_path,
)
from services.common.identity import Role

S, OF, A, SV = Role.SUPPLIER, Role.OFFICER, Role.ADMIN, Role.SERVICE


@pytest.mark.parametrize(
    ("path", "upstream", "auth"),
    [
        ("/v1/invoices", Upstream.INVOICING, Auth.API_KEY),
        ("/v1/invoices/123/accept", Upstream.INVOICING, Auth.API_KEY),
        ("/v1/payments/abc", Upstream.PAYMENTS, Auth.API_KEY),
        ("/v1/payment-requests", Upstream.PAYMENTS, Auth.API_KEY),
        ("/v1/receipts/r1", Upstream.RECEIPTS, Auth.API_KEY),
        ("/v1/reconciliation/runs", Upstream.RECEIPTS, Auth.API_KEY),
        ("/pay/tok_123", Upstream.PAYMENTS, Auth.PUBLIC),
        ("/verify/R-2026-1", Upstream.RECEIPTS, Auth.PUBLIC),
        ("/webhooks/stripe", Upstream.PAYMENTS, Auth.PROVIDER_SIGNATURE),
    ],
)
def test_routes_send_each_prefix_to_its_service(path: str, upstream: Upstream, auth: Auth) -> None:
    route = find_route(path)
    assert route is not None
    assert (route.upstream, route.auth) == (upstream, auth)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/webhooks/events",
        "/webhooks/stripe-x",
        "/healthz",
        "/v1/invoicesX",
        "/v1/payments-export",
        "/v2/invoices",
    ],
)
def test_paths_no_route_names_are_not_exposed(path: str) -> None:
    assert find_route(path) is None


def test_prefix_match_is_by_whole_segments() -> None:
    assert under("/v1/payments/1", "/v1/payments")
    assert under("/v1/payments", "/v1/payments")
    assert not under("/v1/payments-requests", "/v1/payments")


@pytest.mark.parametrize(
    ("method", "path", "roles"),
    [
        ("POST", "/v1/invoices", {S, OF, A}),
        ("GET", "/v1/invoices/1", {S, OF, A}),
        ("POST", "/v1/payments", {OF, A, SV}),
        ("GET", "/v1/payment-requests/9", {OF, A, SV}),
        ("GET", "/v1/receipts", {OF, A}),
        ("POST", "/v1/reconciliation/runs", {OF, A}),
        ("POST", "/v1/keys", {A}),
        ("GET", "/v1/unknown", set()),
        ("TRACE", "/v1/invoices", set()),
    ],
)
def test_access_table(method: str, path: str, roles: set[Role]) -> None:
    assert allowed_roles(method, path) == roles


def test_suppliers_reach_invoices_only() -> None:
    reachable = {r.prefix for r in ACCESS if S in r.roles}
    assert reachable == {"/v1/invoices", "/invoicing", "/invoicing/portal"}


def test_every_keyed_route_has_an_access_rule() -> None:
    for route in ROUTES:
        if route.auth is Auth.API_KEY:
            assert allowed_roles("GET", route.prefix), route.prefix


def test_longest_prefix_wins_and_methods_narrow() -> None:
    rules = (
        AccessRule("/v1/receipts", ANY_METHOD, frozenset({OF})),
        AccessRule("/v1/receipts/public", frozenset({"GET"}), frozenset({S})),
    )
    assert allowed_roles("GET", "/v1/receipts/public/1", rules) == {S}
    assert allowed_roles("POST", "/v1/receipts/public/1", rules) == set()
    assert allowed_roles("POST", "/v1/receipts/2", rules) == {OF}


@pytest.mark.parametrize(
    ("path", "unsafe"),
    [
        ("/v1/invoices/../payments", True),
        ("/v1/invoices/./x", True),
        ("/v1/invoices/..", True),
        ("/v1/invoices\\..\\payments", True),
        ("/v1/invoices/a..b", False),
        ("/v1/invoices/1", False),
    ],
)
def test_dot_segments_are_unsafe(path: str, unsafe: bool) -> None:
    assert unsafe_path(path) is unsafe


# Paths made of the tables' own segments, near misses of them, and odd ones (empty, trailing).
SEGMENTS = st.sampled_from(
    ["v1", "invoices", "payments", "payment-requests", "payments-x", "keys", "pay", "invoicing", "portal"]
    + ["inbox", "reconciliation", "webhooks", "stripe", "verify", "login", "", "1", "v1x", "."]
)
PATHS = st.lists(SEGMENTS, max_size=5).map(lambda segments: "/" + "/".join(segments))


def longest_by_definition(prefixes: list[str], path: str) -> str | None:
    """The longest prefix ``path`` is under, straight from the definition of :func:`under`."""
    matching = [p for p in prefixes if under(path, p)]
    return max(matching, key=len) if matching else None


@given(path=PATHS, method=st.sampled_from(sorted(ANY_METHOD | {"TRACE"})))
def test_lookups_agree_with_the_tables_read_top_to_bottom(path: str, method: str) -> None:
    prefix = longest_by_definition([r.prefix for r in ROUTES], path)
    assert find_route(path) == next((r for r in ROUTES if r.prefix == prefix), None)
    rule_prefix = longest_by_definition([r.prefix for r in ACCESS], path)
    expected = {role for r in ACCESS if r.prefix == rule_prefix and method in r.methods for role in r.roles}
    assert allowed_roles(method, path) == expected


def test_a_table_of_other_prefixes_is_looked_up_by_its_own_entries() -> None:
    routes = (*ROUTES, Route("/", Upstream.PAYMENTS, Auth.PUBLIC))
    assert find_route("/anything/else", routes) == routes[-1]
    assert find_route("/anything/else") is None
    with pytest.raises(ValueError, match="not end with one"):
        find_route("/x", (Route("/x/", Upstream.PAYMENTS, Auth.PUBLIC),))
