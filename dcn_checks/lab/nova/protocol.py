"""The protocol of the model's Compute API: a parsed request, a reply, errors in Nova's fault format.

Nova answers an error as ``{"<kind>": {"code": <status>, "message": "<text>"}}`` (``badRequest``,
``itemNotFound``, ``conflictingRequest``...); clients print that message, so the handlers raise
``HttpError`` with Nova's own text and the application turns it into that body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dcn_checks.lab.nova.context import RequestContext
from dcn_checks.lab.nova.records import Server
from dcn_checks.lab.nova.views import Version

#: A handler's answer: status, JSON body (None for none), extra headers.
Reply = tuple[int, Any, list[tuple[str, str]]]

FAULT_KEYS = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 406: "notAcceptable", 409: "conflictingRequest"}


class HttpError(Exception):
    """An error answer in Nova's fault format: ``{"badRequest": {"code": 400, "message": "..."}}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One parsed request."""

    method: str
    path: str
    ctx: RequestContext
    version: Version
    query: Mapping[str, list[str]]
    body: Any
    base_url: str

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


def ok(body: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Reply:
    """A successful reply."""
    return status, body, headers or []


def invalid_state(action: str, server: Server, attr: str = "vm_state") -> HttpError:
    """``InstanceInvalidState`` (409): the action is not allowed in the server's current state."""
    state = server.vm_state if attr == "vm_state" else server.task_state
    return HttpError(409, f"Cannot '{action}' instance {server.id} while it is in {attr} {state}")


def require_admin(req: ApiRequest, rule: str) -> None:
    """Nova's default policy for admin APIs (aggregates, services, flavor management)."""
    if not req.ctx.is_admin:
        raise HttpError(403, f"Policy doesn't allow {rule} to be performed.")


def tail(ref: str) -> str:
    """The ID at the end of a reference that may be a URL (``flavorRef``, ``imageRef``)."""
    return ref.rstrip("/").rsplit("/", 1)[-1]


def as_bool(value: object) -> bool:
    """A boolean from JSON or a query string (``"true"``, ``True``, ``1``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
