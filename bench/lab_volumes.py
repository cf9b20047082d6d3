"""Time volumes made from images in the embedded lab, per site, as a user sees it through the API.

Uploads a 2 MiB raw image to central and copies it to every DCN store, then per site times ``POST
/volumes`` with ``imageRef`` and the site's AZ until the volume is ``available`` (Cinder's clone of
``images/<id>@snap`` in the site's cluster), and, for comparison, the download path at the first DCN
site (an image only in central, copied through Glance). Budget (issue 4), printed and never
asserted: a volume from an image in < 3 s. Deletes what it made.

    .venv/bin/python bench/lab_volumes.py [--lab-dir DIR] [--repeat 3]

Without ``--lab-dir`` it brings up a fresh lab (central + 2 DCN sites) and takes it down afterwards.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import openstack
from openstack.connection import Connection

from dcn_checks import glance, waiters
from dcn_checks.lab import deploy, install
from dcn_checks.model import load_model, model_with_sites

ROOT = Path(__file__).resolve().parents[1]
IMAGE_BYTES = 2 * 1024 * 1024
TIMEOUT_S = 120.0


def volume_status(conn: Connection, volume_id: str) -> str:
    return str(conn.block_storage.get_volume(volume_id).status)


def time_volume(conn: Connection, image_id: str, az: str, name: str) -> tuple[float, str]:
    """Seconds from the create call until ``available``; the volume ID, for cleanup."""
    started = time.monotonic()
    volume = conn.block_storage.create_volume(size=1, image_id=image_id, availability_zone=az, name=name)
    waiters.wait_for(
        lambda: volume_status(conn, volume.id),
        lambda status: status == "available",
        timeout_s=TIMEOUT_S,
        description=f"volume {name} available",
        fail_fast=lambda status: "error" if status == "error" else None,
        interval_s=0.05,
    )
    return time.monotonic() - started, str(volume.id)


def delete_volumes(conn: Connection, volume_ids: list[str]) -> None:
    for volume_id in volume_ids:
        conn.block_storage.delete_volume(volume_id, ignore_missing=True)

    def remaining() -> list[Any]:
        return [v for v in conn.block_storage.volumes() if v.id in volume_ids]

    waiters.wait_for(remaining, lambda left: not left, timeout_s=TIMEOUT_S, description="bench volumes deleted")


def image_in_stores(conn: Connection, name: str, stores: list[str]) -> str:
    image = glance.create_image(conn, name)
    glance.upload_image_to_store(conn, image.image_id, os.urandom(IMAGE_BYTES), "central")
    copies = [store for store in stores if store != "central"]
    if copies:
        glance.copy_image_to_stores(conn, image.image_id, copies)
    waiters.wait_for_image_in_stores(glance.image_probe(conn, image.image_id), image.image_id, stores, timeout_s=60)
    return image.image_id


def bench(lab_dir: Path, repeat: int) -> None:
    info = deploy.read_lab_info(lab_dir)
    if info is None:
        raise SystemExit(f"no lab in {lab_dir}")
    model = load_model(info.model_path)
    config = openstack.config.OpenStackConfig(config_files=[str(info.clouds_yaml)])
    conn = openstack.connection.Connection(config=config.get_one(info.cloud))
    run = f"dcnchk-bench-{os.getpid()}"
    stores = [site.store_id for site in model.sites]
    everywhere = image_in_stores(conn, f"{run}-all", stores)
    central_only = image_in_stores(conn, f"{run}-central", ["central"])
    created: list[str] = []
    try:
        print(f"volume from image (clone), {repeat} per site; budget 3 s")
        for site in model.sites:
            times = []
            for index in range(repeat):
                seconds, volume_id = time_volume(conn, everywhere, site.az, f"{run}-{site.name}-{index}")
                created.append(volume_id)
                times.append(seconds)
            print(f"  {site.name:<10} min {min(times):5.2f} s   max {max(times):5.2f} s")
        edge = model.dcn_sites[0] if model.dcn_sites else model.central
        seconds, volume_id = time_volume(conn, central_only, edge.az, f"{run}-download")
        created.append(volume_id)
        print(f"volume from image only in central, at {edge.name} (download): {seconds:5.2f} s")
    finally:
        delete_volumes(conn, created)
        glance.delete_image(conn, everywhere)
        glance.delete_image(conn, central_only)
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, help="a lab that is up (default: bring one up and down)")
    parser.add_argument("--repeat", type=int, default=3, help="volumes per site")
    args = parser.parse_args()
    if args.lab_dir is not None:
        bench(args.lab_dir, args.repeat)
        return 0
    venv = install.ensure_lab_deps().venv
    (ROOT / ".lab").mkdir(exist_ok=True)
    lab_dir = Path(tempfile.mkdtemp(prefix="bench-volumes-", dir=ROOT / ".lab"))
    lab_dir.chmod(0o755)
    started = time.monotonic()
    deploy.up(lab_dir, model_with_sites(2), venv=venv)
    print(f"lab up                   {time.monotonic() - started:6.1f} s")
    try:
        bench(lab_dir, args.repeat)
    finally:
        deploy.down(lab_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
