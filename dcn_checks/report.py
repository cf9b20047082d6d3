"""The reports of a run, all built from one ``RunSummary``: the JSON summary, the self-contained HTML
compliance report, the allure HTML report, and the closing table on the terminal.

JUnit XML and allure results are written during the run by pytest and allure-pytest; this module
adds what needs the whole run: fix snippets for failures (rendered by the generator from the site
model, keys as placeholders), the deployment summary, what changed since a baseline.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dcn_checks import results
from dcn_checks.evidence import mask_secrets
from dcn_checks.results import (
    FAIL,
    CaseResult,
    DeploymentSummary,
    RunSummary,
    SiteSummary,
)

if TYPE_CHECKING:
    from dcn_checks.model import SiteModel
    from dcn_checks.runcmd import RunPaths

#: Allure 3 from the npm registry (ecosystem-notes §2b), installed by ``make report-deps`` here.
ALLURE_DIR = Path(os.environ.get("DCN_CHECKS_ALLURE_DIR", Path.home() / ".cache" / "dcn-checks" / "allure"))
ALLURE_VERSION = "3.18.0"
ALLURE_TIMEOUT_S = 120


def deployment_summary(model: SiteModel) -> DeploymentSummary:
    """The deployment as the report shows it (no secret is part of the model)."""
    return DeploymentSummary(
        release=model.release,
        key_option=model.key_option,
        client_user=model.client_user,
        sites=tuple(
            SiteSummary(
                name=site.name,
                role="central" if site.is_central else "dcn",
                stack=site.stack,
                cluster=site.cluster,
                fsid=site.fsid or "",
                store_id=site.store_id,
                availability_zone=site.az,
                mons=tuple(site.mons),
            )
            for site in model.sites
        ),
    )


def with_fixes(cases: Sequence[CaseResult], model: SiteModel | None) -> tuple[CaseResult, ...]:
    """Each failed case with the environment-file change that fixes it at its site, where there is one."""
    if model is None:
        return tuple(cases)
    from dcn_checks.fixes import fix_snippet
    from dcn_checks.requirements import CHECKS

    snippets: dict[tuple[str, str], str] = {}
    fixed = []
    for case in cases:
        spec = CHECKS.get(case.check_id)
        if case.verdict != FAIL or spec is None:
            fixed.append(case)
            continue
        key = (case.check_id, case.site)
        if key not in snippets:
            snippets[key] = mask_secrets(fix_snippet(spec, case.site, model))
        fixed.append(replace(case, fix=snippets[key]))
    return tuple(fixed)


def build_summary(
    *,
    run_id: str,
    started: float,
    target: str,
    selection: tuple[str, ...],
    cases: Sequence[CaseResult],
    model: SiteModel | None,
    pytest_code: int,
    baseline: RunSummary | None,
    baseline_path: str,
) -> RunSummary:
    """The run's summary; its exit code is pytest's until ``dcn-checks run`` applies the gate."""
    finished = datetime.datetime.now(datetime.UTC)
    summary = RunSummary(
        run_id=run_id,
        started=datetime.datetime.fromtimestamp(started, datetime.UTC).isoformat(timespec="seconds"),
        finished=finished.isoformat(timespec="seconds"),
        duration_s=round(finished.timestamp() - started, 1),
        exit_code=pytest_code,
        target=target,
        selection=selection,
        deployment=deployment_summary(model) if model is not None else None,
        cases=with_fixes(cases, model),
        baseline=baseline_path,
        tool_version=_tool_version(),
    )
    if baseline is not None:
        summary = replace(summary, changes=results.compare(baseline, summary))
    return summary


def _tool_version() -> str:
    try:
        return version("dcn-checks")
    except PackageNotFoundError:
        return "unknown"


def write_all(summary: RunSummary, paths: RunPaths) -> RunSummary:
    """Write the allure HTML report, the JSON summary and the HTML report; return the summary as written,
    with a note on what could not be built (no allure CLI), which ``print_closing`` shows too."""
    results.write_summary(summary, paths.summary)  # first: an interrupt during allure's build loses nothing
    paths.html.write_text(render_html(summary), encoding="utf-8")
    allure_note = build_allure_report(paths.allure_results, paths.allure_report)
    if allure_note:
        summary = replace(summary, notes=(*summary.notes, allure_note))
        results.write_summary(summary, paths.summary)
        paths.html.write_text(render_html(summary), encoding="utf-8")
    return summary


def render_html(summary: RunSummary) -> str:
    """The self-contained compliance report: one HTML file with inline CSS, no script, no fetches."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("dcn_checks", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    failed = summary.failed()
    return template.render(
        summary=summary,
        counts=summary.counts(),
        matrix=results.matrix(summary),
        sites=summary.sites(),
        failed=failed,
        verdicts=results.VERDICTS,
        css_class=_css_class,
        cell_id=_cell_id,
    )


def _css_class(verdict: str) -> str:
    return {"n/a": "na", "not run": "notrun"}.get(verdict, verdict)


def _cell_id(requirement: str, site: str) -> str:
    return "cell-" + "".join(char if char.isalnum() else "-" for char in f"{requirement}-{site}")


def allure_cli() -> Path | None:
    """The allure 3 CLI ``make report-deps`` installed, or None."""
    cli = ALLURE_DIR / "node_modules" / "allure" / "cli.js"
    return cli if cli.exists() and shutil.which("node") else None


def build_allure_report(results_dir: Path, out_dir: Path) -> str:
    """Render allure's single-file HTML report from the run's allure results; return a note on failure."""
    cli = allure_cli()
    if cli is None:
        return f"allure HTML report not built: no allure CLI in {ALLURE_DIR} ('make report-deps' installs it)"
    if not results_dir.is_dir():
        return "allure HTML report not built: the run wrote no allure results"
    config = results_dir.parent / ".allurerc.mjs"
    options = "plugins: { awesome: { options: { singleFile: true } } }"
    config.write_text(
        f"export default {{ name: 'dcn-checks', output: {_js_string(str(out_dir))}, {options} }};\n", encoding="utf-8"
    )
    node = shutil.which("node") or "node"
    try:
        done = subprocess.run(
            [node, str(cli), "generate", str(results_dir), "--config", str(config)],
            capture_output=True, text=True, timeout=ALLURE_TIMEOUT_S, cwd=results_dir.parent,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"allure HTML report not built: allure generate took over {ALLURE_TIMEOUT_S} s"
    finally:
        config.unlink(missing_ok=True)
    if done.returncode != 0 or not (out_dir / "index.html").exists():
        said = (done.stderr or done.stdout).strip().splitlines()
        return f"allure HTML report not built: allure generate exited {done.returncode}: {said[-1] if said else ''}"
    return ""


def _js_string(text: str) -> str:
    import json

    return json.dumps(text)


def print_closing(summary: RunSummary, paths: RunPaths, out: TextIO) -> None:
    """The closing summary: sites x verdicts, every failed case in one line, what changed, where the reports are.
    The HTML report is named on the last line, where a user and a CI log look first."""
    counts_by_site: dict[str, dict[str, int]] = {}
    for case in summary.cases:
        counts_by_site.setdefault(case.site, dict.fromkeys(results.VERDICTS, 0))[case.verdict] += 1
    shown_verdicts = [verdict for verdict in results.VERDICTS if summary.counts()[verdict]]
    width = max([len(site) for site in counts_by_site] + [len("site")])
    out.write("\n" + f"{'site':<{width}}  " + "  ".join(f"{v:>7}" for v in shown_verdicts) + "\n")
    for site in [*summary.sites()]:
        if site in counts_by_site:
            row = counts_by_site[site]
            out.write(f"{site:<{width}}  " + "  ".join(f"{row[v]:>7}" for v in shown_verdicts) + "\n")
    failed = summary.failed()
    if failed:
        out.write(f"\n{len(failed)} case(s) failed:\n")
        for case in failed:
            out.write(f"  {case.verdict.upper():5} {case.key}: {case.message}\n")
    if summary.baseline:
        regressions = [change for change in summary.changes if change.regression]
        out.write(
            f"\nsince the baseline {summary.baseline}: {len(summary.changes)} case(s) changed, "
            f"{len(regressions)} regression(s)\n"
        )
        for change in regressions:
            out.write(f"  {change.key}: {change.before} -> {change.after}\n")
    for note in summary.notes:
        out.write(f"note: {note}\n")
    counts = summary.counts()
    out.write(
        f"\nrun {summary.run_id}: "
        + ", ".join(f"{counts[v]} {v}" for v in results.VERDICTS if counts[v])
        + f" in {summary.duration_s:.0f} s; exit {summary.exit_code}\n"
    )
    out.write(f"JUnit XML:      {paths.junit}\n")
    out.write(f"JSON summary:   {paths.summary}\n")
    out.write(f"allure results: {paths.allure_results}\n")
    if (paths.allure_report / "index.html").exists():
        out.write(f"allure report:  {paths.allure_report / 'index.html'}\n")
    out.write(f"HTML report:    {paths.html}\n")
    out.flush()
