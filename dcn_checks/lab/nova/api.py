"""The model's Compute v2.1 API as one WSGI application: microversions, routing, Nova's error format.

Served under ``/v2.1`` behind keystonemiddleware (see ``wsgi``): the server requests
(``servers_api``) and the inventory (``inventory_api``), the subset openstacksdk and the
``openstack`` CLI use for the DCN flows. Microversions 2.1 to ``views.MAX_VERSION`` are accepted
(``OpenStack-API-Version: compute X.Y``) and echoed as Nova does. Version discovery (``/`` and
``/v2.1``) needs no token. Plain WSGI with the standard library: the model needs no web framework.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any
from urllib.parse import parse_qs

from dcn_checks.lab.nova import views
from dcn_checks.lab.nova.compute import Compute
from dcn_checks.lab.nova.conf import NovaConf
from dcn_checks.lab.nova.context import RequestContext, context_from_environ
from dcn_checks.lab.nova.inventory_api import InventoryApi
from dcn_checks.lab.nova.protocol import FAULT_KEYS, ApiRequest, HttpError, Reply
from dcn_checks.lab.nova.servers_api import ServersApi
from dcn_checks.lab.nova.service_client import ApiError, ServiceTokens
from dcn_checks.lab.nova.state import NovaState
from dcn_checks.lab.nova.views import Version

log = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    500: "Internal Server Error",
}


class NovaApi:
    """The authenticated part of the API (behind keystonemiddleware)."""

    def __init__(self, *, state: NovaState, compute: Compute, conf: NovaConf, executor: Executor) -> None:
        self.state = state
        self.compute = compute
        self.conf = conf
        self.executor = executor
        self.service_tokens = ServiceTokens(conf.service_user) if conf.service_user else None
        self.servers = ServersApi(state=state, compute=compute, conf=conf, submit=self._submit)
        self.inventory = InventoryApi(state=state, conf=conf)
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            (method, re.compile(f"^{pattern}/?$"), handler)
            for method, pattern, handler in (*self.servers.routes(), *self.inventory.routes())
        ]

    # --- WSGI -------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        request_id = f"req-{uuid.uuid4()}"
        version = views.MIN_VERSION
        try:
            try:
                version = views.requested_version(environ)
            except ValueError:
                raise HttpError(400, "Invalid microversion header") from None
            if not views.MIN_VERSION <= version <= views.MAX_VERSION:
                raise HttpError(
                    406,
                    f"Version {views.version_text(version)} is not supported by the API. Minimum is "
                    f"{views.version_text(views.MIN_VERSION)} and maximum is {views.version_text(views.MAX_VERSION)}.",
                )
            status, body, headers = self._dispatch(environ, version)
        except HttpError as err:
            key = FAULT_KEYS.get(err.status, "computeFault")
            status, body, headers = err.status, {key: {"code": err.status, "message": err.message}}, []
        except Exception:
            log.exception("unexpected error in %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            message = "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible."  # noqa: E501
            status, body, headers = 500, {"computeFault": {"code": 500, "message": message}}, []
        payload = b"" if body is None else json.dumps(body).encode()
        shown = views.version_text(version)
        headers = [
            *headers,
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("OpenStack-API-Version", f"compute {shown}"),
            ("X-OpenStack-Nova-API-Version", shown),
            ("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
            ("x-openstack-request-id", request_id),
            ("x-compute-request-id", request_id),
        ]
        start_response(f"{status} {_REASONS.get(status, '')}", headers)
        return [payload]

    def _dispatch(self, environ: dict[str, Any], version: Version) -> Reply:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", ""))
        path = path[len("/v2.1") :] if path.startswith("/v2.1") else path
        raw = b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            raw = environ["wsgi.input"].read(length)
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise HttpError(400, "Malformed request body") from None
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        req = ApiRequest(
            method=method,
            path=path,
            ctx=self._context(environ),
            version=version,
            query=parse_qs(str(environ.get("QUERY_STRING", ""))),
            body=body,
            base_url=f"http://{host}",
        )
        allowed = False
        for route_method, pattern, handler in self.routes:
            match = pattern.match(path)
            if match is None:
                continue
            allowed = True
            if route_method == method:
                return handler(req, **match.groupdict())
        raise HttpError(405 if allowed else 404, "The resource could not be found.")

    def _context(self, environ: Mapping[str, Any]) -> RequestContext:
        """The caller's context, with Nova's service token when ``[service_user]`` asks for it."""
        ctx = context_from_environ(environ)
        if self.service_tokens is None:
            return ctx
        try:
            return dataclasses.replace(ctx, service_token=self.service_tokens.token())
        except ApiError as err:
            log.warning("no service token: %s", err)
            return ctx

    def _submit(self, work: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                work(*args)
            except Exception:
                log.exception("compute work %s failed", getattr(work, "__name__", work))

        self.executor.submit(run)


def version_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """``GET /`` and ``GET /v2.1``: version discovery, without authentication (as in Nova's paste pipeline)."""
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    base = f"http://{host}"
    path = str(environ.get("PATH_INFO", "")).rstrip("/")
    body = views.versions_document(base) if path == "" else views.version_document(base)
    payload = json.dumps(body).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def is_version_request(environ: Mapping[str, Any]) -> bool:
    return str(environ.get("PATH_INFO", "")).rstrip("/") in ("", "/v2.1") and environ.get("REQUEST_METHOD") == "GET"
