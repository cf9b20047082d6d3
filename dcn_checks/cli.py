"""The ``dcn-checks`` command line: one entry point, one error line, pytest's exit codes.

Every ``DcnChecksError`` is printed as ``dcn-checks: <message>`` on stderr and exits with its code;
a traceback appears only with ``--debug``. Usage errors exit 4 (bad input), not argparse's 2,
because 2 means "interrupted" in our exit codes.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pluggy import HookimplMarker

from dcn_checks.debuglog import internal_error_line, write_debug_log
from dcn_checks.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BadInputError,
    DcnChecksError,
)
from dcn_checks.inputs import clip
from dcn_checks.release import RELEASE_NAMES

if TYPE_CHECKING:
    from dcn_checks.ledger import RunStatus
    from dcn_checks.model import SiteModel
    from dcn_checks.target import Target

log = logging.getLogger("dcn_checks")
#: pytest's hook marker, without importing pytest for the commands that do not run it.
pytest_hookimpl = HookimplMarker("pytest")
#: The longest error line the CLI prints: a message that quotes a runaway value is cut.
MAX_ERROR_LINE = 1000


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as bad input (exit 4) in our one-line format."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInputError(f"{self.prog.removeprefix('dcn-checks').strip() or 'usage'}: {message}")


def _cmd_generate(args: argparse.Namespace) -> int:
    from dcn_checks.generator import generate
    from dcn_checks.model import load_model

    model = load_model(args.model)
    written = generate(model, Path(args.out), rotate_keys=args.rotate_keys)
    for item in written:
        print(Path(args.out) / item.path)
    return EXIT_OK


def _cmd_lint(args: argparse.Namespace) -> int:
    from dcn_checks.lint import lint_directory

    result = lint_directory(Path(args.directory), args.release)
    if result.detected is not None:
        print(f"release {result.release}, read from the files: {result.detected.because}", file=sys.stderr)
    for finding in result.findings:
        print(finding.line())
    for unreadable in result.unreadable:
        print(f"{unreadable.line()} [unreadable]")
    if result.unreadable:
        print(
            f"{len(result.unreadable)} file(s) in {args.directory} could not be read, so the lint could not judge "
            f"everything ({len(result.findings)} problem(s) found in the rest)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if result.findings:
        print(f"{len(result.findings)} problem(s) found in {args.directory}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{args.directory}: no problems found for release {result.release}", file=sys.stderr)
    return EXIT_OK


DEFAULT_LAB_DIR = ".lab/default"


#: ``lab up --osd-gib``'s default, the lab's own (``dcn_checks.lab.ceph.DEFAULT_OSD_BYTES``; a lab test
#: keeps the two equal): the CLI does not import the lab to build its parser.
DEFAULT_OSD_GIB = 10
#: The most DCN sites ``lab up --sites`` deploys: each adds a Ceph cluster, a Glance and a
#: cinder-volume, about 0.6 GiB of memory, so 20 sites already ask for about 13 GiB.
MAX_LAB_SITES = 20


def _lab_model(args: argparse.Namespace) -> SiteModel:
    """The model ``lab up`` deploys: ``--model``, or central plus ``--sites`` DCN sites; conflicts refused."""
    from dcn_checks.model import load_model, model_with_sites

    if args.model:
        given = [
            f"--{name.replace('_', '-')}"
            for name in ("sites", "release", "key_option")
            if getattr(args, name) is not None
        ]
        if given:
            raise BadInputError(f"lab up: {', '.join(given)} cannot go with --model: the model file says that")
        return load_model(args.model)
    sites = 2 if args.sites is None else args.sites
    if not 1 <= sites <= MAX_LAB_SITES:
        raise BadInputError(f"lab up: --sites: {sites} is not a number of DCN sites from 1 to {MAX_LAB_SITES}")
    return model_with_sites(sites, release=args.release or "ussuri", key_option=args.key_option or 2)


def _lab_settings(release: str, dcn_sites: int, faults: Sequence[str], osd_gib: int = DEFAULT_OSD_GIB) -> str:
    osds = "" if osd_gib == DEFAULT_OSD_GIB else f", OSDs of {osd_gib} GiB"
    return f"release {release}, {dcn_sites} DCN site(s), faults: {', '.join(sorted(faults)) or 'none'}{osds}"


def _cmd_lab_up(args: argparse.Namespace) -> int:
    from dcn_checks.lab import deploy
    from dcn_checks.lab.capacity import GIB, check_disk_space
    from dcn_checks.lab.faults import get_faults
    from dcn_checks.lab.install import ensure_lab_deps
    from dcn_checks.model import load_model

    lab_dir = Path(args.lab_dir).resolve()
    # Everything local is judged before anything slow: options, model, faults, the directory.
    model = _lab_model(args)
    faults = get_faults(args.fault, model)
    osd_bytes = args.osd_gib * GIB
    if deploy.is_lab_dir(lab_dir) and deploy.is_up(lab_dir):
        info = deploy.read_lab_info(lab_dir)
        running = ""
        if info is not None:
            osd_gib = (info.osd_bytes or DEFAULT_OSD_GIB * GIB) // GIB
            running = _lab_settings(info.release, len(load_model(info.model_path).dcn_sites), info.faults, osd_gib)
        if running != _lab_settings(model.release, len(model.dcn_sites), tuple(f.name for f in faults), args.osd_gib):
            raise BadInputError(
                f"lab up: a lab with other settings is up in {lab_dir} ({running or 'unknown'}); "
                f"'dcn-checks lab down --lab-dir {lab_dir}' first"
            )
        print(f"dcn-checks: the lab is already up in {lab_dir} ({running})", file=sys.stderr)
        return EXIT_OK
    deploy.check_lab_dir(lab_dir)
    check_disk_space(lab_dir, len(model.sites), osd_bytes)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[lab {time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    progress("checking the lab's packages and OpenStack venv")
    venv = ensure_lab_deps().venv
    info = deploy.up(lab_dir, model, faults, venv=venv, progress=progress, osd_bytes=osd_bytes)
    print(f"lab dir:     {info.lab_dir}")
    print(f"clouds.yaml: {info.clouds_yaml} (cloud {info.cloud})")
    print(f"site model:  {info.model_path}")
    print(f"inventory:   {info.inventory_path}")
    print(f"env files:   {info.env_dir}")
    print(f"node roots:  {info.nodes_dir}")
    if info.faults:
        print(f"faults:      {', '.join(info.faults)}")
    return EXIT_OK


def _cmd_lab_down(args: argparse.Namespace) -> int:
    from dcn_checks.lab import deploy

    lab_dir = Path(args.lab_dir).resolve()
    deploy.require_lab_dir(lab_dir)
    stopped = deploy.down(lab_dir)
    print(f"stopped {stopped} lab process(es) in {lab_dir}", file=sys.stderr)
    return EXIT_OK


def _cmd_lab_status(args: argparse.Namespace) -> int:
    """Show the lab's processes and its near-full clusters; exit 1 when a process is gone (the lab is broken)."""
    from dcn_checks.lab import deploy
    from dcn_checks.lab.capacity import find_full_clusters

    lab_dir = Path(args.lab_dir).resolve()
    deploy.require_lab_dir(lab_dir)
    rows = deploy.status(lab_dir)
    if not rows:
        print(f"no lab is running in {lab_dir}")
        return EXIT_OK
    for name, pid, running in rows:
        print(f"{name:40} {pid:>8} {'running' if running else 'gone'}")
    info = deploy.read_lab_info(lab_dir)
    if info is not None:
        for endpoint in info.glance:
            print(f"glance {endpoint.site}/{endpoint.service}: {endpoint.url} on {endpoint.node}")
    for line in find_full_clusters(lab_dir):
        print(line)
    return EXIT_OK if all(running for _, _, running in rows) else EXIT_FINDINGS


def _cmd_lab_faults(args: argparse.Namespace) -> int:
    from dcn_checks.lab.faults import FAULTS

    for fault in FAULTS:
        print(f"{fault.name:28} {fault.summary} [{', '.join(fault.requirements)}]")
    return EXIT_OK


def suites_dir() -> Path:
    """The conformance suites: inside the installed package (a wheel), else the checkout's ``suites/``."""
    package = Path(__file__).resolve().parent
    shipped = package / "suites"
    return shipped if shipped.is_dir() else package.parent / "suites"


SUITES_DIR = suites_dir()


def _cmd_check(args: argparse.Namespace) -> int:
    """Run the suites against a target with pytest; the exit code is pytest's (1: a check failed)."""
    from dcn_checks.target import load_target

    load_target(Path(args.target))  # one line and exit 4 before pytest starts, for a bad target
    return run_suites(["--target", args.target, *args.pytest_args])


def _cmd_run(args: argparse.Namespace) -> int:
    from dcn_checks.runcmd import command

    return command(args)


def _cmd_target_check(args: argparse.Namespace) -> int:
    """One line per probe of the target; exit 4 when any fails (a run could not judge the deployment)."""
    from dcn_checks.reach import probe_target

    problems = 0
    for probe in probe_target(Path(args.file)):
        print(probe.line(), flush=True)
        problems += bool(probe.problem)
    if problems:
        print(f"dcn-checks: target check: {problems} problem(s); a run against this target cannot judge it",
              file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    return EXIT_OK


def _cmd_cleanup(args: argparse.Namespace) -> int:
    """Remove what runs that died before their own cleanup left on the target's cloud.

    Without ``--run-id`` or ``--stale`` it lists the recorded runs and removes nothing. A live run is
    never touched (``--run-id`` of one is bad input). It exits 3 when something could not be removed:
    the deployment is not wrong, but the cleanup is not done; the ledger keeps it for the next try.
    """
    from dcn_checks import ledger
    from dcn_checks.inputs import shown
    from dcn_checks.target import load_target

    if args.run_id is not None and not ledger.is_run_id(args.run_id):
        raise BadInputError(
            f"cleanup: --run-id: {shown(args.run_id)} is not a run ID (the 12 hex digits of dcnchk-<run id>-...)"
        )
    target = load_target(Path(args.target))
    directory = ledger.ledger_dir(target.source)
    runs = ledger.find_runs(directory)
    if args.run_id is None and not args.stale:
        for run in runs:
            state = "live" if run.live else "stale"
            print(f"{run.record.run_id}  {state:5}  {len(run.record.resources)} resource(s)  {_run_owner(run)}")
        if not runs:
            print(f"no runs recorded in {directory}", file=sys.stderr)
        return EXIT_OK
    if args.run_id is not None:
        chosen = [run for run in runs if run.record.run_id == args.run_id]
        if not chosen:
            known = ", ".join(run.record.run_id for run in runs) or "none"
            raise BadInputError(f"cleanup: no run {args.run_id} is recorded in {directory} (runs: {known})")
        if chosen[0].live:
            raise BadInputError(
                f"cleanup: run {args.run_id} is live ({_run_owner(chosen[0])}); it removes what it made when it ends"
            )
    else:
        chosen = [run for run in runs if not run.live]
    for run in runs:
        if run.live and args.stale:
            print(f"left alone: run {run.record.run_id} is live ({_run_owner(run)})", file=sys.stderr)
    if not chosen:
        print(f"nothing to clean up in {directory}", file=sys.stderr)
        return EXIT_OK
    return _sweep(target, directory, [run.record.run_id for run in chosen])


def _run_owner(run: RunStatus) -> str:
    owner = run.record.owner
    return f"PID {owner.pid} on {owner.host}, started {owner.started}"


def _sweep(target: Target, directory: Path, run_ids: list[str]) -> int:
    from dcn_checks import lifecycle
    from dcn_checks.clients import connect_cloud

    conn = connect_cloud(target)
    try:
        report = lifecycle.sweep(directory, lifecycle.SdkCloud(conn), run_ids=run_ids)
    finally:
        conn.close()
    removed = failed = 0
    for run in report.runs:
        for resource in run.report.removed:
            print(f"removed {resource.label()} [run {run.run_id}]")
        for failure in run.report.failed:
            print(f"not removed: {failure.line()} [run {run.run_id}]")
        removed += len(run.report.removed)
        failed += len(run.report.failed)
    for run_id in report.live:
        print(f"left alone: run {run_id}: another process holds its ledger now", file=sys.stderr)
    for error in report.errors:
        print(f"not done: {error}")
    print(
        f"cleanup: removed {removed} resource(s) of {len(report.runs)} run(s); {failed} could not be removed",
        file=sys.stderr,
    )
    if failed or report.errors:
        print(f"cleanup: what is left stays in {directory} for the next 'dcn-checks cleanup'", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def run_suites(pytest_args: list[str], plugins: Sequence[object] = ()) -> int:
    """Run pytest over the shipped suites (or the paths the arguments name) and return its exit code.

    pytest itself decides which arguments are test paths, after every plugin has added its options,
    so the value of ``-k dcn1`` is never taken for a directory ``dcn1/`` that happens to exist.
    The root directory is the suites' parent, so test IDs do not depend on where the user stands.
    """
    import pytest

    fixed = ["-p", "no:cacheprovider"]
    if not any(arg == "--rootdir" or arg.startswith("--rootdir=") for arg in pytest_args):
        fixed.append(f"--rootdir={SUITES_DIR.parent}")
    return int(pytest.main([*fixed, *pytest_args], plugins=[_SuitesUnlessPathsGiven(), *plugins]))


class _SuitesUnlessPathsGiven:
    """A pytest plugin of ``dcn-checks check``: the suites when no path is given; usage errors in one line."""

    @pytest_hookimpl(tryfirst=True)
    def pytest_load_initial_conftests(self, early_config: Any, args: list[str]) -> None:
        namespace = early_config.known_args_namespace
        if not namespace.file_or_dir:
            args.append(str(SUITES_DIR))
            namespace.file_or_dir = [str(SUITES_DIR)]
            # xdist starts its workers with the invocation's arguments, so they must name the suites too.
            params = early_config.invocation_params
            early_config.invocation_params = dataclasses.replace(params, args=(*params.args, str(SUITES_DIR)))

    @pytest_hookimpl(wrapper=True)
    def pytest_cmdline_parse(self) -> Any:
        import pytest

        try:
            return (yield)
        except pytest.UsageError as err:
            # pytest's argparse writes its usage text, then "<prog>: error: <what>", then inifile and rootdir.
            lines = [line for line in str(err).splitlines() if line.strip()] or ["usage error"]
            what = next((line.split(": error: ", 1)[1] for line in lines if ": error: " in line), lines[0])
            raise pytest.UsageError(f"dcn-checks: check: {what.strip()}") from err


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every sub-command."""
    parser = _Parser(prog="dcn-checks", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    generate = commands.add_parser("generate", help="write the TripleO environment files of a site model")
    generate.add_argument("--model", required=True, help="site model YAML file")
    generate.add_argument("--out", required=True, help="directory to write the files into")
    generate.add_argument("--rotate-keys", action="store_true", help="make new cephx keys instead of keeping them")
    generate.set_defaults(func=_cmd_generate)

    lint = commands.add_parser("lint", help="check hand-written environment files for DCN storage traps")
    lint.add_argument("directory", help="directory with one subdirectory per stack")
    lint.add_argument(
        "--release", choices=RELEASE_NAMES, help="target release (default: read from the files, and said)"
    )
    lint.set_defaults(func=_cmd_lint)

    check = commands.add_parser(
        "check", help="run the conformance suites against a target (extra arguments go to pytest)"
    )
    check.add_argument("--target", required=True, help="a running lab's directory or a target file")
    check.add_argument("pytest_args", nargs="*", help="pytest arguments, e.g. -m reads -n auto")
    check.set_defaults(func=_cmd_check)

    run = commands.add_parser(
        "run",
        help="run the suites and write the reports (without --target: on a lab of its own; pytest args after --)",
    )
    run.add_argument("--target", default=None, help="a running lab's directory or a target file (never torn down)")
    run.add_argument(
        "--select", default="all", help="static, reads, creates or all (default), or several: reads,static"
    )
    run.add_argument("--only-sites", default=None, help="only the cases of these sites, e.g. dcn0,dcn1")
    run.add_argument("--report-dir", default="reports", help="where reports/<run id>/ goes (default reports)")
    run.add_argument("-n", dest="workers", default=None, help="pytest-xdist workers, e.g. auto or 2")
    run.add_argument("--keep-lab", action="store_true", help="leave the run's own lab up (only without --target)")
    run.add_argument("--baseline", default=None, help="summary.json of an earlier run: exit 1 only on its regressions")
    run.add_argument("--env-dir", default=None, help="environment files for the static suite (a lab's own by default)")
    run.add_argument(
        "--release",
        choices=RELEASE_NAMES,
        default=None,
        help="release of the own lab (default ussuri) or of --env-dir (default: read from the files)",
    )
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    run.set_defaults(func=_cmd_run)

    target = commands.add_parser("target", help="the target file: check it before a run")
    target_commands = target.add_subparsers(dest="target_command", required=True, parser_class=_Parser)
    target_check = target_commands.add_parser(
        "check", help="validate a target and probe its cloud, nodes and clusters (exit 4 on any problem)"
    )
    target_check.add_argument("file", help="a target file (target.yaml) or a lab directory")
    target_check.set_defaults(func=_cmd_target_check)

    cleanup = commands.add_parser(
        "cleanup", help="remove what killed runs left on the target's cloud (lists the runs without an option)"
    )
    cleanup.add_argument(
        "--target", default=DEFAULT_LAB_DIR, help=f"a lab's directory or a target file (default {DEFAULT_LAB_DIR})"
    )
    which = cleanup.add_mutually_exclusive_group()
    which.add_argument("--run-id", help="remove what this run left (it must not be live)")
    which.add_argument("--stale", action="store_true", help="remove what every run that is no longer live left")
    cleanup.set_defaults(func=_cmd_cleanup)

    lab = commands.add_parser("lab", help="the embedded lab: a real DCN deployment on this machine")
    lab_commands = lab.add_subparsers(dest="lab_command", required=True, parser_class=_Parser)
    up = lab_commands.add_parser("up", help="deploy the lab from generated environment files")
    up.add_argument("--model", help="site model YAML file (default: central + --sites DCN sites)")
    up.add_argument("--sites", type=int, help=f"number of DCN sites, 1 to {MAX_LAB_SITES} (default 2)")
    up.add_argument("--release", choices=RELEASE_NAMES, help="release profile (default ussuri; not with --model)")
    up.add_argument("--key-option", type=int, choices=(1, 2), help="cephx key option (default 2; not with --model)")
    up.add_argument("--fault", action="append", default=[], help="break the lab on purpose (see 'lab faults')")
    up.add_argument(
        "--osd-gib",
        type=int,
        default=DEFAULT_OSD_GIB,
        help=f"size each OSD's sparse backing file may grow to, in GiB (default {DEFAULT_OSD_GIB})",
    )
    up.set_defaults(func=_cmd_lab_up)
    for name, func, text in (
        ("down", _cmd_lab_down, "stop every process the lab started"),
        ("status", _cmd_lab_status, "show the lab's processes and endpoints"),
        ("faults", _cmd_lab_faults, "list the faults 'lab up --fault' can apply"),
    ):
        sub = lab_commands.add_parser(name, help=text)
        sub.set_defaults(func=func)
    for sub in lab_commands.choices.values():
        sub.add_argument("--lab-dir", default=DEFAULT_LAB_DIR, help=f"lab directory (default {DEFAULT_LAB_DIR})")
    return parser


def _split_check_args(argv: list[str]) -> list[str]:
    """Put everything after ``check`` but ``--target`` behind ``--``, so argparse passes it to pytest as is."""
    at = next((index for index, arg in enumerate(argv) if not arg.startswith("-")), None)
    if at is None or argv[at] != "check":
        return argv
    ours, rest = argv[: at + 1], argv[at + 1 :]
    passed: list[str] = []
    index = 0
    while index < len(rest):
        arg = rest[index]
        if arg == "--target" and index + 1 < len(rest):
            ours += rest[index : index + 2]
            index += 2
            continue
        if arg.startswith("--target="):
            ours.append(arg)
        elif arg != "--":
            passed.append(arg)
        index += 1
    return [*ours, "--", *passed]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    arguments = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in arguments
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(_split_check_args(arguments))
        code: int = args.func(args)
        return code
    except DcnChecksError as err:
        if debug:
            log.exception("failed")
        print(f"dcn-checks: {clip(str(err), MAX_ERROR_LINE)}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        # The reader of our output went away (``| head``); that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("dcn-checks: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        # The last guard: a bug of ours is exit 3 with the traceback in a file, never a traceback with exit 1.
        if debug:
            log.exception("internal error")
        path = write_debug_log(traceback.format_exc(), ["dcn-checks", *arguments])
        print(internal_error_line(err, path), file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
