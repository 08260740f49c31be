"""Custom emoji: create (multipart), list, get, delete, image, search, autocomplete, by names."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from ..auth import require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, invalid_param, invalid_url
from ..models import Emoji, loads
from ..models.emoji import MAX_EMOJI_FILE_SIZE, MAX_EMOJI_ORIGINAL_SIZE, image_config, is_system_emoji_name
from ..validation import is_valid_emoji_name
from .common import json_response, paging, path_id, read_json, status_ok

routes = web.RouteTableDef()

#: ``GetEmojisByNamesMax`` of ``api4/emoji.go``.
_NAMES_MAX = 200
#: ``EmojiMaxAutocompleteItems``; a search returns at most ``PerPageMaximum`` (200).
_AUTOCOMPLETE_MAX = 100
_SEARCH_MAX = 200


def _emoji_list(emoji: list[Emoji]) -> web.Response:
    return json_response([e.to_json() for e in emoji])


async def _read_form(request: web.Request) -> tuple[str | None, bytes | None]:
    """The ``emoji`` value and the ``image`` file of a multipart form (``ParseMultipartForm``)."""
    if not request.content_type.startswith("multipart/"):
        raise AppError(400, "api.emoji.create.parse.app_error", "Unable to create emoji. Could not parse.")
    emoji_json: str | None = None
    image: bytes | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "emoji" and part.filename is None and emoji_json is None:
                emoji_json = await part.text()
            elif part.name == "image" and part.filename is not None and image is None:
                image = bytes(await part.read())
    except (ValueError, AssertionError) as exc:
        raise AppError(400, "api.emoji.create.parse.app_error", "Unable to create emoji.") from exc
    return emoji_json, image


def _decode_emoji(raw: str) -> tuple[str, str]:
    """``name`` and ``creator_id`` of the ``emoji`` form value; 400 ``invalid_param`` when it does
    not decode into a ``model.Emoji``."""
    try:
        value = loads(raw)
    except ValueError:
        raise invalid_param("emoji") from None
    if not isinstance(value, dict):
        raise invalid_param("emoji")
    name = value.get("name", "")
    creator_id = value.get("creator_id", "")
    if not isinstance(name, str) or not isinstance(creator_id, str):
        raise invalid_param("emoji")
    return name, creator_id


def _check_name(name: str) -> None:
    """``model.IsValidEmojiName``: the pattern and length, and no system emoji name."""
    if not is_valid_emoji_name(name):
        raise AppError(
            400, "model.emoji.name.app_error", "Name must be 1 to 64 lowercase alphanumeric characters."
        )
    if is_system_emoji_name(name):
        raise AppError(
            400, "model.emoji.system_emoji_name.app_error", "Name conflicts with existing system emoji name."
        )


def _check_image(image: bytes | None) -> str:
    """The image's format, after the server's checks (present, decodable, at most 1028x1028)."""
    if image is None:
        raise invalid_body("createEmoji")
    config = image_config(image)
    if config is None:
        raise AppError(
            400,
            "api.emoji.upload.image.app_error",
            "Unable to create emoji. File must be a PNG, JPEG, or GIF.",
        )
    image_type, width, height = config
    if width > MAX_EMOJI_ORIGINAL_SIZE or height > MAX_EMOJI_ORIGINAL_SIZE:
        raise AppError(
            400,
            "api.emoji.upload.large_image.too_large.app_error",
            f"Unable to create emoji. Image must be less than {MAX_EMOJI_ORIGINAL_SIZE} by"
            f" {MAX_EMOJI_ORIGINAL_SIZE} pixels.",
        )
    return image_type


@routes.post("/api/v4/emoji")
async def create_emoji(request: web.Request) -> web.Response:
    """Create a custom emoji from the ``image`` file and ``emoji`` JSON of a multipart form (200)."""
    caller = require_user(request)
    state = get_context(request).state
    if (request.content_length or 0) > MAX_EMOJI_FILE_SIZE:
        raise AppError(
            413,
            "api.emoji.create.too_large.app_error",
            "Unable to create emoji. Image must be less than 512 KiB in size.",
        )
    emoji_json, image = await _read_form(request)
    if emoji_json is None:
        raise invalid_param("emoji")
    name, creator_id = _decode_emoji(emoji_json)
    _check_name(name)
    if len(creator_id) > 26:
        raise AppError(400, "model.emoji.user_id.app_error", "Invalid creator id.")
    if creator_id != caller.id:
        raise AppError(403, "api.emoji.create.other_user.app_error", "Invalid user id.")
    if state.emoji_by_name(name) is not None:
        raise AppError(400, "api.emoji.create.duplicate.app_error", "This emoji name is already in use.")
    image_type = _check_image(image)
    emoji = state.create_emoji(caller.id, name, image or b"", image_type)
    return json_response(emoji.to_json())


@routes.get("/api/v4/emoji")
async def list_emoji(request: web.Request) -> web.Response:
    """A page of the custom emoji, in creation order or (``sort=name``) by name."""
    require_user(request)
    state = get_context(request).state
    sort = request.query.get("sort", "")
    if sort not in ("", "name"):
        raise invalid_url("sort")
    page, per_page = paging(request)
    emoji = state.live_emoji()
    if sort == "name":
        emoji.sort(key=lambda e: e.name)
    return _emoji_list(emoji[page * per_page : (page + 1) * per_page])


@routes.get("/api/v4/emoji/{emoji_id}")
async def get_emoji(request: web.Request) -> web.Response:
    """A custom emoji by id; 404 ``app.emoji.get.no_result``."""
    require_user(request)
    state = get_context(request).state
    return json_response(state.emoji_by_id(path_id(request, "emoji_id")).to_json())


@routes.delete("/api/v4/emoji/{emoji_id}")
async def delete_emoji(request: web.Request) -> web.Response:
    """Delete a custom emoji and the reactions using it; another user's needs
    ``delete_others_emojis`` (system admin)."""
    caller = require_user(request)
    state = get_context(request).state
    emoji = state.emoji_by_id(path_id(request, "emoji_id"))
    if emoji.creator_id != caller.id and not caller.is_admin:
        raise forbidden()
    state.delete_emoji(emoji)
    return status_ok()


@routes.get("/api/v4/emoji/name/{emoji_name}")
async def get_emoji_by_name(request: web.Request) -> web.Response:
    """A custom emoji by name; 404 ``app.emoji.get_by_name.no_result``."""
    require_user(request)
    state = get_context(request).state
    name = request.match_info["emoji_name"]
    if not is_valid_emoji_name(name):
        raise invalid_url("emoji_name")
    emoji = state.emoji_by_name(name)
    if emoji is None:
        raise AppError(404, "app.emoji.get_by_name.no_result", "Unable to find the emoji.")
    return json_response(emoji.to_json())


@routes.get("/api/v4/emoji/{emoji_id}/image")
async def get_emoji_image(request: web.Request) -> web.Response:
    """The emoji's image, ``Content-Type: image/<format>``."""
    require_user(request)
    state = get_context(request).state
    emoji = state.emoji_by_id(path_id(request, "emoji_id"))
    headers = {"Cache-Control": "max-age=2592000, private"}
    return web.Response(body=emoji.image, content_type=f"image/{emoji.image_type}", headers=headers)


def _search(emoji: list[Emoji], term: str, prefix_only: bool, limit: int) -> list[Emoji]:
    found = [e for e in emoji if (e.name.startswith(term) if prefix_only else term in e.name)]
    return sorted(found, key=lambda e: e.name)[:limit]


@routes.post("/api/v4/emoji/search")
async def search_emoji(request: web.Request) -> web.Response:
    """Custom emoji whose name contains (or, ``prefix_only``, starts with) ``term``, by name."""
    require_user(request)
    state = get_context(request).state
    try:
        body: Any = await read_json(request, "term")
    except AppError:
        raise invalid_param("term") from None
    if not isinstance(body, dict):
        raise invalid_param("term")
    term = body.get("term", "")
    prefix_only = body.get("prefix_only", False)
    if not isinstance(term, str) or not isinstance(prefix_only, bool):
        raise invalid_param("term")
    if not term:
        raise invalid_param("term")
    return _emoji_list(_search(state.live_emoji(), term, prefix_only, _SEARCH_MAX))


@routes.get("/api/v4/emoji/autocomplete")
async def autocomplete_emoji(request: web.Request) -> web.Response:
    """Up to 100 custom emoji whose name starts with ``name``, by name."""
    require_user(request)
    state = get_context(request).state
    name = request.query.get("name", "")
    if not name:
        raise invalid_url("name")
    return _emoji_list(_search(state.live_emoji(), name, True, _AUTOCOMPLETE_MAX))


@routes.post("/api/v4/emoji/names")
async def get_emoji_by_names(request: web.Request) -> web.Response:
    """The custom emoji among a JSON array of names (at most 200); unknown names are left out."""
    require_user(request)
    state = get_context(request).state
    try:
        body: Any = await read_json(request, "names")
    except AppError:
        body = None
    if not isinstance(body, list) or not all(isinstance(n, str) for n in body):
        raise AppError(400, "api.payload.parse.error", "Unable to parse the request payload.")
    names = sorted(set(body))
    if not names:
        raise invalid_param("names")
    if len(names) > _NAMES_MAX:
        raise AppError(
            400,
            "api.emoji.get_multiple_by_name_too_many.request_error",
            f"Unable to get emojis by name. Only {_NAMES_MAX} emojis can be requested at once.",
        )
    wanted = set(names)
    return _emoji_list([e for e in state.live_emoji() if e.name in wanted])
