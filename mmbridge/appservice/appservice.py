"""``AppServiceAPI``: the bridge bot's identity, the shared counter, and the way to its intents."""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from typing import Literal

import aiohttp
from yarl import URL

from ..api import HTTPAPI, ClientAPI, RateLimiter, RequestObserver, RetryPolicy
from ..api.redaction import SecretFilter
from ..errors import AlreadyExistsError, MattermostError, NotFoundError
from ..types import TeamID, User, UserID
from .errors import IntentError, NotInNamespaceError, PuppetConflictError
from .intent import IntentAPI, IntentKind
from .namespace import PuppetNamespace
from .outbox import search_quietly
from .singleflight import SingleFlight
from .store import PuppetRecord, StateStore
from .txn import StoreTransactionIDs

PuppetKind = Literal["user", "bot"]
PUPPET_MARKER = "mmbridge_puppet"
"""The ``props`` key on a puppet user (and the post prop) whose value names the bridge."""
TOKEN_DESCRIPTION = "mmbridge puppet"  # noqa: S105 - a label, not a secret
#: The store value holding this installation's random id (part of every ``pending_post_id``).
INSTALL_ID_KEY = "mmbridge.install_id"


class ChildAppServiceAPI(ClientAPI):
    """A client acting as one user with that user's token, sharing the appservice's connection
    pool, rate limiter and transaction counter."""

    def __init__(self, parent: AppServiceAPI, user_id: UserID, token: str) -> None:
        super().__init__(parent.bot.http.with_token(token), txn_ids=parent.txn_ids)
        self.user_id = user_id

    def __repr__(self) -> str:
        return f"ChildAppServiceAPI(user_id={self.user_id!r})"


class AppServiceAPI:
    """The bridge's side of Mattermost: its bot, its puppets, and the state they share.

    Args:
        base_url: the Mattermost server.
        bot_token: the bridge bot's token. Creating puppets needs the rights to create users,
            mint tokens for them (``EnableUserAccessTokens`` for ``puppet_kind="user"``) and add
            them to the team and channels: a system admin account, or a bot with that role.
            ``puppet_kind="bot"`` needs a user (not a bot) token with ``EnableBotAccountCreation``.
        store: where puppets, tokens, memberships and the transaction counter live.
        namespace: which usernames are puppets (``irc_{localpart}``).
        team_id: the team puppets join first (a channel in another team is handled too).
        bridge_id: a short name for this bridge: marks its puppets and posts, prefixes txn ids.
        puppet_kind: puppets as regular users (random password, ``.invalid`` email) or as bots.
        intent_cache_size: intents kept in memory (least recently used are dropped; the store
            keeps the truth, so a dropped intent costs one store read when used again).
        redactor: a log filter told every token the appservice uses or mints (the bot's, the
            puppets', double puppets'), so that no log line shows one.
    """

    def __init__(
        self,
        base_url: str | URL,
        bot_token: str,
        *,
        store: StateStore,
        namespace: PuppetNamespace,
        team_id: TeamID | str,
        bridge_id: str,
        puppet_kind: PuppetKind = "user",
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30.0,
        observer: RequestObserver | None = None,
        intent_cache_size: int = 10_000,
        redactor: SecretFilter | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        if not bridge_id or not bridge_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError("bridge_id must be a short name of letters, digits, '-' or '_'")
        self.log = log or logging.getLogger("mmbridge.appservice")
        self.store = store
        self.namespace = namespace
        self.team_id = TeamID(team_id)
        self.bridge_id = bridge_id
        self.puppet_kind: PuppetKind = puppet_kind
        self.txn_ids = StoreTransactionIDs(store, prefix=f"mmbridge:{bridge_id}")
        http = HTTPAPI(
            base_url,
            bot_token,
            session=session,
            retry=retry,
            rate_limiter=rate_limiter,
            timeout=timeout,
            observer=observer,
            redactor=redactor,
        )
        self.bot = ClientAPI(http, txn_ids=self.txn_ids)
        self.bot_user_id = UserID("")
        self.bot_username = ""
        self._intents: OrderedDict[str, IntentAPI] = OrderedDict()
        self._intent_cache_size = intent_cache_size
        self._registrations: SingleFlight[str, PuppetRecord] = SingleFlight()
        self._renewals: SingleFlight[str, PuppetRecord | None] = SingleFlight()
        self.joins: SingleFlight[tuple[str, str], None] = SingleFlight()

    def __repr__(self) -> str:
        return f"AppServiceAPI(bridge_id={self.bridge_id!r}, bot={self.bot_username or '?'!r})"

    async def start(self) -> User:
        """Learn who the bot is (one request); call before using intents. Returns the bot user."""
        me = await self.bot.users.me()
        self.bot_user_id = me.id
        self.bot_username = me.username
        self.txn_ids.prefix = f"mmbridge:{self.bridge_id}:{await self._install_id()}"
        self.log.info("acting as @%s (%s)", me.username, me.id)
        return me

    async def _install_id(self) -> str:
        """A random id made once per store: with it in every ``pending_post_id``, a store that was
        lost (and its counter with it) never reuses ids the server may still remember."""
        install_id = await self.store.get_value(INSTALL_ID_KEY)
        if not install_id:
            install_id = secrets.token_hex(4)
            await self.store.set_value(INSTALL_ID_KEY, install_id)
        return install_id

    async def reconcile_outbox(self) -> int:
        """Finish the outbox entries a crash left unfinished whose post the server has (read as
        the bot; an entry of a channel the bot cannot read waits for its source to be sent again).
        Returns how many were finished."""
        finished = 0
        for entry in await self.store.unfinished_outbox():
            post = await search_quietly(
                self.bot,
                entry.channel_id,
                bridge_id=self.bridge_id,
                source=entry.source,
                since_ms=entry.created_at,
            )
            if post is not None:
                await self.store.finish_outbox(entry.source, post.id)
                finished += 1
        if finished:
            self.log.info("outbox: %d post(s) made before a crash were recorded", finished)
        return finished

    async def close(self) -> None:
        """Close the shared HTTP session (the store is closed by its owner)."""
        await self.bot.close()

    def _hide(self, token: str) -> None:
        """Tell the log filter about a token (before any store write can log it)."""
        redactor = self.bot.http.redactor
        if redactor is not None and token:
            redactor.add(token)

    def user(self, user_id: UserID, token: str) -> ChildAppServiceAPI:
        """A client for ``user_id`` with its token, sharing this appservice's pool and counter."""
        return ChildAppServiceAPI(self, user_id, token)

    async def client_for(self, user_id: UserID | str) -> ChildAppServiceAPI:
        """A client acting as a known puppet or registered real user, with the token the store
        holds for them (:class:`NotInNamespaceError` for anyone else)."""
        kind, _, token = await self.resolve(UserID(user_id))
        if kind == "bot" or not token:
            raise NotInNamespaceError(f"user {user_id} has no token in the store (the bot: use .bot)")
        return self.user(UserID(user_id), token)

    def puppet(self, localpart: str) -> IntentAPI:
        """The intent of the puppet for a remote user's localpart (see :func:`safe_localpart`)."""
        return self.intent(username=self.namespace.username_for(localpart))

    def intent(self, user_id: UserID | str | None = None, *, username: str | None = None) -> IntentAPI:
        """An intent acting as a puppet, the bot, or a registered real user.

        By ``username``: it must be the bot's or match the puppet namespace, else
        :class:`NotInNamespaceError` at once. By ``user_id``: the user must be a known puppet,
        the bot or a real user registered with :meth:`real_user`; that is checked on first use
        (it needs the store) and raises the same error.
        """
        if (user_id is None) == (username is None):
            raise ValueError("give exactly one of user_id or username")
        if username is not None:
            key = f"@{username.lower()}"
            cached = self._cached(key)
            if cached is not None:
                return cached
            if username.lower() == self.bot_username:
                return self._remember(key, IntentAPI(self, "bot", self.bot_user_id, self.bot_username))
            if not self.namespace.is_puppet(username.lower()):
                raise NotInNamespaceError(
                    f"@{username} is not a puppet of bridge {self.bridge_id!r} "
                    f"(template {self.namespace.template!r}) and not its bot"
                )
            return self._remember(key, IntentAPI(self, "puppet", UserID(""), username.lower()))
        assert user_id is not None
        key = f"#{user_id}"
        cached = self._cached(key)
        if cached is not None:
            return cached
        if user_id == self.bot_user_id:
            return self._remember(key, IntentAPI(self, "bot", self.bot_user_id, self.bot_username))
        return self._remember(key, IntentAPI(self, "unresolved", UserID(user_id), ""))

    def bot_intent(self) -> IntentAPI:
        """The bridge bot's own intent."""
        if not self.bot_user_id:
            raise IntentError("call AppServiceAPI.start() before using the bot intent")
        return self.intent(user_id=self.bot_user_id)

    async def real_user(self, user_id: UserID | str, token: str) -> IntentAPI:
        """Register a real user's own token for double puppeting and return their intent.

        The token is checked (one request) and stored; the user's posts through the bridge are
        stamped so the bridge recognises their echoes.
        """
        client = self.user(UserID(user_id), token)
        me = await client.users.me()
        if me.id != user_id:
            raise IntentError(f"the token given for {user_id} belongs to another user")
        await self.store.put_real_user(me.id, token)
        intent = IntentAPI(self, "real", me.id, me.username)
        intent.attach_client(client)
        return self._remember(f"#{me.id}", intent)

    def _cached(self, key: str) -> IntentAPI | None:
        intent = self._intents.get(key)
        if intent is not None:
            self._intents.move_to_end(key)
        return intent

    def _remember(self, key: str, intent: IntentAPI) -> IntentAPI:
        self._intents[key] = intent
        if len(self._intents) > self._intent_cache_size:
            self._intents.popitem(last=False)
        return intent

    # ---- used by IntentAPI ----------------------------------------------------------------

    async def resolve(self, user_id: UserID) -> tuple[IntentKind, str, str]:
        """What an intent made by user id is: (kind, username, token)."""
        if user_id == self.bot_user_id:
            return "bot", self.bot_username, ""
        puppet = await self.store.get_puppet(user_id)
        if puppet is not None:
            self._hide(puppet.token)
            return "puppet", puppet.username, puppet.token
        token = await self.store.get_real_user_token(user_id)
        if token is not None:
            self._hide(token)
            return "real", "", token
        raise NotInNamespaceError(
            f"user {user_id} is not a puppet of bridge {self.bridge_id!r}, its bot, "
            "or a real user registered for double puppeting"
        )

    async def registered_puppet(self, username: str) -> PuppetRecord:
        """The puppet's record, creating the user and its token the first time (once, even
        when many callers ask at the same moment)."""
        record = await self.store.get_puppet_by_username(username)
        if record is not None:
            self._hide(record.token)
            return record
        return await self._registrations.run(username, lambda: self._register(username))

    async def _register(self, username: str) -> PuppetRecord:
        record = await self.store.get_puppet_by_username(username)
        if record is not None:
            return record
        try:
            user_id = await self._create_account(username)
        except AlreadyExistsError:
            user_id = await self._adopt_existing(username)
        token = await self.bot.tokens.create(user_id, TOKEN_DESCRIPTION)
        self._hide(token.token)
        record = PuppetRecord(user_id=user_id, username=username, token=token.token, token_id=token.id)
        await self.store.put_puppet(record)
        self.log.info("registered puppet @%s (%s)", username, user_id)
        return record

    async def renewed_token(self, user_id: UserID, failed: ClientAPI | None) -> PuppetRecord | None:
        """The puppet's record with a working token, after ``failed`` (a client using the old one)
        got a 401. Concurrent callers share one renewal; when another caller already renewed it,
        nothing new is minted. None if ``user_id`` is not a stored puppet."""
        record = await self.store.get_puppet(user_id)
        if record is None:
            return None
        if failed is not None and not failed.http.uses_token(record.token):
            return record  # someone renewed it since this client was made
        return await self._renewals.run(user_id, lambda: self._renew_token(user_id, record.token))

    async def _renew_token(self, user_id: UserID, stale_token: str) -> PuppetRecord | None:
        record = await self.store.get_puppet(user_id)
        if record is None or record.token != stale_token:
            return record
        return await self.renew_token(record)

    async def renew_token(self, record: PuppetRecord) -> PuppetRecord:
        """Mint a new token for a puppet whose token stopped working (revoked, user reactivated)."""
        token = await self.bot.tokens.create(UserID(record.user_id), TOKEN_DESCRIPTION)
        self._hide(token.token)
        renewed = PuppetRecord(
            user_id=record.user_id,
            username=record.username,
            token=token.token,
            token_id=token.id,
            display_name_hash=record.display_name_hash,
            avatar_hash=record.avatar_hash,
        )
        await self.store.put_puppet(renewed)
        self.log.warning("renewed the token of puppet @%s", record.username)
        return renewed

    async def _create_account(self, username: str) -> UserID:
        if self.puppet_kind == "bot":
            bot = await self.bot.bots.create(username, display_name=username)
            return bot.user_id
        user = await self.bot.users.create(
            username,
            self._puppet_email(username),
            secrets.token_urlsafe(32),
            props={PUPPET_MARKER: self.bridge_id},
        )
        return user.id

    def _puppet_email(self, username: str) -> str:
        return f"{username}@{self.bridge_id}.mmbridge.invalid"

    async def _adopt_existing(self, username: str) -> UserID:
        """The username is taken: take it over only if this bridge made it (store was lost)."""
        try:
            user = await self.bot.users.get_by_username(username)
        except NotFoundError as exc:  # taken by a deactivated or hidden account
            raise PuppetConflictError(f"@{username} exists but cannot be read") from exc
        # The marker alone is not proof (users may set their own props); the address the bridge
        # gives its puppets is, since only an admin can set another user's email.
        marked = user.props.get(PUPPET_MARKER) == self.bridge_id
        ours = marked and user.email.lower() == self._puppet_email(username).lower()
        if not ours and user.is_bot:
            try:
                ours = (await self.bot.bots.get(user.id)).owner_id == self.bot_user_id
            except MattermostError:
                ours = False
        if not ours:
            raise PuppetConflictError(
                f"@{username} already exists and was not created by bridge {self.bridge_id!r}"
            )
        self.log.info("adopting existing puppet account @%s", username)
        return user.id
