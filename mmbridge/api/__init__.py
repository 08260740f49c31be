"""The Mattermost REST API v4 client: HTTP layer, endpoint groups, retries and rate limits."""

from .client import ClientAPI
from .endpoints import (
    BotsAPI,
    ChannelsAPI,
    CommandsAPI,
    FilesAPI,
    PostsAPI,
    ReactionsAPI,
    SystemAPI,
    TeamsAPI,
    TokensAPI,
    UsersAPI,
    WebhooksAPI,
)
from .http import HTTPAPI, HTTPResponse, RequestObserver
from .ratelimit import RateLimiter
from .redaction import SecretFilter
from .retry import NO_RETRY, RetryPolicy
from .txn import RandomPrefixTransactionIDs, TransactionIDSource
from .websocket import ReconnectPolicy, WebSocketStream

__all__ = [
    "HTTPAPI",
    "NO_RETRY",
    "BotsAPI",
    "ChannelsAPI",
    "ClientAPI",
    "CommandsAPI",
    "FilesAPI",
    "HTTPResponse",
    "PostsAPI",
    "RandomPrefixTransactionIDs",
    "RateLimiter",
    "ReactionsAPI",
    "ReconnectPolicy",
    "RequestObserver",
    "RetryPolicy",
    "SecretFilter",
    "SystemAPI",
    "TeamsAPI",
    "TokensAPI",
    "TransactionIDSource",
    "UsersAPI",
    "WebSocketStream",
    "WebhooksAPI",
]
