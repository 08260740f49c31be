"""Make sure the bridge's slash commands and outgoing webhooks exist and point at its receiver.

Run at every start: what exists and is right is left alone, what is missing is created, what
points elsewhere (a new public URL) is updated. The tokens Mattermost issued are registered with
the receiver and remembered in the state store, so a restart that cannot reach the server still
accepts requests from existing integrations.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

import attrs
from yarl import URL

from ..api import ClientAPI
from ..types import Command, OutgoingWebhook, TeamID
from .errors import ProvisioningConflictError
from .receiver import IntegrationTokens
from .store import StateStore

_ACTION_SECRET_KEY = "mmbridge.action_secret"  # noqa: S105 - a store key, not a secret


@attrs.frozen
class CommandSpec:
    """A slash command the bridge answers: ``/trigger``."""

    trigger: str
    description: str = ""
    display_name: str = ""
    auto_complete_hint: str = ""
    auto_complete_desc: str = ""


@attrs.frozen
class WebhookSpec:
    """An outgoing webhook on one open channel (every post, unless ``trigger_words`` are set)."""

    channel_id: str
    display_name: str = "mmbridge"
    trigger_words: Sequence[str] = ()
    trigger_when: int = 0


class Provisioner:
    """Creates or updates the bridge's integrations on one team, idempotently.

    Args:
        client: a client allowed to manage commands and webhooks on the team (team or system admin).
        store: where tokens are remembered.
        tokens: the receiver's token registry, filled as integrations are ensured.
        team_id: the team the integrations live on.
        public_url: where Mattermost reaches the receiver (e.g. ``https://bridge.example.com``).
        prefix: the receiver's path prefix.
    """

    def __init__(
        self,
        client: ClientAPI,
        store: StateStore,
        tokens: IntegrationTokens,
        *,
        team_id: TeamID | str,
        public_url: URL | str,
        prefix: str = "/mattermost",
        log: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.tokens = tokens
        self.team_id = TeamID(team_id)
        base = URL(public_url)
        self.command_url = str(base.with_path(base.path.rstrip("/") + prefix + "/command"))
        self.webhook_url = str(base.with_path(base.path.rstrip("/") + prefix + "/webhook"))
        self.log = log or logging.getLogger("mmbridge.provisioning")

    async def load_remembered_tokens(self) -> int:
        """Register every token stored by earlier runs; returns how many."""
        count = 0
        for kind in ("command", "webhook"):
            for token in (await self._remembered(kind)).values():
                self.tokens.add(kind, token)
                count += 1
        return count

    async def ensure_command(self, spec: CommandSpec) -> Command:
        """The command ``/trigger`` on the team, answering at the receiver's URL."""
        same_trigger = [c for c in await self.client.commands.list(self.team_id) if c.trigger == spec.trigger]
        # Ours: calling our URL, or made by us before (its id is remembered). Another bridge's
        # command with the same trigger is never taken over.
        known_ids = (await self._remembered("command")).keys()
        existing = [c for c in same_trigger if c.url == self.command_url or c.id in known_ids]
        if same_trigger and not existing:
            raise ProvisioningConflictError(
                f"the slash command /{spec.trigger} on this team belongs to another integration "
                f"(it calls {same_trigger[0].url}); give this bridge another trigger"
            )
        wanted = {
            "url": self.command_url,
            "method": "P",
            "description": spec.description,
            "display_name": spec.display_name,
            "auto_complete": True,
            "auto_complete_hint": spec.auto_complete_hint,
            "auto_complete_desc": spec.auto_complete_desc,
        }
        if not existing:
            command = await self.client.commands.create(
                self.team_id,
                spec.trigger,
                self.command_url,
                description=spec.description,
                display_name=spec.display_name,
                auto_complete=True,
                auto_complete_hint=spec.auto_complete_hint,
                auto_complete_desc=spec.auto_complete_desc,
            )
            self.log.info("created slash command /%s", spec.trigger)
        else:
            command = existing[0]
            if any(getattr(command, key) != value for key, value in wanted.items()):
                command = await self.client.commands.update(command, **wanted)
                self.log.info("updated slash command /%s", spec.trigger)
        token = command.token or await self.client.commands.regen_token(command.id)
        await self._remember("command", command.id, token)
        return command

    async def ensure_webhook(self, spec: WebhookSpec) -> OutgoingWebhook:
        """An outgoing webhook on ``spec.channel_id`` calling the receiver (JSON bodies)."""
        hooks = await self.client.webhooks.list_outgoing(channel_id=spec.channel_id, per_page=200)
        # Ours: calling our URL, or made by us before (its id is remembered) and now to be moved.
        # Never by name: another bridge's hook may be called the same.
        known_ids = (await self._remembered("webhook")).keys()
        ours = [h for h in hooks if self.webhook_url in h.callback_urls or h.id in known_ids]
        wanted = {
            "callback_urls": [self.webhook_url],
            "trigger_words": list(spec.trigger_words),
            "trigger_when": spec.trigger_when,
            "content_type": "application/json",
            "display_name": spec.display_name,
        }
        if not ours:
            hook = await self.client.webhooks.create_outgoing(
                self.team_id,
                spec.display_name,
                [self.webhook_url],
                channel_id=spec.channel_id,
                trigger_words=spec.trigger_words,
                trigger_when=spec.trigger_when,
            )
            self.log.info("created outgoing webhook on channel %s", spec.channel_id)
        else:
            hook = ours[0]
            if any(getattr(hook, key) != value for key, value in wanted.items()):
                hook = await self.client.webhooks.update_outgoing(hook, **wanted)
                self.log.info("updated outgoing webhook on channel %s", spec.channel_id)
        token = hook.token or (await self.client.webhooks.regen_outgoing_token(hook.id)).token
        await self._remember("webhook", hook.id, token)
        return hook

    async def ensure_action_secret(self) -> str:
        """The secret the bridge puts in its interactive actions' context (made once, kept)."""
        secret = await self.store.get_value(_ACTION_SECRET_KEY)
        if not secret:
            secret = secrets.token_urlsafe(32)
            self.tokens.add("action", secret)  # first: the store's write may be logged
            await self.store.set_value(_ACTION_SECRET_KEY, secret)
        self.tokens.add("action", secret)
        return secret

    async def _remembered(self, kind: str) -> dict[str, str]:
        """``{integration id: token}`` stored for ``kind``."""
        value = await self.store.get_value(f"mmbridge.tokens.{kind}") or ""
        pairs = (entry.split("=", 1) for entry in value.split() if "=" in entry)
        return {integration: token for integration, token in pairs}

    async def _remember(self, kind: str, integration_id: str, token: str) -> None:
        self.tokens.add(kind, token)
        known = await self._remembered(kind)
        old = known.get(integration_id)
        if old == token:
            return
        if old:
            self.tokens.discard(kind, old)  # the server replaced it
        known[integration_id] = token
        entries = " ".join(f"{key}={value}" for key, value in sorted(known.items()))
        await self.store.set_value(f"mmbridge.tokens.{kind}", entries)
