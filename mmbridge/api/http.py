"""The HTTP layer: one shared aiohttp session, Bearer auth, retries and rate limits.

Retry rules, chosen so that a retry never does something twice:

* Connection failures before the request left (refused, DNS): always retried; nothing was sent.
* 429: always retried after the server's ``Retry-After`` (or ``X-RateLimit-Reset``); Mattermost's
  limiter refuses a request before any handler runs, so nothing was done.
* Connection lost after sending, timeouts, 502/503/504: retried only for idempotent requests
  (GET, PUT, DELETE, and POSTs that the caller marks idempotent, such as post creation, which
  carries a ``pending_post_id`` the server deduplicates on).
* 500 ``api.post.deduplicate_create_post.pending`` (the same create is still in flight on the
  server): retried for idempotent requests; the retry then gets the post that was made.
* Anything else raises the matching :class:`~mmbridge.errors.MattermostError` at once.

Bounds on what the server sends, so a broken or hostile server cannot exhaust memory or time:

* Bodies are read in chunks and counted after decompression: over ``max_response_size`` (JSON
  answers, 64 MiB) or ``max_download_size`` (raw answers such as files, 100 MiB) the read stops
  and :class:`~mmbridge.errors.ResponseTooLargeError` is raised, at once when ``Content-Length``
  already says more. It is not retried: the same request would get the same answer.
* An error answer's body is only read up to 64 KiB (enough for any AppError), then cut off.
* ``timeout`` covers each whole try, body included, so a body that trickles forever ends; an
  idempotent request is retried after that like any timeout, so one call lasts at most about
  ``max_attempts * timeout`` plus the backoff.
* WebSocket messages are capped at ``max_ws_message_size`` (16 MiB); a bigger one closes the
  socket, and the stream reconnects (see :mod:`mmbridge.api.websocket`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from ..errors import (
    PENDING_POST_IN_FLIGHT,
    MalformedResponseError,
    MattermostConnectionError,
    MattermostError,
    ResponseTooLargeError,
    error_from_response,
)
from ..types import safejson
from .ratelimit import RateLimiter
from .redaction import SecretFilter
from .retry import RetryPolicy
from .validation import MAX_FILE_SIZE

RequestObserver = Callable[[str, str, int, float], None]
"""Called after every HTTP exchange with (method, path, status or 0, seconds)."""

Payload = bytes | aiohttp.FormData | None
PayloadFactory = Callable[[], Payload]

_IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_JSON_HEADERS: Final = {"Content-Type": "application/json"}
DEFAULT_USER_AGENT: Final = "mmbridge/0.1"
DEFAULT_MAX_RESPONSE_SIZE: Final = 64 * 1024 * 1024
"""The largest JSON answer read by default (bytes, after decompression)."""
DEFAULT_MAX_DOWNLOAD_SIZE: Final = MAX_FILE_SIZE
"""The largest raw answer (a file, an image) read by default: the server's default file limit."""
DEFAULT_MAX_WS_MESSAGE_SIZE: Final = 16 * 1024 * 1024
"""The largest WebSocket message accepted by default (bytes)."""
ERROR_BODY_LIMIT: Final = 64 * 1024
"""How much of an error answer's body is read; the rest is cut off (an AppError is small)."""
_READ_CHUNK: Final = 64 * 1024


class HTTPResponse:
    """A finished exchange: status, headers and the whole body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: CIMultiDictProxy[str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        """The body decoded as JSON; a body that is not JSON raises :class:`MalformedResponseError`."""
        try:
            return safejson.loads(self.body)
        except ValueError:
            raise MalformedResponseError(
                f"server answered HTTP {self.status} with a body that is not JSON",
                status=self.status,
            ) from None


class _Shared:
    """What every HTTPAPI made from one root shares: the server's URLs, session, retry policy,
    limiter, server back-off, observer and logger. Kept apart so a sibling per puppet token costs
    little more than its token."""

    def __init__(
        self,
        base_url: URL,
        session: aiohttp.ClientSession | None,
        retry: RetryPolicy,
        limiter: RateLimiter | None,
        timeout: aiohttp.ClientTimeout,
        user_agent: str,
        observer: RequestObserver | None,
        log: logging.Logger,
        max_response_size: int,
        max_download_size: int,
        max_ws_message_size: int,
        redactor: SecretFilter | None,
    ) -> None:
        self.base_url = base_url
        self.api_url = base_url / "api" / "v4"
        self.retry = retry
        self.log = log
        self.session = session
        self.owns_session = session is None
        self.limiter = limiter
        self.timeout = timeout
        self.user_agent = user_agent
        self.observer = observer
        self.max_response_size = max_response_size
        self.max_download_size = max_download_size
        self.max_ws_message_size = max_ws_message_size
        self.redactor = redactor
        self.paused_until = 0.0
        self.server_version = ""
        self.closed = False

    def get_session(self) -> aiohttp.ClientSession:
        if self.closed:
            raise MattermostConnectionError("this client was closed")
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(
                timeout=self.timeout,
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                connector=aiohttp.TCPConnector(limit=100),
            )
            self.owns_session = True
        return self.session


class HTTPAPI:
    """Authenticated HTTP access to one Mattermost server's REST API v4.

    One root ``HTTPAPI`` owns the aiohttp session (created on first use); :meth:`with_token` makes
    siblings for other users' tokens that share it, along with the rate limiter and any 429 back-off.

    Args:
        base_url: the server's address, e.g. ``https://chat.example.com``.
        token: a personal access token, bot token or session token (``None`` for unauthenticated calls).
        session: an aiohttp session to use instead of creating one (the caller then closes it).
        retry: the retry policy.
        rate_limiter: a client-side limiter; ``None`` sends as fast as the server allows.
        timeout: the total time for one try of one request, in seconds, reading the body included.
        observer: a callback after each exchange, for metrics.
        max_response_size: the largest JSON answer read (bytes, after decompression).
        max_download_size: the largest raw answer (:meth:`request_raw`: files, images) read.
        max_ws_message_size: the largest WebSocket message accepted (bytes).
        redactor: a log filter that learns every token this API and its siblings use, so that no
            log line shows them (see :mod:`mmbridge.api.redaction`).
    """

    __slots__ = ("_authorization", "_hint_paused_until", "_shared")

    def __init__(
        self,
        base_url: str | URL,
        token: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30.0,
        user_agent: str = DEFAULT_USER_AGENT,
        observer: RequestObserver | None = None,
        log: logging.Logger | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        max_download_size: int = DEFAULT_MAX_DOWNLOAD_SIZE,
        max_ws_message_size: int = DEFAULT_MAX_WS_MESSAGE_SIZE,
        redactor: SecretFilter | None = None,
    ) -> None:
        url = URL(base_url)
        if not url.is_absolute() or url.scheme not in ("http", "https"):
            raise ValueError("base_url must be an absolute http:// or https:// URL")
        for name, size in (
            ("max_response_size", max_response_size),
            ("max_download_size", max_download_size),
            ("max_ws_message_size", max_ws_message_size),
        ):
            if size <= 0:
                raise ValueError(f"{name} must be a positive number of bytes")
        if redactor is not None and token:
            redactor.add(token)
        self._authorization = f"Bearer {token}" if token else None
        #: Until when an empty-bucket hint on a success holds this client (only this one).
        self._hint_paused_until = 0.0
        self._shared = _Shared(
            url.with_path(url.path.rstrip("/"), encoded=True).with_query(None),
            session,
            retry or RetryPolicy(),
            rate_limiter,
            aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10.0)),
            user_agent,
            observer,
            log or logging.getLogger("mmbridge.api"),
            max_response_size,
            max_download_size,
            max_ws_message_size,
            redactor,
        )

    def __repr__(self) -> str:
        token = "<set>" if self._authorization else "<none>"
        shown = self.base_url.with_user(None)  # never show credentials someone put in the URL
        return f"{type(self).__name__}(base_url={str(shown)!r}, token={token})"

    @property
    def base_url(self) -> URL:
        """The server's address."""
        return self._shared.base_url

    @property
    def api_url(self) -> URL:
        """``<base_url>/api/v4``."""
        return self._shared.api_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy (shared with siblings)."""
        return self._shared.retry

    @property
    def log(self) -> logging.Logger:
        """The logger (shared with siblings)."""
        return self._shared.log

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called on this family of APIs."""
        return self._shared.closed

    @property
    def has_token(self) -> bool:
        """Whether requests carry a token."""
        return self._authorization is not None

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The client-side limiter shared by this API and its siblings."""
        return self._shared.limiter

    @property
    def redactor(self) -> SecretFilter | None:
        """The log filter that learns this family's tokens, if one was given."""
        return self._shared.redactor

    @property
    def max_response_size(self) -> int:
        """The largest JSON answer read, in bytes (shared with siblings)."""
        return self._shared.max_response_size

    @property
    def max_download_size(self) -> int:
        """The largest raw answer (file, image) read, in bytes (shared with siblings)."""
        return self._shared.max_download_size

    @property
    def max_ws_message_size(self) -> int:
        """The largest WebSocket message accepted, in bytes (shared with siblings)."""
        return self._shared.max_ws_message_size

    @property
    def server_version(self) -> str:
        """The last ``X-Version-Id`` the server sent (empty before the first answer)."""
        return self._shared.server_version

    def with_token(self, token: str | None) -> HTTPAPI:
        """An API for another token that shares everything else with this one (cheaply: one
        object and the header value). The token is added to the redactor, if there is one."""
        redactor = self._shared.redactor
        if redactor is not None and token:
            redactor.add(token)
        sibling = HTTPAPI.__new__(HTTPAPI)
        sibling._authorization = f"Bearer {token}" if token else None
        sibling._shared = self._shared
        sibling._hint_paused_until = 0.0
        return sibling

    def uses_token(self, token: str) -> bool:
        """Whether requests carry ``token`` (compared in constant time; the token is not kept)."""
        return hmac.compare_digest(self._authorization or "", f"Bearer {token}")

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization} if self._authorization else {}

    async def close(self) -> None:
        """Close the session if this family of APIs created it."""
        shared = self._shared
        shared.closed = True
        if shared.owns_session and shared.session is not None and not shared.session.closed:
            await shared.session.close()

    async def __aenter__(self) -> HTTPAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def ws_connect(
        self,
        path: Sequence[str],
        params: Mapping[str, str],
        *,
        heartbeat: float,
        max_msg_size: int | None = None,
    ) -> aiohttp.ClientWebSocketResponse:
        """Open a WebSocket on an API path, authenticated like every request.

        A message over ``max_msg_size`` bytes (default :attr:`max_ws_message_size`) closes the
        socket with code 1009 and is received as an ``ERROR`` message. A refused handshake raises
        the matching :class:`MattermostError` (401 for a bad token).
        """
        url = self.url(path).with_scheme("wss" if self.base_url.scheme == "https" else "ws")
        if params:
            url = url.with_query(params)
        limit = self.max_ws_message_size if max_msg_size is None else max_msg_size
        if limit <= 0:
            raise ValueError("max_msg_size must be a positive number of bytes")
        try:
            return await self._shared.get_session().ws_connect(
                url, headers=self._auth_headers(), heartbeat=heartbeat, autoping=True, max_msg_size=limit
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise error_from_response(exc.status, b"", method="GET", path=url.path) from None

    def url(self, path: Sequence[str]) -> URL:
        """The URL of an API path given as segments, e.g. ``("users", user_id)``."""
        return self.api_url.joinpath(*path)

    async def request(
        self,
        method: str,
        path: Sequence[str],
        *,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
        payload: PayloadFactory | None = None,
        idempotent: bool | None = None,
        dedupe: bool = False,
    ) -> Any:
        """Send a request and return its JSON answer (``None`` for an empty body).

        Args:
            method: the HTTP method.
            path: path segments under ``/api/v4``; each is quoted.
            json_body: a value to send as JSON.
            params: the query string.
            payload: a callable making a fresh non-JSON body for each try (e.g. multipart).
            idempotent: whether sending twice is harmless; defaults to True except for POST.
            dedupe: the server deduplicates this request within its 30 s window (post creation);
                retries after an ambiguous failure stop at :attr:`RetryPolicy.dedupe_window`.

        Raises:
            ResponseTooLargeError: the answer is over :attr:`max_response_size`.
        """
        response = await self.request_raw(
            method,
            path,
            json_body=json_body,
            params=params,
            payload=payload,
            idempotent=idempotent,
            dedupe=dedupe,
            max_size=self.max_response_size,
        )
        if not response.body:
            return None
        return response.json()

    async def request_raw(
        self,
        method: str,
        path: Sequence[str],
        *,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
        payload: PayloadFactory | None = None,
        idempotent: bool | None = None,
        dedupe: bool = False,
        max_size: int | None = None,
    ) -> HTTPResponse:
        """Like :meth:`request` but return the whole response (status, headers, raw body).

        ``max_size`` bounds the body (bytes, after decompression); by default it is
        :attr:`max_download_size`, since raw answers are files and images.

        Raises:
            ResponseTooLargeError: the answer is over ``max_size``.
        """
        limit = self.max_download_size if max_size is None else max_size
        if limit <= 0:
            raise ValueError("max_size must be a positive number of bytes")
        url = self.url(path)
        if params:
            url = url.with_query({key: str(value) for key, value in params.items()})
        headers = self._auth_headers()
        make_body: PayloadFactory | None = payload
        if json_body is not None:
            encoded = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
            headers.update(_JSON_HEADERS)

            def make_body() -> Payload:
                return encoded

        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        return await self._send(method, url, headers, make_body, idempotent, dedupe, limit)

    async def _send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        make_body: PayloadFactory | None,
        idempotent: bool,
        dedupe: bool,
        limit: int,
    ) -> HTTPResponse:
        shared = self._shared
        policy = self.retry
        session = shared.get_session()
        started = time.monotonic()
        attempts = 0
        rate_limited = 0
        in_flight_waits = 0
        maybe_done = False  # an earlier try may have reached the server and done the work
        error: MattermostError | None = None
        while True:
            await self._wait_for_turn()
            # Whatever was waited for (backoff, 429, the limiter), a try that may repeat work
            # already done must reach the server while it still remembers pending_post_id.
            repeats_work = error is not None and maybe_done and (dedupe or in_flight_waits > 0)
            if repeats_work and time.monotonic() - started > policy.dedupe_window:
                assert error is not None
                raise error
            attempts += 1
            sent_at = time.monotonic()
            body = make_body() if make_body is not None else None
            try:
                async with session.request(
                    method, url, data=body, headers=headers, timeout=shared.timeout
                ) as resp:
                    content = await self._read_body(method, url, resp, limit)
                    response = HTTPResponse(resp.status, resp.headers, content)
            except ResponseTooLargeError as exc:
                self._observe(method, url, exc.status, sent_at)
                raise
            except aiohttp.ClientConnectorError as exc:
                self._observe(method, url, 0, sent_at)
                error = MattermostConnectionError(
                    f"cannot connect to {url.host}:{url.port}: {type(exc).__name__}",
                    method=method,
                    path=url.path,
                )
                retryable = True
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._observe(method, url, 0, sent_at)
                reason = "timed out" if isinstance(exc, TimeoutError) else "connection lost"
                error = MattermostConnectionError(
                    f"{reason} before the server answered ({type(exc).__name__})",
                    method=method,
                    path=url.path,
                )
                maybe_done = True
                retryable = idempotent
            else:
                self._observe(method, url, response.status, sent_at)
                version = response.headers.get("X-Version-Id")
                if version:
                    shared.server_version = version
                if response.status < 400:
                    self._note_rate_headers(response)
                    return response
                if response.status == 429:
                    rate_limited += 1
                    wait = _retry_after(response)
                    error = self._error(method, url, response, retry_after=wait)
                    if rate_limited > policy.max_rate_limited_attempts:
                        raise error
                    if wait > policy.max_rate_limit_wait:
                        raise error
                    elapsed = time.monotonic() - started
                    if maybe_done and dedupe and elapsed + wait > policy.dedupe_window:
                        raise error  # waiting would outlast the server's memory of this create
                    self.log.info("rate limited on %s %s; waiting %.1f s", method, url.path, wait)
                    self._pause(wait)
                    attempts -= 1  # a 429 did nothing; it does not use up a try
                    continue
                error = self._error(method, url, response)
                in_flight = response.status == 500 and error.error_id == PENDING_POST_IN_FLIGHT
                if response.status not in policy.retry_statuses and not in_flight:
                    raise error
                maybe_done = True
                retryable = idempotent
                if in_flight and idempotent:
                    # The server is still making this very post: wait for it (bounded by the
                    # dedupe window below), without using up the tries kept for failures.
                    attempts -= 1
                    in_flight_waits += 1
            if not retryable or attempts >= policy.max_attempts:
                raise error
            delay = policy.backoff(attempts + in_flight_waits)
            window_left = policy.dedupe_window - (time.monotonic() + delay - started)
            if maybe_done and window_left < 0 and (dedupe or in_flight_waits):
                raise error
            self.log.debug(
                "%s %s failed (%s); try %d in %.2f s",
                method,
                url.path,
                error.message,
                attempts + 1,
                delay,
            )
            await asyncio.sleep(delay)

    async def _read_body(self, method: str, url: URL, resp: aiohttp.ClientResponse, limit: int) -> bytes:
        """The body, read in chunks and counted as decompressed, so neither a lying or missing
        ``Content-Length`` nor a gzip bomb makes it bigger than ``limit``."""
        if resp.status >= 400:
            limit = min(limit, ERROR_BODY_LIMIT)
        elif resp.content_length is not None and resp.content_length > limit:
            resp.close()
            raise self._too_large(method, url, resp, limit, f"Content-Length says {resp.content_length}")
        body = bytearray()
        while True:
            chunk = await resp.content.read(_READ_CHUNK)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > limit:
                resp.close()  # the rest is never read; the connection is not reused
                if resp.status >= 400:
                    return bytes(body[:limit])  # enough to tell the error
                raise self._too_large(method, url, resp, limit, "the body went on past it")

    def _too_large(
        self, method: str, url: URL, resp: aiohttp.ClientResponse, limit: int, detail: str
    ) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the answer is over the client's limit of {limit} bytes ({detail}); "
            "raise max_response_size or max_download_size if it is legitimate",
            limit=limit,
            status=resp.status,
            method=method,
            path=url.path,
            request_id=resp.headers.get("X-Request-Id", ""),
        )

    async def _wait_for_turn(self) -> None:
        shared = self._shared
        delay = max(shared.paused_until, self._hint_paused_until) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if shared.limiter is not None:
            await shared.limiter.acquire()

    def _pause(self, seconds: float) -> None:
        shared = self._shared
        shared.paused_until = max(shared.paused_until, time.monotonic() + seconds)
        if shared.limiter is not None:
            shared.limiter.pause(seconds)

    def _note_rate_headers(self, response: HTTPResponse) -> None:
        # The server's bucket is empty: wait for one slot. X-RateLimit-Reset is the time until the
        # bucket is full again (Limit slots), so one slot frees after Reset / Limit.
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return
        try:
            limit = max(int(response.headers.get("X-RateLimit-Limit", "1")), 1)
        except ValueError:
            limit = 1
        # A hint from an answer that succeeded: never long, and only for this client (a bogus
        # Reset must not freeze the puppets sharing its pool); a real 429 says how long to wait
        # and pauses every sibling (the server's default limit is per address, not per token).
        pause = min(_retry_after(response) / limit, MAX_HINT_PAUSE)
        self._hint_paused_until = max(self._hint_paused_until, time.monotonic() + pause)

    def _observe(self, method: str, url: URL, status: int, sent_at: float) -> None:
        elapsed = time.monotonic() - sent_at
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("%s %s -> %s in %.1f ms", method, url.path, status, elapsed * 1000)
        observer = self._shared.observer
        if observer is not None:
            observer(method, url.path, status, elapsed)

    @staticmethod
    def _error(
        method: str, url: URL, response: HTTPResponse, *, retry_after: float | None = None
    ) -> MattermostError:
        return error_from_response(
            response.status,
            response.body,
            method=method,
            path=url.path,
            request_id=response.headers.get("X-Request-Id", ""),
            retry_after=retry_after,
        )


#: The longest pause an empty bucket on a successful answer imposes (seconds).
MAX_HINT_PAUSE = 1.0


def _retry_after(response: HTTPResponse) -> float:
    """Seconds to wait, from ``Retry-After`` or else ``X-RateLimit-Reset`` (relative seconds)."""
    for header in ("Retry-After", "X-RateLimit-Reset"):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds > 1_000_000_000:  # some proxies send an epoch time instead
            seconds -= time.time()
        return max(seconds, 0.0)
    return 1.0
