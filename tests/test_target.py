"""The target file: a usable target loads; every unusable one is one line and exit 4."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dcn_checks.cli import main
from dcn_checks.errors import TargetError
from dcn_checks.evidence import Evidence, mask_secrets
from dcn_checks.parametrize import client_binding_cases, node_cases, site_pair_cases
from dcn_checks.target import load_target

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "models"
NODES = {
    "control-plane": ["controller-0", "controller-1", "controller-2", "computehci-0"],
    "dcn0": ["dcn0-hci-0", "dcn0-hci-1", "dcn0-hci-2", "dcn0-scaleout-0"],
    "dcn1": ["dcn1-hci-0", "dcn1-hci-1", "dcn1-hci-2"],
}
CLOUDS = "clouds:\n  dcn:\n    auth: {auth_url: 'http://127.0.0.1:9/v3', username: admin, password: x}\n"
TARGET = (
    "model: sites.yaml\ncloud: {clouds_yaml: clouds.yaml, name: dcn}\n"
    "hosts: {backend: lab, inventory: inventory.yaml}\n"
)


def write_target(tmp_path: Path, target: str = TARGET, *, skip_node: str | None = None) -> Path:
    (tmp_path / "sites.yaml").write_text((FIXTURES / "dms-example.yaml").read_text())
    (tmp_path / "clouds.yaml").write_text(CLOUDS)
    lines = ["all:", "  children:"]
    for group, names in NODES.items():
        lines += [f"    {group}:", "      hosts:"]
        lines += [f"        {n}: {{dcn_checks_node_root: {tmp_path / 'nodes' / n}}}" for n in names if n != skip_node]
        for name in names:
            (tmp_path / "nodes" / name).mkdir(parents=True, exist_ok=True)
    (tmp_path / "inventory.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "target.yaml").write_text(target)
    return tmp_path / "target.yaml"


def test_a_lab_style_target_loads_from_its_directory(tmp_path: Path) -> None:
    write_target(tmp_path)
    target = load_target(tmp_path)
    assert [site.name for site in target.model.sites] == ["central", "dcn0", "dcn1"]
    assert target.cloud == "dcn" and target.backend == "lab"
    assert target.host("dcn0-hci-1").var("dcn_checks_node_root") == str(tmp_path / "nodes" / "dcn0-hci-1")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("sites.yaml", "nosuch.yaml"), "model:"),
        (lambda t: t.replace("name: dcn}", "name: other}"), "no cloud 'other' (clouds: dcn)"),
        (lambda t: t + "colour: blue\n", "unknown key 'colour'"),
        (lambda t: t.replace("backend: lab", "backend: telnet"), "hosts.backend: 'telnet' is not one of"),
        (lambda t: t + "timeouts: {api_s: -1}\n", "timeouts.api_s: expected a number of seconds above 0"),
        (lambda t: t.replace("model: sites.yaml\n", ""), "model: required"),
        (lambda t: "model: [\n", "line"),
    ],
    ids=["missing-model", "unknown-cloud", "unknown-key", "bad-backend", "bad-timeout", "no-model", "bad-yaml"],
)
def test_an_unusable_target_is_one_clear_error(tmp_path: Path, edit: object, message: str) -> None:
    write_target(tmp_path, edit(TARGET))  # type: ignore[operator]
    with pytest.raises(TargetError) as caught:
        load_target(tmp_path / "target.yaml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_node_missing_from_the_inventory_is_named(tmp_path: Path) -> None:
    write_target(tmp_path, skip_node="dcn1-hci-2")
    with pytest.raises(TargetError, match=r"no host entry for node\(s\) dcn1-hci-2 of the site model"):
        load_target(tmp_path)


def test_check_command_refuses_a_missing_target_with_exit_4(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--target", "/nonexistent/dcn", "-m", "reads"]) == 4
    assert capsys.readouterr().err.strip() == "dcn-checks: /nonexistent/dcn: no such target file or lab directory"


def test_cases_name_nodes_and_site_pairs_never_values(tmp_path: Path) -> None:
    model = load_target(write_target(tmp_path)).model
    assert [case_id for _, case_id in node_cases(model)][:5] == [
        "controller-0",
        "controller-1",
        "controller-2",
        "computehci-0",
        "dcn0-hci-0",
    ]
    pairs = [case_id for _, case_id in site_pair_cases(model)]
    assert pairs == ["central->dcn0", "central->dcn1", "dcn0->central", "dcn1->central"]
    bindings = [case_id for _, case_id in client_binding_cases(model)]
    assert "controller-0->dcn1" in bindings and "dcn0-hci-0->central" in bindings
    assert "dcn0-hci-0->dcn1" not in bindings


def test_evidence_never_carries_a_secret() -> None:
    key = "AQBcrW5hAAAAABAAm7Pq8wcVXo1oLt3EejTOXQ=="
    evidence = Evidence()
    evidence.add("keyring", f"[client.openstack]\n\tkey = {key}\n")
    evidence.add("conf", "transport_url = rabbit://cinder:s3cret@127.0.0.1:5672/\npassword = hunter2\n")
    text = evidence.render()
    assert key not in text and "s3cret" not in text and "hunter2" not in text
    assert "[client.openstack]" in text
    assert mask_secrets("mon host = 127.0.0.1") == "mon host = 127.0.0.1"


def test_an_unreachable_keystone_is_one_line_and_exit_4(tmp_path: Path) -> None:
    write_target(tmp_path)
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "dcn-checks"), "check", "--target", str(tmp_path), "-m", "reads"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 4
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert errors == ["ERROR: dcn-checks: cloud 'dcn': Keystone at http://127.0.0.1:9/v3 is unreachable"]


@pytest.mark.parametrize(
    ("dcn_sites", "pairs"),
    [
        (1, []),
        (2, ["dcn0->dcn1", "dcn1->dcn0"]),
        (3, ["dcn0->dcn1", "dcn0->dcn2", "dcn1->dcn0", "dcn1->dcn2", "dcn2->dcn0", "dcn2->dcn1"]),
        (5, ["dcn0->dcn1", "dcn1->dcn2", "dcn2->dcn3", "dcn3->dcn4", "dcn4->dcn0"]),
    ],
)
def test_round_trips_cover_every_pair_of_a_few_sites_and_a_ring_of_many(dcn_sites: int, pairs: list[str]) -> None:
    from dcn_checks.model import model_with_sites
    from dcn_checks.parametrize import dcn_pair_cases

    assert [case_id for _, case_id in dcn_pair_cases(model_with_sites(dcn_sites))] == pairs


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('{"password": "s3cret", "user": "admin"}', '{"password": ***, "user": "admin"}'),
        ("auth_password = abc", "auth_password = ***"),
        ("OS_PASSWORD=xyz rest", "OS_PASSWORD=*** rest"),
        (
            "rbd_secret_uuid = 4b5c8c0a-ff60-454b-a1b4-9747aa737d19",
            "rbd_secret_uuid = 4b5c8c0a-ff60-454b-a1b4-9747aa737d19",
        ),
        ("password_expires_at: 2026-12-03", "password_expires_at: 2026-12-03"),
    ],
)
def test_secrets_inside_lines_are_masked(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked
