"""A node of the lab: a directory that stands in for a real node's root, and running things "on" it.

Configs rendered for a real node name real paths (``/etc/ceph/dcn0.conf``, and in it
``keyring = /etc/ceph/dcn0.client.external.keyring``). The lab keeps each node's files under its
own root (``<lab>/nodes/dcn0-hci-0/etc/ceph``) and runs the node's processes in a private mount
namespace where that directory is bind-mounted over ``/etc/ceph``. The host's ``/etc/ceph`` is
never written, and every node sees only its own files, as on separate machines.

``unshare`` (without ``--fork``) and ``sh -c 'exec "$@"'`` both exec in place, so a daemon started
this way keeps the PID we record (see :func:`dcn_checks.lab.processes.start`).
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dcn_checks.errors import LabError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BindMount:
    """``source`` (a directory in the lab) mounted over ``target`` (the path a real node uses)."""

    source: Path
    target: Path
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class CommandResult:
    """Outcome of a one-shot command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def node_argv(argv: Sequence[str], binds: Sequence[BindMount]) -> list[str]:
    """Wrap ``argv`` so it runs in a private mount namespace with ``binds`` applied.

    The command is passed as positional parameters to ``sh -c`` and run with ``exec "$@"``, so it
    keeps its exact arguments and the PID of the wrapper (``unshare`` without ``--fork`` execs too).
    """
    if not binds:
        return list(argv)
    steps = []
    for bind in binds:
        src, dst = shlex.quote(str(bind.source)), shlex.quote(str(bind.target))
        steps.append(f"mount --bind {src} {dst}")
        if bind.read_only:
            steps.append(f"mount -o remount,bind,ro {dst}")
    script = " && ".join([*steps, 'exec "$@"'])
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "dcn-node", *argv]


def redact_argv(argv: Sequence[str], secret_flags: Sequence[str] = ("--add-key",)) -> str:
    """The command line for logs, with the value after a secret-bearing flag replaced."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        shown.append("<redacted>" if hide_next else arg)
        hide_next = arg in secret_flags
    return shlex.join(shown)


def run(
    argv: Sequence[str],
    *,
    timeout_s: float = 60.0,
    env: Mapping[str, str] | None = None,
    binds: Sequence[BindMount] = (),
    input_text: str | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> CommandResult:
    """Run a one-shot command (optionally on a node) and return rc/stdout/stderr; never raises on rc.

    A timeout is reported as rc 124, like coreutils ``timeout``, with what was captured so far.
    """
    # A one-shot command dies with its caller: `lab up` killed by SIGKILL must not leave a
    # keystone-manage or a ceph command behind that no state file knows about.
    full_argv = node_argv(argv, binds)
    log.debug("run: %s", redact_argv(full_argv))
    try:
        proc = subprocess.run(
            ["setpriv", "--pdeathsig", "KILL", "--", *full_argv],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=None if env is None else dict(env),
            cwd=cwd,
            check=False,
            user=user,
        )
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        errout = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
        return CommandResult(tuple(full_argv), 124, out, errout + f"\n(timed out after {timeout_s}s)")
    except OSError as err:
        raise LabError(f"cannot run {full_argv[0]}: {err}") from err
    return CommandResult(tuple(full_argv), proc.returncode, proc.stdout, proc.stderr)


def run_on_node(
    argv: Sequence[str],
    binds: Sequence[BindMount],
    *,
    timeout_s: float = 60.0,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` as if on the node whose files ``binds`` put in place (e.g. ``rbd --conf /etc/ceph/dcn0.conf``)."""
    return run(argv, timeout_s=timeout_s, env=env, binds=binds)


def check(result: CommandResult, what: str) -> CommandResult:
    """Raise LabError with the stderr tail when ``result`` failed; returns it otherwise."""
    if not result.ok:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise LabError(f"{what} failed (rc {result.returncode}): {tail}")
    return result


def node_binds(node_root: Path, paths: Sequence[str] = ("/etc/ceph",)) -> tuple[BindMount, ...]:
    """Bind mounts that make ``<node_root>/etc/ceph`` appear as ``/etc/ceph`` (and likewise for ``paths``)."""
    return tuple(BindMount(node_root / p.lstrip("/"), Path(p)) for p in paths)
