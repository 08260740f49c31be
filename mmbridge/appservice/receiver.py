"""The receiver: an aiohttp app Mattermost POSTs to, feeding the dispatcher.

Endpoints (under a prefix, ``/mattermost`` by default):

* ``POST /webhook``: outgoing webhooks (form or JSON). The handler may answer with text to post.
  The post is also dispatched as a ``PostedEvent`` (``source="webhook"``), deduplicated against
  the same post from the WebSocket; with a ``post_reader`` it is the post as the server has it
  (channel, author, thread, props), never the payload's claims.
* ``POST|GET /command``: slash commands; the handler's :class:`CommandResponse` (or text) is the
  answer the user sees.
* ``POST /action``: interactive message buttons and menus; the bridge's action secret must be in
  the action's ``context`` (``mmbridge_secret``), since Mattermost signs nothing.
* ``POST /dialog``: interactive dialog submissions; the secret is the dialog's ``state`` (or
  ``<secret>:<anything>``).
* ``GET /health`` (readiness: every check passes, else 503), ``GET /health/live``, ``GET /metrics``.

Tokens are checked in constant time; an unknown token gets 401 and nothing is dispatched. Bodies
are capped (413); a body that cannot be read gets 400 with the reason; a handler's failure is
logged and answered with a generic message, never a 500 with details.

Slow or piled-up requests cannot hold the receiver's memory or connections:

* ``read_timeout`` (10 s): a connection whose request head has not fully arrived that long after
  it opened (or after its last answer, when kept alive) is closed; a body not read whole within
  it gets 408 and the connection is closed.
* ``max_concurrent_requests`` (256): more integration requests at once than that get 503 with
  ``Retry-After`` at once, before their body is read (counted in ``mmbridge_receiver_requests``
  with status 503). ``/health`` and ``/metrics`` are not counted nor refused.

When :meth:`Receiver.make_app` is mounted in another application, the head timeout is that
application's runner's (``keepalive_timeout``); the body deadline and the cap still hold.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from yarl import URL

from ..api.redaction import SecretFilter
from ..errors import ForbiddenError, NotFoundError
from ..types import Event, OutgoingWebhookEvent, Post, PostedEvent
from ..types.integrations import ActionResponse, CommandResponse, DialogResponse, WebhookResponse
from . import inbound
from .dispatcher import Dispatcher
from .metrics import BridgeMetrics

HealthCheck = Callable[[], Awaitable[bool]]
PostReader = Callable[[str], Awaitable[Post]]
"""Reads a post from the server by id (``client.posts.get``)."""
ACTION_SECRET_KEY = "mmbridge_secret"  # noqa: S105 - the name of a field
"""The key of the bridge's secret in an interactive action's ``context``."""
DEFAULT_MAX_BODY = 256 * 1024
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_MAX_CONCURRENT_REQUESTS = 256
#: The longest the unread rest of a refused body is drained, so the client still gets the answer.
MAX_LINGER = 2.0


class IntegrationTokens:
    """The tokens the receiver accepts, by kind: ``webhook``, ``command``, ``action``.

    With a ``redactor``, each token added is also masked in every log line from then on.
    """

    KINDS = ("webhook", "command", "action")

    def __init__(self, *, redactor: SecretFilter | None = None) -> None:
        self._tokens: dict[str, set[str]] = {kind: set() for kind in self.KINDS}
        self._redactor = redactor

    def __repr__(self) -> str:
        counts = ", ".join(f"{kind}={len(tokens)}" for kind, tokens in self._tokens.items())
        return f"IntegrationTokens({counts})"

    def add(self, kind: str, token: str) -> None:
        """Accept ``token`` for ``kind`` (empty tokens are never accepted)."""
        if token:
            self._tokens[kind].add(token)
            if self._redactor is not None:
                self._redactor.add(token)

    def discard(self, kind: str, token: str) -> None:
        """Stop accepting ``token``."""
        self._tokens[kind].discard(token)

    def accepts(self, kind: str, token: str) -> bool:
        """Whether ``token`` is known, comparing against every known token in constant time."""
        # surrogatepass: a lone surrogate in a hostile request is just a wrong token, not a 500.
        given = token.encode("utf-8", "surrogatepass")
        found = False
        for known in self._tokens[kind]:
            found |= hmac.compare_digest(given, known.encode("utf-8", "surrogatepass"))
        return found and bool(token)


class _Problem(Exception):
    """A request refused with ``status`` and ``message``."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the body was not read whole: the connection cannot be reused


class Receiver:
    """Mattermost's way in: outgoing webhooks, slash commands, actions and dialogs.

    Mount :meth:`make_app` in an aiohttp application (``parent.add_subapp("/mm", ...)``) or run
    it alone with :meth:`start`.

    Args:
        max_body_size: the largest request body read (bytes); a bigger one gets 413.
        read_timeout: seconds for a request head to arrive (when served by :meth:`start`) and,
            separately, for its body to be read whole (408 past it).
        max_concurrent_requests: integration requests handled at once; more get 503.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        tokens: IntegrationTokens,
        *,
        metrics: BridgeMetrics | None = None,
        health_checks: Mapping[str, HealthCheck] | None = None,
        prefix: str = "/mattermost",
        max_body_size: int = DEFAULT_MAX_BODY,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
        serve_metrics: bool = True,
        post_reader: PostReader | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.tokens = tokens
        self.metrics = metrics or BridgeMetrics()
        self.health_checks = dict(health_checks or {})
        self.prefix = prefix.rstrip("/")
        if read_timeout <= 0:
            raise ValueError("read_timeout must be a positive number of seconds")
        if max_concurrent_requests < 1:
            raise ValueError("max_concurrent_requests must be at least 1")
        self.max_body_size = max_body_size
        self.read_timeout = read_timeout
        self.max_concurrent_requests = max_concurrent_requests
        self.serve_metrics = serve_metrics
        self.post_reader = post_reader
        self.log = log or logging.getLogger("mmbridge.receiver")
        self._runner: web.AppRunner | None = None
        self._status_runner: web.AppRunner | None = None
        self.url: URL | None = None
        self.status_url: URL | None = None
        self._in_flight = 0
        self._refusing = False

    @property
    def in_flight(self) -> int:
        """Integration requests being handled now."""
        return self._in_flight

    def make_app(self) -> web.Application:
        """The aiohttp application with every endpoint."""
        app = web.Application(client_max_size=self.max_body_size + 1)
        p = self.prefix
        app.router.add_post(f"{p}/webhook", self._endpoint("webhook", self._webhook))
        app.router.add_post(f"{p}/command", self._endpoint("command", self._command))
        app.router.add_get(f"{p}/command", self._endpoint("command", self._command))
        app.router.add_post(f"{p}/action", self._endpoint("action", self._action))
        app.router.add_post(f"{p}/dialog", self._endpoint("dialog", self._dialog))
        self._add_status_routes(app)
        return app

    def make_status_app(self) -> web.Application:
        """An application with only ``/health``, ``/health/live`` and ``/metrics``, for a private
        port (``serve_metrics`` is about the public receiver: this one always serves them)."""
        app = web.Application()
        self._add_status_routes(app, metrics=True)
        return app

    def _add_status_routes(self, app: web.Application, *, metrics: bool | None = None) -> None:
        app.router.add_get("/health", self._health)
        app.router.add_get("/health/live", self._live)
        if self.serve_metrics if metrics is None else metrics:
            app.router.add_get("/metrics", self._metrics)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> URL:
        """Serve on ``host:port`` (0: a free port); returns the base URL.

        Raises:
            OSError: the address cannot be listened on (in use, not local).
        """
        self._runner, self.url = await self._serve(self.make_app(), host, port)
        self.log.info("receiver listening on %s", self.url)
        return self.url

    async def start_status(self, host: str, port: int) -> URL:
        """Also serve the status routes alone on ``host:port`` (see :meth:`make_status_app`)."""
        self._status_runner, self.status_url = await self._serve(self.make_status_app(), host, port)
        self.log.info("health and metrics on %s", self.status_url)
        return self.status_url

    async def _serve(self, app: web.Application, host: str, port: int) -> tuple[web.AppRunner, URL]:
        # keepalive_timeout is also how long aiohttp waits for a request head (from the connection's
        # start or its last answer): the only bound it has on a head that trickles in.
        runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=self.read_timeout,
            lingering_time=min(self.read_timeout, MAX_LINGER),
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        return runner, URL.build(scheme="http", host=host, port=runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving (both listeners)."""
        for runner in (self._runner, self._status_runner):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._status_runner = None

    # ---- endpoints --------------------------------------------------------------------------

    def _endpoint(
        self, name: str, handle: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            if self._in_flight >= self.max_concurrent_requests:
                response = self._busy(name)
            else:
                self._refusing = False
                self._in_flight += 1
                try:
                    response = await handle(request)
                except _Problem as problem:
                    response = web.json_response({"error": problem.message}, status=problem.status)
                    if problem.close:
                        response.force_close()
                except inbound.InboundError as exc:
                    response = web.json_response({"error": str(exc)}, status=400)
                finally:
                    self._in_flight -= 1
            self.metrics.receiver_requests.labels(name, str(response.status)).inc()
            return response

        return endpoint

    def _busy(self, name: str) -> web.Response:
        if not self._refusing:  # once per burst, not once per request
            self._refusing = True
            self.log.warning(
                "%d requests in progress (max_concurrent_requests): refusing %s requests with 503",
                self._in_flight,
                name,
            )
        response = web.json_response(
            {"error": "the bridge is busy; try again"}, status=503, headers={"Retry-After": "1"}
        )
        response.force_close()  # its body is not read: the connection cannot carry another request
        return response

    async def _webhook(self, request: web.Request) -> web.Response:
        fields = await self._fields(request)
        media = request.content_type.lower()
        event = inbound.outgoing_webhook(fields, form=media != inbound.JSON)
        self._check("webhook", event.token)
        try:
            posted = await self._announced_post(event)
            if posted is not None:
                await self.dispatcher.dispatch(posted)
        except Exception as exc:  # closed dispatcher, the server unreachable: try again later
            self.log.warning("could not dispatch a webhook post: %s", type(exc).__name__)
            raise _Problem(503, "the bridge cannot take events right now") from exc
        try:
            reply = await self._dispatch(event)
        except _HandlerFailed:
            reply = None
        if isinstance(reply, str):
            reply = WebhookResponse(text=reply)
        if isinstance(reply, WebhookResponse):
            return web.json_response(reply.to_json())
        return web.Response(status=200)

    async def _announced_post(self, event: OutgoingWebhookEvent) -> PostedEvent | None:
        """The post a webhook announces, as the server has it: a payload's fields are hints, and a
        valid token must not let anyone claim another channel or author. None when the server does
        not show that post."""
        if self.post_reader is None:
            return inbound.as_posted(event)
        try:
            post = await self.post_reader(event.post_id)
        except (NotFoundError, ForbiddenError):
            self.log.warning(
                "a webhook announced post %s, which the server does not show; ignored", event.post_id
            )
            return None
        if post.channel_id != event.webhook_channel_id or post.user_id != event.user_id:
            self.log.warning(
                "a webhook's fields disagree with post %s on the server (channel or author); "
                "the server's are used",
                post.id,
            )
        return inbound.as_posted(event, post)

    async def _command(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            fields = inbound.read_query(request.query_string)
        else:
            fields = await self._fields(request)
        header = request.headers.get("Authorization", "")
        if not fields.get("token") and header[:6].lower() == "token ":
            fields["token"] = header[6:].strip()
        event = inbound.slash_command(fields)
        self._check("command", event.token)
        try:
            reply = await self._dispatch(event)
        except _HandlerFailed:
            reply = CommandResponse(text="The bridge could not run this command; see its log.")
        if reply is None and not self.dispatcher.handlers_for(event):
            reply = CommandResponse(text=f"{event.command} is not handled by this bridge.")
        if isinstance(reply, str):
            reply = CommandResponse(text=reply)
        if not isinstance(reply, CommandResponse):
            reply = CommandResponse()
        return web.json_response(reply.to_json())

    async def _action(self, request: web.Request) -> web.Response:
        event = inbound.action(await self._json(request))
        secret = event.context.get(ACTION_SECRET_KEY, "")
        self._check("action", secret if isinstance(secret, str) else "")
        try:
            reply = await self._dispatch(event)
        except _HandlerFailed:
            reply = ActionResponse(ephemeral_text="The bridge could not handle this action.")
        if isinstance(reply, str):
            reply = ActionResponse(ephemeral_text=reply)
        if not isinstance(reply, ActionResponse):
            reply = ActionResponse()
        return web.json_response(reply.to_json())

    async def _dialog(self, request: web.Request) -> web.Response:
        event = inbound.dialog_submission(await self._json(request))
        self._check("action", event.state.split(":", 1)[0])
        try:
            reply = await self._dispatch(event)
        except _HandlerFailed:
            reply = DialogResponse(error="The bridge could not handle this dialog.")
        if not isinstance(reply, DialogResponse):
            reply = DialogResponse()
        return web.json_response(reply.to_json())

    async def _health(self, request: web.Request) -> web.Response:
        results: dict[str, bool] = {}
        for name, check in self.health_checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), 5))
            except Exception:  # a failing check is an unhealthy answer, not a crash
                results[name] = False
        healthy = all(results.values())
        body = {"status": "ok" if healthy else "unavailable", "checks": results}
        return web.json_response(body, status=200 if healthy else 503)

    async def _live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), content_type="text/plain", charset="utf-8")

    # ---- helpers ----------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> bytes:
        length = request.content_length
        if length is not None and length > self.max_body_size:
            raise _Problem(413, f"the body is over {self.max_body_size} bytes", close=True)
        body = bytearray()
        try:
            async with asyncio.timeout(self.read_timeout):
                while True:  # read() returns what has arrived, not necessarily the whole body
                    chunk = await request.content.read(self.max_body_size + 1 - len(body))
                    if not chunk:
                        return bytes(body)
                    body += chunk
                    if len(body) > self.max_body_size:
                        raise _Problem(413, f"the body is over {self.max_body_size} bytes", close=True)
        except TimeoutError:
            self.log.warning("a request body did not arrive within %.1f s; closing", self.read_timeout)
            raise _Problem(408, "the body did not arrive in time", close=True) from None
        except (ConnectionError, web.RequestPayloadError) as exc:  # the client left, or bad chunking
            raise _Problem(400, f"the body could not be read ({type(exc).__name__})", close=True) from None

    async def _fields(self, request: web.Request) -> dict[str, Any]:
        return inbound.read_fields(await self._body(request), request.content_type)

    async def _json(self, request: web.Request) -> dict[str, Any]:
        return inbound.read_fields(await self._body(request), inbound.JSON)

    def _check(self, kind: str, token: str) -> None:
        if not self.tokens.accepts(kind, token):
            self.log.warning("refused a %s request with an unknown token", kind)
            raise _Problem(401, "unknown token")

    async def _dispatch(self, event: Event) -> Any:
        try:
            return await self.dispatcher.dispatch_and_wait(event)
        except Exception as exc:  # the dispatcher has logged and counted it
            raise _HandlerFailed from exc


class _HandlerFailed(Exception):
    """A handler raised; the receiver answers with a generic message."""
