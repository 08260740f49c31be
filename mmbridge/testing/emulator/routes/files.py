"""File upload (multipart or raw body), download and metadata."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import mimetypes
import os
import re
from typing import Any
from urllib.parse import quote, urlencode

import attrs
from aiohttp import BodyPartReader, web

from ..auth import can_read_channel, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_param, not_found
from ..ids import is_valid_id, now_ms
from ..models import FileInfo, User
from ..models.emoji import image_config
from ..state import State
from ..state.search import SearchQuery
from .common import json_response, path_id, query_bool, read_body, read_json, site_url

routes = web.RouteTableDef()


def _too_large() -> AppError:
    return AppError(
        413,
        "api.file.upload_file.too_large_detailed.app_error",
        "Unable to upload file. File is too large.",
    )


def _store(state: State, user: User, channel_id: str, name: str, data: bytes, mime: str | None) -> FileInfo:
    base = os.path.basename(name.replace("\\", "/")) or "file"
    extension = os.path.splitext(base)[1].lstrip(".").lower()
    mime_type = mime or mimetypes.guess_type(base)[0] or "application/octet-stream"
    if mime_type == "application/octet-stream":
        mime_type = mimetypes.guess_type(base)[0] or mime_type
    config = image_config(data) if mime_type.startswith("image/") else None
    width, height = (config[1], config[2]) if config else (0, 0)
    info = FileInfo(
        id=state.ids.new_id(),
        user_id=user.id,
        channel_id=channel_id,
        name=base,
        extension=extension,
        mime_type=mime_type,
        data=data,
        create_at=now_ms(),
        width=width,
        height=height,
        # The server makes a thumbnail and a preview of every image it can decode.
        has_preview_image=config is not None,
    )
    state.files[info.id] = info
    return info


def _check_channel(state: State, user: User, channel_id: str) -> None:
    if not is_valid_id(channel_id):
        raise invalid_param("channel_id")
    channel = state.channels.get(channel_id)
    if channel is None or not can_read_channel(state, user, channel_id):
        raise forbidden()


@routes.post("/api/v4/files")
async def upload_files(request: web.Request) -> web.Response:
    """Upload one or more files; 201 ``{"file_infos": [...], "client_ids": [...]}``."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    limit = ctx.settings.max_file_size
    infos: list[FileInfo] = []
    client_ids: list[str] = []
    if request.content_type.startswith("multipart/"):
        try:
            reader = await request.multipart()
            channel_id = request.query.get("channel_id", "")
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "channel_id":
                    channel_id = (await part.text()).strip()
                elif part.name == "client_ids":
                    client_ids.append((await part.text()).strip())
                elif part.name == "files":
                    _check_channel(state, caller, channel_id)
                    buffer = bytearray()
                    while chunk := await part.read_chunk():
                        buffer.extend(chunk)
                        if len(buffer) > limit:
                            raise _too_large()
                    mime = part.headers.get("Content-Type")
                    name = part.filename or "file"
                    infos.append(_store(state, caller, channel_id, name, bytes(buffer), mime))
        except (ValueError, AssertionError):  # aiohttp: no boundary, truncated body
            raise AppError(
                400, "api.file.upload_file.read_request.app_error", "Could not read the request."
            ) from None
        if not infos:
            raise AppError(400, "api.file.upload_file.multipart.app_error", "No file under 'files'.")
    else:
        channel_id = request.query.get("channel_id", "")
        filename = request.query.get("filename", "")
        if not filename:
            raise invalid_param("filename")
        _check_channel(state, caller, channel_id)
        data = await read_body(request)
        if len(data) > limit:
            raise _too_large()
        client_id = request.query.get("client_id")
        if client_id:
            client_ids.append(client_id)
        infos.append(_store(state, caller, channel_id, filename, data, None))
    if client_ids and len(client_ids) != len(infos):
        raise invalid_param("client_ids")
    return json_response({"file_infos": [i.to_json() for i in infos], "client_ids": client_ids}, status=201)


def _readable_file(request: web.Request, caller: User) -> FileInfo:
    state = get_context(request).state
    file_id = path_id(request, "file_id")
    info = state.files.get(file_id)
    if info is None or info.delete_at:
        raise not_found("app.file_info.get.app_error")
    if info.post_id:
        post = state.posts.get(info.post_id)
        channel_id = post.channel_id if post is not None else info.channel_id
        if not can_read_channel(state, caller, channel_id):
            raise forbidden()
    elif info.user_id != caller.id and not caller.is_admin:
        raise forbidden()
    return info


@routes.get("/api/v4/files/{file_id}")
async def get_file(request: web.Request) -> web.Response:
    """The file's bytes, with ``Content-Disposition``."""
    caller = require_user(request)
    info = _readable_file(request, caller)
    return _file_response(info, query_bool(request, "download", False))


def _file_response(info: FileInfo, download: bool) -> web.Response:
    """``WriteFileResponse``: the bytes, inline for images unless ``download``."""
    inline = info.mime_type.startswith("image/") and not download
    disposition = "inline" if inline else "attachment"
    plain = info.name.encode("ascii", "replace").decode().replace('"', "")
    quoted = quote(info.name)
    headers = {
        "Content-Disposition": f"{disposition};filename=\"{plain}\"; filename*=UTF-8''{quoted}",
        "X-Content-Type-Options": "nosniff",
    }
    return web.Response(body=info.data, content_type=info.mime_type, headers=headers)


@routes.get("/api/v4/files/{file_id}/info")
async def get_file_info(request: web.Request) -> web.Response:
    """The file's metadata."""
    caller = require_user(request)
    return json_response(_readable_file(request, caller).to_json())


def _image_of(request: web.Request, kind: str) -> web.Response:
    """A thumbnail or preview: the server's JPEG rendering, here the stored image itself."""
    caller = require_user(request)
    info = _readable_file(request, caller)
    if not info.has_preview_image:
        if kind == "thumbnail":
            raise AppError(
                400,
                "api.file.get_file_thumbnail.no_thumbnail.app_error",
                "File doesn't have a thumbnail image.",
            )
        raise AppError(
            400, "api.file.get_file_preview.no_preview.app_error", "File doesn't have a preview image."
        )
    return _file_response(info, query_bool(request, "download", False))


@routes.get("/api/v4/files/{file_id}/thumbnail")
async def get_file_thumbnail(request: web.Request) -> web.Response:
    """An image's thumbnail; 400 ``no_thumbnail`` for other files."""
    return _image_of(request, "thumbnail")


@routes.get("/api/v4/files/{file_id}/preview")
async def get_file_preview(request: web.Request) -> web.Response:
    """An image's preview; 400 ``no_preview`` for other files."""
    return _image_of(request, "preview")


def _public_link_hash(file_id: str, salt: str) -> str:
    """``GeneratePublicLinkHash``: unpadded URL-safe base64 of SHA-256(salt + id)."""
    digest = hashlib.sha256((salt + file_id).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _public_links_disabled() -> AppError:
    return AppError(403, "api.file.get_public_link.disabled.app_error", "Public links have been disabled.")


@routes.get("/api/v4/files/{file_id}/link")
async def get_file_link(request: web.Request) -> web.Response:
    """``{"link": ".../files/{id}/public?h=..."}`` for a file of a post; 403 while public links are off."""
    caller = require_user(request)
    ctx = get_context(request)
    path_id(request, "file_id")
    if not ctx.settings.enable_public_link:
        raise _public_links_disabled()
    info = _readable_file(request, caller)
    if not info.post_id:
        raise AppError(
            400, "api.file.get_public_link.no_post.app_error", "Unable to get public link for file."
        )
    link_hash = _public_link_hash(info.id, ctx.settings.public_link_salt)
    return json_response({"link": f"{site_url(request)}/files/{info.id}/public?h={link_hash}"})


def _web_error_page(request: web.Request, message: str) -> web.Response:
    """``RenderWebAppError``: an HTML page that sends the browser to the web app's error page."""
    destination = "/error?" + urlencode({"message": message})
    page = (
        "<!DOCTYPE html><html><head></head>\n"
        f"<body onload=\"window.location = '{html.escape(destination)}'\">\n"
        f'<noscript><meta http-equiv="refresh" content="0; url={html.escape(destination)}"></noscript>\n'
        "</body></html>\n"
    )
    return web.Response(status=400, text=page, content_type="text/html")


@routes.get("/files/{file_id}/public")
async def get_public_file(request: web.Request) -> web.Response:
    """A file's bytes without a session, for the ``h`` of its public link."""
    ctx = get_context(request)
    file_id = path_id(request, "file_id")
    if not ctx.settings.enable_public_link:
        raise _public_links_disabled()
    info = ctx.state.files.get(file_id)
    if info is None or info.delete_at:
        raise not_found("app.file_info.get.app_error")
    expected = _public_link_hash(info.id, ctx.settings.public_link_salt)
    if not hmac.compare_digest(request.query.get("h", ""), expected):
        return _web_error_page(request, "The public link does not appear to be valid.")
    return _file_response(info, False)


def _name_matches(name: str, word: str) -> bool:
    """A search word matches a file name when it starts one of the name's words."""
    name_words = re.split(r"[^\w]+", name.lower())
    parts = [p for p in re.split(r"[^\w]+", word) if p]
    return bool(parts) and all(any(w.startswith(p) for w in name_words) for p in parts)


def _file_matches(state: State, info: FileInfo, query: SearchQuery, is_or: bool) -> bool:
    """Whether a file is a hit: the flags as for posts plus ``ext:``; words and phrases match the
    starts of the words of its name (a trailing ``*`` changes nothing there)."""
    channel = state.channels[info.channel_id]
    user = state.users.get(info.user_id)
    if not query.admits(channel, user.username if user is not None else "", info.create_at):
        return False
    extension = info.extension.lower()
    if (query.extensions and extension not in query.extensions) or extension in query.excluded_extensions:
        return False
    if any(_name_matches(info.name, w.rstrip("*")) for w in query.excluded + query.excluded_phrases):
        return False
    words = [w.rstrip("*") for w in query.words + query.phrases if w.rstrip("*")]
    if not words:
        return True
    found = [_name_matches(info.name, w) for w in words]
    return any(found) if is_or else all(found)


@attrs.define
class _SearchBody:
    terms: str
    is_or_search: bool
    include_deleted_channels: bool


def _search_body(body: Any) -> _SearchBody:
    """``model.SearchParameter`` from the JSON body (400 ``invalid_body`` on a wrong type)."""
    bad = AppError(400, "api.post.search_files.invalid_body.app_error", "Unable to parse the search body.")
    if not isinstance(body, dict):
        raise bad
    types = {
        "terms": str,
        "is_or_search": bool,
        "time_zone_offset": int,
        "include_deleted_channels": bool,
        "page": int,
        "per_page": int,
        "modifier": str,
    }
    for key, kind in types.items():
        value = body.get(key)
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise bad
    if not body.get("terms"):
        raise invalid_param("terms")
    if body.get("modifier") not in (None, "", "files", "messages"):
        raise invalid_param("modifier")
    return _SearchBody(
        terms=body["terms"],
        is_or_search=bool(body.get("is_or_search")),
        include_deleted_channels=bool(body.get("include_deleted_channels")),
    )


def _search(state: State, caller: User, team_id: str, search: _SearchBody) -> dict[str, Any]:
    """``SearchFilesInTeamForUser``: files of live posts in the channels the caller is a member
    of (of ``team_id``, or of any of the caller's teams and DMs when it is empty), newest first."""
    query = SearchQuery.parse(search.terms)
    found: list[FileInfo] = []
    for info in state.files.values():
        post = state.posts.get(info.post_id) if info.post_id else None
        if info.delete_at or post is None or post.delete_at:
            continue
        channel = state.channels.get(info.channel_id)
        if channel is None or not state.is_channel_member(channel.id, caller.id):
            continue
        if team_id and channel.team_id not in (team_id, ""):
            continue
        if channel.delete_at and not search.include_deleted_channels:
            continue
        if _file_matches(state, info, query, search.is_or_search):
            found.append(info)
    found.sort(key=lambda i: i.create_at, reverse=True)
    return {
        "order": [i.id for i in found],
        "file_infos": {i.id: i.to_json() for i in found},
        "next_file_info_id": "",
        "prev_file_info_id": "",
        "first_inaccessible_file_time": 0,
    }


@routes.post("/api/v4/teams/{team_id}/files/search")
async def search_team_files(request: web.Request) -> web.Response:
    """Search the files of a team's channels the caller is in (``view_team``) by name and filters."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    if not caller.is_admin and not state.is_team_member(team_id, caller.id):
        raise forbidden()
    search = _search_body(await read_json(request, "terms"))
    return json_response(_search(state, caller, team_id, search))


@routes.post("/api/v4/files/search")
async def search_files(request: web.Request) -> web.Response:
    """Search the files of all the caller's channels; with the ``CommandPalette`` feature flag off
    (the default) the server answers 200 with an empty body."""
    caller = require_user(request)
    ctx = get_context(request)
    if not ctx.settings.feature_command_palette:
        return web.Response(status=200, content_type="application/json")
    search = _search_body(await read_json(request, "terms"))
    return json_response(_search(ctx.state, caller, "", search))
