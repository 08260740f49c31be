"""Configuration of the emulator (a small subset of Mattermost's ``config.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimitSettings:
    """``RateLimitSettings`` of the real server (only used when given; ``None`` = off).

    The real defaults are ``PerSec=10``, ``MaxBurst=100``, ``VaryByUser=false``.
    """

    per_sec: int = 10
    max_burst: int = 100
    #: Key the limiter on the raw auth token instead of the remote address.
    vary_by_user: bool = False


@dataclass
class EmulatorSettings:
    """Settings of an :class:`~mmbridge.testing.emulator.Emulator`.

    Defaults follow the real server except where noted.
    """

    #: ``ServiceSettings.EnableUserAccessTokens``. **The real default is False**; the emulator
    #: turns it on because bridges need personal access tokens for their puppets.
    enable_user_access_tokens: bool = True
    #: ``ServiceSettings.EnableBotAccountCreation``. **The real default is False.**
    enable_bot_account_creation: bool = True
    #: ``TeamSettings.MaxUsersPerTeam`` (real default 50).
    max_users_per_team: int = 50
    #: Maximum message length in runes (``PostMessageMaxRunesV2``).
    max_post_size: int = 16383
    #: ``FileSettings.MaxFileSize`` in bytes (real default 100 MiB).
    max_file_size: int = 100 * 1024 * 1024
    #: ``FileSettings.EnablePublicLink`` (real default False) and ``PublicLinkSalt`` (the real one
    #: is random at first start): ``GET /files/{id}/link`` and ``/files/{id}/public``.
    enable_public_link: bool = False
    public_link_salt: str = "emulatorpubliclinksalt0000000000"
    #: ``FeatureFlags.CommandPalette`` (real default False): without it ``POST /files/search``
    #: answers 200 with an empty body.
    feature_command_palette: bool = False
    #: ``ServiceSettings.MaximumPayloadSizeBytes``; the server allows 512 bytes more.
    max_payload_size: int = 300000
    #: Rate limiting; ``None`` disables it (the real default).
    rate_limit: RateLimitSettings | None = None
    #: ``ServiceSettings.SiteURL``; empty means "the URL the emulator listens on".
    site_url: str = ""
    #: The version reported in ``X-Version-Id`` and by ``/system/ping``.
    version: str = "10.11.0"
    build_number: str = "10.11.0"
    config_hash: str = "e1a2b3c4d5f6a7b8c9d0e1f2a3b4c5d6"
    licensed: bool = False
    #: Time-to-live in seconds of the ``pending_post_id`` dedupe cache (real: 30 s).
    pending_post_ttl: float = 30.0
    #: Capacity of the ``pending_post_id`` LRU (real: 25000).
    pending_post_capacity: int = 25000
    #: How many published events the event bus keeps for inspection.
    event_history: int = 1000
    #: How many answered requests ``Emulator.requests`` keeps (the oldest are dropped first).
    request_log_size: int = 10000
    #: Seed of the ids and tokens the emulator makes (the seeded accounts' among them): the same
    #: seed gives the same ids and tokens on every start. ``None``: random ones.
    seed: int | None = None
    #: Passwords of the seeded accounts (login with ``POST /users/login``).
    seed_password: str = field(default="Password1!")

    # ------------------------------------------------------------- Integrations
    #: ``ServiceSettings.EnableIncomingWebhooks`` (real default True).
    enable_incoming_webhooks: bool = True
    #: ``ServiceSettings.EnableOutgoingWebhooks`` (real default True).
    enable_outgoing_webhooks: bool = True
    #: ``ServiceSettings.EnableCommands`` (custom slash commands; real default True).
    enable_commands: bool = True
    #: ``ServiceSettings.EnablePostUsernameOverride`` (real default False): integration posts get
    #: ``override_username``.
    enable_post_username_override: bool = False
    #: ``ServiceSettings.EnablePostIconOverride`` (real default False): ``override_icon_url``.
    enable_post_icon_override: bool = False
    #: ``ServiceSettings.OutgoingIntegrationRequestsTimeout`` in seconds (real default 30): the
    #: timeout of every call to an outgoing webhook, slash command, action or dialog URL.
    outgoing_integration_timeout: float = 30.0

    # ---------------------------------------------------------------- WebSocket
    #: Seconds between the server's ping frames (aiohttp heartbeat; real: 60 s). ``None``: none.
    ws_ping_interval: float | None = 60.0
    #: Seconds an unauthenticated socket may wait for its ``authentication_challenge``
    #: (real ``authCheckInterval``: 5 s).
    ws_auth_timeout: float = 5.0
    #: Seconds a disconnected connection is kept for a resume (real: 5 minutes).
    ws_resume_ttl: float = 300.0
    #: The per-connection send queue (real ``sendQueueSize``: 256). A disconnected connection
    #: that collects one more event is dropped from the hub; at half full ``typing``,
    #: ``status_change`` and ``multiple_channels_viewed`` are skipped.
    ws_send_queue_size: int = 256
    #: How many written events a connection keeps for replay (real ``deadQueueSize``: 128).
    ws_dead_queue_size: int = 128
    #: Read limit of a client frame in bytes (real ``SocketMaxMessageSizeKb``: 8 KiB).
    ws_max_message_size: int = 8 * 1024
    #: Answer an upgrade carrying an invalid token with a 401 instead of upgrading. Off, as on
    #: the real server, which upgrades anyway (the route does not require a session) and closes
    #: the socket after ``ws_auth_timeout`` unless an ``authentication_challenge`` succeeds.
    ws_reject_invalid_token: bool = False
    #: Close a *connected* socket whose send queue overflows, as the real hub does. Off by
    #: default so that a fast synchronous burst of publishes (or :meth:`ws_stall`) cannot
    #: disconnect a healthy test client; disconnected connections always overflow.
    ws_close_slow_consumers: bool = False

    @property
    def version_header(self) -> str:
        """The ``X-Version-Id`` value: ``<ver>.<build>.<cfghash>.<licensed>``."""
        licensed = "true" if self.licensed else "false"
        return f"{self.version}.{self.build_number}.{self.config_hash}.{licensed}"
