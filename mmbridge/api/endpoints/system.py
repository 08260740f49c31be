"""``/system`` and ``/config/client``: health, version and the settings clients may read."""

from __future__ import annotations

from typing import Any

from ...errors import MalformedResponseError
from ...types import ServerVersion
from .base import EndpointGroup


class SystemAPI(EndpointGroup):
    """Server status: ping, version and the client configuration."""

    __slots__ = ()

    async def ping(self) -> dict[str, Any]:
        """``GET /system/ping``: ``{"status": "OK", ...}`` when the server is healthy."""
        data = await self.http.request("GET", ("system", "ping"))
        if not isinstance(data, dict):
            raise MalformedResponseError("system ping did not answer with a JSON object")
        return data

    async def version(self) -> ServerVersion:
        """The server's version, from the ``X-Version-Id`` header of a ping."""
        response = await self.http.request_raw("GET", ("system", "ping"))
        raw = response.headers.get("X-Version-Id", "")
        if not raw:
            raise MalformedResponseError("server sent no X-Version-Id header")
        return ServerVersion(raw)

    async def client_config(self) -> dict[str, str]:
        """``GET /config/client?format=old``: the settings clients may read, as the server's strings
        (``"true"``/``"false"`` for flags), e.g. ``EnableUserAccessTokens``."""
        data = await self.http.request("GET", ("config", "client"), params={"format": "old"})
        if not isinstance(data, dict):
            raise MalformedResponseError("the client config is not a JSON object")
        return {str(key): str(value) for key, value in data.items()}
