"""Is the mirror exact? A conversation to mirror, and what differs between what people wrote and
what the puppets made of it, read from an emulator's state (the crash test and ``bench/soak.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import attrs

from mmbridge.api import ClientAPI
from mmbridge.appservice.outbox import SOURCE_PROP
from mmbridge.testing.emulator.models import Post
from mmbridge.testing.emulator.state import State
from mmbridge.types import ChannelID, PostID, UserID


@attrs.frozen
class Speaker:
    """Someone in the conversation: their client, user id and channel."""

    client: ClientAPI
    user_id: str
    channel_id: str


async def converse(
    first: Speaker, second: Speaker, messages: int, *, pace: float = 0.01, progress: list[int] | None = None
) -> None:
    """``messages`` messages at a steady pace, every 4th by ``second``, the others by ``first``;
    every 10th edited, every 9th a reply in a recent thread of its author, every 6th given a
    reaction, every 12th given one that is taken back. ``progress[0]`` follows the count."""
    made: list[tuple[Speaker, PostID]] = []
    for n in range(messages):
        if progress is not None:
            progress[0] = n
        who = second if n % 4 == 3 else first
        client = who.client
        roots = [post_id for speaker, post_id in made[-12:] if speaker is who]
        root = roots[0] if n % 9 == 8 and roots else ""
        post = await client.posts.create(ChannelID(who.channel_id), f"message {n}", root_id=root)
        made.append((who, post.id))
        if n % 10 == 5:
            await client.posts.edit(post.id, f"message {n}, edited")
        if n % 6 == 1:
            await client.reactions.add(UserID(who.user_id), post.id, "smile")
        if n % 12 == 7:
            await client.reactions.add(UserID(who.user_id), post.id, "tada")
            await client.reactions.remove(UserID(who.user_id), post.id, "tada")
        await asyncio.sleep(pace)


@attrs.frozen
class Difference:
    """What the mirror got wrong, one side to the other."""

    lost: list[str]
    doubled: list[str]
    other: list[str]

    def describe(self) -> list[str]:
        """One line per kind of problem."""
        lines = [f"lost {len(self.lost)}: {self.lost[:5]}"] if self.lost else []
        if self.doubled:
            lines.append(f"doubled {len(self.doubled)}: {self.doubled[:5]}")
        return lines + self.other[:10]


def original_of(copy: Post) -> str:
    """The id of the post a copy mirrors (its source stamp is ``<portal>:<post id>:<part>``)."""
    source = str(copy.props[SOURCE_PROP])
    return source.split(":")[-2] if source.count(":") >= 2 else source


class MirrorVerifier:
    """Compares the posts of ``people`` in two channels with the copies on the other side: each
    exactly once, in the same order, with the same text (edits), reactions and thread."""

    def __init__(self, state: State, people: set[str]) -> None:
        self.state = state
        self.people = people

    def originals(self, channel_id: str) -> list[Post]:
        """The people's live posts in the channel, oldest first."""
        return self._posts(channel_id, lambda post: post.user_id in self.people)

    def copies(self, channel_id: str) -> list[Post]:
        """The bridged (source-stamped) live posts in the channel, oldest first."""
        return self._posts(channel_id, lambda post: SOURCE_PROP in post.props)

    def _posts(self, channel_id: str, keep: Callable[[Post], bool]) -> list[Post]:
        found = [
            p
            for p in self.state.posts.values()
            if p.channel_id == channel_id and not p.delete_at and not p.type and keep(p)
        ]
        return sorted(found, key=lambda p: (p.create_at, p.seq))

    def emoji(self, post_id: str) -> set[str]:
        """The emoji on a post."""
        return {r.emoji_name for r in self.state.reactions.get(post_id, [])}

    def compare(self, a: str, b: str) -> Difference:
        """Both directions of the mirror of channels ``a`` and ``b``."""
        lost: list[str] = []
        doubled: list[str] = []
        other: list[str] = []
        for source, target in ((a, b), (b, a)):
            originals = self.originals(source)
            by_source: dict[str, list[Post]] = {}
            copies = self.copies(target)
            for copy in copies:
                by_source.setdefault(original_of(copy), []).append(copy)
            lost += [o.message for o in originals if o.id not in by_source]
            doubled += [o.message for o in originals if len(by_source.get(o.id, [])) > 1]
            if [original_of(c) for c in copies] != [o.id for o in originals if o.id in by_source]:
                other.append(f"out of order in {target}")
            for original in originals:
                made = by_source.get(original.id)
                if not made:
                    continue
                copy = made[0]
                if copy.message != original.message:
                    other.append(f"edit missing: {copy.message!r} != {original.message!r}")
                if self.emoji(copy.id) != self.emoji(original.id):
                    other.append(f"reactions differ on {original.message!r}")
                if original.root_id:
                    root_copy = by_source.get(original.root_id) or []
                    if not root_copy or copy.root_id != root_copy[0].id:
                        other.append(f"reply {original.message!r} not in its thread")
        return Difference(lost, doubled, other)

    def problems(self, a: str, b: str) -> list[str]:
        """What differs, one line per kind (empty when the mirror is exact)."""
        return self.compare(a, b).describe()
