"""Outbound HTTP to integrations: outgoing webhooks, slash commands, post actions, dialogs.

One :class:`Integrations` object per emulator owns the ``aiohttp.ClientSession`` used for every
call, the background tasks of outgoing webhooks (see :meth:`Integrations.idle`) and the trigger
ids handed to integrations. It follows ``server/channels/app/webhook.go``, ``command.go`` and
``post_action.go`` of the real server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import aiohttp

from .errors import AppError, invalid_param
from .ids import new_id, now_ms
from .models import (
    Channel,
    Command,
    OutgoingWebhook,
    Post,
    User,
    dumps,
    generate_action_ids,
    hashtags_of,
)
from .settings import EmulatorSettings
from .state import State

__all__ = [
    "BUILTIN_TRIGGERS",
    "IntegrationError",
    "Integrations",
    "OutboundCall",
    "OutboundResponse",
    "go_form_encode",
    "is_valid_http_url",
    "slack_links_to_markdown",
]

log = logging.getLogger(__name__)

#: ``MaxIntegrationResponseSize``: at most this much of an integration's answer is read.
MAX_RESPONSE_SIZE = 1024 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
#: ``model.PostActionRetainPropKeys``: kept on a post whatever an action's update says.
RETAIN_PROP_KEYS = ("from_webhook", "override_username", "override_icon_url")
#: ``model.DefaultWebhookUsername``.
DEFAULT_WEBHOOK_USERNAME = "webhook"
#: Triggers of the real server's built-in commands: a custom command may not take them.
BUILTIN_TRIGGERS = frozenset(
    {
        "away",
        "code",
        "collapse",
        "dnd",
        "echo",
        "expand",
        "groupmsg",
        "header",
        "help",
        "invite",
        "invite_people",
        "join",
        "kick",
        "leave",
        "logout",
        "me",
        "msg",
        "mute",
        "offline",
        "online",
        "open",
        "purpose",
        "remove",
        "rename",
        "search",
        "settings",
        "shortcuts",
        "shrug",
        "status",
    }
)

_SLACK_LINK_RE = re.compile(r"<([^\n<|>]+)\|([^|\n>]+)>")
_AT_MENTION_RE = re.compile(r"\B@([A-Za-z0-9][A-Za-z0-9.\-_:]*)")
_CHANNEL_MENTION_RE = re.compile(r"\B~([a-z0-9.\-_]+)")


def slack_links_to_markdown(text: str) -> str:
    """``<url|text>`` becomes ``[text](url)`` (``ParseSlackLinksToMarkdown``)."""
    return _SLACK_LINK_RE.sub(r"[\2](\1)", text)


def go_form_encode(pairs: list[tuple[str, str]]) -> str:
    """``url.Values.Encode``: keys sorted (values keep their order), ``+`` for spaces."""
    return urlencode(sorted(pairs, key=lambda kv: kv[0]), quote_via=quote_plus)


def is_valid_http_url(url: str) -> bool:
    """``model.IsValidHTTPURL``: an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _parse_attachments(value: Any) -> list[Any] | None:
    """Attachments with their Slack links turned into Markdown, or None when absent/empty."""
    if not isinstance(value, list) or not value:
        return None
    out = []
    for attachment in value:
        if isinstance(attachment, dict):
            attachment = dict(attachment)
            for key in ("text", "pretext"):
                if isinstance(attachment.get(key), str):
                    attachment[key] = slack_links_to_markdown(attachment[key])
        out.append(attachment)
    return out


class IntegrationError(Exception):
    """The call to an integration failed: refused, timed out, or not HTTP at all."""


@dataclass(frozen=True)
class OutboundResponse:
    """What an integration answered (the body cut at 1 MiB)."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class OutboundCall:
    """One call the emulator made to an integration (``emu.integration_calls``)."""

    kind: str  # "outgoing_webhook", "command", "post_action", "dialog_submit"
    method: str
    url: str
    #: The HTTP status, 0 when the call failed (see ``error``).
    status: int
    error: str = ""


@dataclass
class _Trigger:
    user_id: str
    created: int


@dataclass
class Integrations:
    """The emulator's HTTP client side."""

    settings: EmulatorSettings
    state: State
    calls: list[OutboundCall] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _in_flight: int = 0
    _idle: asyncio.Event | None = None
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _triggers: dict[str, _Trigger] = field(default_factory=dict)

    # ------------------------------------------------------------- lifecycle
    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.outgoing_integration_timeout),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        """Cancel the background calls and close the client session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _busy_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    def _update_idle(self) -> None:
        event = self._busy_event()
        if self._in_flight == 0 and not self._tasks:
            event.set()
        else:
            event.clear()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; :meth:`idle` waits for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        self._update_idle()

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("integration task failed", exc_info=finished.exception())
            self._update_idle()

        task.add_done_callback(done)

    async def idle(self) -> None:
        """Return when no outbound call (or webhook task) is in flight."""
        event = self._busy_event()
        while not (self._in_flight == 0 and not self._tasks):
            await event.wait()
            # A finished task may have spawned another within the same loop iteration.
            await asyncio.sleep(0)

    # ------------------------------------------------------------- transport
    async def send(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> OutboundResponse:
        """Make one call; :class:`IntegrationError` when there is no HTTP answer."""
        self._in_flight += 1
        self._update_idle()
        try:
            try:
                async with self._client().request(
                    method, url, data=body, headers=headers or {}, allow_redirects=True
                ) as resp:
                    data = await resp.content.read(MAX_RESPONSE_SIZE)
                    self.calls.append(OutboundCall(kind, method, url, resp.status))
                    return OutboundResponse(resp.status, resp.headers.get("Content-Type", ""), data)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.calls.append(OutboundCall(kind, method, url, 0, error))
                if isinstance(exc, TimeoutError):
                    log.warning("%s %s timed out; consider raising outgoing_integration_timeout", method, url)
                raise IntegrationError(error) from exc
        finally:
            self._in_flight -= 1
            self._update_idle()

    # ------------------------------------------------------------ trigger ids
    def new_trigger_id(self, user_id: str) -> tuple[str, str]:
        """``GenerateTriggerId``: (the id the client sees, the signed id the integration gets)."""
        client_id = new_id()
        created = now_ms()
        data = f"{client_id}:{user_id}:{created}"
        signature = base64.b64encode(hmac.new(self._secret, data.encode(), hashlib.sha256).digest())
        self._triggers[client_id] = _Trigger(user_id, created)
        trigger = base64.b64encode(f"{data}:{signature.decode()}".encode()).decode()
        return client_id, trigger

    def decode_trigger_id(self, trigger_id: str) -> tuple[str, str]:
        """``DecodeAndVerifyTriggerId``: (client trigger id, user id), or a 400."""
        prefix = "interactive_message.decode_trigger_id"
        try:
            decoded = base64.b64decode(trigger_id, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise AppError(
                400, f"{prefix}.base64_decode_failed", "Failed to decode base64 for trigger ID."
            ) from None
        parts = decoded.split(":")
        if len(parts) != 4:
            raise AppError(400, f"{prefix}.missing_data", "Trigger ID missing required data.")
        client_id, user_id, created, signature = parts
        data = f"{client_id}:{user_id}:{created}"
        expected = base64.b64encode(hmac.new(self._secret, data.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise AppError(400, f"{prefix}.verify_signature_failed", "Signature verification failed.")
        if now_ms() - int(created) > self.settings.outgoing_integration_timeout * 1000:
            raise AppError(400, f"{prefix}.expired", "Trigger ID expired.")
        return client_id, user_id

    # ------------------------------------------------------------ posts
    def ephemeral_post(self, user_id: str, channel_id: str, message: str, root_id: str = "") -> Post:
        """A post that is only ever sent, never stored."""
        return self.state.new_post(channel_id, user_id, message, root_id=root_id)

    def _save_integration_post(
        self,
        user_id: str,
        channel: Channel,
        message: str,
        props: dict[str, Any],
        post_type: str,
        root_id: str,
    ) -> list[Post]:
        """Create one post, or several when the text is over the size limit (``SplitWebhookPost``)."""
        if post_type.startswith("system_"):
            raise invalid_param("post.type")
        if root_id:
            root = self.state.posts.get(root_id)
            if root is None or root.delete_at or root.channel_id != channel.id:
                raise AppError(400, "api.post.create_post.root_id.app_error")
            root_id = root.root_id or root.id
        limit = self.settings.max_post_size
        chunks = [message[i : i + limit] for i in range(0, len(message), limit)] or [""]
        base = {k: v for k, v in props.items() if k != "attachments"}
        sender = self.state.users.get(user_id)
        created = []
        for index, chunk in enumerate(chunks):
            chunk_props = dict(base)
            if index == len(chunks) - 1 and "attachments" in props:
                chunk_props["attachments"] = props["attachments"]
            generate_action_ids(chunk_props)
            post = self.state.new_post(
                channel.id,
                user_id,
                chunk,
                post_type=post_type,
                root_id=root_id,
                props=chunk_props,
            )
            self.state.save_post(post, sender=sender)
            created.append(post)
        return created

    # ------------------------------------------------------- outgoing webhooks
    def trigger_outgoing_webhooks(self, post: Post, channel: Channel, user: User) -> None:
        """``handleWebhookEvents`` for a post made through ``POST /posts``: fire in the background."""
        if not self.settings.enable_outgoing_webhooks or channel.type != "O":
            return
        if post.type.startswith("system_") or post.props.get("from_webhook") == "true":
            return
        hooks = [
            h for h in self.state.outgoing_hooks.values() if h.team_id == channel.team_id and not h.delete_at
        ]
        if not hooks:
            return
        words = post.message.split()
        first = words[0] if words else ""
        relevant: list[OutgoingWebhook] = []
        # As the real server, one trigger word (that of the last matching hook) goes to all.
        trigger_word = ""
        for hook in hooks:
            if hook.channel_id not in (post.channel_id, ""):
                continue
            if hook.channel_id == post.channel_id and not hook.trigger_words:
                relevant.append(hook)
                trigger_word = ""
            elif hook.trigger_when == 0 and first and first in hook.trigger_words:
                relevant.append(hook)
                trigger_word = first
            elif hook.trigger_when == 1 and first:
                match = next((t for t in hook.trigger_words if first.startswith(t)), None)
                if match is not None:
                    relevant.append(hook)
                    trigger_word = match
        if not relevant:
            return
        team = self.state.teams.get(channel.team_id)
        for hook in relevant:
            payload = {
                "token": hook.token,
                "team_id": hook.team_id,
                "team_domain": team.name if team else "",
                "channel_id": post.channel_id,
                "channel_name": channel.name,
                "timestamp": post.create_at,
                "user_id": post.user_id,
                "user_name": user.username,
                "post_id": post.id,
                "text": post.message,
                "trigger_word": trigger_word,
                "file_ids": ",".join(post.file_ids),
            }
            self.spawn(self._fire_hook(hook, payload, post, channel))

    async def _fire_hook(
        self, hook: OutgoingWebhook, payload: dict[str, Any], post: Post, channel: Channel
    ) -> None:
        if hook.content_type == "application/json":
            content_type = "application/json"
            body = dumps(payload).encode()
        else:
            content_type = FORM_CONTENT_TYPE
            form = dict(payload, timestamp=str(payload["timestamp"] // 1000))
            body = go_form_encode(list(form.items())).encode()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        await asyncio.gather(
            *(self._call_hook_url(hook, url, body, headers, post, channel) for url in hook.callback_urls)
        )

    async def _call_hook_url(
        self,
        hook: OutgoingWebhook,
        url: str,
        body: bytes,
        headers: dict[str, str],
        post: Post,
        channel: Channel,
    ) -> None:
        try:
            answer = await self.send("outgoing_webhook", "POST", url, body=body, headers=headers)
        except IntegrationError as exc:
            log.error("Outgoing Webhook POST failed (hook %s, %s): %s", hook.id, url, exc)
            return
        # The HTTP status is not checked; an empty body means "no post".
        if not answer.body.strip():
            return
        try:
            response = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            log.error("Outgoing Webhook answer of %s is not JSON", url)
            return
        if not isinstance(response, dict):
            log.error("Outgoing Webhook answer of %s is not a JSON object", url)
            return
        text = response.get("text")
        attachments = _parse_attachments(response.get("attachments"))
        if text is None and not attachments:
            return
        try:
            self._post_hook_response(hook, response, text, attachments, post, channel)
        except AppError as exc:
            log.error("Failed to create the response post of hook %s: %s", hook.id, exc)

    def _post_hook_response(
        self,
        hook: OutgoingWebhook,
        response: dict[str, Any],
        text: Any,
        attachments: list[Any] | None,
        post: Post,
        channel: Channel,
    ) -> None:
        raw_props = response.get("props")
        props: dict[str, Any] = dict(raw_props) if isinstance(raw_props, dict) else {}
        props["webhook_display_name"] = hook.display_name
        username = response.get("username") if isinstance(response.get("username"), str) else ""
        icon_url = response.get("icon_url") if isinstance(response.get("icon_url"), str) else ""
        if self.settings.enable_post_username_override and hook.username and not username:
            username = hook.username
        if self.settings.enable_post_icon_override and hook.icon_url and not icon_url:
            icon_url = hook.icon_url
        post_props = self._webhook_props(props, str(username or ""), str(icon_url or ""))
        if attachments:
            post_props["attachments"] = attachments
        post_type = response.get("type") if isinstance(response.get("type"), str) else ""
        root_id = post.id if response.get("response_type") == "comment" else ""
        message = slack_links_to_markdown(text) if isinstance(text, str) else ""
        self._save_integration_post(hook.creator_id, channel, message, post_props, str(post_type), root_id)

    def _webhook_props(self, props: dict[str, Any], username: str, icon_url: str) -> dict[str, Any]:
        """``CreateWebhookPost``'s props: ``from_webhook`` and the allowed overrides."""
        out: dict[str, Any] = {"from_webhook": "true"}
        if self.settings.enable_post_username_override:
            out["override_username"] = username or DEFAULT_WEBHOOK_USERNAME
        if self.settings.enable_post_icon_override and icon_url:
            out["override_icon_url"] = icon_url
        for key, value in props.items():
            if key not in ("attachments", "override_icon_url", "override_username", "from_webhook"):
                out[key] = value
        return out

    # ---------------------------------------------------------- slash commands
    def _mentions(self, message: str, team_id: str) -> list[tuple[str, str]]:
        """``user_mentions``/``user_mentions_ids`` and ``channel_mentions``/``..._ids`` values."""
        pairs: list[tuple[str, str]] = []
        seen: set[str] = set()
        for match in _AT_MENTION_RE.findall(message):
            name = match.lower()
            user = self.state.user_by_username(name)
            while user is None and name and name[-1] in ".-_":
                name = name[:-1]
                user = self.state.user_by_username(name)
            if user is None or name in seen or not self.state.is_team_member(team_id, user.id):
                continue
            seen.add(name)
            pairs += [("user_mentions", name), ("user_mentions_ids", user.id)]
        for name in dict.fromkeys(_CHANNEL_MENTION_RE.findall(message)):
            channel = self.state.channel_by_name(team_id, name)
            if channel is not None and channel.type == "O" and not channel.delete_at:
                pairs += [("channel_mentions", name), ("channel_mentions_ids", channel.id)]
        return pairs

    async def execute_command(
        self,
        user: User,
        channel: Channel,
        team_id: str,
        command_text: str,
        root_id: str,
        site_url: str,
    ) -> dict[str, Any]:
        """``ExecuteCommand`` for a custom command; returns the ``CommandResponse`` JSON."""
        match = re.search(r"\s", command_text)
        trigger, message = (
            (command_text[: match.start()], command_text[match.end() :]) if match else (command_text, "")
        )
        trigger = trigger.lower()
        if not trigger.startswith("/"):
            raise AppError(400, "api.command.execute_command.format.app_error")
        trigger = trigger[1:]
        client_trigger_id, trigger_id = self.new_trigger_id(user.id)
        if not self.settings.enable_commands:
            raise AppError(501, "api.command.disabled.app_error")
        team = self.state.team(team_id)
        if trigger == "me":  # the built-in ``/me`` (``MeProvider``): an in-channel post as the user
            text = f"*{message}*"
            self._save_integration_post(user.id, channel, text, {}, "me", root_id)
            return {
                "response_type": "in_channel",
                "type": "me",
                "text": text,
                "trigger_id": client_trigger_id,
            }
        command = next(
            (
                c
                for c in self.state.commands.values()
                if c.team_id == team.id and not c.delete_at and c.trigger == trigger
            ),
            None,
        )
        if command is None:
            shown = trigger if len(trigger) <= 512 else trigger[:512] + "..."
            raise AppError(
                404,
                "api.command.execute_command.not_found.app_error",
                f"Command with a trigger of '{shown}' not found. To send a message beginning with "
                '"/", try adding an empty space at the beginning of the message.',
            )
        if not site_url:
            raise AppError(400, "api.command.execute_command.site_url_required.app_error")
        pairs = [
            ("token", command.token),
            ("team_id", command.team_id),
            ("team_domain", team.name),
            ("channel_id", channel.id),
            ("channel_name", channel.name),
            ("user_id", user.id),
            ("user_name", user.username),
            ("command", "/" + trigger),
            ("text", message),
            ("trigger_id", trigger_id),
            ("root_id", root_id),
            *self._mentions(message, team.id),
            ("response_url", f"{site_url.rstrip('/')}/hooks/commands/{new_id()}"),
        ]
        response = await self._command_request(command, pairs)
        response["trigger_id"] = client_trigger_id
        self._handle_command_response(command, user, channel, team.id, root_id, response)
        return response

    async def _command_request(self, command: Command, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        """``DoCommandRequest``: call the command's URL and parse the answer."""

        def failed(detail: str) -> AppError:
            log.error("Slash command /%s failed: %s", command.trigger, detail)
            return AppError(
                500,
                "api.command.execute_command.failed.app_error",
                f"Command with a trigger of '{command.trigger}' failed.",
            )

        encoded = go_form_encode(pairs)
        headers = {"Accept": "application/json"}
        if command.token:
            headers["Authorization"] = "Token " + command.token
        try:
            if command.method == "G":
                separator = "&" if urlsplit(command.url).query else ("" if command.url.endswith("?") else "?")
                answer = await self.send("command", "GET", command.url + separator + encoded, headers=headers)
            else:
                headers["Content-Type"] = FORM_CONTENT_TYPE
                answer = await self.send(
                    "command", "POST", command.url, body=encoded.encode(), headers=headers
                )
        except IntegrationError as exc:
            raise failed(str(exc)) from None
        if answer.status != 200:
            log.error("Slash command /%s answered %s", command.trigger, answer.status)
            raise AppError(
                500,
                "api.command.execute_command.failed_resp.app_error",
                f"Command with a trigger of '{command.trigger}' returned response {answer.status}.",
            )
        if answer.content_type.split(";")[0].strip() == "application/json":
            try:
                parsed = json.loads(answer.body)
            except (ValueError, UnicodeDecodeError):
                raise failed("the answer is not valid JSON") from None
            if not isinstance(parsed, dict):
                raise failed("the answer is not a JSON object")
        else:
            parsed = {"text": answer.body.decode("utf-8", "replace")}
        return _command_response(parsed)

    def _handle_command_response(
        self,
        command: Command,
        user: User,
        channel: Channel,
        team_id: str,
        root_id: str,
        response: dict[str, Any],
    ) -> None:
        """``HandleCommandResponse``: the response and its ``extra_responses``."""
        failed = False
        for item in [response, *(response.get("extra_responses") or [])]:
            try:
                self._command_response_post(command, user, channel, root_id, item)
            except AppError as exc:
                log.debug("command response post failed: %s", exc)
                failed = True
        if failed:
            raise AppError(
                500,
                "api.command.execute_command.create_post_failed.app_error",
                f"Command '{command.trigger}' failed to post response. "
                "Please contact your System Administrator.",
            )

    def _command_response_post(
        self, command: Command, user: User, channel: Channel, root_id: str, response: dict[str, Any]
    ) -> None:
        """``HandleCommandResponsePost`` + ``CreateCommandPost``."""
        target = channel
        if response.get("channel_id"):
            if not self.state.is_channel_member(response["channel_id"], user.id):
                raise AppError(403, "api.command.command_post.forbidden.app_error")
            target = self.state.channel(response["channel_id"])
        props: dict[str, Any] = dict(response.get("props") or {})
        if self.settings.enable_post_username_override and (command.username or response.get("username")):
            props["override_username"] = command.username or response["username"]
        if self.settings.enable_post_icon_override and (command.icon_url or response.get("icon_url")):
            props["override_icon_url"] = command.icon_url or response["icon_url"]
        props["from_webhook"] = "true"  # a custom (non built-in) command's answer is a bot post
        if not response.get("skip_slack_parsing"):
            response["text"] = slack_links_to_markdown(response.get("text") or "")
            response["attachments"] = _parse_attachments(response.get("attachments"))
        text: str = response.get("text") or ""
        attachments = response.get("attachments")
        if attachments:
            props["attachments"] = attachments
        post_type = response.get("type") or ""
        if post_type.startswith("system_"):
            raise invalid_param("post.type")
        response_type = response.get("response_type") or ""
        if response_type == "in_channel":
            self._save_integration_post(user.id, target, text, props, post_type, root_id)
        elif response_type in ("", "ephemeral") and (text or attachments is not None):
            post = self.ephemeral_post(user.id, target.id, text, root_id)
            post.props = props
            self.state.send_ephemeral(user.id, post)

    # ------------------------------------------------------------ post actions
    async def do_post_action(
        self, user: User, post: Post, channel: Channel, action: dict[str, Any], selected_option: str
    ) -> tuple[str, str]:
        """``DoPostActionWithCookie`` for a stored post; returns (trigger id, goto_location)."""
        integration = action.get("integration") or {}
        context = integration.get("context")
        context = dict(context) if isinstance(context, dict) else None
        team = self.state.teams.get(channel.team_id)
        request: dict[str, Any] = {
            "user_id": user.id,
            "user_name": user.username,
            "channel_id": post.channel_id,
            "channel_name": channel.name,
            "team_id": channel.team_id,
            "team_domain": team.name if team else "",
            "post_id": post.id,
            "trigger_id": "",
            "type": action.get("type") or "",
            "data_source": "",
            "context": context,
        }
        if selected_option:
            request["context"] = dict(context or {}, selected_option=selected_option)
            request["data_source"] = action.get("data_source") or ""
        client_trigger_id, request["trigger_id"] = self.new_trigger_id(user.id)
        retain = {k: post.props[k] for k in RETAIN_PROP_KEYS if k in post.props}
        remove = [k for k in RETAIN_PROP_KEYS if k not in post.props]
        answer = await self._action_request("post_action", str(integration.get("url") or ""), request)
        response: dict[str, Any] = {}
        if answer.body:
            try:
                parsed = json.loads(answer.body)
            except (ValueError, UnicodeDecodeError):
                raise _action_error() from None
            if not isinstance(parsed, dict):
                raise _action_error()
            response = parsed
        update = response.get("update")
        if isinstance(update, dict):
            self._apply_update(post, update, retain, remove)
        ephemeral_text = response.get("ephemeral_text")
        if isinstance(ephemeral_text, str) and ephemeral_text:
            if not response.get("skip_slack_parsing"):
                ephemeral_text = slack_links_to_markdown(ephemeral_text)
            ephemeral = self.ephemeral_post(user.id, post.channel_id, ephemeral_text, post.root_id or post.id)
            ephemeral.props.update(retain)
            self.state.send_ephemeral(user.id, ephemeral)
        goto = response.get("goto_location")
        return client_trigger_id, goto if isinstance(goto, str) else ""

    async def _action_request(self, kind: str, url: str, request: dict[str, Any]) -> OutboundResponse:
        """``DoActionRequest``: POST JSON; no answer or a non-200 is a 400 for the caller."""
        if not is_valid_http_url(url):
            raise _action_error()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            answer = await self.send(kind, "POST", url, body=dumps(request).encode(), headers=headers)
        except IntegrationError as exc:
            log.error("integration action %s failed: %s", url, exc)
            raise _action_error() from None
        if answer.status != 200:
            log.error("integration action %s answered %s", url, answer.status)
            raise _action_error()
        return answer

    def _apply_update(
        self, post: Post, update: dict[str, Any], retain: dict[str, Any], remove: list[str]
    ) -> None:
        """``UpdatePost(update, safeUpdate=false)`` with the props the server keeps."""
        props = update.get("props")
        if isinstance(props, dict):
            new_props = dict(props)
            new_props.update(retain)
            for key in remove:
                new_props.pop(key, None)
        else:
            new_props = post.props
        message = update.get("message")
        message = message if isinstance(message, str) else ""
        previous = post.clone()
        now = max(now_ms(), post.update_at + 1)
        if message != post.message:
            post.message = message
            post.hashtags = hashtags_of(message)
            post.edit_at = now
        generate_action_ids(new_props)
        post.props = new_props
        post.update_at = now
        self.state.post_edited(post, previous)

    # ----------------------------------------------------------------- dialogs
    async def submit_dialog(self, url: str, submission: dict[str, Any]) -> dict[str, Any]:
        """``SubmitInteractiveDialog``: POST the submission; the answer's ``error``/``errors``."""
        answer = await self._action_request("dialog_submit", url, submission)
        result: dict[str, Any] = {}
        if answer.body:
            try:
                parsed = json.loads(answer.body)
            except (ValueError, UnicodeDecodeError):
                raise _action_error() from None
            if isinstance(parsed, dict):
                if parsed.get("error"):
                    result["error"] = parsed["error"]
                if parsed.get("errors"):
                    result["errors"] = parsed["errors"]
        return result


def _action_error() -> AppError:
    return AppError(400, "api.post.do_action.action_integration.app_error")


def _command_response(parsed: dict[str, Any]) -> dict[str, Any]:
    """A ``model.CommandResponse`` JSON with every field (as Go encodes the struct)."""

    def text(key: str) -> str:
        value = parsed.get(key)
        return value if isinstance(value, str) else ""

    props = parsed.get("props")
    attachments = parsed.get("attachments")
    extra = parsed.get("extra_responses")
    return {
        "response_type": text("response_type"),
        "text": text("text"),
        "username": text("username"),
        "channel_id": text("channel_id"),
        "icon_url": text("icon_url"),
        "type": text("type"),
        "props": props if isinstance(props, dict) else None,
        "goto_location": text("goto_location"),
        "trigger_id": "",
        "skip_slack_parsing": parsed.get("skip_slack_parsing") is True,
        "attachments": attachments if isinstance(attachments, list) else None,
        "extra_responses": (
            [_command_response(e) for e in extra if isinstance(e, dict)] if isinstance(extra, list) else None
        ),
    }
