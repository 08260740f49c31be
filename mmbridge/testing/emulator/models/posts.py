"""Posts, their reactions and their files."""

from __future__ import annotations

import copy
import re
from typing import Any

import attrs

from ..ids import new_id
from .wire import Record, internal, omitempty


@attrs.define
class Reaction(Record):
    """An emoji reaction on a post: ``model.Reaction``."""

    user_id: str
    post_id: str
    emoji_name: str
    create_at: int
    update_at: int = attrs.field(default=attrs.Factory(lambda self: self.create_at, takes_self=True))
    delete_at: int = 0
    remote_id: str = ""
    channel_id: str = ""


@attrs.define
class FileInfo(Record):
    """An uploaded file and its bytes: ``model.FileInfo``."""

    id: str
    user_id: str
    channel_id: str
    name: str
    extension: str
    mime_type: str
    create_at: int
    data: bytes = internal(repr=False)
    post_id: str = ""
    update_at: int = attrs.field(default=attrs.Factory(lambda self: self.create_at, takes_self=True))
    delete_at: int = 0
    has_preview_image: bool = False
    remote_id: str = ""
    archived: bool = False
    width: int = omitempty(default=0)
    height: int = omitempty(default=0)

    def wire_extras(self) -> dict[str, Any]:
        """``size``, from the stored bytes."""
        return {"size": len(self.data)}


@attrs.define
class Post(Record):
    """A post (message), system posts included: ``model.Post`` without its metadata.

    The metadata (files, reactions, priority) is the state's to add, see
    ``State.post_json``.
    """

    id: str
    channel_id: str
    user_id: str
    create_at: int
    update_at: int
    message: str = ""
    type: str = ""
    root_id: str = ""
    edit_at: int = 0
    delete_at: int = 0
    is_pinned: bool = False
    props: dict[str, Any] = attrs.field(factory=dict)
    file_ids: list[str] = attrs.field(factory=list)
    hashtags: str = ""
    reply_count: int = 0
    last_reply_at: int = 0
    has_reactions: bool = omitempty(default=False)
    #: Set only on an edit-history row: the id of the post this is an old version of.
    original_id: str = ""
    pending_post_id: str = ""
    priority: dict[str, Any] | None = internal(default=None)
    #: Insertion order, to order posts created within the same millisecond.
    seq: int = internal(default=0)

    def clone(self) -> Post:
        """A deep copy."""
        return copy.deepcopy(self)


_HASHTAG_RE = re.compile(r"(?<![\w#])#([A-Za-z][\w.\-]*[\w])")


def hashtags_of(message: str) -> str:
    """The ``hashtags`` field the server derives from a message."""
    return " ".join(f"#{tag}" for tag in dict.fromkeys(_HASHTAG_RE.findall(message)))


def generate_action_ids(props: dict[str, Any]) -> None:
    """``Post.GenerateActionIds``: give every attachment action without an id a fresh one."""
    attachments = props.get("attachments")
    if not isinstance(attachments, list):
        return
    for attachment in attachments:
        actions = attachment.get("actions") if isinstance(attachment, dict) else None
        if not isinstance(actions, list):
            continue
        for action in actions:
            if isinstance(action, dict) and not action.get("id"):
                action["id"] = new_id()
