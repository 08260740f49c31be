"""Collapsed reply threads: who follows which thread, what they have read, and the events."""

from __future__ import annotations

from typing import Any

from ..errors import AppError
from ..events import Broadcast, EventBus
from ..ids import now_ms
from ..models import Post, ThreadMembership, User, dumps
from ..settings import EmulatorSettings
from .posts import PostState


def _bare_user(user_id: str) -> dict[str, Any]:
    """A ``model.User`` with only its id set, as Go encodes it (the non-``omitempty`` fields)."""
    empty = ("username", "auth_service", "email", "nickname", "first_name", "last_name", "position")
    return {
        "id": user_id,
        "delete_at": 0,
        **dict.fromkeys(empty, ""),
        "roles": "",
        "locale": "",
        "disable_welcome_email": False,
    }


class ThreadState(PostState):
    """Thread memberships (``ThreadMemberships`` rows), keyed by (user id, root post id)."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        self.thread_memberships: dict[tuple[str, str], ThreadMembership] = {}

    # -- reading -------------------------------------------------------------------------------

    def thread_replies(self, root_id: str) -> list[Post]:
        """The live replies of a thread, oldest first."""
        replies = [p for p in self.posts.values() if p.root_id == root_id and not p.delete_at]
        return sorted(replies, key=lambda p: (p.create_at, p.seq))

    def thread_membership(self, user_id: str, root_id: str) -> ThreadMembership:
        """The membership or 404 ``app.user.get_thread_membership_for_user.not_found``."""
        membership = self.thread_memberships.get((user_id, root_id))
        if membership is None:
            raise AppError(
                404,
                "app.user.get_thread_membership_for_user.not_found",
                "Unable to find thread membership.",
            )
        return membership

    def thread_unread_replies(self, membership: ThreadMembership) -> int:
        """``GetThreadUnreadReplyCount``: replies created after the last view."""
        replies = self.thread_replies(membership.post_id)
        return sum(1 for p in replies if p.create_at > membership.last_view_at)

    def thread_json(self, membership: ThreadMembership, *, extended: bool) -> dict[str, Any]:
        """``model.ThreadResponse`` of a membership; participants in full only when ``extended``."""
        root = self.posts[membership.post_id]
        replies = self.thread_replies(root.id)
        participant_ids = list(dict.fromkeys(p.user_id for p in replies))
        participants = [
            self.users[u].to_json() if extended and u in self.users else _bare_user(u)
            for u in participant_ids
        ]
        return {
            "id": root.id,
            "reply_count": len(replies),
            "last_reply_at": max((p.create_at for p in replies), default=0),
            "last_viewed_at": membership.last_view_at,
            "participants": participants,
            "post": self.post_json(root),
            "unread_replies": self.thread_unread_replies(membership),
            "unread_mentions": membership.unread_mentions,
            "is_urgent": False,
            "delete_at": root.delete_at,
        }

    def count_thread_mentions(self, user: User, root: Post, since: int) -> int:
        """``countThreadMentions``: replies after ``since`` that mention the user."""
        channel = self.channel(root.channel_id)
        return sum(
            1
            for p in self.thread_replies(root.id)
            if p.create_at > since and self.mentions_user(p, user, channel)
        )

    # -- changes -------------------------------------------------------------------------------

    def after_post_saved(self, post: Post) -> None:
        """The thread-membership updates of ``SendNotifications`` for a new reply (auto-follow).

        The reply's author, the root's author (unless the root came from a webhook), the users
        the root mentions (outside DMs) and those the reply mentions follow the thread; an
        explicit unfollow sticks unless the reply mentions the user. The author's view moves to
        the reply, a mention adds an unread mention. Then ``thread_updated`` goes to every
        follower who is in the channel.
        """
        super().after_post_saved(post)
        root = self.posts.get(post.root_id) if post.root_id else None
        if root is None or post.type.startswith("system_"):
            return
        channel = self.channel(post.channel_id)
        previous = {
            m.user_id: (self.thread_unread_replies(m), m.unread_mentions)
            for m in self._memberships_of(root.id)
        }
        mentioned = set(self.mentioned_user_ids(post))
        involved = [post.user_id]
        if root.props.get("from_webhook") != "true":
            involved.append(root.user_id)
        if channel.type != "D":
            involved += self.mentioned_user_ids(root)
        involved += sorted(mentioned)
        now = now_ms()
        for user_id in dict.fromkeys(involved):
            if user_id not in self.users or not self.is_channel_member(channel.id, user_id):
                continue
            membership = self.thread_memberships.get((user_id, root.id))
            if membership is not None and not membership.following and user_id not in mentioned:
                continue
            if membership is None:
                membership = ThreadMembership(post_id=root.id, user_id=user_id)
                self.thread_memberships[(user_id, root.id)] = membership
            membership.following = True
            if user_id == post.user_id:
                membership.last_view_at = post.create_at
                membership.unread_mentions = 0
            elif user_id in mentioned:
                membership.unread_mentions += 1
            membership.last_update_at = now
        for membership in self._memberships_of(root.id):
            if not membership.following or not self.is_channel_member(channel.id, membership.user_id):
                continue
            replies, mentions = previous.get(membership.user_id, (0, 0))
            self.events.publish(
                "thread_updated",
                {
                    "thread": dumps(self.thread_json(membership, extended=True)),
                    "previous_unread_replies": replies,
                    "previous_unread_mentions": mentions,
                },
                Broadcast(user_id=membership.user_id, team_id=channel.team_id),
            )

    def _memberships_of(self, root_id: str) -> list[ThreadMembership]:
        return [m for (_, post_id), m in self.thread_memberships.items() if post_id == root_id]

    def set_thread_following(self, user_id: str, team_id: str, root_id: str, following: bool) -> None:
        """``UpdateThreadFollowForUser``: (un)follow, creating the membership; a follow also
        marks the thread viewed now. ``thread_follow_changed`` to the user."""
        now = now_ms()
        membership = self.thread_memberships.get((user_id, root_id))
        if membership is None:
            membership = ThreadMembership(post_id=root_id, user_id=user_id)
            self.thread_memberships[(user_id, root_id)] = membership
        membership.following = following
        if following:
            membership.last_view_at = now
            membership.unread_mentions = 0
        membership.last_update_at = now
        self.events.publish(
            "thread_follow_changed",
            {"thread_id": root_id, "state": following, "reply_count": len(self.thread_replies(root_id))},
            Broadcast(user_id=user_id, team_id=team_id),
        )

    def mark_thread_read(self, user: User, team_id: str, root: Post, timestamp: int) -> dict[str, Any]:
        """``UpdateThreadReadForUser``: the last view set to ``timestamp``, the unread mentions
        recounted after it; ``thread_read_changed`` to the user. Returns the thread."""
        membership = self.thread_membership(user.id, root.id)
        previous_mentions = membership.unread_mentions
        previous_replies = self.thread_unread_replies(membership)
        membership.unread_mentions = self.count_thread_mentions(user, root, timestamp)
        membership.last_view_at = timestamp
        membership.last_update_at = now_ms()
        thread = self.thread_json(membership, extended=False)
        self.events.publish(
            "thread_read_changed",
            {
                "thread_id": root.id,
                "timestamp": timestamp,
                "unread_mentions": membership.unread_mentions,
                "unread_replies": thread["unread_replies"],
                "previous_unread_mentions": previous_mentions,
                "previous_unread_replies": previous_replies,
                "channel_id": root.channel_id,
            },
            Broadcast(user_id=user.id, team_id=team_id),
        )
        return thread

    def mark_all_threads_read(self, user_id: str, team_id: str) -> None:
        """``UpdateThreadsReadForUser``: every followed thread of the team (and DMs/GMs) read
        now; ``thread_read_changed`` with no data to the user."""
        now = now_ms()
        for membership in self.user_threads(user_id, team_id):
            membership.last_view_at = now
            membership.unread_mentions = 0
            membership.last_update_at = now
        self.events.publish("thread_read_changed", {}, Broadcast(user_id=user_id, team_id=team_id))

    def user_threads(self, user_id: str, team_id: str, *, deleted: bool = False) -> list[ThreadMembership]:
        """The followed threads of a user in a team or in DMs/GMs, last reply first."""
        found = []
        for (owner, root_id), membership in self.thread_memberships.items():
            root = self.posts.get(root_id)
            channel = self.channels.get(root.channel_id) if root is not None else None
            if owner != user_id or not membership.following or root is None or channel is None:
                continue
            if channel.team_id not in (team_id, "") or (root.delete_at and not deleted):
                continue
            found.append(membership)
        return sorted(found, key=lambda m: self.last_reply_key(m.post_id), reverse=True)

    def last_reply_key(self, root_id: str) -> tuple[int, int]:
        """(``create_at``, insertion order) of a thread's last reply, to order threads exactly."""
        replies = self.thread_replies(root_id)
        return (replies[-1].create_at, replies[-1].seq) if replies else (0, 0)
