"""``/emoji``: the server's custom emoji."""

from __future__ import annotations

import json
from collections.abc import Iterable

import aiohttp

from ...errors import ValidationError
from ...types import Emoji, UserID, structure, structure_list
from .. import validation as check
from .base import EndpointGroup

#: ``MaxEmojiFileSize``: what the server accepts for an emoji image.
MAX_EMOJI_IMAGE = 512 * 1024


class EmojiAPI(EndpointGroup):
    """Custom emoji: list, look up, create (with its image), delete, and read the image."""

    __slots__ = ()

    async def get(self, emoji_id: str) -> Emoji:
        """One custom emoji by id."""
        check.require_id("emoji_id", emoji_id)
        return structure(await self.http.request("GET", ("emoji", emoji_id)), Emoji)

    async def get_by_name(self, name: str) -> Emoji:
        """One custom emoji by name (without colons)."""
        check.require_emoji_name("name", name)
        return structure(await self.http.request("GET", ("emoji", "name", name)), Emoji)

    async def get_by_names(self, names: Iterable[str]) -> list[Emoji]:
        """The custom emoji of these names; names that are none are left out."""
        if isinstance(names, str):
            raise ValidationError("names", "expected a list of names, got a single string")
        wanted = list(dict.fromkeys(check.require_emoji_name("names", n) for n in names))
        if not 1 <= len(wanted) <= 200:
            raise ValidationError("names", "needs 1 to 200 names")
        data = await self.http.request("POST", ("emoji", "names"), json_body=wanted, idempotent=True)
        return structure_list(data, Emoji)

    async def create(
        self, name: str, image: bytes, creator_id: UserID, *, filename: str = "emoji.png"
    ) -> Emoji:
        """Add a custom emoji (the caller must be ``creator_id``); the image is PNG, GIF, JPEG or WebP.
        Not retried: not idempotent (a retry of a request that got through is a duplicate name)."""
        check.require_emoji_name("name", name)
        check.require_id("creator_id", creator_id)
        if not isinstance(image, bytes) or not image:
            raise ValidationError("image", "must be the image's bytes")
        if len(image) > MAX_EMOJI_IMAGE:
            raise ValidationError("image", f"is {len(image)} bytes; the server allows {MAX_EMOJI_IMAGE}")
        emoji = json.dumps({"name": name, "creator_id": creator_id})

        def form() -> aiohttp.FormData:
            body = aiohttp.FormData()
            body.add_field("image", image, filename=filename)
            body.add_field("emoji", emoji)
            return body

        return structure(await self.http.request("POST", ("emoji",), payload=form), Emoji)

    async def delete(self, emoji_id: str) -> None:
        """Delete a custom emoji (its creator or a system admin); its reactions go with it."""
        check.require_id("emoji_id", emoji_id)
        await self.http.request("DELETE", ("emoji", emoji_id))

    async def get_image(self, emoji_id: str) -> bytes:
        """The emoji's image, as uploaded."""
        check.require_id("emoji_id", emoji_id)
        response = await self.http.request_raw("GET", ("emoji", emoji_id, "image"))
        return response.body

    async def list(self, *, page: int = 0, per_page: int = 60, sort_by_name: bool = False) -> list[Emoji]:
        """A page of the custom emoji, in creation order or by name."""
        check.require_page(page, per_page)
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if sort_by_name:
            params["sort"] = "name"
        return structure_list(await self.http.request("GET", ("emoji",), params=params), Emoji)
