"""The lint rules: traps in DCN storage environment files that Heat deploys without a word.

Each rule is a pure function of the stacks of a directory and the Heat catalog of the release, and
returns findings: one line each, naming the file, the parameter, what is wrong and what fixes it.
The rule names are stable; the static suite and the report key on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from dcn_checks.cephconf import CapService, diff_caps
from dcn_checks.cephx import EXTERNAL_CAPS, find_key_problem
from dcn_checks.heat import Catalog, RoleTable, as_bool, as_list, load_role_table, type_problem
from dcn_checks.inputs import MAX_SHOWN, clip
from dcn_checks.lint.envdir import EnvDirectory, Stack, near_namesake

_MULTISTORE_KEYS = frozenset(
    {"GlanceBackend", "GlanceStoreDescription", "CephClusterName", "CephClientUserName", "GlanceRbdPoolName",
     "GlanceCinderVolumeType", "GlanceNetappNfsEnabled", "NetappShareLocation", "GlanceNodeStagingUri",
     "GlanceNfsEnabled", "GlanceNfsShare", "GlanceNfsOptions", "GlanceSparseUploadEnabled"}
)  # fmt: skip
_EXTERNAL_REQUIRED = ("cluster", "fsid", "external_cluster_mon_ips", "keys")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One thing wrong in the environment files."""

    file: str
    parameter: str
    message: str
    rule: str

    def __post_init__(self) -> None:
        # Rules quote the values they judge; a hostile or runaway value must not flood the output.
        object.__setattr__(self, "parameter", clip(self.parameter, MAX_SHOWN))
        object.__setattr__(self, "message", clip(self.message, 2 * MAX_SHOWN))

    def line(self) -> str:
        """Return the finding as the one line the lint prints."""
        return f"{self.file}: {self.parameter}: {self.message} [{self.rule}]"


Rule = Callable[[EnvDirectory, Catalog], Iterable[Finding]]


def _cluster(stack: Stack, catalog: Catalog) -> str:
    return str(stack.effective.get("CephClusterName", catalog.default("CephClusterName") or "ceph"))


def _backend_id(stack: Stack, catalog: Catalog) -> str:
    return str(stack.effective.get("GlanceBackendID", catalog.default("GlanceBackendID") or "default_backend"))


def _multistore(stack: Stack) -> Mapping[str, Mapping[str, object]]:
    value = stack.effective.get("GlanceMultistoreConfig") or {}
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, Mapping)}


def _external_items(stack: Stack) -> list[Mapping[str, object]]:
    value = stack.effective.get("CephExternalMultiConfig") or []
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _uses_rbd_glance(stack: Stack) -> bool:
    return str(stack.effective.get("GlanceBackend", "")) == "rbd"


def unknown_parameters(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """Names Heat does not define at the release (R1): Heat ignores them and keeps the default.

    Per-role parameters (``ControllerCount``, ``DistributedComputeHCIHostnameFormat``, ...) are defined:
    THT renders them for every role of the stack's roles file, or, when the directory does not hold
    that file, for any role the release ships.
    """
    table = load_role_table(catalog.key)
    for stack in directory.stacks:
        for content in stack.files:
            for name, value in content.parameters.items():
                parameter = catalog.get(name)
                if parameter is None and table.defines(name, stack.roles):
                    continue
                if parameter is None and _zero_count_of_a_role(name, value, table):
                    continue  # the document's ``ComputeCount: 0`` at a stack without Compute: harmless
                if parameter is None:
                    yield Finding(content.path, name, _unknown(name, stack, catalog, table), "unknown-parameter")
                    continue
                problem = type_problem(parameter, value)
                if problem is not None:
                    yield Finding(content.path, name, problem, "parameter-type")
                if name == "GlanceMultistoreConfig" and isinstance(value, Mapping):
                    for store, entry in value.items():
                        for key in entry if isinstance(entry, Mapping) else ():
                            if key not in _MULTISTORE_KEYS:
                                closest = catalog.closest(key)
                                hint = f" (did you mean {closest}?)" if closest in _MULTISTORE_KEYS else ""
                                message = f"'{key}' is not a per-store key puppet-tripleo reads, so it is ignored{hint}"
                                yield Finding(
                                    content.path, f"GlanceMultistoreConfig.{store}.{key}", message, "unknown-parameter"
                                )


def _zero_count_of_a_role(name: str, value: object, table: RoleTable) -> bool:
    role = table.role_of(name)
    return role is not None and name == f"{role}Count" and str(value).strip() == "0"


def _unknown(name: str, stack: Stack, catalog: Catalog, table: RoleTable) -> str:
    """Why Heat ignores ``name``: a role the roles file lacks, or a name no template defines (with the closest)."""
    role = table.role_of(name)
    if role is not None and stack.roles is not None:
        return (
            f"a parameter of role {role}, which the stack's roles file {stack.roles_file} does not have "
            f"({', '.join(sorted(stack.roles))}), so Heat ignores it"
        )
    closest = catalog.closest(name)
    hint = f" (did you mean {closest}?)" if closest else ""
    return f"not defined by tripleo-heat-templates {catalog.key}, so Heat ignores it{hint}"


def backend_ids(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """GlanceBackendID must equal the store name every other stack uses for that cluster (R2)."""
    for stack in directory.stacks:
        if not _uses_rbd_glance(stack):
            continue
        cluster = _cluster(stack, catalog)
        own = _backend_id(stack, catalog)
        names = {
            store: other.name
            for other in directory.stacks
            if other is not stack
            for store, entry in _multistore(other).items()
            if str(entry.get("CephClusterName", "")) == cluster
        }
        for store, other in sorted(names.items()):
            if store != own:
                state = "not set, so it stays" if "GlanceBackendID" not in stack.origin else "set to"
                where = stack.origin.get("GlanceBackendID", stack.where("GlanceBackend"))
                message = (
                    f"{state} '{own}' at {stack.name}, but {other} calls the {cluster} cluster's store '{store}'; "
                    f"set GlanceBackendID: {store} so every Glance agrees on store names"
                )
                yield Finding(where, "GlanceBackendID", message, "backend-id")


def multistore_items(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """Each GlanceMultistoreConfig item names its backend (R4); stores reach every site (R3)."""
    clusters = {_cluster(stack, catalog): stack for stack in directory.stacks}
    central = directory.central
    for stack in directory.stacks:
        where = stack.where("GlanceMultistoreConfig")
        file_or_swift = []
        for store, entry in _multistore(stack).items():
            backend = entry.get("GlanceBackend")
            if backend is None:
                message = f"store '{store}' has no GlanceBackend; puppet fails with 'does not specify a glance_backend'"
                yield Finding(where, f"GlanceMultistoreConfig.{store}.GlanceBackend", message, "multistore-backend")
            elif backend in ("file", "swift"):
                file_or_swift.append(store)
            cluster = entry.get("CephClusterName")
            if backend == "rbd" and cluster is not None and str(cluster) not in clusters:
                message = f"store '{store}' uses cluster '{cluster}', which no stack in this directory deploys"
                yield Finding(where, f"GlanceMultistoreConfig.{store}.CephClusterName", message, "multistore-cluster")
        if len(file_or_swift) > 1:
            message = f"stores {', '.join(file_or_swift)} are file/swift; Glance allows at most one of those"
            yield Finding(where, "GlanceMultistoreConfig", message, "multistore-backend")
    if central is None:
        return
    central_cluster = _cluster(central, catalog)
    central_reaches = {str(entry.get("CephClusterName")) for entry in _multistore(central).values()}
    for stack in directory.dcn_stacks:
        if not _uses_rbd_glance(stack):
            continue
        cluster = _cluster(stack, catalog)
        if central_reaches and cluster not in central_reaches:
            message = (
                f"central has no store on the {cluster} cluster; add {stack.name} to GlanceMultistoreConfig of "
                f"the {central.name} stack (glance-dcn-stores.yaml)"
            )
            yield Finding(
                central.where("GlanceMultistoreConfig"), "GlanceMultistoreConfig", message, "multistore-cluster"
            )
        reaches = {str(entry.get("CephClusterName")) for entry in _multistore(stack).values()}
        if central_cluster not in reaches:
            message = (
                f"{stack.name} Glance has no store on the central cluster '{central_cluster}'; add a 'central' item "
                "so images can be copied between sites"
            )
            where = stack.origin.get("GlanceMultistoreConfig") or stack.where("GlanceBackend")
            yield Finding(where, "GlanceMultistoreConfig", message, "multistore-cluster")


def copy_image(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """Every stack's Glance offers copy-image, or images cannot move between sites (R5)."""
    for stack in directory.stacks:
        if not _uses_rbd_glance(stack):
            continue
        methods = as_list(
            stack.effective.get("GlanceEnabledImportMethods", catalog.default("GlanceEnabledImportMethods"))
        )
        if "copy-image" not in methods:
            message = f"is '{','.join(methods)}' at {stack.name}; add copy-image (e.g. web-download,copy-image)"
            yield Finding(
                stack.where("GlanceEnabledImportMethods"), "GlanceEnabledImportMethods", message, "copy-image"
            )


def cross_az_attach(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """DCN stacks run Nova with cross_az_attach false, so boot-from-volume stays in the site (R6)."""
    for stack in directory.dcn_stacks:
        value = stack.effective.get("NovaCrossAZAttach", catalog.default("NovaCrossAZAttach"))
        if value is None or as_bool(value):
            dcn_env = [
                env
                for env in stack.tht_environments
                if env.rsplit("/", 1)[-1] in {"dcn-hci.yaml", "dcn-storage.yaml", "dcn.yaml"}
            ]
            why = (
                ""
                if dcn_env
                else " and the deploy command includes neither environments/dcn-hci.yaml nor dcn-storage.yaml"
            )
            message = (
                f"is true at {stack.name}{why}; volumes for boot-from-volume land in the default AZ "
                "(include the dcn environment or set NovaCrossAZAttach: false)"
            )
            yield Finding(stack.where("NovaCrossAZAttach"), "NovaCrossAZAttach", message, "cross-az-attach")


def availability_zones(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """Nova and Cinder use the same AZ at a site, and the A/A cluster is named after it (R7)."""
    for stack in directory.dcn_stacks:
        nova = str(stack.effective.get("NovaComputeAvailabilityZone") or stack.name)
        cinder = str(
            stack.effective.get("CinderStorageAvailabilityZone", catalog.default("CinderStorageAvailabilityZone"))
        )
        if cinder != nova:
            message = (
                f"is '{cinder}' at {stack.name} but the Nova AZ is '{nova}'; set CinderStorageAvailabilityZone: {nova}"
            )
            yield Finding(
                stack.where("CinderStorageAvailabilityZone"), "CinderStorageAvailabilityZone", message, "az-mismatch"
            )
        volume_cluster = stack.effective.get("CinderVolumeCluster")
        if volume_cluster is not None and str(volume_cluster) != nova:
            message = (
                f"is '{volume_cluster}' at {stack.name}; each DCN site needs its own active/active cluster, "
                f"set CinderVolumeCluster: {nova}"
            )
            yield Finding(stack.where("CinderVolumeCluster"), "CinderVolumeCluster", message, "az-mismatch")


def duplicate_clusters(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """Cluster names are unique across stacks and among a stack's external clusters (R8)."""
    seen: dict[str, str] = {}
    for stack in directory.stacks:
        cluster = _cluster(stack, catalog)
        if cluster in seen:
            message = (
                f"'{cluster}' at {stack.name} is also the cluster of {seen[cluster]}; a node that is a client of both "
                "reads one /etc/ceph/<cluster>.conf for two clusters"
            )
            yield Finding(stack.where("CephClusterName"), "CephClusterName", message, "duplicate-cluster")
        seen.setdefault(cluster, stack.name)
    for stack in directory.stacks:
        own = _cluster(stack, catalog)
        names: list[str] = []
        for item in _external_items(stack):
            name = str(item.get("cluster", ""))
            if name == own or name in names:
                message = f"cluster '{name}' appears twice among the clusters {stack.name} is a client of"
                yield Finding(
                    stack.where("CephExternalMultiConfig"), "CephExternalMultiConfig", message, "duplicate-cluster"
                )
            names.append(name)


def external_configs(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """CephExternalMultiConfig items are complete and their keyring path matches (R9)."""
    fsids = {
        _cluster(s, catalog): str(s.effective["CephClusterFSID"])
        for s in directory.stacks
        if "CephClusterFSID" in s.effective
    }
    for stack in directory.stacks:
        where = stack.where("CephExternalMultiConfig")
        for index, item in enumerate(_external_items(stack)):
            cluster = str(item.get("cluster", f"#{index}"))
            label = f"CephExternalMultiConfig[{cluster}]"
            for key in _EXTERNAL_REQUIRED:
                if not item.get(key):
                    yield Finding(
                        where,
                        f"{label}.{key}",
                        f"has no {key}; 'openstack overcloud export ceph' writes it",
                        "external-config",
                    )
            if item.get("dashboard_enabled") is not False:
                message = (
                    "must set dashboard_enabled: false; the dashboard cannot be deployed on a client of an external "
                    "cluster"
                )
                yield Finding(where, f"{label}.dashboard_enabled", message, "external-config")
            fsid = item.get("fsid")
            if fsid and cluster in fsids and str(fsid) != fsids[cluster]:
                message = f"has fsid {fsid} but the stack deploying {cluster} sets CephClusterFSID {fsids[cluster]}"
                yield Finding(where, f"{label}.fsid", message, "external-config")
            keys = item.get("keys")
            if not isinstance(keys, list) or not keys or not isinstance(keys[0], Mapping):
                continue
            user = str(keys[0].get("name", "client.openstack")).removeprefix("client.")
            expected = f"/etc/ceph/{cluster}.client.{user}.keyring"
            overrides = item.get("ceph_conf_overrides")
            client = overrides.get("client") if isinstance(overrides, Mapping) else None
            keyring = client.get("keyring") if isinstance(client, Mapping) else None
            if keyring != expected:
                seen = f"'{keyring}'" if keyring else "missing"
                message = (
                    f"ceph_conf_overrides client keyring is {seen}; expected {expected} for cluster {cluster}, "
                    f"user {user}"
                )
                yield Finding(where, f"{label}.ceph_conf_overrides.client.keyring", message, "keyring-path")


def _all_keys(stack: Stack) -> Iterable[tuple[str, str, Mapping[str, object]]]:
    """Yield (file, label, key entry) for every cephx key entry a stack's files define."""
    extra = stack.effective.get("CephExtraKeys")
    for entry in extra if isinstance(extra, list) else []:
        if isinstance(entry, Mapping):
            yield stack.where("CephExtraKeys"), f"CephExtraKeys[{entry.get('name')}]", entry
    for item in _external_items(stack):
        keys = item.get("keys")
        for entry in keys if isinstance(keys, list) else []:
            if isinstance(entry, Mapping):
                label = f"CephExternalMultiConfig[{item.get('cluster')}].keys[{entry.get('name')}]"
                yield stack.where("CephExternalMultiConfig"), label, entry


def _caps_differences(seen: Mapping[str, str], expected: Mapping[str, str]) -> list[str]:
    """Return one phrase per service whose caps differ, e.g. ``osd 'profile rbd' (expected '...')``.

    ``cephconf.diff_caps`` compares the caps grant by grant. A cap for a service that ``expected`` lacks is
    extra even when it grants nothing, or names a service Ceph does not know (``rgw``), which diff_caps refuses.
    """
    services = get_args(CapService)
    differing: set[str] = {d.service for d in diff_caps({s: c for s, c in seen.items() if s in services}, expected)}
    differing.update(s for s in seen if s not in expected)
    problems = []
    for service in sorted(differing):
        have, want = seen.get(service), expected.get(service)
        if have is None:
            problems.append(f"no {service} cap (expected '{want}')")
        elif want is None:
            problems.append(f"an extra {service} cap '{have}'")
        else:
            problems.append(f"{service} '{have}' (expected '{want}')")
    return problems


def cephx_keys(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """Keys are valid cephx secrets and client.external has exactly the documented caps (R10)."""
    del catalog
    for stack in directory.stacks:
        client_key = stack.effective.get("CephClientKey")
        if client_key is not None:
            problem = find_key_problem(str(client_key))
            if problem is not None:
                yield Finding(stack.where("CephClientKey"), "CephClientKey", f"the key {problem.reason}", "key-format")
        for where, label, entry in _all_keys(stack):
            problem = find_key_problem(str(entry.get("key", "")))
            if problem is not None:
                yield Finding(where, label, f"the key {problem.reason}", "key-format")
            if entry.get("name") == "client.external":
                caps = entry.get("caps")
                seen = {str(k): str(v) for k, v in caps.items()} if isinstance(caps, Mapping) else {}
                differences = _caps_differences(seen, EXTERNAL_CAPS)
                if differences:
                    message = f"client.external caps differ from the documented ones: {'; '.join(differences)}"
                    yield Finding(where, label, message, "external-caps")
                if str(entry.get("mode", "")) not in ("0600", "600", "384"):
                    yield Finding(
                        where, label, f"mode is {entry.get('mode')!r}; keyrings are written 0600", "external-caps"
                    )


def cinder_multi_config(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """CinderRbdMultiConfig backends use clusters the stack is a client of (R11)."""
    del catalog
    for stack in directory.stacks:
        value = stack.effective.get("CinderRbdMultiConfig") or {}
        known = {str(item.get("cluster")) for item in _external_items(stack)}
        for backend, entry in value.items() if isinstance(value, Mapping) else ():
            cluster = str(entry.get("CephClusterName", "")) if isinstance(entry, Mapping) else ""
            if cluster not in known:
                message = f"backend '{backend}' uses cluster '{cluster}', which is not in CephExternalMultiConfig"
                yield Finding(
                    stack.where("CinderRbdMultiConfig"),
                    f"CinderRbdMultiConfig.{backend}.CephClusterName",
                    message,
                    "cinder-multi-config",
                )


def deploy_files(directory: EnvDirectory, catalog: Catalog) -> Iterable[Finding]:
    """Every file a deploy command passes exists (the document creates ceph_keys.yaml, deploys dcn_ceph_keys.yaml)."""
    del catalog
    for stack in directory.stacks:
        for missing in stack.missing:
            message = f"the deploy command passes -e {missing.path}, which does not exist"
            near = near_namesake(directory.root / missing.path)
            if near is not None:
                message += f" (the directory has {near})"
            yield Finding(missing.script, "-e", message, "deploy-file")


#: Rule name → (function, requirements it proves).
RULES: dict[str, tuple[Rule, tuple[str, ...]]] = {
    "unknown-parameter": (unknown_parameters, ("R1",)),
    "backend-id": (backend_ids, ("R2",)),
    "multistore": (multistore_items, ("R3", "R4")),
    "copy-image": (copy_image, ("R5",)),
    "cross-az-attach": (cross_az_attach, ("R6",)),
    "az-mismatch": (availability_zones, ("R7",)),
    "duplicate-cluster": (duplicate_clusters, ("R8",)),
    "external-config": (external_configs, ("R9",)),
    "cephx-keys": (cephx_keys, ("R10",)),
    "cinder-multi-config": (cinder_multi_config, ("R11",)),
    "deploy-file": (deploy_files, ("R1",)),
}


def run_rules(directory: EnvDirectory, catalog: Catalog, names: Iterable[str] | None = None) -> list[Finding]:
    """Run the named rules (all by default) and return their findings, sorted by file."""
    findings: list[Finding] = []
    for name in names if names is not None else RULES:
        function, _requirements = RULES[name]
        findings.extend(function(directory, catalog))
    return sorted(set(findings))


def find_stack_findings(directory: EnvDirectory, catalog: Catalog, rule: str, stack_name: str) -> list[Finding]:
    """The findings of ``rule`` in the files of one stack (its files, its deploy script, its directory)."""
    stack = next(s for s in directory.stacks if s.name == stack_name)
    files = {content.path for content in stack.files} | {stack.deploy_script or ""}
    function, _requirements = RULES[rule]
    return [f for f in function(directory, catalog) if f.file in files or f.file.startswith(f"{stack.name}/")]


def describe_stack_findings(stack: str, findings: Sequence[Finding]) -> str:
    """One line for a static check: the stack, the first finding as the lint prints it, and the others."""
    more = (
        f" (+{len(findings) - 1} more: " + "; ".join(f.line() for f in findings[1:]) + ")" if len(findings) > 1 else ""
    )
    return f"{stack}: {findings[0].line()}{more}"
