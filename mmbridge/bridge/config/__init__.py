"""The bridge's YAML config: a commented base shipped in the package, typed sections, every
problem reported with its path and line, secrets from files and the environment, and in-place
upgrades that keep what the user wrote."""

from .base import compose_base, package_base_text
from .loader import LoadedConfig, SectionSpec, env_name, load_config, load_typed
from .problems import ConfigError, ConfigFileError, ConfigProblem
from .schema import (
    AppserviceConfig,
    CoreConfig,
    DatabaseConfig,
    DeliveryConfig,
    MattermostConfig,
    MetricsConfig,
    PuppetsConfig,
    RateLimitConfig,
    setting,
)
from .secret import Secret
from .upgrade import ConfigUpgradeError, UpgradeReport, layout_of, plan_upgrade, write_upgrade

__all__ = [
    "AppserviceConfig",
    "ConfigError",
    "ConfigFileError",
    "ConfigProblem",
    "ConfigUpgradeError",
    "CoreConfig",
    "DatabaseConfig",
    "DeliveryConfig",
    "LoadedConfig",
    "MattermostConfig",
    "MetricsConfig",
    "PuppetsConfig",
    "RateLimitConfig",
    "Secret",
    "SectionSpec",
    "UpgradeReport",
    "compose_base",
    "env_name",
    "layout_of",
    "load_config",
    "load_typed",
    "package_base_text",
    "plan_upgrade",
    "setting",
    "write_upgrade",
]
