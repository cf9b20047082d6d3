"""A stack's Heat parameters, the way Heat hands them to puppet-tripleo and tripleo-ansible.

The renderer's input is the *effective* parameters of one stack: the merge, in ``-e`` order, of the
THT environment defaults (dcn-hci.yaml, dcn-storage.yaml, ceph-ansible.yaml, ...) and the files our
generator writes. This module turns them into a typed ``StackParams``: it applies the Heat default of
every parameter left out and Heat's type coercion (``comma_delimited_list`` given as "a,b" or a list,
booleans given as strings, ``json`` given as text). Unknown names are ignored, as Heat ignores unknown
``parameter_defaults`` (so the ``GlangeBackendID`` typo silently leaves ``default_backend``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dcn_checks.cephx import Secret
from dcn_checks.errors import BadInputError

#: Heat defaults of the parameters this renderer reads. Identical in the catalogs master-2021-03,
#: stable-wallaby and stable-zed (``/work/shared/reference/tht-parameters.<release>.json``; a test
#: compares them), except CinderRbdBackendName and NovaGlanceRbdCopy*, which master-2021-03 lacks:
#: there puppet-tripleo's own default ``tripleo_ceph`` applies and Nova has no copy options.
HEAT_DEFAULTS: dict[str, object] = {
    "CephClusterName": "ceph",
    "CephClientUserName": "openstack",
    "CephExtraKeys": [],
    "CephExternalMultiConfig": [],
    "GlanceBackend": "swift",
    "GlanceBackendID": "default_backend",
    "GlanceStoreDescription": "Default glance store backend.",
    "GlanceMultistoreConfig": {},
    "GlanceEnabledImportMethods": "web-download",
    "GlanceShowMultipleLocations": False,
    "GlanceImageImportPlugins": ["no_op"],
    "GlanceImageConversionOutputFormat": "raw",
    "GlanceSparseUploadEnabled": False,
    "GlanceRbdPoolName": "images",
    "NovaEnableRbdBackend": False,
    "NovaCrossAZAttach": True,
    "NovaDisableImageDownloadToRbd": False,
    "NovaComputeAvailabilityZone": "",
    "NovaRbdPoolName": "vms",
    "NovaGlanceRbdCopyPollInterval": 15,
    "NovaGlanceRbdCopyTimeout": 600,
    "CinderEnableRbdBackend": False,
    "CinderStorageAvailabilityZone": "nova",
    "CinderRbdAvailabilityZone": "",
    "CinderVolumeCluster": "",
    "CinderRbdBackendName": "tripleo_ceph",
    "CinderRbdPoolName": "volumes",
    "CinderRbdExtraPools": [],
    "CinderRbdFlattenVolumeFromSnapshot": False,
    "CinderBackupBackend": "swift",
    "CinderBackupRbdPoolName": "backups",
}


class ParameterError(BadInputError):
    """A Heat parameter of the stack has a value TripleO would refuse; the message names it."""

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        self.problem = problem
        super().__init__(f"{parameter}: {problem}")


class MultistoreBackendError(ParameterError):
    """A GlanceMultistoreConfig item has no GlanceBackend.

    puppet-tripleo fails the deployment here (``tripleo::profile::base::glance::api``:
    "multistore_config '<id>' does not specify a glance_backend.").
    """

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id
        super().__init__(
            "GlanceMultistoreConfig",
            f"store '{store_id}' does not specify a glance_backend (set GlanceBackend: rbd in that item)",
        )


@dataclass(frozen=True, slots=True)
class CephKey:
    """A cephx key as ceph-ansible and tripleo-ansible take it (CephExtraKeys, ``keys`` of items)."""

    name: str
    key: Secret = field(repr=False)
    caps: tuple[tuple[str, str], ...]
    mode: int | None


@dataclass(frozen=True, slots=True)
class ExternalCluster:
    """One CephExternalMultiConfig item: another site's cluster this stack is a client of."""

    cluster: str
    fsid: str
    mon_ips: str
    keys: tuple[CephKey, ...]
    #: ``ceph_conf_overrides``: section -> ordered (key, value); top-level scalars go to ``global``.
    conf_overrides: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass(frozen=True, slots=True)
class MultistoreItem:
    """One GlanceMultistoreConfig entry; None means "not given" (puppet then picks the stack value)."""

    store_id: str
    backend: str | None
    description: str | None
    cluster: str | None
    user: str | None
    pool: str | None


@dataclass(frozen=True, slots=True)
class StackParams:
    """The effective Heat parameters of one stack that decide its storage, typed, defaults applied."""

    cluster: str
    fsid: str | None
    client_user: str
    client_key: Secret | None = field(repr=False)
    extra_keys: tuple[CephKey, ...]
    external_clusters: tuple[ExternalCluster, ...]
    glance_backend: str
    glance_backend_id: str
    glance_store_description: str
    multistore: tuple[MultistoreItem, ...]
    glance_import_methods: tuple[str, ...]
    glance_show_multiple_locations: bool
    glance_import_plugins: tuple[str, ...]
    glance_conversion_output_format: str
    glance_sparse_upload: bool
    glance_pool: str
    nova_rbd: bool
    nova_cross_az_attach: bool
    nova_never_download_image_if_on_rbd: bool
    nova_az: str
    nova_pool: str
    nova_copy_poll_interval: int
    nova_copy_timeout: int
    cinder_rbd: bool
    cinder_az: str
    cinder_rbd_az: str
    cinder_volume_cluster: str
    cinder_rbd_backend_names: tuple[str, ...]
    cinder_pool: str
    cinder_extra_pools: tuple[str, ...]
    cinder_flatten_volume_from_snapshot: bool
    cinder_backup_backend: str
    cinder_backup_pool: str

    @property
    def uses_ceph(self) -> bool:
        """Whether any service of the stack uses the stack's own Ceph cluster through RBD."""
        return self.glance_backend == "rbd" or self.nova_rbd or self.cinder_rbd

    def require_fsid(self) -> str:
        """Return CephClusterFSID; a stack with RBD services cannot render without it."""
        if not self.fsid:
            raise ParameterError("CephClusterFSID", "is required when the stack uses Ceph RBD")
        return self.fsid


def parse_stack_params(params: Mapping[str, object]) -> StackParams:
    """Return the typed storage parameters of a stack from its effective Heat parameters.

    ``params`` is keyed by real THT names, e.g. ``{"CephClusterName": "dcn0", "GlanceBackend":
    "rbd", "GlanceEnabledImportMethods": "web-download,copy-image", "NovaCrossAZAttach": "false"}``.
    Missing parameters take their Heat default. Unknown names are ignored, as Heat ignores unknown
    ``parameter_defaults`` (so a ``GlangeBackendID`` typo leaves ``default_backend``).
    """

    def get(name: str) -> object:
        return params[name] if name in params else HEAT_DEFAULTS.get(name)

    key = params.get("CephClientKey")
    fsid = _string("CephClusterFSID", params.get("CephClusterFSID", ""))
    return StackParams(
        cluster=_string("CephClusterName", get("CephClusterName")),
        fsid=fsid or None,
        client_user=_string("CephClientUserName", get("CephClientUserName")),
        client_key=None if key in (None, "") else _secret("CephClientKey", key),
        extra_keys=_keys("CephExtraKeys", get("CephExtraKeys")),
        external_clusters=_external_clusters(get("CephExternalMultiConfig")),
        glance_backend=_string("GlanceBackend", get("GlanceBackend")).lower(),
        glance_backend_id=_string("GlanceBackendID", get("GlanceBackendID")),
        glance_store_description=_string("GlanceStoreDescription", get("GlanceStoreDescription")),
        multistore=_multistore(get("GlanceMultistoreConfig")),
        glance_import_methods=_list("GlanceEnabledImportMethods", get("GlanceEnabledImportMethods")),
        glance_show_multiple_locations=_bool("GlanceShowMultipleLocations", get("GlanceShowMultipleLocations")),
        glance_import_plugins=_list("GlanceImageImportPlugins", get("GlanceImageImportPlugins")),
        glance_conversion_output_format=_string(
            "GlanceImageConversionOutputFormat", get("GlanceImageConversionOutputFormat")
        ),
        glance_sparse_upload=_bool("GlanceSparseUploadEnabled", get("GlanceSparseUploadEnabled")),
        glance_pool=_string("GlanceRbdPoolName", get("GlanceRbdPoolName")),
        nova_rbd=_bool("NovaEnableRbdBackend", get("NovaEnableRbdBackend")),
        nova_cross_az_attach=_bool("NovaCrossAZAttach", get("NovaCrossAZAttach")),
        nova_never_download_image_if_on_rbd=_bool(
            "NovaDisableImageDownloadToRbd", get("NovaDisableImageDownloadToRbd")
        ),
        nova_az=_string("NovaComputeAvailabilityZone", get("NovaComputeAvailabilityZone")),
        nova_pool=_string("NovaRbdPoolName", get("NovaRbdPoolName")),
        nova_copy_poll_interval=_int("NovaGlanceRbdCopyPollInterval", get("NovaGlanceRbdCopyPollInterval")),
        nova_copy_timeout=_int("NovaGlanceRbdCopyTimeout", get("NovaGlanceRbdCopyTimeout")),
        cinder_rbd=_bool("CinderEnableRbdBackend", get("CinderEnableRbdBackend")),
        cinder_az=_string("CinderStorageAvailabilityZone", get("CinderStorageAvailabilityZone")),
        cinder_rbd_az=_string("CinderRbdAvailabilityZone", get("CinderRbdAvailabilityZone")),
        cinder_volume_cluster=_string("CinderVolumeCluster", get("CinderVolumeCluster")),
        cinder_rbd_backend_names=_list("CinderRbdBackendName", get("CinderRbdBackendName")),
        cinder_pool=_string("CinderRbdPoolName", get("CinderRbdPoolName")),
        cinder_extra_pools=_list("CinderRbdExtraPools", get("CinderRbdExtraPools")),
        cinder_flatten_volume_from_snapshot=_bool(
            "CinderRbdFlattenVolumeFromSnapshot", get("CinderRbdFlattenVolumeFromSnapshot")
        ),
        cinder_backup_backend=_string("CinderBackupBackend", get("CinderBackupBackend")),
        cinder_backup_pool=_string("CinderBackupRbdPoolName", get("CinderBackupRbdPoolName")),
    )


# Heat's boolean parameter type accepts what oslo strutils.bool_from_string(strict=True) accepts.
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ParameterError(name, f"{value!r} is not a Heat boolean")


def _int(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise ParameterError(name, f"{value!r} is not a Heat number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ParameterError(name, f"{value!r} is not a Heat number")


def _string(name: str, value: object) -> str:
    if isinstance(value, bool):  # Heat would render a YAML boolean as "True"/"False" in a string
        return str(value)
    if isinstance(value, str | int | float):
        return str(value)
    raise ParameterError(name, f"{value!r} is not a Heat string")


def _secret(name: str, value: object) -> Secret:
    if isinstance(value, Secret):
        return value
    return Secret(_string(name, value))


def _list(name: str, value: object) -> tuple[str, ...]:
    """Heat comma_delimited_list: a list, or a string split on commas (items stripped)."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list | tuple):
        return tuple(_string(name, item) for item in value)
    raise ParameterError(name, f"{value!r} is not a Heat comma_delimited_list")


def _json(name: str, value: object) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except json.JSONDecodeError as err:
            raise ParameterError(name, f"is not valid JSON: {err}") from err
    return value


def _mapping(name: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ParameterError(name, f"{value!r} is not a mapping")
    return {str(k): v for k, v in value.items()}


def _sequence(name: str, value: object) -> Iterable[object]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ParameterError(name, f"{value!r} is not a list")
    return value


def _keys(name: str, value: object) -> tuple[CephKey, ...]:
    keys = []
    for index, raw in enumerate(_sequence(name, _json(name, value))):
        where = f"{name}[{index}]"
        item = _mapping(where, raw)
        if "name" not in item or "key" not in item:
            raise ParameterError(where, "a cephx key needs 'name' and 'key'")
        caps = _mapping(f"{where}.caps", item.get("caps", {}))
        mode = item.get("mode")
        keys.append(
            CephKey(
                name=_string(f"{where}.name", item["name"]),
                key=_secret(f"{where}.key", item["key"]),
                caps=tuple((str(k), _string(f"{where}.caps.{k}", v)) for k, v in caps.items()),
                mode=None if mode is None else _mode(f"{where}.mode", mode),
            )
        )
    return tuple(keys)


def _mode(name: str, value: object) -> int:
    """Ansible file modes: "0600" (octal string) or an int already meant as the mode."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            pass
    raise ParameterError(name, f"{value!r} is not a file mode such as '0600'")


def _external_clusters(value: object) -> tuple[ExternalCluster, ...]:
    name = "CephExternalMultiConfig"
    clusters = []
    for index, raw in enumerate(_sequence(name, _json(name, value))):
        where = f"{name}[{index}]"
        item = _mapping(where, raw)
        for required in ("cluster", "fsid", "external_cluster_mon_ips"):
            if not item.get(required):
                raise ParameterError(where, f"has no '{required}'")
        overrides: dict[str, list[tuple[str, str]]] = {}
        for section, body in _mapping(f"{where}.ceph_conf_overrides", item.get("ceph_conf_overrides") or {}).items():
            if isinstance(body, Mapping):
                overrides.setdefault(section, []).extend(
                    (str(k), _string(f"{where}.ceph_conf_overrides.{section}.{k}", v)) for k, v in body.items()
                )
            else:  # tripleo_ceph_client renders top-level scalars into [global]
                overrides.setdefault("global", []).append((section, _string(f"{where}.{section}", body)))
        clusters.append(
            ExternalCluster(
                cluster=_string(f"{where}.cluster", item["cluster"]),
                fsid=_string(f"{where}.fsid", item["fsid"]),
                mon_ips=_string(f"{where}.external_cluster_mon_ips", item["external_cluster_mon_ips"]),
                keys=_keys(f"{where}.keys", item.get("keys", [])),
                conf_overrides=tuple((section, tuple(body)) for section, body in overrides.items()),
            )
        )
    return tuple(clusters)


def _multistore(value: object) -> tuple[MultistoreItem, ...]:
    name = "GlanceMultistoreConfig"
    raw = _json(name, value)
    items = []
    # Heat keeps the JSON object order, and puppet iterates the hash in that order, so the order
    # of enabled_backends is the order of this mapping.
    for store_id, body in _mapping(name, raw if raw is not None else {}).items():
        item = _mapping(f"{name}.{store_id}", body)

        def opt(key: str, item: Mapping[str, object] = item, store_id: str = store_id) -> str | None:
            found = item.get(key)
            return None if found in (None, "") else _string(f"{name}.{store_id}.{key}", found)

        backend = opt("GlanceBackend")
        items.append(
            MultistoreItem(
                store_id=store_id,
                backend=None if backend is None else backend.lower(),
                description=opt("GlanceStoreDescription"),
                cluster=opt("CephClusterName"),
                user=opt("CephClientUserName"),
                pool=opt("GlanceRbdPoolName"),
            )
        )
    return tuple(items)
