"""A round-robin HTTP load balancer for replica stories, behaving as nginx does in front of them.

Why: replicas share one public webhook URL; what sits behind it decides what Telegram sees when
one of them dies. Like nginx with ``proxy_next_upstream error timeout``, a request goes to the
backends in turn; a backend that refuses the connection (or does not accept it within
``connect_timeout``) is skipped for the next one. A request that reached a backend is not sent
again (nginx never repeats a non-idempotent POST): a backend that closes the connection answers
502, one that does not answer in ``read_timeout`` 504. With no backend up: 502 Bad Gateway.

    async with Balancer([f"http://127.0.0.1:{port}" for port in ports]) as lb:
        webhook_url = f"{lb.url}/porchlight/hook"
"""

from __future__ import annotations

import socket
from collections import Counter

import aiohttp
from aiohttp import web

# Not forwarded (hop-by-hop, or recomputed for the new connection), as a proxy does.
_HOP_HEADERS = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    }
)


class Balancer:
    """Listens on 127.0.0.1 at a free port; forwards every request to ``backends`` in turn."""

    def __init__(
        self,
        backends: list[str] | None = None,
        *,
        connect_timeout: float = 1.0,
        read_timeout: float = 60.0,
    ) -> None:
        self.backends: list[str] = list(backends or [])  # base URLs, e.g. http://127.0.0.1:8443
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.forwarded: Counter[str] = Counter()  # answers relayed, by backend
        self.skipped: Counter[str] = Counter()  # connections refused or timed out, by backend
        self.answers: Counter[int] = Counter()  # statuses given to clients
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("balancer not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> Balancer:
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> Balancer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _turn(self) -> list[str]:
        """The backends in the order this request tries them; the next request starts one on."""
        backends = list(self.backends)
        if not backends:
            return []
        first = self._next % len(backends)
        self._next = first + 1
        return backends[first:] + backends[:first]

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        timeout = aiohttp.ClientTimeout(
            sock_connect=self.connect_timeout, sock_read=self.read_timeout
        )
        for backend in self._turn():
            try:
                response = await self._http.request(
                    request.method,
                    backend + request.path_qs,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
                self.skipped[backend] += 1  # never reached it: the next one may take it
                continue
            except TimeoutError:
                return self._answer(504, "Gateway Time-out")
            except (aiohttp.ClientError, OSError):
                return self._answer(502, "Bad Gateway")
            return await self._relay(backend, response)
        return self._answer(502, "Bad Gateway")

    async def _relay(self, backend: str, response: aiohttp.ClientResponse) -> web.StreamResponse:
        """The backend's answer, or 502/504 when it dies or stalls before answering in full."""
        try:
            async with response:
                data = await response.read()
        except TimeoutError:
            return self._answer(504, "Gateway Time-out")
        except (aiohttp.ClientError, OSError):
            return self._answer(502, "Bad Gateway")
        self.forwarded[backend] += 1
        self.answers[response.status] += 1
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
        return web.Response(status=response.status, body=data, headers=headers)

    def _answer(self, status: int, reason: str) -> web.Response:
        self.answers[status] += 1
        page = f"<html><head><title>{status} {reason}</title></head><body>{reason}</body></html>"
        return web.Response(status=status, reason=reason, text=page, content_type="text/html")
