"""localstripe (a fake Stripe API with its own Stripe.js and signed webhooks) as a subprocess on
127.0.0.1, for the payments tests; apps under uvicorn come from tests.servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.servers import free_port

# localstripe's server module builds its aiohttp app at import; serving it ourselves binds it to
# 127.0.0.1 only (its own entry point listens on every interface) and starts from an empty store.
LOCALSTRIPE_MAIN = (
    "import sys\n"
    "from aiohttp import web\n"
    "from localstripe.server import app\n"
    "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None)\n"
)


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class Localstripe:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        try:
            import localstripe  # noqa: F401
        except ImportError:
            skip_or_fail(
                "localstripe is not installed (pip install -e '.[dev]'): Stripe contract tests skipped"
            )
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOCALSTRIPE_MAIN, str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                skip_or_fail(f"localstripe exited at start: {error.strip()[-500:]}")
            try:
                httpx.get(f"{self.url}/v1/balance", auth=("sk_test_tessera", ""), timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        skip_or_fail("localstripe did not answer within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()

    def send_webhooks_to(self, url: str, secret: str) -> None:
        response = httpx.post(f"{self.url}/_config/webhooks/tessera", data={"url": url, "secret": secret})
        response.raise_for_status()
