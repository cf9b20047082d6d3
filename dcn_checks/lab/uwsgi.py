"""Running an OpenStack WSGI API (Keystone, Glance, later Cinder) under uwsgi in the lab.

Keystone 30 and Glance 33 ship no standalone server any more, only WSGI applications, so the lab
serves them with uwsgi from the OpenStack venv: one master, one worker with 4 threads, bound to
127.0.0.1 at an allocated port. The master runs in the foreground as our child (no ``daemonize``),
so its PID is the one the state file records, and ``die-on-term`` makes TERM a shutdown rather
than uwsgi's default "brutal reload".
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dcn_checks.lab import processes
from dcn_checks.lab.nodes import BindMount
from dcn_checks.lab.processes import ProcessRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UwsgiApp:
    """One WSGI application to serve; ``run_dir`` receives the generated ini and the pidfile."""

    name: str
    module: str
    port: int
    venv: Path
    run_dir: Path
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ini_path(self) -> Path:
        return self.run_dir / f"{self.name}.uwsgi.ini"


def render_ini(app: UwsgiApp) -> str:
    """The uwsgi ini for ``app``.

    ``need-app`` makes uwsgi exit when the application fails to import, so a broken config fails
    the readiness wait at once instead of serving 500s. ``lazy-apps`` loads the app in the worker,
    after the fork, as the OpenStack services expect.
    """
    lines = [
        "[uwsgi]",
        f"http-socket = 127.0.0.1:{app.port}",
        f"module = {app.module}",
        f"virtualenv = {app.venv}",
        *(f"env = {key}={value}" for key, value in app.env.items()),
        "master = true",
        "processes = 1",
        "threads = 4",
        "enable-threads = true",
        "lazy-apps = true",
        "die-on-term = true",
        "need-app = true",
        "buffer-size = 65535",
        "add-header = Connection: close",
        "socket-timeout = 30",
        f"pidfile = {app.run_dir / (app.name + '.pid')}",
        f"logto = {app.log_path}",
        *(f"{key} = {value}" for key, value in app.options.items()),
    ]
    return "\n".join(lines) + "\n"


def http_status(url: str, timeout_s: float = 2.0) -> int:
    """GET ``url``; the HTTP status, or an OSError if nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def start_app(
    lab_dir: Path,
    app: UwsgiApp,
    *,
    health_path: str,
    binds: Sequence[BindMount] = (),
    timeout_s: float = 90.0,
) -> ProcessRecord:
    """Write the ini, start uwsgi (on a node if ``binds``) and wait until ``health_path`` answers 200."""
    app.run_dir.mkdir(parents=True, exist_ok=True)
    app.log_path.parent.mkdir(parents=True, exist_ok=True)
    app.ini_path.write_text(render_ini(app))
    record = processes.start(
        lab_dir,
        app.name,
        [str(app.venv / "bin" / "uwsgi"), "--ini", str(app.ini_path)],
        # Same file as ``logto``: both append, so early start-up errors and the app log end up together.
        log_path=app.log_path,
        binds=binds,
        stop_phase=processes.PHASE_SERVICE,
        grace_s=15,
    )
    processes.wait_for_process(
        record,
        lambda: http_status(app.url + health_path),
        lambda status: status == 200,
        timeout_s=timeout_s,
        description=f"{app.name} healthy on {app.url}{health_path}",
        interval_s=0.2,
    )
    return record
