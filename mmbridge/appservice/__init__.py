"""The appservice layer: the bridge bot, its puppets' intents, and the state they share."""

from .appservice import PUPPET_MARKER, AppServiceAPI, ChildAppServiceAPI, PuppetKind
from .dispatcher import Dispatcher, DispatchStats, dedupe_key
from .echo import EchoFilter
from .errors import IntentError, NotInNamespaceError, ProvisioningConflictError, PuppetConflictError
from .intent import BRIDGE_PROP, IntentAPI, IntentKind
from .metrics import BridgeMetrics
from .namespace import PuppetNamespace, safe_localpart, unsafe_localpart
from .provisioning import CommandSpec, Provisioner, WebhookSpec
from .receiver import ACTION_SECRET_KEY, IntegrationTokens, Receiver
from .singleflight import SingleFlight
from .store import MemoryStateStore, PuppetRecord, SQLStateStore, StateStore, create_state_store
from .text import escape_markdown
from .txn import StoreTransactionIDs

__all__ = [
    "ACTION_SECRET_KEY",
    "BRIDGE_PROP",
    "PUPPET_MARKER",
    "AppServiceAPI",
    "BridgeMetrics",
    "ChildAppServiceAPI",
    "CommandSpec",
    "DispatchStats",
    "Dispatcher",
    "EchoFilter",
    "IntegrationTokens",
    "IntentAPI",
    "IntentError",
    "IntentKind",
    "MemoryStateStore",
    "NotInNamespaceError",
    "Provisioner",
    "ProvisioningConflictError",
    "PuppetConflictError",
    "PuppetKind",
    "PuppetNamespace",
    "PuppetRecord",
    "Receiver",
    "SQLStateStore",
    "SingleFlight",
    "StateStore",
    "StoreTransactionIDs",
    "WebhookSpec",
    "create_state_store",
    "dedupe_key",
    "escape_markdown",
    "safe_localpart",
    "unsafe_localpart",
]
