"""Incoming webhooks: the stored hooks (the server announces none of their changes)."""

from __future__ import annotations

from ..events import EventBus
from ..ids import now_ms
from ..models import IncomingWebhook
from ..settings import EmulatorSettings
from .channels import ChannelState


class IncomingWebhookState(ChannelState):
    """Incoming webhooks by id (deleted ones keep ``delete_at``)."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        self.incoming_hooks: dict[str, IncomingWebhook] = {}

    def incoming_hook(self, hook_id: str) -> IncomingWebhook | None:
        """A live hook (``GetIncoming`` reads only those with ``DeleteAt = 0``)."""
        hook = self.incoming_hooks.get(hook_id)
        return hook if hook is not None and not hook.delete_at else None

    def add_incoming_hook(self, hook: IncomingWebhook) -> IncomingWebhook:
        """Store a new hook with a fresh id and its times (``PreSave``)."""
        hook.id = self.ids.new_id()
        hook.create_at = hook.update_at = now_ms()
        self.incoming_hooks[hook.id] = hook
        return hook

    def replace_incoming_hook(self, hook: IncomingWebhook) -> IncomingWebhook:
        """Store an updated hook (``PreUpdate``: a new ``update_at``)."""
        old = self.incoming_hooks[hook.id]
        hook.update_at = max(now_ms(), old.update_at + 1)
        self.incoming_hooks[hook.id] = hook
        return hook

    def delete_incoming_hook(self, hook: IncomingWebhook) -> None:
        """Soft-delete a hook."""
        hook.delete_at = now_ms()
        hook.update_at = hook.delete_at
