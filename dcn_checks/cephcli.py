"""The ``ceph`` and ``rbd`` command lines the checks run on a node, and client.admin of each site's cluster.

A DCN node holds the files of several clusters (its own and central's, or every site's at central), so
every command names its cluster, conf, keyring and user: a command that falls back to
``/etc/ceph/ceph.conf`` or to the first keyring Ceph finds would judge the wrong cluster (tripleo-
validations' ceph-health had that bug on multi-cluster nodes). Paths are the release's host paths
(``ReleaseProfile.ceph_config_host_dir``); a lab host translates them to its namespace.

What a cluster says about itself is asked as client.admin on a mon node of its site, where TripleO
leaves ``<cluster>.client.admin.keyring`` (ceph-ansible and cephadm both do), as the source document's
``cephadm shell --config /etc/ceph/<cluster>.conf --keyring /etc/ceph/<cluster>.client.admin.keyring``.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dcn_checks.cephconf import conf_name, keyring_name
from dcn_checks.cephx import mask_keys
from dcn_checks.lab.nodes import CommandResult
from dcn_checks.model import Node, Site, SiteModel
from dcn_checks.requirements import explain

if TYPE_CHECKING:
    from dcn_checks.clients import Host

log = logging.getLogger(__name__)

ADMIN = "admin"
#: Seconds a ceph or rbd command waits for a monitor before giving up.
CONNECT_TIMEOUT_S = 10


def client_argv(
    tool: str, ceph_dir: str, cluster: str, user: str, args: Sequence[str], *, keyring: str | None = None
) -> tuple[str, ...]:
    """``<tool> --cluster C --conf <dir>/C.conf --keyring <dir>/C.client.<user>.keyring --id <user> <args>``.

    ``--client_mount_timeout`` makes a conf whose mons do not answer fail in seconds (rc 110, "couldn't
    connect to the cluster") instead of Ceph's default five minutes.
    """
    keyring = keyring or f"{ceph_dir}/{keyring_name(cluster, f'client.{user}')}"
    conf = f"{ceph_dir}/{conf_name(cluster)}"
    timeout = f"--client_mount_timeout={CONNECT_TIMEOUT_S}"
    return (tool, "--cluster", cluster, "--conf", conf, "--keyring", keyring, "--id", user, timeout, *args)


def describe_command(argv: Sequence[str]) -> str:
    """The command line for evidence and messages."""
    return shlex.join(argv)


def describe_failure(result: CommandResult) -> str:
    """``rc 13: [errno 13] RADOS permission denied (error connecting to the cluster)``: the exit code and
    the last line Ceph printed, which names the cause (the lines before are log noise)."""
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return f"rc {result.returncode}: {mask_keys(lines[-1]) if lines else 'no output'}"


def mon_node(site: Site) -> Node | None:
    """The first node of a site that runs a Ceph monitor (Controller, DistributedComputeHCI), or None."""
    nodes = site.nodes_with("CephMon")
    return nodes[0] if nodes else None


def expected_mon_count(site: Site) -> int:
    """How many monitors a site's cluster should have: the site model's ``mons`` where given (each
    entry is one monitor, an address vector counts once), else one per CephMon node."""
    return len(site.mons) or len(site.nodes_with("CephMon"))


@dataclass(slots=True)
class ClusterAdmin:
    """client.admin of one site's cluster, run on a mon node of the site; answers are kept per command,
    so that the checks of one run see one state of the cluster and pay for each command once."""

    site: Site
    node: str
    host: Host
    ceph_dir: str
    timeout_s: float = 30.0
    _answers: dict[tuple[str, ...], CommandResult] = field(default_factory=dict, repr=False)

    @property
    def where(self) -> str:
        """How a failure message names the cluster: ``dcn0 (dcn0-hci-0)``, the site and the mon node asked."""
        return f"{self.site.name} ({self.node})"

    @property
    def keyring_path(self) -> str:
        """The admin keyring's host path, ``<dir>/<cluster>.client.admin.keyring``."""
        return f"{self.ceph_dir}/{keyring_name(self.site.cluster, f'client.{ADMIN}')}"

    def argv(self, args: Sequence[str], tool: str = "ceph") -> tuple[str, ...]:
        """The full command line of ``args`` as client.admin of this cluster."""
        return client_argv(tool, self.ceph_dir, self.site.cluster, ADMIN, args, keyring=self.keyring_path)

    def run_now(self, args: Sequence[str], tool: str = "ceph") -> CommandResult:
        """Run ``<tool> <args>`` as client.admin now, never from the kept answers: for state a run changes."""
        argv = self.argv(args, tool)
        log.debug("%s: %s", self.node, describe_command(argv))
        return self.host.run(argv, timeout_s=self.timeout_s)

    def run(self, *args: str) -> CommandResult:
        """Run ``ceph <args>`` as client.admin (once per run; later calls get the same answer)."""
        argv = self.argv(args)
        if argv not in self._answers:
            log.debug("%s: %s", self.node, describe_command(argv))
            self._answers[argv] = self.host.run(argv, timeout_s=self.timeout_s)
        return self._answers[argv]


def get_cluster_admins(model: SiteModel, hosts: Mapping[str, Host], timeout_s: float) -> dict[str, ClusterAdmin]:
    """client.admin of every site whose model names a mon node, keyed by site name."""
    admins = {}
    for site in model.sites:
        node = mon_node(site)
        if node is not None:
            admins[site.name] = ClusterAdmin(
                site, node.name, hosts[node.name], model.profile.ceph_config_host_dir, timeout_s
            )
    return admins


def admin_failure(admin: ClusterAdmin, args: Sequence[str], result: CommandResult) -> str:
    """The failure message when client.admin cannot ask its cluster: every check that needs the cluster's
    answer fails with it, naming CLUSTER-001's fix, because the cause is the admin access, not the check."""
    return explain(
        "CLUSTER-001",
        f"{admin.site.name} ({admin.node})",
        f"{describe_command(admin.argv(args))} failed ({describe_failure(result)})",
        f"client.admin to answer with {admin.keyring_path}",
    )


def is_unknown_entity(result: CommandResult) -> bool:
    """Tell whether ``ceph auth get`` failed because the cluster has no such entity (``Error ENOENT:
    failed to find client.x in keyring``, rc 2), as opposed to not reaching the cluster at all."""
    return result.returncode == 2 and "ENOENT" in result.stderr


def binding_user(model: SiteModel, node_site: Site, cluster_site: Site) -> str:
    """The cephx user a node of ``node_site`` opens ``cluster_site``'s cluster as: ``openstack`` for its
    own cluster (CephClientUserName), the shared user (``external`` with key option 2) for another's."""
    return "openstack" if node_site.name == cluster_site.name else model.client_user
