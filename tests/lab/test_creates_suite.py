"""The functional suite (suites/creates) on the labs: passes healthy, fails exactly at faulted sites, cleans up.

On the healthy default lab the suite runs three times in a row, once with ``-n 1`` and twice with
``-n auto``; every check passes each time, and afterwards no resource of the runs is left in any API
or any cluster's pools, no ledger or shared-state file is left, and every cluster is HEALTH_OK. On a
lab with faults the checks fail exactly at the faulted sites, with their messages. Interrupted
runs (SIGINT, SIGTERM) clean up after themselves; a killed one (SIGKILL) is cleaned up by
``dcn-checks cleanup``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable, Iterator

import pytest
from lab_support import REPO, ReportRun, cluster_health, connect, rbd_pool_on_site, run_suite
from openstack.connection import Connection

from dcn_checks import cluster, waiters
from dcn_checks.lab import ceph
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.ledger import LEDGER_DIR, PREFIX
from dcn_checks.model import SiteModel, load_model
from dcn_checks.release import get_profile
from dcn_checks.requirements import CHECKS

pytestmark = pytest.mark.lab

RUN_NAME = re.compile(rf"^{PREFIX}[0-9a-f]{{12}}-")


@pytest.fixture(scope="module")
def conn(healthy_lab: LabInfo) -> Iterator[Connection]:
    connection = connect(healthy_lab)
    yield connection
    connection.close()


def leftovers_in_apis(conn: Connection) -> list[str]:
    """Every server, volume, snapshot, image and flavor whose name a run gave (``dcnchk-<run id>-``)."""
    return [
        f"{kind} {item.name}"
        for kind, items in (
            ("server", conn.compute.servers(all_projects=True)),
            ("volume", conn.block_storage.volumes(all_projects=True)),
            ("volume snapshot", conn.block_storage.snapshots(all_projects=True)),
            ("image", conn.image.images()),
            ("flavor", conn.compute.flavors()),
        )
        for item in items
        if RUN_NAME.match(item.name or "")
    ]


def stray_rbd_images(lab: LabInfo, model: SiteModel, conn: Connection, skip: tuple[str, ...] = ()) -> list[str]:
    """RBD images of no live image, server or volume, in every pool of every site's cluster but ``skip``'s."""
    live = {image.id for image in conn.image.images()} | {s.id for s in conn.compute.servers(all_projects=True)}
    live |= {f"volume-{v.id}" for v in conn.block_storage.volumes(all_projects=True)}
    return [
        f"{site.name}/{pool}/{entry.image}"
        for site in model.sites
        if site.name not in skip
        for pool in ("images", "vms", "volumes")
        for entry in rbd_pool_on_site(lab, site, pool)
        if entry.image.removesuffix("_disk") not in live
    ]


def health_of(lab: LabInfo, name: str) -> str:
    (found,) = [c for c in ceph.find_running_clusters(lab.lab_dir) if c.name == name]
    health = cluster_health(found)
    return health.status if health.status == "HEALTH_OK" else cluster.describe_health(health)


def assert_nothing_left(lab: LabInfo, conn: Connection, unreachable: tuple[str, ...] = ()) -> None:
    """Nothing of a run in the APIs, the pools (but those of ``unreachable`` sites, whose RBD images
    central's Glance cannot delete on a faulty lab), the ledger directory; every cluster HEALTH_OK."""
    model = load_model(lab.model_path)
    assert leftovers_in_apis(conn) == []
    assert stray_rbd_images(lab, model, conn, unreachable) == []
    assert sorted(p.name for p in (lab.lab_dir / LEDGER_DIR).glob("*")) == []
    assert {site.name: health_of(lab, site.cluster) for site in model.sites} == {
        site.name: "HEALTH_OK" for site in model.sites
    }


def test_every_functional_check_passes_three_runs_in_a_row_and_nothing_is_left(
    healthy_lab: LabInfo, conn: Connection, healthy_runs: list[ReportRun]
) -> None:
    """The runs are ``dcn-checks run`` of every suite (-n 1, then -n auto twice): the functional checks
    run beside the read-only ones, as users run them."""
    for run in healthy_runs:
        assert run.exit_code == 0, run.failed() or run.stderr[-3000:]
        functional = {case.key: case.verdict for case in run.summary.cases if case.suite == "creates"}
        assert functional and set(functional.values()) <= {"pass", "info"}, run.failed()
    assert len({len(run.summary.cases) for run in healthy_runs}) == 1
    assert_nothing_left(healthy_lab, conn)


def test_victoria_is_ussuri_to_the_functional_checks_and_the_lab() -> None:
    """The victoria profile differs from ussuri's in its name only, so the ussuri lab's runs above show it
    (a lab of its own would cost CI two minutes and prove nothing more)."""
    assert dataclasses.replace(get_profile("victoria"), name="ussuri") == get_profile("ussuri")


@pytest.mark.parametrize("release", ["wallaby", "zed"])
def test_every_functional_check_passes_on_each_release_profile(
    deploy_lab: Callable[..., LabInfo], release: str
) -> None:
    """The profiles differ where the checks look: wallaby and zed show locations only on the internal
    Glance (OSSN-0090) and their Nova copies an absent image into the site's store (BOOT-002: copied),
    ussuri and victoria refuse it."""
    lab = deploy_lab(release=release)
    run = run_suite(lab.lab_dir, "-m", "creates", "-n", "auto", timeout_s=900)

    assert run.exit_code == 0, run.failed() or run.stderr[-3000:]
    assert run.outcomes and set(run.outcomes.values()) == {"passed"}, run.failed()
    connection = connect(lab)
    try:
        assert_nothing_left(lab, connection)
    finally:
        connection.close()


def test_every_functional_check_fails_on_a_fault_lab_or_says_why_none_can_break_it() -> None:
    """A check of the deployment is only real if a fault makes it fail; the catalogue says why the others
    (Glance's own behaviour, informational records) have none."""
    functional = {spec.check_id for spec in CHECKS.values() if spec.check_id.split("-")[0] in FUNCTIONAL}
    failures = [*EXPECTED_FAULT_FAILURES.items(), *EXPECTED_FAULT_FAILURES_2.items()]
    # A check that fails only because its site's golden image is missing is not shown by that fault.
    faulted = {case.split("[")[0] for case, why in failures if why != _MISSING_AT_DCN0}
    unexplained = {c for c in functional - faulted if not CHECKS[c].behaviour and not CHECKS[c].informational}
    assert unexplained == set(NO_FAULT_YET)


#: The prefixes of the functional checks' IDs.
FUNCTIONAL = ("IMAGE", "BOOT", "WAN", "VOLUME", "ROUNDTRIP")
#: Checks of the deployment for which the lab has no fault yet, and why.
NO_FAULT_YET = {
    "IMAGE-001": "every fault that keeps central's store from taking an upload fails all checks at once",
    "IMAGE-003": "a store pointing at another cluster also fails its copies; the lab has no fault that "
    "keeps the copy working with a wrong fsid in the location",
}

#: One fault group for the functional checks: each check they break fails at one site, the other passes.
CREATES_FAULTS = ("cross-az-attach-true", "nova-downloads-images", "cow-disabled")
#: cross-az-attach-true (dcn0): the one-step boot from volume gets a central volume, and a central volume
#: attaches; nova-downloads-images (dcn0): an image absent from dcn0's store is pulled flat; cow-disabled
#: (dcn1): dcn1's Nova sees no location, so its boots are flat copies read from central's cluster, which
#: no COW child holds, and its server images never reach central.
EXPECTED_FAULT_FAILURES = {
    "VOLUME-003[dcn0]": "boot volume in central",
    "VOLUME-004[dcn0]": "cross_az_attach True",
    "BOOT-002[dcn0]": "the boot was downloaded",
    "BOOT-001[dcn1]": "has parent none (a flat copy)",
    "BOOT-002[dcn1]": "the boot was downloaded",
    "WAN-001[dcn1]": "central's OSDs served",
    "IMAGE-009[dcn1]": "no COW child holds the copy",
    "ROUNDTRIP-001[dcn1->dcn0]": "server image at dcn1",
    "ROUNDTRIP-002[dcn1->dcn0]": "server image at dcn1",
    "ROUNDTRIP-003[dcn1->dcn0]": "server image at dcn1",
    "ROUNDTRIP-003[dcn0->dcn1]": "has parent none (a flat copy)",
}


#: A second group: central cannot write dcn0's store (a stale key), so every dcn0 flow fails with the
#: golden image missing there; dcn1's Cinder serves another AZ, so its volume flows fail; central
#: converts no import.
CREATES_FAULTS_2 = ("central-stale-dcn0-key", "cinder-az-mismatch", "central-no-image-conversion")
_MISSING_AT_DCN0 = "golden image"
EXPECTED_FAULT_FAILURES_2 = {
    "IMAGE-010[]": "kept disk_format qcow2",
    "IMAGE-002[dcn0]": "os_glance_failed_import",
    **{f"{check}[dcn0]": _MISSING_AT_DCN0 for check in (
        "IMAGE-003", "IMAGE-004", "IMAGE-005", "IMAGE-009", "BOOT-001", "WAN-001", "WAN-002",
        "VOLUME-001", "VOLUME-002", "VOLUME-003", "VOLUME-004", "VOLUME-005", "VOLUME-006",
    )},
    **{f"{check}[dcn0->dcn1]": _MISSING_AT_DCN0 for check in ("ROUNDTRIP-001", "ROUNDTRIP-002", "ROUNDTRIP-003")},
    "IMAGE-007[dcn0]": "dcn0",
    "IMAGE-008[]": "dcn0",
    "ROUNDTRIP-003[dcn1->dcn0]": "dcn0",
    **{f"{check}[dcn1]": "Availability zone 'dcn1' is invalid" for check in (
        "VOLUME-001", "VOLUME-002", "VOLUME-003", "VOLUME-005", "VOLUME-006", "WAN-002",
    )},
}  # fmt: skip


#: Checks that may fail besides the expected ones on the storage lab: central's Glance keeps reading the golden
#: image from central's cluster for its failing copies to dcn0 (the stale key) after the API has answered, so
#: central's OSDs are not quiet while dcn1 is measured (seen once in CI, 2026-12-03; the lab is then what
#: ``creates.central_cluster_busy`` describes). Not accepted on the compute lab, where central is quiet.
MAY_ALSO_FAIL = {"storage": {"WAN-001[dcn1]", "WAN-002[dcn1]"}}


@pytest.mark.parametrize(
    ("faults", "expected", "unreachable"),
    [
        (CREATES_FAULTS, EXPECTED_FAULT_FAILURES, ()),
        # With a stale dcn0 key central's Glance deletes images but not their data in dcn0's pool (it logs
        # the failure): an image made at dcn0 (ROUNDTRIP-004) leaves its RBD image there.
        (CREATES_FAULTS_2, EXPECTED_FAULT_FAILURES_2, ("dcn0",)),
    ],
    ids=["compute", "storage"],
)
def test_faults_fail_exactly_the_functional_checks_of_their_sites(
    deploy_lab: Callable[..., LabInfo], faults: tuple[str, ...], expected: dict[str, str], unreachable: tuple[str, ...]
) -> None:
    lab = deploy_lab(*faults)

    run = run_suite(lab.lab_dir, "-m", "creates", "-n", "auto", timeout_s=900)

    assert run.exit_code == 1, run.stderr[-3000:]
    failed = run.failed()
    group = "storage" if faults == CREATES_FAULTS_2 else "compute"
    assert set(expected) <= set(failed) <= set(expected) | MAY_ALSO_FAIL.get(group, set()), failed
    for case, fragment in expected.items():
        assert fragment in failed[case], (case, failed[case])
    connection = connect(lab)
    try:
        assert_nothing_left(lab, connection, unreachable)
    finally:
        connection.close()


# --- interrupted and killed runs ------------------------------------------------------------------------------


def start_round_trip(lab: LabInfo) -> subprocess.Popen[str]:
    """A run of the round-trip checks alone, in the background, in its own process group."""
    argv = [str(REPO / ".venv" / "bin" / "dcn-checks"), "check", "--target", str(lab.lab_dir), "-m", "creates",
            "-k", "round_trip", "-q", "-p", "no:randomly"]  # fmt: skip
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip


def wait_for_a_recorded_server(lab: LabInfo) -> None:
    """Until the run's ledger lists a server (the round trip is under way)."""

    def servers() -> int:
        return sum(
            1
            for path in (lab.lab_dir / LEDGER_DIR).glob("*.jsonl")
            for line in path.read_text().splitlines()
            if '"created"' in line and '"server"' in line
        )

    waiters.wait_for(servers, bool, timeout_s=300, description="a server in the run's ledger", interval_s=0.2)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_removes_what_it_made(healthy_lab: LabInfo, conn: Connection, signum: int) -> None:
    proc = start_round_trip(healthy_lab)
    try:
        wait_for_a_recorded_server(healthy_lab)
        os.kill(proc.pid, signum)
        output, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 2, output[-3000:]
    assert_nothing_left(healthy_lab, conn)


def test_a_killed_run_is_removed_by_cleanup(healthy_lab: LabInfo, conn: Connection) -> None:
    proc = start_round_trip(healthy_lab)
    try:
        wait_for_a_recorded_server(healthy_lab)  # Nova is building what the ledger lists
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    runs = list((healthy_lab.lab_dir / LEDGER_DIR).glob("*.jsonl"))
    assert len(runs) == 1 and json.loads(runs[0].read_text().splitlines()[0])["ledger"] == "dcn-checks"

    cleanup = subprocess.run(
        [str(REPO / ".venv" / "bin" / "dcn-checks"), "cleanup", "--target", str(healthy_lab.lab_dir), "--stale"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert_nothing_left(healthy_lab, conn)
