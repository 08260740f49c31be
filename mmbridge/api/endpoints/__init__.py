"""Endpoint groups of the REST API, one module per resource."""

from .bots import BotsAPI
from .channels import ChannelsAPI
from .files import FilesAPI
from .posts import PostsAPI
from .reactions import ReactionsAPI
from .system import SystemAPI
from .teams import TeamsAPI
from .tokens import TokensAPI
from .users import UsersAPI

__all__ = [
    "BotsAPI",
    "ChannelsAPI",
    "FilesAPI",
    "PostsAPI",
    "ReactionsAPI",
    "SystemAPI",
    "TeamsAPI",
    "TokensAPI",
    "UsersAPI",
]
