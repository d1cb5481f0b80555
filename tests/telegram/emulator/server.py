"""The HTTP side: an aiohttp server on 127.0.0.1 answering ``/bot<token>/<method>`` and files.

Every call passes holds, injected failures and weather, is recorded, then answered late by
``latency`` (the effect happens first, as when a client times out on Telegram).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, bad_request
from .observation import CallRecord
from .wire import JSON, _coerce, _Upload

if TYPE_CHECKING:
    from .core import BotApiEmulator


class ServerMixin:
    """Lifecycle, request parsing, dispatch to the method table, call records."""

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        self._stopping.clear()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._wake_webhook()  # a webhook set before a restart of the server

    async def stop(self) -> None:
        """Release holds, end long polls and shut the server down."""
        self._stopping.set()
        await self._stop_webhook()
        for hold in list(self.holds):
            hold.release()
        if self._active_poll is not None:
            self._active_poll.terminated = True
            self._active_poll.wake.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("emulator not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    async def _parse(self, request: web.Request) -> tuple[JSON, dict[str, _Upload]]:
        params: JSON = {k: _coerce(k, v) for k, v in request.query.items()}
        files: dict[str, _Upload] = {}
        if request.method != "POST" or not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON encoded request body") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON encoded request body")
            params.update({k: _coerce(k, v) for k, v in body.items()})
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = _Upload(value.filename, value.content_type, value.file.read())
            else:
                params[key] = _coerce(key, value)
        return params, files

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        name = request.match_info["method"]
        handler = self._methods.get(name.lower())
        method = getattr(handler, "_api_name", name)
        try:
            params, files = await self._parse(request)
        except ApiError as exc:
            self._record(method, {}, exc)
            return web.json_response(exc.payload(), status=exc.code)
        if handler is None:
            missing = ApiError(404, "Not Found")
            self._record(method, params, missing)
            return web.json_response(missing.payload(), status=404)
        for hold in [h for h in self.holds if h.matches(method, params)]:
            if not await hold._block(request):
                return web.Response(status=499)
        started = self.clock()
        try:
            failure = self._take_failure(method, params)
            weather = method != "getUpdates" and self.fault_rate > 0
            if failure is None and weather and self.random.random() < self.fault_rate:
                failure = ApiError(502, "Bad Gateway")
            if failure is not None:
                raise failure
            if method == "getUpdates":
                result: Any = await self._get_updates(params, request)
            else:
                result = handler(params, files)
        except ApiError as exc:
            self._record(method, params, exc, started)
            body, status = exc.payload(), exc.code
        else:
            self._record(method, params, None, started, result)
            body, status = {"ok": True, "result": result}, 200
        delay = self.latency
        if self.latency_jitter > 0 and method != "getUpdates":
            delay += self.random.random() * self.latency_jitter
        if delay > 0:
            # Processed already, answered late: a client timeout does not undo the effect.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        return web.json_response(body, status=status)

    def _record(
        self,
        method: str,
        params: JSON,
        error: ApiError | None,
        started: float | None = None,
        result: Any = None,
    ) -> None:
        self.calls.append(
            CallRecord(
                method=method,
                params=params,
                ok=error is None,
                error=error.description if error else None,
                error_code=error.code if error else None,
                result=result,
                t=started if started is not None else self.clock(),
            )
        )
        self._changed()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
        if request.match_info["token"] != self.token:
            return web.json_response(not_found, status=404)
        stored = self._paths.get(request.match_info["path"])
        if stored is None:
            return web.json_response(not_found, status=404)
        self.downloads.append(stored.file_id)
        self._changed()
        return web.Response(body=stored.data, content_type="application/octet-stream")
