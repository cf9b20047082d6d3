"""A run's results: one record per check case, the run's metadata, and what changed since a baseline.

The JSON summary written from these records is the one source every report is built from (the HTML
compliance report, the closing table, the ``--baseline`` gate); JUnit and allure are written by
pytest and allure-pytest from the same test reports, and a test compares them case by case.

Verdicts, worst first: ``fail`` (the deployment is wrong), ``error`` (we could not judge: a bug of
ours or an unreachable host), ``info`` (an informational check recorded what the cloud did),
``pass``, ``n/a`` (skipped: not applicable to this deployment, with the reason), ``not run`` (not
selected, or the run ended before it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from dcn_checks.errors import InputFileError
from dcn_checks.inputs import shown

SCHEMA = "dcn-checks/run-summary/1"
FAIL, ERROR, INFO, PASS, NOT_APPLICABLE, NOT_RUN = "fail", "error", "info", "pass", "n/a", "not run"
VERDICTS = (FAIL, ERROR, INFO, PASS, NOT_APPLICABLE, NOT_RUN)  # worst first
SUITES = ("static", "reads", "creates")


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One check case: what it proves where, its verdict, and the words an operator needs."""

    nodeid: str
    check_id: str
    title: str
    requirements: tuple[str, ...]
    suite: str  # static | reads | creates
    site: str  # a site's name, or "deployment" for a case about no single site
    case: str  # the parametrized case's ID ("" for an unparametrized check)
    verdict: str
    message: str = ""  # the one-line failure, skip reason or informational outcome
    evidence: str = ""  # masked
    remediation: str = ""
    fix: str = ""  # the environment-file change that fixes a failure, with keys as placeholders
    duration_s: float = 0.0

    @property
    def key(self) -> str:
        """What identifies the case across runs (the baseline compares by it): check ID and case."""
        return f"{self.check_id}[{self.case}]" if self.case else self.check_id


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """One site of the deployment as the report shows it."""

    name: str
    role: str  # central | dcn
    stack: str
    cluster: str
    fsid: str
    store_id: str
    availability_zone: str
    mons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeploymentSummary:
    """What was checked: the sites, the release profile and the cephx key option."""

    release: str
    key_option: int
    client_user: str
    sites: tuple[SiteSummary, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """A case whose verdict differs from the baseline's (``before`` is ``not run`` for a new case)."""

    key: str
    site: str
    before: str
    after: str

    @property
    def regression(self) -> bool:
        """A case that passed (or was informational) in the baseline and now fails or cannot be judged."""
        return self.before in (PASS, INFO) and self.after in (FAIL, ERROR)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A whole run; ``exit_code`` is the run's, after any ``--baseline`` gate."""

    run_id: str
    started: str
    finished: str
    duration_s: float
    exit_code: int
    target: str
    selection: tuple[str, ...]
    deployment: DeploymentSummary | None
    cases: tuple[CaseResult, ...]
    baseline: str = ""  # the baseline summary's path
    changes: tuple[Change, ...] = ()
    tool_version: str = ""
    notes: tuple[str, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        """Cases per verdict, every verdict present (0 where none)."""
        counted = dict.fromkeys(VERDICTS, 0)
        for case in self.cases:
            counted[case.verdict] += 1
        return counted

    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(case for case in self.cases if case.verdict in (FAIL, ERROR))

    def sites(self) -> tuple[str, ...]:
        """The matrix's columns: the deployment's sites in model order, then any other case site."""
        names = [site.name for site in self.deployment.sites] if self.deployment else []
        for case in self.cases:
            if case.site not in names:
                names.append(case.site)
        return tuple(names)


def worst(verdicts: Iterable[str]) -> str:
    """The worst of ``verdicts`` (a cell of the matrix); ``n/a`` when there are none."""
    present = set(verdicts)
    return next((verdict for verdict in VERDICTS if verdict in present), NOT_APPLICABLE)


def matrix(summary: RunSummary) -> list[tuple[str, dict[str, tuple[str, tuple[CaseResult, ...]]]]]:
    """Requirement x site: per requirement (in R order) and site, the cell's verdict and its cases.

    A site without a case of the requirement is ``n/a``: no check of it applies there (a DCN-only
    requirement at central). A case that was not selected or not reached is ``not run``.
    """
    cells: dict[str, dict[str, list[CaseResult]]] = {}
    for case in summary.cases:
        for requirement in case.requirements:
            cells.setdefault(requirement, {}).setdefault(case.site, []).append(case)
    rows = []
    for requirement in sorted(cells, key=_requirement_order):
        row = {}
        for site in summary.sites():
            cases = tuple(cells[requirement].get(site, ()))
            row[site] = (worst(case.verdict for case in cases), cases)
        rows.append((requirement, row))
    return rows


def _requirement_order(requirement: str) -> tuple[int, str]:
    digits = requirement.lstrip("R")
    return (int(digits), requirement) if digits.isdigit() else (10**6, requirement)


def compare(baseline: RunSummary, current: RunSummary) -> tuple[Change, ...]:
    """Every case whose verdict changed since the baseline, keyed by check ID and case."""
    before = {case.key: case for case in baseline.cases}
    changes = []
    for case in current.cases:
        old = before.pop(case.key, None)
        was = old.verdict if old is not None else NOT_RUN
        if was != case.verdict:
            changes.append(Change(case.key, case.site, was, case.verdict))
    changes += [Change(key, case.site, case.verdict, NOT_RUN) for key, case in before.items()]
    return tuple(changes)


def gated_failures(current: RunSummary, changes: Sequence[Change], baseline: RunSummary | None) -> int:
    """How many failures count toward exit 1: all of them, or with a baseline only its regressions.

    A case that failed in the baseline too, or that is new since, does not fail the gate: the gate
    answers "did this change break something that worked?".
    """
    if baseline is None:
        return sum(1 for case in current.cases if case.verdict == FAIL)
    return sum(1 for change in changes if change.regression and change.after == FAIL)


def to_json(summary: RunSummary) -> str:
    """The summary as JSON (stable key order, one file per run)."""
    return json.dumps({"schema": SCHEMA, **asdict(summary)}, indent=1, sort_keys=False) + "\n"


def write_summary(summary: RunSummary, path: Path) -> None:
    """Write the JSON summary atomically, so a reader never sees half of it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(to_json(summary), encoding="utf-8")
    temporary.replace(path)


def load_summary(path: Path) -> RunSummary:
    """Read a JSON summary (a ``--baseline``); a file that is not one is bad input, named in one line."""
    source = shown(str(path))
    what = "not a dcn-checks run summary"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(source, "", "no such file (give the summary.json of an earlier run)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputFileError(source, "", f"{what} ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise InputFileError(source, "schema", f"{what} (its schema is not {SCHEMA})")
    try:
        return _summary_from(data)
    except (KeyError, TypeError, ValueError) as err:
        raise InputFileError(source, "", f"{what} ({type(err).__name__}: {err})") from None


def _summary_from(data: Mapping[str, Any]) -> RunSummary:
    deployment = data["deployment"]
    return RunSummary(
        **{
            **_plain(RunSummary, data),
            "selection": tuple(data["selection"]),
            "deployment": None
            if deployment is None
            else DeploymentSummary(
                **{
                    **_plain(DeploymentSummary, deployment),
                    "sites": tuple(
                        SiteSummary(**{**_plain(SiteSummary, site), "mons": tuple(site["mons"])})
                        for site in deployment["sites"]
                    ),
                }
            ),
            "cases": tuple(
                CaseResult(**{**_plain(CaseResult, case), "requirements": tuple(case["requirements"])})
                for case in data["cases"]
            ),
            "changes": tuple(Change(**_plain(Change, change)) for change in data.get("changes", ())),
            "notes": tuple(data.get("notes", ())),
        }
    )


def _plain(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``cls`` that ``data`` has, and an error for a verdict no run writes."""
    values = {item.name: data[item.name] for item in fields(cls) if item.name in data}
    verdict = values.get("verdict")
    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    return values
