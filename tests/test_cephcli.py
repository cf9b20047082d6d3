"""The ceph/rbd command lines the checks run on nodes, and client.admin's cached answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from dcn_checks import cephcli
from dcn_checks.clients import FileStat
from dcn_checks.lab.nodes import CommandResult
from dcn_checks.model import model_with_sites

MODEL = model_with_sites(2, release="wallaby", key_option=2)


@dataclass
class RecordingHost:
    """A host that answers every command with ``answer`` and records what it was asked."""

    answer: CommandResult
    name: str = "dcn0-hci-0"
    site: str = "dcn0"
    asked: list[tuple[str, ...]] = field(default_factory=list)

    def run(self, argv: Sequence[str], *, timeout_s: float = 30.0) -> CommandResult:
        self.asked.append(tuple(argv))
        return self.answer

    def read_file(self, path: str) -> str | None:
        return None

    def stat(self, path: str) -> FileStat | None:
        return None


def test_client_argv_names_cluster_conf_keyring_and_user() -> None:
    argv = cephcli.client_argv("rbd", "/var/lib/tripleo-config/ceph", "central", "external", ["-p", "images", "ls"])
    assert argv == (
        "rbd", "--cluster", "central", "--conf", "/var/lib/tripleo-config/ceph/central.conf",
        "--keyring", "/var/lib/tripleo-config/ceph/central.client.external.keyring", "--id", "external",
        "--client_mount_timeout=10", "-p", "images", "ls",
    )  # fmt: skip


def test_describe_failure_quotes_the_last_line_with_keys_masked() -> None:
    stderr = (
        "2026-11-26T04:23:09.924+0000 7f3b -1 auth: unable to find a keyring\n\n"
        "[errno 13] RADOS permission denied (error connecting to the cluster) "
        "AQD29WteAAAAABAAphgOjFD7nyjdYe8Lz0mQ5Q==\n"
    )
    text = cephcli.describe_failure(CommandResult(("ceph",), 13, "", stderr))
    assert text == "rc 13: [errno 13] RADOS permission denied (error connecting to the cluster) ****"


def test_is_unknown_entity_tells_a_missing_user_from_no_access() -> None:
    missing = CommandResult(("ceph",), 2, "", "Error ENOENT: failed to find client.external in keyring\n")
    denied = CommandResult(("ceph",), 13, "", "[errno 13] RADOS permission denied\n")
    assert cephcli.is_unknown_entity(missing) and not cephcli.is_unknown_entity(denied)


def test_binding_user_is_openstack_at_home_and_the_shared_user_elsewhere() -> None:
    central, dcn0 = MODEL.central, MODEL.site("dcn0")
    assert cephcli.binding_user(MODEL, dcn0, dcn0) == "openstack"
    assert cephcli.binding_user(MODEL, dcn0, central) == "external"
    option1 = model_with_sites(2, release="wallaby", key_option=1)
    assert cephcli.binding_user(option1, option1.central, option1.site("dcn1")) == "openstack"


def test_mon_node_and_expected_mon_count_come_from_the_site_model() -> None:
    dcn0 = MODEL.site("dcn0")
    node = cephcli.mon_node(dcn0)
    assert node is not None and node.name == "dcn0-hci-0"
    assert cephcli.expected_mon_count(dcn0) == 3  # the model lists three mon addresses
    assert cephcli.expected_mon_count(dataclasses.replace(dcn0, mons=())) == 1  # else one per CephMon node


def test_cluster_admin_asks_once_with_the_admin_keyring() -> None:
    host = RecordingHost(CommandResult(("ceph",), 0, '{"fsid": "x"}', ""))
    admin = cephcli.ClusterAdmin(MODEL.site("dcn0"), "dcn0-hci-0", host, "/etc/ceph")
    first = admin.run("mon", "dump", "-f", "json")
    second = admin.run("mon", "dump", "-f", "json")
    assert first is second and len(host.asked) == 1
    assert host.asked[0][:9] == (
        "ceph", "--cluster", "dcn0", "--conf", "/etc/ceph/dcn0.conf",
        "--keyring", "/etc/ceph/dcn0.client.admin.keyring", "--id", "admin",
    )  # fmt: skip


def test_get_cluster_admins_has_one_admin_per_site_with_a_mon_node() -> None:
    hosts = {node.name: RecordingHost(CommandResult((), 0, "", "")) for site in MODEL.sites for node in site.nodes}
    admins = cephcli.get_cluster_admins(MODEL, hosts, 5.0)  # type: ignore[arg-type]
    assert {name: admin.node for name, admin in admins.items()} == {
        "central": "controller-0", "dcn0": "dcn0-hci-0", "dcn1": "dcn1-hci-0",
    }  # fmt: skip
    assert admins["central"].keyring_path == "/var/lib/tripleo-config/ceph/central.client.admin.keyring"
