"""Measure the whole suite (reads + creates) on labs of several sizes, against a bare script.

Budgets (issue 11): the full suite on the default lab (central + 2 DCN sites) under 90 s with
``-n auto``; each extra DCN site under 10 s; with ``-n auto`` the suite should beat a bare script
that does the same API and RBD operations one after the other with no pytest around them.

For each size it brings a lab up (or uses ``--lab-dir`` for one size), times the suite with
``-n auto`` and the bare script, and brings its lab down.

    .venv/bin/python bench/creates_suite.py [--sites 2 5 9] [--lab-dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from dcn_checks import flows, glance, lifecycle
from dcn_checks.cephcli import get_cluster_admins
from dcn_checks.clients import connect_cloud, get_hosts
from dcn_checks.lab import ceph, deploy, install
from dcn_checks.ledger import open_ledger
from dcn_checks.model import model_with_sites
from dcn_checks.target import load_target
from dcn_checks.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".venv" / "bin" / "dcn-checks"


def timed_suite(lab_dir: Path) -> tuple[float, str]:
    """Run reads and creates with ``-n auto`` once; return the wall time and pytest's summary line."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(CLI), "check", "--target", str(lab_dir), "-q", "-n", "auto", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    summary = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return time.monotonic() - started, f"exit {proc.returncode}: {summary}"


def bare_script(lab_dir: Path) -> float:
    """The same operations as the functional checks, one after the other, then the same removal."""
    target = load_target(lab_dir)
    model = target.model
    conn = connect_cloud(target)
    pools = flows.Pools(get_cluster_admins(model, get_hosts(target), target.api_timeout_s))
    started = time.monotonic()
    with open_ledger(target.source) as ledger:
        work = Workload(conn, ledger, target.create_timeout_s)
        golden = flows.make_golden(work, model)
        steps = flows.Flows(work, model, lambda: golden)
        for site in model.sites:
            pools.ls(site.name, site.pools.images)
            glance.download_sha512(conn, golden.image_id, endpoint=None if site.is_central else site.glance_endpoint)
        for site in model.dcn_sites:
            server = steps.cow_server(site.name)
            pools.cow_disk_problem(site, server.server_id, golden.image_id)
            steps.volume_server(site.name)
            pools.ls(site.name, site.pools.volumes)
            steps.bfv_server(site.name)
            steps.snapshot_server(site.name)
            steps.server_image_at_central(site.name)
        for site in model.dcn_sites:
            for other in model.dcn_sites:
                if other is not site:
                    image = steps.server_image(site.name)
                    work.copy_image(image.image_id, [other.store_id])
                    work.boot(f"bare-{site.name}-{other.name}", other.name, image_id=image.image_id)
        lifecycle.remove_recorded(ledger, lifecycle.SdkCloud(conn), timeout_s=target.create_timeout_s)
    conn.close()
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[2, 5, 9], help="DCN sites of each lab")
    parser.add_argument("--lab-dir", type=Path, default=None, help="a running lab (measured alone)")
    parser.add_argument("--osd-gib", type=int, default=6, help="OSD file size of the labs brought up")
    args = parser.parse_args()

    sizes: list[tuple[int, float]] = []
    for dcn_sites in [0] if args.lab_dir else args.sites:
        lab_dir = args.lab_dir
        if lab_dir is None:
            (ROOT / ".lab").mkdir(exist_ok=True)
            lab_dir = Path(tempfile.mkdtemp(prefix="bench-creates-", dir=ROOT / ".lab"))
            lab_dir.chmod(0o755)
            started = time.monotonic()
            venv = install.ensure_lab_deps().venv
            deploy.up(lab_dir, model_with_sites(dcn_sites), venv=venv, osd_bytes=args.osd_gib * ceph.GIB)
            print(f"{dcn_sites} DCN sites: lab up {time.monotonic() - started:6.1f} s")
        try:
            elapsed, summary = timed_suite(lab_dir)
            bare = bare_script(lab_dir)
            print(f"{dcn_sites} DCN sites: suite -n auto {elapsed:6.1f} s ({summary}); bare script {bare:6.1f} s")
            sizes.append((dcn_sites, elapsed))
        finally:
            if args.lab_dir is None:
                deploy.down(lab_dir)
                shutil.rmtree(lab_dir)  # made by this run (mkdtemp above); its OSD files hold gigabytes
    if len(sizes) > 1:
        (first, t_first), (last, t_last) = sizes[0], sizes[-1]
        print(f"cost per extra DCN site: {(t_last - t_first) / (last - first):5.1f} s")
    print("budgets: under 90 s on 2 DCN sites with -n auto; under 10 s per extra DCN site; beat the bare script")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
