"""Reactions on posts and their events."""

from __future__ import annotations

from ..errors import AppError
from ..events import Broadcast
from ..ids import now_ms
from ..models import (
    Post,
    Reaction,
    dumps,
)
from .posts import PostState


class ReactionState(PostState):
    """Reactions on posts and their events."""

    def add_reaction(self, post: Post, user_id: str, emoji_name: str) -> Reaction:
        """Save a reaction; at most 50 distinct emoji per post.

        As ``SqlReactionStore.Save`` (an upsert): saving an existing reaction again is no error;
        the stored one keeps its ``create_at`` and gets a new ``update_at``, while the answer
        and the ``reaction_added`` event (sent again) carry the request's fresh ``create_at``.
        Either way the post's ``update_at`` moves.
        """
        now = now_ms()
        reactions = self.reactions.setdefault(post.id, [])
        reaction = Reaction(
            user_id=user_id,
            post_id=post.id,
            emoji_name=emoji_name,
            channel_id=post.channel_id,
            create_at=now,
        )
        existing = [r for r in reactions if r.user_id == user_id and r.emoji_name == emoji_name]
        if existing:
            existing[0].update_at = now
        else:
            emoji = {r.emoji_name for r in reactions}
            if emoji_name not in emoji and len(emoji) >= 50:
                raise AppError(
                    400,
                    "app.reaction.save.save.too_many_reactions",
                    "Reaction limit has been reached for this post.",
                )
            reactions.append(reaction)
        post.has_reactions = True
        post.update_at = max(now, post.update_at + 1)
        self.events.publish(
            "reaction_added",
            {"reaction": dumps(reaction.to_json())},
            Broadcast(channel_id=post.channel_id),
        )
        return reaction

    def remove_reaction(self, post: Post, user_id: str, emoji_name: str) -> None:
        """Remove a reaction, whether or not it exists (``DeleteReactionForPost``).

        The post's ``update_at`` moves and ``reaction_removed`` is sent in both cases. Its
        reaction is built from the URL, as the server does: ``create_at`` 0, ``update_at`` now,
        no ``channel_id``.
        """
        now = now_ms()
        reactions = self.reactions.get(post.id, [])
        for reaction in reactions:
            if reaction.user_id == user_id and reaction.emoji_name == emoji_name:
                reactions.remove(reaction)
                break
        post.has_reactions = bool(reactions)
        post.update_at = max(now, post.update_at + 1)
        removed = Reaction(
            user_id=user_id,
            post_id=post.id,
            emoji_name=emoji_name,
            create_at=0,
            update_at=now,
        )
        self.events.publish(
            "reaction_removed",
            {"reaction": dumps(removed.to_json())},
            Broadcast(channel_id=post.channel_id),
        )
