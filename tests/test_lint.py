"""The lint flags each DCN storage trap with one exact line, and passes clean directories."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcn_checks.cli import main
from dcn_checks.generator import generate
from dcn_checks.lint.envdir import parse_deploy_environments
from dcn_checks.model import load_model

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "tests" / "data" / "envdirs" / "dms-ussuri-as-written"
EXAMPLE_MODEL = ROOT / "fixtures" / "models" / "dms-example.yaml"
THT_ROOT = "/usr/share/openstack-tripleo-heat-templates/"
DEPLOY = "openstack overcloud deploy --stack dcn0 -e "


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(load_model(EXAMPLE_MODEL), out)
    return out


def run_lint(directory: Path, capsys: pytest.CaptureFixture[str], release: str = "ussuri") -> tuple[int, list[str]]:
    code = main(["lint", str(directory), "--release", release])
    return code, capsys.readouterr().out.splitlines()


def edit(directory: Path, relative: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / relative
    data = yaml.safe_load(path.read_text())
    change(data["parameter_defaults"])
    path.write_text(yaml.safe_dump(data))


def test_clean_generated_directory_passes(clean_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lint", str(clean_dir), "--release", "ussuri"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (0, "")
    assert captured.err == f"{clean_dir}: no problems found for release ussuri\n"


def test_documents_own_example_files_are_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    """The golden list of the document's directory as written (role counts in ``roles-counts.yaml``, as its text
    says, while its deploy commands pass ``role-counts.yaml``): only its real traps, release read from the files."""
    code = main(["lint", str(DOC)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines() == (DOC.parent / "dms-ussuri-as-written.findings").read_text().splitlines()
    assert "release ussuri, read from the files: dcn0/deploy.sh deploys with environments/dcn-hci.yaml" in captured.err


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda params: params.__setitem__(name, value)


def _external(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda params: change(params["CephExternalMultiConfig"][0])


def _extra_key(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda params: change(params["CephExtraKeys"][0])


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    return lambda params: params.__setitem__(new, params.pop(old))


# (id, file to edit, change, release, expected line)
TRAPS: list[tuple[str, str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "import-plugin-typo",
        "control-plane/glance.yaml",
        _set("GlanceImageImportPlugin", []),
        "ussuri",
        "control-plane/glance.yaml: GlanceImageImportPlugin: not defined by tripleo-heat-templates master-2021-03, so "
        "Heat ignores it (did you mean GlanceImageImportPlugins?) [unknown-parameter]",
    ),
    (
        "manage-networks-at-zed",
        "dcn1/az.yaml",
        _set("ManageNetworks", False),
        "zed",
        "dcn1/az.yaml: ManageNetworks: not defined by tripleo-heat-templates stable-zed, so Heat ignores it "
        "[unknown-parameter]",
    ),
    (
        "wrong-type",
        "dcn0/glance.yaml",
        _set("GlanceShowMultipleLocations", "maybe"),
        "ussuri",
        "dcn0/glance.yaml: GlanceShowMultipleLocations: expects a boolean, got str [parameter-type]",
    ),
    (
        "backend-id-disagrees",
        "dcn1/glance.yaml",
        _set("GlanceBackendID", "edge1"),
        "ussuri",
        "dcn1/glance.yaml: GlanceBackendID: set to 'edge1' at dcn1, but control-plane calls the dcn1 cluster's store "
        "'dcn1'; set GlanceBackendID: dcn1 so every Glance agrees on store names [backend-id]",
    ),
    (
        "no-copy-image",
        "dcn0/glance.yaml",
        _set("GlanceEnabledImportMethods", "web-download"),
        "ussuri",
        "dcn0/glance.yaml: GlanceEnabledImportMethods: is 'web-download' at dcn0; add copy-image "
        "(e.g. web-download,copy-image) [copy-image]",
    ),
    (
        "cross-az-attach-true",
        "dcn0/az.yaml",
        _set("NovaCrossAZAttach", True),
        "ussuri",
        "dcn0/az.yaml: NovaCrossAZAttach: is true at dcn0; volumes for boot-from-volume land in the default AZ "
        "(include the dcn environment or set NovaCrossAZAttach: false) [cross-az-attach]",
    ),
    (
        "az-mismatch",
        "dcn0/az.yaml",
        _set("CinderStorageAvailabilityZone", "edge0"),
        "ussuri",
        "dcn0/az.yaml: CinderStorageAvailabilityZone: is 'edge0' at dcn0 but the Nova AZ is 'dcn0'; set "
        "CinderStorageAvailabilityZone: dcn0 [az-mismatch]",
    ),
    (
        "external-without-fsid",
        "central_ceph_external.yaml",
        _external(lambda item: item.pop("fsid")),
        "ussuri",
        "central_ceph_external.yaml: CephExternalMultiConfig[central].fsid: has no fsid; 'openstack overcloud export "
        "ceph' "
        "writes it [external-config]",
    ),
    (
        "external-without-mons",
        "central_ceph_external.yaml",
        _external(lambda item: item.__setitem__("external_cluster_mon_ips", "")),
        "ussuri",
        "central_ceph_external.yaml: CephExternalMultiConfig[central].external_cluster_mon_ips: has no "
        "external_cluster_mon_ips; 'openstack "
        "overcloud export ceph' writes it [external-config]",
    ),
    (
        "external-without-keys",
        "central_ceph_external.yaml",
        _external(lambda item: item.pop("keys")),
        "ussuri",
        "central_ceph_external.yaml: CephExternalMultiConfig[central].keys: has no keys; 'openstack overcloud export "
        "ceph' "
        "writes it [external-config]",
    ),
    (
        "dashboard-enabled",
        "control-plane/dcn_ceph_external.yaml",
        _external(lambda item: item.pop("dashboard_enabled")),
        "ussuri",
        "control-plane/dcn_ceph_external.yaml: CephExternalMultiConfig[dcn0].dashboard_enabled: must set "
        "dashboard_enabled: false; the "
        "dashboard cannot be deployed on a client of an external cluster [external-config]",
    ),
    (
        "keyring-path-wrong-cluster",
        "central_ceph_external.yaml",
        _external(
            lambda item: item.__setitem__(
                "ceph_conf_overrides", {"client": {"keyring": "/etc/ceph/ceph.client.external.keyring"}}
            )
        ),
        "ussuri",
        "central_ceph_external.yaml: CephExternalMultiConfig[central].ceph_conf_overrides.client.keyring: "
        "ceph_conf_overrides client keyring is "
        "'/etc/ceph/ceph.client.external.keyring'; expected /etc/ceph/central.client.external.keyring for cluster "
        "central, user external [keyring-path]",
    ),
    (
        "external-caps",
        "dcn0/dcn_ceph_keys.yaml",
        _extra_key(lambda key: key["caps"].__setitem__("osd", "profile rbd pool=images")),
        "ussuri",
        "dcn0/dcn_ceph_keys.yaml: CephExtraKeys[client.external]: client.external caps differ from the documented "
        "ones: osd 'profile rbd pool=images' (expected 'profile rbd pool=vms, profile rbd pool=volumes, profile rbd "
        "pool=images') [external-caps]",
    ),
    (
        "malformed-key",
        "dcn1/dcn_ceph_keys.yaml",
        _extra_key(lambda key: key.__setitem__("key", "not-a-key")),
        "ussuri",
        "dcn1/dcn_ceph_keys.yaml: CephExtraKeys[client.external]: the key is not 40 base64 characters ending in '==' "
        "(Heat pattern ^[a-zA-Z0-9+/]{38}==$) [key-format]",
    ),
    (
        "multistore-without-backend",
        "dcn0/glance.yaml",
        lambda p: p["GlanceMultistoreConfig"]["central"].pop("GlanceBackend"),
        "ussuri",
        "dcn0/glance.yaml: GlanceMultistoreConfig.central.GlanceBackend: store 'central' has no GlanceBackend; puppet "
        "fails with "
        "'does not specify a glance_backend' [multistore-backend]",
    ),
    (
        "dcn-without-central-store",
        "dcn0/glance.yaml",
        lambda p: p.pop("GlanceMultistoreConfig"),
        "ussuri",
        "dcn0/glance.yaml: GlanceMultistoreConfig: dcn0 Glance has no store on the central cluster 'central'; add a "
        "'central' item so images can be copied between sites [multistore-cluster]",
    ),
    (
        "central-without-dcn-store",
        "control-plane/glance-dcn-stores.yaml",
        lambda p: p["GlanceMultistoreConfig"].pop("dcn1"),
        "ussuri",
        "control-plane/glance-dcn-stores.yaml: GlanceMultistoreConfig: central has no store on the dcn1 cluster; add "
        "dcn1 to GlanceMultistoreConfig of the control-plane stack (glance-dcn-stores.yaml) [multistore-cluster]",
    ),
    (
        "cinder-multi-config-unknown-cluster",
        "dcn0/glance.yaml",
        _set("CinderRbdMultiConfig", {"other": {"CephClusterName": "dcn7"}}),
        "wallaby",
        "dcn0/glance.yaml: CinderRbdMultiConfig.other.CephClusterName: backend 'other' uses cluster 'dcn7', which is "
        "not in "
        "CephExternalMultiConfig [cinder-multi-config]",
    ),
]


@pytest.mark.parametrize(
    ("relative", "change", "release", "expected"), [t[1:] for t in TRAPS], ids=[t[0] for t in TRAPS]
)
def test_lint_flags_the_trap_with_one_exact_line(
    tmp_path: Path,
    clean_dir: Path,
    capsys: pytest.CaptureFixture[str],
    relative: str,
    change: Callable[[dict[str, Any]], None],
    release: str,
    expected: str,
) -> None:
    directory = tmp_path / "env"
    if release == "ussuri":
        shutil.copytree(clean_dir, directory)
    else:
        model = load_model(EXAMPLE_MODEL)
        generate(type(model)(release, model.key_option, model.sites, model.name, model.source), directory)
    edit(directory, relative, change)
    code, lines = run_lint(directory, capsys, release)
    assert (code, lines) == (1, [expected])


def test_lint_flags_a_cluster_name_used_by_two_stacks(
    tmp_path: Path, clean_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "env"
    shutil.copytree(clean_dir, directory)
    edit(directory, "dcn1/ceph.yaml", _set("CephClusterName", "dcn0"))
    code, lines = run_lint(directory, capsys)
    assert code == 1
    assert (
        "dcn1/ceph.yaml: CephClusterName: 'dcn0' at dcn1 is also the cluster of dcn0; a node that is a client of both "
        "reads one /etc/ceph/<cluster>.conf for two clusters [duplicate-cluster]"
    ) in lines


def test_dcn_stack_without_the_dcn_environment_is_flagged(
    tmp_path: Path, clean_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "env"
    shutil.copytree(clean_dir, directory)
    script = directory / "dcn1" / "deploy.sh"
    script.write_text("\n".join(line for line in script.read_text().splitlines() if "dcn-hci.yaml" not in line))
    code, lines = run_lint(directory, capsys)
    assert code == 1
    assert lines == [
        "dcn1/: NovaCrossAZAttach: is true at dcn1 and the deploy command includes neither environments/dcn-hci.yaml "
        "nor dcn-storage.yaml; volumes for boot-from-volume land in the default AZ (include the dcn environment or set "
        "NovaCrossAZAttach: false) [cross-az-attach]",
    ]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda d: None, "{d}/absent: no such directory of environment files"),
        (lambda d: (d / "x").mkdir() or None, "{d}/x: no stack directories (expected e.g. control-plane/, dcn0/)"),
        (
            lambda d: (
                (d / "x" / "dcn0").mkdir(parents=True) or (d / "x" / "dcn0" / "glance.yaml").write_text("a: [b\n")
            ),
            "dcn0/glance.yaml: line 2: expected ',' or ']', but got '<stream end>'",
        ),
        (
            lambda d: (d / "x" / "dcn0").mkdir(parents=True) or (d / "x" / "dcn0" / "az.yaml").write_text("- 1\n"),
            "dcn0/az.yaml: not an environment file (expected a mapping at the top)",
        ),
        (
            lambda d: (
                (d / "x" / "dcn0").mkdir(parents=True)
                or (d / "x" / "dcn0" / "az.yaml").write_text("parameter_defaults:\n  A: 1\n  A: 2\n")
            ),
            "dcn0/az.yaml: line 3: found duplicate key 'A'",
        ),
    ],
    ids=["missing-directory", "no-stacks", "broken-yaml", "not-a-mapping", "duplicate-parameter"],
)
def test_unreadable_input_is_one_line_and_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: Callable[[Path], None], expected: str
) -> None:
    setup(tmp_path)
    target = tmp_path / ("absent" if "absent" in expected else "x")
    code = main(["lint", str(target), "--release", "wallaby"])
    captured = capsys.readouterr()
    assert code == 4
    if expected.startswith("{d}"):  # the directory itself: one error line
        assert captured.err == f"dcn-checks: {expected.format(d=tmp_path)}\n"
    else:  # a file in it: named among the findings, and the lint says it could not judge everything
        assert f"{expected} [unreadable]" in captured.out.splitlines()
        assert "1 file(s) in" in captured.err and "could not be read" in captured.err


def test_deploy_script_parser_reads_continued_lines() -> None:
    script = "openstack overcloud deploy \\\n  --stack dcn0 \\\n  -e a.yaml \\\n  -e '~/b c.yaml'\n# -e ignored.yaml\n"
    assert parse_deploy_environments(script) == ["a.yaml", "~/b c.yaml"]


def _stack_dir(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


ROLE_COUNTS_DCN0 = (
    "parameter_defaults:\n  ControllerCount: 0\n  ComputeCount: 0\n"
    "  DistributedComputeHCICount: 3\n  DistributedComputeHCIScaleOutCount: 1\n"
)
DCN_ROLES = (
    "- name: DistributedComputeHCI\n  CountDefault: 0\n  ServicesDefault: []\n"
    "- name: DistributedComputeHCIScaleOut\n  ServicesDefault: []\n"
)
NETWORK_DATA = "- name: Storage\n  vip: true\n- name: InternalApi\n  name_lower: internal_api\n"


@pytest.mark.parametrize("with_roles_file", [False, True], ids=["shipped-roles", "roles-file"])
def test_role_counts_as_the_document_writes_them_are_heat_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], with_roles_file: bool
) -> None:
    files = {
        "control-plane/role-counts.yaml": "parameter_defaults:\n  ControllerCount: 3\n  ComputeHCICount: 3\n",
        "dcn0/role-counts.yaml": ROLE_COUNTS_DCN0,
        "dcn0/az.yaml": "parameter_defaults:\n  DistributedComputeHCIHostnameFormat: 'dcn0-hci-%index%'\n",
    }
    if with_roles_file:
        files["dcn0/dcn_roles.yaml"] = DCN_ROLES
    _, lines = run_lint(_stack_dir(tmp_path, files), capsys)
    assert [line for line in lines if "[unknown-parameter]" in line] == []


def test_a_count_of_a_role_the_roles_file_lacks_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {
        "control-plane/role-counts.yaml": "parameter_defaults:\n  ControllerCount: 3\n",
        "dcn0/role-counts.yaml": "parameter_defaults:\n  ComputeCount: 2\n  DistributedComputeHCICount: 3\n",
        "dcn0/dcn_roles.yaml": DCN_ROLES,
        "dcn0/network_data.yaml": NETWORK_DATA,
    }
    code, lines = run_lint(_stack_dir(tmp_path, files), capsys)
    assert code == 1  # a finding, and no file it could not read (network_data.yaml is no environment file)
    assert [line for line in lines if "[unknown-parameter]" in line] == [
        "dcn0/role-counts.yaml: ComputeCount: a parameter of role Compute, which the stack's roles file "
        "dcn0/dcn_roles.yaml does not have (DistributedComputeHCI, DistributedComputeHCIScaleOut), so Heat ignores "
        "it [unknown-parameter]"
    ]


@pytest.mark.parametrize(
    ("marks", "release", "because"),
    [
        ({"dcn0/deploy.sh": DEPLOY + THT_ROOT + "environments/dcn-hci.yaml\n"},
         "ussuri", "dcn0/deploy.sh deploys with environments/dcn-hci.yaml (the ceph-ansible era, dcn-hci.yaml)"),
        ({"dcn0/deploy.sh": DEPLOY + THT_ROOT + "environments/dcn-storage.yaml\n"},
         "wallaby", "dcn0/deploy.sh deploys with environments/dcn-storage.yaml with Ceph by ceph-ansible"),
        ({"dcn0/deployed-ceph-dcn0.yaml": "parameter_defaults: {}\n"},
         "zed", "dcn0/deployed-ceph-dcn0.yaml exists (Ceph deployed by cephadm)"),
    ],
)  # fmt: skip
def test_release_is_read_from_the_files_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], marks: dict[str, str], release: str, because: str
) -> None:
    files = {"control-plane/glance.yaml": "parameter_defaults:\n  GlanceBackendID: central\n", **marks}
    main(["lint", str(_stack_dir(tmp_path, files))])
    assert f"release {release}, read from the files: {because}" in capsys.readouterr().err


@pytest.mark.parametrize("release", ["ussuri", "wallaby", "zed"])
def test_the_release_of_generated_files_is_read_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], release: str
) -> None:
    from dcn_checks.model import model_with_sites

    generate(model_with_sites(2, release=release), tmp_path / "env")
    assert main(["lint", str(tmp_path / "env")]) == 0
    assert capsys.readouterr().err.startswith(f"release {release}, read from the files: ")


def test_a_directory_that_does_not_say_its_release_needs_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = _stack_dir(tmp_path, {"dcn0/glance.yaml": "parameter_defaults: {}\n"})
    assert main(["lint", str(directory)]) == 4
    assert "give --release" in capsys.readouterr().err


@pytest.mark.parametrize("release", ["ussuri", "wallaby", "zed"])
def test_parameters_only_jinja_templates_define_are_heat_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], release: str
) -> None:
    """What every operator's directory holds beside the storage files: container images, networks, hostnames."""
    files = {
        "control-plane/containers-prepare-parameter.yaml": "parameter_defaults:\n  ContainerImagePrepare: []\n",
        "control-plane/network.yaml": (
            "parameter_defaults:\n  InternalApiNetCidr: 172.16.2.0/24\n  InternalApiAllocationPools: []\n"
            "  CloudNameInternal: overcloud.internalapi.localdomain\n  NodeCreateBatchSize: 30\n"
            "  InternalApiNetCIDR: 172.16.2.0/24\n"
        ),
        "dcn0/hostnames.yaml": "parameter_defaults:\n  HostnameMap: {}\n  DistributedComputeHCICount: 3\n",
    }
    _, lines = run_lint(_stack_dir(tmp_path, files), capsys, release)
    assert [line.split(":")[1].strip() for line in lines if "[unknown-parameter]" in line] == ["InternalApiNetCIDR"]
