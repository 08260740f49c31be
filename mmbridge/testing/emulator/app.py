"""The :class:`Emulator`: an aiohttp application that behaves like Mattermost's REST API v4."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from .context import CONTEXT_KEY, EmulatorContext
from .dedupe import PendingPostCache
from .events import EventBus
from .faults import FaultInjector
from .middleware import all_middlewares
from .ratelimit import RateLimiter
from .requestlog import RequestRecord
from .routes import add_routes
from .seed import Seed, seed_state
from .settings import EmulatorSettings
from .state import State
from .websocket import HUB_KEY, WebSocketConnectionInfo, WebSocketHub, add_websocket_routes


class Emulator:
    """An in-memory Mattermost server for tests.

    The data is seeded at construction (see :attr:`seed`); :meth:`start` serves it over HTTP.
    """

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
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
        self._context = EmulatorContext(
            settings=self.settings,
            state=self.state,
            events=self.events,
            faults=self.faults,
            pending_posts=PendingPostCache(
                self.settings.pending_post_ttl, self.settings.pending_post_capacity
            ),
            limiter=limiter,
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
        add_routes(self.app)
        add_websocket_routes(self.app)
        self._runner: web.AppRunner | None = None
        self._url: URL | None = None

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far, oldest first."""
        return self._context.requests

    def websocket_connections(self) -> list[WebSocketConnectionInfo]:
        """The WebSocket connections the server knows: live ones and those kept for a resume."""
        return self.websocket.connections()

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
        await site.start()
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
