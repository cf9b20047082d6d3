"""The read-only Ceph suites (clusters, keys, client confs) on healthy labs and on labs with faults.

Each faulty lab carries several faults that break disjoint checks, the suites run once per lab, and
the complete set of failed ``CHECK-ID[case]`` keys of that lab must equal the union of what its
faults are expected to break; each fault's own test then reads its failure messages. Which check a
fault breaks, and why:

- ``keys_lab``: caps of client.openstack/client.external, keyring and conf files, admin keyring mode;
- ``cluster_lab``: the running clusters (an OSD down, noout, a pool without rbd, a mon down), a stale
  key and wrong mons in a conf (kept away from ``dcn-no-write-to-central``, which breaks the same
  CONF-006 cases), conf mode and a conf without ``[client.libvirt]``.

The new faults' effects are shown with plain ``ceph``/``stat`` probes next to their checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lab_support import SuiteRun, run_suite

from dcn_checks.cephconf import parse_ceph_conf
from dcn_checks.lab import ceph, deploy, nodes
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.model import load_model

pytestmark = pytest.mark.lab

SUITES = (
    "suites/reads/test_ceph_clusters.py",
    "suites/reads/test_ceph_keys.py",
    "suites/reads/test_ceph_client_configs.py",
)
KEYS_LAB = (
    "external-caps-wrong",
    "external-caps-missing",
    "keyring-mode-0644",
    "conf-wrong-fsid",
    "dcn-no-write-to-central",
    "openstack-caps-wrong",
    "admin-keyring-mode-0644",
    "conf-without-keyring-override",
)
CLUSTER_LAB = (
    "keyring-unknown-key",
    "conf-wrong-mons",
    "osd-down",
    "noout-left-set",
    "pool-without-rbd-app",
    "mon-down",
    "conf-mode-0600",
    "conf-without-libvirt-section",
)

#: Fault → the failed cases it causes → fragments its failure message must contain (the last one
#: is always from the remediation, so the message names the fixing parameter).
EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    "external-caps-wrong": {
        "KEYS-002[dcn0]": ("dcn0: client.external on cluster dcn0: osd lacks 'profile rbd pool=vms'", "CephExtraKeys"),
    },
    "external-caps-missing": {
        "KEYS-002[dcn1]": ("dcn1: client.external on cluster dcn1: mon lacks 'profile rbd'", "CephExtraKeys"),
        "CONF-006[central->dcn1]": ("central (controller-0) -> dcn1: rbd --cluster dcn1", "failed (rc 13",
                                    "CephExternalMultiConfig"),
    },
    "keyring-mode-0644": {
        "KEYS-003[dcn0-hci-0->central]": ("dcn0-hci-0 -> central: /etc/ceph/central.client.external.keyring is "
                                          "0644 root; expected mode 0600, owner root", "mode 0600"),
    },
    "conf-wrong-fsid": {
        "CONF-002[dcn1-hci-0->central]": ("dcn1-hci-0 -> central: central.conf has fsid", "CephClusterFSID"),
    },
    "dcn-no-write-to-central": {
        "KEYS-002[central]": ("osd lacks 'profile rbd pool=images'", "has 'profile rbd-read-only pool=images' beyond",
                              "CephExtraKeys"),
        "CONF-006[dcn0->central]": ("dcn0 (dcn0-hci-0) -> central: client.external may only read pool images of "
                                    "central", "CephExtraKeys"),
        "CONF-006[dcn1->central]": ("dcn1 (dcn1-hci-0) -> central: client.external may only read pool images",
                                    "CephExtraKeys"),
    },
    "openstack-caps-wrong": {
        "KEYS-001[central]": ("central: client.openstack on cluster central: osd lacks 'profile rbd pool=images'",
                              "ceph auth caps"),
    },
    "admin-keyring-mode-0644": {
        "CLUSTER-001[central]": ("central (controller-0): /etc/ceph/central.client.admin.keyring is 0644 root",
                                 "mode 0600, owner root"),
    },
    "conf-without-keyring-override": {
        "CONF-004[dcn1-hci-0->central]": ("dcn1-hci-0 -> central: central.conf has no [client] keyring; expected "
                                          "[client] keyring = /etc/ceph/central.client.external.keyring",
                                          "ceph_conf_overrides"),
    },
    "keyring-unknown-key": {
        "KEYS-004[dcn0-hci-0->central]": ("dcn0-hci-0 -> central: /etc/ceph/central.client.external.keyring holds "
                                          "a key for client.external that cluster central does not know",
                                          "CephExternalMultiConfig"),
        "CONF-006[dcn0->central]": ("dcn0 (dcn0-hci-0) -> central", "failed (rc 13", "CephExternalMultiConfig"),
    },
    "conf-wrong-mons": {
        "CONF-003[dcn1-hci-0->central]": ("dcn1-hci-0 -> central: mon host names", "no mon of central",
                                          "mon host leaves out mon.a", "external_cluster_mon_ips"),
        "CONF-006[dcn1->central]": ("dcn1 (dcn1-hci-0) -> central", "failed (rc 13", "CephExternalMultiConfig"),
    },
    "osd-down": {
        "CLUSTER-004[dcn0]": ("dcn0 (dcn0-hci-0): cluster dcn0 has 1 of 2 OSDs up, 2 in", "ceph osd tree"),
    },
    "noout-left-set": {
        "CLUSTER-002[dcn1]": ("dcn1 (dcn1-hci-0): cluster dcn1 is HEALTH_WARN (OSDMAP_FLAGS: noout flag(s) set)",
                              "ceph health detail"),
    },
    "pool-without-rbd-app": {
        "CLUSTER-005[dcn1]": ("dcn1 (dcn1-hci-0): cluster dcn1: pool vms has application none, not rbd",
                              "ceph osd pool application enable"),
    },
    "mon-down": {
        "CLUSTER-002[dcn0]": ("cluster dcn0 is HEALTH_WARN (MON_DOWN: 1/3 mons down, quorum a,b)", "ceph health"),
        "CLUSTER-003[dcn0]": ("cluster dcn0 has 3 mons", "mon.c out of quorum; expected 1 mons", "ceph mon remove"),
        "CLUSTER-006[dcn0]": ("dcn0: nothing listens on mon.c v2:127.0.0.1:", "open ports 3300 and 6789"),
        "CONF-003[controller-0->dcn0]": ("mon host leaves out mon.b; mon host leaves out mon.c",
                                         "external_cluster_mon_ips"),
        "CONF-003[dcn0-hci-0->dcn0]": ("mon host leaves out mon.b; mon host leaves out mon.c",
                                       "external_cluster_mon_ips"),
    },
    "conf-mode-0600": {
        "CONF-001[dcn0-hci-0->central]": ("dcn0-hci-0 -> central: /etc/ceph/central.conf is 0600 root", "mode 0644"),
    },
    "conf-without-libvirt-section": {
        "CONF-005[dcn0-hci-0]": ("dcn0-hci-0 -> dcn0: dcn0.conf has no [client.libvirt] section",
                                 "[client.libvirt] (admin socket, log file)"),
    },
}  # fmt: skip


def expected_failures(faults: tuple[str, ...]) -> set[str]:
    return {case for fault in faults for case in EXPECTED[fault]}


def run_ceph_suites(info: LabInfo) -> SuiteRun:
    return run_suite(info.lab_dir, "-m", "reads", "-p", "no:cacheprovider", *SUITES)


# --- labs and runs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy_run(healthy_lab: LabInfo) -> SuiteRun:
    return run_ceph_suites(healthy_lab)


@pytest.fixture(scope="module")
def keys_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*KEYS_LAB)


@pytest.fixture(scope="module")
def cluster_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*CLUSTER_LAB)


@pytest.fixture(scope="module")
def keys_run(keys_lab: LabInfo) -> SuiteRun:
    return run_ceph_suites(keys_lab)


@pytest.fixture(scope="module")
def cluster_run(cluster_lab: LabInfo) -> SuiteRun:
    return run_ceph_suites(cluster_lab)


@pytest.fixture(scope="module")
def runs(keys_run: SuiteRun, cluster_run: SuiteRun) -> Iterator[dict[str, SuiteRun]]:
    yield {**dict.fromkeys(KEYS_LAB, keys_run), **dict.fromkeys(CLUSTER_LAB, cluster_run)}


# --- healthy labs -------------------------------------------------------------------------------------


def test_every_ceph_check_passes_on_a_healthy_lab(healthy_run: SuiteRun) -> None:
    assert healthy_run.exit_code == 0, healthy_run.failed() or healthy_run.stderr[-2000:]
    outcomes = set(healthy_run.outcomes.values())
    assert outcomes == {"passed"}, healthy_run.messages
    checks = set(healthy_run.check_ids.values())
    assert {f"CLUSTER-00{n}" for n in range(1, 7)} | {f"KEYS-00{n}" for n in range(1, 5)} <= checks
    assert {f"CONF-00{n}" for n in range(1, 7)} <= checks


def test_every_ceph_check_passes_with_six_sites(deploy_lab: Callable[..., LabInfo]) -> None:
    run = run_ceph_suites(deploy_lab(sites=5))
    assert run.exit_code == 0, run.failed() or run.stderr[-2000:]
    assert set(run.outcomes.values()) == {"passed"}
    assert "CONF-006[central->dcn4]" in {f"{run.check_ids[c]}[{c.partition('[')[2][:-1]}]" for c in run.outcomes}


def test_wallaby_key_option_1_lab_passes_and_skips_only_client_external(deploy_lab: Callable[..., LabInfo]) -> None:
    """At wallaby the files live in /var/lib/tripleo-config/ceph, and with key option 1 the sites share
    client.openstack, so KEYS-002 has nothing to check (its one explained skip)."""
    run = run_ceph_suites(deploy_lab(release="wallaby", key_option=1))
    assert run.exit_code == 0, run.failed() or run.stderr[-2000:]
    skipped = {case: run.messages[case] for case, outcome in run.outcomes.items() if outcome == "skipped"}
    assert {run.check_ids[case] for case in skipped} == {"KEYS-002"}
    assert all("key option 1" in message for message in skipped.values()), skipped
    assert not run.failed()


# --- faulty labs --------------------------------------------------------------------------------------


def test_keys_lab_fails_exactly_the_expected_cases(keys_run: SuiteRun) -> None:
    assert keys_run.exit_code == 1, keys_run.stderr[-2000:]
    assert set(keys_run.failed()) == expected_failures(KEYS_LAB)


def test_cluster_lab_fails_exactly_the_expected_cases(cluster_run: SuiteRun) -> None:
    assert cluster_run.exit_code == 1, cluster_run.stderr[-2000:]
    assert set(cluster_run.failed()) == expected_failures(CLUSTER_LAB)


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_fails_its_checks_with_a_message_naming_the_fix(fault: str, runs: dict[str, SuiteRun]) -> None:
    failed = runs[fault].failed()
    for case, fragments in EXPECTED[fault].items():
        assert case in failed, f"{fault}: {case} did not fail"
        message = failed[case]
        assert "\n" not in message
        for fragment in fragments:
            assert fragment in message, f"{fault}: {case}: {fragment!r} not in {message!r}"


def test_every_fault_of_these_labs_has_expectations() -> None:
    assert sorted(EXPECTED) == sorted(KEYS_LAB + CLUSTER_LAB)


# --- what the new faults do, seen without the checks ---------------------------------------------------


def admin(info: LabInfo, site: str, *args: str) -> str:
    """``ceph <args>`` as client.admin of the site's cluster, with the lab's own conf and keyring."""
    model_site = load_model(info.model_path).site(site)
    directory = ceph.cluster_dir(info.lab_dir, model_site.cluster)
    cluster = ceph.Cluster(
        name=model_site.cluster, fsid="", dir=directory, conf_path=directory / f"{model_site.cluster}.conf",
        admin_keyring_path=directory / f"{model_site.cluster}.client.admin.keyring", mon_host="", mon_pid=0, osd_pid=0,
    )  # fmt: skip
    return nodes.check(ceph.ceph_admin(cluster, [*args, "-f", "json"]), f"{site}: ceph {' '.join(args)}").stdout


def ceph_file(info: LabInfo, node: str, name: str) -> Path:
    return deploy.node_root(info.lab_dir, node) / "etc" / "ceph" / name


def test_openstack_caps_wrong_drops_central_images_grant(keys_lab: LabInfo, cluster_lab: LabInfo) -> None:
    [broken] = json.loads(admin(keys_lab, "central", "auth", "get", "client.openstack"))
    [intact] = json.loads(admin(cluster_lab, "central", "auth", "get", "client.openstack"))
    assert "pool=images" not in broken["caps"]["osd"] and "pool=images" in intact["caps"]["osd"]


def test_osd_down_adds_an_osd_that_is_not_up(cluster_lab: LabInfo) -> None:
    stat = json.loads(admin(cluster_lab, "dcn0", "osd", "stat"))
    assert (stat["num_osds"], stat["num_up_osds"]) == (2, 1)


def test_noout_left_set_shows_in_the_osdmap_flags(cluster_lab: LabInfo, keys_lab: LabInfo) -> None:
    assert "noout" in json.loads(admin(cluster_lab, "dcn1", "osd", "dump"))["flags"]
    assert "noout" not in json.loads(admin(keys_lab, "dcn1", "osd", "dump"))["flags"]


def test_pool_without_rbd_app_leaves_vms_without_application(cluster_lab: LabInfo) -> None:
    pools = {p["pool_name"]: p["application_metadata"] for p in json.loads(admin(cluster_lab, "dcn1", "osd", "pool",
                                                                                  "ls", "detail"))}  # fmt: skip
    assert pools["vms"] == {} and pools["images"] == {"rbd": {}}


def test_mon_down_leaves_three_mons_with_two_in_quorum(cluster_lab: LabInfo) -> None:
    monmap = json.loads(admin(cluster_lab, "dcn0", "mon", "dump"))
    assert [mon["name"] for mon in monmap["mons"]] == ["a", "b", "c"]
    assert monmap["quorum"] == [0, 1]


def test_node_faults_change_modes_and_sections(keys_lab: LabInfo, cluster_lab: LabInfo) -> None:
    assert ceph_file(keys_lab, "controller-0", "central.client.admin.keyring").stat().st_mode & 0o777 == 0o644
    assert ceph_file(cluster_lab, "controller-0", "central.client.admin.keyring").stat().st_mode & 0o777 == 0o600
    assert ceph_file(cluster_lab, "dcn0-hci-0", "central.conf").stat().st_mode & 0o777 == 0o600
    libvirt = parse_ceph_conf(ceph_file(cluster_lab, "dcn0-hci-0", "dcn0.conf").read_text())
    assert "client.libvirt" not in libvirt.sections


def test_conf_without_keyring_override_still_reaches_central(keys_lab: LabInfo) -> None:
    """Ceph takes the cluster name from the conf's file name and finds /etc/ceph/central.client.external.keyring
    by default, so the fault breaks the documented layout, not the connection."""
    conf = parse_ceph_conf(ceph_file(keys_lab, "dcn1-hci-0", "central.conf").read_text())
    assert conf.keyring is None
    argv = ["rbd", "--conf", "/etc/ceph/central.conf", "--id", "external", "-p", "images", "ls"]
    listed = nodes.run_on_node(argv, deploy.ceph_binds(keys_lab.lab_dir, "dcn1-hci-0", keys_lab.release), timeout_s=20)
    assert listed.ok, listed.stderr
