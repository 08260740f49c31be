"""The built-in roles and what they grant, as a fresh Mattermost server has them.

Only the permissions the emulator's own checks correspond to are listed (the real lists are
longer); ``system_admin`` holds all of them, like the real one holds every permission. The
emulator decides access by "system admin or not" (see :mod:`.auth`), which these lists agree with:
no role but ``system_admin`` has ``manage_system`` or ``edit_other_users``.
"""

from __future__ import annotations

from types import MappingProxyType

_SYSTEM_USER = (
    "create_direct_channel",
    "create_group_channel",
    "create_team",
    "list_public_teams",
    "join_public_teams",
    "view_members",
    "create_emojis",
    "delete_emojis",
)
_SYSTEM_USER_ACCESS_TOKEN = ("create_user_access_token", "read_user_access_token", "revoke_user_access_token")
_TEAM_USER = (
    "list_team_channels",
    "join_public_channels",
    "read_public_channel",
    "view_team",
    "create_public_channel",
    "create_private_channel",
    "invite_user",
    "add_user_to_team",
)
_TEAM_ADMIN = (
    "edit_others_posts",
    "remove_user_from_team",
    "manage_team",
    "manage_team_roles",
    "manage_channel_roles",
    "manage_own_outgoing_webhooks",
    "manage_others_outgoing_webhooks",
    "manage_own_incoming_webhooks",
    "manage_others_incoming_webhooks",
    "manage_own_slash_commands",
    "manage_others_slash_commands",
    "delete_post",
    "delete_others_posts",
)
_CHANNEL_USER = (
    "read_channel",
    "add_reaction",
    "remove_reaction",
    "manage_public_channel_members",
    "manage_private_channel_members",
    "upload_file",
    "get_public_link",
    "create_post",
    "use_slash_commands",
    "delete_post",
    "edit_post",
)
_CHANNEL_ADMIN = ("manage_channel_roles", "use_group_mentions")
_ADMIN_ONLY = (
    "manage_system",
    "manage_roles",
    "edit_other_users",
    "create_bot",
    "read_bots",
    "read_others_bots",
    "manage_bots",
    "manage_others_bots",
    "assign_bot",
    "remove_others_reactions",
)

BUILT_IN_ROLES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "system_user": _SYSTEM_USER,
        "system_user_access_token": _SYSTEM_USER_ACCESS_TOKEN,
        "system_admin": tuple(
            dict.fromkeys(
                _SYSTEM_USER
                + _SYSTEM_USER_ACCESS_TOKEN
                + _TEAM_USER
                + _TEAM_ADMIN
                + _CHANNEL_USER
                + _CHANNEL_ADMIN
                + _ADMIN_ONLY
            )
        ),
        "team_user": _TEAM_USER,
        "team_admin": _TEAM_ADMIN,
        "channel_user": _CHANNEL_USER,
        "channel_admin": _CHANNEL_ADMIN,
    }
)
"""Role name -> the permissions it grants."""

#: Stable ids of the built-in roles (a real server makes random ones at first start).
ROLE_IDS: MappingProxyType[str, str] = MappingProxyType(
    {name: (name.replace("_", "") + "role" * 7)[:26] for name in BUILT_IN_ROLES}
)


def has_system_permission(roles: str, permission: str) -> bool:
    """Whether any of the space-separated system ``roles`` grants ``permission``."""
    return any(permission in BUILT_IN_ROLES.get(role, ()) for role in roles.split())


def role_json(name: str) -> dict[str, object]:
    """The Role JSON of a built-in role."""
    return {
        "id": ROLE_IDS[name],
        "name": name,
        "display_name": "authentication.roles." + name + ".name",
        "description": "authentication.roles." + name + ".description",
        "create_at": 0,
        "update_at": 0,
        "delete_at": 0,
        "permissions": list(BUILT_IN_ROLES[name]),
        "scheme_managed": name not in ("system_user_access_token",),
        "built_in": True,
    }


#: ``model.NewSystemRoleIDs``: assignable only with a license (``CustomPermissionsSchemes``).
LICENSED_SYSTEM_ROLES = frozenset(
    {"system_user_manager", "system_read_only_admin", "system_manager", "system_custom_group_admin"}
)
_ROLE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def is_valid_role_name(name: str) -> bool:
    """``model.IsValidRoleName``: 1-64 of ``[a-z0-9_]``."""
    return 0 < len(name) <= 64 and set(name) <= _ROLE_NAME_CHARS
