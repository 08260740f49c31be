"""Interactive dialogs: submissions and dynamic lookups are POSTed to the dialog's URL.

Follows ``SubmitInteractiveDialog`` and ``LookupInteractiveDialog`` of
``server/channels/app/post_action.go``; opening a dialog is ``State.open_dialog``.
"""

from __future__ import annotations

from typing import Any

from ..errors import AppError
from ..models import loads
from .actions import PostActions


def _decode_error(operation: str) -> AppError:
    """500 ``app.<operation>_interactive_dialog.decode_json_error``: the answer is not JSON."""
    return AppError(
        500,
        f"app.{operation}_interactive_dialog.decode_json_error",
        "Encountered an error decoding JSON response from interactive dialog.",
    )


class Dialogs(PostActions):
    """Calls to the URLs of interactive dialogs (through ``DoActionRequest``, as actions)."""

    async def submit_dialog(self, url: str, submission: dict[str, Any]) -> dict[str, Any]:
        """``SubmitInteractiveDialog``: POST the submission; the answer's ``error``/``errors``."""
        answer = await self.action_request("dialog_submit", url, submission)
        result: dict[str, Any] = {}
        if answer.body:
            try:
                parsed = loads(answer.body)
            except (ValueError, UnicodeDecodeError):
                raise _decode_error("submit") from None
            if isinstance(parsed, dict):
                if parsed.get("error"):
                    result["error"] = parsed["error"]
                if parsed.get("errors"):
                    result["errors"] = parsed["errors"]
        return result

    async def lookup_dialog(self, url: str, request: dict[str, Any]) -> dict[str, Any]:
        """``LookupInteractiveDialog``: POST the request (``type: dialog_lookup``); its ``items``."""
        answer = await self.action_request("dialog_lookup", url, dict(request, type="dialog_lookup"))
        if not answer.body:
            return {"items": None}
        try:
            parsed = loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            raise _decode_error("lookup") from None
        if not isinstance(parsed, dict):
            raise _decode_error("lookup")
        items = parsed.get("items")
        if items is not None and not isinstance(items, list):
            raise _decode_error("lookup")
        options = [
            {"text": str(item.get("text") or ""), "value": str(item.get("value") or "")}
            for item in items or []
            if isinstance(item, dict)
        ]
        return {"items": options if items is not None else None}
