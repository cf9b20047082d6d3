"""The ``<cluster>.conf`` files of the client nodes, compared with what each cluster reports (R22-R28).

A node finds a cluster only through its conf: the fsid identifies the cluster (and the store's
``rbd://<fsid>/...`` locations), ``mon host`` is where the client first knocks. A conf copied from
another site, or left behind when a cluster's mons moved, points Glance, Nova or Cinder at the wrong
cluster or at none. So each conf is compared with the monmap the cluster itself reports, not with
the site model, and each site is shown to reach the other site's images pool as it is configured.
"""

from __future__ import annotations

import pytest

from dcn_checks import cluster
from dcn_checks.cephcli import (
    ClusterAdmin,
    admin_failure,
    binding_user,
    client_argv,
    describe_command,
    describe_failure,
    is_unknown_entity,
)
from dcn_checks.cephconf import (
    CONTAINER_CEPH_DIR,
    CephConf,
    conf_name,
    find_entity,
    find_keyring_option_problem,
    find_libvirt_section_problem,
    keyring_name,
    may_write_pool,
    parse_auth_get,
    parse_ceph_conf,
)
from dcn_checks.clients import Host
from dcn_checks.errors import ParseError
from dcn_checks.evidence import Evidence
from dcn_checks.model import Site, SiteModel
from dcn_checks.parametrize import ClientBinding, NodeCase, SitePair, is_ceph_client
from dcn_checks.release import ReleaseProfile
from dcn_checks.requirements import Verdict


def _read_conf(
    verdict: Verdict, where: str, host: Host, profile: ReleaseProfile, cluster_name: str, evidence: Evidence
) -> CephConf:
    """Read and parse ``<cluster>.conf`` on the host; a missing or unreadable conf fails the check."""
    path = profile.ceph_config_path(conf_name(cluster_name))
    text = evidence.add(f"{host.name}: {path}", host.read_file(path))
    assert text is not None, verdict.message(where, f"no {path}", f"the conf of cluster {cluster_name}")
    try:
        return parse_ceph_conf(text, path)
    except ParseError as err:
        raise AssertionError(verdict.message(where, str(err), "a conf Ceph can read")) from None


def _monmap(admin: ClusterAdmin, evidence: Evidence) -> cluster.MonMap:
    args = ("mon", "dump", "-f", "json")
    result = admin.run(*args)
    evidence.add(
        f"{admin.node}: {describe_command(admin.argv(args))}", result.stdout if result.ok else describe_failure(result)
    )
    assert result.ok, admin_failure(admin, args, result)
    return cluster.parse_mon_dump(result.stdout)


@pytest.mark.check("CONF-001", requirements=["R22", "R23"])
@pytest.mark.reads
def test_node_holds_conf_for_each_cluster_it_uses(
    client_binding: ClientBinding, profile: ReleaseProfile, hosts: dict[str, Host], verdict: Verdict, evidence: Evidence
) -> None:
    """The node holds ``<cluster>.conf`` of every cluster it is a client of (its own, and central's or,
    at central, every site's), mode 0644 and owner root, in the release's host dir that the containers
    mount as /etc/ceph."""
    path = profile.ceph_config_path(conf_name(client_binding.cluster_site.cluster))
    stat = evidence.add(f"{client_binding.node.name}: stat {path}", hosts[client_binding.node.name].stat(path))
    assert stat is not None, verdict.message(client_binding.where, f"no {path}", "the conf, 0644 root")
    assert (stat.mode, stat.owner) == (0o644, "root"), verdict.message(
        client_binding.where, f"{path} is {stat.mode_text()} {stat.owner}", "mode 0644, owner root", mode="mode"
    )


@pytest.mark.check("CONF-002", requirements=["R24"])
@pytest.mark.reads
def test_conf_names_its_cluster_fsid(
    client_binding: ClientBinding,
    profile: ReleaseProfile,
    hosts: dict[str, Host],
    cluster_admins: dict[str, ClusterAdmin],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """The conf's ``fsid`` is the one the cluster reports (``ceph mon dump``): Glance writes it into every
    location of the store, and Nova and Cinder clone copy-on-write only from locations whose fsid is
    their own cluster's."""
    server = client_binding.cluster_site
    conf = _read_conf(verdict, client_binding.where, hosts[client_binding.node.name], profile, server.cluster, evidence)
    fsid = _monmap(cluster_admins[server.name], evidence).fsid
    assert conf.fsid is not None and conf.fsid.lower() == fsid.lower(), verdict.message(
        client_binding.where,
        f"{conf_name(server.cluster)} has fsid {conf.fsid or 'none'}",
        f"fsid {fsid} of cluster {server.cluster}",
    )


@pytest.mark.check("CONF-003", requirements=["R24"])
@pytest.mark.reads
def test_conf_reaches_exactly_its_cluster_monitors(
    client_binding: ClientBinding,
    profile: ReleaseProfile,
    hosts: dict[str, Host],
    cluster_admins: dict[str, ClusterAdmin],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """Every ``mon host`` entry of the conf is a monitor of that cluster's monmap, and every monitor is
    named: an entry of another cluster sends the client to mons that refuse its key, and a monitor left
    out is one the client cannot fall back to."""
    server = client_binding.cluster_site
    conf = _read_conf(verdict, client_binding.where, hosts[client_binding.node.name], profile, server.cluster, evidence)
    monmap = _monmap(cluster_admins[server.name], evidence)
    difference = cluster.compare_mon_hosts(conf.mon_hosts, monmap)
    seen = "; ".join(
        [
            *(f"mon host names {entry}, no mon of {server.cluster}" for entry in difference.unknown),
            *(f"mon host leaves out {mon}" for mon in difference.missing),
        ]
    )
    assert difference.agrees, verdict.message(
        client_binding.where,
        seen or "no mon host",
        f"the mons of {server.cluster}: {cluster.describe_monmap(monmap)}",
    )


@pytest.mark.check("CONF-004", requirements=["R25"])
@pytest.mark.reads
def test_conf_names_the_keyring_of_its_user(
    client_binding: ClientBinding,
    site_model: SiteModel,
    profile: ReleaseProfile,
    hosts: dict[str, Host],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """A conf of another site's cluster carries ``[client] keyring = /etc/ceph/<cluster>.client.<user>.keyring``
    (the document's ``ceph_conf_overrides``); a conf of the node's own cluster may leave it out, because
    Ceph finds ``/etc/ceph/<cluster>.client.openstack.keyring`` from the conf's file name, but must not
    name another keyring."""
    server = client_binding.cluster_site
    conf = _read_conf(verdict, client_binding.where, hosts[client_binding.node.name], profile, server.cluster, evidence)
    user = binding_user(site_model, client_binding.site, server)
    expected = f"{CONTAINER_CEPH_DIR}/{keyring_name(server.cluster, f'client.{user}')}"
    external = server.name != client_binding.site.name
    problem = find_keyring_option_problem(conf, expected, required=external)
    assert problem is None, verdict.message(
        client_binding.where,
        f"{conf_name(server.cluster)} has {problem}",
        f"[client] keyring = {expected}",
    )


@pytest.mark.check("CONF-005", requirements=["R25"])
@pytest.mark.reads
def test_compute_conf_gives_qemu_admin_socket_and_log(
    compute_node: NodeCase, profile: ReleaseProfile, hosts: dict[str, Host], verdict: Verdict, evidence: Evidence
) -> None:
    """The conf of the compute's own cluster has ``[client.libvirt]`` with ``admin socket`` and ``log file``,
    as the Ceph client role writes it: without them a guest disk's librbd cannot be inspected or
    debugged on the node."""
    site = compute_node.site
    where = f"{compute_node.node.name} -> {site.name}"
    conf = _read_conf(verdict, where, hosts[compute_node.node.name], profile, site.cluster, evidence)
    problem = find_libvirt_section_problem(conf)
    assert problem is None, verdict.message(
        where, f"{conf_name(site.cluster)} has {problem}", "[client.libvirt] with admin socket and log file"
    )


def _client_node(site: Site) -> str:
    return next(node.name for node in site.nodes if is_ceph_client(node))


@pytest.mark.check("CONF-006", requirements=["R27", "R28"])
@pytest.mark.reads
def test_site_reaches_other_site_images_pool_and_may_write_it(
    site_pair: SitePair,
    site_model: SiteModel,
    profile: ReleaseProfile,
    hosts: dict[str, Host],
    cluster_admins: dict[str, ClusterAdmin],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """From a node of the client site, ``rbd ls`` of the other site's images pool succeeds with that site's
    conf, keyring and the shared user, and the user may write there: central copies images into each
    DCN store, and a DCN site copies its snapshots back to central (write access is read from the
    user's caps, so nothing is written)."""
    client, server = site_pair.client, site_pair.server
    node = _client_node(client)
    user = binding_user(site_model, client, server)
    where = f"{client.name} ({node}) -> {server.name}"
    argv = client_argv("rbd", profile.ceph_config_host_dir, server.cluster, user, ["-p", server.pools.images, "ls"])
    result = hosts[node].run(argv)
    evidence.add(f"{node}: {describe_command(argv)}", "ok" if result.ok else describe_failure(result))
    assert result.ok, verdict.message(
        where,
        f"{describe_command(argv)} failed ({describe_failure(result)})",
        f"client.{user} to list pool {server.pools.images} of {server.cluster}",
    )
    admin = cluster_admins[server.name]
    args = ("auth", "get", f"client.{user}", "-f", "json")
    answer = admin.run(*args)
    assert answer.ok or is_unknown_entity(answer), admin_failure(admin, args, answer)
    entity = find_entity(parse_auth_get(answer.stdout), f"client.{user}") if answer.ok else None
    evidence.add(f"{admin.node}: {describe_command(admin.argv(args))} (caps)", entity.caps.as_dict() if entity else {})
    assert entity is not None, verdict.message(
        where, f"cluster {server.cluster} has no client.{user}", f"client.{user} with write access"
    )
    assert may_write_pool(entity.caps, server.pools.images), verdict.message(
        where,
        f"client.{user} may only read pool {server.pools.images} of {server.cluster} (osd '{entity.caps.osd or ''}')",
        f"write access (profile rbd pool={server.pools.images}) to copy images there",
    )
