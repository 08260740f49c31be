"""AppError: the JSON error body of the Mattermost API."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# English texts for the ids the emulator raises (the real server translates them).
_MESSAGES: dict[str, str] = {
    "api.context.session_expired.app_error": "Invalid or expired session, please login again.",
    "api.context.permissions.app_error": "You do not have the appropriate permissions.",
    "api.context.invalid_body_param.app_error": "Invalid or missing {name} in request body.",
    "api.context.invalid_url_param.app_error": "Invalid or missing {name} parameter in request URL.",
    "api.context.invalid_param.app_error": "Invalid {name} parameter.",
    "api.context.request_body_too_large.app_error": "The request body is too large.",
    "api.context.404.app_error": "Sorry, we could not find the page.",
    "app.user.missing_account.const": "Unable to find the user.",
    "app.channel.get.existing.app_error": "Unable to find the existing channel.",
    "app.post.get.app_error": "Unable to get the post.",
    "app.team.get.find.app_error": "Unable to find the existing team.",
    "store.sql_bot.get.missing.app_error": "Bot does not exist.",
    "app.file_info.get.app_error": "Unable to get the file info.",
    "app.user_access_token.disabled": "Personal access tokens are disabled on this server.",
    "app.user_access_token.invalid_or_missing": "Invalid or missing token.",
    "api.bot.create_disabled": "Bot creation has been disabled.",
    "api.post.create_post.root_id.app_error": "Invalid RootId parameter.",
    "api.command.execute_command.format.app_error": "Command trigger is missing a leading slash.",
    "api.command.disabled.app_error": "Commands have been disabled by the system admin.",
    "api.command.execute_command.site_url_required.app_error": "Site URL is required.",
    "api.post.do_action.action_integration.app_error": "Action integration error.",
    "api.outgoing_webhook.disabled.app_error": "Outgoing webhooks have been disabled by the system admin.",
    "model.outgoing_hook.username.app_error": "Invalid username.",
    "model.outgoing_hook.icon_url.app_error": "Invalid icon.",
    "api.webhook.create_outgoing.not_open.app_error": (
        "Outgoing webhooks can only be created for public channels."
    ),
    "api.webhook.create_outgoing.permissions.app_error": "Invalid permissions to create outgoing webhook.",
    "api.webhook.create_outgoing.triggers.app_error": "Either trigger_words or channel_id must be set.",
    "api.webhook.update_outgoing.intersect.app_error": (
        "Outgoing webhooks from the same channel cannot have the same trigger words/callback URLs."
    ),
    "api.webhook.create_outgoing.intersect.app_error": (
        "Outgoing webhooks from the same channel cannot have the same trigger words/callback URLs."
    ),
    "api.webhook.team_mismatch.app_error": "Cannot update a webhook across teams.",
    "store.sql_command.save.get.app_error": "Unable to get the command.",
    "api.command.duplicate_trigger.app_error": (
        "This trigger word is already in use. Please choose another word."
    ),
    "api.command.execute_command.start.app_error": "No command trigger found.",
    "api.command.execute_command.deleted.error": "Can not run command in deleted channel.",
    "api.command.team_mismatch.app_error": "Unable to update commands across teams.",
    "api.post.do_action.action_id.app_error": "Invalid action id.",
}


class AppError(Exception):
    """An API error; raised by handlers, turned into a response by a middleware."""

    def __init__(self, status: int, error_id: str, message: str | None = None, **params: Any):
        self.status = status
        self.error_id = error_id
        template = message or _MESSAGES.get(error_id, error_id)
        try:
            self.message = template.format(**params) if params else template
        except (KeyError, IndexError):
            self.message = template
        super().__init__(f"{status} {error_id}: {self.message}")

    def to_dict(self, request_id: str) -> dict[str, Any]:
        """The JSON body, as the server sends it (``detailed_error`` wiped)."""
        return {
            "id": self.error_id,
            "message": self.message,
            "detailed_error": "",
            "request_id": request_id,
            "status_code": self.status,
        }

    def to_response(self, request_id: str) -> web.Response:
        """The HTTP response for this error."""
        return web.Response(
            status=self.status,
            body=json.dumps(self.to_dict(request_id)).encode(),
            content_type="application/json",
        )


def unauthorized() -> AppError:
    """401 for a missing, bad or expired token."""
    return AppError(401, "api.context.session_expired.app_error")


def forbidden() -> AppError:
    """403 ``api.context.permissions.app_error``."""
    return AppError(403, "api.context.permissions.app_error")


def invalid_body(name: str) -> AppError:
    """400 ``api.context.invalid_body_param.app_error``."""
    return AppError(400, "api.context.invalid_body_param.app_error", name=name)


def invalid_url(name: str) -> AppError:
    """400 ``api.context.invalid_url_param.app_error``."""
    return AppError(400, "api.context.invalid_url_param.app_error", name=name)


def invalid_param(name: str) -> AppError:
    """400 ``api.context.invalid_param.app_error``."""
    return AppError(400, "api.context.invalid_param.app_error", name=name)


def not_found(error_id: str) -> AppError:
    """404 with the given id."""
    return AppError(404, error_id)
