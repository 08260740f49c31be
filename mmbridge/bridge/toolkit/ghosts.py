"""Ghosts: the Mattermost puppets of remote users, with readable, stable usernames.

A remote id becomes a username through the bridge's template (``irc_{localpart}``). The localpart
is the remote id itself when Mattermost allows it (``alice_remote`` stays ``alice_remote``);
otherwise (upper case, other characters, too long) it is the closest allowed text plus a short
digest of the id, so two remote users never meet and the name stays recognisable
(``Ünïcode Name`` -> ``irc_unicode-name-k3q9rd``). A name taken by a real user gets the digest too.
The username chosen is stored, so it never changes afterwards, whatever the rules.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import unicodedata

from ...appservice import AppServiceAPI, IntentAPI, PuppetConflictError, PuppetNamespace
from ...db import Database
from ...errors import ValidationError

log = logging.getLogger("mmbridge.ghosts")

#: Mattermost's longest username.
MAX_USERNAME = 64
_NOT_ALLOWED = re.compile(r"[^a-z0-9._-]+")
_DIGEST_CHARS = 6


def readable(remote_id: str) -> str:
    """The closest text Mattermost allows in a username: accents dropped, lower case, other
    characters as ``-`` (may be empty)."""
    decomposed = unicodedata.normalize("NFKD", remote_id)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_ALLOWED.sub("-", ascii_text).strip("-._")


def digest(remote_id: str) -> str:
    """A short, stable digest of a remote id (base32, lower case)."""
    raw = hashlib.blake2b(remote_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return base64.b32encode(raw).decode("ascii").lower()[:_DIGEST_CHARS]


def localpart_candidates(remote_id: str, room: int, hint: str = "") -> list[str]:
    """Localparts to try for ``remote_id`` (named after ``hint`` when given), best first, each at
    most ``room`` characters."""
    name = hint or remote_id
    base = readable(name)
    tagged = f"{base[: max(room - _DIGEST_CHARS - 1, 0)]}-{digest(remote_id)}".lstrip("-")
    if base == name and len(base) <= room:
        return [base, tagged]  # exactly the name; the digest only if someone holds it
    return [tagged, f"{tagged}-2"]


class Ghosts:
    """Remote user id -> the intent of their puppet, created on first use."""

    def __init__(self, appservice: AppServiceAPI, db: Database, bridge_id: str) -> None:
        self.appservice = appservice
        self.db = db
        self.bridge_id = bridge_id
        self._usernames: dict[str, str] = {}

    @property
    def namespace(self) -> PuppetNamespace:
        """The bridge's username template."""
        return self.appservice.namespace

    async def username_of(self, remote_id: str) -> str | None:
        """The username given to ``remote_id``'s puppet, or None before its first use."""
        known = self._usernames.get(remote_id)
        if known is not None:
            return known
        value = await self.db.fetchval(
            "SELECT username FROM mmbridge_ghost WHERE bridge_id = $1 AND remote_id = $2",
            self.bridge_id,
            remote_id,
        )
        if value is not None:
            self._usernames[remote_id] = str(value)
        return None if value is None else str(value)

    async def intent(self, remote_id: str, *, hint: str = "") -> IntentAPI:
        """The puppet of ``remote_id``, registered (user, token) the first time, then named after
        ``hint`` if given (see :func:`localpart_candidates`)."""
        username = await self.username_of(remote_id)
        if username is not None:
            return self.appservice.intent(username=username)
        template = self.namespace.template
        room = MAX_USERNAME - (len(template) - len("{localpart}"))
        for localpart in localpart_candidates(remote_id, room, hint):
            try:
                username = self.namespace.username_for(localpart)
            except ValidationError:
                continue
            if await self._taken_by_another(username, remote_id):
                continue
            intent = self.appservice.intent(username=username)
            try:
                await intent.ensure_registered()
            except PuppetConflictError:
                log.info("@%s is a real user's; the puppet of %r gets another name", username, remote_id)
                continue
            await self.db.execute(
                "INSERT INTO mmbridge_ghost (bridge_id, remote_id, username) VALUES ($1, $2, $3) "
                "ON CONFLICT (bridge_id, remote_id) DO NOTHING",
                self.bridge_id,
                remote_id,
                username,
            )
            self._usernames[remote_id] = username
            return intent
        raise PuppetConflictError(f"no username left for the remote user {remote_id!r}")

    async def _taken_by_another(self, username: str, remote_id: str) -> bool:
        owner = await self.db.fetchval(
            "SELECT remote_id FROM mmbridge_ghost WHERE bridge_id = $1 AND username = $2",
            self.bridge_id,
            username,
        )
        return owner is not None and owner != remote_id

    async def remote_id_of(self, user_id: str) -> str | None:
        """The remote user a Mattermost puppet stands for (None for anyone else)."""
        record = await self.appservice.store.get_puppet(user_id)
        if record is None:
            return None
        value = await self.db.fetchval(
            "SELECT remote_id FROM mmbridge_ghost WHERE bridge_id = $1 AND username = $2",
            self.bridge_id,
            record.username,
        )
        return None if value is None else str(value)
