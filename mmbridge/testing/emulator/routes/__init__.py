"""Route tables of the emulator, one module per API resource.

Each module has its own ``routes`` table; :func:`add_routes` registers them all in an order
where, at the first path segment two routes differ in, a literal one (``/users/known``) comes
before a parameter (``/users/{user_id}``), so no module can shadow another's static path.
"""

from __future__ import annotations

from aiohttp import web

from . import (
    actions,
    bots,
    categories,
    channel_listing,
    channel_members,
    channels,
    commands,
    emoji,
    files,
    hooks,
    passwords,
    posts,
    preferences,
    reactions,
    roles,
    sessions,
    status,
    system,
    team_members,
    teams,
    threads,
    tokens,
    user_listing,
    users,
)

#: Every route module; order does not matter (see :func:`add_routes`).
MODULES = (
    system,
    tokens,
    user_listing,
    users,
    passwords,
    bots,
    team_members,
    teams,
    channel_listing,
    channel_members,
    channels,
    categories,
    posts,
    reactions,
    roles,
    files,
    hooks,
    commands,
    actions,
    threads,
    emoji,
    sessions,
    status,
    preferences,
)


def _path_rank(path: str) -> tuple[tuple[int, str], ...]:
    return tuple((1 if part.startswith("{") else 0, part) for part in path.split("/"))


def add_routes(app: web.Application) -> None:
    """Register every route of every module, literal segments before parameters."""
    defs = [d for module in MODULES for d in module.routes if isinstance(d, web.RouteDef)]
    defs.sort(key=lambda d: _path_rank(d.path))
    app.router.add_routes(defs)
