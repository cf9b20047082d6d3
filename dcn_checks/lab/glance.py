"""Glance API processes of the lab: one per site, each "on" its site's node.

A site's Glance reads the config a real deployment would give it: ``glance-api.conf`` (plus the
optional ``glance-image-import.conf``) in one directory, rendered elsewhere
(:mod:`dcn_checks.lab.render`). That config names node paths such as ``/etc/ceph/dcn0.conf``, so
the process runs in its node's mount namespace (see :func:`dcn_checks.lab.nodes.node_binds`).

Glance 33 has no standalone server: uwsgi serves ``glance.wsgi.api:application`` and finds the
config through ``OS_GLANCE_CONFIG_DIR``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dcn_checks.errors import LabError
from dcn_checks.lab import nodes, processes, uwsgi
from dcn_checks.lab.nodes import BindMount, check

log = logging.getLogger(__name__)

#: python-glanceclient uploads in chunks of 1 MiB or more, which uwsgi's http-socket rejects
#: ("unable to receive chunked part") below this limit.
CHUNKED_INPUT_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GlanceSite:
    """What to run for one site: where its config is, its port, and its node's bind mounts."""

    site: str
    config_dir: Path
    port: int
    binds: tuple[BindMount, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class GlanceProcess:
    """A running Glance API."""

    site: str
    url: str
    port: int
    pid: int
    config_dir: Path
    log_path: Path


def process_name(site: str) -> str:
    return f"glance-api.{site}"


def _check_config_dir(config_dir: Path) -> Path:
    conf = config_dir / "glance-api.conf"
    if not conf.is_file():
        raise LabError(f"{conf} missing: render the site's Glance config first")
    return conf


def db_sync(venv: Path, config_dir: Path, *, binds: Sequence[BindMount] = (), timeout_s: float = 300) -> None:
    """``glance-manage db_sync`` against the database named in ``config_dir/glance-api.conf``.

    All sites share one database, so this runs once, with any one site's config.
    """
    conf = _check_config_dir(config_dir)
    started = time.monotonic()
    result = nodes.run(
        [str(venv / "bin" / "glance-manage"), "--config-file", str(conf), "db_sync"],
        binds=binds,
        timeout_s=timeout_s,
    )
    check(result, "glance-manage db_sync")
    log.info("glance db_sync done in %.1fs", time.monotonic() - started)


def uwsgi_app(lab_dir: Path, venv: Path, site: GlanceSite) -> uwsgi.UwsgiApp:
    run_dir = lab_dir / "glance" / site.site
    return uwsgi.UwsgiApp(
        name=process_name(site.site),
        module="glance.wsgi.api:application",
        port=site.port,
        venv=venv,
        run_dir=run_dir,
        log_path=run_dir / "uwsgi.log",
        env={"OS_GLANCE_CONFIG_DIR": str(site.config_dir)},
        options={"chunked-input-limit": str(CHUNKED_INPUT_LIMIT)},
    )


def start_glance(lab_dir: Path, venv: Path, site: GlanceSite, *, timeout_s: float = 90) -> GlanceProcess:
    """Start one site's Glance API and wait for ``/healthcheck``.

    Glance's own log goes where the config's ``log_file`` says; uwsgi's log (and any Python error
    before logging is set up) goes to ``<lab>/glance/<site>/uwsgi.log``.
    """
    _check_config_dir(site.config_dir)
    processes.stop(lab_dir, process_name(site.site))
    app = uwsgi_app(lab_dir, venv, site)
    started = time.monotonic()
    record = uwsgi.start_app(lab_dir, app, health_path="/healthcheck", binds=site.binds, timeout_s=timeout_s)
    log.info("glance %s healthy on %s in %.1fs", site.site, app.url, time.monotonic() - started)
    return GlanceProcess(
        site=site.site, url=app.url, port=site.port, pid=record.pid, config_dir=site.config_dir, log_path=app.log_path
    )


def start_glances(lab_dir: Path, venv: Path, sites: Sequence[GlanceSite]) -> tuple[GlanceProcess, ...]:
    """Start several sites' Glance in parallel; the first failure is raised once all have finished."""
    with ThreadPoolExecutor(max_workers=max(1, len(sites))) as pool:
        futures = [pool.submit(start_glance, lab_dir, venv, s) for s in sites]
        errors = [f.exception() for f in futures]
    for err in errors:
        if err is not None:
            raise err
    return tuple(f.result() for f in futures)


def stop_glance(lab_dir: Path, site: str) -> None:
    processes.stop(lab_dir, process_name(site))
