"""Plain helpers of the lab tests (fixtures live in conftest.py)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from dcn_checks.lab import ceph, nodes, postgres, processes

GLANCE_PASSWORD = "glance-lab-pass"  # test-only service account of a throw-away Keystone


def lab_prerequisites_missing() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (mount namespaces, postgres user)"
    for tool in ("ceph-mon", "ceph-osd", "unshare"):
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
                name = case.get("name", "")
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
