"""``Bridge``: the composition root of a bridge daemon.

One object owns the start order and the lifecycle of every piece::

    database -> instance lock -> migrations -> state store -> AppServiceAPI (bot identity, server
    binding, team, rights) -> the bridge's prepare() -> receiver -> provisioning -> WebSocket
    stream -> started()

and stops them in reverse order, after a failed start as after a signal. A bridge subclasses it,
names its config section, and writes only its handlers::

    class IRCBridge(Bridge[IRCSettings]):
        name = "irc"
        section = SectionSpec("irc", IRCSettings)
        example_section = (Path(__file__).parent / "example-config.yaml").read_text()

        def register_handlers(self, dispatcher: Dispatcher) -> None:
            dispatcher.on(PostedEvent)(self.on_post)

Every start-up failure becomes a :class:`~mmbridge.bridge.errors.StartupError` whose message says
what and where in one line; the ``mmbridge`` command turns it into an exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
import socket
import time
from collections.abc import Awaitable, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from yarl import URL

from ..api import RateLimiter, ReconnectPolicy, WebSocketStream
from ..appservice import (
    AppServiceAPI,
    BridgeMetrics,
    CommandSpec,
    Dispatcher,
    EchoFilter,
    IntegrationTokens,
    Provisioner,
    PuppetNamespace,
    Receiver,
    SQLStateStore,
    WebhookSpec,
)
from ..appservice.catchup import CatchUp
from ..appservice.dispatcher import HandlerRetry
from ..appservice.ledger import EventLedger, LedgerDelivery
from ..appservice.store import appservice_upgrade_table
from ..db import (
    Database,
    DatabaseConnectError,
    DatabaseError,
    DatabaseLockedError,
    OwnerMismatchError,
    SchemaTooNewError,
    UpgradeError,
    UpgradeTable,
)
from ..errors import (
    ForbiddenError,
    MalformedResponseError,
    MattermostConnectionError,
    MattermostError,
    NotFoundError,
    UnauthorizedError,
)
from ..types import (
    Event,
    Post,
    PostID,
    StreamReset,
    Team,
    TeamID,
    User,
)
from .config import CoreConfig, LoadedConfig, SectionSpec, compose_base, load_config
from .config.upgrade import FieldLayout, layout_of
from .config.yamltext import line_of
from .errors import (
    AuthenticationError,
    BridgeSetupError,
    DatabaseOwnershipError,
    DatabaseUnavailableError,
    ListenError,
    MissingRightsError,
    ServerUnreachableError,
    StartupError,
)
from .logs import config_secrets, install_secret_filter
from .registration import Registration
from .rights import Requirements, missing_rights, requirements_for, rights_message

SettingsT = TypeVar("SettingsT")
#: How long the WebSocket may take to connect at start before the start fails.
CONNECT_TIMEOUT = 30.0
#: Channels caught up at once.
CATCHUP_CONCURRENCY = 4
#: Seconds between the ledger's housekeeping rounds (positions of idle channels, replays).
HOUSEKEEPING_INTERVAL = 2.0
#: Handled keys are kept this long behind their channel's position (well past catch-up's margin).
KEEP_HANDLED_MS = 2 * 3600 * 1000
#: Finished outbox entries are kept this long (a source sent again later is still found).
KEEP_OUTBOX_MS = 7 * 24 * 3600 * 1000


class BridgeFailedError(Exception):
    """A part of a running bridge failed for good (the WebSocket reader, most often)."""


class Bridge(Generic[SettingsT]):
    """A bridge daemon built from its config. Subclass it; see the module docstring.

    Class attributes a bridge sets:
        name: the program's name (the database owner; logs).
        section: the bridge's own config section (key and attrs class), or None.
        example_section: the commented YAML of that section, appended to the base config.
        config_defaults: the bridge's defaults for mmbridge's keys (``{"appservice.id": "irc"}``).
    """

    name: ClassVar[str] = "mmbridge"
    section: ClassVar[SectionSpec[Any] | None] = None
    example_section: ClassVar[str] = ""
    config_defaults: ClassVar[Mapping[str, Any]] = {}
    #: Event classes of the bridge's own that may be parked as dead letters (and replayed).
    dead_letter_events: ClassVar[tuple[type[Event], ...]] = ()

    @classmethod
    def base_config(cls, *, spec: str = "") -> str:
        """The full commented base config of this bridge (what ``generate-config`` writes), with
        ``bridge:`` set to ``spec`` when given (``examples.irc:IRCBridge``)."""
        own = {"bridge": spec} if spec else {}
        return compose_base({**own, **cls.config_defaults}, cls.example_section)

    @classmethod
    def load_config(
        cls, path: Path | str, *, env: Mapping[str, str] | None = None, text: str | None = None
    ) -> LoadedConfig[Any]:
        """Load ``path`` with this bridge's section (see :func:`~mmbridge.bridge.config.load_config`)."""
        return load_config(path, cls.section, env=env, text=text)

    @classmethod
    def config_layout(cls) -> dict[str, FieldLayout]:
        """The shape of this bridge's config, as the upgrader walks it."""
        layout = layout_of(CoreConfig)
        if cls.section is not None:  # its keys without defaults are the operator's to write
            layout[cls.section.key] = FieldLayout(section=cls.section.cls, required=True)
        return layout

    @classmethod
    def requirements(cls, puppet_kind: str) -> Requirements:
        """What this bridge needs from its bot and server: webhook and command settings count when
        the class overrides :meth:`webhooks` or :meth:`commands`."""
        return requirements_for(
            puppet_kind,
            webhooks=cls.webhooks is not Bridge.webhooks,
            commands=cls.commands is not Bridge.commands,
        )

    def __init__(
        self,
        config: LoadedConfig[SettingsT],
        *,
        registration: Registration | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.loaded = config
        self.config = config.core
        self.settings: SettingsT = config.section
        self.registration = registration
        self.log = log or logging.getLogger(f"mmbridge.bridge.{self.name}")
        core = self.config
        self.bridge_id = core.appservice.id
        self.namespace = PuppetNamespace(core.puppets.username_template)
        self.db = Database.create(
            core.database.uri.reveal(),
            upgrade_table=[appservice_upgrade_table(), *self.upgrade_tables()],
            owner=self.name,
        )
        self.store = SQLStateStore(self.db, bridge_id=self.bridge_id)
        self.metrics = BridgeMetrics()
        # Every token the bridge learns is added to it, so no log line of any library shows one.
        self.secrets = install_secret_filter(config_secrets(core, self.settings, registration))
        limit = core.mattermost.rate_limit
        self.appservice = AppServiceAPI(
            core.mattermost.url,
            core.mattermost.token.reveal(),
            store=self.store,
            namespace=self.namespace,
            team_id="",
            bridge_id=self.bridge_id,
            puppet_kind=core.puppets.kind,
            rate_limiter=RateLimiter(limit.per_second, limit.burst) if limit.per_second > 0 else None,
            timeout=core.mattermost.timeout,
            observer=self.metrics.observe_request,
            redactor=self.secrets,
        )
        self.tokens = IntegrationTokens(redactor=self.secrets)
        self.echoes: EchoFilter | None = None
        self.ledger = EventLedger(self.db, self.bridge_id, event_classes=self.dead_letter_events)
        self.delivery = LedgerDelivery(self.ledger)
        delivery = core.delivery
        self.dispatcher = Dispatcher(
            drop=self._is_dropped,
            on_handled=self.metrics.observe_handled,
            delivery=self.delivery,
            retry=HandlerRetry(attempts=delivery.retry_attempts, max_delay=delivery.retry_max_delay),
        )
        self.catchup = CatchUp(
            self.appservice.bot,
            self.ledger,
            self.dispatcher,
            window_ms=int(delivery.catchup_window_hours * 3600 * 1000),
        )
        self.stream = WebSocketStream(self.appservice.bot.http, reconnect=ReconnectPolicy(initial_delay=0.2))
        self.receiver = Receiver(
            self.dispatcher,
            self.tokens,
            metrics=self.metrics,
            health_checks={"store": self.store.is_healthy, "websocket": self._websocket_connected},
            serve_metrics=core.metrics.enabled,
            post_reader=self._read_post,
        )
        self.bot: User | None = None
        self.team: Team | None = None
        self._stack: AsyncExitStack | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._failed: asyncio.Future[BaseException] | None = None
        self._handlers_registered = False
        self._started = False
        self._background: set[asyncio.Task[None]] = set()
        self._catching_up: set[str] = set()
        self._catch_up_again: set[str] = set()
        self._replaying: set[str] = set()
        self.metrics.websocket_connected.set_function(lambda: 1 if self.stream.connected else 0)
        self.metrics.watch_dispatcher(self.dispatcher.stats)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.bridge_id!r}, server={self.config.mattermost.url!r})"

    # ---- hooks for bridges ----------------------------------------------------------------------

    def upgrade_tables(self) -> Sequence[UpgradeTable]:
        """The bridge's own schema upgrades, run with the appservice's at start (none by default)."""
        return ()

    def register_handlers(self, dispatcher: Dispatcher) -> None:
        """Register the bridge's event handlers (called once, at the beginning of :meth:`start`,
        so a subclass's ``__init__`` may set up what they use after ``super().__init__()``)."""

    async def prepare(self) -> None:
        """The bridge's own setup, once the bot is known and checked and before any event can
        arrive: resolve and join channels, check the remote side. Raise
        :class:`~mmbridge.bridge.errors.BridgeSetupError` with a one-line message to refuse the start."""

    def webhooks(self) -> Sequence[WebhookSpec]:
        """Outgoing webhooks to keep pointed at the receiver (after :meth:`prepare`)."""
        return ()

    def commands(self) -> Sequence[CommandSpec]:
        """Slash commands to keep pointed at the receiver (after :meth:`prepare`)."""
        return ()

    def watched_channels(self) -> Sequence[str]:
        """Channel ids whose missed events are caught up after a restart or a lost stream (after
        :meth:`prepare`). Channels the bridge has handled events in before are caught up too;
        name a channel here to have it caught up from its first start. Call :meth:`watch` for
        channels found later."""
        return ()

    async def started(self) -> None:
        """Everything runs: events are flowing."""

    async def stopping(self) -> None:
        """Called first when the bridge stops (events may still be draining)."""

    # ---- lifecycle --------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """Between a successful :meth:`start` and :meth:`stop`."""
        return self._stack is not None

    def display_name(self, displayname: str, *, remote_id: str = "") -> str:
        """A puppet's display name from ``puppets.display_name_template`` (``{displayname}``,
        ``{remote_id}`` and ``{network}``, the bridge's :attr:`name`), at most 64 characters."""
        template = self.config.puppets.display_name_template
        return template.format(displayname=displayname, remote_id=remote_id, network=self.name)[:64]

    def where(self, *path: str) -> str:
        """``config.yaml:12 (mattermost.team)``: where a config key is, for messages."""
        line = line_of(self.loaded.document, path)
        location = f"{self.loaded.path}:{line}" if line else str(self.loaded.path)
        return f"{location} ({'.'.join(path)})"

    async def start(self) -> None:
        """Start every piece in order; on any failure stop what was started and raise.

        Raises:
            StartupError: a subclass naming the cause (see :mod:`mmbridge.bridge.errors`).
        """
        if self._started:
            raise RuntimeError("a Bridge starts once: make a new one to start again")
        self._started = True
        if not self._handlers_registered:
            self.register_handlers(self.dispatcher)
            self._handlers_registered = True
        stack = AsyncExitStack()
        try:
            await self._start_database(stack)
            stack.push_async_callback(self.appservice.close)
            await self._start_appservice()
            await self._guard_setup(self.prepare(), "preparing the bridge")
            # Held before the first live event can arrive (by webhook or WebSocket): what the
            # channels missed while the bridge was down goes first.
            caught_up = {*self.watched_channels(), *await self.ledger.positions()}
            self.dispatcher.hold(caught_up)
            await self._start_receiver(stack)
            await self._guard_setup(self._provision(), "provisioning the bridge's integrations")
            await self._start_stream(stack, caught_up)
            await self.started()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self.log.info(
            "bridge %s ready: bot @%s, team %s, receiver %s",
            self.bridge_id,
            self.bot.username if self.bot else "?",
            self.team.name if self.team else "?",
            self.receiver.url,
        )
        _notify_systemd("READY=1")

    async def stop(self) -> None:
        """Stop taking events, let queued ones finish within ``appservice.shutdown_timeout``, then
        close the stream, the receiver, the clients, the store and the database. Safe to call twice."""
        stack, self._stack = self._stack, None
        if stack is None:
            return
        _notify_systemd("STOPPING=1")
        self.log.info("bridge %s stopping", self.bridge_id)
        try:
            await self.stopping()
        finally:
            await stack.aclose()
        self.log.info("bridge %s stopped", self.bridge_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Start, run until ``stop`` is set, stop. ``stop`` set while starting cancels the start
        (what was started is stopped again) and returns normally.

        Raises:
            StartupError: the start failed (everything started was stopped again).
            BridgeFailedError: a part failed while running (the bridge was stopped).
        """
        waiter: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        starting = asyncio.ensure_future(self.start())
        try:
            await asyncio.wait((waiter, starting), return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():  # asked to stop before it was ready
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
                self.log.info("bridge %s: stopped while starting", self.bridge_id)
                return
            starting.result()  # a failed start raises here
            assert self._failed is not None
            await asyncio.wait((waiter, self._failed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            await self.stop()
        if self._failed.done() and not self._failed.cancelled():
            raise BridgeFailedError(str(self._failed.result())) from self._failed.result()

    # ---- start steps --------------------------------------------------------------------------------

    async def _start_database(self, stack: AsyncExitStack) -> None:
        try:
            await self.db.connect()
            stack.push_async_callback(self.db.stop)
            # Before any migration: a second daemon must not change the schema under the first.
            await stack.enter_async_context(self.db.instance_lock(self.bridge_id))
            await self.db.start()
            await self.store.start()
            stack.push_async_callback(self.store.stop)
        except DatabaseLockedError as exc:
            raise DatabaseUnavailableError(str(exc)) from exc
        except DatabaseConnectError as exc:
            raise DatabaseUnavailableError(f"{exc} {self.where('database', 'uri')}") from exc
        except (OwnerMismatchError, SchemaTooNewError, UpgradeError) as exc:
            raise DatabaseOwnershipError(str(exc)) from exc
        except DatabaseError as exc:
            raise DatabaseUnavailableError(str(exc)) from exc
        except Exception as exc:  # a driver error: locked, read-only, disk full
            raise DatabaseUnavailableError(
                f"the database {self.db.url} failed: {type(exc).__name__}: {exc}"
            ) from exc

    async def _start_appservice(self) -> None:
        url = self.config.mattermost.url
        try:
            self.bot = await self.appservice.start()
        except UnauthorizedError as exc:
            raise AuthenticationError(
                f"{url} refuses the bot token (401 {exc.error_id or 'unauthorized'}): "
                f"check {self.where('mattermost', 'token')}"
            ) from exc
        except (MattermostConnectionError, MalformedResponseError) as exc:
            raise ServerUnreachableError(f"cannot reach Mattermost at {url}: {exc}") from exc
        except MattermostError as exc:
            raise ServerUnreachableError(
                f"{url} does not answer like a Mattermost server ({exc.status} on /api/v4/users/me)"
            ) from exc
        try:
            await self.store.bind_server(url)  # only now that the server has answered
        except OwnerMismatchError as exc:
            raise DatabaseOwnershipError(str(exc)) from exc
        self.echoes = EchoFilter(bridge_id=self.bridge_id, bot_user_id=self.bot.id, store=self.store)
        try:
            await self.appservice.reconcile_outbox()
        except MattermostError as exc:  # each entry is reconciled again when its source is sent
            self.log.warning("could not reconcile the outbox at start: %s", exc)
        self.team = await self.resolve_team()
        self.appservice.team_id = TeamID(self.team.id)
        try:
            problems = await missing_rights(
                self.appservice.bot, self.bot, self.requirements(self.config.puppets.kind)
            )
        except MattermostError as exc:
            raise ServerUnreachableError(f"could not read the bot's rights from {url}: {exc}") from exc
        if problems:
            raise MissingRightsError(rights_message(problems))

    async def resolve_team(self) -> Team:
        """The team of ``mattermost.team`` (a name or an id), read as the bot.

        Raises:
            BridgeSetupError: the bot sees no such team.
        """
        wanted = self.config.mattermost.team
        bot = self.appservice.bot
        try:
            if len(wanted) == 26 and wanted.isalnum():
                with contextlib.suppress(NotFoundError):
                    return await bot.teams.get(TeamID(wanted))
            return await bot.teams.get_by_name(wanted)
        except NotFoundError:
            raise BridgeSetupError(
                f"no team {wanted!r} on {self.config.mattermost.url} that the bot can see: "
                f"check {self.where('mattermost', 'team')}"
            ) from None
        except MattermostError as exc:
            raise BridgeSetupError(f"could not read the team {wanted!r}: {exc}") from exc

    async def _guard_setup(self, step: Awaitable[None], what: str) -> None:
        try:
            await step
        except StartupError:
            raise
        except MattermostError as exc:
            raise BridgeSetupError(f"{what} failed: {exc}") from exc

    async def _start_receiver(self, stack: AsyncExitStack) -> None:
        service = self.config.appservice
        try:
            await self.receiver.start(service.host, service.port)
        except OSError as exc:
            raise ListenError(
                self._listen_problem(exc, service.host, service.port, "appservice", "port")
            ) from exc
        stack.push_async_callback(self.receiver.stop)
        # Runs after the dispatcher drained: the positions of what it finished are written.
        stack.push_async_callback(self._final_flush)
        # Pushed after the receiver, so it runs before it: queued events (some awaited by the
        # receiver's open requests) finish before the receiver closes.
        stack.push_async_callback(self.dispatcher.close, service.shutdown_timeout)
        listen = self.config.metrics.listen
        if listen:
            host, _, port = listen.rpartition(":")
            try:
                await self.receiver.start_status(host, int(port))
            except OSError as exc:
                raise ListenError(self._listen_problem(exc, host, int(port), "metrics", "listen")) from exc

    def _listen_problem(self, exc: OSError, host: str, port: int, *path: str) -> str:
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        return f"cannot listen on {host}:{port}: {reason} ({self.where(*path)})"

    async def _provision(self) -> None:
        webhooks, commands = self.webhooks(), self.commands()
        if self.registration is not None:
            self.tokens.add("action", self.registration.action_secret.reveal())
        if not webhooks and not commands:
            return
        assert self.team is not None
        public = URL(self.config.appservice.public_url or str(self.receiver.url))
        provisioner = Provisioner(
            self.appservice.bot, self.store, self.tokens, team_id=self.team.id, public_url=public
        )
        await provisioner.load_remembered_tokens()
        for hook in webhooks:
            await provisioner.ensure_webhook(hook)
        for command in commands:
            await provisioner.ensure_command(command)

    async def _start_stream(self, stack: AsyncExitStack, channels: set[str]) -> None:
        self._failed = asyncio.get_running_loop().create_future()
        stack.push_async_callback(self._stop_background)
        self._reader = asyncio.create_task(self._read(), name=f"{self.bridge_id} websocket")
        stack.push_async_callback(self._stop_stream)
        waiter: asyncio.Future[Any] = asyncio.ensure_future(self._connected.wait())
        try:
            await asyncio.wait(
                (waiter, self._failed), timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if self._failed.done():
            error = self._failed.result()
            if isinstance(error, UnauthorizedError):
                raise AuthenticationError(f"the WebSocket refuses the bot token: {error}") from error
            raise ServerUnreachableError(
                f"the WebSocket stream failed: {type(error).__name__}: {error}"
            ) from error
        if not self._connected.is_set():
            raise ServerUnreachableError(
                f"the WebSocket of {self.config.mattermost.url} did not connect "
                f"within {CONNECT_TIMEOUT:.0f} s"
            )
        self._spawn(self._catch_up(channels), "catch-up")
        self._spawn(self._housekeeping(), "ledger housekeeping")

    async def _stop_stream(self) -> None:
        await self.stream.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._failed is not None and not self._failed.done():
            self._failed.cancel()

    async def _read(self) -> None:
        try:
            async for event in self.stream.events():
                self._connected.set()
                if isinstance(event, StreamReset):
                    self.log.warning(
                        "events may have been missed while disconnected (%s): catching up", event.reason
                    )
                    self.catch_up({*self.watched_channels(), *await self.ledger.positions()})
                await self.dispatcher.dispatch(event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.log.error("the WebSocket reader failed: %s: %s", type(exc).__name__, exc)
            if self._failed is not None and not self._failed.done():
                self._failed.set_result(exc)

    async def _read_post(self, post_id: str) -> Post:
        return await self.appservice.bot.posts.get(PostID(post_id))

    async def _is_dropped(self, event: Event) -> bool:
        """Echoes (reactions that change nothing are skipped by the ledger, in order)."""
        return self.echoes is not None and await self.echoes(event)

    # ---- durable delivery ---------------------------------------------------------------------------

    def watch(self, channel_id: str) -> None:
        """Catch ``channel_id`` up from now on (a channel the bridge starts bridging while running)."""
        self._spawn(self.ledger.start_position(channel_id, _now_ms()), "watch")

    def catch_up(self, channels: set[str]) -> None:
        """Catch ``channels`` up in the background (their live events wait until it is done): for a
        stream of the bridge's own that may have missed events."""
        self.dispatcher.hold(channels)
        self._spawn(self._catch_up(channels), "catch-up")

    def _spawn(self, work: Awaitable[None], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("%s failed", what)

        task = asyncio.create_task(run(), name=f"{self.bridge_id} {what}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _catch_up(self, channels: set[str]) -> None:
        """Catch each channel up (a few at once), then let its held live events follow."""
        limit = asyncio.Semaphore(CATCHUP_CONCURRENCY)
        await asyncio.gather(*(self._catch_up_channel(channel, limit) for channel in sorted(channels)))

    async def _catch_up_channel(self, channel_id: str, limit: asyncio.Semaphore) -> None:
        if channel_id in self._catching_up:
            self._catch_up_again.add(channel_id)  # the running round reads once more
            return
        self._catching_up.add(channel_id)
        delay = 1.0
        try:
            while True:
                self._catch_up_again.discard(channel_id)
                try:
                    async with limit:  # per try: a channel waiting to try again holds no slot
                        self.metrics.observe_catchup(await self.catchup.channel(channel_id))
                except (NotFoundError, ForbiddenError) as exc:  # the channel is gone, or closed to the bot
                    self.log.warning(
                        "channel %s cannot be caught up (%s); its events are not held", channel_id, exc
                    )
                    return
                except MattermostError as exc:  # held events wait; the hold bounds them
                    self.catchup.stats.failures += 1
                    self.log.warning("catching up %s failed (%s); again in %.0fs", channel_id, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 60.0)
                    continue
                if channel_id in self._catch_up_again:
                    continue
                if not await self.dispatcher.release(channel_id):
                    self.log.warning("channel %s: too many live events held; catching up again", channel_id)
                    continue
                if channel_id in self._catch_up_again:  # a reset came while the held events went
                    self.dispatcher.hold([channel_id])
                    continue
                return
        finally:
            self._catching_up.discard(channel_id)
            task = asyncio.current_task()
            stopping = task is not None and task.cancelling() > 0
            if (
                not stopping
                and self.dispatcher.is_held(channel_id)
                and channel_id not in self._catch_up_again
            ):
                # Failed for good (or an unexpected error): never leave live events held forever.
                await self.dispatcher.release(channel_id)

    async def _housekeeping(self) -> None:
        """Positions of idle channels written, replays asked for run, old keys pruned."""
        rounds = 0
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            try:
                await self._flush_positions()
                await self._replay_requested()
                self.metrics.dead_letters.set(await self.ledger.dead_letter_count())
                if rounds % 1800 == 0:
                    await self.ledger.prune(KEEP_HANDLED_MS)
                    await self.store.prune_outbox(_now_ms() - KEEP_OUTBOX_MS)
            except Exception as exc:  # the database is down: the next round tries again
                self.log.warning("ledger housekeeping failed: %s: %s", type(exc).__name__, exc)
            rounds += 1

    async def _flush_positions(self) -> None:
        dispatcher = self.dispatcher
        await self.ledger.flush_seen([c for c in self.ledger.noted_channels() if dispatcher.is_idle(c)])

    async def _replay_requested(self) -> None:
        for letter in await self.ledger.replays():
            if letter.letter_id in self._replaying or letter.event is None:
                continue
            event = letter.event
            self.log.info("replaying dead letter %s (%s)", letter.letter_id, event.type)
            self.delivery.replaying(event, letter.letter_id)
            self._replaying.add(letter.letter_id)
            future = await self.dispatcher.dispatch(event, origin="replay")
            if future is None:  # dropped (an echo) or nobody handles it any more
                self.delivery.forget(event)
                await self.ledger.replayed(letter.letter_id)
                self._replaying.discard(letter.letter_id)
            else:
                future.add_done_callback(functools.partial(self._replay_done, letter.letter_id))

    def _replay_done(self, letter_id: str, _: asyncio.Future[Any]) -> None:
        self._replaying.discard(letter_id)

    async def _stop_background(self) -> None:
        """Stop catch-up and housekeeping (before the dispatcher closes)."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _final_flush(self) -> None:
        try:
            await self._flush_positions()
        except Exception as exc:  # the next start reads a little more again
            self.log.warning("could not write the last positions: %s: %s", type(exc).__name__, exc)

    async def _websocket_connected(self) -> bool:
        """Connected, and the server answered within two ping intervals."""
        return self.stream.is_live()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _notify_systemd(state: str) -> None:
    """Tell systemd (``Type=notify``) about the bridge's state; nothing without ``NOTIFY_SOCKET``."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(state.encode(), address)
