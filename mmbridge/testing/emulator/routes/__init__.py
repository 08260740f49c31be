"""Route tables of the emulator, one module per API resource."""

from __future__ import annotations

from aiohttp import web

from . import bots, channels, files, posts, reactions, system, teams, tokens, users


def add_routes(app: web.Application) -> None:
    """Register every route, static paths before parameterised ones."""
    for module in (system, tokens, users, bots, teams, channels, posts, reactions, files):
        app.router.add_routes(module.routes)
