"""``/system/ping``."""

from __future__ import annotations

from aiohttp import web

from ..context import get_context
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
