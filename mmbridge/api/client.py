"""``ClientAPI``: the typed REST client, one attribute per resource."""

from __future__ import annotations

import logging
from functools import cached_property

import aiohttp
from yarl import URL

from .endpoints import (
    BotsAPI,
    ChannelsAPI,
    CommandsAPI,
    EmojiAPI,
    FilesAPI,
    PostsAPI,
    PreferencesAPI,
    ReactionsAPI,
    RolesAPI,
    SystemAPI,
    TeamsAPI,
    TokensAPI,
    UsersAPI,
    WebhooksAPI,
)
from .http import HTTPAPI, RequestObserver
from .ratelimit import RateLimiter
from .retry import RetryPolicy
from .txn import RandomPrefixTransactionIDs, TransactionIDSource
from .validation import MAX_POST_RUNES
from .websocket import WebSocketStream


class ClientAPI:
    """A Mattermost REST API v4 client acting as one user.

    >>> async with ClientAPI.connect("https://chat.example.com", token) as client:
    ...     me = await client.users.me()
    ...     await client.posts.create(channel_id, "hello")

    Endpoint groups: :attr:`users`, :attr:`bots`, :attr:`tokens`, :attr:`teams`, :attr:`channels`,
    :attr:`posts`, :attr:`reactions`, :attr:`roles`, :attr:`files`, :attr:`system`, :attr:`webhooks`,
    :attr:`commands`; :attr:`websocket` is the
    event stream. :meth:`as_user` gives a client
    for another token that shares the connection pool, rate limiter and transaction ids.
    """

    def __init__(
        self,
        http: HTTPAPI,
        *,
        txn_ids: TransactionIDSource | None = None,
        max_message_length: int = MAX_POST_RUNES,
    ) -> None:
        self.http = http
        self._txn_ids = txn_ids or RandomPrefixTransactionIDs()
        self._max_message_length = max_message_length

    # Endpoint groups are made on first use: a bridge holds one client per puppet, and most
    # puppets only ever post.

    @cached_property
    def users(self) -> UsersAPI:
        """``/users``."""
        return UsersAPI(self.http)

    @cached_property
    def bots(self) -> BotsAPI:
        """``/bots``."""
        return BotsAPI(self.http)

    @cached_property
    def tokens(self) -> TokensAPI:
        """``/users/{id}/tokens``."""
        return TokensAPI(self.http)

    @cached_property
    def roles(self) -> RolesAPI:
        """``/roles``."""
        return RolesAPI(self.http)

    @cached_property
    def teams(self) -> TeamsAPI:
        """``/teams``."""
        return TeamsAPI(self.http)

    @cached_property
    def channels(self) -> ChannelsAPI:
        """``/channels``."""
        return ChannelsAPI(self.http)

    @cached_property
    def posts(self) -> PostsAPI:
        """``/posts``."""
        return PostsAPI(self.http, txn_ids=self._txn_ids, max_message_length=self._max_message_length)

    @cached_property
    def reactions(self) -> ReactionsAPI:
        """``/reactions``."""
        return ReactionsAPI(self.http)

    @cached_property
    def files(self) -> FilesAPI:
        """``/files``."""
        return FilesAPI(self.http)

    @cached_property
    def system(self) -> SystemAPI:
        """``/system``."""
        return SystemAPI(self.http)

    @cached_property
    def webhooks(self) -> WebhooksAPI:
        """``/hooks``: outgoing and incoming webhooks."""
        return WebhooksAPI(self.http)

    @cached_property
    def commands(self) -> CommandsAPI:
        """``/commands``."""
        return CommandsAPI(self.http)

    @cached_property
    def emoji(self) -> EmojiAPI:
        """``/emoji``."""
        return EmojiAPI(self.http)

    @cached_property
    def preferences(self) -> PreferencesAPI:
        """``/users/{id}/preferences``."""
        return PreferencesAPI(self.http)

    @cached_property
    def websocket(self) -> WebSocketStream:
        """The WebSocket event stream of this client's user."""
        return WebSocketStream(self.http)

    @classmethod
    def connect(
        cls,
        base_url: str | URL,
        token: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30.0,
        txn_ids: TransactionIDSource | None = None,
        observer: RequestObserver | None = None,
        log: logging.Logger | None = None,
    ) -> ClientAPI:
        """A client for ``base_url`` with its own HTTP layer (closed by :meth:`close`)."""
        http = HTTPAPI(
            base_url,
            token,
            session=session,
            retry=retry,
            rate_limiter=rate_limiter,
            timeout=timeout,
            observer=observer,
            log=log,
        )
        return cls(http, txn_ids=txn_ids)

    def __repr__(self) -> str:
        return f"ClientAPI({self.http!r})"

    @property
    def txn_ids(self) -> TransactionIDSource:
        """Where this client's ``pending_post_id`` values come from."""
        return self._txn_ids

    def as_user(self, token: str) -> ClientAPI:
        """A client for another user's token, sharing this one's pool, limiter and transaction ids."""
        return ClientAPI(
            self.http.with_token(token), txn_ids=self._txn_ids, max_message_length=self._max_message_length
        )

    async def close(self) -> None:
        """Close the HTTP session (if this client's family created it)."""
        await self.http.close()

    async def __aenter__(self) -> ClientAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
