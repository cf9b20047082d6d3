"""Turn pytest's test reports into the run's case results (``dcn_checks.results``).

Two halves, because under xdist no single process sees both: the processes that collect (the
workers, or the only process) describe every collected case, selected or not, into a file; the
controller, which receives every test report, folds each case's setup, call and teardown into one
verdict. ``dcn-checks run`` joins the two: a collected case without a report was not run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from dcn_checks.evidence import mask_secrets
from dcn_checks.inputs import clip
from dcn_checks.requirements import CHECKS
from dcn_checks.results import ERROR, FAIL, INFO, NOT_APPLICABLE, NOT_RUN, PASS, SUITES, CaseResult

MAX_MESSAGE = 600
EVIDENCE_SECTION = "evidence"
UNLISTED: dict[str, Any] = {"requirements": [], "suite": "", "site": "deployment", "case": ""}


def describe_item(item: pytest.Item, site: str | None) -> dict[str, Any]:
    """What the report needs of a collected case before it runs (JSON-ready)."""
    marker = item.get_closest_marker("check")
    check_id = str(marker.args[0]) if marker is not None and marker.args else ""
    spec = CHECKS.get(check_id)
    callspec = getattr(item, "callspec", None)
    case = callspec.id if callspec is not None else ""
    parts = Path(str(item.path)).parts
    suite = next((part for part in reversed(parts) if part in SUITES), "")
    return {
        "nodeid": item.nodeid,
        "check_id": check_id,
        "title": spec.title if spec else item.name,
        "requirements": list(spec.requirements) if spec else [],
        "suite": suite,
        "site": site or case or "deployment",
        "case": case,
    }


def write_collected(path: Path, items: Sequence[dict[str, Any]]) -> None:
    """Write the collected cases; every xdist worker writes the same list, each atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(list(items)), encoding="utf-8")
    temporary.replace(path)


def read_collected(path: Path) -> list[dict[str, Any]]:
    """The collected cases, or none when collection never finished (a usage error, an interrupt)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return data if isinstance(data, list) else []


def outcome_message(error: BaseException) -> str:
    """The one line a failed, skipped or errored case reports: a verdict's first line, a skip's reason, or
    the error's type and words (masked, clipped: the message goes into every report)."""
    if isinstance(error, pytest.skip.Exception | pytest.fail.Exception):
        text = error.msg or ""
    elif isinstance(error, AssertionError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return clip(mask_secrets(first), MAX_MESSAGE)


@dataclass(slots=True)
class _Folding:
    """The phases of one case seen so far."""

    verdict: str = PASS
    message: str = ""
    evidence: str = ""
    duration_s: float = 0.0
    properties: dict[str, str] = field(default_factory=dict)
    seen_setup: bool = False


class ResultCollector:
    """A pytest plugin of the controller: every case's verdict, message, evidence and duration."""

    def __init__(self) -> None:
        self._cases: dict[str, _Folding] = {}
        self.collection_errors: list[str] = []
        self.interrupted = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup" and report.nodeid in self._cases and self._cases[report.nodeid].seen_setup:
            # xdist runs a case again after its worker crashed: the new run is the case's result.
            del self._cases[report.nodeid]
        folding = self._cases.setdefault(report.nodeid, _Folding())
        folding.seen_setup |= report.when == "setup"
        folding.duration_s += report.duration
        folding.properties.update({str(name): str(value) for name, value in report.user_properties})
        for title, text in report.sections:
            if title == EVIDENCE_SECTION:
                folding.evidence = mask_secrets(text)
        verdict = _phase_verdict(report)
        if verdict is None or _rank(verdict) >= _rank(folding.verdict):
            return
        folding.verdict = verdict
        folding.message = getattr(report, "dcn_message", "") or _longrepr_line(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that cannot be collected (an import error in a suite) is an error case of its own."""
        if report.failed:
            folding = self._cases.setdefault(report.nodeid or "<collection>", _Folding())
            folding.verdict = ERROR
            folding.message = _longrepr_line(report)
            self.collection_errors.append(report.nodeid)

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True

    def results(self, collected: Iterable[dict[str, Any]]) -> tuple[CaseResult, ...]:
        """The collected cases in collection order, each with its verdict (``not run`` without a report),
        then any reported case the collection did not list (it cannot happen, but nothing is dropped)."""
        seen = set()
        results = []
        for described in collected:
            seen.add(described["nodeid"])
            results.append(self._result(described))
        for nodeid, folding in self._cases.items():
            if nodeid not in seen:
                check_id = folding.properties.get("check_id", "")
                described = dict(UNLISTED, nodeid=nodeid, check_id=check_id, title=nodeid)
                results.append(self._result(described))
        return tuple(results)

    def _result(self, described: dict[str, Any]) -> CaseResult:
        folding = self._cases.get(described["nodeid"])
        base = CaseResult(
            nodeid=described["nodeid"],
            check_id=described["check_id"],
            title=described["title"],
            requirements=tuple(described["requirements"]),
            suite=described["suite"],
            site=described["site"],
            case=described["case"],
            verdict=NOT_RUN,
        )
        spec = CHECKS.get(base.check_id)
        if folding is None:
            return base
        verdict, message = folding.verdict, folding.message
        if verdict == PASS and folding.properties.get("outcome") == INFO:
            verdict, message = INFO, clip(mask_secrets(folding.properties.get("info", "")), MAX_MESSAGE)
        return replace(
            base,
            site=folding.properties.get("site", base.site),
            verdict=verdict,
            message=message,
            evidence=folding.evidence,
            remediation=spec.remediation if spec and verdict in (FAIL, ERROR) else "",
            duration_s=round(folding.duration_s, 3),
        )


#: Which phase's verdict a case keeps: an error (we could not judge) over a failure, so a teardown's
#: assertion never hides the setup's unreachable host; the run's exit code says "not judged" too.
_ORDER = (ERROR, FAIL, NOT_APPLICABLE, PASS)


def _rank(verdict: str) -> int:
    return _ORDER.index(verdict)


def _phase_verdict(report: pytest.TestReport) -> str | None:
    """What one phase says of its case: a failure is a finding unless it is no verdict (an error of ours
    or of the target, which the process marked); a skip is not applicable."""
    if report.skipped:
        return NOT_APPLICABLE
    if report.failed:
        crashed = report.when not in ("setup", "call", "teardown")  # xdist: "worker 'gw0' crashed" (when "???")
        return FAIL if getattr(report, "dcn_unjudged", None) is None and not crashed else ERROR
    return None


def _longrepr_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The message of a report whose process did not name one (a skip at collection, a crashed worker)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, "Skipped: why")
        text = str(longrepr[2]).removeprefix("Skipped: ")
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = getattr(crash, "message", None) or str(longrepr or "")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return clip(mask_secrets(first), MAX_MESSAGE)
