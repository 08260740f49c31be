"""``/files``: upload, describe and download files."""

from __future__ import annotations

import aiohttp

from ...errors import MalformedResponseError, ValidationError
from ...types import ChannelID, FileID, FileInfo, FileUploadResult, structure
from .. import validation as check
from .base import EndpointGroup


class FilesAPI(EndpointGroup):
    """Files: upload to a channel (then attach by id to a post), read metadata, download."""

    __slots__ = ()

    async def upload(
        self,
        channel_id: ChannelID,
        data: bytes,
        filename: str,
        *,
        content_type: str = "",
        max_size: int = check.MAX_FILE_SIZE,
    ) -> FileInfo:
        """Upload one file to a channel and return its metadata (attach it with ``file_ids``)."""
        check.require_id("channel_id", channel_id)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationError("data", "must be bytes")
        if len(data) > max_size:
            raise ValidationError("data", f"is {len(data)} bytes; the server allows {max_size}")
        check.require_text("filename", filename, maximum=255, allow_empty=False)
        if "/" in filename or "\\" in filename:
            raise ValidationError("filename", "must be a bare name without directories")
        payload = bytes(data)

        def form() -> aiohttp.FormData:
            # channel_id first: the server reads it before the file parts.
            body = aiohttp.FormData()
            body.add_field("channel_id", channel_id)
            body.add_field(
                "files",
                payload,
                filename=filename,
                content_type=content_type or "application/octet-stream",
            )
            return body

        raw = await self.http.request("POST", ("files",), payload=form)
        result = structure(raw, FileUploadResult)
        if len(result.file_infos) != 1:
            raise MalformedResponseError(
                f"upload of one file answered with {len(result.file_infos)} file infos"
            )
        return result.file_infos[0]

    async def get_info(self, file_id: FileID) -> FileInfo:
        """A file's metadata."""
        check.require_id("file_id", file_id)
        return structure(await self.http.request("GET", ("files", file_id, "info")), FileInfo)

    async def download(self, file_id: FileID) -> bytes:
        """A file's content."""
        check.require_id("file_id", file_id)
        return (await self.http.request_raw("GET", ("files", file_id))).body
