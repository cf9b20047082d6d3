"""The service configuration and API-state checks on labs deployed with faults (suites/reads, R29-R42).

Each lab carries several faults that break disjoint checks; the suite modules of this part run once
per lab (``dcn-checks check``), and one test per fault asserts that its checks fail, with a message
that says what the fault did and names the parameter that fixes it. The union of the expectations
must be exactly the failed set of the lab, so no fault breaks a check it should not, and every other
check passes on the same lab. Labs are shared with other lab tests where the fault set is the same:

- ``glance_lab``: test_faults.py's Glance faults (ussuri, one glance-api per controller);
- ``volume_lab``: test_faults_volume.py's Cinder faults (ussuri);
- ``services_lab``: the faults of this part (wallaby: the OSSN-0090 layout, Nova's store name).

Every lab gets one small active image in central's store first: API-004 observes location exposure
read-only, on images that exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytest
from lab_support import REPO, VOLUME_FAULTS, SuiteRun, add_observable_image, connect, run_suite

from dcn_checks import volumeapi, waiters
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.lab.faults import FAULTS_BY_NAME
from dcn_checks.model import load_model

pytestmark = pytest.mark.lab

SUITES = tuple(
    str(REPO / "suites" / "reads" / name)
    for name in (
        "test_glance_config.py",
        "test_nova_config.py",
        "test_cinder_config.py",
        "test_glance_api.py",
        "test_volume_api.py",
        "test_compute_api.py",
    )
)
#: Checks that ask Nova's API; left out on a lab without a compute endpoint.
NOVA_API_CHECKS = ("test_compute_api.py", "test_nova_and_cinder_list_site_az_alike")
#: Same request as test_faults.py's glance_lab, so the session deploys that lab once.
GLANCE_FAULTS = (
    "dcn-glance-without-central",
    "central-glance-without-dcn1",
    "backend-id-typo",
    "copy-image-disabled",
    "conf-wrong-mons",
)
SERVICE_FAULTS = (
    "glance-store-user-missing",
    "glance-no-image-conversion",
    "cinder-cluster-left-default",
    "glance-default-central",
    "public-glance-shows-locations",
    "internal-glance-store-drift",
    "nova-images-on-central",
    "nova-wrong-secret-uuid",
    "nova-glance-from-catalog",
    "cinder-glance-from-catalog",
    "cinder-wrong-secret-uuid",
    "edge-glance-in-catalog",
    "backend-id-typo",
    "cross-az-attach-true",
    "nova-downloads-images",
    "cow-disabled",
)
#: The requirements of this part; every fault that names one is shown below or listed in NOT_SHOWN_HERE.
REQUIREMENTS = {f"R{n}" for n in range(29, 43)} - {"R33", "R36"}
#: Faults naming one of these requirements that no service check can see: a stale cephx key in
#: central's CephExternalMultiConfig (R29, R70) shows in the Ceph key checks and the snapshot copy-back;
#: central without image_conversion (R31, R44) is shown by GLANCECONF-007 on the rendered files
#: (tests/test_serviceconf.py) and by IMAGE-010 on the storage fault lab (test_creates_suite.py).
NOT_SHOWN_HERE = {"central-stale-dcn0-key", "central-no-image-conversion"}
DOWN_TIMEOUT_S = 60.0  # the lab's service_down_time (10 s) plus heartbeats, on a loaded machine


@dataclass(frozen=True)
class Expected:
    """A check case a fault must fail, with fragments its message must contain."""

    key: str  # CHECK-ID[case]
    says: tuple[str, ...]
    needs_nova_api: bool = False


def expect(key: str, *says: str, needs_nova_api: bool = False) -> Expected:
    return Expected(key, says, needs_nova_api)


GLANCE_LAB: dict[str, tuple[Expected, ...]] = {
    "dcn-glance-without-central": (
        expect("GLANCECONF-001[dcn0-hci-0/glance_api]", "dcn0 (dcn0-hci-0 glance_api): [DEFAULT] enabled_backends = "
               "dcn0:rbd;", "'central' item in GlanceMultistoreConfig"),
        expect("API-001[dcn0]", "dcn0: stores dcn0;", "GlanceMultistoreConfig"),
    ),
    "central-glance-without-dcn1": (
        expect("GLANCECONF-001[controller-0/glance_api]", "enabled_backends = central:rbd,dcn0:rbd;",
               "expected [DEFAULT] enabled_backends = central:rbd,dcn0:rbd,dcn1:rbd", "glance-dcn-stores.yaml"),
        expect("API-001[central]", "central: stores central, dcn0;", "glance-dcn-stores.yaml"),
    ),
    "backend-id-typo": (
        expect("GLANCECONF-001[dcn1-hci-0/glance_api]", "enabled_backends = default_backend:rbd,central:rbd",
               "GlanceBackendID"),
        expect("GLANCECONF-002[dcn1-hci-0/glance_api]", "default_backend = default_backend;", "not GlangeBackendID"),
        expect("API-001[dcn1]", "stores central, default_backend", "GlanceBackendID"),
    ),
    "copy-image-disabled": (
        expect("GLANCECONF-005[controller-0/glance_api]", "enabled_import_methods = [web-download];",
               "Add copy-image to GlanceEnabledImportMethods"),
        expect("API-002[central/glance_api]", "central (glance_api): import methods web-download;",
               "Add copy-image to GlanceEnabledImportMethods"),
    ),
    "conf-wrong-mons": (),  # a Ceph client file fault: no service check reads it
}  # fmt: skip

VOLUME_LAB: dict[str, tuple[Expected, ...]] = {
    "cinder-az-mismatch": (
        expect("CINDERCONF-001[dcn1-hci-0]", "storage_availability_zone = dcn1-storage;",
               "CinderStorageAvailabilityZone"),
        expect("API-007[dcn1]", "the site's cluster reports in dcn1-storage", "CinderStorageAvailabilityZone"),
        expect("API-009[dcn1]", "Cinder availability zones = ", "dcn1 available", needs_nova_api=True),
    ),
    "volume-service-down": (
        expect("API-007[dcn0]", "@tripleo_ceph = enabled, down;", "start cinder_volume"),
        expect("API-008[dcn0]", "cluster dcn0@tripleo_ceph = enabled, down, 1 of 1 hosts down",
               "CinderVolumeCluster"),
    ),
}  # fmt: skip

SERVICE_LAB: dict[str, tuple[Expected, ...]] = {
    "glance-store-user-missing": tuple(
        expect(f"GLANCECONF-003[controller-0/{service}]", "[dcn1] rbd_store_user = openstack;",
               "expected [dcn1] rbd_store_user = external", "CephClientUserName")
        for service in ("glance_api", "glance_api_internal")
    ),
    "glance-no-image-conversion": (
        expect("GLANCECONF-007[dcn1-hci-0/glance_api_internal]", "image_import_plugins = [inject_image_metadata];",
               "GlanceImageImportPlugins"),
    ),
    "cinder-cluster-left-default": (
        expect("CINDERCONF-002[dcn0-hci-0]", "[DEFAULT] cluster = dcn;", "cluster = dcn0", "CinderVolumeCluster"),
        expect("API-008[dcn0]", "dcn@tripleo_ceph", "one named dcn0@<backend>", "CinderVolumeCluster"),
    ),
    "glance-default-central": (
        expect("GLANCECONF-002[dcn0-hci-0/glance_api_internal]", "default_backend = central;", "GlanceBackendID"),
        expect("API-001[dcn0]", "dcn0: default store central;", "GlanceBackendID"),
    ),
    "public-glance-shows-locations": (
        expect("GLANCECONF-006[controller-0/glance_api]", "show_image_direct_url = True",
               "show_multiple_locations = True;", "False on the public glance_api after OSSN-0090"),
        expect("API-004[central/glance_api]", "locations/direct_url = shown;", "= hidden", "OSSN-0090"),
    ),
    "internal-glance-store-drift": (
        expect("GLANCECONF-004[controller-0]", "[dcn1] rbd_store_chunk_size = unset in glance_api, 4 in "
               "glance_api_internal", "redeploy the central stack"),
    ),
    "nova-images-on-central": (
        expect("NOVACONF-003[dcn0-hci-0]", "images_rbd_ceph_conf = /etc/ceph/central.conf;",
               "expected [libvirt] images_rbd_ceph_conf = /etc/ceph/dcn0.conf", "NovaEnableRbdBackend"),
    ),
    "nova-wrong-secret-uuid": (
        expect("NOVACONF-005[dcn1-hci-0]", "rbd_secret_uuid = {central.fsid};", "{dcn1.fsid} (the site cluster's fsid)",
               "CephClusterFSID"),
    ),
    "nova-glance-from-catalog": (
        expect("NOVACONF-006[dcn1-hci-0]", "[glance] endpoint_override unset;", "{dcn1.glance}", "GlanceApiEdge"),
    ),
    "cinder-glance-from-catalog": (
        expect("CINDERCONF-004[dcn0-hci-0]", "glance_api_servers unset;", "{dcn0.glance}", "GlanceApiEdge"),
    ),
    "cinder-wrong-secret-uuid": (
        expect("CINDERCONF-003[dcn0-hci-0]", "[tripleo_ceph] rbd_secret_uuid = {central.fsid};", "{dcn0.fsid}",
               "CephClusterFSID"),
    ),
    "edge-glance-in-catalog": (
        expect("API-003[]", "dcn0 image internal endpoint = {dcn0.glance} (dcn0's Glance)",
               "delete endpoints of edge Glance services"),
    ),
    "backend-id-typo": (
        expect("GLANCECONF-001[dcn1-hci-0/glance_api_internal]", "default_backend:rbd,central:rbd", "GlanceBackendID"),
        expect("GLANCECONF-002[dcn1-hci-0/glance_api_internal]", "default_backend = default_backend;",
               "GlangeBackendID"),
        expect("NOVACONF-004[dcn1-hci-0]", "images_rbd_glance_store_name = default_backend;",
               "images_rbd_glance_store_name = dcn1", "GlanceBackendID"),
        expect("API-001[dcn1]", "stores central, default_backend", "GlanceBackendID"),
    ),
    "cross-az-attach-true": (
        expect("NOVACONF-001[dcn0-hci-0]", "[cinder] cross_az_attach = True;", "NovaCrossAZAttach: false"),
    ),
    "nova-downloads-images": (
        expect("NOVACONF-002[dcn0-hci-0]", "never_download_image_if_on_rbd = False;", "NovaDisableImageDownloadToRbd"),
    ),
    "cow-disabled": (
        expect("GLANCECONF-006[dcn1-hci-0/glance_api_internal]", "show_multiple_locations = False;",
               "show_multiple_locations = True"),
        expect("NOVACONF-002[dcn1-hci-0]", "never_download_image_if_on_rbd = False;", "NovaDisableImageDownloadToRbd"),
        expect("API-004[dcn1/glance_api_internal]", "locations/direct_url = hidden;", "= shown"),
    ),
}  # fmt: skip


# --- running the suites on a lab ------------------------------------------------------------------


@functools.cache
def has_nova_api(lab: LabInfo) -> bool:
    """Whether the lab registers a compute endpoint (the lab's Nova model)."""
    conn = connect(lab)
    try:
        return any(
            service["type"] == "compute"
            for service in conn.session.auth.get_access(conn.session).service_catalog.catalog
        )
    finally:
        conn.close()


def lab_central_store(lab: LabInfo) -> str:
    return load_model(lab.model_path).central.store_id


def run_services_suites(lab: LabInfo) -> SuiteRun:
    """Run this part's suite modules on the lab (without the Nova API checks when the lab has no Nova)."""
    add_observable_image(lab)
    if has_nova_api(lab):
        return run_suite(lab.lab_dir, *SUITES)
    suites = [suite for suite in SUITES if not suite.endswith(NOVA_API_CHECKS[0])]
    return run_suite(lab.lab_dir, *suites, "-k", f"not {NOVA_API_CHECKS[1]}")


def fill(text: str, lab: LabInfo) -> str:
    """Expand ``{site.fsid}`` / ``{site.glance}`` placeholders with the lab's values."""
    model = load_model(lab.model_path)
    for site in model.sites:
        text = text.replace(f"{{{site.name}.fsid}}", site.fsid or "?").replace(
            f"{{{site.name}.glance}}", site.glance_endpoint or "?"
        )
    return text


def applicable(expectations: Mapping[str, tuple[Expected, ...]], lab: LabInfo) -> dict[str, tuple[Expected, ...]]:
    nova = has_nova_api(lab)
    return {fault: tuple(e for e in found if nova or not e.needs_nova_api) for fault, found in expectations.items()}


def assert_fault_fails_its_checks(run: SuiteRun, lab: LabInfo, expected: tuple[Expected, ...]) -> None:
    failed = run.failed()
    for case in expected:
        assert case.key in failed, f"{case.key} did not fail; failed: {sorted(failed)}"
        for fragment in case.says:
            assert fill(fragment, lab) in failed[case.key], f"{case.key}: {failed[case.key]}"


def assert_only_expected_failures(run: SuiteRun, expectations: Mapping[str, tuple[Expected, ...]]) -> None:
    wanted = {case.key for found in expectations.values() for case in found}
    assert run.exit_code == 1, run.stderr[-3000:]
    errors = {case: outcome for case, outcome in run.outcomes.items() if outcome == "error"}
    assert errors == {}, run.stderr[-3000:]
    assert set(run.failed()) == wanted


# --- labs -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def glance_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*GLANCE_FAULTS)


@pytest.fixture(scope="module")
def glance_run(glance_lab: LabInfo) -> SuiteRun:
    return run_services_suites(glance_lab)


@pytest.fixture(scope="module")
def volume_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*VOLUME_FAULTS)


@pytest.fixture(scope="module")
def volume_run(volume_lab: LabInfo) -> SuiteRun:
    wait_until_volume_service_down(volume_lab, FAULTS_BY_NAME["volume-service-down"].site)
    return run_services_suites(volume_lab)


@pytest.fixture(scope="module")
def services_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*SERVICE_FAULTS, release="wallaby")


@pytest.fixture(scope="module")
def services_run(services_lab: LabInfo) -> SuiteRun:
    return run_services_suites(services_lab)


@pytest.fixture(scope="module")
def healthy_run(healthy_lab: LabInfo) -> Iterator[SuiteRun]:
    yield run_services_suites(healthy_lab)


def wait_until_volume_service_down(lab: LabInfo, site: str) -> None:
    """Cinder marks a stopped cinder-volume down only once its heartbeats are older than service_down_time."""
    conn = connect(lab)
    try:
        waiters.wait_for(
            lambda: volumeapi.get_volume_services(conn),
            lambda services: any(s.zone == site and s.state == "down" for s in services),
            timeout_s=DOWN_TIMEOUT_S,
            description=f"{site}'s cinder-volume reported down",
            describe=lambda services: "; ".join(volumeapi.describe_service(s) for s in services),
        )
    finally:
        conn.close()


# --- tests ----------------------------------------------------------------------------------------


def test_service_checks_pass_on_a_healthy_lab(healthy_run: SuiteRun, healthy_lab: LabInfo) -> None:
    assert healthy_run.exit_code == 0, healthy_run.failed() or healthy_run.stderr[-3000:]
    skipped = {case: healthy_run.messages[case] for case, o in healthy_run.outcomes.items() if o == "skipped"}
    assert all(reason.startswith("release ") for reason in skipped.values()), skipped


@pytest.mark.parametrize("fault", list(GLANCE_LAB))
def test_glance_fault_fails_exactly_its_service_checks(fault: str, glance_run: SuiteRun, glance_lab: LabInfo) -> None:
    assert_fault_fails_its_checks(glance_run, glance_lab, applicable(GLANCE_LAB, glance_lab)[fault])


def test_glance_lab_fails_no_other_service_check(glance_run: SuiteRun, glance_lab: LabInfo) -> None:
    assert_only_expected_failures(glance_run, applicable(GLANCE_LAB, glance_lab))


@pytest.mark.parametrize("fault", list(VOLUME_LAB))
def test_volume_fault_fails_exactly_its_service_checks(fault: str, volume_run: SuiteRun, volume_lab: LabInfo) -> None:
    assert_fault_fails_its_checks(volume_run, volume_lab, applicable(VOLUME_LAB, volume_lab)[fault])


def test_volume_lab_fails_no_other_service_check(volume_run: SuiteRun, volume_lab: LabInfo) -> None:
    assert_only_expected_failures(volume_run, applicable(VOLUME_LAB, volume_lab))


@pytest.mark.parametrize("fault", list(SERVICE_LAB))
def test_service_fault_fails_exactly_its_checks(fault: str, services_run: SuiteRun, services_lab: LabInfo) -> None:
    assert_fault_fails_its_checks(services_run, services_lab, applicable(SERVICE_LAB, services_lab)[fault])


def test_services_lab_fails_no_other_service_check(services_run: SuiteRun, services_lab: LabInfo) -> None:
    assert_only_expected_failures(services_run, applicable(SERVICE_LAB, services_lab))


def test_every_fault_of_this_part_is_shown() -> None:
    shown = set(GLANCE_LAB) | set(VOLUME_LAB) | set(SERVICE_LAB)
    ours = {name for name, fault in FAULTS_BY_NAME.items() if set(fault.requirements) & REQUIREMENTS}
    assert ours - shown <= NOT_SHOWN_HERE, sorted(ours - shown - NOT_SHOWN_HERE)
