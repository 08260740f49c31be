"""``/posts``: create, read, edit and delete messages; threads and channel history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ValidationError
from ...types import ChannelID, FileID, Post, PostID, PostList, TeamID, UserID, structure, structure_list
from .. import validation as check
from ..http import HTTPAPI
from ..txn import RandomPrefixTransactionIDs, TransactionIDSource
from .base import EndpointGroup


class PostsAPI(EndpointGroup):
    """Posts. :meth:`create` is safe to retry: the server deduplicates on ``pending_post_id``."""

    __slots__ = ("max_message_length", "txn_ids")

    def __init__(
        self,
        http: HTTPAPI,
        *,
        txn_ids: TransactionIDSource | None = None,
        max_message_length: int = check.MAX_POST_RUNES,
    ) -> None:
        super().__init__(http)
        self.txn_ids = txn_ids or RandomPrefixTransactionIDs()
        self.max_message_length = max_message_length

    async def create(
        self,
        channel_id: ChannelID,
        message: str,
        *,
        root_id: PostID | str = "",
        file_ids: Iterable[FileID] = (),
        props: Mapping[str, Any] | None = None,
        type: str = "",
        pending_post_id: str | None = None,
    ) -> Post:
        """Post a message (``root_id``: reply in that thread; ``file_ids``: attach uploads).

        Every try of one call sends the same ``pending_post_id`` (a fresh one from the transaction
        id source unless given), so a retry after a lost answer returns the post already made.
        """
        body: dict[str, Any] = {
            "channel_id": check.require_id("channel_id", channel_id),
            "message": self._check_message(message),
            "pending_post_id": pending_post_id or await self.txn_ids.next_txn_id(),
        }
        files = list(dict.fromkeys(file_ids))
        if not message and not files:
            raise ValidationError("message", "a post needs a message or at least one file")
        if files:
            if len(files) > check.MAX_FILES_PER_POST:
                raise ValidationError("file_ids", f"at most {check.MAX_FILES_PER_POST} files per post")
            body["file_ids"] = [check.require_id("file_ids", file_id) for file_id in files]
        if root_id:
            body["root_id"] = check.require_id("root_id", root_id)
        if props:
            body["props"] = dict(props)
        if type:
            if type.startswith("system_"):
                raise ValidationError("type", "system_ post types are reserved for the server")
            body["type"] = type
        data = await self.http.request("POST", ("posts",), json_body=body, idempotent=True, dedupe=True)
        return structure(data, Post)

    async def get(self, post_id: PostID) -> Post:
        """One post by id."""
        check.require_id("post_id", post_id)
        return structure(await self.http.request("GET", ("posts", post_id)), Post)

    async def patch(
        self,
        post_id: PostID,
        *,
        message: str | None = None,
        props: Mapping[str, Any] | None = None,
        file_ids: Iterable[FileID] | None = None,
        is_pinned: bool | None = None,
    ) -> Post:
        """Edit a post. Note that ``props`` replaces all of the post's props."""
        check.require_id("post_id", post_id)
        body: dict[str, Any] = {}
        if message is not None:
            body["message"] = self._check_message(message)
        if props is not None:
            body["props"] = dict(props)
        if file_ids is not None:
            ids = list(dict.fromkeys(file_ids))
            if len(ids) > check.MAX_FILES_PER_POST:
                raise ValidationError("file_ids", f"at most {check.MAX_FILES_PER_POST} files per post")
            body["file_ids"] = [check.require_id("file_ids", file_id) for file_id in ids]
        if is_pinned is not None:
            body["is_pinned"] = is_pinned
        if not body:
            raise ValidationError("fields", "nothing to change")
        data = await self.http.request("PUT", ("posts", post_id, "patch"), json_body=body)
        return structure(data, Post)

    async def edit(self, post_id: PostID, message: str) -> Post:
        """Change a post's text (shorthand for :meth:`patch` with ``message``)."""
        return await self.patch(post_id, message=message)

    async def delete(self, post_id: PostID) -> None:
        """Delete a post (a root's replies go with it)."""
        check.require_id("post_id", post_id)
        await self.http.request("DELETE", ("posts", post_id))

    async def get_thread(self, post_id: PostID) -> PostList:
        """The whole thread that ``post_id`` belongs to, root included."""
        check.require_id("post_id", post_id)
        return structure(await self.http.request("GET", ("posts", post_id, "thread")), PostList)

    async def get_for_channel(
        self,
        channel_id: ChannelID,
        *,
        page: int = 0,
        per_page: int = 60,
        since: int | None = None,
        before: PostID | None = None,
        after: PostID | None = None,
    ) -> PostList:
        """A channel's posts, newest first: a page, or those changed ``since`` a time (ms),
        or those ``before``/``after`` a post."""
        check.require_id("channel_id", channel_id)
        check.require_page(page, per_page)
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if since is not None:
            if before or after:
                raise ValidationError("since", "cannot be combined with before/after")
            if not isinstance(since, int) or since < 0:
                raise ValidationError("since", "must be a time in ms since the epoch")
            params = {"since": since}
        if before:
            params["before"] = check.require_id("before", before)
        if after:
            params["after"] = check.require_id("after", after)
        data = await self.http.request("GET", ("channels", channel_id, "posts"), params=params)
        return structure(data, PostList)

    def _check_message(self, message: str) -> str:
        return check.require_text("message", message, maximum=self.max_message_length)

    async def search(
        self, team_id: TeamID, terms: str, *, is_or_search: bool = False, page: int = 0, per_page: int = 60
    ) -> PostList:
        """Posts of a team matching ``terms``: words, ``"phrases"``, ``from:user``, ``in:channel``,
        ``-excluded``, ``before:``/``after:``/``on:`` dates (as the search box)."""
        check.require_id("team_id", team_id)
        check.require_text("terms", terms, maximum=1024, allow_empty=False)
        check.require_page(page, per_page)
        body = {"terms": terms, "is_or_search": is_or_search, "page": page, "per_page": per_page}
        data = await self.http.request(
            "POST", ("teams", team_id, "posts", "search"), json_body=body, idempotent=True
        )
        return structure(data, PostList)

    async def get_by_ids(self, post_ids: Iterable[PostID]) -> list[Post]:
        """Several posts at once; ids that do not exist, or that the caller may not read, are left out."""
        ids = check.require_ids("post_ids", post_ids)
        data = await self.http.request("POST", ("posts", "ids"), json_body=ids, idempotent=True)
        return structure_list(data, Post)

    async def pin(self, post_id: PostID) -> None:
        """Pin a post to its channel."""
        check.require_id("post_id", post_id)
        await self.http.request("POST", ("posts", post_id, "pin"), idempotent=True)

    async def unpin(self, post_id: PostID) -> None:
        """Unpin a post."""
        check.require_id("post_id", post_id)
        await self.http.request("POST", ("posts", post_id, "unpin"), idempotent=True)

    async def create_ephemeral(self, user_id: UserID, channel_id: ChannelID, message: str) -> Post:
        """Show ``message`` in a channel to one user only; nothing is stored (needs the
        ``create_post_ephemeral`` permission, which system admins have)."""
        body = {
            "user_id": check.require_id("user_id", user_id),
            "post": {
                "channel_id": check.require_id("channel_id", channel_id),
                "message": self._check_message(message),
            },
        }
        return structure(await self.http.request("POST", ("posts", "ephemeral"), json_body=body), Post)
