"""The gateway's domain errors, each a :class:`services.common.errors.TesseraError` with its
status and stable code, rendered as problem+json by the common handlers::

    TesseraError
    ├── BadRequest
    │   └── UnsafePath (400 unsafe_path)
    ├── Unauthorized
    │   ├── MissingApiKey (401 missing_api_key)
    │   ├── InvalidApiKey (401 invalid_api_key)
    │   └── RevokedApiKey (401 revoked_api_key)
    ├── Forbidden
    │   └── RoleNotAllowed (403 role_not_allowed)
    ├── NotFound
    │   └── ApiKeyNotFound (404 api_key_not_found)
    ├── Unprocessable
    │   └── InvalidKeyRequest (422 invalid_key_request)
    ├── PayloadTooLarge
    │   └── BodyTooLarge (413 body_too_large)
    ├── TooManyRequests
    │   └── RateLimited (429 rate_limited, with Retry-After)
    ├── ServiceUnavailable
    │   └── RateLimiterUnavailable (503 rate_limiter_unavailable)
    ├── UpstreamUnreachable (502 upstream_unreachable)
    │   └── UpstreamRefused (502 upstream_unreachable: no connection, nothing sent)
    └── UpstreamTimeout (504 upstream_timeout)
"""

from __future__ import annotations

from services.common.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TesseraError,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)


class UnsafePath(BadRequest):
    code = "unsafe_path"


class MissingApiKey(Unauthorized):
    code = "missing_api_key"


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"


class RevokedApiKey(Unauthorized):
    code = "revoked_api_key"


class RoleNotAllowed(Forbidden):
    code = "role_not_allowed"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class InvalidKeyRequest(Unprocessable):
    code = "invalid_key_request"


class BodyTooLarge(PayloadTooLarge):
    code = "body_too_large"


class RateLimited(TooManyRequests):
    code = "rate_limited"


class RateLimiterUnavailable(ServiceUnavailable):
    code = "rate_limiter_unavailable"


class UpstreamUnreachable(TesseraError):
    status, code, title = 502, "upstream_unreachable", "Service unreachable"


class UpstreamRefused(UpstreamUnreachable):
    """No connection could be made: the request never reached the service, so another replica
    may take it whatever its method."""


class UpstreamTimeout(TesseraError):
    status, code, title = 504, "upstream_timeout", "Service timed out"
