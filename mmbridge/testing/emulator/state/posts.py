"""Posts: creation, edits, deletion, system posts, and their events."""

from __future__ import annotations

from typing import Any

from ..events import Broadcast
from ..ids import now_ms
from ..models import (
    Channel,
    Post,
    User,
    dumps,
    generate_action_ids,
    hashtags_of,
)
from .users import UserState


class PostState(UserState):
    """Posts: creation, edits, deletion, system posts, and their events."""

    def post_json(self, post: Post, *, pending_post_id: str = "") -> dict[str, Any]:
        """A post with its metadata: files, reactions, priority (``PreparePostForClient``)."""
        data = post.to_json()
        if pending_post_id:
            data["pending_post_id"] = pending_post_id
        metadata: dict[str, Any] = {}
        files = [self.files[f].to_json() for f in post.file_ids if f in self.files]
        if files:
            metadata["files"] = files
        reactions = [r.to_json() for r in self.reactions.get(post.id, [])]
        if reactions:
            metadata["reactions"] = reactions
        if post.priority:
            metadata["priority"] = dict(post.priority)
        data["metadata"] = metadata
        return data

    def _membership_post(self, channel: Channel, user: User, actor_id: str, where: str) -> None:
        """``<user> joined the <where>.`` or ``<user> added to the <where> by <actor>.``"""
        if actor_id in ("", user.id):
            self.system_post(
                channel,
                user.id,
                f"system_join_{where}",
                f"{user.username} joined the {where}.",
                {"username": user.username},
            )
            return
        actor = self.user(actor_id)
        self.system_post(
            channel,
            actor_id,
            f"system_add_to_{where}",
            f"{user.username} added to the {where} by {actor.username}.",
            {
                "userId": actor_id,
                "username": actor.username,
                "addedUserId": user.id,
                "addedUsername": user.username,
            },
        )

    def new_post(
        self,
        channel_id: str,
        user_id: str,
        message: str = "",
        *,
        post_type: str = "",
        root_id: str = "",
        props: dict[str, Any] | None = None,
        file_ids: list[str] | None = None,
        create_at: int = 0,
        is_pinned: bool = False,
        priority: dict[str, Any] | None = None,
    ) -> Post:
        """A post as the app layer builds it before saving (a fresh id, its times, its hashtags).

        Nothing is stored: :meth:`save_post` does that (an ephemeral post never is).
        """
        created = create_at or now_ms()
        return Post(
            id=self.ids.new_id(),
            channel_id=channel_id,
            user_id=user_id,
            create_at=created,
            update_at=created,
            message=message,
            type=post_type,
            root_id=root_id,
            props=dict(props or {}),
            file_ids=list(file_ids or []),
            hashtags=hashtags_of(message),
            is_pinned=is_pinned,
            priority=priority,
        )

    def system_post(
        self, channel: Channel, user_id: str, post_type: str, message: str, props: dict[str, Any]
    ) -> Post:
        """Write a system post (membership, header change...)."""
        post = self.new_post(channel.id, user_id, message, post_type=post_type, props=props)
        self.save_post(post, sender=self.users.get(user_id))
        return post

    def save_post(
        self,
        post: Post,
        *,
        sender: User | None,
        pending_post_id: str = "",
        set_online: bool = True,
    ) -> None:
        """Store a new post, update the channel and thread, and publish ``posted``."""
        channel = self.channel(post.channel_id)
        self._post_seq += 1
        post.seq = self._post_seq
        self.posts[post.id] = post
        channel.last_post_at = max(channel.last_post_at, post.create_at)
        channel.total_msg_count += 1
        if post.root_id:
            root = self.posts[post.root_id]
            root.update_at = max(root.update_at, post.create_at)
            thread = [root, *(p for p in self.posts.values() if p.root_id == root.id)]
            replies = sum(1 for p in thread if p.root_id and not p.delete_at)
            for item in thread:
                item.reply_count = replies
                item.last_reply_at = max(item.last_reply_at, post.create_at)
        else:
            channel.last_root_post_at = max(channel.last_root_post_at, post.create_at)
            channel.total_msg_count_root += 1
        for file_id in post.file_ids:
            info = self.files.get(file_id)
            if info is not None:
                info.post_id = post.id
        self.events.publish(
            "posted",
            {
                "post": dumps(self.post_json(post, pending_post_id=pending_post_id)),
                "channel_type": channel.type,
                "channel_display_name": channel.display_name,
                "channel_name": channel.name,
                "sender_name": f"@{sender.username}" if sender else "",
                "team_id": channel.team_id,
                "set_online": set_online,
            },
            Broadcast(channel_id=channel.id),
        )

    def post_edited(self, post: Post, previous: Post | None = None) -> None:
        """Store the edit and announce it (``SqlPostStore.Update``, then ``post_edited``).

        ``post`` is already changed, ``update_at`` included. With ``previous`` (the post as it
        was before), the old version is kept as an edit-history row: a new id,
        ``original_id`` = the post, ``delete_at`` = ``update_at`` = the edit time. Every update
        stores one, even one that changes only props or the pin. Editing a reply also bumps its
        root's ``update_at``.
        """
        if previous is not None:
            old = previous.clone()
            old.original_id = post.id
            old.id = self.ids.new_id()
            old.delete_at = post.update_at
            old.update_at = post.update_at
            self.post_history[old.id] = old
        if post.root_id:
            root = self.posts.get(post.root_id)
            if root is not None:
                root.update_at = max(root.update_at, post.update_at)
        self.events.publish(
            "post_edited",
            {"post": dumps(self.post_json(post))},
            Broadcast(channel_id=post.channel_id),
        )

    def delete_post(self, post: Post, actor_id: str) -> None:
        """Soft-delete a post; a root takes its replies along (``WHERE Id=? OR RootId=?``).

        As ``CleanUpAfterPostDeletion``: one ``post_deleted`` for the post only (none for the
        replies), whose ``post`` is the post as read before the deletion (``delete_at`` 0); it
        goes out twice, a sanitised copy to everyone but system admins and a copy with
        ``delete_by`` to system admins only.
        """
        before = dumps(self.post_json(post))
        now = max(now_ms(), post.update_at + 1)
        doomed = [post]
        if not post.root_id:
            doomed += [p for p in self.posts.values() if p.root_id == post.id and not p.delete_at]
        for item in doomed:
            item.delete_at = now
            item.update_at = now
            item.props["deleteBy"] = actor_id
            for file_id in item.file_ids:
                info = self.files.get(file_id)
                if info is not None:
                    info.delete_at = now
        if post.root_id and post.root_id in self.posts:
            thread = [p for p in self.posts.values() if p.root_id == post.root_id]
            replies = sum(1 for p in thread if not p.delete_at)
            self.posts[post.root_id].reply_count = replies
            for item in thread:
                item.reply_count = replies
        self.events.publish(
            "post_deleted",
            {"post": before},
            Broadcast(channel_id=post.channel_id, contains_sanitized_data=True),
        )
        self.events.publish(
            "post_deleted",
            {"post": before, "delete_by": actor_id},
            Broadcast(channel_id=post.channel_id, contains_sensitive_data=True),
        )

    def send_ephemeral(self, user_id: str, post: Post) -> None:
        """``SendEphemeralPost``: an ``ephemeral_message`` event for one user; nothing stored."""
        post.type = "system_ephemeral"
        generate_action_ids(post.props)
        self.events.publish(
            "ephemeral_message",
            {"post": dumps(self.post_json(post))},
            Broadcast(user_id=user_id, channel_id=post.channel_id),
        )
