"""The model's process: one uwsgi serving ``dcn_checks.lab.nova.wsgi:application`` from the OpenStack venv.

It runs as nova-api would, on the Controller, reading the Controller's rendered nova.conf; the
dcn_checks source directory is put on its ``PYTHONPATH`` (the model needs only the standard library,
keystonemiddleware and dcn_checks modules that need nothing more). It is recorded in the lab's
state file like every other daemon, so ``lab down`` stops it by PID. Its compute work runs rbd and
ceph commands "on" the compute nodes, each a short-lived child that dies with it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import dcn_checks
from dcn_checks.errors import LabError
from dcn_checks.lab import processes, uwsgi
from dcn_checks.lab.nova import wsgi
from dcn_checks.release import ReleaseName

log = logging.getLogger(__name__)

PROCESS_NAME = "nova-api"


@dataclass(frozen=True, slots=True)
class NovaSite:
    """What the model needs to start: the Controller's nova.conf, its port, the node roots, the Ceph
    dir, and the release whose Nova it plays."""

    config_file: Path
    port: int
    nodes_dir: Path
    ceph_config_host_dir: str
    release: ReleaseName


@dataclass(frozen=True, slots=True)
class NovaProcess:
    """The running model."""

    url: str
    port: int
    pid: int
    log_path: Path


def uwsgi_app(lab_dir: Path, venv: Path, site: NovaSite) -> uwsgi.UwsgiApp:
    run_dir = lab_dir / "nova"
    source_dir = Path(dcn_checks.__file__).resolve().parent.parent
    return uwsgi.UwsgiApp(
        name=PROCESS_NAME,
        module="dcn_checks.lab.nova.wsgi:application",
        port=site.port,
        venv=venv,
        run_dir=run_dir,
        log_path=run_dir / "uwsgi.log",
        env={
            wsgi.ENV_API_CONF: str(site.config_file),
            wsgi.ENV_NODES_DIR: str(site.nodes_dir),
            wsgi.ENV_CEPH_DIR: site.ceph_config_host_dir,
            wsgi.ENV_RELEASE: site.release,
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        },
        options={"pythonpath": str(source_dir)},
    )


def start_nova(lab_dir: Path, venv: Path, site: NovaSite, *, timeout_s: float = 60) -> NovaProcess:
    """Start the model and wait until its version document answers."""
    if not site.config_file.is_file():
        raise LabError(f"{site.config_file} missing: render the Controller's nova.conf first")
    processes.stop(lab_dir, PROCESS_NAME)
    app = uwsgi_app(lab_dir, venv, site)
    started = time.monotonic()
    record = uwsgi.start_app(lab_dir, app, health_path="/v2.1", timeout_s=timeout_s)
    log.info("nova model healthy on %s in %.1fs", app.url, time.monotonic() - started)
    return NovaProcess(url=app.url, port=site.port, pid=record.pid, log_path=app.log_path)


def stop_nova(lab_dir: Path) -> None:
    processes.stop(lab_dir, PROCESS_NAME)
