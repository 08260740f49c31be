"""The ``response_url`` of each custom slash command call: where its command may answer later."""

from __future__ import annotations

from ..errors import AppError
from ..events import EventBus
from ..ids import now_ms
from ..models import CommandWebhook
from ..settings import EmulatorSettings
from .base import StateData

#: ``model.CommandWebhookLifetime``: a response URL works for 30 minutes...
COMMAND_WEBHOOK_LIFETIME_MS = 30 * 60 * 1000
#: ...and five times (``TryUse(hook.Id, 5)``).
COMMAND_WEBHOOK_USES = 5


class CommandWebhookState(StateData):
    """Command webhooks by id; expired ones are dropped as new ones are made."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        self.command_webhooks: dict[str, CommandWebhook] = {}

    def add_command_webhook(
        self, command_id: str, user_id: str, channel_id: str, root_id: str
    ) -> CommandWebhook:
        """``CreateCommandWebhook``: the record behind one call's ``response_url``."""
        now = now_ms()
        for hook_id in [
            i for i, h in self.command_webhooks.items() if h.create_at <= now - COMMAND_WEBHOOK_LIFETIME_MS
        ]:
            del self.command_webhooks[hook_id]
        hook = CommandWebhook(self.ids.new_id(), now, command_id, user_id, channel_id, root_id)
        self.command_webhooks[hook.id] = hook
        return hook

    def command_webhook(self, hook_id: str) -> CommandWebhook:
        """A live command webhook (the store reads only those younger than their lifetime), or
        404 ``app.command_webhook.get.missing``."""
        hook = self.command_webhooks.get(hook_id)
        if hook is None or hook.create_at <= now_ms() - COMMAND_WEBHOOK_LIFETIME_MS:
            raise AppError(404, "app.command_webhook.get.missing")
        return hook

    def use_command_webhook(self, hook: CommandWebhook) -> None:
        """``TryUse``: count one use, or 400 ``app.command_webhook.try_use.invalid`` after five."""
        if hook.use_count >= COMMAND_WEBHOOK_USES:
            raise AppError(400, "app.command_webhook.try_use.invalid")
        hook.use_count += 1
