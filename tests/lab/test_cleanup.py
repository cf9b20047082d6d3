"""``dcn-checks cleanup`` after a run killed with SIGKILL, on the healthy lab, with the real clients.

A child process is a run: through the library it uploads an image to central and copies it to dcn0,
makes a volume at dcn0 and a snapshot of it, recording each in its ledger as soon as the API answers,
and makes a flavor it never records (only its name ties it to the run). It is killed while it waits.
``dcn-checks cleanup --stale`` must then remove all of that, in the API and in the pools, and nothing
else: neither the lab's own fixture nor what a live run holds. A second cleanup finds nothing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lab_support import add_observable_image, cleanup, connect, open_lab_ledger, rbd_pool_on_site

from dcn_checks import lifecycle, rbd
from dcn_checks.lab.deploy import LabInfo
from dcn_checks.ledger import Resource, find_runs, ledger_dir
from dcn_checks.model import load_model
from dcn_checks.target import TARGET_FILE

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
LAB_FIXTURE = "dcnchk-lab-observable"

RUN = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from dcn_checks import glance, ledger, waiters
    from dcn_checks.clients import connect_cloud
    from dcn_checks.target import load_target

    target, az = load_target(Path(sys.argv[1])), sys.argv[2]
    conn = connect_cloud(target)
    book = ledger.open_ledger(target.source)
    image = glance.create_image(conn, book.name("image"))
    book.record("image", image.image_id, image.name)
    glance.upload_image_to_store(conn, image.image_id, os.urandom(1 << 20), "central")
    glance.copy_image_to_stores(conn, image.image_id, ["dcn0"])
    book.record("image_copy", image.image_id, image.name, store_id="dcn0")
    probe = glance.image_probe(conn, image.image_id)
    waiters.wait_for_image_in_stores(probe, image.image_id, ["central", "dcn0"], timeout_s=120)
    volume = conn.block_storage.create_volume(size=1, availability_zone=az, name=book.name("volume"))
    book.record("volume", volume.id, volume.name)
    waiters.wait_for_volume_status(lambda: conn.block_storage.get_volume(volume.id), volume.id, timeout_s=120)
    snapshot = conn.block_storage.create_snapshot(volume_id=volume.id, name=book.name("snapshot"))
    book.record("volume_snapshot", snapshot.id, snapshot.name)
    flavor = conn.compute.create_flavor(name=book.name("unrecorded"), ram=64, vcpus=1, disk=0)
    print(book.run_id, image.image_id, volume.id, snapshot.id, flavor.id, flush=True)
    waiters.wait_for(lambda: None, bool, timeout_s=600, description="the kill")
    """
)


def dcn_checks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "dcn-checks"), *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_cleanup_stale_removes_what_a_killed_run_made_and_nothing_else(healthy_lab: LabInfo) -> None:
    add_observable_image(healthy_lab)
    model = load_model(healthy_lab.model_path)
    target = healthy_lab.lab_dir / TARGET_FILE
    conn = connect(healthy_lab)
    cloud = lifecycle.SdkCloud(conn)
    live = open_lab_ledger(healthy_lab)
    try:
        live_flavor = conn.compute.create_flavor(name=live.name("live"), ram=64, vcpus=1, disk=0)
        live.record("flavor", live_flavor.id, live_flavor.name)
        child = subprocess.Popen(
            [sys.executable, "-c", RUN, str(target), model.site("dcn0").az],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None and child.stderr is not None
            line = child.stdout.readline()
            assert line, f"the run died before it made everything: {child.stderr.read()[-2000:]}"
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        run_id, image_id, volume_id, snapshot_id, flavor_id = line.split()
        made = (
            Resource("image", image_id),
            Resource("image_copy", image_id, store_id="dcn0"),
            Resource("volume", volume_id),
            Resource("volume_snapshot", snapshot_id),
            Resource("flavor", flavor_id),
        )
        stale = {run.record.run_id: run for run in find_runs(ledger_dir(target))}[run_id]
        assert not stale.live and len(stale.record.resources) == 4  # the flavor was never recorded
        assert all(cloud.find(resource) is not None for resource in made)

        first = dcn_checks("cleanup", "--target", str(healthy_lab.lab_dir), "--stale")
        assert first.returncode == 0, first.stdout + first.stderr
        for resource_id in (image_id, volume_id, snapshot_id, flavor_id):
            assert f"{resource_id} (dcnchk-{run_id}-" in first.stdout, first.stdout
        assert f"left alone: run {live.run_id} is live" in first.stderr
        assert [resource for resource in made if cloud.find(resource) is not None] == []
        dcn0, central = model.site("dcn0"), model.site("central")
        assert rbd.find_image(rbd_pool_on_site(healthy_lab, dcn0, "volumes"), rbd.volume_name(volume_id)) is None
        for site in (central, dcn0):
            assert rbd.find_image(rbd_pool_on_site(healthy_lab, site, "images"), image_id) is None, site.name

        assert cloud.find(Resource("flavor", live_flavor.id)) is not None, "the live run's flavor was removed"
        assert any(image.name == LAB_FIXTURE for image in conn.image.images()), "the lab's fixture was removed"
        second = dcn_checks("cleanup", "--target", str(healthy_lab.lab_dir), "--stale")
        assert (second.returncode, second.stdout) == (0, ""), second.stderr
        assert "nothing to clean up" in second.stderr
    finally:
        failures = cleanup(live, conn)
        conn.close()
    assert not failures, failures
