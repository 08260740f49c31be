"""The typed shape of the base config: one attrs class per section.

The comments users read are in ``example-config.yaml`` beside this package; these classes say what
each key is and which values are valid. A field's ``check`` (in its metadata) returns a message for
a bad value, so the loader can report every problem of a file at once rather than the first.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any, Literal

import attrs
from yarl import URL

from ...appservice.namespace import PuppetNamespace
from ...db.errors import DatabaseError
from ...db.url import parse_database_url
from ...errors import ValidationError
from .base import package_base_text
from .secret import Secret
from .yamltext import load_document, plain

Check = Callable[[Any], str | None]
"""A field's value check: a message when the value is bad, else None."""

_BRIDGE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
DISPLAY_NAME_FIELDS = frozenset({"displayname", "remote_id", "network"})


def setting(default: Any = attrs.NOTHING, *, check: Check | None = None, factory: Any = None) -> Any:
    """An attrs field with an optional value check run by the loader."""
    metadata = {"check": check} if check is not None else {}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def field_check(field: attrs.Attribute[Any]) -> Check | None:
    """The check of a field declared with :func:`setting`, if any."""
    check: Check | None = field.metadata.get("check")
    return check


# ---- checks ---------------------------------------------------------------------------------------


def http_url(value: str) -> str | None:
    """An absolute http(s) URL with a host."""
    try:
        url = URL(value)
    except (TypeError, ValueError):
        return "is not a URL"
    if url.scheme not in ("http", "https") or not url.host:
        return "must be an http:// or https:// URL with a host, e.g. https://chat.example.com"
    return None


def optional_http_url(value: str) -> str | None:
    """Empty, or an absolute http(s) URL."""
    return None if value == "" else http_url(value)


def not_empty(what: str) -> Check:
    """A check refusing an empty value, saying how to give ``what``."""

    def check(value: Any) -> str | None:
        return f"is empty: {what}" if not value else None

    return check


def one_of(*choices: str) -> Check:
    """A check refusing anything but one of ``choices``."""

    def check(value: Any) -> str | None:
        return None if value in choices else f"is {value!r}: must be one of {', '.join(map(repr, choices))}"

    return check


def port(value: int) -> str | None:
    """A TCP port (0 lets the system choose one)."""
    return None if 0 <= value <= 65535 else "must be a port number from 0 to 65535"


def positive(value: float) -> str | None:
    """A number above zero."""
    return None if value > 0 else "must be greater than 0"


def not_negative(value: float) -> str | None:
    """Zero or more."""
    return None if value >= 0 else "must be 0 or more"


def bridge_id(value: str) -> str | None:
    """A short name: lower-case letters, digits, ``-`` and ``_``."""
    if _BRIDGE_ID.fullmatch(value):
        return None
    return "must be 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit"


def username_template(value: str) -> str | None:
    """A valid puppet namespace template."""
    try:
        PuppetNamespace(value)
    except ValidationError as exc:
        return "is not a usable username template: " + exc.message.split(": ", 1)[-1]
    return None


def display_name_template(value: str) -> str | None:
    """A format string using only the known fields."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        return f"is not a valid template: {exc}"
    unknown = names - DISPLAY_NAME_FIELDS
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in sorted(DISPLAY_NAME_FIELDS))
        return f"uses unknown field(s) {', '.join(sorted(unknown))}; known: {known}"
    return None


def database_uri(value: Secret) -> str | None:
    """A database URL mmbridge can open (the message shows no password)."""
    try:
        parse_database_url(value.reveal())
    except DatabaseError as exc:
        return str(exc)
    return None


def listen_address(value: str) -> str | None:
    """Empty, or ``host:port``."""
    if value == "":
        return None
    host, sep, number = value.rpartition(":")
    if not sep or not host or not number.isdigit() or not 0 <= int(number) <= 65535:
        return "must be host:port, e.g. 127.0.0.1:9110 (or empty)"
    return None


def logging_config(value: dict[str, Any]) -> str | None:
    """A :func:`logging.config.dictConfig` mapping (version 1)."""
    return None if value.get("version") == 1 else "must be a logging dictConfig mapping with 'version: 1'"


def default_logging() -> dict[str, Any]:
    """The ``logging`` section of the package's base config (human-readable lines on stderr)."""
    section: dict[str, Any] = plain(load_document(package_base_text(), "base config")["logging"])
    return section


# ---- sections -------------------------------------------------------------------------------------


@attrs.frozen
class RateLimitConfig:
    """``mattermost.rate_limit``: the client-side limiter (``per_second: 0`` turns it off)."""

    per_second: float = setting(0.0, check=not_negative)
    burst: int = setting(100, check=positive)


@attrs.frozen
class MattermostConfig:
    """``mattermost``: the server and the bridge bot."""

    url: str = setting(check=http_url)
    token: Secret = setting(
        Secret(""),
        check=not_empty("set mattermost.token, mattermost.token_file or MMBRIDGE_MATTERMOST_TOKEN"),
    )
    team: str = setting("", check=not_empty("name the team puppets join (its name or id)"))
    timeout: float = setting(30.0, check=positive)
    rate_limit: RateLimitConfig = setting(factory=RateLimitConfig)


@attrs.frozen
class AppserviceConfig:
    """``appservice``: the bridge's identity and its receiver."""

    id: str = setting(check=bridge_id)
    host: str = setting("127.0.0.1")
    port: int = setting(29320, check=port)
    public_url: str = setting("", check=optional_http_url)
    registration: str = setting("registration.yaml", check=not_empty("name the registration file"))
    shutdown_timeout: float = setting(10.0, check=positive)

    @property
    def receiver_url(self) -> str:
        """Where Mattermost reaches the receiver: ``public_url``, else ``http://host:port``."""
        return self.public_url or f"http://{self.host}:{self.port}"


@attrs.frozen
class PuppetsConfig:
    """``puppets``: how remote users appear in Mattermost."""

    username_template: str = setting(check=username_template)
    display_name_template: str = setting("{displayname}", check=display_name_template)
    kind: Literal["user", "bot"] = setting("user")


@attrs.frozen
class DatabaseConfig:
    """``database``: where puppets, tokens and the bridge's own tables live."""

    uri: Secret = setting(Secret("sqlite:///mmbridge.db"), check=database_uri)


@attrs.frozen
class MetricsConfig:
    """``metrics``: Prometheus ``/metrics`` (and ``/health``)."""

    enabled: bool = setting(True)
    listen: str = setting("", check=listen_address)


@attrs.frozen
class DeliveryConfig:
    """``delivery``: catch-up after downtime, handler retries and dead letters."""

    catchup_window_hours: float = setting(24.0, check=positive)
    retry_attempts: int = setting(8, check=positive)
    retry_max_delay: float = setting(30.0, check=positive)


def relay_format(value: str) -> str | None:
    """A format string using ``{displayname}`` and ``{message}`` (the message at least)."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        return f"is not a valid format: {exc}"
    if "message" not in names:
        return "must contain {message}"
    unknown = names - {"displayname", "message"}
    return (
        f"uses unknown field(s) {', '.join(sorted(unknown))}; known: {{displayname}}, {{message}}"
        if unknown
        else None
    )


@attrs.frozen
class CommandsConfig:
    """``commands``: the bridge bot's slash command (toolkit bridges)."""

    trigger: str = setting("bridge", check=not_empty("name the trigger word"))
    admins: list[str] = setting(factory=list)


@attrs.frozen
class RelayConfig:
    """``relay``: how relayed messages look where usernames cannot be overridden."""

    format: str = setting("**{displayname}**: {message}", check=relay_format)


def notify_target(value: str) -> str | None:
    """Empty, ``@username`` or ``~channel``."""
    if value == "" or (len(value) > 1 and value[0] in "@~"):
        return None
    return "must be @username or ~channel (or empty)"


@attrs.frozen
class NotifyConfig:
    """``notify``: the notifier's default target."""

    default_target: str = setting("", check=notify_target)


@attrs.frozen
class CoreConfig:
    """Every section mmbridge itself reads; a bridge's own section is loaded beside it."""

    mattermost: MattermostConfig
    appservice: AppserviceConfig
    puppets: PuppetsConfig
    bridge: str = setting("")
    database: DatabaseConfig = setting(factory=DatabaseConfig)
    logging: dict[str, Any] = setting(factory=default_logging, check=logging_config)
    metrics: MetricsConfig = setting(factory=MetricsConfig)
    delivery: DeliveryConfig = setting(factory=DeliveryConfig)
    commands: CommandsConfig = setting(factory=CommandsConfig)
    relay: RelayConfig = setting(factory=RelayConfig)
    notify: NotifyConfig = setting(factory=NotifyConfig)
