"""The volume faults of the lab, each shown by what an operator would observe.

``cinder-az-mismatch``: dcn1's az.yaml gives Cinder a storage AZ other than Nova's, so dcn1's
cinder-volume registers in that other zone and a volume in AZ ``dcn1`` (the name Nova and the
document use) is refused. ``volume-service-down``: dcn0's cinder-volume died after it had reported;
Cinder marks it down once its heartbeats stop and no longer schedules to it, so a volume in AZ
``dcn0`` ends in ``error`` and nothing lands in dcn0's ``volumes`` pool. The two faults break
different sites, so one lab carries both.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cinderclient import exceptions as cinder_exc
from lab_support import VOLUME_FAULTS, cinder_client, connect, openstack_cli, rbd_pool_on_site

from dcn_checks import rbd, waiters
from dcn_checks.lab import cinder, processes
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.lab.faults import FAULTS_BY_NAME
from dcn_checks.model import SiteModel, load_model

pytestmark = pytest.mark.lab

RUN = secrets.token_hex(3)
BACKEND = "tripleo_ceph"
#: Longer than the lab's service_down_time (10 s) plus a heartbeat, with room for a loaded machine.
DOWN_TIMEOUT_S = 60.0
TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def volume_lab(deploy_lab: Callable[..., LabInfo]) -> LabInfo:
    return deploy_lab(*VOLUME_FAULTS)


@pytest.fixture(scope="module")
def model(volume_lab: LabInfo) -> SiteModel:
    return load_model(volume_lab.model_path)


@pytest.fixture(scope="module")
def client(volume_lab: LabInfo) -> Iterator[Any]:
    conn = connect(volume_lab)
    yield cinder_client(conn)
    conn.close()


@pytest.fixture
def created_volumes(client: Any) -> Iterator[list[str]]:
    """IDs of volumes a test made, deleted afterwards (a volume that never got a host goes at once)."""
    created: list[str] = []
    yield created
    for volume_id in reversed(created):
        with contextlib.suppress(cinder_exc.NotFound):
            client.volumes.delete(volume_id)


def volume_service(client: Any, site: str) -> Any:
    return next(s for s in client.services.list(binary="cinder-volume") if s.host == f"hostgroup-{site}@{BACKEND}")


def test_volume_faults_break_the_sites_their_catalog_entries_name() -> None:
    assert {name: FAULTS_BY_NAME[name].site for name in VOLUME_FAULTS} == {
        "cinder-az-mismatch": "dcn1",
        "volume-service-down": "dcn0",
    }


# --- cinder-az-mismatch -----------------------------------------------------------------------------


def test_cinder_az_mismatch_registers_dcn1_volume_service_outside_the_nova_az(client: Any, model: SiteModel) -> None:
    zone = volume_service(client, "dcn1").zone
    assert zone != model.site("dcn1").az
    assert zone == f"{model.site('dcn1').az}-storage"


def test_cinder_az_mismatch_leaves_no_volume_az_named_after_dcn1(volume_lab: LabInfo, model: SiteModel) -> None:
    listed = openstack_cli(volume_lab, "availability", "zone", "list", "--volume", "-f", "value", "-c", "Zone Name")
    assert listed.returncode == 0, listed.stderr.strip()[-500:]
    zones = set(listed.stdout.split())
    assert model.site("dcn1").az not in zones
    assert model.site("dcn0").az in zones


def test_cinder_az_mismatch_refuses_a_volume_in_the_nova_az_of_dcn1(client: Any, model: SiteModel) -> None:
    az = model.site("dcn1").az
    with pytest.raises(cinder_exc.BadRequest) as refused:
        client.volumes.create(1, availability_zone=az, name=f"dcnchk-{RUN}-az-mismatch")
    assert f"Availability zone '{az}' is invalid" in str(refused.value)


# --- volume-service-down ----------------------------------------------------------------------------


def test_volume_service_down_leaves_dcn0_without_a_running_cinder_volume(volume_lab: LabInfo) -> None:
    names = {record.name for record in processes.load_records(volume_lab.lab_dir) if processes.is_running(record)}
    assert cinder.volume_process_name("dcn0") not in names
    assert cinder.volume_process_name("dcn1") in names


def test_volume_service_down_is_reported_down_in_service_and_cluster_lists(client: Any) -> None:
    service = waiters.wait_for(
        lambda: volume_service(client, "dcn0"),
        lambda found: found.state == "down",
        timeout_s=DOWN_TIMEOUT_S,
        description="dcn0 cinder-volume reported down",
        describe=lambda found: f"state {found.state}, updated {found.updated_at}",
    )
    assert service.status == "enabled"  # still listed and enabled: it died, nobody disabled it
    dcn0 = next(c for c in client.clusters.list(detailed=True) if c.name == f"dcn0@{BACKEND}")
    assert (dcn0.num_hosts, dcn0.num_down_hosts, dcn0.state) == (1, 1, "down")


def test_volume_service_down_fails_volume_creates_at_dcn0(
    client: Any, created_volumes: list[str], volume_lab: LabInfo, model: SiteModel
) -> None:
    waiters.wait_for(
        lambda: volume_service(client, "dcn0").state,
        lambda state: state == "down",
        timeout_s=DOWN_TIMEOUT_S,
        description="dcn0 cinder-volume reported down",
    )
    site = model.site("dcn0")
    volume = client.volumes.create(1, availability_zone=site.az, name=f"dcnchk-{RUN}-service-down")
    created_volumes.append(volume.id)
    final = waiters.wait_for(
        lambda: client.volumes.get(volume.id),
        lambda found: found.status in ("error", "available"),
        timeout_s=TIMEOUT_S,
        description=f"volume {volume.id} scheduled",
        describe=lambda found: str(found.status),
    )
    assert final.status == "error"
    assert getattr(final, "os-vol-host-attr:host") is None
    assert rbd.find_image(rbd_pool_on_site(volume_lab, site, "volumes"), rbd.volume_name(volume.id)) is None
