"""Recognise the bridge's own actions coming back to it (Mattermost sends authors their own posts)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from ..types import Event, Post
from .intent import BRIDGE_PROP
from .store import StateStore


class EchoFilter:
    """``await echo_filter(event)`` is True for events caused by this bridge.

    An event is an echo when its author (:attr:`Event.author_id <mmbridge.types.Event.author_id>`)
    is the bridge bot or one of its puppets, or when a post
    carries this bridge's stamp (``props.from_mmbridge``; intents stamp every post, which is how
    a double-puppeted real user's bridged posts are recognised). Puppets are recognised by user
    id in the state store, never by username: Mattermost reserves no namespace, so a person may
    hold a name that fits the template (``irc_alice`` beside an IRC bridge), and a puppet renamed
    on the server keeps its id. Answers are cached (bounded; "not a puppet" for ``negative_ttl``
    seconds), so the store is asked once per author, not per event.
    """

    def __init__(
        self,
        *,
        bridge_id: str,
        bot_user_id: str,
        store: StateStore,
        cache_size: int = 50_000,
        negative_ttl: float = 300.0,
    ) -> None:
        self.bridge_id = bridge_id
        self.bot_user_id = bot_user_id
        self.store = store
        self._puppet_ids: OrderedDict[str, bool] = OrderedDict()
        self._not_puppets: OrderedDict[str, float] = OrderedDict()
        self._cache_size = cache_size
        self._negative_ttl = negative_ttl

    async def __call__(self, event: Event) -> bool:
        post = getattr(event, "post", None)
        if isinstance(post, Post) and self._stamped(post):
            return True
        return await self.is_bridge_user(event.author_id)

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
        checked_at = self._not_puppets.get(user_id)
        now = time.monotonic()
        if checked_at is not None and now - checked_at < self._negative_ttl:
            return False
        if await self.store.get_puppet(user_id) is None:
            # A puppet is a new account, so a person's id does not turn into a puppet's; the TTL
            # covers the rare adoption of an old puppet account after the store was lost.
            self._remember(self._not_puppets, user_id, now)
            return False
        self._not_puppets.pop(user_id, None)
        self._remember(self._puppet_ids, user_id, True)
        return True

    def _remember(self, cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > self._cache_size:
            cache.popitem(last=False)
