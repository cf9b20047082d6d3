"""``dcn-checks run``: one command for acceptance, CI gating and the auditor's report.

Without ``--target`` it brings up its own lab (the sample deployment: central and two DCN sites,
deployed from generated files), runs the static, read-only and functional suites in one pytest
session, writes every report, and brings its lab down (``--keep-lab`` keeps it). With ``--target``
it uses that lab or cloud and never tears anything down.

Exit codes, one meaning each: 0 conformant, 1 a check found the deployment wrong (with
``--baseline``: a check that passed in the baseline now fails), 2 interrupted, 3 internal error, 4
bad input or unreachable target, 5 nothing selected. Local inputs (options, the baseline, the report
directory) are judged before anything slow or remote.
"""

from __future__ import annotations

import argparse
import datetime
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dcn_checks import results
from dcn_checks.errors import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOTHING_SELECTED,
    EXIT_OK,
    BadInputError,
)
from dcn_checks.inputs import shown

if TYPE_CHECKING:
    from dcn_checks.model import SiteModel

SELECTIONS = {"static": ("static",), "reads": ("reads",), "creates": ("creates",), "all": results.SUITES}
LATEST = "latest"
#: The lab ``run`` brings up itself: the sample deployment, with OSD files sized for the functional flows.
OWN_LAB_OSD_GIB = 6


@dataclass(frozen=True, slots=True)
class RunPaths:
    """Where one run writes: ``reports/<run id>/`` and what is in it."""

    run_dir: Path

    @property
    def summary(self) -> Path:
        return self.run_dir / "summary.json"

    @property
    def junit(self) -> Path:
        return self.run_dir / "junit.xml"

    @property
    def allure_results(self) -> Path:
        return self.run_dir / "allure-results"

    @property
    def allure_report(self) -> Path:
        return self.run_dir / "allure-report"

    @property
    def html(self) -> Path:
        return self.run_dir / "report.html"

    @property
    def collected(self) -> Path:
        return self.run_dir / ".collected.json"


def parse_selection(value: str) -> tuple[str, ...]:
    """``--select``: static, reads, creates or all, or several joined by commas."""
    chosen: list[str] = []
    for part in (item.strip() for item in value.split(",")):
        if part not in SELECTIONS:
            raise BadInputError(f"run: --select: {shown(part)} is not one of {', '.join(SELECTIONS)}")
        chosen += [suite for suite in SELECTIONS[part] if suite not in chosen]
    return tuple(suite for suite in results.SUITES if suite in chosen)


def new_run_id(now: datetime.datetime | None = None) -> str:
    """A report directory's name: UTC time to the second, then 4 random hex digits (two runs in one second)."""
    moment = now or datetime.datetime.now(datetime.UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def prepare_report_dir(report_dir: Path, run_id: str) -> RunPaths:
    """Make ``<report_dir>/<run id>/``; a report directory that cannot be written is bad input, now."""
    from dcn_checks.plugin import find_unwritable

    problem = find_unwritable(report_dir, is_dir=True)
    if problem is not None:
        raise BadInputError(f"run: --report-dir {shown(str(report_dir))}: {problem}")
    run_dir = report_dir / run_id
    run_dir.mkdir(parents=True)
    return RunPaths(run_dir)


def point_latest(report_dir: Path, run_dir: Path) -> None:
    """Point ``<report_dir>/latest`` at the run; only ever a link we made (a real directory is left alone)."""
    link = report_dir / LATEST
    if link.exists() and not link.is_symlink():
        return
    temporary = report_dir / f".{LATEST}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(run_dir.name)
    temporary.replace(link)


def final_exit_code(pytest_code: int, interrupted: bool, gated: int) -> int:
    """The run's exit code from pytest's, whether Ctrl-C or SIGTERM came, and the gated failures.

    pytest's 2 also means "errors during collection", which is a bug of ours or a bad suite path,
    never an interrupt; an ``error`` verdict beside failures is 3 or 4 already (the plugin's judgement).
    """
    if pytest_code == EXIT_FINDINGS:
        return EXIT_FINDINGS if gated else EXIT_OK
    if pytest_code == EXIT_INTERRUPTED:
        return EXIT_INTERRUPTED if interrupted else EXIT_INTERNAL
    if pytest_code in (EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NOTHING_SELECTED):
        return pytest_code
    return EXIT_INTERNAL


def command(args: argparse.Namespace) -> int:
    """Run the suites and write the reports; see the module's docstring for what and the exit codes."""
    from dcn_checks import report
    from dcn_checks.run import interrupt_on_sigterm

    interrupt_on_sigterm()  # a cancelled CI job: the own lab still comes down, the reports are still written
    selection = parse_selection(args.select)
    baseline = results.load_summary(Path(args.baseline)) if args.baseline else None
    only_sites = tuple(site for site in (args.only_sites or "").split(",") if site)
    report_dir = Path(args.report_dir)
    if args.target is not None and args.keep_lab:
        raise BadInputError("run: --keep-lab goes only without --target (a given target is never torn down)")
    if args.target is not None:
        from dcn_checks.target import load_target

        load_target(Path(args.target))  # one line and exit 4 before anything else, for a bad target
    run_id = new_run_id()
    paths = prepare_report_dir(report_dir, run_id)
    started = time.time()
    lab_dir: Path | None = None
    try:
        if args.target is None:
            lab_dir = _own_lab_up(args.release or "ussuri")
            target_path = lab_dir
        else:
            target_path = Path(args.target)
        model = _model_of(target_path)
        env_dir, release = _static_inputs(target_path, args)
        pytest_code, cases, interrupted = _run_pytest(target_path, env_dir, release, selection, only_sites, args, paths)
    finally:
        if lab_dir is not None and not args.keep_lab:
            _own_lab_down(lab_dir)
    summary = report.build_summary(
        run_id=run_id,
        started=started,
        target=str(target_path if args.target is not None else f"own lab ({lab_dir})"),
        selection=selection,
        cases=cases,
        model=model,
        pytest_code=pytest_code,
        baseline=baseline,
        baseline_path=args.baseline or "",
    )
    code = final_exit_code(pytest_code, interrupted, results.gated_failures(summary, summary.changes, baseline))
    summary = replace(summary, exit_code=code)
    summary = report.write_all(summary, paths)
    point_latest(report_dir, paths.run_dir)
    if lab_dir is not None and args.keep_lab:
        print(f"the lab stays up in {lab_dir} ('dcn-checks lab down --lab-dir {lab_dir}' ends it)")
    report.print_closing(summary, paths, sys.stdout)
    return code


def _own_lab_up(release: str) -> Path:
    """Bring up the sample deployment in a fresh directory under ``.lab/`` (ours to remove afterwards)."""
    from dcn_checks.lab import deploy
    from dcn_checks.lab.capacity import GIB, check_disk_space
    from dcn_checks.lab.install import ensure_lab_deps
    from dcn_checks.model import model_with_sites

    model = model_with_sites(2, release=release)
    base = Path(".lab")
    base.mkdir(exist_ok=True)
    check_disk_space(base, len(model.sites), OWN_LAB_OSD_GIB * GIB)
    lab_dir = Path(tempfile.mkdtemp(prefix="run-", dir=base)).resolve()
    lab_dir.chmod(0o755)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[lab {time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    progress(f"bringing up the sample deployment ({release}, central + 2 DCN sites) in {lab_dir}")
    try:
        deploy.up(lab_dir, model, venv=ensure_lab_deps().venv, progress=progress, osd_bytes=OWN_LAB_OSD_GIB * GIB)
    except BaseException:
        _own_lab_down(lab_dir)
        raise
    return lab_dir


def _own_lab_down(lab_dir: Path) -> None:
    """Stop the lab ``run`` brought up (by PID) and remove its directory, which ``run`` made."""
    from dcn_checks.lab import deploy

    stopped = deploy.down(lab_dir)
    shutil.rmtree(lab_dir, ignore_errors=True)
    print(f"lab down: stopped {stopped} process(es), removed {lab_dir}", file=sys.stderr)


def _static_inputs(target: Path, args: argparse.Namespace) -> tuple[Path | None, str | None]:
    """The environment directory and release the static suite reads: given, or the lab's own."""
    from dcn_checks.lab import deploy

    if args.env_dir:
        if args.release is not None:
            return Path(args.env_dir), args.release
        from dcn_checks.lint.era import detect_release_of

        return Path(args.env_dir), detect_release_of(Path(args.env_dir)).release
    info = deploy.read_lab_info(target) if target.is_dir() else None
    if info is not None:
        return info.env_dir, info.release
    return None, None


def _model_of(target: Path) -> SiteModel:
    from dcn_checks.target import load_target

    return load_target(target).model


def _run_pytest(
    target: Path,
    env_dir: Path | None,
    release: str | None,
    selection: tuple[str, ...],
    only_sites: tuple[str, ...],
    args: argparse.Namespace,
    paths: RunPaths,
) -> tuple[int, tuple[results.CaseResult, ...], bool]:
    """One pytest session over every suite; returns pytest's exit code, every case's result, and whether
    the session was interrupted (Ctrl-C or SIGTERM)."""
    from dcn_checks.cli import run_suites
    from dcn_checks.collect import ResultCollector, read_collected
    from dcn_checks.progress import Progress

    argv = [
        "--target", str(target),
        "--select-suites", ",".join(selection),
        "--junitxml", str(paths.junit),
        "--alluredir", str(paths.allure_results),
        "--collected-json", str(paths.collected),
        "-p", "no:terminal",
        "-o", "junit_suite_name=dcn-checks",
    ]  # fmt: skip
    if env_dir is not None:
        argv += ["--env-dir", str(env_dir), "--release", str(release)]
    if only_sites:
        argv += ["--only-sites", ",".join(only_sites)]
    if args.workers is not None:
        argv += ["-n", args.workers]
    collector = ResultCollector()
    progress = Progress(sys.stderr)
    try:
        code = run_suites([*argv, *args.pytest_args], plugins=[collector, progress])
    finally:
        progress.finish()
    return code, collector.results(read_collected(paths.collected)), collector.interrupted
