"""Event hook: every state change the real server announces over its WebSocket.

Subscribers (the WebSocket hub) run synchronously inside :meth:`EventBus.publish`, so who receives
an event is decided at publish time, against the state of that moment.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Broadcast:
    """Who receives an event (``model.WebsocketBroadcast``)."""

    user_id: str = ""
    channel_id: str = ""
    team_id: str = ""
    omit_users: dict[str, bool] = field(default_factory=dict)
    #: Only this connection receives the event.
    connection_id: str = ""
    #: This connection does not receive the event.
    omit_connection_id: str = ""
    #: ``ContainsSanitizedData``: system admins do not receive the event (they get a fuller copy).
    #: Not part of the encoded ``broadcast`` (``json:"-"`` in the server).
    contains_sanitized_data: bool = False
    #: ``ContainsSensitiveData``: only system admins receive the event. Not encoded either.
    contains_sensitive_data: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``broadcast`` object of a WebSocket event."""
        return {
            "omit_users": dict(self.omit_users) or None,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "team_id": self.team_id,
            "connection_id": self.connection_id,
            "omit_connection_id": self.omit_connection_id,
        }


@dataclass(frozen=True)
class Event:
    """One published event."""

    event: str
    data: dict[str, Any]
    broadcast: Broadcast


Subscriber = Callable[[Event], None]


class EventBus:
    """Keeps the last events and calls subscribers synchronously."""

    def __init__(self, history: int = 1000) -> None:
        self.history: collections.deque[Event] = collections.deque(maxlen=history)
        self._subscribers: list[Subscriber] = []

    def publish(self, event: str, data: dict[str, Any], broadcast: Broadcast) -> None:
        """Record ``event`` and hand it to every subscriber."""
        item = Event(event, data, broadcast)
        self.history.append(item)
        for subscriber in list(self._subscribers):
            subscriber(item)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Register ``subscriber``; returns a function that unregisters it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def of_type(self, event: str) -> list[Event]:
        """The kept events with this name, oldest first."""
        return [e for e in self.history if e.event == event]

    def clear(self) -> None:
        """Forget the kept events."""
        self.history.clear()
