"""The IRC <-> Mattermost bridge (see README.md): ``bridge: "examples.irc:IRCBridge"``."""

from .bridge import IRCBridge, IRCConnector, IRCSettings

__all__ = ["IRCBridge", "IRCConnector", "IRCSettings"]
