"""The :class:`Emulator`: an aiohttp application that behaves like Mattermost's REST API v4."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession, web
from yarl import URL

from .context import CONTEXT_KEY, EmulatorContext
from .dedupe import PendingPostCache
from .events import EventBus
from .faults import FaultInjector
from .faults_api import add_faults_api_routes
from .integrations import Integrations, OutboundCall
from .middleware import all_middlewares
from .ratelimit import RateLimiter
from .requestlog import RequestLog, RequestRecord
from .routes import add_routes
from .seed import Seed, seed_state
from .settings import EmulatorSettings
from .state import State
from .websocket import HUB_KEY, WebSocketConnectionInfo, WebSocketHub, add_websocket_routes


class Emulator:
    """An in-memory Mattermost server for tests.

    The data is seeded at construction (see :attr:`seed`); :meth:`start` serves it over HTTP.
    With ``faults_api=True`` it also serves the admin API of :mod:`.faults_api` under
    ``/__emulator__/faults``, which arms :attr:`faults` over HTTP (off by default; with
    ``faults_api_token`` only for ``Authorization: Bearer <token>``). Never expose it publicly.
    """

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        faults_api: bool = False,
        faults_api_token: str | None = None,
    ) -> None:
        if faults_api_token is not None and not faults_api:
            raise ValueError("faults_api_token is only used with faults_api=True")
        self.settings = settings or EmulatorSettings()
        #: Event hook for the future WebSocket: every announced state change lands here.
        self.events = EventBus(self.settings.event_history)
        #: The in-memory store.
        self.state = State(self.settings, self.events)
        #: Fault injection for tests.
        self.faults = FaultInjector()
        #: The WebSocket hub: delivers every published event to the connected sockets.
        self.websocket = WebSocketHub(self.settings, self.state, self.events)
        self.faults.attach_websocket(self.websocket)
        limiter = RateLimiter(self.settings.rate_limit) if self.settings.rate_limit else None
        #: The outbound side: calls to outgoing webhooks, slash commands, actions and dialogs.
        self.integrations = Integrations(self.settings, self.state)
        self._context = EmulatorContext(
            settings=self.settings,
            state=self.state,
            events=self.events,
            faults=self.faults,
            pending_posts=PendingPostCache(
                self.settings.pending_post_ttl, self.settings.pending_post_capacity
            ),
            limiter=limiter,
            integrations=self.integrations,
            requests=RequestLog(self.settings.request_log_size),
        )
        #: The seeded accounts, team and channel.
        self.seed: Seed = seed_state(self.state, self.settings.seed_password)
        self.events.clear()
        #: The aiohttp application (usable with aiohttp's test utilities too).
        self.app = web.Application(
            middlewares=all_middlewares(),
            client_max_size=max(self.settings.max_file_size, self.settings.max_payload_size) * 2,
        )
        self.app[CONTEXT_KEY] = self._context
        self.app[HUB_KEY] = self.websocket
        self.app.on_shutdown.append(self.websocket.on_shutdown)
        self.app.on_cleanup.append(self._close_integrations)
        add_routes(self.app)
        add_websocket_routes(self.app)
        #: Whether the fault-injection admin API is served (``faults_api=True``).
        self.faults_api = faults_api
        if faults_api:
            add_faults_api_routes(self.app, faults_api_token)
        self._runner: web.AppRunner | None = None
        self._url: URL | None = None

    @property
    def requests(self) -> list[RequestRecord]:
        """The last ``settings.request_log_size`` requests answered, oldest first."""
        return list(self._context.requests)

    @property
    def request_count(self) -> int:
        """How many requests were answered in all (those dropped from the log included)."""
        return self._context.requests.total

    def websocket_connections(self) -> list[WebSocketConnectionInfo]:
        """The WebSocket connections the server knows: live ones and those kept for a resume."""
        return self.websocket.connections()

    async def _close_integrations(self, _app: web.Application) -> None:
        await self.integrations.close()

    @property
    def integration_calls(self) -> list[OutboundCall]:
        """Every call made to an integration (webhook, command, action, dialog), oldest first."""
        return self.integrations.calls

    async def integrations_idle(self) -> None:
        """Return when no call to an integration is in flight (outgoing webhooks run in the
        background after ``POST /posts`` has answered, and may post their replies)."""
        await self.integrations.idle()

    async def type_message(
        self, token_or_user_id: str, channel_id: str, text: str, *, root_id: str = ""
    ) -> dict[str, Any]:
        """Do what the webapp does with a typed message, over HTTP as that user.

        A text starting with ``/`` is ``POST /commands/execute``; anything else is
        ``POST /posts``. Returns the answer's JSON (an AppError body when it failed) and
        raises nothing for HTTP errors. ``token_or_user_id`` is a token, or the id of a user
        (a session is created for them if they have none).
        """
        token = token_or_user_id
        if token not in self.state.sessions:
            user = self.state.user(token_or_user_id)
            session = next((s for s in self.state.sessions.values() if s.user_id == user.id), None)
            token = (session or self.state.login_session(user.id)).token
        body: dict[str, Any] = {"channel_id": channel_id}
        if root_id:
            body["root_id"] = root_id
        if text.startswith("/"):
            path = "/api/v4/commands/execute"
            body["command"] = text
            channel = self.state.channels.get(channel_id)
            if channel is not None and channel.team_id:
                body["team_id"] = channel.team_id
            if root_id:
                body["parent_id"] = root_id
        else:
            path = "/api/v4/posts"
            body["message"] = text
        async with (
            ClientSession(base_url=self.url, headers={"Authorization": f"Bearer {token}"}) as http,
            http.post(path, json=body) as resp,
        ):
            result: dict[str, Any] = await resp.json()
            return result

    def clear_requests(self) -> None:
        """Forget the request log."""
        self._context.requests.clear()

    @property
    def url(self) -> URL:
        """The base URL, e.g. ``http://127.0.0.1:41234`` (only after :meth:`start`)."""
        if self._url is None:
            raise RuntimeError("the emulator is not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free port)."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already started")
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()  # (the port is taken, say: nothing left half-started)
            raise
        self._runner = runner
        bound_port = port
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                bound_port = int(address[1])
                break
        url_host = f"[{host}]" if ":" in host else host
        self._url = URL(f"http://{url_host}:{bound_port}")
        self._context.site_url = str(self._url)

    async def stop(self) -> None:
        """Stop serving (WebSockets get a 1001 close frame); the state stays readable."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def create_bridge_bot(self, username: str = "mmbridge-bot") -> tuple[str, str]:
        """A bot with the system admin role on the seed team, as a bridge needs; ``(user_id, token)``.

        Made right after the seed (as ``python -m mmbridge.testing.emulator`` does), with a seeded
        emulator it has the same token on every start.
        """
        return self.create_user(username, admin=True, bot=True)

    def create_user(self, username: str, *, admin: bool = False, bot: bool = False) -> tuple[str, str]:
        """Create a user (or bot, owned by the seed admin) on the seed team with a token.

        Returns ``(user_id, token)``.
        """
        team = self.state.team(self.seed.team_id)
        if bot:
            record = self.state.add_bot(username, username, "", self.seed.admin_user_id)
            user = self.state.user(record.user_id)
            if admin:  # a bridge's bot is often given the system admin role
                user.roles = "system_admin system_user"
        else:
            user = self.state.add_user(
                username,
                f"{username.lower()}@example.com",
                password=self.settings.seed_password,
                roles="system_admin system_user" if admin else "system_user",
            )
        self.state.add_team_member(team, user, user.id)
        token = self.state.add_token(user.id, f"{username} test token")
        return user.id, token.token
