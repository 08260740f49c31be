"""Route tables of the emulator, one module per API resource."""

from __future__ import annotations

from aiohttp import web

from . import (
    actions,
    bots,
    channels,
    commands,
    files,
    hooks,
    posts,
    reactions,
    roles,
    system,
    teams,
    tokens,
    users,
)


def add_routes(app: web.Application) -> None:
    """Register every route, static paths before parameterised ones."""
    modules = (
        system,
        tokens,
        users,
        bots,
        teams,
        channels,
        posts,
        reactions,
        roles,
        files,
        hooks,
        commands,
        actions,
    )
    for module in modules:
        app.router.add_routes(module.routes)
