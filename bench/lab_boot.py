"""Time COW boots in the embedded lab, per DCN site, as a user sees them through the Compute API.

Uploads a 2 MiB raw image to central, copies it to every DCN store, makes a flavor with root_gb 0,
then per DCN site times ``POST /servers`` with the image and the site's AZ until the server is
ACTIVE (the Nova model's ``rbd clone images/<id>@snap vms/<server>_disk`` on the site's cluster), and
the delete until the server is gone. Budget (issue 4), printed and never asserted: a COW boot in
the lab in < 2 s. Deletes what it made.

    .venv/bin/python bench/lab_boot.py [--lab-dir DIR] [--repeat 3]

Without ``--lab-dir`` it brings up a fresh lab (central + 2 DCN sites) and takes it down afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import openstack
from openstack.connection import Connection

from dcn_checks import glance, waiters
from dcn_checks.lab import deploy, install
from dcn_checks.model import load_model, model_with_sites

ROOT = Path(__file__).resolve().parents[1]
IMAGE_BYTES = 2 * 1024 * 1024
TIMEOUT_S = 120.0
BUDGET_S = 2.0


def time_boot(conn: Connection, image_id: str, flavor_id: str, az: str, name: str) -> tuple[float, str, str]:
    """Seconds from the create call until ACTIVE (or ERROR); the server's status and ID."""
    started = time.monotonic()
    server = conn.compute.create_server(
        name=name, image_id=image_id, flavor_id=flavor_id, availability_zone=az, networks="none"
    )
    server = waiters.wait_for(
        lambda: conn.compute.get_server(server.id),
        lambda found: found.status in ("ACTIVE", "ERROR"),
        timeout_s=TIMEOUT_S,
        description=f"server {server.id} ACTIVE",
        interval_s=0.05,
    )
    return time.monotonic() - started, str(server.status), str(server.id)


def time_delete(conn: Connection, server_id: str) -> float:
    started = time.monotonic()
    conn.compute.delete_server(server_id)
    waiters.wait_for(
        lambda: conn.compute.find_server(server_id, ignore_missing=True),
        lambda found: found is None,
        timeout_s=TIMEOUT_S,
        description=f"server {server_id} deleted",
        interval_s=0.05,
    )
    return time.monotonic() - started


def measure(info: deploy.LabInfo, repeat: int) -> None:
    config = openstack.config.OpenStackConfig(config_files=[str(info.clouds_yaml)])
    conn = openstack.connection.Connection(config=config.get_one(info.cloud))
    model = load_model(info.model_path)
    dcn = [site.name for site in model.dcn_sites]
    image = glance.create_image(conn, "dcnchk-bench-boot")
    flavor = conn.compute.create_flavor(name=f"dcnchk-bench-{os.getpid()}", ram=64, vcpus=1, disk=0)
    try:
        glance.upload_image_to_store(conn, image.image_id, os.urandom(IMAGE_BYTES), model.central.store_id)
        glance.copy_image_to_stores(conn, image.image_id, [model.site(name).store_id for name in dcn])
        waiters.wait_for_image_in_stores(
            glance.image_probe(conn, image.image_id),
            image.image_id,
            [site.store_id for site in model.sites],
            timeout_s=TIMEOUT_S,
        )
        for site in dcn:
            boots, deletes = [], []
            for index in range(repeat):
                seconds, status, server_id = time_boot(
                    conn, image.image_id, flavor.id, model.site(site).az, f"dcnchk-bench-{site}-{index}"
                )
                boots.append(seconds)
                deletes.append(time_delete(conn, server_id))
                if status != "ACTIVE":
                    print(f"  {site}: boot {index} ended {status}")
            shown = " ".join(f"{s:.2f}" for s in boots)
            print(
                f"COW boot at {site:<6} median {statistics.median(boots):5.2f} s  [{shown}]  (budget {BUDGET_S:.0f} s)"
            )
            print(f"delete at {site:<8} median {statistics.median(deletes):5.2f} s")
    finally:
        conn.compute.delete_flavor(flavor.id, ignore_missing=True)
        glance.delete_image(conn, image.image_id)
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, help="an existing lab (left up)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.lab_dir:
        info = deploy.read_lab_info(args.lab_dir)
        if info is None:
            raise SystemExit(f"no lab in {args.lab_dir}")
        measure(info, args.repeat)
        return 0
    venv = install.ensure_lab_deps().venv
    (ROOT / ".lab").mkdir(exist_ok=True)
    lab_dir = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / ".lab"))
    lab_dir.chmod(0o755)
    started = time.monotonic()
    info = deploy.up(lab_dir, model_with_sites(2), venv=venv)
    print(f"lab up                   {time.monotonic() - started:6.1f} s")
    try:
        measure(info, args.repeat)
    finally:
        deploy.down(lab_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
