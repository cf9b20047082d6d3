"""How the model's Nova reaches Glance and Cinder: the caller's token, endpoints from the token's catalog.

Nova calls Glance and Cinder with the user's token from the request context, and finds them in the
service catalog keystonemiddleware hands it (``X-Service-Catalog``), unless nova.conf overrides the
endpoint (``[glance] endpoint_override`` on DCN computes). The model does the same, with plain
HTTP (urllib), so it needs nothing beyond the standard library in the OpenStack venv. Tokens are
``Secret`` values and never logged.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dcn_checks.cephx import Secret
from dcn_checks.errors import LabError
from dcn_checks.lab.nova.conf import ServiceUser

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0
_CHUNK = 1024 * 1024


class ApiError(LabError):
    """A service answered with an HTTP error; ``status`` and the service's own ``message``."""

    def __init__(self, what: str, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{what}: HTTP {status}: {message}")


def error_message(body: str) -> str:
    """The human part of an OpenStack error body.

    Cinder/Nova send ``{"badRequest": {"message": "...", "code": 400}}``; Glance sends webob's
    HTML/text page (``400 Bad Request\\n\\nImage is already present at store 'dcn0'\\n\\n``).
    """
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
        if "message" in data:
            return str(data["message"])
    text = re.sub(r"<[^>]+>", " ", body)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else body.strip()


def find_endpoint(
    catalog: Sequence[Mapping[str, Any]],
    service_type: str,
    interfaces: Sequence[str] = ("internal", "public"),
    region: str | None = None,
) -> str | None:
    """The first URL of ``service_type`` for the first matching interface, or None.

    keystonemiddleware hands the catalog on in v2 form (``{"publicURL": ..., "internalURL": ...}``
    per endpoint); a v3 catalog (``{"interface": "internal", "url": ...}``) is read too.
    """
    for interface in interfaces:
        for service in catalog:
            if service.get("type") != service_type:
                continue
            for endpoint in service.get("endpoints", []):
                if region is not None and endpoint.get("region") != region:
                    continue
                url = endpoint.get(f"{interface}URL")
                if url is None and endpoint.get("interface") == interface:
                    url = endpoint.get("url")
                if url:
                    return str(url).rstrip("/")
    return None


@dataclass(frozen=True, slots=True)
class ServiceClient:
    """JSON over HTTP to one service endpoint, authenticated with a token."""

    base_url: str
    token: Secret = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = TIMEOUT_S

    def _request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> urllib.request.Request:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("X-Auth-Token", self.token.reveal())
        request.add_header("Accept", "application/json")
        for key, value in {**self.headers, **headers}.items():
            request.add_header(key, value)
        return request

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send ``body`` as JSON; return the decoded JSON answer (None when empty). Raise ApiError."""
        data = None if body is None else json.dumps(body).encode()
        extra = dict(headers or {})
        if data is not None:
            extra.setdefault("Content-Type", content_type)
        request = self._request(method, path, data, extra)
        log.debug("%s %s", method, request.full_url)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            raise ApiError(f"{method} {path}", err.code, error_message(text)) from None
        except (urllib.error.URLError, OSError) as err:
            raise ApiError(f"{method} {path}", 0, f"unreachable: {err}") from None
        return json.loads(raw) if raw.strip() else None

    def download(self, path: str, target: Path) -> int:
        """Stream ``path`` into ``target``; return the bytes written."""
        request = self._request("GET", path, None, {"Accept": "application/octet-stream"})
        written = 0
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response, target.open("wb") as out:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
        except urllib.error.HTTPError as err:
            raise ApiError(f"GET {path}", err.code, error_message(err.read().decode(errors="replace"))) from None
        return written


class ServiceTokens:
    """Tokens of Nova's ``[service_user]``, by password auth against Keystone, reused until near expiry."""

    def __init__(self, user: ServiceUser, *, margin_s: float = 300.0) -> None:
        self.user = user
        self.margin_s = margin_s
        self._token: Secret | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def token(self) -> Secret:
        with self._lock:
            if self._token is None or time.time() > self._expires - self.margin_s:
                self._token, self._expires = self._issue()
            return self._token

    def _issue(self) -> tuple[Secret, float]:
        auth_url = self.user.auth_url.rstrip("/")
        if not auth_url.endswith("/v3"):
            auth_url += "/v3"
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.user.username,
                            "domain": {"name": self.user.user_domain_name},
                            "password": self.user.password.reveal(),
                        }
                    },
                },
                "scope": {
                    "project": {"name": self.user.project_name, "domain": {"name": self.user.project_domain_name}}
                },
            }
        }
        request = urllib.request.Request(f"{auth_url}/auth/tokens", data=json.dumps(body).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                token = response.headers["X-Subject-Token"]
                data = json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise ApiError("service user token", err.code, error_message(err.read().decode(errors="replace"))) from None
        expires = datetime.fromisoformat(str(data["token"]["expires_at"]).replace("Z", "+00:00")).timestamp()
        log.info("service token for %s issued", self.user.username)
        return Secret(token), expires
