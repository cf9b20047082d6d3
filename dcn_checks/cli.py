"""The ``dcn-checks`` command line: one entry point, one error line, pytest's exit codes.

Every ``DcnChecksError`` is printed as ``dcn-checks: <message>`` on stderr and exits with its code;
a traceback appears only with ``--debug``. Usage errors exit 4 (bad input), not argparse's 2,
because 2 means "interrupted" in our exit codes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from dcn_checks.errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, BadInputError, DcnChecksError
from dcn_checks.release import RELEASE_NAMES

log = logging.getLogger("dcn_checks")


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

    findings = lint_directory(Path(args.directory), args.release)
    for finding in findings:
        print(finding.line())
    if findings:
        print(f"{len(findings)} problem(s) found in {args.directory}", file=sys.stderr)
        return EXIT_FINDINGS
    print(f"{args.directory}: no problems found for release {args.release}", file=sys.stderr)
    return EXIT_OK


DEFAULT_LAB_DIR = ".lab/default"


def _lab_model(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from dcn_checks.model import load_model, model_with_sites

    if args.model:
        return load_model(args.model)
    return model_with_sites(args.sites, release=args.release, key_option=args.key_option)


def _cmd_lab_up(args: argparse.Namespace) -> int:
    from dcn_checks.lab import deploy
    from dcn_checks.lab.faults import get_faults
    from dcn_checks.lab.install import ensure_lab_deps

    lab_dir = Path(args.lab_dir).resolve()
    if deploy.is_up(lab_dir):
        print(f"dcn-checks: a lab is already up in {lab_dir} ('dcn-checks lab down' stops it)", file=sys.stderr)
        return EXIT_OK
    model = _lab_model(args)
    faults = get_faults(args.fault, model)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[lab {time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    progress("checking the lab's packages and OpenStack venv")
    venv = ensure_lab_deps().venv
    info = deploy.up(lab_dir, model, faults, venv=venv, progress=progress)
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
    stopped = deploy.down(lab_dir)
    print(f"stopped {stopped} lab process(es) in {lab_dir}", file=sys.stderr)
    return EXIT_OK


def _cmd_lab_status(args: argparse.Namespace) -> int:
    from dcn_checks.lab import deploy

    lab_dir = Path(args.lab_dir).resolve()
    rows = deploy.status(lab_dir)
    if not rows:
        print(f"no lab in {lab_dir}")
        return EXIT_OK
    for name, pid, running in rows:
        print(f"{name:40} {pid:>8} {'running' if running else 'gone'}")
    info = deploy.read_lab_info(lab_dir)
    if info is not None:
        for endpoint in info.glance:
            print(f"glance {endpoint.site}/{endpoint.service}: {endpoint.url} on {endpoint.node}")
    return EXIT_OK if all(running for _, _, running in rows) else EXIT_FINDINGS


def _cmd_lab_faults(args: argparse.Namespace) -> int:
    from dcn_checks.lab.faults import FAULTS

    for fault in FAULTS:
        print(f"{fault.name:28} {fault.summary} [{', '.join(fault.requirements)}]")
    return EXIT_OK


SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"


def _cmd_check(args: argparse.Namespace) -> int:
    """Run the suites against a target with pytest; the exit code is pytest's (1: a check failed)."""
    import pytest

    from dcn_checks.target import load_target

    load_target(Path(args.target))  # one line and exit 4 before pytest starts, for a bad target
    pytest_args = [a for a in args.pytest_args if a != "--"]
    paths = [a for a in pytest_args if not a.startswith("-") and Path(a.split("::")[0]).exists()]
    return int(pytest.main([*([] if paths else [str(SUITES_DIR)]), "--target", args.target, *pytest_args]))


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
    lint.add_argument("--release", required=True, choices=RELEASE_NAMES, help="target release")
    lint.set_defaults(func=_cmd_lint)

    check = commands.add_parser(
        "check", help="run the conformance suites against a target (extra arguments go to pytest)"
    )
    check.add_argument("--target", required=True, help="a running lab's directory or a target file")
    check.add_argument("pytest_args", nargs="*", help="pytest arguments, e.g. -m reads -n auto")
    check.set_defaults(func=_cmd_check)

    lab = commands.add_parser("lab", help="the embedded lab: a real DCN deployment on this machine")
    lab_commands = lab.add_subparsers(dest="lab_command", required=True, parser_class=_Parser)
    up = lab_commands.add_parser("up", help="deploy the lab from generated environment files")
    source = up.add_mutually_exclusive_group()
    source.add_argument("--model", help="site model YAML file (default: central + --sites DCN sites)")
    source.add_argument("--sites", type=int, default=2, help="number of DCN sites (default 2)")
    up.add_argument("--release", default="ussuri", choices=RELEASE_NAMES, help="release profile (with --sites)")
    up.add_argument("--key-option", type=int, default=2, choices=(1, 2), help="cephx key option (with --sites)")
    up.add_argument("--fault", action="append", default=[], help="break the lab on purpose (see 'lab faults')")
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
    if "check" not in argv:
        return argv
    at = argv.index("check")
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
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(_split_check_args(list(argv if argv is not None else sys.argv[1:])))
        code: int = args.func(args)
        return code
    except DcnChecksError as err:
        if debug:
            log.exception("failed")
        print(f"dcn-checks: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        # The reader of our output went away (``| head``); that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("dcn-checks: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
