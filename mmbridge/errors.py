"""Exceptions raised by mmbridge, built from Mattermost's AppError JSON.

Every error the client raises is a :class:`MattermostError`. Subclasses follow the HTTP status
(and, where the status is ambiguous, the AppError ``id``), so bridge code can write
``except NotFoundError`` instead of comparing numbers. No token or password ever appears in an
error's message or repr: messages come from the server's AppError and the request's path only.
"""

from __future__ import annotations

from collections.abc import Mapping


class MattermostError(Exception):
    """Base of every mmbridge error.

    Attributes:
        status: the HTTP status (0 when no response was received).
        error_id: the AppError ``id`` (an i18n key such as ``api.context.permissions.app_error``).
        message: the AppError ``message``, or a description written by mmbridge.
        request_id: the server's request id (``X-Request-Id``), useful in server logs.
        detailed_error: the AppError ``detailed_error`` (empty unless the server runs in developer mode).
        method, path: the request that failed, when there was one (path only, never the query string).
    """

    status: int = 0

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str = "",
        request_id: str = "",
        detailed_error: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.error_id = error_id
        self.request_id = request_id
        self.detailed_error = detailed_error
        self.method = method
        self.path = path

    def __str__(self) -> str:
        parts = [self.message]
        details = []
        if self.status:
            details.append(f"HTTP {self.status}")
        if self.error_id:
            details.append(self.error_id)
        if self.request_id:
            details.append(f"request {self.request_id}")
        if details:
            parts.append(f"({', '.join(details)})")
        if self.method:
            parts.append(f"[{self.method} {self.path}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ValidationError(MattermostError, ValueError):
    """An argument was refused before any request was sent. ``field`` names the argument."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid {field}: {problem}")
        self.field = field


class MattermostConnectionError(MattermostError):
    """The server could not be reached, or the connection broke before an answer arrived."""


class MalformedResponseError(MattermostError):
    """The server answered with something that is not the JSON it should have sent."""


class ResponseTooLargeError(MalformedResponseError):
    """The server's answer was over the client's size limit, counted after decompression.

    The read stopped at ``limit`` bytes (or at once, when ``Content-Length`` already said more)
    and the connection was closed. Never retried: the same request would get the same answer.
    ``status`` is the answer's HTTP status; ``limit`` the bound in bytes.
    """

    def __init__(self, message: str, *, limit: int, **kwargs: str | int) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.limit = limit


class BadRequestError(MattermostError):
    """HTTP 400: the server refused the request's content."""

    status = 400


class UnauthorizedError(MattermostError):
    """HTTP 401: the token is missing, wrong, revoked or expired."""

    status = 401


class ForbiddenError(MattermostError):
    """HTTP 403: the user lacks the permission for this action."""

    status = 403


class NotFoundError(MattermostError):
    """HTTP 404: the object does not exist, or is hidden from this user."""

    status = 404


class ConflictError(MattermostError):
    """HTTP 409, or an object that already exists (Mattermost mostly reports that as a 400)."""

    status = 409


class AlreadyExistsError(BadRequestError, ConflictError):
    """A create failed because the name is taken (``*.exists.app_error``, ``*_exists.app_error``)."""

    status = 400


class PayloadTooLargeError(MattermostError):
    """HTTP 413: the body or file is over the server's limit."""

    status = 413


class RateLimitedError(MattermostError):
    """HTTP 429, after mmbridge gave up waiting. ``retry_after`` is the server's advice in seconds."""

    status = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: str) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class NotEnabledError(MattermostError):
    """HTTP 501: the feature is switched off in the server's settings (e.g. access tokens)."""

    status = 501


class ServerError(MattermostError):
    """HTTP 5xx: the server failed."""

    status = 500


_BY_STATUS: Mapping[int, type[MattermostError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitedError,
    501: NotEnabledError,
}

# The server answers 500 with this id while a create with the same pending_post_id is in flight.
PENDING_POST_IN_FLIGHT = "api.post.deduplicate_create_post.pending"


def _error_class(status: int, error_id: str) -> type[MattermostError]:
    if status in (400, 409) and ("_exists." in error_id or ".exists." in error_id):
        return AlreadyExistsError
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerError
    if status >= 400:
        return BadRequestError
    return MattermostError


def error_from_response(
    status: int,
    body: bytes,
    *,
    method: str = "",
    path: str = "",
    request_id: str = "",
    retry_after: float | None = None,
) -> MattermostError:
    """Build the exception for an error response, from its AppError JSON when it has one."""
    error_id = ""
    detailed = ""
    message = ""
    # Imported here: mmbridge.types imports this module, and safejson bounds the nesting
    # (json.loads would raise a bare RecursionError on a deeply nested error body).
    from .types.safejson import loads

    try:
        data = loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        error_id = str(data.get("id") or "")
        message = str(data.get("message") or "")
        detailed = str(data.get("detailed_error") or "")
        request_id = str(data.get("request_id") or request_id)
    if not message:
        text = body[:200].decode("utf-8", "replace").strip()
        message = text or f"HTTP {status} with no body"
    cls = _error_class(status, error_id)
    kwargs = {
        "status": status,
        "error_id": error_id,
        "request_id": request_id,
        "detailed_error": detailed,
        "method": method,
        "path": path,
    }
    if cls is RateLimitedError:
        return RateLimitedError(message, retry_after=retry_after, **kwargs)  # type: ignore[arg-type]
    return cls(message, **kwargs)  # type: ignore[arg-type]
