"""Measure ``lab up`` and ``lab down`` of the embedded lab, and the RAM the lab holds.

Deploys the lab exactly as ``dcn-checks lab up`` does (generated environment files, real Ceph per
site, PostgreSQL, Keystone, Glance, RabbitMQ and Cinder), prints each phase's elapsed time, the RSS
of every process the lab started (process groups included) in total and per service (a Ceph mgr,
OSD and mon per site among them), the size of each OSD's sparse backing file (apparent, and the
disk it takes), then ``lab down`` time and leftovers. Budgets, printed and never asserted: up < 45 s
for 3 sites from a warm install with everything included, RSS < 4 GiB with the mgrs (issues 4 and
10); down < 5 s (issue 3).
``bench/lab_volumes.py`` times volumes from images on a lab this leaves up with ``--keep``.

    .venv/bin/python bench/lab_up.py [--sites 2] [--release ussuri] [--osd-gib 10] [--keep]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dcn_checks.lab import capacity, ceph, deploy, install, processes
from dcn_checks.model import model_with_sites

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2, help="DCN sites besides central")
    parser.add_argument("--release", default="ussuri")
    parser.add_argument("--osd-gib", type=int, default=ceph.DEFAULT_OSD_BYTES // ceph.GIB)
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    args = parser.parse_args()

    started = time.monotonic()
    venv = install.ensure_lab_deps().venv
    print(f"install check            {time.monotonic() - started:6.1f} s")
    (ROOT / ".lab").mkdir(exist_ok=True)
    lab_dir = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / ".lab"))
    lab_dir.chmod(0o755)
    model = model_with_sites(args.sites, release=args.release)

    def progress(message: str) -> None:
        print(f"  {message}")

    up_started = time.monotonic()
    info = deploy.up(lab_dir, model, venv=venv, progress=progress, osd_bytes=args.osd_gib * ceph.GIB)
    up_s = time.monotonic() - up_started
    records = processes.load_records(lab_dir)
    rss_by_service: dict[str, float] = {}
    for record in records:
        service = record.name.split(".")[0]
        rss_by_service[service] = rss_by_service.get(service, 0.0) + processes.group_rss_kib(record) / 1024
    rss_mib = sum(rss_by_service.values())
    print(f"lab up ({len(model.sites)} sites)         {up_s:6.1f} s   (budget 45 s for 3 sites)")
    print(f"processes                {len(records):6d}")
    print(f"RSS total                {rss_mib:6.0f} MiB (budget 4096 MiB for 3 sites)")
    for service, mib in sorted(rss_by_service.items(), key=lambda item: -item[1]):
        print(f"  {service:<22} {mib:6.0f} MiB")
    files = capacity.backing_files(lab_dir)
    print(f"OSD backing files        {len(files):6d}   apparent / allocated")
    for osd_file in files:
        apparent, allocated = osd_file.apparent_bytes / ceph.GIB, osd_file.allocated_bytes / ceph.MIB
        print(f"  {osd_file.path.name:<22} {apparent:6.1f} GiB / {allocated:6.0f} MiB")
    if args.keep:
        print(f"kept: {info.lab_dir}")
        return 0
    down_started = time.monotonic()
    deploy.down(lab_dir)
    down_s = time.monotonic() - down_started
    left = [record.pid for record in records if processes.is_running(record)]
    print(f"lab down                 {down_s:6.1f} s   (budget 5 s); leftovers: {left or 'none'}")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
