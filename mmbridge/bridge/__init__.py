"""The bridge layer: the daemon's composition root, its YAML config, its registration, the
``mmbridge`` command, and the start-up errors it reports."""

from .bridge import Bridge, BridgeFailedError
from .config import (
    ConfigError,
    ConfigProblem,
    CoreConfig,
    LoadedConfig,
    Secret,
    SectionSpec,
    load_config,
    setting,
)
from .errors import (
    STARTUP_ERRORS,
    AuthenticationError,
    BridgeNotFoundError,
    BridgeSetupError,
    ConfigInvalidError,
    ConfigMissingError,
    DatabaseOwnershipError,
    DatabaseUnavailableError,
    ListenError,
    MissingRightsError,
    RegistrationError,
    ServerUnreachableError,
    StartupError,
)
from .registration import Registration, load_registration, write_registration
from .rights import Requirements, requirements_for

__all__ = [
    "STARTUP_ERRORS",
    "AuthenticationError",
    "Bridge",
    "BridgeFailedError",
    "BridgeNotFoundError",
    "BridgeSetupError",
    "ConfigError",
    "ConfigInvalidError",
    "ConfigMissingError",
    "ConfigProblem",
    "CoreConfig",
    "DatabaseOwnershipError",
    "DatabaseUnavailableError",
    "ListenError",
    "LoadedConfig",
    "MissingRightsError",
    "Registration",
    "RegistrationError",
    "Requirements",
    "Secret",
    "SectionSpec",
    "ServerUnreachableError",
    "StartupError",
    "load_config",
    "load_registration",
    "requirements_for",
    "setting",
    "write_registration",
]
