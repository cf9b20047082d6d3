"""cinder.conf as the lab renders it: what the controller's api/scheduler add, and the lab's wiring."""

from __future__ import annotations

import configparser

import pytest

from dcn_checks.cephx import Secret
from dcn_checks.lab.cinder import missing_pools, pool_name
from dcn_checks.lab.render_cinder import CINDER_CONF, render_cinder_files
from dcn_checks.lab.render_model import CinderApiWiring, CinderWiring, NodeWiring, ServiceCredentials, WiringError
from dcn_checks.lab.render_params import parse_stack_params

FSID = "22222222-2222-2222-2222-222222222222"
CREDENTIALS = ServiceCredentials(
    username="cinder",
    password=Secret("cinder-test-pass"),
    auth_url="http://127.0.0.1:5000",
    www_authenticate_uri="http://127.0.0.1:5000",
)
API = CinderApiWiring(
    paste_config_file="/venv/etc/cinder/api-paste.ini",
    resource_filters_file="/venv/etc/cinder/resource_filters.json",
    service_down_time=10,
)
HELPER = "/venv/bin/privsep-helper --config-file /lab/nodes/n/cinder.conf"


def params(site: str, *, cluster: str = "") -> dict[str, object]:
    return {
        "CinderEnableRbdBackend": True,
        "CephClusterName": site,
        "CephClusterFSID": FSID,
        "CephClientKey": "AQD1lQdrskI6GxAALYQSiKZ04HlqrGsNgOWSjg==",
        "CinderStorageAvailabilityZone": site,
        "CinderVolumeCluster": cluster,
    }


def wiring(*, api: CinderApiWiring | None, credentials: ServiceCredentials | None = CREDENTIALS) -> NodeWiring:
    return NodeWiring(
        cinder=CinderWiring(
            backend_host="hostgroup-x",
            database_url=Secret("postgresql+psycopg2://postgres@127.0.0.1:5440/cinder"),
            transport_url=Secret("rabbit://dcn-lab:pw@127.0.0.1:5680/"),
            glance_api_servers="http://127.0.0.1:9293",
            lock_path="/lab/locks",
            log_file="/lab/logs/cinder-volume.log",
            coordination_url="file:///lab/coordination",
            credentials=credentials,
            state_path="/lab/state",
            privsep_helper_command=HELPER,
            report_interval=2,
            api=api,
        )
    )


def render(site: str, role: str, node_wiring: NodeWiring, *, cluster: str = "") -> configparser.ConfigParser:
    files = render_cinder_files(parse_stack_params(params(site, cluster=cluster)), role, node_wiring)  # type: ignore[arg-type]
    parser = configparser.ConfigParser(interpolation=None, default_section="configparser-defaults")
    parser.read_string(files[CINDER_CONF].content)
    return parser


def test_controller_conf_carries_the_api_and_scheduler_part() -> None:
    conf = render("central", "Controller", wiring(api=API))
    default = conf["DEFAULT"]
    assert default["storage_availability_zone"] == "central"
    assert default["auth_strategy"] == "keystone"
    assert default["api_paste_config"] == API.paste_config_file
    assert default["service_down_time"] == "10"
    assert [default[f"quota_{kind}"] for kind in ("volumes", "snapshots", "gigabytes")] == ["-1", "-1", "-1"]
    assert conf["keystone_authtoken"]["username"] == "cinder"
    assert conf["keystone_authtoken"]["www_authenticate_uri"] == "http://127.0.0.1:5000"


def test_dcn_conf_has_no_api_part_but_glance_service_credentials_and_privsep_helper() -> None:
    conf = render("dcn0", "DistributedComputeHCI", wiring(api=None), cluster="dcn0")
    assert not conf.has_section("keystone_authtoken")
    assert "auth_strategy" not in conf["DEFAULT"]
    assert conf["glance"]["auth_type"] == "password"
    assert conf["glance"]["username"] == "cinder"
    assert conf["cinder_sys_admin"]["helper_command"] == HELPER
    assert conf["privsep_osbrick"]["helper_command"] == HELPER
    assert conf["DEFAULT"]["state_path"] == "/lab/state"
    assert conf["DEFAULT"]["report_interval"] == "2"


def test_api_node_without_service_credentials_is_a_wiring_error() -> None:
    with pytest.raises(WiringError, match="service credentials"):
        render("central", "Controller", wiring(api=API, credentials=None))


def test_service_password_stays_out_of_the_wiring_repr() -> None:
    assert "cinder-test-pass" not in repr(wiring(api=API))


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        pytest.param("dcn0", "dcn0@tripleo_ceph#tripleo_ceph", id="active-active"),
        pytest.param("", "hostgroup-central@tripleo_ceph#tripleo_ceph", id="host"),
    ],
)
def test_pool_is_named_after_the_cluster_when_there_is_one(cluster: str, expected: str) -> None:
    assert pool_name("hostgroup-central" if not cluster else "hostgroup-dcn0", cluster, "tripleo_ceph") == expected


def test_missing_pools_keeps_the_expected_order() -> None:
    assert missing_pools({"b"}, ["c", "b", "a"]) == ("c", "a")
