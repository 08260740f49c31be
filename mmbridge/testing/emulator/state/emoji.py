"""Custom emoji: creation, deletion (with the reactions that used them) and their event."""

from __future__ import annotations

from ..errors import AppError, not_found
from ..events import Broadcast, EventBus
from ..ids import now_ms
from ..models import Emoji, dumps
from ..settings import EmulatorSettings
from .reactions import ReactionState


class EmojiState(ReactionState):
    """Custom emoji: creation, deletion (with the reactions that used them) and their event."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        #: Custom emoji by id, deleted ones (``delete_at`` set) included, in creation order.
        self.emoji: dict[str, Emoji] = {}

    def live_emoji(self) -> list[Emoji]:
        """The emoji not deleted, in creation order."""
        return [e for e in self.emoji.values() if not e.delete_at]

    def emoji_by_id(self, emoji_id: str) -> Emoji:
        """A live emoji or 404 ``app.emoji.get.no_result``."""
        emoji = self.emoji.get(emoji_id)
        if emoji is None or emoji.delete_at:
            raise not_found("app.emoji.get.no_result")
        return emoji

    def emoji_by_name(self, name: str) -> Emoji | None:
        """The live emoji of that name, if any."""
        return next((e for e in self.live_emoji() if e.name == name), None)

    def create_emoji(self, creator_id: str, name: str, image: bytes, image_type: str) -> Emoji:
        """Save a custom emoji (400 ``api.emoji.create.duplicate.app_error`` when the name is
        taken) and send ``emoji_added`` to everyone."""
        if self.emoji_by_name(name) is not None:
            raise AppError(400, "api.emoji.create.duplicate.app_error", "This emoji name is already in use.")
        emoji = Emoji(
            id=self.ids.new_id(),
            creator_id=creator_id,
            name=name,
            create_at=now_ms(),
            image=image,
            image_type=image_type,
        )
        self.emoji[emoji.id] = emoji
        self.events.publish("emoji_added", {"emoji": dumps(emoji.to_json())}, Broadcast())
        return emoji

    def delete_emoji(self, emoji: Emoji) -> None:
        """Delete an emoji and every reaction with its name (``DeleteAllWithEmojiName``: no event).

        The posts that lose their last reaction get ``has_reactions`` false; each post whose
        reactions changed gets a new ``update_at``.
        """
        now = now_ms()
        emoji.delete_at = now
        emoji.update_at = now
        for post_id, reactions in self.reactions.items():
            kept = [r for r in reactions if r.emoji_name != emoji.name]
            if len(kept) == len(reactions):
                continue
            reactions[:] = kept
            post = self.posts.get(post_id)
            if post is not None:
                post.has_reactions = bool(kept)
                post.update_at = max(now, post.update_at + 1)
