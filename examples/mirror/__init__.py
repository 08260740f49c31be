"""A bridge that mirrors two channels of one Mattermost server, built on mmbridge.

Run it with ``mmbridge run -c config.yaml --bridge examples.mirror:MirrorBridge``.
"""

from .bridge import MirrorBridge, MirrorSettings

__all__ = ["MirrorBridge", "MirrorSettings"]
