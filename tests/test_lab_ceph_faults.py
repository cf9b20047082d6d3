"""The lab's node faults on Ceph client files, and the admin keyring of mon nodes (pure parts)."""

from __future__ import annotations

from dcn_checks.cephconf import find_keyring_option_problem, find_libvirt_section_problem, parse_ceph_conf
from dcn_checks.cephx import generate_key
from dcn_checks.lab.faults import FAULTS_BY_NAME, apply_node_fault
from dcn_checks.lab.render_ceph import format_conf, render_admin_keyring
from dcn_checks.lab.render_model import NodeFile
from dcn_checks.lab.render_params import CephKey
from dcn_checks.release import get_profile

KEY = CephKey(name="client.external", key=generate_key(0, bytes(16)), caps=(), mode=0o600)
FILES = {
    "/etc/ceph/central.conf": NodeFile(
        format_conf("central", "f1", "[v2:127.0.0.1:1,v1:127.0.0.1:2]",
                    [("client", [("keyring", "/etc/ceph/central.client.external.keyring")])], [KEY],
                    lab_client_keyring=False),
        0o644, "root",
    ),
    "/etc/ceph/dcn0.conf": NodeFile(format_conf("dcn0", "f2", "127.0.0.1:3", [], [KEY], lab_client_keyring=False),
                                    0o644, "root"),
    "/etc/ceph/central.client.admin.keyring": NodeFile("[client.admin]\n\tkey = x\n", 0o600, "root"),
}  # fmt: skip


def broken(name: str) -> dict[str, NodeFile]:
    return apply_node_fault(
        FAULTS_BY_NAME[name], FILES, ceph_dir="/etc/ceph", central_cluster="central", user="external",
        other_fsid="f2", other_mon_host="127.0.0.1:3", now=0.0, site_cluster="dcn0",
    )  # fmt: skip


def test_admin_keyring_mode_fault_opens_central_admin_keyring_to_all() -> None:
    assert broken("admin-keyring-mode-0644")["/etc/ceph/central.client.admin.keyring"].mode == 0o644


def test_conf_mode_fault_closes_central_conf_to_root() -> None:
    assert broken("conf-mode-0600")["/etc/ceph/central.conf"].mode == 0o600


def test_keyring_override_fault_removes_only_the_keyring_line() -> None:
    conf = parse_ceph_conf(broken("conf-without-keyring-override")["/etc/ceph/central.conf"].content)
    expected = "/etc/ceph/central.client.external.keyring"
    assert find_keyring_option_problem(conf, expected, required=True) == "no [client] keyring"
    assert conf.fsid == "f1" and find_libvirt_section_problem(conf) is None


def test_libvirt_fault_removes_the_section_of_the_site_cluster_conf() -> None:
    files = broken("conf-without-libvirt-section")
    assert find_libvirt_section_problem(parse_ceph_conf(files["/etc/ceph/dcn0.conf"].content)) == (
        "no [client.libvirt] section"
    )
    assert find_libvirt_section_problem(parse_ceph_conf(files["/etc/ceph/central.conf"].content)) is None


def test_mon_nodes_get_the_admin_keyring_0600_in_the_release_dir() -> None:
    files = render_admin_keyring(get_profile("wallaby"), "dcn0", "[client.admin]\n\tkey = x\n")
    assert {path: (f.mode, f.owner) for path, f in files.items()} == {
        "/var/lib/tripleo-config/ceph/dcn0.client.admin.keyring": (0o600, "root")
    }
