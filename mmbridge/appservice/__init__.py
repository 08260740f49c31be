"""The appservice layer: the bridge bot, its puppets' intents, and the state they share."""

from .appservice import PUPPET_MARKER, AppServiceAPI, ChildAppServiceAPI, PuppetKind
from .errors import IntentError, NotInNamespaceError, PuppetConflictError
from .intent import BRIDGE_PROP, IntentAPI, IntentKind
from .namespace import PuppetNamespace, safe_localpart, unsafe_localpart
from .singleflight import SingleFlight
from .store import MemoryStateStore, PuppetRecord, SQLStateStore, StateStore, create_state_store
from .text import escape_markdown
from .txn import StoreTransactionIDs

__all__ = [
    "BRIDGE_PROP",
    "PUPPET_MARKER",
    "AppServiceAPI",
    "ChildAppServiceAPI",
    "IntentAPI",
    "IntentError",
    "IntentKind",
    "MemoryStateStore",
    "NotInNamespaceError",
    "PuppetConflictError",
    "PuppetKind",
    "PuppetNamespace",
    "PuppetRecord",
    "SQLStateStore",
    "SingleFlight",
    "StateStore",
    "StoreTransactionIDs",
    "create_state_store",
    "escape_markdown",
    "safe_localpart",
    "unsafe_localpart",
]
