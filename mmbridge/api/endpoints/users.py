"""``/users``: read, search, create, change and (de)activate users."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiohttp

from ...errors import ValidationError
from ...types import User, UserAutocomplete, UserID, UserStatus, structure, structure_list
from .. import validation as check
from .base import EndpointGroup

_PATCHABLE = frozenset(
    {
        "username",
        "email",
        "nickname",
        "first_name",
        "last_name",
        "position",
        "locale",
        "props",
        "notify_props",
        "timezone",
        "remote_id",
    }
)
_MAX_IMAGE_BYTES = 50 * 1024 * 1024


class UsersAPI(EndpointGroup):
    """Users: ``GET /users/me``, ``/users/{id}``, ``/users/username/{name}``, search, create, patch."""

    __slots__ = ()

    async def me(self) -> User:
        """The user this API's token belongs to."""
        return structure(await self.http.request("GET", ("users", "me")), User)

    async def get(self, user_id: UserID) -> User:
        """One user by id."""
        check.require_id("user_id", user_id)
        return structure(await self.http.request("GET", ("users", user_id)), User)

    async def get_by_username(self, username: str) -> User:
        """One user by username (matched without regard to case, as the server stores it)."""
        name = check.require_username("username", username)
        return structure(await self.http.request("GET", ("users", "username", name)), User)

    async def get_by_ids(self, user_ids: Iterable[UserID]) -> list[User]:
        """Several users at once; ids that do not exist are left out of the answer."""
        ids = check.require_ids("user_ids", user_ids)
        data = await self.http.request("POST", ("users", "ids"), json_body=ids, idempotent=True)
        return structure_list(data, User)

    async def search(
        self,
        term: str,
        *,
        team_id: str = "",
        in_channel_id: str = "",
        not_in_channel_id: str = "",
        allow_inactive: bool = False,
        limit: int = 100,
    ) -> list[User]:
        """Users whose username, names, nickname or email start with ``term``."""
        check.require_text("term", term, maximum=64, allow_empty=False)
        if not 1 <= limit <= 1000:
            raise ValidationError("limit", "must be from 1 to 1000")
        body: dict[str, Any] = {"term": term, "allow_inactive": allow_inactive, "limit": limit}
        for field, value in (
            ("team_id", team_id),
            ("in_channel_id", in_channel_id),
            ("not_in_channel_id", not_in_channel_id),
        ):
            if value:
                body[field] = check.require_id(field, value)
        data = await self.http.request("POST", ("users", "search"), json_body=body, idempotent=True)
        return structure_list(data, User)

    async def get_by_email(self, email: str) -> User:
        """One user by email address."""
        address = _require_email(email)
        return structure(await self.http.request("GET", ("users", "email", address)), User)

    async def get_by_usernames(self, usernames: Iterable[str]) -> list[User]:
        """Several users by username; names that do not exist are left out of the answer."""
        if isinstance(usernames, str):
            raise ValidationError("usernames", "expected a list of usernames, got a single string")
        names = list(dict.fromkeys(check.require_username("usernames", u) for u in usernames))
        if not names:
            raise ValidationError("usernames", "needs at least one username")
        data = await self.http.request("POST", ("users", "usernames"), json_body=names, idempotent=True)
        return structure_list(data, User)

    async def autocomplete(
        self, name: str, *, team_id: str = "", channel_id: str = "", limit: int = 100
    ) -> UserAutocomplete:
        """Users whose names start with ``name``, as the mention box suggests them."""
        check.require_text("name", name, maximum=64)
        if not 1 <= limit <= 100:
            raise ValidationError("limit", "must be from 1 to 100")
        params: dict[str, str | int] = {"name": name, "limit": limit}
        if team_id:
            params["in_team"] = check.require_id("team_id", team_id)
        if channel_id:
            params["in_channel"] = check.require_id("channel_id", channel_id)
        data = await self.http.request("GET", ("users", "autocomplete"), params=params)
        return structure(data, UserAutocomplete)

    async def get_statuses(self, user_ids: Iterable[UserID]) -> list[UserStatus]:
        """The presence of several users at once."""
        ids = check.require_ids("user_ids", user_ids)
        data = await self.http.request("POST", ("users", "status", "ids"), json_body=ids, idempotent=True)
        return structure_list(data, UserStatus)

    async def create(
        self,
        username: str,
        email: str,
        password: str,
        *,
        first_name: str = "",
        last_name: str = "",
        nickname: str = "",
        props: dict[str, str] | None = None,
    ) -> User:
        """Create a user (an admin token skips sign-up restrictions). Not retried: not idempotent."""
        body: dict[str, Any] = {
            "username": check.require_username("username", username),
            "email": _require_email(email),
            "password": check.require_text("password", password, maximum=72, allow_empty=False),
        }
        for field, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("nickname", nickname),
        ):
            if value:
                body[field] = check.require_text(field, value, maximum=64)
        if props:
            body["props"] = props
        return structure(await self.http.request("POST", ("users",), json_body=body), User)

    async def patch(self, user_id: UserID, **fields: Any) -> User:
        """Change some of a user's fields (``nickname=...``, ``first_name=...``, ``props=...``)."""
        check.require_id("user_id", user_id)
        unknown = set(fields) - _PATCHABLE
        if unknown:
            raise ValidationError(", ".join(sorted(unknown)), "is not a field a user patch may change")
        if not fields:
            raise ValidationError("fields", "nothing to change")
        if "username" in fields:
            fields["username"] = check.require_username("username", fields["username"])
        if "email" in fields:
            fields["email"] = _require_email(fields["email"])
        for name in ("nickname", "first_name", "last_name"):
            if name in fields:
                check.require_text(name, fields[name], maximum=64)
        data = await self.http.request("PUT", ("users", user_id, "patch"), json_body=fields)
        return structure(data, User)

    async def update_active(self, user_id: UserID, active: bool) -> None:
        """Activate or deactivate a user (deactivation revokes its sessions and tokens)."""
        check.require_id("user_id", user_id)
        await self.http.request("PUT", ("users", user_id, "active"), json_body={"active": active})

    async def set_profile_image(
        self, user_id: UserID, image: bytes, *, filename: str = "avatar.png", content_type: str = ""
    ) -> None:
        """Upload a profile picture (PNG, JPEG, GIF or BMP bytes)."""
        check.require_id("user_id", user_id)
        if not image:
            raise ValidationError("image", "is empty")
        if len(image) > _MAX_IMAGE_BYTES:
            raise ValidationError("image", f"is {len(image)} bytes; the limit is {_MAX_IMAGE_BYTES}")

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("image", image, filename=filename, content_type=content_type or None)
            return data

        await self.http.request("POST", ("users", user_id, "image"), payload=form, idempotent=True)

    async def publish_typing(self, user_id: UserID, channel_id: str, *, parent_id: str = "") -> None:
        """Show ``user_id`` (the caller, or anyone for an admin) as typing in a channel or thread."""
        check.require_id("user_id", user_id)
        body = {"channel_id": check.require_id("channel_id", channel_id)}
        if parent_id:
            body["parent_id"] = check.require_id("parent_id", parent_id)
        await self.http.request("POST", ("users", user_id, "typing"), json_body=body, idempotent=True)

    async def get_status(self, user_id: UserID) -> UserStatus:
        """A user's presence."""
        check.require_id("user_id", user_id)
        return structure(await self.http.request("GET", ("users", user_id, "status")), UserStatus)

    async def update_status(self, user_id: UserID, status: str) -> UserStatus:
        """Set a presence by hand: ``online``, ``away``, ``dnd`` or ``offline`` (self, or anyone
        for an admin). Bridges use it to mirror a remote user's presence on its puppet."""
        check.require_id("user_id", user_id)
        check.require_choice("status", status, ("online", "away", "dnd", "offline"))
        data = await self.http.request(
            "PUT", ("users", user_id, "status"), json_body={"user_id": user_id, "status": status}
        )
        return structure(data, UserStatus)

    async def get_profile_image(self, user_id: UserID) -> bytes:
        """The user's profile picture as bytes (the server draws a default one if none was set)."""
        check.require_id("user_id", user_id)
        response = await self.http.request_raw("GET", ("users", user_id, "image"))
        return response.body

    async def list(
        self,
        *,
        page: int = 0,
        per_page: int = 60,
        in_team: str = "",
        not_in_team: str = "",
        in_channel: str = "",
        not_in_channel: str = "",
        without_team: bool = False,
        active: bool | None = None,
        role: str = "",
        sort: str = "",
    ) -> list[User]:
        """A page of users (``GET /users``), filtered as the server filters them.

        ``active=True``/``False`` keeps only active/deactivated accounts; ``sort`` is
        ``last_activity_at`` or ``create_at`` with ``in_team``, ``status`` with ``in_channel``.
        """
        check.require_page(page, per_page)
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        for field, value in (
            ("in_team", in_team),
            ("not_in_team", not_in_team),
            ("in_channel", in_channel),
            ("not_in_channel", not_in_channel),
        ):
            if value:
                params[field] = check.require_id(field, value)
        if without_team:
            params["without_team"] = "true"
        if active is not None:
            params["active" if active else "inactive"] = "true"
        if role:
            params["role"] = role
        if sort:
            params["sort"] = check.require_choice("sort", sort, ("last_activity_at", "create_at", "status"))
        return structure_list(await self.http.request("GET", ("users",), params=params), User)


def _require_email(email: str) -> str:
    if not isinstance(email, str) or "@" not in email or len(email) > 128 or " " in email:
        raise ValidationError("email", "must be a bare address of at most 128 characters")
    return email.lower()
