"""The notifier: push messages into Mattermost, as the bridge bot, without writing a bridge.

::

    notifier = Notifier(bridge.appservice, team_id=bridge.team.id, default_target="~alerts")
    await notifier.notify_channel("alerts", "disk full on db1", key="disk-db1")   # posts
    await notifier.notify_channel("alerts", "disk fine again on db1", key="disk-db1")  # edits it
    await notifier.notify_user("alice", "your export is ready", files=[Path("export.csv")])

``key`` makes a message send-or-update: the first call posts, later calls with the same key edit
that post (a deleted one is posted again); the key survives restarts (it is in the store). On the
command line: ``mmbridge notify -c config.yaml --to @alice|~channel [--key K] [--file F] TEXT``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..appservice import AppServiceAPI
from ..errors import BadRequestError, NotFoundError
from ..types import ChannelID, FileID, Post, PostID, TeamID
from .bridge import Bridge

_KEY_PREFIX = "mmbridge.notify."


class NotifyError(ValueError):
    """A notification cannot be sent as asked (no such user or channel, no target)."""


class Notifier:
    """Sends (or updates) messages as the bridge bot to users (direct messages) and channels."""

    def __init__(self, appservice: AppServiceAPI, *, team_id: str, default_target: str = "") -> None:
        self.appservice = appservice
        self.team_id = TeamID(team_id)
        self.default_target = default_target

    async def notify(
        self, text: str, *, to: str = "", files: Sequence[Path] = (), key: str | None = None
    ) -> Post:
        """Send to ``to`` (``@username`` or ``~channel``; the default target when empty)."""
        target = to or self.default_target
        if target.startswith("@") and len(target) > 1:
            return await self.notify_user(target[1:], text, files=files, key=key)
        if target.startswith("~") and len(target) > 1:
            return await self.notify_channel(target[1:], text, files=files, key=key)
        raise NotifyError("name the target as @username or ~channel (and no default target is set)")

    async def notify_user(
        self, username: str, text: str, *, files: Sequence[Path] = (), key: str | None = None
    ) -> Post:
        """A direct message from the bot to ``username``."""
        bot = self.appservice.bot
        try:
            user = await bot.users.get_by_username(username)
        except NotFoundError:
            raise NotifyError(f"no user @{username}") from None
        channel = await self.appservice.bot_intent().create_dm(user.id)
        return await self._send(channel.id, text, files, key)

    async def notify_channel(
        self, name_or_id: str, text: str, *, files: Sequence[Path] = (), key: str | None = None
    ) -> Post:
        """A post by the bot in a channel of the team (by name, or by id)."""
        bot = self.appservice.bot
        try:
            if len(name_or_id) == 26 and name_or_id.isalnum():
                channel = await bot.channels.get(ChannelID(name_or_id))
            else:
                channel = await bot.channels.get_by_name(self.team_id, name_or_id)
        except NotFoundError:
            raise NotifyError(f"no channel ~{name_or_id} on the bridge's team") from None
        return await self._send(channel.id, text, files, key)

    async def _send(self, channel_id: str, text: str, files: Sequence[Path], key: str | None) -> Post:
        intent = self.appservice.bot_intent()
        store = self.appservice.store
        if key is not None:
            known = await store.get_value(_KEY_PREFIX + key)
            if known:
                try:
                    return await intent.edit(PostID(known), text, markdown=True)
                except (NotFoundError, BadRequestError):
                    pass  # deleted since (the server answers 404, or 400 for a deleted post): post again
        file_ids: list[FileID] = []
        if files:
            client = await intent.ensure_registered()
            await intent.ensure_joined(channel_id)
            for path in files:
                info = await client.files.upload(ChannelID(channel_id), path.read_bytes(), path.name)
                file_ids.append(info.id)
        # One post per call (or per key), across the client's retries and a crash.
        source = (
            f"notify:{key}:{secrets.token_hex(4)}" if key is not None else f"notify:{secrets.token_hex(8)}"
        )
        post = await intent.send_markdown(channel_id, text, file_ids=file_ids, source=source)
        if key is not None:
            await store.set_value(_KEY_PREFIX + key, post.id)
        return post


async def notify_once(
    bridge: Bridge[Any], text: str, *, to: str = "", files: Sequence[Path] = (), key: str | None = None
) -> Post:
    """Send one notification with a bridge's config, database and bot, and close them again
    (what ``mmbridge notify`` does; a running daemon of the bridge may share the database)."""
    await bridge.db.start()
    try:
        await bridge.store.start()
        try:
            await bridge.appservice.start()
            team = await bridge.resolve_team()
            bridge.appservice.team_id = TeamID(team.id)
            notifier = Notifier(
                bridge.appservice, team_id=team.id, default_target=bridge.config.notify.default_target
            )
            return await notifier.notify(text, to=to, files=files, key=key)
        finally:
            await bridge.appservice.close()
            await bridge.store.stop()
    finally:
        await bridge.db.stop()
