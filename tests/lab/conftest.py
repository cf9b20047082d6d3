"""Session fixtures that bring up the lab's real daemons once for all lab tests."""

from __future__ import annotations

import shutil
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lab_support import (
    ReportRun,
    dcn_run,
    gen_secret,
    lab_prerequisites_missing,
    leftover_pids,
    make_lab_dir,
    write_node_ceph_files,
)

from dcn_checks.errors import LabError
from dcn_checks.lab import ceph, deploy, install, keystone, postgres, processes
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.lab.faults import get_faults
from dcn_checks.model import model_with_sites

OPENSTACK_CAPS = {
    "mon": "profile rbd",
    "osd": "profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images",
}
SITES = ("central", "dcn0", "dcn1")
#: Labs kept up at once besides the healthy one (each holds 2-4 GiB of the machine's 24).
MAX_LIVE_LABS = 3
#: The OSD files of the test labs: what three runs of the functional suite hold at once (server images
#: copied thick, 1 GiB each) with room to spare, and small enough that four live labs of six sites fit
#: a CI disk with 50 GB free (the capacity check counts every file at its full size).
TEST_OSD_BYTES = 6 * ceph.GIB
#: The request of the healthy lab, which many modules share for the whole session.
HEALTHY_LAB: tuple[object, ...] = ((), 2, "ussuri", 2)


@pytest.fixture(scope="session")
def lab_dir() -> Iterator[Path]:
    reason = lab_prerequisites_missing()
    if reason:
        pytest.skip(reason)
    path = make_lab_dir("dcn-lab-test-")
    yield path
    records = processes.load_records(path)
    processes.stop_all(path)
    left = leftover_pids(records)
    shutil.rmtree(path, ignore_errors=True)
    if left:
        raise LabError(f"processes of the test lab survived stop_all: {left}")


@pytest.fixture(scope="session")
def venv() -> Path:
    path = install.default_venv_dir()
    if not (path / install.MARKER_NAME).exists():
        pytest.skip(f"OpenStack venv {path} not built; run python -m dcn_checks.lab.install")
    return path


@pytest.fixture(scope="session")
def openstack_secret() -> str:
    return gen_secret()


@pytest.fixture(scope="session")
def clusters(lab_dir: Path, openstack_secret: str) -> dict[str, ceph.Cluster]:
    key = ceph.CephKeySpec("client.openstack", openstack_secret, OPENSTACK_CAPS)
    specs = [ceph.ClusterSpec(site, str(uuid.uuid4()), (key,)) for site in SITES]
    return {c.name: c for c in ceph.start_clusters(lab_dir, specs)}


@pytest.fixture(scope="session")
def controller_node(lab_dir: Path, clusters: dict[str, ceph.Cluster], openstack_secret: str) -> Path:
    """Node root of a central controller that has the files of every cluster."""
    root = lab_dir / "nodes" / "controller-0"
    for cluster in clusters.values():
        write_node_ceph_files(root, cluster, "openstack", openstack_secret)
    return root


@pytest.fixture(scope="session")
def lab_postgres(lab_dir: Path) -> postgres.Postgres:
    return postgres.start_postgres(lab_dir, ["keystone", "glance"])


@pytest.fixture(scope="session")
def lab_keystone(lab_dir: Path, venv: Path, lab_postgres: postgres.Postgres) -> keystone.Keystone:
    return keystone.start_keystone(lab_dir, venv, lab_postgres.url("keystone"), admin_password=gen_secret())


@pytest.fixture(scope="session")
def deploy_lab(venv: Path) -> Iterator[Callable[..., LabInfo]]:
    """Factory of whole labs deployed with ``dcn-checks lab up`` semantics, one per distinct request.

    ``deploy_lab("keyring-mode-0644", sites=2)`` returns the LabInfo of a lab with that fault; the
    same request later returns the same lab while it is up. A lab holds 2-4 GiB, so at most
    ``MAX_LIVE_LABS`` are kept up besides the healthy one: the least recently requested is brought
    down first, and deployed again if asked for again. Every lab is stopped (at the latest at the
    end of the session), and the session fails if any of its processes survived.
    """
    labs: OrderedDict[tuple[object, ...], LabInfo] = OrderedDict()
    survivors: list[int] = []

    def bring_down(info: LabInfo) -> None:
        records = processes.load_records(info.lab_dir)
        deploy.down(info.lab_dir)
        survivors.extend(leftover_pids(records))
        shutil.rmtree(info.lab_dir, ignore_errors=True)

    def make(*faults: str, sites: int = 2, release: str = "ussuri", key_option: int = 2) -> LabInfo:
        key = (faults, sites, release, key_option)
        if key in labs:
            labs.move_to_end(key)
            return labs[key]
        evictable = [k for k in labs if k != HEALTHY_LAB]
        while len(evictable) >= MAX_LIVE_LABS:
            bring_down(labs.pop(evictable.pop(0)))
        model = model_with_sites(sites, release=release, key_option=key_option)  # type: ignore[arg-type]
        path = make_lab_dir("dcn-lab-")
        labs[key] = deploy.up(path, model, get_faults(list(faults), model), venv=venv, osd_bytes=TEST_OSD_BYTES)
        return labs[key]

    yield make
    for info in labs.values():
        bring_down(info)
    if survivors:
        raise LabError(f"processes of deployed labs survived lab down: {sorted(set(survivors))}")


@pytest.fixture(scope="session")
def healthy_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    """The default lab (central + dcn0 + dcn1, key option 2, ussuri) with no fault."""
    return deploy_lab()


#: The healthy runs of every suite: with one worker, then twice with as many as the machine has.
HEALTHY_ROUNDS = (("-n", "1"), ("-n", "auto"), ("-n", "auto"))


@pytest.fixture(scope="session")
def healthy_runs(healthy_lab: LabInfo, tmp_path_factory: pytest.TempPathFactory) -> list[ReportRun]:
    """Three ``dcn-checks run`` of every suite in a row on the healthy lab, with their reports: the
    functional suite's test and the report tests judge the same runs (each costs two minutes of CI)."""
    reports = tmp_path_factory.mktemp("healthy-reports")
    return [
        dcn_run("--target", str(healthy_lab.lab_dir), *workers, report_dir=reports, timeout_s=1200)
        for workers in HEALTHY_ROUNDS
    ]
