"""The Nova model's decisions and its reading of nova.conf, without a lab (pure functions)."""

from __future__ import annotations

import dataclasses

import pytest

from dcn_checks.cephx import Secret
from dcn_checks.lab.nova import decisions
from dcn_checks.lab.nova.conf import NovaConfError, parse_nova_conf
from dcn_checks.lab.nova.decisions import Clone, CopyToStore, Fetch, ImageView, RbdConnection, Refuse
from dcn_checks.lab.nova.records import Aggregate, Flavor
from dcn_checks.lab.render_model import NodeWiring, NovaWiring, ServiceCredentials
from dcn_checks.lab.render_nova import NOVA_API_CONF, render_nova_files
from dcn_checks.lab.render_params import parse_stack_params
from dcn_checks.rbd import Location
from dcn_checks.release import get_profile

DCN0 = "6816a4ae-e009-418e-90be-01efb3a6de45"
CENTRAL = "d9362bdf-8f48-4b20-91b5-f1f82f780e85"
IMAGE = "8083c7e7-32d8-4f7a-b1da-0ed7884f1076"
SERVER = "2b431c77-93b8-4edf-88d9-1fd518d987c2"

DCN0_NOVA_CONF = f"""\
[DEFAULT]
host=dcn0-hci-0
log_file=/var/log/nova/nova-compute.log

[cinder]
cross_az_attach=False

[glance]
endpoint_override=http://172.17.0.10:9292

[libvirt]
images_type=rbd
images_rbd_pool=vms
images_rbd_ceph_conf=/etc/ceph/dcn0.conf
rbd_user=openstack
rbd_secret_uuid={DCN0}

[workarounds]
never_download_image_if_on_rbd=True
"""
CONF = parse_nova_conf(DCN0_NOVA_CONF)


def url(fsid: str, image: str = IMAGE, pool: str = "images") -> str:
    return f"rbd://{fsid}/{pool}/{image}/snap"


def image(*locations: str, disk_format: str = "raw", **extra: object) -> ImageView:
    return ImageView(IMAGE, "active", disk_format, "bare", tuple(locations), **extra)  # type: ignore[arg-type]


# --- nova.conf ------------------------------------------------------------------------------------


def test_parse_nova_conf_reads_the_dcn_compute_options() -> None:
    assert (CONF.host, CONF.cross_az_attach, CONF.never_download_image_if_on_rbd) == ("dcn0-hci-0", False, True)
    assert (CONF.images_type, CONF.images_rbd_pool, CONF.images_rbd_ceph_conf) == ("rbd", "vms", "/etc/ceph/dcn0.conf")
    assert (CONF.rbd_user, CONF.rbd_secret_uuid) == ("openstack", DCN0)
    assert CONF.glance_endpoint_override == "http://172.17.0.10:9292"
    assert CONF.images_rbd_glance_store_name is None


def test_parse_nova_conf_keeps_novas_defaults_for_options_left_out() -> None:
    conf = parse_nova_conf("[DEFAULT]\nhost=compute-0\n")
    assert conf.cross_az_attach is True
    assert conf.never_download_image_if_on_rbd is False
    assert (conf.images_type, conf.images_rbd_pool, conf.default_availability_zone) == ("default", "rbd", "nova")
    assert conf.service_user is None


def test_parse_nova_conf_does_not_inherit_default_options_into_sections() -> None:
    conf = parse_nova_conf("[DEFAULT]\nhost=compute-0\nrbd_user=wrong\n\n[libvirt]\nimages_type=rbd\n")
    assert conf.rbd_user is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("[cinder]\ncross_az_attach=False\n", "[DEFAULT] host is not set", id="no-host"),
        pytest.param("[DEFAULT]\nhost=h\n[cinder]\ncross_az_attach=maybe\n", "is not a boolean", id="bad-bool"),
        pytest.param(
            "[DEFAULT]\nhost=h\n[libvirt]\nimages_rbd_glance_copy_timeout=soon\n", "not an integer", id="bad-int"
        ),
        pytest.param(
            "[DEFAULT]\nhost=h\n[service_user]\nsend_service_user_token=True\n", "needs auth_url", id="svc-user"
        ),
    ],
)
def test_parse_nova_conf_refuses_what_nova_would_refuse(text: str, problem: str) -> None:
    with pytest.raises(NovaConfError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_nova_conf(text)


def test_parse_nova_conf_keeps_the_service_user_password_secret() -> None:
    conf = parse_nova_conf(
        "[DEFAULT]\nhost=h\n[service_user]\nsend_service_user_token=True\nauth_url=http://k:5000\n"
        "username=nova\npassword=s3cret\n"
    )
    assert conf.service_user is not None
    assert conf.service_user.password.reveal() == "s3cret"
    assert "s3cret" not in repr(conf)


# --- the root disk of an image boot ----------------------------------------------------------------


def test_clone_candidates_are_the_local_clusters_locations_only() -> None:
    view = image(url(CENTRAL), url(DCN0), "file:///var/lib/glance/images/x", f"rbd://{DCN0}/images/{IMAGE}")
    assert decisions.clone_candidates(view, DCN0) == (Location(DCN0, "images", IMAGE, "snap"),)


def test_clone_candidates_of_a_non_raw_image_are_none() -> None:
    assert decisions.clone_candidates(image(url(DCN0), disk_format="qcow2"), DCN0) == ()


def test_direct_url_counts_as_a_location_as_in_novas_glance_show() -> None:
    view = decisions.ImageView(IMAGE, "active", "raw", "bare", (url(DCN0),))
    assert decisions.clone_candidates(view, DCN0)


@pytest.mark.parametrize(
    ("changes", "cloneable", "kwargs", "expected"),
    [
        pytest.param({}, True, {}, Clone(Location(DCN0, "images", IMAGE, "snap")), id="cow-clone"),
        pytest.param(
            {},
            False,
            {},
            Refuse(f"Image {IMAGE} is unacceptable: No image locations are accessible"),
            id="refuse-missing-image",
        ),
        pytest.param(
            {"never_download_image_if_on_rbd": False},
            False,
            {},
            Fetch("No image locations are accessible"),
            id="download-missing-image",
        ),
        pytest.param({"images_rbd_glance_store_name": "dcn0"}, False, {}, CopyToStore("dcn0"), id="ask-glance-copy"),
        pytest.param(
            {"images_rbd_glance_store_name": "dcn0"},
            False,
            {"copy_attempted": True},
            Refuse(f"Image {IMAGE} is unacceptable: No image locations are accessible"),
            id="copy-done-still-missing",
        ),
        pytest.param(
            {"images_rbd_glance_store_name": "dcn0"},
            False,
            {"copy_attempted": True, "copy_failure": "Copy to store dcn0 unsuccessful because: failed import"},
            Refuse(f"Image {IMAGE} is unacceptable: Copy to store dcn0 unsuccessful because: failed import"),
            id="copy-failed",
        ),
        pytest.param({"images_type": "qcow2"}, True, {}, Fetch(), id="no-rbd-ephemeral"),
    ],
)
def test_plan_root_disk_follows_nova_clone_fallback_to_fetch(
    changes: dict[str, object], cloneable: bool, kwargs: dict[str, object], expected: decisions.BootStep
) -> None:
    conf = dataclasses.replace(CONF, **changes)  # type: ignore[arg-type]
    view = image(url(CENTRAL), url(DCN0))
    found = decisions.clone_candidates(view, DCN0) if cloneable else ()
    assert decisions.plan_root_disk(conf, view, found, **kwargs) == expected  # type: ignore[arg-type]


def test_plan_root_disk_refuses_a_qcow2_image_even_where_it_is_local() -> None:
    step = decisions.plan_root_disk(CONF, image(url(DCN0), disk_format="qcow2"), ())
    assert step == Refuse(f"Image {IMAGE} is unacceptable: Image is not raw format")


@pytest.mark.parametrize(
    ("stores", "importing", "failed", "expected"),
    [
        pytest.param(("central",), ("dcn0",), (), "pending", id="importing"),
        pytest.param(("central", "dcn0"), (), (), "done", id="done"),
        pytest.param(("central",), (), ("dcn0",), "failed", id="failed"),
    ],
)
def test_copy_progress_reads_glances_import_properties(
    stores: tuple[str, ...], importing: tuple[str, ...], failed: tuple[str, ...], expected: str
) -> None:
    view = image(url(CENTRAL), stores=stores, importing_to_stores=importing, failed_import=failed)
    assert decisions.copy_progress(view, "dcn0") == expected


def test_root_disk_size_keeps_the_image_size_for_root_gb_zero() -> None:
    assert decisions.root_disk_size(Flavor("1", "tiny", 64, 1, 0)) is None
    assert decisions.root_disk_size(Flavor("2", "small", 64, 1, 2)) == 2 * decisions.GIB


# --- availability zones -----------------------------------------------------------------------------


AGGREGATES = (
    Aggregate(1, "u1", "dcn0", "dcn0", ("dcn0-hci-0",), {"availability_zone": "dcn0"}, "t"),
    Aggregate(2, "u2", "dcn1", "dcn1", ("dcn1-hci-0",), {"availability_zone": "dcn1"}, "t"),
)
HOSTS = ("dcn0-hci-0", "dcn1-hci-0", "spare-0")


def test_a_hosts_zone_is_its_aggregates_zone_or_the_default() -> None:
    assert decisions.host_availability_zone("dcn1-hci-0", AGGREGATES, "nova") == "dcn1"
    assert decisions.host_availability_zone("spare-0", AGGREGATES, "nova") == "nova"


def test_available_zones_are_those_of_compute_hosts() -> None:
    assert decisions.available_zones(HOSTS, AGGREGATES, "nova") == ("dcn0", "dcn1", "nova")


def test_hosts_for_zone_picks_only_the_zones_hosts() -> None:
    assert decisions.hosts_for_zone("dcn1", HOSTS, AGGREGATES, "nova") == ("dcn1-hci-0",)
    assert decisions.hosts_for_zone("edge-9", HOSTS, AGGREGATES, "nova") == ()
    assert decisions.hosts_for_zone(None, HOSTS, AGGREGATES, "nova") == HOSTS


# --- volumes ----------------------------------------------------------------------------------------


def test_boot_volume_is_asked_for_in_the_servers_zone_only_without_cross_az_attach() -> None:
    assert decisions.volume_create_az(CONF, "dcn0") == "dcn0"
    assert decisions.volume_create_az(dataclasses.replace(CONF, cross_az_attach=True), "dcn0") is None


def test_attach_across_zones_is_refused_with_novas_message_without_cross_az_attach() -> None:
    message = decisions.check_availability_zone(CONF, SERVER, "dcn0", "vol-1", "central")
    assert message == (
        f"Invalid volume: Instance {SERVER} and volume vol-1 are not in the same availability_zone. "
        "Instance is in dcn0. Volume is in central"
    )
    assert decisions.check_availability_zone(CONF, SERVER, "dcn0", "vol-1", "dcn0") is None
    assert (
        decisions.check_availability_zone(dataclasses.replace(CONF, cross_az_attach=True), SERVER, "dcn0", "v", "x")
        is None
    )


def test_existing_volumes_must_share_the_requested_zone_without_cross_az_attach() -> None:
    assert decisions.validate_volume_azs_for_create(CONF, "dcn0", ["dcn0", "dcn1"]) == (
        "Volumes are in different availability zones: dcn0,dcn1"
    )
    assert decisions.validate_volume_azs_for_create(CONF, "dcn0", ["dcn1"]) == (
        "Server and volumes are not in the same availability zone. Server is in: dcn0. Volumes are in: dcn1"
    )
    assert decisions.adopted_zone(CONF, None, ["dcn1"]) == "dcn1"
    assert decisions.adopted_zone(CONF, None, ["nova"]) is None


# --- guest disks ------------------------------------------------------------------------------------


CINDER_CENTRAL = {
    "driver_volume_type": "rbd",
    "data": {
        "name": "volumes/volume-1",
        "hosts": ["127.0.0.1"],
        "ports": ["6789"],
        "auth_enabled": True,
        "auth_username": "openstack",
        "secret_type": "ceph",
        "secret_uuid": CENTRAL,
        "cluster_name": "central",
    },
}


def test_a_guest_opens_a_volume_with_cinders_user_and_secret() -> None:
    connection = decisions.parse_connection_info(CINDER_CENTRAL)
    assert decisions.guest_auth(connection, CONF) == ("openstack", CENTRAL)
    assert decisions.mon_addresses(connection) == "v1:127.0.0.1:6789"


def test_a_guest_falls_back_to_novas_secret_only_when_cinder_sends_none() -> None:
    connection = RbdConnection("volumes/v", ("h",), ("1",), True, "cinder", None)
    assert decisions.guest_auth(connection, CONF) == ("openstack", DCN0)


def test_a_dcn_compute_has_only_its_own_clusters_libvirt_secret() -> None:
    secrets = decisions.libvirt_secrets(CONF)
    assert secrets == {DCN0: "/etc/ceph/dcn0.client.openstack.keyring"}
    assert CENTRAL not in secrets
    assert decisions.secret_not_found(CENTRAL) == f"Secret not found: no secret with matching uuid '{CENTRAL}'"


# --- snapshots and messages -------------------------------------------------------------------------


def test_direct_snapshot_goes_to_the_pool_of_the_local_location() -> None:
    assert decisions.parent_pool_from_image([url(CENTRAL, pool="central-images"), url(DCN0)], DCN0) == "images"
    assert decisions.parent_pool_from_image([url(CENTRAL)], DCN0) is None
    assert decisions.snapshot_url(DCN0, "images", "new") == f"rbd://{DCN0}/images/new/snap"


def test_build_failures_read_as_novas_faults() -> None:
    assert decisions.build_aborted(SERVER, decisions.image_unacceptable(IMAGE, decisions.NO_LOCATIONS)) == (
        f"Build of instance {SERVER} aborted: Image {IMAGE} is unacceptable: No image locations are accessible"
    )
    assert decisions.max_retries_exceeded(SERVER).startswith("Exceeded maximum number of retries. ")


# --- what the lab renders is what the model reads -----------------------------------------------------


@pytest.mark.parametrize("cross_az_attach", [True, False])
def test_the_controllers_rendered_nova_conf_reads_back_with_its_stacks_cross_az_attach(cross_az_attach: bool) -> None:
    params = parse_stack_params(
        {
            "CephClusterName": "central",
            "CephClusterFSID": CENTRAL,
            "NovaCrossAZAttach": cross_az_attach,
        }
    )
    credentials = ServiceCredentials("nova", Secret("n0va-pass"), "http://ks:5000", "http://ks:5000")
    wiring = NodeWiring(
        nova=NovaWiring(
            host="controller-0",
            log_file="/var/log/nova/nova-api.log",
            credentials=credentials,
            database_url=Secret("sqlite:////tmp/nova.sqlite"),
        )
    )
    files = render_nova_files(params, "Controller", get_profile("ussuri"), wiring)
    conf = parse_nova_conf(files[NOVA_API_CONF].content)
    assert (conf.host, conf.cross_az_attach, conf.database_connection) == (
        "controller-0",
        cross_az_attach,
        "sqlite:////tmp/nova.sqlite",
    )
    assert conf.service_user is not None and conf.service_user.password == Secret("n0va-pass")
    assert files[NOVA_API_CONF].mode == 0o640


def test_a_controller_without_nova_credentials_gets_no_nova_conf() -> None:
    params = parse_stack_params({"CephClusterName": "central", "CephClusterFSID": CENTRAL})
    wiring = NodeWiring(nova=NovaWiring(host="controller-0", log_file="/var/log/nova/nova-api.log"))
    assert render_nova_files(params, "Controller", get_profile("ussuri"), wiring) == {}
