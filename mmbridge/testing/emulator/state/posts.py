"""Posts: creation, edits, deletion, system posts, and their events."""

from __future__ import annotations

import datetime
import re
from typing import Any

from ..events import Broadcast, EventBus
from ..ids import now_ms
from ..models import (
    Channel,
    ChannelMember,
    Post,
    User,
    dumps,
    generate_action_ids,
    hashtags_of,
)
from ..settings import EmulatorSettings
from .search import SearchQuery
from .users import UserState

_MENTION_RE = re.compile(r"@([a-z0-9][a-z0-9.\-_]*)", re.IGNORECASE)
_CHANNEL_WIDE = frozenset({"channel", "all", "here"})


class PostState(UserState):
    """Posts: creation, edits, deletion, system posts, and their events."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        #: ``PostReminders`` rows: (user id, post id) -> target time (seconds since the epoch).
        self.post_reminders: dict[tuple[str, str], int] = {}

    def mentions_user(self, post: Post, user: User, channel: Channel) -> bool:
        """Whether ``post`` mentions ``user`` (``@username``, ``@channel``/``@all``/``@here``,
        or any post of someone else in a DM), as the server counts mentions."""
        if post.user_id == user.id or post.type.startswith("system_"):
            return False
        if channel.type == "D":
            return True
        names = {m.rstrip(".-_").lower() for m in _MENTION_RE.findall(post.message)}
        return user.username in names or bool(names & _CHANNEL_WIDE)

    def mentioned_user_ids(self, post: Post) -> list[str]:
        """``getExplicitMentionsAndKeywords``: who ``post`` mentions, its author excluded.

        Every other member of a DM or GM; elsewhere the members named by ``@username``, or all
        members for ``@channel``/``@all``.
        """
        channel = self.channels.get(post.channel_id)
        if channel is None:
            return []
        members = [u for u in self.channel_member_ids(channel.id) if u != post.user_id]
        names = {m.rstrip(".-_").lower() for m in _MENTION_RE.findall(post.message)}
        if channel.type in ("D", "G") or names & {"channel", "all"}:
            return members
        return [u for u in members if u in self.users and self.users[u].username in names]

    def after_post_saved(self, post: Post) -> None:
        """Called once a new post is stored and announced; the thread layer updates memberships."""

    def edit_post(
        self,
        post: Post,
        *,
        message: str | None = None,
        file_ids: list[str] | None = None,
        props: dict[str, Any] | None = None,
        is_pinned: bool | None = None,
    ) -> None:
        """``UpdatePost``/``PatchPost`` with the fields given (checked by the caller): a new
        ``update_at``, ``edit_at`` too when the text or the files changed, the old version kept as
        edit history, and ``post_edited``."""
        previous = post.clone()
        changed = False
        if message is not None and message != post.message:
            post.message = message
            post.hashtags = hashtags_of(message)
            changed = True
        if file_ids is not None and file_ids != post.file_ids:
            for file_id in file_ids:
                self.files[file_id].post_id = post.id
            post.file_ids = file_ids
            changed = True
        if props is not None:
            post.props = props
        if is_pinned is not None:
            post.is_pinned = is_pinned
        post.update_at = max(now_ms(), post.update_at + 1)
        if changed:
            post.edit_at = post.update_at
        self.post_edited(post, previous)

    def set_pinned(self, post: Post, pinned: bool) -> None:
        """``PatchPost`` with only ``is_pinned``."""
        self.edit_post(post, is_pinned=pinned)

    def mark_unread_from_post(self, post: Post, user: User) -> dict[str, Any]:
        """``MarkChannelAsUnreadFromPost``: the member has read everything before ``post``.

        ``last_viewed_at`` = the post's ``create_at`` - 1, ``msg_count`` the posts before it,
        the mention counts from it on; ``post_unread`` to that user. Returns the
        ``ChannelUnreadAt``.
        """
        channel = self.channel(post.channel_id)
        member = self.channel_members.get((channel.id, user.id))
        if member is None:
            member = ChannelMember(channel_id=channel.id, user_id=user.id, last_update_at=now_ms())
        in_channel = [p for p in self.posts.values() if p.channel_id == channel.id]
        before = [p for p in in_channel if p.create_at < post.create_at]
        after = [p for p in in_channel if p.create_at >= post.create_at and not p.delete_at]
        mentions = [p for p in after if self.mentions_user(p, user, channel)]
        member.last_viewed_at = post.create_at - 1
        member.msg_count = len(before)
        member.msg_count_root = sum(1 for p in before if not p.root_id)
        member.mention_count = len(mentions)
        member.mention_count_root = sum(1 for p in mentions if not p.root_id)
        member.urgent_mention_count = 0
        member.last_update_at = max(now_ms(), member.last_update_at + 1)
        counts = {
            "msg_count": member.msg_count,
            "msg_count_root": member.msg_count_root,
            "mention_count": member.mention_count,
            "mention_count_root": member.mention_count_root,
            "urgent_mention_count": 0,
            "last_viewed_at": member.last_viewed_at,
        }
        self.events.publish(
            "post_unread",
            {**counts, "post_id": post.id},
            Broadcast(user_id=user.id, channel_id=channel.id, team_id=channel.team_id),
        )
        return {
            "team_id": channel.team_id,
            "user_id": user.id,
            "channel_id": channel.id,
            **counts,
            "notify_props": dict(member.notify_props),
        }

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

    def post_list_json(
        self, posts: list[Post], *, next_post_id: str = "", prev_post_id: str = ""
    ) -> dict[str, Any]:
        """``model.PostList`` of ``posts``, newest first."""
        ordered = sorted(posts, key=lambda p: (p.create_at, p.seq), reverse=True)
        return {
            "order": [p.id for p in ordered],
            "posts": {p.id: self.post_json(p) for p in ordered},
            "next_post_id": next_post_id,
            "prev_post_id": prev_post_id,
            "has_next": bool(next_post_id),
        }

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
        self.after_post_saved(post)

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

    def set_post_reminder(self, post: Post, user: User, target_time: int, site_url: str) -> None:
        """``SetPostReminder``: store the reminder and tell the user with an ephemeral post.

        ``target_time`` is in seconds; the message names the post's permalink, its author and
        the time (Go's RFC 822 layout, UTC).
        """
        self.post_reminders[(user.id, post.id)] = target_time
        channel = self.channel(post.channel_id)
        team = self.teams.get(channel.team_id)
        team_name = team.name if team is not None else ""
        permalink = f"{site_url}/{team_name}/pl/{post.id}" if team_name else f"{site_url}/pl/{post.id}"
        author = self.users.get(post.user_id)
        username = author.username if author is not None else ""
        when = datetime.datetime.fromtimestamp(target_time, datetime.UTC).strftime("%d %b %y %H:%M UTC")
        notice = self.new_post(
            channel.id,
            user.id,
            f"You will be reminded about {permalink} by @{username} at {when}",
            root_id=post.id,
            props={
                "target_time": target_time,
                "team_name": team_name,
                "post_id": post.id,
                "username": username,
                "type": "reminder",
            },
        )
        self.send_ephemeral(user.id, notice)

    def search_posts(
        self,
        caller: User,
        team_id: str,
        terms: str,
        *,
        is_or_search: bool = False,
        include_deleted_channels: bool = False,
        time_zone_offset: int = 0,
    ) -> list[Post]:
        """The database post search (``SqlPostStore.search``), newest first.

        Searched: live, non-system posts of the channels the caller is a member of in the team
        and their DMs/GMs (archived channels with ``include_deleted_channels``). ``terms`` as
        :class:`SearchQuery` parses them; words match whole words, case-insensitively.
        """
        query = SearchQuery.parse(terms, time_zone_offset)
        found = []
        for post in self.posts.values():
            channel = self.channels.get(post.channel_id)
            if channel is None or post.delete_at or post.type.startswith("system_"):
                continue
            if channel.team_id not in (team_id, "") or not self.is_channel_member(channel.id, caller.id):
                continue
            if channel.delete_at and not include_deleted_channels:
                continue
            author = self.users.get(post.user_id)
            if query.matches(post, channel, author.username if author else "", is_or_search=is_or_search):
                found.append(post)
        return sorted(found, key=lambda p: (p.create_at, p.seq), reverse=True)
