"""Prometheus metrics of one bridge, in a registry of its own (no process-wide globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..types import Event
from .catchup import CatchUpReport
from .dispatcher import DispatchStats


class BridgeMetrics:
    """The counters and histograms ``/metrics`` serves.

    Wire them in with :meth:`observe_request` (the HTTP client's observer),
    :meth:`observe_handled` (the dispatcher's ``on_handled``) and the receiver, which counts its
    own requests.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.receiver_requests = Counter(
            "mmbridge_receiver_requests",
            "Requests the receiver answered, by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.events = Counter(
            "mmbridge_events",
            "Events handled, by type",
            ["type"],
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "mmbridge_handler_errors",
            "Handler failures, by event type",
            ["type"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "mmbridge_handler_seconds",
            "Time spent in handlers",
            ["type"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
        )
        self.mattermost_requests = Counter(
            "mmbridge_mattermost_requests",
            "HTTP requests to Mattermost, by method and status (0: no answer)",
            ["method", "status"],
            registry=self.registry,
        )
        self.mattermost_seconds = Histogram(
            "mmbridge_mattermost_request_seconds",
            "Duration of HTTP requests to Mattermost",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.websocket_connected = Gauge(
            "mmbridge_websocket_connected",
            "1 while the WebSocket stream is connected",
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "mmbridge_dead_letters",
            "Events parked after their handlers failed every try (mmbridge dead-letters lists them)",
            registry=self.registry,
        )
        self.handler_retries = Gauge(
            "mmbridge_handler_retries",
            "Failed handler tries that were tried again (since start)",
            registry=self.registry,
        )
        self.catchup_events = Counter(
            "mmbridge_catchup_events",
            "Missed events fed to handlers by catch-up",
            registry=self.registry,
        )
        self.catchup_window_exceeded = Counter(
            "mmbridge_catchup_window_exceeded",
            "Catch-ups that started later than the catch-up window allowed (older changes not bridged)",
            registry=self.registry,
        )
        self.catchup_incomplete = Counter(
            "mmbridge_catchup_incomplete",
            "Catch-ups where the server's 1000-post limit may have hidden edits or deletions",
            registry=self.registry,
        )

    def watch_dispatcher(self, stats: DispatchStats) -> None:
        """Serve the dispatcher's retry count (read when scraped)."""
        self.handler_retries.set_function(lambda: stats.retries)

    def observe_catchup(self, report: CatchUpReport) -> None:
        """One channel's catch-up."""
        self.catchup_events.inc(report.dispatched)
        if report.window_exceeded:
            self.catchup_window_exceeded.inc()
        if report.incomplete:
            self.catchup_incomplete.inc()

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> None:
        """An :data:`~mmbridge.api.RequestObserver` for the HTTP client (path is not a label:
        ids would make the series unbounded)."""
        self.mattermost_requests.labels(method, str(status)).inc()
        self.mattermost_seconds.observe(seconds)

    def observe_handled(self, event: Event, seconds: float, error: BaseException | None) -> None:
        """The dispatcher's ``on_handled`` callback."""
        self.events.labels(event.type).inc()
        self.handler_seconds.labels(event.type).observe(seconds)
        if error is not None:
            self.handler_errors.labels(event.type).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
