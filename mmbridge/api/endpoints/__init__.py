"""Endpoint groups of the REST API, one module per resource."""

from .bots import BotsAPI
from .channels import ChannelsAPI
from .commands import CommandsAPI
from .emoji import EmojiAPI
from .files import FilesAPI
from .posts import PostsAPI
from .preferences import PreferencesAPI
from .reactions import ReactionsAPI
from .roles import RolesAPI
from .system import SystemAPI
from .teams import TeamsAPI
from .tokens import TokensAPI
from .users import UsersAPI
from .webhooks import WebhooksAPI

__all__ = [
    "BotsAPI",
    "ChannelsAPI",
    "CommandsAPI",
    "EmojiAPI",
    "FilesAPI",
    "PostsAPI",
    "PreferencesAPI",
    "ReactionsAPI",
    "RolesAPI",
    "SystemAPI",
    "TeamsAPI",
    "TokensAPI",
    "UsersAPI",
    "WebhooksAPI",
]
