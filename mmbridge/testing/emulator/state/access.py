"""Sessions and personal access tokens: their lifetimes, revocation and device ids."""

from __future__ import annotations

from ..events import EventBus
from ..ids import IdGenerator, now_ms
from ..models import AccessToken, Session
from ..settings import EmulatorSettings
from .users import UserState

#: ``ServiceSettings.SessionLengthWebInHours`` and ``SessionLengthMobileInHours`` (both 720).
SESSION_LENGTH_MS = 720 * 60 * 60 * 1000
#: ``model.SessionUserAccessTokenExpiryHours``: 100 years.
ACCESS_TOKEN_SESSION_MS = 100 * 365 * 24 * 60 * 60 * 1000


class AccessState(UserState):
    """Sessions as ``model.Session`` records (ids, expiry, props) and what revokes them."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        # Session ids and CSRF tokens come from a generator of their own, so that a seeded
        # emulator still makes the same accounts, tokens and channels as before sessions had ids.
        seed = settings.seed
        self._session_ids = IdGenerator(None if seed is None else seed ^ 0x5E55)

    def login_session(self, user_id: str) -> Session:
        """A login session, with the props ``DoLogin`` gives it."""
        session = super().login_session(user_id)
        self._fill_session(session, SESSION_LENGTH_MS)
        session.props.update({"csrf": self._session_ids.new_id(), "is_guest": "false"})
        return session

    def add_token(self, user_id: str, description: str) -> AccessToken:
        """A personal access token and the session behind it."""
        token = super().add_token(user_id, description)
        self._token_session(token)
        return token

    def _fill_session(self, session: Session, length_ms: int) -> None:
        session.id = session.id or self._session_ids.new_id()
        session.create_at = session.create_at or now_ms()
        session.last_activity_at = session.create_at
        session.expires_at = session.create_at + length_ms
        user = self.users.get(session.user_id)
        session.roles = user.roles if user is not None else ""

    def _token_session(self, token: AccessToken) -> Session:
        """(Re)create the session of an access token, as ``createSessionForUserAccessToken`` does
        on the token's next use after its session was revoked."""
        session = Session(token=token.token, user_id=token.user_id, token_id=token.id)
        self._fill_session(session, ACCESS_TOKEN_SESSION_MS)
        user = self.users.get(token.user_id)
        session.props = {"user_access_token_id": token.id, "type": "UserAccessToken", "is_guest": "false"}
        if user is not None and user.is_bot:
            session.props["is_bot"] = "true"
        self.sessions[token.token] = session
        return session

    def sessions_of(self, user_id: str) -> list[Session]:
        """A user's sessions, most recently active first (``GetSessions``)."""
        found = [s for s in self.sessions.values() if s.user_id == user_id]
        return sorted(found, key=lambda s: s.last_activity_at, reverse=True)

    def session_by_id(self, session_id: str) -> Session | None:
        """A session by its id (not its token)."""
        return next((s for s in self.sessions.values() if s.id == session_id), None)

    def revoke_session(self, session: Session) -> None:
        """Delete a session. An access token outlives its session: the server makes a new one on
        the token's next use, which the emulator does at once so the token keeps working."""
        self.sessions.pop(session.token, None)
        token = self.tokens.get(session.token_id) if session.token_id else None
        if token is not None and token.is_active:
            self._token_session(token)

    def revoke_all_sessions(self, user_id: str) -> None:
        """``RevokeAllSessions``: every session of one user."""
        for session in self.sessions_of(user_id):
            self.revoke_session(session)

    def revoke_sessions_of_all_users(self) -> None:
        """``RevokeSessionsFromAllUsers``: every session of every user."""
        for session in list(self.sessions.values()):
            self.revoke_session(session)

    def attach_device_id(self, session: Session, device_id: str) -> None:
        """Attach a mobile device id: other sessions of that user on the device are revoked and
        the session now expires after the mobile session length."""
        for other in self.sessions_of(session.user_id):
            if other.device_id == device_id and other.id != session.id:
                self.revoke_session(other)
        session.device_id = device_id
        session.expires_at = now_ms() + SESSION_LENGTH_MS

    def set_token_active(self, token: AccessToken, active: bool) -> None:
        """Disable (its session is revoked) or enable (it works again) an access token."""
        token.is_active = active
        if active:
            if token.token not in self.sessions:
                self._token_session(token)
        else:
            self.sessions.pop(token.token, None)
