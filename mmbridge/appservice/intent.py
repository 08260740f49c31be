"""``IntentAPI``: act as one user, after making sure that user can act.

Every send first runs the ensure steps it needs, explicitly (no wrapped methods):

* :meth:`IntentAPI.ensure_registered`: the user exists and its token is known (a puppet is
  created, with a token, the first time; concurrent first uses share one attempt);
* :meth:`IntentAPI.ensure_joined`: the user is in the channel's team and in the channel.

Both consult the state store first (and an intent remembers the channels it has confirmed, so a
warm send asks neither the server nor the store): once a puppet is set up a bridged message costs
exactly one HTTP request. When the server shows this is stale (403: the puppet was removed from the
channel; 401: its token was revoked), the memory and the store are corrected and the action retried
once.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..api import ClientAPI
from ..errors import (
    BadRequestError,
    ForbiddenError,
    MattermostError,
    NotFoundError,
    UnauthorizedError,
)
from ..types import Channel, ChannelID, ChannelType, FileID, Post, PostID, Reaction, TeamID, UserID
from .errors import IntentError
from .outbox import SOURCE_PROP, find_stamped
from .store import OutboxEntry
from .text import escape_markdown

if TYPE_CHECKING:
    from .appservice import AppServiceAPI

T = TypeVar("T")
IntentKind = Literal["puppet", "bot", "real", "unresolved"]
BRIDGE_PROP = "from_mmbridge"
"""The post prop that marks posts sent through a bridge (its value is the bridge id)."""
_MAX_NAME = 64


class IntentAPI:
    """Acts as one Mattermost user: a puppet, the bridge bot, or a double-puppeted real user.

    Get one from :meth:`AppServiceAPI.intent`, :meth:`~AppServiceAPI.puppet`,
    :meth:`~AppServiceAPI.bot_intent` or :meth:`~AppServiceAPI.real_user`.
    """

    __slots__ = ("_appservice", "_client", "_joined", "_kind", "_user_id", "_username")

    def __init__(self, appservice: AppServiceAPI, kind: IntentKind, user_id: UserID, username: str) -> None:
        self._appservice = appservice
        self._kind: IntentKind = kind
        self._user_id = user_id
        self._username = username
        self._client: ClientAPI | None = None
        # Channels this intent has seen confirmed (store or server): spares the store a query on
        # every send. Cleared where the server shows it stale, and gone with the intent.
        self._joined: set[str] | None = None

    def __repr__(self) -> str:
        who = f"@{self._username}" if self._username else self._user_id
        return f"IntentAPI({self._kind}, {who})"

    @property
    def kind(self) -> IntentKind:
        """``puppet``, ``bot``, ``real`` (double puppet), or ``unresolved`` before first use."""
        return self._kind

    @property
    def username(self) -> str:
        """The user's username (empty for an intent made by id before its first use)."""
        return self._username

    @property
    def user_id(self) -> UserID:
        """The user's id; a new puppet has one only after :meth:`ensure_registered`."""
        if not self._user_id:
            raise IntentError(f"{self!r} is not registered yet: await ensure_registered() first")
        return self._user_id

    def attach_client(self, client: ClientAPI) -> None:
        """Use ``client`` for this intent's requests (the appservice does this for real users)."""
        self._client = client

    # ---- ensure steps ---------------------------------------------------------------------

    async def ensure_registered(self) -> ClientAPI:
        """Make sure the user exists and its token is known; return the client acting as it."""
        if self._client is not None:
            return self._client
        appservice = self._appservice
        if self._kind == "unresolved":
            self._kind, username, token = await appservice.resolve(self._user_id)
            self._username = self._username or username
            if token:
                self._client = appservice.user(self._user_id, token)
        if self._kind == "bot":
            self._user_id = appservice.bot_user_id
            self._client = appservice.bot
        elif self._kind == "puppet" and self._client is None:
            record = await appservice.registered_puppet(self._username)
            self._user_id = UserID(record.user_id)
            self._client = appservice.user(self._user_id, record.token)
        elif self._kind == "real" and self._client is None:
            real_token = await appservice.store.get_real_user_token(self._user_id)
            if real_token is None:
                raise IntentError(f"real user {self._user_id} is no longer registered")
            self._client = appservice.user(self._user_id, real_token)
        assert self._client is not None
        return self._client

    async def ensure_joined(self, channel_id: ChannelID | str, *, team_id: TeamID | str = "") -> None:
        """Make sure the user is in the channel (and, before that, in its team).

        ``team_id`` defaults to the appservice's team; if the channel is in another team, that is
        found out and handled.
        """
        if self._joined is not None and channel_id in self._joined:
            return
        await self.ensure_registered()
        store = self._appservice.store
        if not await store.is_channel_member(channel_id, self._user_id):
            key = (self._user_id, str(channel_id))
            await self._appservice.joins.run(key, lambda: self._join(ChannelID(channel_id), team_id))
        if self._joined is None:
            self._joined = set()
        self._joined.add(str(channel_id))

    async def _join(self, channel_id: ChannelID, team_id: str) -> None:
        appservice = self._appservice
        store = appservice.store
        if await store.is_channel_member(channel_id, self._user_id):
            return
        team = TeamID(team_id or appservice.team_id)
        await self._ensure_in_team(team)
        adder = self._client if self._kind == "real" else appservice.bot
        assert adder is not None
        try:
            await adder.channels.add_member(channel_id, self._user_id)
        except (ForbiddenError, NotFoundError, BadRequestError) as first_error:
            # Perhaps the channel is in another team, or is a DM/GM (membership is implicit).
            channel = await appservice.bot.channels.get(channel_id)
            if channel.type in (ChannelType.DIRECT, ChannelType.GROUP):
                # Membership of a DM/GM is fixed at creation: the puppet is in it or never will be.
                client = self._current_client()
                try:
                    await client.channels.get_member(channel_id, self._user_id)
                except (ForbiddenError, NotFoundError):
                    raise IntentError(
                        f"{self!r} is not in direct/group channel {channel_id}; it cannot be joined"
                    ) from first_error
                await store.set_channel_member(channel_id, self._user_id, True)
                return
            if not channel.team_id or channel.team_id == team:
                raise
            await self._ensure_in_team(channel.team_id)
            await adder.channels.add_member(channel_id, self._user_id)
        await store.set_channel_member(channel_id, self._user_id, True)

    async def _ensure_in_team(self, team_id: TeamID) -> None:
        store = self._appservice.store
        if await store.is_team_member(team_id, self._user_id):
            return
        key = (self._user_id, f"team:{team_id}")

        async def join_team() -> None:
            if await store.is_team_member(team_id, self._user_id):
                return
            adder = self._client if self._kind == "real" else self._appservice.bot
            assert adder is not None
            await adder.teams.add_member(team_id, self._user_id)
            await store.set_team_member(team_id, self._user_id, True)

        await self._appservice.joins.run(key, join_team)

    # ---- profile --------------------------------------------------------------------------

    async def set_display_name(self, name: str) -> bool:
        """Show the puppet as ``name`` (first name and nickname, at most 64 characters).

        Returns False and sends nothing when the name is already set (a hash is kept).
        """
        await self._require_puppet("display name")
        name = name.strip()[:_MAX_NAME]
        digest = _hash(name.encode())
        record = await self._appservice.store.get_puppet(self._user_id)
        if record is not None and record.display_name_hash == digest:
            return False
        await self._authorized(
            lambda: self._current_client().users.patch(self._user_id, first_name=name, nickname=name)
        )
        await self._appservice.store.set_puppet_profile(self._user_id, display_name_hash=digest)
        return True

    async def set_avatar(self, image: bytes, *, filename: str = "avatar.png", content_type: str = "") -> bool:
        """Set the puppet's profile picture; returns False (nothing sent) when it is unchanged."""
        await self._require_puppet("avatar")
        digest = _hash(image)
        record = await self._appservice.store.get_puppet(self._user_id)
        if record is not None and record.avatar_hash == digest:
            return False
        await self._authorized(
            lambda: self._current_client().users.set_profile_image(
                self._user_id, image, filename=filename, content_type=content_type
            )
        )
        await self._appservice.store.set_puppet_profile(self._user_id, avatar_hash=digest)
        return True

    # ---- sending --------------------------------------------------------------------------

    async def send_text(
        self,
        channel_id: ChannelID | str,
        text: str,
        *,
        root_id: PostID | str = "",
        props: Mapping[str, Any] | None = None,
        source: str = "",
    ) -> Post:
        """Post plain text: markdown characters are escaped so it shows exactly as written
        (``source``: see :meth:`send_markdown`)."""
        return await self.send_markdown(
            channel_id, escape_markdown(text), root_id=root_id, props=props, source=source
        )

    async def send_markdown(
        self,
        channel_id: ChannelID | str,
        markdown: str,
        *,
        root_id: PostID | str = "",
        file_ids: Iterable[FileID] = (),
        props: Mapping[str, Any] | None = None,
        source: str = "",
        post_type: str = "",
    ) -> Post:
        """Post a message written in Mattermost markdown (``root_id``: in that thread;
        ``post_type``: ``"me"`` for an action, as the server's own ``/me`` posts ``*text*``).

        With ``source`` (what the post bridges, unique per post made: a remote message id, or
        ``"<id>:<part>"``), the post is made once, whatever happens: sending the same source again,
        after a crash or a retry, returns the post made the first time (see :mod:`.outbox`; a post
        already recorded comes back with its id, channel and author only).
        """
        channel = ChannelID(channel_id)
        stamped = {**(props or {}), BRIDGE_PROP: self._appservice.bridge_id}
        files = list(file_ids)
        if source:
            return await self._send_once(channel, markdown, source, root_id, files, stamped, post_type)
        return await self._in_channel(
            channel,
            lambda client: client.posts.create(
                channel, markdown, root_id=root_id, file_ids=files, props=stamped, type=post_type
            ),
            heal_not_found=True,
        )

    async def _send_once(
        self,
        channel: ChannelID,
        markdown: str,
        source: str,
        root_id: PostID | str,
        files: list[FileID],
        props: dict[str, Any],
        post_type: str,
    ) -> Post:
        store = self._appservice.store
        # Written first, in one statement: a source seen before keeps its first entry.
        fresh = OutboxEntry(
            source=source,
            channel_id=channel,
            pending_post_id=await self._appservice.txn_ids.next_txn_id(),
            created_at=int(time.time() * 1000),
        )
        entry = await store.add_outbox(fresh)
        if entry.post_id:
            await self.ensure_registered()  # the author's id, for an intent made before its first use
            return Post(
                id=PostID(entry.post_id), channel_id=ChannelID(entry.channel_id), user_id=self._user_id
            )
        bridge_id = self._appservice.bridge_id
        if entry.pending_post_id != fresh.pending_post_id:  # an earlier try: was its post made?
            made_at = entry.created_at
            found = await self._in_channel(
                channel,
                # Not the quiet search: a 403 here means the membership is stale, and _in_channel
                # rejoins and asks again; swallowing it would send a second post.
                lambda client: find_stamped(
                    client, channel, bridge_id=bridge_id, source=source, since_ms=made_at
                ),
            )
            if found is not None:
                await store.finish_outbox(source, found.id)
                return found
        pending = entry.pending_post_id
        stamped = {**props, SOURCE_PROP: source}
        post = await self._in_channel(
            channel,
            lambda client: client.posts.create(
                channel,
                markdown,
                root_id=root_id,
                file_ids=files,
                props=stamped,
                type=post_type,
                pending_post_id=pending,
            ),
            heal_not_found=True,
        )
        await store.finish_outbox(source, post.id)
        return post

    async def send_file(
        self,
        channel_id: ChannelID | str,
        data: bytes,
        filename: str,
        *,
        message: str = "",
        content_type: str = "",
        root_id: PostID | str = "",
    ) -> Post:
        """Upload a file and post it, with an optional markdown ``message``."""
        channel = ChannelID(channel_id)
        info = await self._in_channel(
            channel,
            lambda client: client.files.upload(channel, data, filename, content_type=content_type),
            heal_not_found=True,
        )
        return await self.send_markdown(channel, message, root_id=root_id, file_ids=[info.id])

    async def reply(self, to: Post | PostID | str, text: str, *, markdown: bool = False) -> Post:
        """Reply in the thread of ``to`` (threads are one level deep: a reply to a reply goes
        under the same root). Passing the :class:`Post` saves a request over passing its id."""
        post = to if isinstance(to, Post) else await (await self.ensure_registered()).posts.get(PostID(to))
        body = text if markdown else escape_markdown(text)
        return await self.send_markdown(post.channel_id, body, root_id=post.thread_root_id)

    async def edit(self, post_id: PostID | str, text: str, *, markdown: bool = False) -> Post:
        """Change the text of one of this user's posts."""
        await self.ensure_registered()
        body = text if markdown else escape_markdown(text)
        return await self._authorized(lambda: self._current_client().posts.edit(PostID(post_id), body))

    async def delete(self, post_id: PostID | str) -> None:
        """Delete one of this user's posts (a thread root takes its replies with it)."""
        await self.ensure_registered()
        await self._authorized(lambda: self._current_client().posts.delete(PostID(post_id)))

    async def react(
        self, post_id: PostID | str, emoji_name: str, *, channel_id: ChannelID | str = ""
    ) -> Reaction:
        """React to a post. Give ``channel_id`` to have the user joined to it first if needed."""
        if channel_id:
            return await self._in_channel(
                ChannelID(channel_id),
                lambda client: client.reactions.add(self._user_id, PostID(post_id), emoji_name),
            )
        await self.ensure_registered()
        return await self._authorized(
            lambda: self._current_client().reactions.add(self._user_id, PostID(post_id), emoji_name)
        )

    async def unreact(self, post_id: PostID | str, emoji_name: str) -> None:
        """Take this user's reaction back."""
        await self.ensure_registered()
        await self._authorized(
            lambda: self._current_client().reactions.remove(self._user_id, PostID(post_id), emoji_name)
        )

    async def typing(self, channel_id: ChannelID | str, *, parent_id: PostID | str = "") -> None:
        """Show the user as typing in a channel (or in a thread, with ``parent_id``)."""
        channel = ChannelID(channel_id)
        await self._in_channel(
            channel,
            lambda client: client.users.publish_typing(self._user_id, channel, parent_id=parent_id),
        )

    async def create_dm(self, other_user_id: UserID | str) -> Channel:
        """The direct message channel between this user and another."""
        await self.ensure_registered()
        channel = await self._authorized(
            lambda: self._current_client().channels.create_direct(self._user_id, UserID(other_user_id))
        )
        await self._appservice.store.set_channel_member(channel.id, self._user_id, True)
        return channel

    async def create_group(self, user_ids: Iterable[UserID | str]) -> Channel:
        """The group message channel of this user and 2-7 others."""
        await self.ensure_registered()
        members = [self._user_id, *(UserID(u) for u in user_ids)]
        channel = await self._authorized(lambda: self._current_client().channels.create_group(members))
        await self._appservice.store.set_channel_member(channel.id, self._user_id, True)
        return channel

    async def leave(self, channel_id: ChannelID | str) -> None:
        """Leave a channel."""
        await self.ensure_registered()
        channel = ChannelID(channel_id)
        with contextlib.suppress(NotFoundError):  # not a member: already where we want to be
            await self._authorized(
                lambda: self._current_client().channels.remove_member(channel, self._user_id)
            )
        self._forget_joined(channel)
        await self._appservice.store.set_channel_member(channel, self._user_id, False)

    # ---- helpers --------------------------------------------------------------------------

    async def _in_channel(
        self,
        channel_id: ChannelID,
        action: Callable[[ClientAPI], Awaitable[T]],
        *,
        heal_not_found: bool = False,
    ) -> T:
        """Run ``action`` as a channel member; if the server says the cached membership is
        stale, forget it, join again and retry once."""
        await self.ensure_joined(channel_id)
        stale: tuple[type[MattermostError], ...] = (ForbiddenError,)
        if heal_not_found:
            stale = (ForbiddenError, NotFoundError)
        try:
            return await self._authorized(lambda: action(self._current_client()))
        except stale:
            self._appservice.log.info("%r: membership of %s was stale; joining again", self, channel_id)
            self._forget_joined(channel_id)
            await self._appservice.store.set_channel_member(channel_id, self._user_id, False)
            await self.ensure_joined(channel_id)
            return await self._authorized(lambda: action(self._current_client()))

    async def _authorized(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action``; a puppet whose token was revoked gets a new one and tries again."""
        try:
            return await action()
        except UnauthorizedError:
            if self._kind != "puppet":
                raise
            failed = self._client
            renewed = await self._appservice.renewed_token(self._user_id, failed)
            if renewed is None:
                raise
            self._client = self._appservice.user(self._user_id, renewed.token)
            return await action()

    def _forget_joined(self, channel_id: str) -> None:
        if self._joined is not None:
            self._joined.discard(channel_id)

    def _current_client(self) -> ClientAPI:
        assert self._client is not None
        return self._client

    async def _require_puppet(self, what: str) -> None:
        await self.ensure_registered()
        if self._kind != "puppet":
            raise IntentError(f"{what}: only puppets' profiles are managed by the bridge, not {self!r}")


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
