"""The generator writes the source document's environment files, right, for any number of sites."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcn_checks.cephx import is_valid_key
from dcn_checks.cli import main
from dcn_checks.generator import generate
from dcn_checks.generator.keystore import STATE_FILE
from dcn_checks.lint import lint_directory
from dcn_checks.model import load_model, model_with_sites
from dcn_checks.release import RELEASE_NAMES

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "tests" / "data" / "envdirs" / "dms-ussuri-as-written"
EXAMPLE_MODEL = ROOT / "fixtures" / "models" / "dms-example.yaml"


def params(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())["parameter_defaults"]
    return data


def without_keys(value: Any) -> Any:
    """Replace every cephx secret by a placeholder: keys are random, their place and shape are not."""
    if isinstance(value, dict):
        return {k: without_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_keys(v) for v in value]
    return "<key>" if isinstance(value, str) and is_valid_key(value) else value


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(load_model(EXAMPLE_MODEL), out)
    return out


@pytest.mark.parametrize(
    ("ours", "document"),
    [
        ("control-plane/ceph_keys.yaml", "control-plane/ceph_keys.yaml"),
        ("central_ceph_external.yaml", "central_ceph_external.yaml"),
        ("control-plane/dcn_ceph_external.yaml", "control-plane/dcn_ceph_external.yaml"),
        ("dcn0/dcn_ceph_keys.yaml", "dcn0/ceph_keys.yaml"),
        ("dcn1/dcn_ceph_keys.yaml", "dcn1/ceph_keys.yaml"),
        ("dcn0/az.yaml", "dcn0/az.yaml"),
        ("dcn1/az.yaml", "dcn1/az.yaml"),
        ("control-plane/glance.yaml", "control-plane/glance.yaml"),
    ],
    ids=lambda p: p,
)
def test_generated_file_holds_the_documents_parameters(generated: Path, ours: str, document: str) -> None:
    expected = without_keys(params(DOC / document))
    actual = without_keys(params(generated / ours))
    assert {name: actual.get(name) for name in expected} == expected


@pytest.mark.parametrize("site", ["dcn0", "dcn1"])
def test_dcn_glance_file_is_the_documents_with_the_backend_id_spelt_right(generated: Path, site: str) -> None:
    document = params(DOC / "dcn1" / "glance.yaml")  # the option-2 listing, which omits GlanceBackendID
    expected = yaml.safe_load(yaml.safe_dump(document).replace("dcn1", site))
    expected["GlanceBackendID"] = site
    assert params(generated / site / "glance.yaml") == expected


def test_central_update_adds_one_store_per_dcn_site_as_documented(generated: Path) -> None:
    document = params(DOC / "control-plane" / "glance-dcn-stores.yaml")
    ours = params(generated / "control-plane" / "glance-dcn-stores.yaml")
    assert ours["GlanceMultistoreConfig"] == document["GlanceMultistoreConfig"]
    central = params(generated / "control-plane" / "glance.yaml") | params(generated / "control-plane" / "ceph.yaml")
    for name, value in document.items():
        if name != "GlanceMultistoreConfig":
            assert central[name] == value, name


def test_cluster_name_files_name_each_cluster(generated: Path) -> None:
    for site, fsid in (("control-plane", "3161a3b4"), ("dcn0", "539e2b96"), ("dcn1", "7504a91e")):
        ours = params(generated / site / "ceph.yaml")
        assert ours["CephClusterName"] == params(DOC / site / "ceph.yaml")["CephClusterName"]
        assert ours["CephClusterFSID"].startswith(fsid)


def test_deploy_commands_pass_the_files_in_documented_order(generated: Path) -> None:
    text = (generated / "dcn0" / "deploy.sh").read_text()
    order = [
        "environments/ceph-ansible/ceph-ansible.yaml",
        "environments/dcn-hci.yaml",
        "~/control-plane-export.yaml",
        '"$OUT"/central_ceph_external.yaml',
        '"$OUT"/dcn0/dcn_ceph_keys.yaml',
        "~/dcn0/role-counts.yaml",
        '"$OUT"/dcn0/ceph.yaml',
        '"$OUT"/dcn0/az.yaml',
        '"$OUT"/dcn0/glance.yaml',
    ]
    positions = [text.index(f"-e {p}" if p.startswith(("~", '"')) else p) for p in order]
    assert positions == sorted(positions)
    update = (generated / "control-plane" / "update.sh").read_text()
    assert update.index("glance.yaml") < update.index("glance-dcn-stores.yaml") < update.index("dcn_ceph_external.yaml")


def test_files_holding_keys_are_0600_and_others_0644(generated: Path) -> None:
    modes = {
        p.relative_to(generated).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in generated.rglob("*") if p.is_file()
    }
    secret = {path for path, mode in modes.items() if mode == 0o600}
    assert secret == {
        STATE_FILE,
        "central_ceph_external.yaml",
        "control-plane/ceph_keys.yaml",
        "control-plane/dcn_ceph_external.yaml",
        "dcn0/dcn_ceph_keys.yaml",
        "dcn1/dcn_ceph_keys.yaml",
    }
    assert {mode for path, mode in modes.items() if path.endswith(".yaml") and path not in secret} == {0o644}


def test_every_parameter_has_a_comment_saying_what_it_does(generated: Path) -> None:
    for path in generated.rglob("*.yaml"):
        if path.name == STATE_FILE:
            continue
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            if line.startswith("  ") and not line.startswith(("   ", "  #", "  -")) and ":" in line:
                assert lines[index - 1].startswith("  # "), f"{path.name}: {line}"


def test_keys_are_kept_across_runs_and_rotated_on_request(tmp_path: Path) -> None:
    model = load_model(EXAMPLE_MODEL)
    generate(model, tmp_path)
    first = (tmp_path / "dcn0" / "dcn_ceph_keys.yaml").read_text()
    generate(model, tmp_path)
    assert (tmp_path / "dcn0" / "dcn_ceph_keys.yaml").read_text() == first
    generate(model, tmp_path, rotate_keys=True)
    rotated = params(tmp_path / "dcn0" / "dcn_ceph_keys.yaml")
    assert rotated != params_from_text(first)
    assert all(is_valid_key(k) for k in (rotated["CephClientKey"], rotated["CephExtraKeys"][0]["key"]))


def params_from_text(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text)["parameter_defaults"]
    return data


def test_output_is_deterministic_apart_from_keys_and_fsids(tmp_path: Path) -> None:
    model = model_with_sites(3, release="zed")
    generate(model, tmp_path / "a")
    generate(model, tmp_path / "b")
    for path in (tmp_path / "a").rglob("*.yaml"):
        if path.name == STATE_FILE:
            continue
        other = tmp_path / "b" / path.relative_to(tmp_path / "a")
        a, b = without_keys(params(path)), without_keys(params(other))
        for value in (a, b):
            value.pop("CephClusterFSID", None)
            for item in value.get("CephExternalMultiConfig", []):
                item.pop("fsid")
        assert a == b, path.name


def test_generate_prints_paths_and_never_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--model", str(EXAMPLE_MODEL), "--out", str(tmp_path)]) == 0
    output = capsys.readouterr()
    keys = yaml.safe_load((tmp_path / STATE_FILE).read_text())["clusters"]["dcn0"]["keys"].values()
    assert all(key not in output.out + output.err for key in keys)
    assert str(tmp_path / "dcn0" / "glance.yaml") in output.out.splitlines()


def test_zed_files_leave_out_parameters_zed_does_not_define(tmp_path: Path) -> None:
    generate(model_with_sites(1, release="zed"), tmp_path)
    assert "ManageNetworks" not in params(tmp_path / "dcn0" / "az.yaml")
    deployed = params(tmp_path / "dcn0" / "deployed-ceph-dcn0.yaml")
    assert deployed["CephClusterName"] == "dcn0" and deployed["DeployedCeph"] is True
    script = (tmp_path / "dcn0" / "deploy.sh").read_text()
    assert "openstack overcloud ceph deploy" in script and "--cluster dcn0" in script
    assert "environments/dcn-storage.yaml" in script and "cephadm-rbd-only.yaml" in script


@pytest.mark.parametrize("key_option", [1, 2])
@pytest.mark.parametrize("release", RELEASE_NAMES)
@pytest.mark.parametrize("count", [1, 3, 10, 50])
def test_generated_files_pass_the_lint(tmp_path: Path, count: int, release: str, key_option: int) -> None:
    generate(model_with_sites(count, release=release, key_option=key_option), tmp_path)  # type: ignore[arg-type]
    result = lint_directory(tmp_path, release)
    assert [f.line() for f in result.findings] == [] and result.unreadable == ()


def test_key_option_1_shares_each_sites_openstack_key(tmp_path: Path) -> None:
    generate(model_with_sites(2, key_option=1), tmp_path)
    item = params(tmp_path / "central_ceph_external.yaml")["CephExternalMultiConfig"][0]
    central_key = params(tmp_path / "control-plane" / "ceph_keys.yaml")
    assert item["keys"][0]["name"] == "client.openstack"
    assert item["keys"][0]["key"] == central_key["CephClientKey"]
    assert "CephExtraKeys" not in central_key
    assert item["ceph_conf_overrides"]["client"]["keyring"] == "/etc/ceph/central.client.openstack.keyring"
    assert "CephClientUserName" not in params(tmp_path / "dcn0" / "glance.yaml")["GlanceMultistoreConfig"]["central"]


def test_model_without_mons_cannot_write_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("release: ussuri\nsites:\n  - name: central\n  - name: dcn0\n")
    assert main(["generate", "--model", str(path), "--out", str(tmp_path / "out")]) == 4
    assert capsys.readouterr().err == (
        f"dcn-checks: {path}: sites[central].mons: needed to write CephExternalMultiConfig "
        "(external_cluster_mon_ips); give the mon addresses of the cluster\n"
    )
