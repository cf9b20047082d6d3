"""``dcn-checks target check FILE``: can the suites use this target? Asked up front, one line per problem.

First the file itself (the same validation every run does), then what a run needs of the world: the
cloud's credentials (one authentication), every node of the site model through the target's host
backend (a command that does nothing), and client.admin of every site's cluster (``ceph fsid``,
compared with the model's). A problem of each kind is one line; any problem makes the exit 4, since a
run against this target could not judge the deployment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dcn_checks.cephcli import ClusterAdmin
from dcn_checks.errors import DcnChecksError
from dcn_checks.evidence import mask_secrets
from dcn_checks.inputs import clip

PROBE_WORKERS = 8
MAX_PROBLEM = 300


@dataclass(frozen=True, slots=True)
class Probe:
    """One thing the target must allow, and what went wrong (empty when it worked)."""

    what: str
    problem: str = ""

    def line(self) -> str:
        return f"{'ok     ' if not self.problem else 'PROBLEM'} {self.what}" + (
            f": {self.problem}" if self.problem else ""
        )


def probe_target(path: Path, timeout_s: float | None = None) -> Iterator[Probe]:
    """Every probe of the target at ``path``, in order; a target file that is not valid ends the probes."""
    from dcn_checks.cephcli import get_cluster_admins
    from dcn_checks.clients import connect_cloud, get_hosts
    from dcn_checks.target import load_target

    target = load_target(path)  # bad input is raised: one line and exit 4 from the CLI
    yield Probe(f"target file {target.source} ({len(target.model.sites)} sites, backend {target.backend})")
    timeout = timeout_s or target.api_timeout_s
    yield _attempt(f"cloud '{target.cloud}': authenticate", lambda: connect_cloud(target).close())
    hosts = get_hosts(target)

    def reach(name: str) -> Probe:
        def run() -> None:
            result = hosts[name].run(["true"], timeout_s=timeout)
            if result.returncode != 0:
                raise RuntimeError(f"'true' exited {result.returncode}: {result.stderr.strip()[-200:]}")

        return _attempt(f"node {name}: run a command", run)

    with ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
        yield from pool.map(reach, sorted(hosts))
    admins = get_cluster_admins(target.model, hosts, timeout)
    for site in target.model.sites:
        admin = admins.get(site.name)
        if admin is None:
            yield Probe(f"cluster {site.cluster}: client.admin", "the model names no mon node for the site")
            continue

        yield _attempt(
            f"cluster {site.cluster} on {admin.node}: client.admin answers",
            functools.partial(_fsid_is, admin, site.fsid),
        )


def _fsid_is(admin: ClusterAdmin, expected: str | None) -> None:
    """``ceph fsid`` as client.admin answers, and with the model's fsid when the model names one."""
    result = admin.run_now(["fsid"])
    if result.returncode != 0:
        raise RuntimeError(f"ceph fsid exited {result.returncode}: {result.stderr.strip()[-200:]}")
    seen = result.stdout.strip()
    if expected and seen != expected:
        raise RuntimeError(f"the cluster's fsid is {seen}, the model says {expected}")


def _attempt(what: str, action: Callable[[], object]) -> Probe:
    try:
        action()
    except DcnChecksError as err:
        return Probe(what, clip(mask_secrets(str(err)), MAX_PROBLEM))
    except Exception as err:  # a host backend's own error: the probe's finding, not a crash
        return Probe(what, clip(mask_secrets(f"{type(err).__name__}: {err}"), MAX_PROBLEM))
    return Probe(what)
