"""``/roles``: the built-in roles (any logged-in user may read them)."""

from __future__ import annotations

import re

from aiohttp import web

from ..auth import require_user
from ..errors import invalid_param, not_found
from ..roles import BUILT_IN_ROLES, role_json
from .common import json_response, read_json

routes = web.RouteTableDef()
_ROLE_NAME = re.compile(r"[a-z0-9_]+")


@routes.get("/api/v4/roles/name/{role_name}")
async def get_role_by_name(request: web.Request) -> web.Response:
    """One role by name; 404 for a name no role has."""
    require_user(request)
    name = request.match_info["role_name"]
    if name not in BUILT_IN_ROLES:
        raise not_found("store.sql_role.get_by_name.app_error")
    return json_response(role_json(name))


@routes.post("/api/v4/roles/names")
async def get_roles_by_names(request: web.Request) -> web.Response:
    """The roles of the names given; unknown names are left out."""
    require_user(request)
    names = await read_json(request, "rolenames")
    if not isinstance(names, list) or not names:
        raise invalid_param("rolenames")
    for name in names:
        if not isinstance(name, str) or not _ROLE_NAME.fullmatch(name):
            raise invalid_param("rolename")
    return json_response([role_json(name) for name in dict.fromkeys(names) if name in BUILT_IN_ROLES])
