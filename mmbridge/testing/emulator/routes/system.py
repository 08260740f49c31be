"""``/system/ping`` and ``/config/client``."""

from __future__ import annotations

from aiohttp import web

from ..auth import optional_user
from ..context import get_context
from ..errors import AppError, invalid_param
from .common import json_response

routes = web.RouteTableDef()


@routes.get("/api/v4/system/ping")
async def ping(request: web.Request) -> web.Response:
    """The health check; ``status`` is ``OK``."""
    settings = get_context(request).settings
    return json_response(
        {
            "ActiveSearchBackend": "database",
            "AndroidLatestVersion": "",
            "AndroidMinVersion": "",
            "IosLatestVersion": "",
            "IosMinVersion": "",
            "status": "OK",
            "version": settings.version,
        }
    )


def _flag(value: bool) -> str:
    return "true" if value else "false"


@routes.get("/api/v4/config/client")
async def client_config(request: web.Request) -> web.Response:
    """The settings clients read (``format=old`` only, as the server); flags are ``"true"``/``"false"``.

    Without a session the server sends its limited config, with fewer keys.
    """
    fmt = request.query.get("format")
    if fmt is None:
        raise AppError(501, "api.config.client.old_format.app_error")
    if fmt != "old":
        raise invalid_param("format")
    ctx = get_context(request)
    settings = ctx.settings
    config = {
        "Version": settings.version,
        "BuildNumber": settings.build_number,
        "BuildHash": settings.config_hash,
        "SiteURL": str(settings.site_url or request.url.origin()),
        "SiteName": "Mattermost",
        "EnableBotAccountCreation": _flag(settings.enable_bot_account_creation),
    }
    if optional_user(request) is not None:
        config |= {
            "EnableUserAccessTokens": _flag(settings.enable_user_access_tokens),
            "EnableCommands": _flag(settings.enable_commands),
            "EnableOutgoingWebhooks": _flag(settings.enable_outgoing_webhooks),
            "EnablePostUsernameOverride": _flag(settings.enable_post_username_override),
            "EnablePostIconOverride": _flag(settings.enable_post_icon_override),
            "MaxPostSize": str(settings.max_post_size),
            "MaxFileSize": str(settings.max_file_size),
        }
    return json_response(config)
