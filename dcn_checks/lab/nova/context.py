"""Who asked: the request context Nova passes from its API to the compute side.

keystonemiddleware validates the token and puts the user, project, roles and the service catalog
in the WSGI environment; Nova turns them into a ``RequestContext`` that travels with the RPC cast
to nova-compute, which calls Glance and Cinder with the same token. The model does the same, so a
build running in a worker thread acts with the rights of the user who asked for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dcn_checks.cephx import Secret


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The caller of one API request."""

    user_id: str
    project_id: str
    roles: tuple[str, ...]
    token: Secret = field(repr=False)
    catalog: Sequence[Mapping[str, Any]] = field(default_factory=tuple, repr=False)
    user_name: str = ""
    project_name: str = ""
    #: Nova's own ``[service_user]`` token, sent along as ``X-Service-Token`` (None when not configured).
    service_token: Secret | None = field(default=None, repr=False)

    def service_headers(self) -> dict[str, str]:
        """``X-Service-Token`` for calls to Cinder and Glance, as Nova sends it."""
        return {} if self.service_token is None else {"X-Service-Token": self.service_token.reveal()}

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def context_from_environ(environ: Mapping[str, Any]) -> RequestContext:
    """Build the context from the headers keystonemiddleware set (``HTTP_X_USER_ID`` etc.)."""
    catalog_header = environ.get("HTTP_X_SERVICE_CATALOG") or "[]"
    try:
        catalog = json.loads(catalog_header)
    except ValueError:
        catalog = []
    roles = tuple(role.strip() for role in str(environ.get("HTTP_X_ROLES", "")).split(",") if role.strip())
    return RequestContext(
        user_id=str(environ.get("HTTP_X_USER_ID", "")),
        project_id=str(environ.get("HTTP_X_PROJECT_ID", "")),
        roles=roles,
        token=Secret(str(environ.get("HTTP_X_AUTH_TOKEN", ""))),
        catalog=tuple(catalog) if isinstance(catalog, list) else (),
        user_name=str(environ.get("HTTP_X_USER_NAME", "")),
        project_name=str(environ.get("HTTP_X_PROJECT_NAME", "")),
    )
