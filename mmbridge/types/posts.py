"""Posts, post lists, reactions and file metadata."""

from __future__ import annotations

from typing import Any

import attrs

from .ids import ChannelID, FileID, PostID, UserID
from .serialization import MattermostObject


@attrs.frozen
class Post(MattermostObject):
    """A message in a channel. Replies carry the thread root's id in ``root_id``."""

    id: PostID
    channel_id: ChannelID = ChannelID("")
    user_id: UserID = UserID("")
    message: str = ""
    type: str = ""
    root_id: str = ""
    original_id: str = ""
    create_at: int = 0
    update_at: int = 0
    edit_at: int = 0
    delete_at: int = 0
    is_pinned: bool = False
    props: dict[str, Any] = attrs.field(factory=dict)
    hashtags: str = ""
    file_ids: list[FileID] = attrs.field(factory=list)
    pending_post_id: str = ""
    reply_count: int = 0
    last_reply_at: int = 0
    has_reactions: bool = False
    remote_id: str = ""
    metadata: dict[str, Any] = attrs.field(factory=dict)

    @property
    def is_system(self) -> bool:
        """True for server-made posts (joins, leaves, header changes...)."""
        return self.type.startswith("system_")

    @property
    def is_reply(self) -> bool:
        """True when the post is in a thread under another post."""
        return bool(self.root_id)

    @property
    def thread_root_id(self) -> PostID:
        """The id of the thread this post belongs to (its own id for a root post)."""
        return PostID(self.root_id) if self.root_id else self.id

    @property
    def is_deleted(self) -> bool:
        """True once the post has been deleted."""
        return self.delete_at != 0

    @property
    def from_bot(self) -> bool:
        """True when a bot account wrote it (the server sets ``props.from_bot``)."""
        return self.props.get("from_bot") in ("true", True)

    @property
    def from_webhook(self) -> bool:
        """True for posts made by webhooks and slash commands."""
        return self.props.get("from_webhook") in ("true", True)


@attrs.frozen
class PostList(MattermostObject):
    """A page of posts: ``order`` lists ids newest first, ``posts`` maps id to post."""

    order: list[PostID] = attrs.field(factory=list)
    posts: dict[PostID, Post] = attrs.field(factory=dict)
    next_post_id: str = ""
    prev_post_id: str = ""
    has_next: bool = False

    def ordered(self) -> list[Post]:
        """The posts in ``order`` (ids missing from ``posts`` are skipped)."""
        return [self.posts[post_id] for post_id in self.order if post_id in self.posts]

    def chronological(self) -> list[Post]:
        """The posts oldest first, the order a bridge replays them in."""
        return sorted(self.posts.values(), key=lambda post: (post.create_at, post.id))


@attrs.frozen
class Reaction(MattermostObject):
    """One user's emoji reaction to a post."""

    user_id: UserID
    post_id: PostID
    emoji_name: str
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0
    channel_id: str = ""
    remote_id: str = ""


@attrs.frozen
class FileInfo(MattermostObject):
    """Metadata of an uploaded file. ``post_id`` is set once a post carries it."""

    id: FileID
    user_id: UserID = UserID("")
    post_id: str = ""
    channel_id: str = ""
    name: str = ""
    extension: str = ""
    size: int = 0
    mime_type: str = ""
    width: int = 0
    height: int = 0
    has_preview_image: bool = False
    mini_preview: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0
    remote_id: str = ""
    archived: bool = False


@attrs.frozen
class FileUploadResult(MattermostObject):
    """The answer to ``POST /files``."""

    file_infos: list[FileInfo] = attrs.field(factory=list)
    client_ids: list[str] = attrs.field(factory=list)
