"""Errors of the appservice layer."""

from __future__ import annotations

from ..errors import MattermostError


class IntentError(MattermostError):
    """An intent could not make its user able to act (register, join, mint a token)."""


class NotInNamespaceError(IntentError, ValueError):
    """The user is neither a puppet of this bridge, nor its bot, nor a registered real user.

    Raised so that a bridge can never act as a real person by mistake.
    """


class PuppetConflictError(IntentError):
    """A puppet's username is already taken by an account this bridge did not create."""


class ProvisioningConflictError(IntentError):
    """An integration the bridge wants (a slash command's trigger) belongs to someone else."""
