"""Recognise the bridge's own actions coming back to it (Mattermost sends authors their own posts)."""

from __future__ import annotations

from collections import OrderedDict

from ..types import (
    Event,
    OutgoingWebhookEvent,
    Post,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    TypingEvent,
)
from .intent import BRIDGE_PROP
from .namespace import PuppetNamespace
from .store import StateStore


class EchoFilter:
    """``await echo_filter(event)`` is True for events caused by this bridge.

    An event is an echo when its author is the bridge bot or one of its puppets, or when a post
    carries this bridge's stamp (``props.from_mmbridge``; intents stamp every post, which is how
    a double-puppeted real user's bridged posts are recognised). Puppets are recognised by
    username where the event names one (namespace match, no lookup) and otherwise by user id in
    the state store, with positive answers cached (bounded).
    """

    def __init__(
        self,
        *,
        bridge_id: str,
        bot_user_id: str,
        namespace: PuppetNamespace,
        store: StateStore,
        cache_size: int = 50_000,
    ) -> None:
        self.bridge_id = bridge_id
        self.bot_user_id = bot_user_id
        self.namespace = namespace
        self.store = store
        self._puppet_ids: OrderedDict[str, bool] = OrderedDict()
        self._cache_size = cache_size

    async def __call__(self, event: Event) -> bool:
        if isinstance(event, PostedEvent):
            if self._stamped(event.post):
                return True
            if event.sender_name and self.namespace.is_puppet(event.sender_name.removeprefix("@")):
                return True
            return await self.is_bridge_user(event.post.user_id)
        if isinstance(event, PostEditedEvent | PostDeletedEvent):
            return self._stamped(event.post) or await self.is_bridge_user(event.post.user_id)
        if isinstance(event, ReactionAddedEvent | ReactionRemovedEvent):
            return await self.is_bridge_user(event.reaction.user_id)
        if isinstance(event, OutgoingWebhookEvent):
            if self.namespace.is_puppet(event.user_name):
                return True
            return await self.is_bridge_user(event.user_id)
        if isinstance(event, TypingEvent):
            return await self.is_bridge_user(event.user_id)
        return False

    def _stamped(self, post: Post) -> bool:
        return post.props.get(BRIDGE_PROP) == self.bridge_id

    async def is_bridge_user(self, user_id: str) -> bool:
        """Whether ``user_id`` is the bot or a puppet of this bridge."""
        if not user_id:
            return False
        if user_id == self.bot_user_id:
            return True
        if user_id in self._puppet_ids:
            self._puppet_ids.move_to_end(user_id)
            return True
        # Only "yes" is cached: a user looked up now may become a puppet later, never the reverse.
        if await self.store.get_puppet(user_id) is None:
            return False
        self._puppet_ids[user_id] = True
        if len(self._puppet_ids) > self._cache_size:
            self._puppet_ids.popitem(last=False)
        return True
