"""The gateway: Tessera's one public entry point (port 8000).

A request goes through, in order: the route table (``policy.ROUTES``: which service answers a
path, and whether it needs a key), admission (``admission.Gatekeeper``: the API key, as
``Authorization: Bearer tsk_...`` or ``X-Api-Key``, checked by ``service.authenticate``; the
access table ``policy.ACCESS``: which roles may call which prefix and method; the caller's
request budget, ``ratelimit``), and the proxy (``proxy.Proxy``), which signs the caller into
``X-Tessera-Principal`` and forwards the request with the services' HTTP clients
(``upstream``). Requests for the services skip FastAPI, which serves the gateway's own
endpoints (``endpoints``); ``proxy.py`` says why. Keys are managed with ``tessera keys`` or the
admin API under ``/v1/keys``.
"""
