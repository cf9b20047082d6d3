"""Which environment files each stack of a DCN deployment needs, and what they hold.

This is the source document's deployment procedure as a pure function of the site model: per
stack, the files the operator creates by hand (ceph_keys.yaml, glance.yaml, az.yaml, the cluster
name file), the files ``openstack overcloud export ceph`` produces (CephExternalMultiConfig), the
central update files, and the deploy commands with their ``-e`` files in the documented order.
It deliberately differs from the document where the document is wrong: ``GlanceBackendID`` is
spelt right and set on every stack (also in the key option 2 variants, which omit it), the keys
file deployed is the one created, and parameters a release does not define are left out
(``ManageNetworks`` is gone at zed).
"""

from __future__ import annotations

from dataclasses import dataclass

from dcn_checks.cephx import Secret, rbd_client_caps
from dcn_checks.generator.keystore import ClusterSecrets
from dcn_checks.heat import Catalog, load_catalog
from dcn_checks.model import Site, SiteModel
from dcn_checks.release import THT, ReleaseProfile

#: Placeholder for the generated directory inside deploy scripts.
OUT = "$OUT"


@dataclass(frozen=True, slots=True)
class EnvFile:
    """One environment file: where it goes, why, and its ``parameter_defaults`` in order."""

    path: str
    purpose: str
    parameters: tuple[tuple[str, object], ...]
    secret: bool = False


@dataclass(frozen=True, slots=True)
class DeployCommand:
    """A shell script that deploys or updates one stack."""

    path: str
    stack: str
    purpose: str
    commands: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class StackPlan:
    """Everything the generator writes for a deployment."""

    files: tuple[EnvFile, ...]
    scripts: tuple[DeployCommand, ...]


def external_cluster(site: Site, secrets: ClusterSecrets, user: str) -> dict[str, object]:
    """Return one CephExternalMultiConfig item for ``site``'s cluster, as ``overcloud export ceph`` writes it.

    ``dashboard_enabled: false`` is required: the dashboard cannot be deployed on a client of an
    external cluster. The keyring override tells clients which keyring to use for this cluster.
    """
    return {
        "cluster": site.cluster,
        "fsid": secrets.fsid,
        "external_cluster_mon_ips": ", ".join(site.mons),
        "keys": [
            {
                "name": f"client.{user}",
                "caps": rbd_client_caps(site.pools.names()),
                "key": secrets.key(user),
                "mode": "0600",
            }
        ],
        "dashboard_enabled": False,
        "ceph_conf_overrides": {"client": {"keyring": f"/etc/ceph/{site.cluster}.client.{user}.keyring"}},
    }


def multistore_entry(site: Site, model: SiteModel) -> dict[str, object]:
    """Return the GlanceMultistoreConfig item by which another stack's Glance reaches ``site``'s store."""
    entry: dict[str, object] = {
        "GlanceBackend": "rbd",
        "GlanceStoreDescription": site.store_description,
        "CephClusterName": site.cluster,
    }
    if model.key_option == 2:
        entry["CephClientUserName"] = model.client_user
    if site.pools.images != "images":
        entry["GlanceRbdPoolName"] = site.pools.images
    return entry


def _keys_file(path: str, site: Site, model: SiteModel, secrets: ClusterSecrets) -> EnvFile:
    parameters: list[tuple[str, object]] = [("CephClientKey", secrets.key("openstack"))]
    if model.key_option == 2:
        extra_key = {
            "name": f"client.{model.client_user}",
            "caps": rbd_client_caps(site.pools.names()),
            "key": secrets.key(model.client_user),
            "mode": "0600",
        }
        parameters.append(("CephExtraKeys", [extra_key]))
    purpose = f"cephx keys of the {site.cluster} cluster (key option {model.key_option})"
    return EnvFile(path, purpose, tuple(parameters), secret=True)


def _cluster_file(site: Site, profile: ReleaseProfile, secrets: ClusterSecrets) -> EnvFile:
    parameters: list[tuple[str, object]] = [
        ("CephClusterName", site.cluster),
        ("CephClusterFSID", secrets.fsid),
    ]
    if profile.ceph_deployer == "cephadm":
        parameters.append(("DeployedCeph", True))
        purpose = (
            f"stands in for the output of 'openstack overcloud ceph deploy --cluster {site.cluster}' "
            "(the real command overwrites it)"
        )
        return EnvFile(f"{site.stack}/deployed-ceph-{site.stack}.yaml", purpose, tuple(parameters))
    return EnvFile(f"{site.stack}/ceph.yaml", f"name of the {site.cluster} Ceph cluster", tuple(parameters))


def _glance_file(site: Site, model: SiteModel, others: tuple[Site, ...]) -> EnvFile:
    parameters: list[tuple[str, object]] = [
        ("GlanceShowMultipleLocations", True),
        ("GlanceEnabledImportMethods", "web-download,copy-image"),
        ("GlanceBackend", "rbd"),
        ("GlanceBackendID", site.store_id),
        ("GlanceStoreDescription", site.store_description),
    ]
    if site.is_central:
        purpose = "central Glance: default store on the central cluster"
    else:
        purpose = f"{site.name} Glance: default store on the {site.cluster} cluster, plus central"
        parameters.append(
            ("GlanceMultistoreConfig", {other.store_id: multistore_entry(other, model) for other in others})
        )
    return EnvFile(f"{site.stack}/glance.yaml", purpose, tuple(parameters))


def _az_file(site: Site, catalog: Catalog) -> EnvFile:
    parameters: list[tuple[str, object]] = []
    if not site.is_central and catalog.get("ManageNetworks") is not None:
        parameters.append(("ManageNetworks", False))
    parameters += [
        ("NovaComputeAvailabilityZone", site.az),
        ("CinderStorageAvailabilityZone", site.cinder_az),
    ]
    if site.volume_cluster:
        parameters.append(("CinderVolumeCluster", site.volume_cluster))
    return EnvFile(f"{site.stack}/az.yaml", f"availability zone of {site.name} for Nova and Cinder", tuple(parameters))


def plan_stacks(model: SiteModel, secrets: dict[str, ClusterSecrets]) -> StackPlan:
    """Return every environment file and deploy script of the deployment, in the documented order."""
    profile = model.profile
    catalog = load_catalog(profile.catalog)
    central = model.central
    user = model.client_user
    files: list[EnvFile] = []
    central_keys = f"{central.stack}/ceph_keys.yaml"
    files.append(_keys_file(central_keys, central, model, secrets[central.cluster]))
    files.append(_cluster_file(central, profile, secrets[central.cluster]))
    files.append(_az_file(central, catalog))
    files.append(_glance_file(central, model, ()))
    files.append(
        EnvFile(
            "central_ceph_external.yaml",
            f"the central cluster as an external cluster of every DCN stack (overcloud export ceph, user {user})",
            (("CephExternalMultiConfig", [external_cluster(central, secrets[central.cluster], user)]),),
            secret=True,
        )
    )
    for site in model.dcn_sites:
        files.append(_keys_file(f"{site.stack}/dcn_ceph_keys.yaml", site, model, secrets[site.cluster]))
        files.append(_cluster_file(site, profile, secrets[site.cluster]))
        files.append(_az_file(site, catalog))
        files.append(_glance_file(site, model, (central,)))
    if model.dcn_sites:
        files.append(
            EnvFile(
                f"{central.stack}/glance-dcn-stores.yaml",
                "central update: one Glance store per DCN site",
                (
                    (
                        "GlanceMultistoreConfig",
                        {site.store_id: multistore_entry(site, model) for site in model.dcn_sites},
                    ),
                ),
            )
        )
        files.append(
            EnvFile(
                f"{central.stack}/dcn_ceph_external.yaml",
                f"central update: every DCN cluster as an external cluster of central (user {user})",
                (
                    (
                        "CephExternalMultiConfig",
                        [external_cluster(site, secrets[site.cluster], user) for site in model.dcn_sites],
                    ),
                ),
                secret=True,
            )
        )
    return StackPlan(files=tuple(files), scripts=tuple(_deploy_scripts(model, profile)))


def _deploy_scripts(model: SiteModel, profile: ReleaseProfile) -> list[DeployCommand]:
    central = model.central
    scripts = [
        DeployCommand(
            f"{central.stack}/deploy.sh",
            central.stack,
            f"deploy the {central.stack} stack (central site)",
            _ceph_deploy(central, profile) + (_deploy(central, model, profile, update=False),),
        )
    ]
    for site in model.dcn_sites:
        scripts.append(
            DeployCommand(
                f"{site.stack}/deploy.sh",
                site.stack,
                f"deploy the {site.stack} stack (DCN site {site.name})",
                _ceph_deploy(site, profile) + (_deploy(site, model, profile, update=False),),
            )
        )
    if model.dcn_sites:
        scripts.append(
            DeployCommand(
                f"{central.stack}/update.sh",
                central.stack,
                f"update the {central.stack} stack once every DCN stack is deployed",
                (_deploy(central, model, profile, update=True),),
            )
        )
    return scripts


def _ceph_deploy(site: Site, profile: ReleaseProfile) -> tuple[tuple[str, ...], ...]:
    if profile.ceph_deployer != "cephadm":
        return ()
    roles = "control_plane_roles.yaml" if site.is_central else "dcn_roles.yaml"
    return (
        (
            "openstack overcloud ceph deploy",
            f"~/deployed-metal-{site.stack}.yaml",
            f"--output {OUT}/{site.stack}/deployed-ceph-{site.stack}.yaml",
            "--container-image-prepare ~/containers-prepare-parameter.yaml",
            "--network-data ~/network-data.yaml",
            f"--roles-data ~/{site.stack}/{roles}",
            f"--cluster {site.cluster}",
            f"--stack {site.stack}",
        ),
    )


def _deploy(site: Site, model: SiteModel, profile: ReleaseProfile, *, update: bool) -> tuple[str, ...]:
    """Return the ``openstack overcloud deploy`` command of a stack, ``-e`` files in documented order."""
    stack = site.stack
    roles = "control_plane_roles.yaml" if site.is_central else "dcn_roles.yaml"
    head = [
        "openstack overcloud deploy",
        f"--stack {stack}",
        f"--templates {THT}/",
        f"-r ~/{stack}/{roles}",
        "-n ~/network-data.yaml",
    ]
    env: list[str] = []
    if profile.ceph_deployer == "ceph-ansible":
        env += [f"{THT}/environments/{name}" for name in ("net-multiple-nics.yaml", "network-isolation.yaml")]
        env += [f"{THT}/environments/network-environment.yaml", f"{THT}/environments/disable-telemetry.yaml"]
        env += [f"{THT}/environments/podman.yaml"]
        if site.is_central:
            env.append(f"{THT}/environments/disable-swift.yaml")
    else:
        env += [f"{THT}/environments/network-environment.yaml", f"{THT}/environments/podman.yaml"]
    env.append(profile.ceph_env)
    own = f"{OUT}/{stack}"
    if site.is_central:
        if model.key_option == 1:
            env.append(f"{THT}/environments/cinder-backup.yaml")
        env.append(f"{THT}/environments/nova-az-config.yaml")
        if profile.ceph_deployer == "ceph-ansible":
            env += [f"~/{stack}/role-counts.yaml", f"{own}/ceph.yaml", f"{own}/ceph_keys.yaml"]
        else:
            env += [f"{own}/deployed-ceph-{stack}.yaml", f"{own}/ceph_keys.yaml"]
            env += [f"~/deployed-{kind}-{stack}.yaml" for kind in ("vips", "network", "metal")]
        env += [f"{own}/az.yaml", f"{own}/glance.yaml"]
        if update:
            env += [f"{own}/glance-dcn-stores.yaml", f"{own}/dcn_ceph_external.yaml"]
    else:
        env += [profile.dcn_storage_env, profile.control_plane_export, f"{OUT}/central_ceph_external.yaml"]
        if profile.ceph_deployer == "ceph-ansible":
            env += [f"{own}/dcn_ceph_keys.yaml", f"~/{stack}/role-counts.yaml", f"{own}/ceph.yaml"]
        else:
            env += [f"{own}/deployed-ceph-{stack}.yaml", f"{own}/dcn_ceph_keys.yaml"]
            env += [f"~/deployed-{kind}-{stack}.yaml" for kind in ("vips", "network", "metal")]
        env += [f"{own}/az.yaml", f"{own}/glance.yaml"]
    return (*head, *(f"-e {path}" for path in env))


def reveal(value: object) -> object:
    """Return ``value`` with every ``Secret`` inside replaced by the secret itself, for writing."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value
