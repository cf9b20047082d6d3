"""Measure a full lab bring-up: how long each layer takes and how much RAM it holds.

Brings up 3 Ceph clusters (central, dcn0, dcn1) in parallel, PostgreSQL, Keystone, then one Glance
per site on its own node (TripleO layout: central has every store, an edge site its own plus
central), imports one 4 MiB image into all three stores through central, prints timings and RSS,
and tears everything down by PID. Glance configs come from the minimal builder of the lab tests
until the real renderer is wired in.

    .venv/bin/python bench/lab_up.py [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))

from lab_support import (
    GLANCE_PASSWORD,
    leftover_pids,
    write_glance_config,
    write_node_ceph_files,
)

from dcn_checks.lab import ceph, glance, install, keystone, nodes, ports, postgres, processes

T = TypeVar("T")
CAPS = {"mon": "profile rbd", "osd": "profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images"}
LAYOUT = {"central": ("central", "dcn0", "dcn1"), "dcn0": ("dcn0", "central"), "dcn1": ("dcn1", "central")}
NODES = {"central": "controller-0", "dcn0": "dcn0-hci-0", "dcn1": "dcn1-hci-0"}


def timed(label: str, fn: Callable[[], T], timings: dict[str, float]) -> T:
    started = time.monotonic()
    result = fn()
    timings[label] = time.monotonic() - started
    print(f"{label:<40} {timings[label]:6.2f} s", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    args = parser.parse_args()
    timings: dict[str, float] = {}
    result = timed("install check (marker)", install.ensure_lab_deps, timings)
    venv = result.venv
    lab = Path(tempfile.mkdtemp(prefix="dcn-lab-bench-", dir="/tmp"))
    lab.chmod(0o755)
    secret = subprocess.run(["ceph-authtool", "--gen-print-key"], capture_output=True, text=True).stdout.strip()
    key = ceph.CephKeySpec("client.openstack", secret, CAPS)
    total_started = time.monotonic()
    try:
        specs = [ceph.ClusterSpec(site, str(uuid.uuid4()), (key,)) for site in LAYOUT]
        clusters = {
            c.name: c for c in timed("ceph: 3 clusters in parallel", lambda: ceph.start_clusters(lab, specs), timings)
        }
        for site, stores in LAYOUT.items():
            for store in stores:
                write_node_ceph_files(lab / "nodes" / NODES[site], clusters[store], "openstack", secret)
        pg = timed(
            "postgres: initdb + start + 2 DBs", lambda: postgres.start_postgres(lab, ["keystone", "glance"]), timings
        )
        ks = timed(
            "keystone: manage steps + serving",
            lambda: keystone.start_keystone(lab, venv, pg.url("keystone"), admin_password=secret),
            timings,
        )
        glance_ports = dict(zip(LAYOUT, ports.allocate_ports(len(LAYOUT)), strict=True))
        timed(
            "keystone: service user + image endpoints",
            lambda: keystone.register_services(
                ks,
                [keystone.ServiceUser("glance", GLANCE_PASSWORD)],
                [keystone.CatalogService("glance", "image", f"http://127.0.0.1:{glance_ports['central']}")],
            ),
            timings,
        )
        sites = []
        for site, stores in LAYOUT.items():
            config_dir = write_glance_config(
                site=site,
                lab_dir=lab,
                venv=venv,
                port=glance_ports[site],
                db_url=pg.url("glance"),
                keystone_url=ks.url,
                stores=stores,
            )
            sites.append(
                glance.GlanceSite(site, config_dir, glance_ports[site], nodes.node_binds(lab / "nodes" / NODES[site]))
            )
        timed("glance: db_sync", lambda: glance.db_sync(venv, sites[0].config_dir), timings)
        timed("glance: 3 sites in parallel to healthy", lambda: glance.start_glances(lab, venv, sites), timings)
        print(f"{'TOTAL bring-up':<40} {time.monotonic() - total_started:6.2f} s")

        conn = keystone.connect(ks)
        img = conn.image.create_image(name="bench", disk_format="raw", container_format="bare")

        def import_all() -> None:
            conn.image.stage_image(img, data=os.urandom(4 * 1024 * 1024))
            conn.image.import_image(img, method="glance-direct", stores=list(LAYOUT))
            processes.wait_for(
                lambda: conn.image.get_image(img.id),
                lambda i: i.status == "active" and not i.properties.get("os_glance_importing_to_stores"),
                timeout_s=60,
                description="bench image in all stores",
            )

        timed("4 MiB image into 3 stores (via central)", import_all, timings)
        print("\nRSS after one import (process group = uwsgi master + worker, postmaster + backends):")
        total = 0
        for record in processes.load_records(lab):
            kib = processes.group_rss_kib(record)
            total += kib
            print(f"  {record.name:<24} {kib / 1024:7.1f} MiB")
        print(f"  {'TOTAL':<24} {total / 1024:7.1f} MiB")
        conn.image.delete_image(img)
        conn.close()
    finally:
        if not args.keep:
            records = processes.load_records(lab)
            started = time.monotonic()
            processes.stop_all(lab)
            print(f"\n{'tear-down (stop_all by PID)':<40} {time.monotonic() - started:6.2f} s")
            left = leftover_pids(records)
            print(f"leftover PIDs: {left or 'none'}")
            shutil.rmtree(lab, ignore_errors=True)
        else:
            print(f"\nlab kept in {lab}; stop with processes.stop_all(Path('{lab}'))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
