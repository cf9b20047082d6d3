"""The read-only suite as a whole: it passes on healthy labs of 3 and 6 sites, and it writes nothing.

"Writes nothing" is shown from the outside, on the real services: every API request the run made
is in the uwsgi request logs of Keystone, Glance and the other API services, and every RBD or RADOS
write is counted by each OSD (``op_w`` of ``perf dump``). Only token requests may be POSTs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lab_support import ReportRun, add_observable_image, run_suite

from dcn_checks.lab import nodes
from dcn_checks.lab.deploy import LabInfo

pytestmark = pytest.mark.lab

REQUEST_LINE = re.compile(r"\] (GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) =>")
#: Reading needs a token: the only POST a read-only run may make.
ALLOWED_WRITES = re.compile(r"^/(v3|identity/v3)/auth/tokens")


def request_log_sizes(lab_dir: Path) -> dict[Path, int]:
    """Current size of every uwsgi request log of the lab's API services."""
    return {path: path.stat().st_size for path in sorted(lab_dir.rglob("uwsgi.log"))}


def requests_since(sizes: dict[Path, int], lab_dir: Path) -> list[tuple[str, str, str]]:
    """(service log, method, path) of every request logged after ``sizes`` was taken."""
    seen = []
    for path in sorted(lab_dir.rglob("uwsgi.log")):
        with path.open() as log:
            log.seek(sizes.get(path, 0))
            for line in log:
                match = REQUEST_LINE.search(line)
                if match:
                    seen.append((str(path.relative_to(lab_dir)), match.group(1), match.group(2)))
    return seen


def osd_writes(lab_dir: Path) -> dict[str, int]:
    """``op_w`` (client write ops) of every OSD of the lab, read from its admin socket."""
    counts = {}
    for socket in sorted(lab_dir.glob("ceph/*/run/*-osd.*.asok")):
        result = nodes.check(nodes.run(["ceph", "--admin-daemon", str(socket), "perf", "dump"], timeout_s=20), "perf")
        counts[socket.name] = int(json.loads(result.stdout)["osd"]["op_w"])
    return counts


def test_read_only_checks_make_no_write_call_and_no_rbd_write(healthy_lab: LabInfo) -> None:
    add_observable_image(healthy_lab)
    sizes = request_log_sizes(healthy_lab.lab_dir)
    writes_before = osd_writes(healthy_lab.lab_dir)

    run = run_suite(healthy_lab.lab_dir, "-m", "reads")

    assert run.exit_code == 0, run.failed() or run.stderr[-2000:]
    requests = requests_since(sizes, healthy_lab.lab_dir)
    assert requests, "no API request was logged; the proof would be empty"
    writes = [r for r in requests if r[1] not in ("GET", "HEAD") and not ALLOWED_WRITES.match(r[2])]
    assert writes == []
    assert osd_writes(healthy_lab.lab_dir) == writes_before


def test_every_read_only_check_passes_on_the_healthy_lab(healthy_runs: list[ReportRun]) -> None:
    """The session's runs of every suite on the healthy lab (3 sites) hold the read-only checks too."""
    for run in healthy_runs:
        reads = [case for case in run.summary.cases if case.suite == "reads"]
        assert reads and {case.verdict for case in reads} <= {"pass", "n/a"}, run.failed()
        skipped = {case.key: case.message for case in reads if case.verdict == "n/a"}
        assert all("release" in reason for reason in skipped.values()), skipped


def test_every_read_only_check_passes_on_a_healthy_lab_of_six_sites(deploy_lab: Callable[..., LabInfo]) -> None:
    dcn_sites = 5
    lab = deploy_lab(sites=dcn_sites)
    add_observable_image(lab)
    run = run_suite(lab.lab_dir, "-m", "reads", "-n", "2")

    assert run.exit_code == 0, run.failed() or run.stderr[-2000:]
    assert run.outcomes and set(run.outcomes.values()) <= {"passed", "skipped"}
    skipped = {case: run.messages[case] for case, outcome in run.outcomes.items() if outcome == "skipped"}
    assert all("release" in reason for reason in skipped.values()), skipped
    last_site = f"dcn{dcn_sites - 1}"
    assert any(last_site in case for case in run.outcomes), f"no case of {last_site}"
