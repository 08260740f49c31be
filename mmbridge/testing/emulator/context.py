"""Objects shared by the routes, attached to the aiohttp app with an ``AppKey``."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from .dedupe import PendingPostCache
from .events import EventBus
from .faults import FaultInjector
from .integrations import Integrations
from .models import Session
from .ratelimit import RateLimiter
from .requestlog import RequestLog
from .settings import EmulatorSettings
from .state import State


@dataclass
class EmulatorContext:
    """Everything a handler may need."""

    settings: EmulatorSettings
    state: State
    events: EventBus
    faults: FaultInjector
    pending_posts: PendingPostCache
    limiter: RateLimiter | None
    integrations: Integrations
    requests: RequestLog
    site_url: str = ""


CONTEXT_KEY = web.AppKey("mmbridge_emulator_context", EmulatorContext)

#: Keys of per-request values stored in the ``web.Request`` mapping.
REQUEST_ID = web.RequestKey("mm_request_id", str)
SESSION = web.RequestKey("mm_session", Session)
PROCESSING_DELAY = web.RequestKey("mm_processing_delay", float)
BODY_LIMIT = web.RequestKey("mm_body_limit", int)
DROPPED = web.RequestKey("mm_dropped", bool)
#: Set by a handler that wrote its own request-log record (the WebSocket upgrade).
LOGGED = web.RequestKey("mm_logged", bool)
NO_SERVER_HEADERS = web.RequestKey("mm_no_server_headers", bool)


def get_context(request: web.Request) -> EmulatorContext:
    """The emulator context of the app serving ``request``."""
    return request.app[CONTEXT_KEY]
