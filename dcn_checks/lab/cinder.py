"""Cinder processes of the lab: the block storage of a DCN deployment, one volume service per site.

Where each process runs, as in TripleO DCN: cinder-api and cinder-scheduler on the central
controller, and one cinder-volume per site on the site's first node with a cinder-volume role (the
central controller runs one too, under pacemaker in TripleO). Each reads the cinder.conf rendered
for its node (:mod:`dcn_checks.lab.render_cinder`) and runs in that node's mount namespace, so the
RBD driver opens the node's ``/etc/ceph/<cluster>.conf`` with the node's keyring.

cinder-api has no standalone server worth using any more, so uwsgi serves ``cinder.wsgi.api``,
like Keystone and Glance. That module parses ``sys.argv[1:]`` as oslo.config arguments
(cinder-lab-notes gotcha 1), so uwsgi's ``pyargv`` hands it ``--config-file``/``--log-file``. Log
paths are absolute: a relative ``--log-file`` is joined onto ``log_dir`` (gotcha 3).

A cinder-volume is ready when the scheduler lists its pool: then the volume service is up, its
driver initialised against the site's cluster, and its capabilities reached the scheduler over
RabbitMQ. That is what :func:`wait_for_pools` waits for, through the API, as a client would see it.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from openstack.connection import Connection

from dcn_checks.lab import nodes, processes, uwsgi
from dcn_checks.lab.nodes import BindMount, check
from dcn_checks.lab.processes import ProcessRecord

log = logging.getLogger(__name__)

API_NAME = "cinder-api"
SCHEDULER_NAME = "cinder-scheduler"
#: cinder-volume and cinder-scheduler stop gracefully on TERM, but cinder-volume takes 5-16 s
#: (cinder-lab-notes gotcha 12) for nothing a throw-away lab keeps: its state is in PostgreSQL and
#: Ceph. The lab stops them as a crash would.
SERVICE_STOP_SIGNAL = signal.SIGKILL


@dataclass(frozen=True, slots=True)
class CinderNode:
    """A node that runs Cinder services: its site, its rendered cinder.conf, and its mount namespace."""

    site: str
    node: str
    config_file: Path
    log_dir: Path
    binds: tuple[BindMount, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CinderApi:
    """The running cinder-api."""

    url: str
    port: int
    pid: int

    @property
    def catalog_url(self) -> str:
        """The volumev3 endpoint as TripleO registers it; Keystone fills in the project ID."""
        return f"{self.url}/v3/%(tenant_id)s"


# --- pure -----------------------------------------------------------------------------------------


def volume_process_name(site: str) -> str:
    return f"cinder-volume.{site}"


def pool_name(backend_host: str, cluster: str | None, backend: str) -> str:
    """The scheduler's name of a backend's pool: ``<cluster or backend_host>@<backend>#<volume_backend_name>``.

    An active/active backend reports under its cluster (``dcn0@tripleo_ceph#tripleo_ceph``), any
    other under its host. The lab's RBD backends have ``volume_backend_name`` equal to their section
    name (puppet-cinder's default), and the RBD driver reports one pool named after it.
    """
    return f"{cluster or backend_host}@{backend}#{backend}"


def missing_pools(reported: Collection[str], expected: Collection[str]) -> tuple[str, ...]:
    """The expected pools the scheduler does not list yet, in the order expected."""
    return tuple(name for name in expected if name not in reported)


def render_db_sync_conf(database_url: str, log_file: Path) -> str:
    """The one thing ``cinder-manage db sync`` needs, so it can run before any node file is rendered."""
    return f"[DEFAULT]\nlog_file = {log_file}\n\n[database]\nconnection = {database_url}\n"


# --- I/O ------------------------------------------------------------------------------------------


def _venv_bin(venv: Path, name: str) -> str:
    return str(venv / "bin" / name)


def db_sync(lab_dir: Path, venv: Path, database_url: str, *, timeout_s: float = 300) -> None:
    """Create Cinder's schema (``cinder-manage db sync``, about 3 s) in the lab database."""
    started = time.monotonic()
    base = lab_dir / "cinder"
    base.mkdir(parents=True, exist_ok=True)
    conf = base / "db-sync.conf"
    conf.write_text(render_db_sync_conf(database_url, base / "cinder-manage.log"))
    conf.chmod(0o600)
    result = nodes.run(
        [_venv_bin(venv, "cinder-manage"), "--config-file", str(conf), "db", "sync"],
        timeout_s=timeout_s,
    )
    check(result, "cinder-manage db sync")
    log.info("cinder db sync done in %.1fs", time.monotonic() - started)


def start_api(lab_dir: Path, venv: Path, node: CinderNode, port: int, *, timeout_s: float = 90) -> CinderApi:
    """Serve cinder-api with uwsgi on the node and wait for ``/healthcheck``."""
    processes.stop(lab_dir, API_NAME)
    run_dir = lab_dir / "cinder" / "api"
    app = uwsgi.UwsgiApp(
        name=API_NAME,
        module="cinder.wsgi.api:application",
        port=port,
        venv=venv,
        run_dir=run_dir,
        log_path=run_dir / "uwsgi.log",
        options={"pyargv": f"--config-file {node.config_file} --log-file {node.log_dir / 'cinder-api.log'}"},
    )
    record = uwsgi.start_app(lab_dir, app, health_path="/healthcheck", binds=node.binds, timeout_s=timeout_s)
    return CinderApi(url=app.url, port=port, pid=record.pid)


def _start_service(lab_dir: Path, venv: Path, name: str, binary: str, node: CinderNode) -> ProcessRecord:
    log_file = node.log_dir / f"{binary}.log"
    return processes.start(
        lab_dir,
        name,
        [_venv_bin(venv, binary), "--config-file", str(node.config_file), "--log-file", str(log_file)],
        # stdout/stderr: the eventlet banner and anything before logging is set up.
        log_path=node.log_dir / f"{binary}.out",
        binds=node.binds,
        stop_signal=SERVICE_STOP_SIGNAL,
        stop_phase=processes.PHASE_SERVICE,
        grace_s=5,
    )


def start_scheduler(lab_dir: Path, venv: Path, node: CinderNode) -> ProcessRecord:
    processes.stop(lab_dir, SCHEDULER_NAME)
    return _start_service(lab_dir, venv, SCHEDULER_NAME, "cinder-scheduler", node)


def start_volume(lab_dir: Path, venv: Path, node: CinderNode) -> ProcessRecord:
    """Start a site's cinder-volume; :func:`wait_for_pools` tells when it serves."""
    name = volume_process_name(node.site)
    processes.stop(lab_dir, name)
    return _start_service(lab_dir, venv, name, "cinder-volume", node)


def stop_volume(lab_dir: Path, site: str) -> None:
    """Stop a site's cinder-volume by its recorded PID (no-op if the lab has none for ``site``)."""
    processes.stop(lab_dir, volume_process_name(site))


def start_cinder(
    lab_dir: Path,
    venv: Path,
    central: CinderNode,
    volumes: Sequence[CinderNode],
    *,
    api_port: int,
) -> tuple[CinderApi, tuple[ProcessRecord, ...]]:
    """Start api, scheduler and every site's cinder-volume side by side; the api's health is awaited.

    Returns the api and the records of the scheduler and volume services, whose readiness is
    :func:`wait_for_pools`'s business.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        api_future = pool.submit(start_api, lab_dir, venv, central, api_port)
        records = [start_scheduler(lab_dir, venv, central), *(start_volume(lab_dir, venv, n) for n in volumes)]
        api = api_future.result()
    return api, tuple(records)


def get_pool_names(conn: Connection) -> frozenset[str]:
    """The pools the scheduler knows (``GET /scheduler-stats/get_pools``, admin only)."""
    return frozenset(str(pool.name) for pool in conn.block_storage.backend_pools())


def wait_for_pools(
    conn: Connection,
    expected: Collection[str],
    records: Sequence[ProcessRecord],
    *,
    timeout_s: float = 120,
) -> None:
    """Wait until the scheduler lists every expected pool; give up at once if a service exited."""

    def exited() -> str | None:
        for record in records:
            if not processes.is_running(record):
                return f"{record.name} (PID {record.pid}) exited; log tail: {processes.log_tail(record.log_path)}"
        return None

    started = time.monotonic()
    processes.wait_for(
        lambda: get_pool_names(conn),
        lambda names: not missing_pools(names, expected),
        timeout_s=timeout_s,
        description=f"cinder pools {', '.join(expected)}",
        interval_s=0.5,
        fail_fast=exited,
    )
    log.info("cinder: %d pools reported in %.1fs", len(expected), time.monotonic() - started)
