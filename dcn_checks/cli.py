"""The ``dcn-checks`` command line: one entry point, one error line, pytest's exit codes.

Every ``DcnChecksError`` is printed as ``dcn-checks: <message>`` on stderr and exits with its code;
a traceback appears only with ``--debug``. Usage errors exit 4 (bad input), not argparse's 2,
because 2 means "interrupted" in our exit codes.
"""

from __future__ import annotations

import argparse
import logging
import sys
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
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
