"""The gateway: Tessera's one public entry point (port 8000).

A request goes through, in order: the route table (``policy.ROUTES``: which service answers a
path, and whether it needs a key), the API key (``service.authenticate``: ``Authorization:
Bearer tsk_...`` or ``X-Api-Key``), the access table (``policy.ACCESS``: which roles may call
which prefix and method), the caller's request budget (``ratelimit``), and the proxy
(``proxy.forward``), which signs the caller into ``X-Tessera-Principal`` for the service.
Keys are managed with ``tessera keys`` or the admin API under ``/v1/keys``.
"""
