"""Each site's Ceph cluster as it reports itself (R16-R19, R21): read-only, as client.admin on a mon node.

An edge site keeps serving its instances from its own cluster when the WAN to central is down, so
each cluster must stand on its own: reachable by its operator, healthy, with its monitors in quorum
where the clients are told to find them, every OSD up, and the pools Glance, Nova and Cinder use.
Every command names the cluster, its conf and the admin keyring, never the node's default conf.
"""

from __future__ import annotations

import pytest

from dcn_checks import cluster
from dcn_checks.cephcli import ClusterAdmin, admin_failure, describe_command, describe_failure, expected_mon_count
from dcn_checks.clients import Host
from dcn_checks.evidence import Evidence
from dcn_checks.model import Site
from dcn_checks.requirements import Verdict


def _ask(admin: ClusterAdmin, evidence: Evidence, *args: str) -> str:
    """Run ``ceph <args> -f json`` as client.admin, attach the command, and return its output."""
    args = (*args, "-f", "json")
    result = admin.run(*args)
    evidence.add(
        f"{admin.node}: {describe_command(admin.argv(args))}", result.stdout if result.ok else describe_failure(result)
    )
    assert result.ok, admin_failure(admin, args, result)
    return result.stdout


@pytest.mark.check("CLUSTER-001", requirements=["R16", "R23"])
@pytest.mark.reads
def test_admin_keyring_opens_the_cluster_on_a_mon_node(
    mon_site: Site,
    cluster_admins: dict[str, ClusterAdmin],
    hosts: dict[str, Host],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """The site's mon node holds ``<cluster>.client.admin.keyring`` (0600, root), and client.admin reaches
    the cluster with it and the site's conf: the operator's way in at an edge site, where no central
    tool can stand in when the WAN is down."""
    admin = cluster_admins[mon_site.name]
    path = admin.keyring_path
    stat = evidence.add(f"{admin.node}: stat {path}", hosts[admin.node].stat(path))
    assert stat is not None, verdict.message(admin.where, f"no {path}", "the admin keyring, 0600 root")
    assert (stat.mode, stat.owner) == (0o600, "root"), verdict.message(
        admin.where, f"{path} is {stat.mode_text()} {stat.owner}", "0600 root"
    )
    _ask(admin, evidence, "mon", "dump")  # fails with CLUSTER-001's message when client.admin cannot ask


@pytest.mark.check("CLUSTER-002", requirements=["R17"])
@pytest.mark.reads
def test_cluster_is_healthy(
    mon_site: Site, cluster_admins: dict[str, ClusterAdmin], verdict: Verdict, evidence: Evidence
) -> None:
    """``ceph health detail`` of the site's cluster says HEALTH_OK (muted checks do not count): a warning
    at an edge site is found by nobody until instances fail there."""
    admin = cluster_admins[mon_site.name]
    health = cluster.parse_health(_ask(admin, evidence, "health", "detail"))
    assert health.status == "HEALTH_OK", verdict.message(
        admin.where, f"cluster {mon_site.cluster} is {cluster.describe_health(health)}", "HEALTH_OK"
    )


@pytest.mark.check("CLUSTER-003", requirements=["R18"])
@pytest.mark.reads
def test_cluster_has_expected_monitors_in_quorum(
    mon_site: Site, cluster_admins: dict[str, ClusterAdmin], verdict: Verdict, evidence: Evidence
) -> None:
    """The monmap has as many monitors as the site was deployed with, all in quorum: a stray or lost
    monitor leaves an edge cluster one failure away from losing quorum, and with it all I/O."""
    admin = cluster_admins[mon_site.name]
    monmap = cluster.parse_mon_dump(_ask(admin, evidence, "mon", "dump"))
    expected = expected_mon_count(mon_site)
    problem = cluster.find_quorum_problem(monmap, expected)
    assert problem is None, verdict.message(
        admin.where, f"cluster {mon_site.cluster} has {problem}", f"{expected} mons, all in quorum"
    )


@pytest.mark.check("CLUSTER-004", requirements=["R18"])
@pytest.mark.reads
def test_all_osds_are_up_and_in(
    mon_site: Site, cluster_admins: dict[str, ClusterAdmin], verdict: Verdict, evidence: Evidence
) -> None:
    """Every OSD of the site's cluster is up and in, so the site's images, disks and volumes keep their
    redundancy and placement."""
    admin = cluster_admins[mon_site.name]
    stat = cluster.parse_osd_stat(_ask(admin, evidence, "osd", "stat"))
    problem = cluster.find_osd_problem(stat)
    assert problem is None, verdict.message(
        admin.where, f"cluster {mon_site.cluster} has {problem}", "every OSD up and in"
    )


@pytest.mark.check("CLUSTER-005", requirements=["R19"])
@pytest.mark.reads
def test_openstack_pools_exist_with_application_rbd(
    mon_site: Site, cluster_admins: dict[str, ClusterAdmin], verdict: Verdict, evidence: Evidence
) -> None:
    """The images, vms and volumes pools of the site (as the site model names them) exist and are enabled
    for RBD: Glance, Nova and Cinder of the site and the copies from central land there.

    The central ``backups`` pool of the source document is not checked: the site model does not say
    whether Cinder backup uses Ceph (CinderBackupBackend)."""
    admin = cluster_admins[mon_site.name]
    pools = cluster.parse_pools(_ask(admin, evidence, "osd", "pool", "ls", "detail"))
    wanted = (mon_site.pools.images, mon_site.pools.vms, mon_site.pools.volumes)
    problems = cluster.find_pool_problems(pools, wanted)
    assert not problems, verdict.message(
        admin.where,
        f"cluster {mon_site.cluster}: {'; '.join(problems)}",
        f"pools {', '.join(wanted)} with application rbd",
    )


@pytest.mark.check("CLUSTER-006", requirements=["R21"])
@pytest.mark.reads
def test_monitors_listen_where_the_monmap_says(
    mon_site: Site,
    cluster_admins: dict[str, ClusterAdmin],
    hosts: dict[str, Host],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """Every address the monmap gives clients (v2 and v1) is listened on by a mon node of the site: a
    client that gets the monmap tries those addresses, and one that only speaks v1 needs the v1 one."""
    admin = cluster_admins[mon_site.name]
    monmap = cluster.parse_mon_dump(_ask(admin, evidence, "mon", "dump"))
    listeners: set[cluster.Endpoint] = set()
    for node in mon_site.nodes_with("CephMon"):
        result = hosts[node.name].run(["ss", "-Hltn"])
        assert result.ok, verdict.message(
            f"{mon_site.name} ({node.name})",
            f"ss -Hltn failed ({describe_failure(result)})",
            "the node's TCP listeners",
        )
        listeners |= cluster.parse_listeners(result.stdout)
    evidence.add("monmap addresses", cluster.describe_monmap(monmap))
    unbound = cluster.find_unbound_mon_addrs(monmap, frozenset(listeners))
    assert not unbound, verdict.message(
        mon_site.name,
        f"nothing listens on {', '.join(unbound)}",
        "every monmap address listened on by its monitor",
    )
