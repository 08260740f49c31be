"""``/roles``: what roles grant."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import ValidationError
from ...types import Role, structure, structure_list
from .base import EndpointGroup


class RolesAPI(EndpointGroup):
    """Roles and their permissions (readable by any logged-in user)."""

    __slots__ = ()

    async def get_by_name(self, name: str) -> Role:
        """``GET /roles/name/{name}``."""
        if not name:
            raise ValidationError("name", "must not be empty")
        return structure(await self.http.request("GET", ("roles", "name", name)), Role)

    async def get_by_names(self, names: Sequence[str]) -> list[Role]:
        """``POST /roles/names``: the roles of these names (unknown names are left out)."""
        wanted = sorted({name for name in names if name})
        if not wanted:
            raise ValidationError("names", "give at least one role name")
        return structure_list(await self.http.request("POST", ("roles", "names"), json_body=wanted), Role)
