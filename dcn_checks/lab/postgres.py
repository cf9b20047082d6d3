"""A private PostgreSQL 15 for the lab's OpenStack services.

Glance processes of several sites share one database, and SQLite fails under their concurrent
writes ("database is locked"), so the lab runs Debian's PostgreSQL 15 binaries on a data directory
inside the lab. It listens on 127.0.0.1 at an allocated port (a system PostgreSQL may hold 5432),
keeps its unix socket in the lab, trusts local connections (nothing but the lab can reach it) and
runs ``postgres`` itself in the foreground as our child, as user ``postgres`` (it refuses root).
Durability is traded for speed (fsync off): a lab database is thrown away with the lab.
"""

from __future__ import annotations

import logging
import pwd
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dcn_checks.errors import LabError
from dcn_checks.lab import nodes, ports, processes
from dcn_checks.lab.nodes import check

log = logging.getLogger(__name__)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
PROCESS_NAME = "postgres"


@dataclass(frozen=True, slots=True)
class Postgres:
    """A running lab PostgreSQL."""

    host: str
    port: int
    socket_dir: Path
    data_dir: Path
    pid: int

    def url(self, database: str) -> str:
        """SQLAlchemy URL for oslo.db (``[database] connection``)."""
        return f"postgresql+psycopg2://{PG_USER}@{self.host}:{self.port}/{database}"


def server_argv(data_dir: Path, socket_dir: Path, port: int) -> list[str]:
    """The postmaster command line: loopback only, lab socket dir, settings for a throw-away DB.

    ``max_connections`` is raised because every uwsgi/oslo.db worker keeps a pool of connections.
    """
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(socket_dir),
        "max_connections": "200",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "logging_collector": "off",
    }
    argv = [str(PG_BIN / "postgres"), "-D", str(data_dir)]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    return argv


def _chown_to_pg(path: Path) -> None:
    entry = pwd.getpwnam(PG_USER)
    shutil.chown(path, entry.pw_uid, entry.pw_gid)


def start_postgres(lab_dir: Path, databases: Sequence[str] = (), port: int | None = None) -> Postgres:
    """initdb a fresh cluster in ``<lab>/postgres``, start it and create ``databases``.

    Any data of a previous lab PostgreSQL in this lab dir is removed first.
    """
    started = time.monotonic()
    if not (PG_BIN / "postgres").exists():
        raise LabError(f"{PG_BIN}/postgres missing: install the postgresql-15 package")
    processes.stop(lab_dir, PROCESS_NAME)
    base = lab_dir / "postgres"
    data_dir, socket_dir = base / "data", base / "run"
    if base.exists():
        shutil.rmtree(base)
    for path in (base, data_dir, socket_dir):
        path.mkdir(parents=True)
        _chown_to_pg(path)
    # The postgres user must be able to reach its directories through the lab dir.
    for parent in [lab_dir, *lab_dir.parents]:
        if parent.stat().st_mode & 0o001 == 0:
            raise LabError(f"{parent} is not searchable by other users; user {PG_USER} cannot reach {base}")
    check(
        nodes.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data_dir),
                "-A",
                "trust",
                "-U",
                PG_USER,
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C.UTF-8",
            ],
            user=PG_USER,
            timeout_s=120,
            cwd=base,
        ),
        "initdb",
    )
    pg_port = port or ports.allocate_ports(1)[0]
    record = processes.start(
        lab_dir,
        PROCESS_NAME,
        server_argv(data_dir, socket_dir, pg_port),
        log_path=base / "server.log",
        user=PG_USER,
        cwd=base,
        # SIGINT = "fast" shutdown: roll back sessions, checkpoint, exit. TERM would wait for clients.
        stop_signal=signal.SIGINT,
        stop_phase=processes.PHASE_BACKEND,
        grace_s=15,
    )
    ready = [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", PG_USER, "-t", "2"]
    processes.wait_for_process(
        record,
        lambda: nodes.run(ready, timeout_s=5),
        lambda r: r.ok,
        timeout_s=30,
        description=f"postgres on 127.0.0.1:{pg_port}",
    )
    pg = Postgres(host="127.0.0.1", port=pg_port, socket_dir=socket_dir, data_dir=data_dir, pid=record.pid)
    create_databases(pg, databases)
    log.info("postgres up on 127.0.0.1:%d in %.1fs", pg_port, time.monotonic() - started)
    return pg


def psql(pg: Postgres, sql: str, database: str = "postgres") -> str:
    """Run SQL through the lab's unix socket; returns psql's unaligned output."""
    result = nodes.run(
        [
            str(PG_BIN / "psql"),
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-h",
            str(pg.socket_dir),
            "-p",
            str(pg.port),
            "-U",
            PG_USER,
            "-d",
            database,
            "-c",
            sql,
        ],
        timeout_s=30,
    )
    return check(result, f"psql on {database}").stdout


def create_databases(pg: Postgres, databases: Sequence[str]) -> None:
    """Create each database that does not exist yet."""
    existing = set(psql(pg, "select datname from pg_database").split())
    for name in databases:
        if not name.isidentifier():
            raise LabError(f"database name {name!r} is not a plain identifier")
        if name not in existing:
            psql(pg, f'create database "{name}"')


def stop_postgres(lab_dir: Path) -> None:
    """Fast shutdown of the lab PostgreSQL by its recorded PID (no-op if it is not running)."""
    processes.stop(lab_dir, PROCESS_NAME)
