"""The site model: valid files load into frozen values, bad files give one clear line and exit 4."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dcn_checks.cli import main
from dcn_checks.model import load_model, model_with_sites

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "models"

VALID_HEAD = "release: {release}\nkey_option: 2\nsites:\n"


def test_document_example_model_loads_with_defaults_filled_in() -> None:
    model = load_model(FIXTURES / "dms-example.yaml")
    assert [site.name for site in model.sites] == ["central", "dcn0", "dcn1"]
    dcn0 = model.site("dcn0")
    assert (dcn0.stack, dcn0.cluster, dcn0.az, dcn0.store_id) == ("dcn0", "dcn0", "dcn0", "dcn0")
    assert dcn0.store_description == "dcn0 rbd glance store"
    assert dcn0.volume_cluster == "dcn0"
    assert model.central.stack == "control-plane"
    assert model.central.volume_cluster is None
    assert model.client_user == "external"
    assert [n.name for n in dcn0.nodes_with("GlanceApiEdge")] == ["dcn0-hci-0", "dcn0-hci-1", "dcn0-hci-2"]


def test_model_values_are_frozen() -> None:
    model = load_model(FIXTURES / "dms-example.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.central.cluster = "other"  # type: ignore[misc]


def test_central_is_listed_first_whatever_the_file_order(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(VALID_HEAD.format(release="zed") + "  - name: dcn0\n  - name: central\n")
    model = load_model(path)
    assert [s.name for s in model.sites] == ["central", "dcn0"]
    assert [(a.name, b.name) for a, b in model.site_pairs()] == [("central", "dcn0"), ("dcn0", "central")]


def test_generated_site_counts_have_distinct_names_and_mons() -> None:
    model = model_with_sites(50, release="wallaby")
    assert len(model.dcn_sites) == 50
    assert len({site.mons for site in model.sites}) == 51


SITES_OK = "  - name: central\n    mons: [10.0.0.1]\n  - name: dcn0\n    mons: [10.0.1.1]\n"

# (id, model text, expected error line after "dcn-checks: <file>: ")
BAD_MODELS = [
    ("not-yaml", "release: [ussuri\n", "line 2: expected ',' or ']', but got '<stream end>'"),
    ("not-a-mapping", "- a\n- b\n", "the model must be a mapping with release, key_option and sites"),
    (
        "unknown-top-key",
        "release: ussuri\nsitez: []\n",
        "sitez: unknown key; allowed keys are key_option, name, release, sites",
    ),
    (
        "missing-release",
        "key_option: 2\nsites:\n" + SITES_OK,
        "release: missing; one of ussuri, victoria, wallaby, zed",
    ),
    (
        "unknown-release",
        "release: yoga\nsites:\n" + SITES_OK,
        "release: unknown release 'yoga'; one of ussuri, victoria, wallaby, zed",
    ),
    (
        "bad-key-option",
        "release: ussuri\nkey_option: 3\nsites:\n" + SITES_OK,
        "key_option: must be 1 (shared openstack key) or 2 (client.external), not 3",
    ),
    ("no-sites", "release: ussuri\nsites: []\n", "sites: must be a non-empty list of sites"),
    (
        "duplicate-yaml-key",
        "release: ussuri\nrelease: zed\nsites:\n" + SITES_OK,
        "line 2: found duplicate key 'release'",
    ),
    (
        "unknown-site-key",
        VALID_HEAD + "  - name: central\n    clustr: x\n",
        "sites[central].clustr: unknown key; allowed keys are az, cinder_az, cluster, fsid, glance_endpoint, kind, "
        "mons, name, nodes, pools, stack, store_description, store_id, volume_cluster",
    ),
    (
        "duplicate-site",
        VALID_HEAD + SITES_OK + "  - name: dcn0\n    az: other\n    cluster: c2\n",
        "sites[dcn0].name: duplicate site name 'dcn0' (also at dcn0)",
    ),
    (
        "no-central",
        VALID_HEAD + "  - name: dcn0\n",
        "sites: no central site; name one site 'central' or give it kind: central",
    ),
    (
        "two-centrals",
        VALID_HEAD + "  - name: central\n  - name: main\n    kind: central\n",
        "sites: more than one central site (central, main); a deployment has exactly one",
    ),
    (
        "cluster-not-alphanumeric",
        VALID_HEAD + "  - name: central\n  - name: dcn-1\n",
        "sites[dcn-1].cluster: 'dcn-1' is not alphanumeric (CephClusterName pattern [a-zA-Z0-9]+)",
    ),
    (
        "duplicate-cluster",
        VALID_HEAD + "  - name: central\n  - name: dcn0\n    cluster: central\n",
        "sites[dcn0].cluster: duplicate cluster name 'central' (also at central)",
    ),
    (
        "two-ceph-clusters",
        VALID_HEAD + "  - name: central\n    cluster: ceph\n  - name: dcn0\n    cluster: ceph\n",
        "sites[dcn0].cluster: a second cluster named 'ceph' (also at central); every node that is a client of two "
        "clusters needs distinct CephClusterName values",
    ),
    (
        "duplicate-store",
        "release: ussuri\nsites:\n  - name: central\n  - name: dcn0\n    store_id: central\n",
        "sites[dcn0].store_id: duplicate store ID 'central' (also at central)",
    ),
    (
        "store-id-differs-from-site",
        VALID_HEAD + "  - name: central\n  - name: dcn0\n    store_id: edge0\n",
        "sites[dcn0].store_id: 'edge0' differs from the site name; at {release} Nova finds the local store by "
        "GlanceBackendID, so the store must be called 'dcn0'",
    ),
    (
        "az-mismatch",
        VALID_HEAD + "  - name: central\n  - name: dcn0\n    cinder_az: az1\n",
        "sites[dcn0].cinder_az: 'az1' differs from the Nova az 'dcn0'; a site's Cinder storage AZ must equal its Nova "
        "AZ (CinderStorageAvailabilityZone = NovaComputeAvailabilityZone)",
    ),
    ("bad-fsid", VALID_HEAD + "  - name: central\n    fsid: 1234\n", "sites[central].fsid: 1234 is not a UUID"),
    (
        "bad-mon",
        VALID_HEAD + "  - name: central\n    mons: [mon.example]\n",
        "sites[central].mons: 'mon.example' is not a mon IP address",
    ),
    (
        "unknown-role",
        VALID_HEAD + "  - name: central\n  - name: dcn0\n    nodes: [{name: n0, roles: [Controller]}]\n",
        "sites[dcn0].nodes[0].roles: 'Controller' is not a dcn role; one of CephAll, Compute, DistributedCompute, "
        "DistributedComputeHCI, DistributedComputeHCIScaleOut, DistributedComputeScaleOut",
    ),
    (
        "dcn-without-glance",
        VALID_HEAD
        + "  - name: central\n  - name: dcn0\n    nodes: [{name: n0, roles: [DistributedComputeScaleOut]}]\n",
        "sites[dcn0].nodes: no node runs GlanceApiEdge; a DCN site with storage needs a DistributedComputeHCI or "
        "DistributedCompute node",
    ),
    (
        "duplicate-node",
        VALID_HEAD + "  - name: central\n    nodes: [{name: n0, roles: [Controller]}]\n"
        "  - name: dcn0\n    nodes: [{name: n0, roles: [DistributedComputeHCI]}]\n",
        "sites[dcn0].nodes: duplicate node name 'n0' (also at central)",
    ),
    (
        "bad-pool",
        VALID_HEAD + "  - name: central\n    pools: {images: 'my images'}\n",
        "sites[central].pools.images: 'my images' is not a valid pool name",
    ),
    (
        "unknown-pool",
        VALID_HEAD + "  - name: central\n    pools: {backups: b}\n",
        "sites[central].pools.backups: unknown key; allowed keys are images, vms, volumes",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in BAD_MODELS], ids=[case[0] for case in BAD_MODELS])
def test_bad_model_gives_one_clear_line_and_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(text.replace("{release}", "zed"))
    code = main(["generate", "--model", str(path), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 4
    assert captured.err == f"dcn-checks: {path}: {expected.replace('{release}', 'zed')}\n"
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_missing_model_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "--model", str(tmp_path / "absent.yaml"), "--out", str(tmp_path / "out")])
    assert code == 4
    assert capsys.readouterr().err == f"dcn-checks: {tmp_path / 'absent.yaml'}: no such file (the site model)\n"


def test_usage_error_exits_4_not_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--model", "x.yaml"]) == 4
    assert capsys.readouterr().err == "dcn-checks: generate: the following arguments are required: --out\n"


@pytest.mark.parametrize(
    "mons",
    [
        "[fd00::1, fd00::2, fd00::3]",
        "'fd00::1, fd00::2'",
        "['[fd00::1]:6789']",
        "['[v2:[fd00::1]:3300,v1:[fd00::1]:6789]']",
        "[172.16.11.84]",
    ],
)
def test_mons_may_be_ipv6_as_ceph_writes_them(tmp_path: Path, mons: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(VALID_HEAD.format(release="wallaby") + f"  - name: central\n    mons: {mons}\n")
    model = load_model(path)
    assert model.central.mons and all(mon.strip() for mon in model.central.mons)


def test_generator_writes_ipv6_mons_into_external_cluster_mon_ips(tmp_path: Path) -> None:
    from dcn_checks.cephx import Secret
    from dcn_checks.generator.keystore import ClusterSecrets
    from dcn_checks.generator.stacks import external_cluster

    path = tmp_path / "m.yaml"
    path.write_text(VALID_HEAD.format(release="wallaby") + "  - name: central\n    mons: [fd00::1, fd00::2]\n")
    site = load_model(path).central
    item = external_cluster(site, ClusterSecrets("f", {"external": Secret("k")}), "external")
    assert item["external_cluster_mon_ips"] == "fd00::1, fd00::2"
