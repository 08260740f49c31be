"""``registration.yaml``: the bridge's identity as agreed with the server's admin, and its secrets.

``mmbridge generate-registration`` writes it from the config (with fresh secrets) and prints what the
server must allow; ``mmbridge run`` loads it and refuses a config that says otherwise, so that a
bridge never starts with another id, namespace or server than the one its puppets were made for.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

import attrs

from .config import ConfigError, ConfigFileError, CoreConfig, Secret, load_typed
from .config.schema import RateLimitConfig, bridge_id, http_url, username_template
from .config.schema import setting as _setting
from .errors import RegistrationError
from .files import atomic_write


@attrs.frozen
class Registration:
    """What ``registration.yaml`` holds."""

    id: str = _setting(check=bridge_id)
    mattermost_url: str = _setting(check=http_url)
    receiver_url: str = _setting(check=http_url)
    username_template: str = _setting(check=username_template)
    puppet_kind: Literal["user", "bot"] = _setting("user")
    action_secret: Secret = _setting(Secret(""))
    rate_limit: RateLimitConfig = _setting(factory=RateLimitConfig)
    bridge: str = _setting("")

    @classmethod
    def from_config(cls, config: CoreConfig, *, bridge: str = "") -> Registration:
        """A registration for ``config``, with new secrets."""
        return cls(
            id=config.appservice.id,
            mattermost_url=_normal(config.mattermost.url),
            receiver_url=_normal(config.appservice.receiver_url),
            username_template=config.puppets.username_template,
            puppet_kind=config.puppets.kind,
            action_secret=Secret(secrets.token_urlsafe(32)),
            rate_limit=config.mattermost.rate_limit,
            bridge=bridge,
        )

    def disagreements(self, config: CoreConfig) -> list[str]:
        """How ``config`` differs from this registration (empty when they agree)."""
        wanted = Registration.from_config(config)
        found = []
        for name in ("id", "mattermost_url", "receiver_url", "username_template", "puppet_kind"):
            mine, theirs = getattr(self, name), getattr(wanted, name)
            if _normal(str(mine)) != _normal(str(theirs)):
                found.append(f"{name} is {mine!r} in the registration but {theirs!r} in the config")
        if self.rate_limit != wanted.rate_limit:
            found.append(
                f"rate_limit is {_rate(self.rate_limit)} in the registration but {_rate(wanted.rate_limit)}"
            )
        return found

    def to_yaml(self) -> str:
        """The commented file text."""
        return _TEMPLATE.format(
            id=self.id,
            bridge=_quoted(self.bridge),
            mattermost_url=self.mattermost_url,
            receiver_url=self.receiver_url,
            username_template=_quoted(self.username_template),
            puppet_kind=self.puppet_kind,
            action_secret=self.action_secret.reveal(),
            per_second=_number(self.rate_limit.per_second),
            burst=self.rate_limit.burst,
        )


def load_registration(path: Path) -> Registration:
    """Read ``path``.

    Raises:
        RegistrationError: missing, unreadable or invalid (the message says how to make one).
    """
    if not path.exists():
        raise RegistrationError(
            f"{path}: no registration file; write it with `mmbridge generate-registration -c <config>`"
        )
    try:
        registration = load_typed(path, Registration)
    except ConfigFileError as exc:
        raise RegistrationError(str(exc)) from None
    except ConfigError as exc:
        raise RegistrationError(f"{path}: " + "; ".join(map(str, exc.problems))) from None
    if not registration.action_secret:
        raise RegistrationError(f"{path}: action_secret is empty; generate the registration again")
    return registration


def write_registration(path: Path, registration: Registration) -> None:
    """Write ``path`` atomically, readable by its owner only (it holds secrets)."""
    atomic_write(path, registration.to_yaml(), mode=0o600)


def check_registration(registration: Registration, config: CoreConfig, path: Path) -> None:
    """Refuse a config that disagrees with its registration.

    Raises:
        RegistrationError: naming every disagreement.
    """
    problems = registration.disagreements(config)
    if problems:
        raise RegistrationError(
            f"{path} does not match the config: {'; '.join(problems)} "
            "(change the config back, or generate the registration again and tell the server's admin)"
        )


def _rate(limit: RateLimitConfig) -> str:
    return f"{limit.per_second:g}/s (burst {limit.burst})"


def _normal(url: str) -> str:
    return url.rstrip("/")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_TEMPLATE = """\
# The registration of bridge {id!s}, written by `mmbridge generate-registration`.
# `mmbridge run` refuses a config that disagrees with it. Keep it private: it holds a secret.

# The bridge's id (appservice.id): it marks puppets and posts and scopes the bridge's rows.
id: {id}
# The bridge class this registration was made for (informational).
bridge: {bridge}
# The Mattermost server the bridge was registered with.
mattermost_url: {mattermost_url}
# Where the server reaches the bridge's receiver (outgoing webhooks, slash commands, actions).
receiver_url: {receiver_url}
# The puppet namespace: usernames the bridge creates for remote users.
username_template: {username_template}
# Puppets are `user` accounts (each with a token) or `bot` accounts.
puppet_kind: {puppet_kind}
# The secret in the context of the bridge's interactive message actions (Mattermost signs none).
action_secret: {action_secret}
# The client-side request rate the bridge keeps to (per_second 0: no limit).
rate_limit:
  per_second: {per_second}
  burst: {burst}
"""
