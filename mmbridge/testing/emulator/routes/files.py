"""File upload (multipart or raw body), download and metadata."""

from __future__ import annotations

import mimetypes
import os
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from ..auth import can_read_channel, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_param, not_found
from ..ids import is_valid_id, now_ms
from ..images import png_size
from ..models import FileInfo, User
from ..state import State
from .common import json_response, path_id, query_bool, read_body

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
    width, height = png_size(data)
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
    inline = info.mime_type.startswith("image/") and not query_bool(request, "download", False)
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
