"""A tiny remote network for testing the toolkit: chats and users kept in memory, a connector that
records what Mattermost sent it and lets a test make remote users speak. It stands for the remote
side only; the Mattermost side is the emulator."""

from __future__ import annotations

import secrets
from typing import Any

import attrs

from mmbridge.bridge.toolkit import (
    ChatKind,
    ConnectorBridge,
    MattermostDelete,
    MattermostEdit,
    MattermostMessage,
    MattermostReaction,
    NetworkInfo,
    PortalKey,
    RemoteChatInfo,
    RemoteDelete,
    RemoteEdit,
    RemoteMessage,
    RemoteReaction,
    RemoteUserInfo,
    Sender,
)


@attrs.define
class Sent:
    """Something Mattermost sent to the remote network."""

    kind: str
    chat: str
    user: str
    text: str = ""
    remote_id: str = ""
    thread_root: str = ""


class LoopConnector:
    """The remote network's connector: every ability, chat and user info from memory."""

    network = NetworkInfo("loop", "Loopnet")

    def __init__(self) -> None:
        self.bridge: ConnectorBridge[Any] | None = None
        self.sent: list[Sent] = []
        self.chats: dict[str, RemoteChatInfo] = {}
        self.names: dict[str, str] = {}

    async def start(self, bridge: ConnectorBridge[Any]) -> None:
        self.bridge = bridge

    async def stop(self) -> None:
        self.bridge = None

    # remote -> Mattermost, driven by the test
    async def say(self, chat: str, user: str, text: str, *, message_id: str = "", reply_to: str = "") -> str:
        message_id = message_id or f"m{secrets.token_hex(4)}"  # unique, like a real network's
        assert self.bridge is not None
        await self.bridge.push(
            RemoteMessage(
                portal=PortalKey(chat),
                sender=Sender(remote_id=user),
                message_id=message_id,
                text=text,
                reply_to=reply_to,
            )
        )
        return message_id

    async def edit(self, chat: str, user: str, message_id: str, text: str) -> None:
        assert self.bridge is not None
        await self.bridge.push(
            RemoteEdit(
                portal=PortalKey(chat), sender=Sender(remote_id=user), message_id=message_id, text=text
            )
        )

    async def delete(self, chat: str, user: str, message_id: str) -> None:
        assert self.bridge is not None
        await self.bridge.push(
            RemoteDelete(portal=PortalKey(chat), sender=Sender(remote_id=user), message_id=message_id)
        )

    async def react(self, chat: str, user: str, message_id: str, emoji: str) -> None:
        assert self.bridge is not None
        await self.bridge.push(
            RemoteReaction(
                portal=PortalKey(chat), sender=Sender(remote_id=user), message_id=message_id, emoji=emoji
            )
        )

    # Mattermost -> remote
    async def handle_message(self, message: MattermostMessage) -> str:
        remote_id = f"r{secrets.token_hex(4)}"
        self.sent.append(
            Sent(
                "message",
                message.portal.key.id,
                message.sender.username,
                message.text,
                remote_id,
                message.thread_root,
            )
        )
        return remote_id

    async def handle_edit(self, edit: MattermostEdit) -> None:
        self.sent.append(
            Sent("edit", edit.portal.key.id, edit.sender.username, edit.text, edit.remote_ids[0])
        )

    async def handle_delete(self, delete: MattermostDelete) -> None:
        self.sent.append(
            Sent("delete", delete.portal.key.id, delete.sender.username, "", delete.remote_ids[0])
        )

    async def handle_reaction(self, reaction: MattermostReaction) -> None:
        kind = "unreact" if reaction.removed else "react"
        self.sent.append(
            Sent(kind, reaction.portal.key.id, reaction.sender.username, reaction.emoji, reaction.remote_id)
        )

    async def get_chat_info(self, portal: PortalKey) -> RemoteChatInfo | None:
        kind = ChatKind.DIRECT if portal.receiver else ChatKind.PUBLIC
        return self.chats.get(portal.id) or RemoteChatInfo(portal=portal, name=portal.id, kind=kind)

    async def get_user_info(self, remote_id: str) -> RemoteUserInfo | None:
        name = self.names.get(remote_id)
        return None if name is None else RemoteUserInfo(sender=Sender(remote_id=remote_id), display_name=name)


class LoopBridge(ConnectorBridge[None]):
    """The loop network's bridge: nothing but its connector."""

    name = "loop"
    config_defaults = {"appservice.id": "loop", "puppets.username_template": "loop_{localpart}"}

    def create_connector(self) -> LoopConnector:
        return LoopConnector()

    @property
    def loop(self) -> LoopConnector:
        """The connector, typed."""
        assert isinstance(self.connector, LoopConnector)
        return self.connector
