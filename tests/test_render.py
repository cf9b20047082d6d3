"""Tests of the lab's TripleO renderer (dcn_checks.lab.render*)."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from dcn_checks.cephx import Secret
from dcn_checks.lab.render import (
    CinderWiring,
    GlanceWiring,
    MultistoreBackendError,
    NodeFile,
    NodeWiring,
    NovaWiring,
    ParameterError,
    ServiceCredentials,
    WiringError,
    get_compute_az,
    parse_stack_params,
    render_node,
)
from dcn_checks.lab.render_params import HEAT_DEFAULTS
from dcn_checks.release import get_profile

KEY = "AQD1lQdrskI6GxAALYQSiKZ04HlqrGsNgOWSjg=="
EXT_KEY = "AQCwmeRcAAAAABAA6SQU/bGqFjlfLro5KxrB1Q=="
FSID = {"central": "11111111-1111-1111-1111-111111111111", "dcn0": "22222222-2222-2222-2222-222222222222"}
MONS = ["[v2:127.0.0.1:3300,v1:127.0.0.1:6789]"]
GLANCE_API = "/var/lib/config-data/puppet-generated/glance_api/etc/glance/glance-api.conf"
GLANCE_INTERNAL = "/var/lib/config-data/puppet-generated/glance_api_internal/etc/glance/glance-api.conf"
NOVA = "/var/lib/config-data/puppet-generated/nova_libvirt/etc/nova/nova.conf"
CINDER = "/var/lib/config-data/puppet-generated/cinder/etc/cinder/cinder.conf"

# THT environment defaults, as in tht-dcn-environments.json (wallaby dcn-storage.yaml, ceph env).
CEPH_ENV = {"CinderEnableRbdBackend": True, "CinderBackupBackend": "ceph", "NovaEnableRbdBackend": True,
            "GlanceBackend": "rbd", "CinderEnableIscsiBackend": False}  # fmt: skip
DCN_STORAGE_ENV = {"CinderEtcdLocalConnect": True, "CinderStorageAvailabilityZone": "dcn",
                   "CinderVolumeCluster": "dcn", "GlanceEnabledImportMethods": "web-download,copy-image",
                   "NovaComputeAvailabilityZone": "", "NovaCrossAZAttach": False,
                   "NovaDisableImageDownloadToRbd": True}  # fmt: skip


def central_params(**overrides: object) -> dict[str, object]:
    params: dict[str, object] = {
        **CEPH_ENV,
        "CephClusterName": "central",
        "CephClusterFSID": FSID["central"],
        "CephClientKey": KEY,
        "GlanceBackendID": "central",
        "GlanceStoreDescription": "central rbd glance store",
        "GlanceEnabledImportMethods": "web-download,copy-image",
        "GlanceMultistoreConfig": {
            site: {
                "GlanceBackend": "rbd",
                "GlanceStoreDescription": f"{site} rbd glance store",
                "CephClusterName": site,
            }
            for site in ("dcn0", "dcn1")
        },
        "NovaComputeAvailabilityZone": "central",
        "CinderStorageAvailabilityZone": "central",
        "CephExternalMultiConfig": [external_item(site) for site in ("dcn0", "dcn1")],
    }
    params.update(overrides)
    return params


def external_item(cluster: str, user: str = "openstack") -> dict[str, object]:
    return {
        "cluster": cluster,
        "fsid": FSID.get(cluster, "33333333-3333-3333-3333-333333333333"),
        "external_cluster_mon_ips": "[v2:127.0.0.1:3301,v1:127.0.0.1:6790]",
        "keys": [{"name": f"client.{user}", "key": EXT_KEY, "mode": "0600",
                  "caps": {"mgr": "allow *", "mon": "profile rbd", "osd": "profile rbd pool=images"}}],
        "ceph_conf_overrides": {"client": {"keyring": f"/etc/ceph/{cluster}.client.{user}.keyring"}},
        "dashboard_enabled": False,
    }  # fmt: skip


def dcn0_params(**overrides: object) -> dict[str, object]:
    params: dict[str, object] = {
        **DCN_STORAGE_ENV,
        **CEPH_ENV,
        "CephClusterName": "dcn0",
        "CephClusterFSID": FSID["dcn0"],
        "CephClientKey": KEY,
        "GlanceBackendID": "dcn0",
        "GlanceMultistoreConfig": {"central": {"GlanceBackend": "rbd", "CephClusterName": "central",
                                               "GlanceStoreDescription": "central rbd glance store"}},
        "CinderStorageAvailabilityZone": "dcn0",
        "CinderVolumeCluster": "dcn0",
        "NovaComputeAvailabilityZone": "dcn0",
        "CephExternalMultiConfig": [external_item("central", user="external")],
    }  # fmt: skip
    params.update(overrides)
    return params


def glance_wiring(name: str) -> GlanceWiring:
    return GlanceWiring(
        database_url=Secret("postgresql+psycopg2://postgres@127.0.0.1:5433/glance"),
        credentials=ServiceCredentials(
            username="glance",
            password=Secret("glancepass"),
            auth_url="http://127.0.0.1:5000",
            www_authenticate_uri="http://127.0.0.1:5000",
        ),
        staging_dir=f"/lab/data/{name}/staging/",
        tasks_dir=f"/lab/data/{name}/tasks/",
        lock_path=f"/lab/data/{name}/locks",
        log_file=f"/lab/logs/{name}.log",
        python_interpreter="/lab/venv/bin/python",
        import_port=8080,
    )


def wiring(*, dcn: bool) -> NodeWiring:
    return NodeWiring(
        glance={"glance_api": glance_wiring("api"), "glance_api_internal": glance_wiring("internal")},
        nova=NovaWiring(
            host="node-0", log_file="/lab/logs/nova.log", glance_endpoint="http://127.0.0.1:9293" if dcn else None
        ),
        cinder=CinderWiring(
            backend_host="node-0",
            database_url=Secret("postgresql+psycopg2://postgres@127.0.0.1:5440/cinder"),
            transport_url=Secret("rabbit://cinder:cinderpw@127.0.0.1:5680/"),
            glance_api_servers="http://127.0.0.1:9293",
            lock_path="/lab/state/locks",
            log_file="/lab/logs/cinder-volume.log",
            coordination_url="file:///lab/locks",
        ),
    )


def read_ini(file: NodeFile) -> configparser.ConfigParser:
    # oslo.config treats [DEFAULT] as an ordinary section; configparser would merge it into all.
    parser = configparser.ConfigParser(interpolation=None, strict=True, default_section="configparser-defaults")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(file.content)
    return parser


def render_central(release: str = "zed", **overrides: object) -> dict[str, NodeFile]:
    return render_node(
        central_params(**overrides),
        role="Controller",
        profile=get_profile(release),
        mon_hosts=MONS,
        wiring=wiring(dcn=False),
    )


def render_dcn0(release: str = "zed", role: str = "DistributedComputeHCI", **overrides: object) -> dict[str, NodeFile]:
    return render_node(
        dcn0_params(**overrides),
        role=role,  # type: ignore[arg-type]
        profile=get_profile(release),
        mon_hosts=MONS,
        wiring=wiring(dcn=True),
    )


# --- Glance ---------------------------------------------------------------------------------------


def test_central_glance_lists_every_dcn_store_after_the_central_default() -> None:
    conf = read_ini(render_central()[GLANCE_API])
    assert conf["DEFAULT"]["enabled_backends"] == "central:rbd,dcn0:rbd,dcn1:rbd"
    assert conf["glance_store"]["default_backend"] == "central"
    assert conf["dcn1"]["rbd_store_ceph_conf"] == "/etc/ceph/dcn1.conf"
    assert conf["central"]["rbd_store_ceph_conf"] == "/etc/ceph/central.conf"
    assert conf["dcn0"]["rbd_store_user"] == "openstack"
    assert conf["dcn0"]["rbd_store_pool"] == "images"
    assert conf["dcn0"]["store_description"] == "dcn0 rbd glance store"
    assert conf["DEFAULT"]["enabled_import_methods"] == "[web-download,copy-image]"


def test_dcn_glance_has_its_own_store_first_and_central_second() -> None:
    conf = read_ini(render_dcn0()[GLANCE_INTERNAL])
    assert conf["DEFAULT"]["enabled_backends"] == "dcn0:rbd,central:rbd"
    assert conf["glance_store"]["default_backend"] == "dcn0"
    assert conf["central"]["rbd_store_ceph_conf"] == "/etc/ceph/central.conf"


def test_glance_backend_id_typo_leaves_default_backend() -> None:
    params = dcn0_params(GlangeBackendID="dcn0")
    del params["GlanceBackendID"]
    files = render_node(
        params, role="DistributedComputeHCI", profile=get_profile("zed"), mon_hosts=MONS, wiring=wiring(dcn=True)
    )
    conf = read_ini(files[GLANCE_INTERNAL])
    assert conf["DEFAULT"]["enabled_backends"] == "default_backend:rbd,central:rbd"
    assert conf["glance_store"]["default_backend"] == "default_backend"
    nova = read_ini(files[NOVA])
    assert nova["libvirt"]["images_rbd_glance_store_name"] == "default_backend"


# (release, role, path -> (show_image_direct_url, show_multiple_locations), or None if absent)
OSSN_0090_CASES = [
    pytest.param("victoria", "Controller", {GLANCE_API: ("True", "True"), GLANCE_INTERNAL: None},
                 id="victoria-central"),
    pytest.param("victoria", "DistributedComputeHCI", {GLANCE_API: ("True", "True"), GLANCE_INTERNAL: None},
                 id="victoria-dcn0"),
    pytest.param("wallaby", "Controller", {GLANCE_API: ("False", "False"), GLANCE_INTERNAL: ("True", "True")},
                 id="wallaby-central"),
    pytest.param("zed", "DistributedComputeHCI", {GLANCE_API: None, GLANCE_INTERNAL: ("True", "True")},
                 id="zed-dcn0"),
    pytest.param("zed", "DistributedComputeHCIScaleOut", {GLANCE_API: None, GLANCE_INTERNAL: None},
                 id="zed-dcn0-scaleout"),
]  # fmt: skip


@pytest.mark.parametrize(("release", "role", "expected"), OSSN_0090_CASES)
def test_glance_services_and_location_exposure_follow_ossn_0090(
    release: str, role: str, expected: dict[str, tuple[str, str] | None]
) -> None:
    files = render_central(release) if role == "Controller" else render_dcn0(release, role=role)
    for path, flags in expected.items():
        if flags is None:
            assert path not in files
            continue
        conf = read_ini(files[path])
        assert (conf["DEFAULT"]["show_image_direct_url"], conf["DEFAULT"]["show_multiple_locations"]) == flags


def test_pre_ossn_glance_hides_multiple_locations_without_rbd_nova() -> None:
    conf = read_ini(render_central("victoria", NovaEnableRbdBackend=False)[GLANCE_API])
    assert conf["DEFAULT"]["show_multiple_locations"] == "False"
    conf = read_ini(
        render_central("victoria", NovaEnableRbdBackend=False, GlanceShowMultipleLocations="true")[GLANCE_API]
    )
    assert conf["DEFAULT"]["show_multiple_locations"] == "True"


def test_central_glance_services_share_the_same_stores() -> None:
    files = render_central("zed")
    public, internal = read_ini(files[GLANCE_API]), read_ini(files[GLANCE_INTERNAL])
    for section in ("glance_store", "central", "dcn0", "dcn1"):
        assert dict(public[section]) == dict(internal[section])


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({}, "[no_op,image_conversion]", id="default-forced"),
        pytest.param({"GlanceImageImportPlugins": "image_conversion"}, "[image_conversion]", id="explicit"),
        pytest.param({"NovaEnableRbdBackend": False}, "[no_op]", id="no-rbd-nova"),
        pytest.param({"GlanceImageImportPlugins": []}, "[]", id="disabled"),
    ],
)
def test_image_conversion_is_added_only_when_tht_forces_it(overrides: dict[str, object], expected: str) -> None:
    path = GLANCE_API.replace("glance-api.conf", "glance-image-import.conf")
    conf = read_ini(render_central("victoria", **overrides)[path])
    assert conf["image_import_opts"]["image_import_plugins"] == expected
    assert conf["image_conversion"]["output_format"] == "raw"


def test_multistore_item_without_glance_backend_is_refused() -> None:
    stores = {"dcn0": {"GlanceBackend": "rbd", "CephClusterName": "dcn0"}, "dcn1": {"CephClusterName": "dcn1"}}
    with pytest.raises(MultistoreBackendError, match="'dcn1' does not specify a glance_backend"):
        render_central(GlanceMultistoreConfig=stores)


def test_store_id_repeating_glance_backend_id_is_refused() -> None:
    with pytest.raises(ParameterError, match="must be unique"):
        render_central(GlanceMultistoreConfig={"central": {"GlanceBackend": "rbd"}})


def test_glance_wiring_sections_are_rendered() -> None:
    conf = read_ini(render_central()[GLANCE_INTERNAL])
    assert conf["paste_deploy"]["flavor"] == "keystone"
    assert conf["keystone_authtoken"]["password"] == "glancepass"
    assert conf["os_glance_staging_store"]["filesystem_store_datadir"] == "/lab/data/internal/staging/"
    assert conf["os_glance_tasks_store"]["filesystem_store_datadir"] == "/lab/data/internal/tasks/"
    assert conf["wsgi"]["python_interpreter"] == "/lab/venv/bin/python"
    # Lab-only: web-download may reach the lab's image server besides the default ports 80 and 443.
    assert conf["import_filtering_opts"]["allowed_ports"] == "[80,443,8080]"
    assert conf["import_filtering_opts"]["allowed_hosts"] == "[127.0.0.1]"


# --- Nova -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(True, "True"), ("false", "False"), ("False", "False"), (0, "False")])
def test_nova_cross_az_attach_follows_the_parameter(value: object, expected: str) -> None:
    conf = read_ini(render_dcn0(NovaCrossAZAttach=value)[NOVA])
    assert conf["cinder"]["cross_az_attach"] == expected


def test_nova_cross_az_attach_defaults_to_heat_true() -> None:
    params = dcn0_params()
    del params["NovaCrossAZAttach"]
    stack = parse_stack_params(params)
    assert stack.nova_cross_az_attach is True


@pytest.mark.parametrize(
    ("release", "has_store_name"), [("ussuri", False), ("victoria", False), ("wallaby", True), ("zed", True)]
)
def test_nova_store_name_is_rendered_from_wallaby_on(release: str, has_store_name: bool) -> None:
    libvirt = read_ini(render_dcn0(release)[NOVA])["libvirt"]
    assert ("images_rbd_glance_store_name" in libvirt) is has_store_name
    if has_store_name:
        assert libvirt["images_rbd_glance_store_name"] == "dcn0"
        assert libvirt["images_rbd_glance_copy_timeout"] == "600"


def test_dcn_nova_uses_local_rbd_and_local_glance() -> None:
    conf = read_ini(render_dcn0()[NOVA])
    assert conf["DEFAULT"]["host"] == "node-0"
    assert conf["workarounds"]["never_download_image_if_on_rbd"] == "True"
    assert conf["libvirt"]["images_type"] == "rbd"
    assert conf["libvirt"]["images_rbd_pool"] == "vms"
    assert conf["libvirt"]["images_rbd_ceph_conf"] == "/etc/ceph/dcn0.conf"
    assert conf["libvirt"]["rbd_secret_uuid"] == FSID["dcn0"]
    assert conf["glance"]["endpoint_override"] == "http://127.0.0.1:9293"


def test_central_nova_has_no_endpoint_override_and_controller_has_no_nova() -> None:
    compute = render_node(
        central_params(), role="ComputeHCI", profile=get_profile("zed"), mon_hosts=MONS, wiring=wiring(dcn=False)
    )
    assert not read_ini(compute[NOVA]).has_section("glance")
    assert NOVA not in render_central()


def test_compute_az_defaults_to_the_stack_name() -> None:
    assert get_compute_az(parse_stack_params(DCN_STORAGE_ENV), "dcn1") == "dcn1"
    assert get_compute_az(parse_stack_params(dcn0_params()), "dcn-stack") == "dcn0"


# --- Cinder ---------------------------------------------------------------------------------------


def test_dcn_cinder_is_an_active_active_cluster_on_the_local_cluster() -> None:
    conf = read_ini(render_dcn0()[CINDER])
    assert conf["DEFAULT"]["storage_availability_zone"] == "dcn0"
    assert conf["DEFAULT"]["cluster"] == "dcn0"
    assert conf["DEFAULT"]["enabled_backends"] == "tripleo_ceph"
    assert conf["DEFAULT"]["glance_api_servers"] == "http://127.0.0.1:9293"
    assert conf["coordination"]["backend_url"] == "file:///lab/locks"
    backend = conf["tripleo_ceph"]
    assert backend["volume_driver"] == "cinder.volume.drivers.rbd.RBDDriver"
    assert backend["rbd_ceph_conf"] == "/etc/ceph/dcn0.conf"
    assert backend["rbd_pool"] == "volumes"
    assert backend["rbd_secret_uuid"] == FSID["dcn0"]
    assert backend["backend_host"] == "node-0"
    assert "rbd_cluster_name" not in backend  # puppet-tripleo does not set it


def test_central_cinder_has_no_cluster_and_scaleout_has_no_cinder() -> None:
    conf = read_ini(render_central()[CINDER])
    assert "cluster" not in conf["DEFAULT"]
    assert not conf.has_section("coordination")
    assert CINDER not in render_dcn0(role="DistributedComputeHCIScaleOut")


def test_active_active_cinder_without_coordination_wiring_is_a_lab_error() -> None:
    bare = NodeWiring(nova=wiring(dcn=True).nova, glance=wiring(dcn=True).glance, cinder=None)
    with pytest.raises(WiringError):
        render_node(dcn0_params(), role="DistributedCompute", profile=get_profile("zed"), mon_hosts=MONS, wiring=bare)


# --- Ceph client files ----------------------------------------------------------------------------


@pytest.mark.parametrize(("release", "host_dir"), [("victoria", "/etc/ceph"), ("zed", "/var/lib/tripleo-config/ceph")])
def test_ceph_client_files_land_in_the_release_host_dir(release: str, host_dir: str) -> None:
    files = render_dcn0(release)
    ceph = {path: file for path, file in files.items() if path.startswith(host_dir + "/")}
    assert sorted(ceph) == [
        f"{host_dir}/central.client.external.keyring",
        f"{host_dir}/central.conf",
        f"{host_dir}/dcn0.client.openstack.keyring",
        f"{host_dir}/dcn0.conf",
    ]


@pytest.mark.parametrize("release", ["victoria", "zed"])
def test_keyrings_are_0600_and_confs_0644_owned_by_root(release: str) -> None:
    extra = [{"name": "client.external", "key": EXT_KEY, "mode": "0640", "caps": {"mon": "profile rbd"}}]
    files = render_dcn0(release, CephExtraKeys=extra)
    host_dir = get_profile(release).ceph_config_host_dir
    assert files[f"{host_dir}/dcn0.client.openstack.keyring"].mode == 0o600
    assert files[f"{host_dir}/central.client.external.keyring"].mode == 0o600
    assert files[f"{host_dir}/dcn0.client.external.keyring"].mode == 0o640
    assert files[f"{host_dir}/dcn0.conf"].mode == 0o644
    assert {file.owner for path, file in files.items() if path.startswith(host_dir)} == {"root"}


def test_external_conf_has_the_keyring_override_and_libvirt_section() -> None:
    conf = read_ini(render_dcn0()["/var/lib/tripleo-config/ceph/central.conf"])
    assert conf["global"]["fsid"] == FSID["central"]
    assert conf["global"]["mon host"] == "[v2:127.0.0.1:3301,v1:127.0.0.1:6790]"
    assert conf["client"]["keyring"] == "/etc/ceph/central.client.external.keyring"
    assert conf["client.libvirt"]["admin socket"] == "/var/run/ceph/$cluster-$type.$id.$pid.$cctid.asok"


def test_own_conf_has_fsid_and_mons_and_no_keyring_unless_the_lab_asks() -> None:
    conf = read_ini(render_dcn0()["/var/lib/tripleo-config/ceph/dcn0.conf"])
    assert conf["global"]["fsid"] == FSID["dcn0"]
    assert conf["global"]["mon host"] == MONS[0]
    assert not conf.has_section("client")
    lab = NodeWiring(glance=wiring(dcn=True).glance, nova=wiring(dcn=True).nova, cinder=wiring(dcn=True).cinder,
                     ceph_client_keyring=True)  # fmt: skip
    files = render_node(
        dcn0_params(), role="DistributedComputeHCI", profile=get_profile("zed"), mon_hosts=MONS, wiring=lab
    )
    conf = read_ini(files["/var/lib/tripleo-config/ceph/dcn0.conf"])
    assert conf["client"]["keyring"] == "/etc/ceph/dcn0.client.openstack.keyring"


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        pytest.param("victoria", f'[client.openstack]\n\tkey = {KEY}\n\tcaps mgr = "allow *"\n', id="ceph-ansible"),
        pytest.param("zed", f'[client.openstack]\n   key = "{KEY}"\n   caps mgr = allow *\n', id="tripleo_ceph_client"),
    ],
)
def test_keyring_holds_the_real_key_in_the_deployer_format(release: str, expected: str) -> None:
    host_dir = get_profile(release).ceph_config_host_dir
    content = render_dcn0(release)[f"{host_dir}/dcn0.client.openstack.keyring"].content
    assert content.startswith(expected)
    assert (
        "profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images, profile rbd pool=backups" in content
    )


def test_node_file_repr_hides_keys() -> None:
    file = render_dcn0()["/var/lib/tripleo-config/ceph/dcn0.client.openstack.keyring"]
    assert KEY not in repr(file)


# --- Parameters and output ------------------------------------------------------------------------


def test_comma_delimited_lists_accept_strings_and_lists() -> None:
    assert parse_stack_params({"GlanceEnabledImportMethods": "web-download, copy-image"}).glance_import_methods == (
        "web-download",
        "copy-image",
    )
    assert parse_stack_params({"GlanceEnabledImportMethods": ["copy-image"]}).glance_import_methods == ("copy-image",)


def test_non_boolean_value_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="NovaCrossAZAttach"):
        parse_stack_params({"NovaCrossAZAttach": "maybe"})


def test_rendering_is_deterministic_and_sorted_by_path() -> None:
    first, second = render_central(), render_central()
    assert first == second
    assert list(first) == sorted(first)


#: The THT defaults of HEAT_DEFAULTS' parameters, copied from ../shared/reference/tht-parameters.<key>.json.
THT_DEFAULTS = Path(__file__).parent / "data" / "tht-defaults.json"


@pytest.mark.parametrize("catalog", ["master-2021-03", "stable-wallaby", "stable-zed"])
def test_heat_defaults_match_the_tht_catalog(catalog: str) -> None:
    parameters = json.loads(THT_DEFAULTS.read_text())[catalog]
    for name, default in HEAT_DEFAULTS.items():
        if name not in parameters:
            assert catalog == "master-2021-03" and name in {
                "CinderRbdBackendName",
                "NovaGlanceRbdCopyPollInterval",
                "NovaGlanceRbdCopyTimeout",
            }, name
            continue
        assert parameters[name] == default, name
