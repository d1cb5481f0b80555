"""The Bot API's HTTP client: python-telegram-bot's `BaseRequest` on one aiohttp session.

Why not PTB's own (httpx): profiled on a broadcast, httpx, httpcore and anyio were ~70 % of
PTB's cost per send, and httpcore scans its whole connection pool on every request, so more
than 8 sends in flight got slower. aiohttp's connector hands out a free keep-alive connection
in constant time: the same PTB code sends several times faster (`make bench`).

What PTB expects of a `BaseRequest` is mirrored from its `HTTPXRequest`: every timeout is a
`TimedOut` (a `NetworkError`), every other transport failure a `NetworkError` naming the
aiohttp error, and any HTTP answer comes back as (status, body) for PTB to read Telegram's
`description`, `retry_after` and `migrate_to_chat_id` from. `HTTP_BACKEND=httpx` keeps PTB's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from yarl import URL

log = logging.getLogger(__name__)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@functools.lru_cache(maxsize=64)
def _timeout(
    connect: float | None, read: float | None, write: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """PTB's four timeouts in aiohttp's terms: waiting for a pooled connection and opening one
    (`connect`), opening the socket (`sock_connect`), silence while reading (`sock_read`).
    aiohttp has no write timeout, so the whole request is bounded by the four added up (a stalled
    upload ends too); None anywhere means no bound, as in PTB."""
    parts = (connect, read, write, pool)
    total = None if None in parts else sum(p for p in parts if p is not None)
    acquire = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=acquire, sock_connect=connect, sock_read=read)


class AiohttpRequest(BaseRequest):
    """One `aiohttp.ClientSession` per request object, opened by `initialize()` (or the first
    request) and closed by `shutdown()`; `connection_pool_size` connections at most."""

    def __init__(
        self,
        connection_pool_size: int = 64,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        # A proxy from HTTPS_PROXY / HTTP_PROXY / NO_PROXY, looked up once per host (as httpx
        # reads them once): aiohttp's own trust_env would read the environment per request.
        self._proxies: dict[tuple[str, str | None], URL | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        self._closed = False
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                timeout=_timeout(self._connect, self._read, self._write, self._pool),
            )

    async def shutdown(self) -> None:
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _proxy(self, url: URL) -> URL | None:
        key = (url.scheme, url.host)
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(url)[0]
            except LookupError:
                self._proxies[key] = None
        return self._proxies[key]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        if self._session is None:
            await self.initialize()
        assert self._session is not None
        files = request_data is not None and request_data.contains_files
        body: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if files:
                body = _multipart(request_data)
            else:
                body, headers = request_data.url_encoded_parameters().encode(), FORM
        given = (connect_timeout, read_timeout, write_timeout, pool_timeout)
        timeout = None
        if files or not all(isinstance(value, DefaultValue) for value in given):
            timeout = _timeout(
                self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout,
                self._read if isinstance(read_timeout, DefaultValue) else read_timeout,
                (self._media_write if files else self._write)
                if isinstance(write_timeout, DefaultValue)
                else write_timeout,
                self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout,
            )
        target = URL(url, encoded=True)
        options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            async with self._session.request(
                method, target, data=body, headers=headers, proxy=self._proxy(target), **options
            ) as response:
                payload = await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut(
                "Pool or connect timeout: no connection to the Bot API within the time allowed. "
                "The request was *not* sent to Telegram."
            ) from error
        except TimeoutError as error:  # sock_read, or the whole request's bound
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
        if log.isEnabledFor(logging.DEBUG):
            log.debug('HTTP Request: %s %s "%d"', method, url, response.status)
        return response.status, payload


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """Parameters and files (InputFile) as multipart/form-data, as PTB's httpx backend sends."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form


class RawUpdates(BaseRequest):
    """getUpdates' own request object (PTB polls through a request object of its own) around
    either backend: the updates Telegram answered go to `received` as parsed JSON before PTB
    decodes them, so the update inbox can store each update as Telegram sent it, a whole batch
    at once (bot/inbox.py), instead of encoding PTB's objects back to JSON one at a time."""

    def __init__(self, inner: BaseRequest, received: Callable[[list[JSONDict]], None]) -> None:
        self.inner = inner
        self.received = received

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        return await self.inner.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )

    # PTB documents this as the place to change how answers are read and calls it on the
    # request object; its base declares it a staticmethod, which an override needing the
    # object cannot be.
    def parse_json_payload(self, payload: bytes) -> JSONDict:  # type: ignore[override]
        answer = self.inner.parse_json_payload(payload)
        result = answer.get("result") if isinstance(answer, dict) and answer.get("ok") else None
        if isinstance(result, list):
            self.received(result)
        return answer


def make_request(backend: str, *, pool_size: int) -> BaseRequest:
    """The Bot API client of `HTTP_BACKEND`, with PTB's default timeouts."""
    if backend == "httpx":
        return HTTPXRequest(connection_pool_size=pool_size)
    return AiohttpRequest(connection_pool_size=pool_size)
