"""``mmbridge dead-letters``: list, replay or discard the events a bridge parked.

It opens the bridge's database directly (beside a running daemon, which replays what is marked
within a few seconds; or alone, and the next start replays it)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from ..appservice.ledger import DeadLetter
from .bridge import Bridge
from .errors import CommandError


def describe(letter: DeadLetter) -> str:
    """One line about a dead letter."""
    when = datetime.datetime.fromtimestamp(letter.failed_at / 1000, tz=datetime.UTC)
    replay = "  (replay asked)" if letter.replay_requested else ""
    return (
        f"{letter.letter_id}  {when:%Y-%m-%d %H:%M:%S}Z  {letter.event_type:<16} channel={letter.channel_id} "
        f"tries={letter.attempts}{replay}  {letter.error}"
    )


async def dead_letters(bridge: Bridge[Any], action: str, letter_ids: Sequence[str], every: bool) -> list[str]:
    """Run ``action`` (``list``, ``replay``, ``discard``) on the bridge's dead letters; the lines
    to print."""
    if action != "list" and not letter_ids and not every:
        raise CommandError(
            f"dead-letters {action}: name the letters (ids from `dead-letters list`) or give --all"
        )
    await bridge.db.start()
    try:
        ledger = bridge.ledger
        if action == "list":
            letters = await ledger.dead_letters()
            return [describe(letter) for letter in letters] or ["no dead letters"]
        chosen = None if every else list(letter_ids)
        if chosen is not None:
            known = {letter.letter_id for letter in await ledger.dead_letters()}
            unknown = [lid for lid in chosen if lid not in known]
            if unknown:
                raise CommandError(f"no dead letter {', '.join(unknown)} (see `dead-letters list`)")
        if action == "replay":
            count = await ledger.request_replay(chosen)
            return [f"{count} dead letter(s) marked for replay: a running bridge handles them within seconds"]
        count = await ledger.discard(chosen)
        return [f"{count} dead letter(s) discarded"]
    finally:
        await bridge.db.stop()
