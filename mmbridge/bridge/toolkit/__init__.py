"""The bridge toolkit: a bridge is a :class:`~.connector.Connector` (the remote network's code)
plus :class:`~.bridge.ConnectorBridge` (portals, ghosts, the message map, users, both directions).
See ``docs/toolkit.md``."""

from .bridge import ConnectorBridge
from .commands import CommandContext, CommandError, CommandRegistry
from .connector import (
    Connector,
    FollowsPortals,
    HandlesDeletes,
    HandlesEdits,
    HandlesLogin,
    HandlesReactions,
    HandlesTyping,
    LoginResult,
    MattermostDelete,
    MattermostEdit,
    MattermostMessage,
    MattermostReaction,
    NetworkInfo,
    ProvidesChatInfo,
    ProvidesUserInfo,
    capabilities,
)
from .formatting import split_message
from .ghosts import Ghosts
from .messages import MessageMap, MessagePart
from .portals import Portal, PortalError, Portals
from .remote import (
    ChatKind,
    PortalEvent,
    PortalKey,
    RemoteChatInfo,
    RemoteDelete,
    RemoteEdit,
    RemoteEvent,
    RemoteFile,
    RemoteLeave,
    RemoteMessage,
    RemoteReaction,
    RemoteReactionRemove,
    RemoteTyping,
    RemoteUserInfo,
    Sender,
)
from .users import BridgeUser, Users, display_name_of

__all__ = [
    "BridgeUser",
    "ChatKind",
    "CommandContext",
    "CommandError",
    "CommandRegistry",
    "Connector",
    "ConnectorBridge",
    "FollowsPortals",
    "Ghosts",
    "HandlesDeletes",
    "HandlesEdits",
    "HandlesLogin",
    "HandlesReactions",
    "HandlesTyping",
    "LoginResult",
    "MattermostDelete",
    "MattermostEdit",
    "MattermostMessage",
    "MattermostReaction",
    "MessageMap",
    "MessagePart",
    "NetworkInfo",
    "Portal",
    "PortalError",
    "PortalEvent",
    "PortalKey",
    "Portals",
    "ProvidesChatInfo",
    "ProvidesUserInfo",
    "RemoteChatInfo",
    "RemoteDelete",
    "RemoteEdit",
    "RemoteEvent",
    "RemoteFile",
    "RemoteLeave",
    "RemoteMessage",
    "RemoteReaction",
    "RemoteReactionRemove",
    "RemoteTyping",
    "RemoteUserInfo",
    "Sender",
    "Users",
    "capabilities",
    "display_name_of",
    "split_message",
]
