"""The lab's private PostgreSQL: up on an allocated loopback port, databases created, down by PID."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lab_support import lab_prerequisites_missing, leftover_pids, make_lab_dir

from dcn_checks.lab import postgres, processes

pytestmark = pytest.mark.lab


def test_postgres_up_creates_databases_and_stops_by_pid() -> None:
    reason = lab_prerequisites_missing()
    if reason:
        pytest.skip(reason)
    lab = make_lab_dir("dcn-pg-test-")
    try:
        pg = postgres.start_postgres(lab, ["keystone", "glance"])
        assert pg.port != 5432
        assert {"keystone", "glance"} <= set(postgres.psql(pg, "select datname from pg_database").split())
        assert postgres.psql(pg, "show listen_addresses").strip() == "127.0.0.1"
        assert pg.url("glance") == f"postgresql+psycopg2://postgres@127.0.0.1:{pg.port}/glance"
        records = processes.load_records(lab)
        postgres.stop_postgres(lab)
        assert leftover_pids(records) == []
        assert processes.load_records(lab) == []
    finally:
        processes.stop_all(lab)
        subprocess.run(["rm", "-rf", str(lab)], check=False)


def test_server_argv_listens_on_loopback_only() -> None:
    argv = postgres.server_argv(Path("/lab/pg/data"), Path("/lab/pg/run"), 25432)
    assert "listen_addresses=127.0.0.1" in argv and "port=25432" in argv
