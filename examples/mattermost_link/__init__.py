"""Mattermost <-> Mattermost (see README.md): ``bridge: "examples.mattermost_link:LinkBridge"``."""

from .bridge import LinkBridge, LinkConnector, LinkSettings

__all__ = ["LinkBridge", "LinkConnector", "LinkSettings"]
