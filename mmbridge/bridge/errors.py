"""Why a bridge could not start: one class per cause, each with its own exit code.

The ``mmbridge`` command prints the message as one line and exits with :attr:`StartupError.exit_code`
(a traceback only with ``--debug``), so systemd and operators can tell the causes apart. The table
is in ``docs/troubleshooting.md``; a test checks that both agree.
"""

from __future__ import annotations

from typing import ClassVar

#: Everything went well (also: stopped by SIGTERM or SIGINT after a clean shutdown).
EXIT_OK = 0
#: A bug or an unexpected failure while running (a message, and a traceback with --debug).
EXIT_INTERNAL = 1
#: The command line is wrong (argparse's own code).
EXIT_USAGE = 2


class StartupError(Exception):
    """A start that cannot succeed as configured; the message says what and where, in one line."""

    exit_code: ClassVar[int] = EXIT_INTERNAL
    summary: ClassVar[str] = "the bridge could not start"


class ConfigMissingError(StartupError):
    """The config file is missing, unreadable or not YAML."""

    exit_code = 10
    summary = "config file missing or unreadable"


class ConfigInvalidError(StartupError):
    """The config has invalid values or unknown keys (every problem is listed)."""

    exit_code = 11
    summary = "config invalid"


class RegistrationError(StartupError):
    """The registration file is missing, unreadable, or disagrees with the config."""

    exit_code = 12
    summary = "registration missing or not matching the config"


class BridgeNotFoundError(StartupError):
    """The bridge class named by ``--bridge`` or the config's ``bridge`` key cannot be loaded."""

    exit_code = 13
    summary = "bridge class not found"


class DatabaseUnavailableError(StartupError):
    """The database cannot be opened or reached, or another process holds this bridge's lock."""

    exit_code = 14
    summary = "database unreachable or locked"


class DatabaseOwnershipError(StartupError):
    """The database belongs to another program or server, has a newer schema, or an upgrade failed."""

    exit_code = 15
    summary = "database of another owner, or its schema cannot be used"


class ServerUnreachableError(StartupError):
    """The Mattermost server does not answer at the configured URL."""

    exit_code = 16
    summary = "Mattermost server unreachable"


class AuthenticationError(StartupError):
    """The server refuses the bot's token."""

    exit_code = 17
    summary = "bot token refused"


class MissingRightsError(StartupError):
    """The bot lacks a role or permission, or a server setting the bridge needs is off."""

    exit_code = 18
    summary = "bot rights or server settings missing"


class ListenError(StartupError):
    """The receiver or metrics address cannot be listened on (port in use, address not local)."""

    exit_code = 19
    summary = "cannot listen on the receiver or metrics address"


class BridgeSetupError(StartupError):
    """The bridge's own preparation failed: an unknown team or channel, a refused integration."""

    exit_code = 20
    summary = "bridge setup failed"


class CommandError(StartupError):
    """A command that would overwrite a file, or cannot write one (not a start-up failure)."""

    exit_code = EXIT_USAGE
    summary = "refused"


STARTUP_ERRORS: tuple[type[StartupError], ...] = (
    ConfigMissingError,
    ConfigInvalidError,
    RegistrationError,
    BridgeNotFoundError,
    DatabaseUnavailableError,
    DatabaseOwnershipError,
    ServerUnreachableError,
    AuthenticationError,
    MissingRightsError,
    ListenError,
    BridgeSetupError,
)
"""Every start-up failure class, in exit code order."""
