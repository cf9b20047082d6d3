"""Plain helpers of the lab tests (fixtures live in conftest.py)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cinderclient.client
import pytest
from openstack.connection import Connection

from dcn_checks import lifecycle, rbd, waiters
from dcn_checks.cluster import Health, parse_health
from dcn_checks.lab import ceph, nodes, postgres, processes
from dcn_checks.lab.deploy import LabInfo, ceph_binds
from dcn_checks.ledger import Ledger, open_ledger
from dcn_checks.model import Site
from dcn_checks.target import TARGET_FILE

GLANCE_PASSWORD = "glance-lab-pass"  # test-only service account of a throw-away Keystone


def lab_prerequisites_missing() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (mount namespaces, postgres user)"
    for tool in ("ceph-mon", "ceph-osd", "ceph-mgr", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} not installed; run python -m dcn_checks.lab.install"
    if not (postgres.PG_BIN / "postgres").exists():
        return "PostgreSQL 15 not installed; run python -m dcn_checks.lab.install"
    return None


def make_lab_dir(prefix: str) -> Path:
    """A lab dir the postgres user can reach (pytest's tmp dirs are 0700 under /tmp/pytest-of-root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def gen_secret() -> str:
    return subprocess.run(
        ["ceph-authtool", "--gen-print-key"], capture_output=True, text=True, check=True
    ).stdout.strip()


def leftover_pids(records: list[processes.ProcessRecord]) -> list[int]:
    """PIDs of recorded processes (or members of their groups) that still run."""
    alive = [r.pid for r in records if processes.is_running(r)]
    alive += [m.pid for r in records for m in processes.group_members(r)]
    return sorted(set(alive))


def write_node_ceph_files(node_root: Path, cluster: ceph.Cluster, user: str, secret: str) -> None:
    """Client-side files as a real node has them: /etc/ceph/<cluster>.conf and its keyring."""
    etc = node_root / "etc" / "ceph"
    etc.mkdir(parents=True, exist_ok=True)
    keyring = f"/etc/ceph/{cluster.name}.client.{user}.keyring"
    (etc / f"{cluster.name}.conf").write_text(
        f"[global]\nfsid = {cluster.fsid}\nmon host = {cluster.mon_host}\n\n[client]\nkeyring = {keyring}\n"
    )
    path = etc / f"{cluster.name}.client.{user}.keyring"
    path.write_text(f"[client.{user}]\n\tkey = {secret}\n")
    path.chmod(0o600)


def minimal_glance_conf(
    *, site: str, lab_dir: Path, venv: Path, port: int, db_url: str, keystone_url: str, stores: tuple[str, ...]
) -> str:
    """A just-enough glance-api.conf for these tests; the real one comes from dcn_checks.lab.render."""
    data = lab_dir / "glance" / f"{site}-data"
    sections = "".join(
        f"\n[{s}]\nrbd_store_ceph_conf = /etc/ceph/{s}.conf\nrbd_store_user = openstack\n"
        f"rbd_store_pool = images\nstore_description = {s} rbd store\n"
        for s in stores
    )
    return f"""\
[DEFAULT]
log_file = {lab_dir / "glance" / f"glance-{site}.log"}
enabled_backends = {", ".join(f"{s}:rbd" for s in stores)}
enabled_import_methods = [glance-direct,web-download,copy-image]
show_multiple_locations = True
show_image_direct_url = True
worker_self_reference_url = http://127.0.0.1:{port}

[database]
connection = {db_url}

[paste_deploy]
config_file = {venv / "etc" / "glance" / "glance-api-paste.ini"}
flavor = keystone

[glance_store]
default_backend = {stores[0]}
{sections}
[os_glance_staging_store]
filesystem_store_datadir = {data / "staging"}/

[os_glance_tasks_store]
filesystem_store_datadir = {data / "tasks"}/

[oslo_concurrency]
lock_path = {data / "locks"}

[keystone_authtoken]
www_authenticate_uri = {keystone_url}
auth_url = {keystone_url}
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = service
username = glance
password = {GLANCE_PASSWORD}
region_name = RegionOne
"""


def write_glance_config(
    *, site: str, lab_dir: Path, venv: Path, port: int, db_url: str, keystone_url: str, stores: tuple[str, ...]
) -> Path:
    """Write the minimal config of one site's Glance and create the directories it names."""
    config_dir = lab_dir / "glance" / f"{site}-etc"
    config_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("staging", "tasks", "locks"):
        (lab_dir / "glance" / f"{site}-data" / sub).mkdir(parents=True, exist_ok=True)
    (config_dir / "glance-api.conf").write_text(
        minimal_glance_conf(
            site=site, lab_dir=lab_dir, venv=venv, port=port, db_url=db_url, keystone_url=keystone_url, stores=stores
        )
    )
    return config_dir


def list_images_on_node(node_root: Path, cluster: str, user: str = "openstack") -> nodes.CommandResult:
    """``rbd ls -l --format json`` of a cluster's images pool, run on the node with its conf and key."""
    argv = ["rbd", "--conf", f"/etc/ceph/{cluster}.conf", "--id", user, "-p", "images", "ls", "-l", "--format", "json"]
    return nodes.run_on_node(argv, nodes.node_binds(node_root), timeout_s=20)


# --- running the deployment suites against a lab --------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class SuiteRun:
    """The outcome of one ``dcn-checks check`` run: exit code and the verdict of every case."""

    exit_code: int
    outcomes: dict[str, str]  # "test_name[case]" -> passed | failed | skipped | error
    messages: dict[str, str]  # failed/skipped case -> its message (first line)
    check_ids: dict[str, str]  # case -> check ID from the JUnit properties
    stderr: str

    def failed(self) -> dict[str, str]:
        """Failed cases keyed ``CHECK-ID[case]`` with their one-line messages."""
        return {
            f"{self.check_ids.get(case, '?')}[{case.partition('[')[2].rstrip(']')}]": self.messages.get(case, "")
            for case, outcome in self.outcomes.items()
            if outcome in ("failed", "error")
        }


def run_suite(target: Path, *pytest_args: str, timeout_s: float = 600) -> SuiteRun:
    """Run ``dcn-checks check --target TARGET`` with ``pytest_args`` in a subprocess and read its JUnit XML."""
    import xml.etree.ElementTree as ElementTree

    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        proc = subprocess.run(
            [str(REPO / ".venv" / "bin" / "dcn-checks"), "check", "--target", str(target),
             "-q", f"--junitxml={junit}", *pytest_args],
            cwd=REPO, capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip
        outcomes: dict[str, str] = {}
        messages: dict[str, str] = {}
        check_ids: dict[str, str] = {}
        if junit.exists():
            for case in ElementTree.parse(junit).iter("testcase"):
                # xdist's loadgroup appends "@<group>" to a test's ID; the case is what precedes it.
                name = case.get("name", "").split("@", 1)[0]
                outcome = "passed"
                for kind in ("failure", "error", "skipped"):
                    element = case.find(kind)
                    if element is not None:
                        outcome = {"failure": "failed"}.get(kind, kind)
                        text = element.get("message", "") or ""
                        messages[name] = text.removeprefix("AssertionError: ").splitlines()[0] if text else ""
                outcomes[name] = outcome
                for prop in case.iter("property"):
                    if prop.get("name") == "check_id":
                        check_ids[name] = prop.get("value", "")
    return SuiteRun(proc.returncode, outcomes, messages, check_ids, proc.stdout + proc.stderr)


# --- Cinder: clients and the volumes pool (volume tests) -----------------------------------------------

#: The faults of tests/lab/test_faults_volume.py; they break different sites, so one lab carries both.
VOLUME_FAULTS = ("cinder-az-mismatch", "volume-service-down")
#: python-cinderclient's microversion for the volume tests: 3.7+ shows clusters in the service list.
CINDER_API_VERSION = "3.50"


def openstack_cli(lab: LabInfo, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``openstack`` CLI (python-openstackclient of the project venv) as the lab admin."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(lab.clouds_yaml), OS_CLOUD=lab.cloud)
    argv = [str(Path(sys.executable).parent / "openstack"), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)


def cinder_client(conn: Connection) -> Any:
    """python-cinderclient v3 on the connection's Keystone session; Cinder found in the catalog (volumev3)."""
    return cinderclient.client.Client(
        CINDER_API_VERSION, session=conn.session, service_type="volumev3", region_name=conn.config.region_name
    )


def cluster_health(cluster: ceph.Cluster) -> Health:
    """``ceph health -f json`` of a lab cluster as its client.admin."""
    result = nodes.check(ceph.ceph_admin(cluster, ["health", "-f", "json"]), f"{cluster.name}: ceph health")
    return parse_health(result.stdout)


def rbd_pool_on_site(lab: LabInfo, site: Site, pool: str, user: str = "openstack") -> tuple[rbd.RbdEntry, ...]:
    """``rbd ls -l`` of a pool of the site's own cluster, run on the site's cinder-volume node."""
    node = site.nodes_with("CinderVolume")[0].name
    argv = ["rbd", "--conf", f"/etc/ceph/{site.cluster}.conf", "--id", user, "-p", pool, "ls", "-l", "--format", "json"]
    result = nodes.run_on_node(argv, ceph_binds(lab.lab_dir, node, lab.release), timeout_s=30)
    return rbd.parse_rbd_ls(nodes.check(result, f"rbd ls -l {pool} on {node}").stdout)


# --- cloud resources: the library's run ledger, kept in the lab's directory ------------------------------

#: How long the workflow tests wait for a server, a volume or a delete.
COMPUTE_TIMEOUT_S = 180.0


def open_lab_ledger(lab: LabInfo, run_id: str | None = None) -> Ledger:
    """The ledger of a test run against ``lab``, where ``dcn-checks cleanup --target <lab dir>`` finds it."""
    return open_ledger(lab.lab_dir / TARGET_FILE, run_id)


def recorded(lab: LabInfo, conn: Connection, run_id: str | None = None) -> Iterator[Ledger]:
    """The body of a ledger fixture: yield a run ledger; at teardown remove everything it lists, and fail
    the test (after removing the rest) when something stays."""
    ledger = open_lab_ledger(lab, run_id)
    yield ledger
    failures = cleanup(ledger, conn)
    if failures:
        pytest.fail(f"cleanup left resources behind: {'; '.join(failures)}", pytrace=False)


def cleanup(ledger: Ledger, conn: Connection) -> list[str]:
    """Remove everything the ledger lists (dependency order, waiting for each) and close it; return the failures."""
    with ledger:
        report = lifecycle.remove_recorded(ledger, lifecycle.SdkCloud(conn), timeout_s=COMPUTE_TIMEOUT_S)
    return [failure.line() for failure in report.failed]


def connect(lab: LabInfo) -> Connection:
    """openstacksdk as the lab admin."""
    import openstack

    config = openstack.config.OpenStackConfig(config_files=[str(lab.clouds_yaml)])
    return openstack.connection.Connection(config=config.get_one(lab.cloud))


def cli_json(lab: LabInfo, *args: str) -> Any:
    """Run ``openstack <args> -f json`` and return the parsed output; fail with the CLI's own error."""
    import json

    result = openstack_cli(lab, *args, "-f", "json")
    if result.returncode != 0:
        raise AssertionError(f"openstack {' '.join(args[:2])}: {result.stderr.strip()[-600:]}")
    return json.loads(result.stdout)


def wait_for_server(conn: Connection, server_id: str, *statuses: str) -> Any:
    """Poll a server until it is in one of ``statuses`` (ACTIVE or ERROR by default) and its task is done."""
    return waiters.wait_for_server_status(
        lambda: conn.compute.get_server(server_id),
        server_id,
        statuses or ("ACTIVE", "ERROR"),
        timeout_s=COMPUTE_TIMEOUT_S,
        interval_s=0.3,
    )


def create_server(lab: LabInfo, conn: Connection, ledger: Ledger, name: str, *args: str) -> Any:
    """``openstack server create <args> <name>``; record it, wait for ACTIVE or ERROR, return it (SDK)."""
    created = cli_json(lab, "server", "create", *args, name)
    ledger.record("server", created["id"], name)
    server = wait_for_server(conn, created["id"])
    for attached in server.attached_volumes or []:
        # Boot volumes Nova made outlive the server (delete_on_termination false); servers go first anyway.
        ledger.record("volume", attached["id"])
    return server


def add_observable_image(lab: LabInfo) -> None:
    """One small active image in central's store, as a deployed cloud has, so API-004 can observe how
    each Glance shows locations (idempotent per lab; the lab dies with it)."""
    from dcn_checks import glance
    from dcn_checks.model import load_model

    conn = connect(lab)
    try:
        if not any(image.name == "dcnchk-lab-observable" for image in conn.image.images()):
            image = glance.create_image(conn, "dcnchk-lab-observable")
            central = load_model(lab.model_path).central.store_id
            glance.upload_image_to_store(conn, image.image_id, b"\0" * 65536, central)
    finally:
        conn.close()


# --- dcn-checks run: the reports of a run ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReportRun:
    """One ``dcn-checks run``: its exit code, output, report directory and JSON summary (None if unwritten)."""

    exit_code: int
    stdout: str
    stderr: str
    run_dir: Path | None
    summary: Any  # dcn_checks.results.RunSummary | None

    def verdicts(self) -> dict[str, str]:
        """``CHECK-ID[case]`` -> verdict of every case of the run."""
        return {case.key: case.verdict for case in self.summary.cases} if self.summary else {}

    def failed(self) -> dict[str, str]:
        """Failed and errored cases keyed ``CHECK-ID[case]`` with their one-line messages."""
        cases = self.summary.cases if self.summary else ()
        return {case.key: case.message for case in cases if case.verdict in ("fail", "error")}


def dcn_run(*args: str, report_dir: Path, timeout_s: float = 900) -> ReportRun:
    """Run ``dcn-checks run ARGS --report-dir DIR`` and read the summary of the run it made there."""
    from dcn_checks.results import load_summary

    before = set(report_dir.iterdir()) if report_dir.exists() else set()
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "dcn-checks"), "run", "--report-dir", str(report_dir), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip
    made = [path for path in set(report_dir.iterdir()) - before if path.is_dir() and not path.is_symlink()]
    run_dir = made[0] if len(made) == 1 else None
    summary = load_summary(run_dir / "summary.json") if run_dir and (run_dir / "summary.json").exists() else None
    return ReportRun(proc.returncode, proc.stdout, proc.stderr, run_dir, summary)
