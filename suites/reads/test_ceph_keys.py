"""cephx users of each cluster and the keyrings the client nodes hold for them (R10, R20, R22, R23).

Glance, Nova and Cinder open every cluster as ``client.openstack`` (their own site's) or as the user
shared with the other sites (``client.external`` with key option 2, whose caps the source document
prescribes). A missing grant shows only when a copy or a boot fails at one site; a keyring with a
stale key only when that site first talks to the cluster. Keys are compared without being shown.
"""

from __future__ import annotations

import pytest

from dcn_checks.cephcli import ClusterAdmin, admin_failure, binding_user, describe_command, is_unknown_entity
from dcn_checks.cephconf import (
    AuthEntity,
    describe_cap_differences,
    diff_caps,
    drop_extra_rbd_pools,
    find_entity,
    keyring_name,
    parse_auth_get,
    parse_keyring,
)
from dcn_checks.cephx import rbd_client_caps
from dcn_checks.clients import Host
from dcn_checks.errors import ParseError
from dcn_checks.evidence import Evidence
from dcn_checks.model import Site, SiteModel
from dcn_checks.parametrize import ClientBinding
from dcn_checks.release import ReleaseProfile
from dcn_checks.requirements import Verdict


def _cluster_entity(admin: ClusterAdmin, entity: str, evidence: Evidence) -> AuthEntity | None:
    """``ceph auth get <entity>`` on the cluster; None when the cluster has no such user. Only the caps
    go into the evidence, never the key."""
    args = ("auth", "get", entity, "-f", "json")
    result = admin.run(*args)
    if is_unknown_entity(result):
        evidence.add(f"{admin.node}: {describe_command(admin.argv(args))}", f"no {entity}")
        return None
    assert result.ok, admin_failure(admin, args, result)
    found = find_entity(parse_auth_get(result.stdout), entity)
    evidence.add(f"{admin.node}: {describe_command(admin.argv(args))} (caps)", found.caps.as_dict() if found else {})
    return found


def _check_caps(verdict: Verdict, site: Site, entity: AuthEntity | None, name: str, *, extra_pools_ok: bool) -> None:
    expected = rbd_client_caps(site.pools.names())
    wanted = "; ".join(f"{service} '{cap}'" for service, cap in expected.items())
    assert entity is not None, verdict.message(
        site.name, f"cluster {site.cluster} has no {name}", f"{name} with {wanted}"
    )
    differences = diff_caps(entity.caps, expected)
    if extra_pools_ok:
        differences = drop_extra_rbd_pools(differences)
    assert not differences, verdict.message(
        site.name, f"{name} on cluster {site.cluster}: {describe_cap_differences(differences)}", wanted
    )


@pytest.mark.check("KEYS-001", requirements=["R20"])
@pytest.mark.reads
def test_openstack_user_has_documented_caps(
    mon_site: Site, cluster_admins: dict[str, ClusterAdmin], verdict: Verdict, evidence: Evidence
) -> None:
    """``client.openstack`` exists on the site's cluster with mgr ``allow *``, mon ``profile rbd`` and osd
    ``profile rbd`` on the vms, volumes and images pools, the caps TripleO builds for it; grants on
    further RBD pools (backups, CinderRbdExtraPools) are accepted, wider grants are not."""
    entity = _cluster_entity(cluster_admins[mon_site.name], "client.openstack", evidence)
    _check_caps(verdict, mon_site, entity, "client.openstack", extra_pools_ok=True)


@pytest.mark.check("KEYS-002", requirements=["R10", "R20"])
@pytest.mark.reads
def test_external_user_has_documented_caps(
    mon_site: Site, site_model: SiteModel, cluster_admins: dict[str, ClusterAdmin], verdict: Verdict, evidence: Evidence
) -> None:
    """With key option 2, ``client.external`` exists on the site's cluster with exactly the caps of the
    source document: mgr ``allow *``, mon ``profile rbd``, osd ``profile rbd`` on vms, volumes and images.
    The other sites write images (copies, snapshots copied back) with it, so read-only is not enough."""
    if site_model.key_option == 1:
        pytest.skip("key option 1: the sites share client.openstack, no client.external exists")
    entity = _cluster_entity(cluster_admins[mon_site.name], "client.external", evidence)
    _check_caps(verdict, mon_site, entity, "client.external", extra_pools_ok=False)


def _keyring_path(binding: ClientBinding, model: SiteModel, profile: ReleaseProfile) -> tuple[str, str]:
    """(entity, host path of its keyring) the node needs for the binding's cluster."""
    entity = f"client.{binding_user(model, binding.site, binding.cluster_site)}"
    return entity, profile.ceph_config_path(keyring_name(binding.cluster_site.cluster, entity))


def _read_keyring(verdict: Verdict, binding: ClientBinding, host: Host, path: str, entity: str) -> AuthEntity:
    text = host.read_file(path)
    assert text is not None, verdict.message(binding.where, f"no {path}", f"a keyring for {entity}")
    try:
        found = find_entity(parse_keyring(text, path), entity)
    except ParseError as err:
        raise AssertionError(verdict.message(binding.where, str(err), f"a keyring for {entity}")) from None
    assert found is not None, verdict.message(binding.where, f"{path} holds no {entity}", f"a keyring for {entity}")
    return found


@pytest.mark.check("KEYS-003", requirements=["R22", "R23"])
@pytest.mark.reads
def test_node_holds_keyring_for_each_cluster_it_uses(
    client_binding: ClientBinding,
    site_model: SiteModel,
    profile: ReleaseProfile,
    hosts: dict[str, Host],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """The node holds ``<cluster>.client.<user>.keyring`` for every cluster it is a client of
    (``openstack`` for its own, the shared user for another site's), with that entity, mode 0600 and
    owner root: the containers read it from the host's Ceph dir, and nobody else may."""
    entity, path = _keyring_path(client_binding, site_model, profile)
    host = hosts[client_binding.node.name]
    _read_keyring(verdict, client_binding, host, path, entity)
    stat = evidence.add(f"{client_binding.node.name}: stat {path}", host.stat(path))
    assert stat is not None and (stat.mode, stat.owner) == (0o600, "root"), verdict.message(
        client_binding.where,
        f"{path} is {stat.mode_text()} {stat.owner}" if stat else f"{path} vanished",
        "mode 0600, owner root",
        mode="mode" if stat else "",
    )


@pytest.mark.check("KEYS-004", requirements=["R22"])
@pytest.mark.reads
def test_keyring_holds_the_key_the_cluster_knows(
    client_binding: ClientBinding,
    site_model: SiteModel,
    profile: ReleaseProfile,
    hosts: dict[str, Host],
    cluster_admins: dict[str, ClusterAdmin],
    verdict: Verdict,
    evidence: Evidence,
) -> None:
    """The key in the node's keyring for a cluster is the one that cluster has for the user, so the
    first copy, boot or volume at this site is not refused with "permission denied" (keys are compared,
    never shown)."""
    entity, path = _keyring_path(client_binding, site_model, profile)
    on_node = _read_keyring(verdict, client_binding, hosts[client_binding.node.name], path, entity)
    server = client_binding.cluster_site
    known = _cluster_entity(cluster_admins[server.name], entity, evidence)
    assert known is not None, verdict.message(
        client_binding.where, f"cluster {server.cluster} has no {entity}", f"{entity} on {server.cluster}"
    )
    same = on_node.key == known.key
    evidence.add("keys compared", f"{path} {'matches' if same else 'differs from'} {entity} on {server.cluster}")
    assert same, verdict.message(
        client_binding.where,
        f"{path} holds a key for {entity} that cluster {server.cluster} does not know",
        f"the key of 'ceph auth get {entity}' on {server.cluster}",
    )
