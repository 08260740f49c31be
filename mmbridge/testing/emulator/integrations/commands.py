"""Custom slash commands: ``POST /commands/execute`` calls the command's URL.

Follows ``ExecuteCommand``, ``DoCommandRequest`` and ``HandleCommandResponse`` of
``server/channels/app/command.go``.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from ..errors import AppError, invalid_param
from ..models import Channel, Command, User, loads
from .outbound import FORM_CONTENT_TYPE, IntegrationError, OutboundClient
from .posting import go_form_encode, parse_attachments, save_integration_post, slack_links_to_markdown

__all__ = ["BUILTIN_COMMANDS", "BUILTIN_TRIGGERS", "SlashCommands", "builtin_command", "suggestions"]

log = logging.getLogger(__name__)

#: The built-in commands a server without plugins, testing or email lists for autocomplete:
#: (trigger, ``auto_complete_hint``, ``auto_complete_desc``), the English texts of the server.
BUILTIN_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("away", "", "Set your status away"),
    ("code", "[text]", "Display text as a code block"),
    ("collapse", "", "Turn on auto-collapsing of image previews"),
    ("dnd", "", "Do not disturb disables desktop and mobile push notifications."),
    ("expand", "", "Turn off auto-collapsing of image previews"),
    ("groupmsg", "@[username1],@[username2] 'message'", "Sends a Group Message to the specified users"),
    ("header", "[text]", "Edit the channel header"),
    ("help", "", "Open the Mattermost help page"),
    ("invite", "@[username] ~[channel]", "Invite a user to a channel"),
    ("join", "~[channel]", "Join the open channel"),
    ("kick", "@[username]", "Remove a member from the channel"),
    ("leave", "", "Leave the current channel"),
    ("logout", "", "Logout of Mattermost"),
    ("me", "[message]", "Do an action"),
    ("msg", "@[username] 'message'", "Send Direct Message to a user"),
    (
        "mute",
        "~[channel]",
        "Turns off desktop, email and push notifications for the current channel or the [channel] specified.",
    ),
    ("offline", "", "Set your status offline"),
    ("online", "", "Set your status online"),
    ("open", "~[channel]", "Join the open channel"),
    ("purpose", "[text]", "Edit the channel purpose"),
    ("remove", "@[username]", "Remove a member from the channel"),
    ("rename", "[text]", "Rename the channel"),
    ("search", "[text]", "Search text in messages"),
    ("settings", "", "Open the Settings dialog"),
    ("shortcuts", "", "Displays a list of keyboard shortcuts"),
    ("shrug", "[message]", "Adds ¯\\\\_(ツ)_/¯ to your message"),
    ("status", "[:emoji:] [status_message] or clear", "Set or clear your status"),
)
#: Triggers of the real server's built-in commands: a custom command may not take them.
BUILTIN_TRIGGERS = frozenset({trigger for trigger, _, _ in BUILTIN_COMMANDS} | {"echo", "invite_people"})


def builtin_command(trigger: str, hint: str, description: str) -> Command:
    """A built-in command as ``ListAutocompleteCommands`` lists it (no id, team or URL)."""
    return Command(
        id="",
        token="",
        create_at=0,
        update_at=0,
        creator_id="",
        team_id="",
        trigger=trigger,
        method="",
        url="",
        auto_complete=True,
        auto_complete_desc=description,
        auto_complete_hint=hint,
        display_name=trigger,
    )


def suggestions(commands: list[Command], user_input: str) -> list[dict[str, str]]:
    """``GetSuggestions`` for commands without autocomplete data: the triggers ``user_input``
    (without its ``/``) begins, sorted; nothing once the input has a space (no arguments)."""
    if " " in user_input:
        return []
    typed = user_input.lower()
    return [
        {
            "Complete": command.trigger,
            "Suggestion": command.trigger,
            "Hint": command.auto_complete_hint,
            "Description": command.auto_complete_desc,
            "IconData": "",
        }
        for command in sorted(commands, key=lambda c: c.trigger.lower())
        if command.trigger.startswith(typed)
    ]


_AT_MENTION_RE = re.compile(r"\B@([A-Za-z0-9][A-Za-z0-9.\-_:]*)")
_CHANNEL_MENTION_RE = re.compile(r"\B~([a-z0-9.\-_]+)")


class SlashCommands(OutboundClient):
    """Calls to the URLs of custom slash commands, and the posts their answers make."""

    def autocomplete_commands(self, team_id: str) -> list[Command]:
        """``ListAutocompleteCommands``: the built-ins, then the team's autocompleted commands."""
        listed = [builtin_command(*entry) for entry in BUILTIN_COMMANDS]
        if self.settings.enable_commands:
            listed += [
                c
                for c in self.state.commands.values()
                if c.team_id == team_id and not c.delete_at and c.auto_complete
            ]
        return listed

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
            save_integration_post(self.state, user.id, channel, text, {}, "me", root_id)
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
        hook = self.state.add_command_webhook(command.id, user.id, channel.id, root_id)
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
            ("response_url", f"{site_url.rstrip('/')}/hooks/commands/{hook.id}"),
        ]
        response = await self._command_request(command, pairs)
        response["trigger_id"] = client_trigger_id
        self._handle_command_response(command, user, channel, team.id, root_id, response)
        return response

    def handle_command_webhook(self, hook_id: str, parsed: dict[str, Any]) -> None:
        """``HandleCommandWebhook``: a later answer (a ``CommandResponse`` object) of a command
        call, posted as its first one would have been (at most five, within 30 minutes of the call)."""
        response = _command_response(parsed)
        hook = self.state.command_webhook(hook_id)
        command = self.state.commands.get(hook.command_id)
        if command is None or command.delete_at:
            raise AppError(400, "web.command_webhook.command.app_error")
        self.state.use_command_webhook(hook)
        user, channel = self.state.user(hook.user_id), self.state.channel(hook.channel_id)
        self._handle_command_response(command, user, channel, command.team_id, hook.root_id, response)

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
                parsed = loads(answer.body)
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
            response["attachments"] = parse_attachments(response.get("attachments"))
        text: str = response.get("text") or ""
        attachments = response.get("attachments")
        if attachments:
            props["attachments"] = attachments
        post_type = response.get("type") or ""
        if post_type.startswith("system_"):
            raise invalid_param("post.type")
        response_type = response.get("response_type") or ""
        if response_type == "in_channel":
            save_integration_post(self.state, user.id, target, text, props, post_type, root_id)
        elif response_type in ("", "ephemeral") and (text or attachments is not None):
            post = self.ephemeral_post(user.id, target.id, text, root_id)
            post.props = props
            self.state.send_ephemeral(user.id, post)


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
