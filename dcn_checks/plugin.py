"""pytest plugin of dcn-checks: options, markers, the target, parametrization and check bookkeeping.

Every hook stays inert unless one of our options is given, because an installed plugin is loaded
by every pytest run in the environment. Inputs are validated once, in ``pytest_configure``, so a
bad input is one ``UsageError`` line (exit 4), not an error repeated by every test.

Two inputs select what can run: ``--env-dir`` (the static checks of ``suites/static``) and
``--target`` (the checks of a deployment: a lab directory or a target file). Checks whose input
was not given are deselected, so ``pytest suites --target LAB`` runs exactly the deployment checks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from dcn_checks.debuglog import internal_error_line, write_debug_log
from dcn_checks.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, DcnChecksError, ParseError
from dcn_checks.evidence import Evidence
from dcn_checks.parametrize import CASES, site_of
from dcn_checks.release import RELEASE_NAMES
from dcn_checks.requirements import CHECKS, Verdict, explain
from dcn_checks.serviceconf import IniFile, read_config

if TYPE_CHECKING:
    import openstack.connection

    from dcn_checks.cephcli import ClusterAdmin
    from dcn_checks.clients import Host
    from dcn_checks.heat import Catalog
    from dcn_checks.ledger import Ledger
    from dcn_checks.lint.envdir import EnvDirectory
    from dcn_checks.lint.rules import Finding as LintFinding
    from dcn_checks.model import Node, SiteModel
    from dcn_checks.release import ReleaseProfile
    from dcn_checks.runshare import QuietLock
    from dcn_checks.target import Target
    from dcn_checks.workload import Workload

MARKERS = (
    "check(check_id, requirements): the stable check ID and the requirements (R<n>) it proves",
    "reads: the check only reads; it is safe on production at any time",
    "creates: the check creates resources (and removes them again)",
)

_ENV_DIR = pytest.StashKey["tuple[EnvDirectory, Catalog]"]()
_TARGET = pytest.StashKey["Target"]()
_CLOUD = pytest.StashKey["openstack.connection.Connection"]()
_EVIDENCE = pytest.StashKey[Evidence]()
_RUN_ID = pytest.StashKey[str]()
_RUN_ERROR = pytest.StashKey[DcnChecksError]()
_RUN_CREATES = pytest.StashKey[bool]()
_COLLECTED = pytest.StashKey["list[pytest.Item]"]()
#: Fixtures that only a target can give; a check using one is deselected without --target.
TARGET_FIXTURES = frozenset(
    {
        "target",
        "site_model",
        "cloud",
        "hosts",
        "profile",
        "run_ledger",
        "workload",
        "quiet_lock",
        "cluster_admins",
        *CASES,
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dcn-checks")
    group.addoption("--env-dir", default=None, help="directory of TripleO environment files for suites/static")
    group.addoption("--release", default=None, choices=RELEASE_NAMES, help="release profile of the target")
    group.addoption(
        "--target", default=None, help="the deployment under test: a lab directory or a target file (target.yaml)"
    )
    group.addoption(
        "--select-suites", default=None, help="run only these suites: static,reads,creates (comma-separated)"
    )
    group.addoption("--only-sites", default=None, help="run only the cases of these sites (comma-separated)")
    group.addoption(
        "--collected-json", default=None, help="write every collected case, selected or not, here (dcn-checks run)"
    )


def _active(config: pytest.Config) -> bool:
    return config.getoption("--env-dir") is not None or config.getoption("--target") is not None


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if getattr(config, "workerinput", {}).get(_LOADGROUP):
        config.option.loadgroup = True  # see pytest_configure_node
    if _active(config):
        # openstacksdk's own deprecation notices about its internals say nothing about the deployment and
        # would bury the report; our code pins the SDK, so they are ours to act on, not the operator's.
        config.addinivalue_line("filterwarnings", "ignore::openstack.warnings._RemovedInSDKWarning")
        if not hasattr(config, "workerinput"):  # the controller decides the exit code of an xdist run
            config.pluginmanager.register(_Judgement(), "dcn-checks-judgement")
        # Local inputs first, so a report path that cannot be written fails now, not after the run.
        _check_report_paths(config)
    if config.getoption("--target") is not None:
        _configure_target(config)
    _check_selection(config)
    if config.getoption("--env-dir") is None:
        return
    from dcn_checks.heat import load_catalog
    from dcn_checks.lint.envdir import read_env_directory
    from dcn_checks.release import get_profile

    release = config.getoption("--release")
    if release is None:
        raise pytest.UsageError("dcn-checks: --env-dir needs --release (one of " + ", ".join(RELEASE_NAMES) + ")")
    catalog = load_catalog(get_profile(release).catalog)
    try:
        directory = read_env_directory(Path(config.getoption("--env-dir")), catalog.key)
    except DcnChecksError as err:
        raise pytest.UsageError(f"dcn-checks: {err}") from err
    if directory.unreadable:
        more = f" (and {len(directory.unreadable) - 1} more)" if len(directory.unreadable) > 1 else ""
        raise pytest.UsageError(f"dcn-checks: {directory.root}/{directory.unreadable[0].line()}{more}")
    config.stash[_ENV_DIR] = (directory, catalog)


def _check_selection(config: pytest.Config) -> None:
    """``--select-suites`` names known suites and ``--only-sites`` the target's sites, or it is bad input."""
    from dcn_checks.results import SUITES

    suites = config.getoption("--select-suites")
    for suite in suites.split(",") if suites is not None else ():
        if suite not in SUITES:
            raise pytest.UsageError(f"dcn-checks: --select-suites: {suite!r} is not one of {', '.join(SUITES)}")
    sites = config.getoption("--only-sites")
    target = config.stash.get(_TARGET, None)
    if sites is None or target is None:
        return
    known = [site.name for site in target.model.sites]
    for site in sites.split(","):
        if site not in known:
            raise pytest.UsageError(
                f"dcn-checks: --only-sites: {site!r} is not a site of the model ({', '.join(known)})"
            )


def _check_report_paths(config: pytest.Config) -> None:
    """Refuse report paths that cannot be written before the run, not after it (pytest writes them last)."""
    for option, path in (
        ("--junitxml", config.option.xmlpath),
        ("--alluredir", getattr(config.option, "allure_report_dir", None)),
    ):
        if not path:
            continue
        problem = find_unwritable(Path(path), is_dir=option == "--alluredir")
        if problem is not None:
            raise pytest.UsageError(f"dcn-checks: {option} {path}: {problem}")


def find_unwritable(path: Path, *, is_dir: bool) -> str | None:
    """Say why ``path`` (a report file, or a report directory) cannot be written, or None if it can."""
    if path.exists() and path.is_dir() != is_dir:
        return "is a directory, not a file" if path.is_dir() else "is a file, not a directory"
    existing = path if path.exists() else path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def _configure_target(config: pytest.Config) -> None:
    """Load the target and authenticate once: an unusable target is one line and exit 4."""
    from dcn_checks.clients import connect_cloud
    from dcn_checks.target import load_target

    try:
        target = load_target(Path(config.getoption("--target")))
        if not config.getoption("collectonly"):
            config.stash[_CLOUD] = connect_cloud(target)
    except DcnChecksError as err:
        raise pytest.UsageError(f"dcn-checks: {err}") from err
    config.stash[_TARGET] = target
    if config.getoption("collectonly"):
        return
    _start_run(config, target)


def _start_run(config: pytest.Config, target: Target) -> None:
    """The run ID of this process: the controller makes it and holds the ledger, a worker is told it."""
    from dcn_checks.run import RunHolder, interrupt_on_sigterm, worker_run_id

    interrupt_on_sigterm()
    run_id = worker_run_id(config)
    if run_id is None:
        holder = RunHolder(target.source, config.stash.get(_CLOUD, None))
        holder.open()
        config.pluginmanager.register(holder, "dcn-checks-run")
        run_id = holder.run_id
        if holder.error is not None:
            config.stash[_RUN_ERROR] = holder.error
    config.stash[_RUN_ID] = run_id


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    target = metafunc.config.stash.get(_TARGET, None)
    if target is not None:
        for name, cases in CASES.items():
            if name in metafunc.fixturenames:
                values = cases(target.model)
                metafunc.parametrize(name, [v for v, _ in values], ids=[i for _, i in values])
    if "env_stack" not in metafunc.fixturenames or _ENV_DIR not in metafunc.config.stash:
        return
    directory, _catalog = metafunc.config.stash[_ENV_DIR]
    names = [stack.name for stack in directory.stacks]
    metafunc.parametrize("env_stack", names, ids=names)


@pytest.fixture(scope="session")
def env_directory(pytestconfig: pytest.Config) -> tuple[EnvDirectory, Catalog]:
    """The environment directory under test and the Heat catalog of its release."""
    return pytestconfig.stash[_ENV_DIR]


@pytest.fixture
def lint_findings(env_directory: tuple[EnvDirectory, Catalog], env_stack: str, verdict: Verdict) -> list[LintFinding]:
    """The findings of the running static check's lint rule (the catalogue names it) in the stack's files."""
    from dcn_checks.lint.rules import find_stack_findings

    directory, catalog = env_directory
    return find_stack_findings(directory, catalog, CHECKS[verdict.check_id].rule, env_stack)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The deployment under test (``--target``)."""
    return pytestconfig.stash[_TARGET]


@pytest.fixture(scope="session")
def site_model(target: Target) -> SiteModel:
    """The site model of the target: sites, clusters, stores, nodes."""
    return target.model


@pytest.fixture(scope="session")
def profile(target: Target) -> ReleaseProfile:
    """The release profile of the target: paths and layouts that differ between releases."""
    return target.model.profile


@pytest.fixture(scope="session")
def cloud(pytestconfig: pytest.Config) -> openstack.connection.Connection:
    """The target's cloud, authenticated once at session start."""
    return pytestconfig.stash[_CLOUD]


@pytest.fixture(scope="session")
def hosts(target: Target) -> dict[str, Host]:
    """A ``Host`` per node of the site model, by node name."""
    from dcn_checks.clients import get_hosts

    return get_hosts(target)


@pytest.fixture(scope="session")
def cluster_admins(target: Target, hosts: dict[str, Host]) -> dict[str, ClusterAdmin]:
    """client.admin of every site's cluster on a mon node of the site, by site name (answers kept per run)."""
    from dcn_checks.cephcli import get_cluster_admins

    return get_cluster_admins(target.model, hosts, target.api_timeout_s)


@pytest.fixture(scope="session")
def run_ledger(
    pytestconfig: pytest.Config, target: Target, cloud: openstack.connection.Connection, quiet_lock: QuietLock
) -> Iterator[Ledger]:
    """This process's part of the run's ledger; at the end of the session it removes what it recorded.

    What this process cannot remove stays recorded; the run's holder tries again at the very end.
    """
    from dcn_checks import lifecycle
    from dcn_checks.ledger import join_ledger

    error = pytestconfig.stash.get(_RUN_ERROR, None)
    if error is not None:
        raise error
    ledger = join_ledger(target.source, pytestconfig.stash[_RUN_ID])
    try:
        yield ledger
    finally:
        with quiet_lock.busy():
            report = lifecycle.remove_recorded(ledger, lifecycle.SdkCloud(cloud), timeout_s=target.create_timeout_s)
        ledger.close()
        for failure in report.failed:
            pytestconfig.get_terminal_writer().line(f"dcn-checks: not removed yet: {failure.line()}")


def run_id_of(config: pytest.Config) -> str:
    """The ID of the run this process belongs to (the controller's, under xdist)."""
    return config.stash[_RUN_ID]


@pytest.fixture(scope="session")
def quiet_lock(pytestconfig: pytest.Config, target: Target) -> QuietLock:
    """The run's quiet lock: creates hold it shared; a measurement of the central cluster, exclusive."""
    from dcn_checks.ledger import ledger_dir
    from dcn_checks.runshare import QuietLock

    return QuietLock(ledger_dir(target.source), run_id_of(pytestconfig))


def make_once_per_run(
    config: pytest.Config,
    target: Target,
    workload: Workload,
    key: str,
    make: Callable[[Workload], dict[str, Any]],
) -> dict[str, Any]:
    """State the run's processes share (the flavor, the golden image), made once for the whole run.

    ``make`` creates through a copy of ``workload`` that records into a handle of the run's ledger no
    process empties: every process uses the state until the run ends, and the run's holder removes it last.
    """
    import dataclasses

    from dcn_checks.ledger import join_ledger, ledger_dir
    from dcn_checks.runshare import once_per_run

    run_id = run_id_of(config)

    def shared() -> dict[str, Any]:
        return make(dataclasses.replace(workload, ledger=join_ledger(target.source, run_id)))

    return once_per_run(ledger_dir(target.source), run_id, key, shared)


@pytest.fixture(scope="session")
def workload(
    pytestconfig: pytest.Config,
    target: Target,
    cloud: openstack.connection.Connection,
    run_ledger: Ledger,
    quiet_lock: QuietLock,
) -> Workload:
    """Creates resources for the functional checks, each recorded in the run's ledger before any wait.

    The flavor is the target's (``creates.flavor``), else one of the document's size made once for the
    whole run, recorded where no worker removes it before the run ends.
    """
    from dcn_checks.workload import Workload

    work = Workload(cloud, run_ledger, target.create_timeout_s, lock=quiet_lock)
    if target.flavor is not None:
        work.flavor_id = str(cloud.compute.find_flavor(target.flavor, ignore_missing=False).id)
    else:
        made = make_once_per_run(pytestconfig, target, work, "flavor", lambda shared: {"id": shared.flavor()})
        work.flavor_id = str(made["id"])
    return work


@pytest.fixture(autouse=True)
def _allure_labels(request: pytest.FixtureRequest) -> None:
    """With ``--alluredir``: the check ID, its requirements, the site and the case as allure labels, so
    allure's report groups by them (by suite, then check; filterable by site and requirement)."""
    if not getattr(request.config.option, "allure_report_dir", None):
        return
    import allure

    properties = dict(request.node.user_properties)
    check_id = str(properties.get("check_id", ""))
    site = str(properties.get("site", ""))
    if not check_id:
        return
    dynamic: Any = allure.dynamic  # allure-python-commons has no type hints
    dynamic.label("check_id", check_id)
    dynamic.tag(check_id)
    for requirement in str(properties.get("requirements", "")).split(","):
        if requirement:
            dynamic.label("requirement", requirement)
            dynamic.tag(requirement)
    if site:
        dynamic.label("site", site)
        dynamic.tag(f"site:{site}")
    dynamic.parent_suite(_suite_of(request.node))
    dynamic.suite(check_id)
    if site:
        dynamic.sub_suite(site)


@pytest.fixture(autouse=True)
def _reads_beside_creates(request: pytest.FixtureRequest) -> Iterator[None]:
    """A read-only check of a run that also creates holds the quiet lock shared, as a create does.

    Reads send client ops to central's OSDs too (``rbd ls`` as each cephx user): run beside the WAN
    measurement they would show up in its counters as if a DCN site's boot had read from central.
    """
    if request.node.get_closest_marker("reads") is None or not _run_creates(request.session):
        yield
        return
    with request.getfixturevalue("quiet_lock").busy():
        yield


def _run_creates(session: pytest.Session) -> bool:
    """Tell whether the run's selection holds a creating check (computed once, after every deselection)."""
    if _RUN_CREATES not in session.stash:
        session.stash[_RUN_CREATES] = any(item.get_closest_marker("creates") for item in session.items)
    return session.stash[_RUN_CREATES]


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> Verdict:
    """The failure messages of the running check, bound to the check ID of its marker."""
    marker = request.node.get_closest_marker("check")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"dcn-checks: {request.node.nodeid} uses verdict without @pytest.mark.check")
    return Verdict(marker.args[0])


class NodeCaseLike(Protocol):
    """A case about one node: ``NodeCase``, ``GlanceServiceCase``."""

    @property
    def node(self) -> Node: ...

    @property
    def where(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ServiceConfigs:
    """Reads a service's config file on a case's node for the running check (the ``service_configs`` fixture).

    A file that is absent or is not INI fails the check with its one-line message: the service on that
    node would not start as configured, which is a finding about the deployment, not an error of ours.
    """

    hosts: Mapping[str, Host]
    verdict: Verdict
    evidence: Evidence

    def read(self, case: NodeCaseLike, path: str, what: str, shown: Iterable[tuple[str, str]] | None = None) -> IniFile:
        """Return ``path`` on the case's node parsed; ``shown`` options of it become evidence."""
        node = case.node.name
        try:
            conf = read_config(self.hosts[node], path)
        except ParseError as err:
            pytest.fail(self.verdict.message(case.where, str(err), what))
        if conf is None:
            pytest.fail(self.verdict.message(case.where, f"no {path} on {node}", what))
        if shown is not None:
            self.evidence.add(f"{conf.path} on {node}", conf.excerpt(shown))
        return conf


@pytest.fixture
def service_configs(hosts: dict[str, Host], verdict: Verdict, evidence: Evidence) -> ServiceConfigs:
    """Config files of services on the running check's nodes; a missing or broken one fails the check."""
    return ServiceConfigs(hosts, verdict, evidence)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Where a check records what it ran and saw; shown with the verdict, secrets masked."""
    collected = Evidence()
    request.node.stash[_EVIDENCE] = collected
    return collected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A creating check that the cloud refused or failed (an HTTP error, an ERROR state, a wait that timed
    out) has found the deployment wrong: its verdict is that, in the check's one-line form."""
    try:
        return (yield)
    except Exception as err:
        if item.get_closest_marker("creates") is None:
            raise
        from dcn_checks.errors import TargetError
        from dcn_checks.workload import over_quota, refusal

        quota = over_quota(err)
        if quota is not None:  # the run needs more room in the project: no verdict on the deployment (exit 4)
            raise TargetError(f"{item.nodeid}: the project's quota refused a resource: {quota}") from err
        said = refusal(err)
        marker = item.get_closest_marker("check")
        if said is None or marker is None or not marker.args or marker.args[0] not in CHECKS:
            raise
        where = _case_site(item) or "central"
        pytest.fail(explain(marker.args[0], where, said, "the cloud to do what the check asked"), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    collected = item.stash.get(_EVIDENCE, None)
    if collected is not None and collected.items and call.when == "call":
        report.sections.append(("evidence", collected.render()))
        if getattr(item.config.option, "allure_report_dir", None):
            import allure

            for piece in collected.items:  # masked when they were added
                allure.attach(piece.text, name=piece.title, attachment_type=allure.attachment_type.TEXT)
    if _active(item.config) and call.excinfo is not None and (report.failed or report.skipped):
        from dcn_checks.collect import outcome_message

        report.dcn_message = outcome_message(call.excinfo.value)  # type: ignore[attr-defined]
    if _active(item.config) and call.excinfo is not None and not _is_verdict(call.excinfo.value):
        # Not a verdict on the deployment: we could not judge this case. Kept on the report, so that
        # xdist carries it to the controller, which turns the run's exit code into 3 or 4 (never 1).
        error = call.excinfo.value
        report.dcn_unjudged = error.exit_code if isinstance(error, DcnChecksError) else EXIT_INTERNAL  # type: ignore[attr-defined]
    return report


def _is_verdict(error: BaseException) -> bool:
    """A failed assertion or ``pytest.fail`` is a verdict on the deployment; skips and xfails are outcomes too."""
    return isinstance(error, AssertionError | pytest.fail.Exception | pytest.skip.Exception | pytest.xfail.Exception)


class _Judgement:
    """Registered only on runs with our options: the run's exit code and internal errors, as we promise them.

    Exit 1 means a check found the deployment wrong. A case that ended in an error that is no
    verdict (a bug of ours, an unreachable host) makes the run exit 3 or 4 instead, even beside
    failed checks: a gate must not read "the deployment is wrong" where we could not judge. An
    internal error of the run is one line on stderr naming a debug log with the traceback.
    """

    def __init__(self) -> None:
        self.unjudged: list[tuple[str, int]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        code = getattr(report, "dcn_unjudged", None)
        if report.failed and report.when not in ("setup", "call", "teardown"):
            code = EXIT_INTERNAL  # an xdist worker crashed under this case: no verdict
        if isinstance(code, int):
            self.unjudged.append((report.nodeid, code))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.unjudged and session.exitstatus in (0, 1):
            codes = {code for _, code in self.unjudged}
            session.exitstatus = EXIT_BAD_INPUT if codes == {EXIT_BAD_INPUT} else EXIT_INTERNAL

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.unjudged:
            terminalreporter.write_line(
                f"dcn-checks: {len(self.unjudged)} case(s) could not be judged (an error, not a finding), "
                f"e.g. {self.unjudged[0][0]}; the exit code says so instead of 1"
            )

    def pytest_internalerror(self, excrepr: object, excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
        path = write_debug_log(str(excrepr))
        print(internal_error_line(excinfo.value, path), file=sys.stderr)
        return True


def pytest_collection_finish(session: pytest.Session) -> None:
    """Write the collected cases once their IDs are final (xdist's loadgroup appends ``@<group>``)."""
    config = session.config
    if _COLLECTED not in config.stash:
        return
    from dcn_checks.collect import describe_item, write_collected

    described = [describe_item(item, _item_site(config, item)) for item in config.stash[_COLLECTED]]
    write_collected(Path(config.getoption("--collected-json")), described)


def _chosen(config: pytest.Config, item: pytest.Item) -> bool:
    """Whether ``--select-suites`` and ``--only-sites`` keep the case (both keep everything when absent).
    A case about no single site (the deployment as a whole) is kept with any ``--only-sites``, and a
    check outside ``suites/`` (a path given on the command line) with any ``--select-suites``."""
    suites = config.getoption("--select-suites")
    suite = _suite_of(item)
    if suites is not None and suite and suite not in suites.split(","):  # a check given by path is kept
        return False
    sites = config.getoption("--only-sites")
    if sites is None:
        return True
    site = _item_site(config, item)
    return site is None or site in sites.split(",")


def _suite_of(item: pytest.Item) -> str:
    from dcn_checks.results import SUITES

    return next((part for part in reversed(item.path.parts) if part in SUITES), "")


def _item_site(config: pytest.Config, item: pytest.Item) -> str | None:
    """The site a case is about; a static case's stack is named by its site where the target's model
    knows the stack (central's stack is often ``control-plane`` or ``central``)."""
    site = _case_site(item)
    if site is not None:
        return site
    callspec = getattr(item, "callspec", None)
    stack = callspec.params.get("env_stack") if callspec is not None else None
    if not isinstance(stack, str):
        return None
    target = config.stash.get(_TARGET, None)
    sites = target.model.sites if target is not None else ()
    return next((known.name for known in sites if known.stack == stack), stack)


def _needs(item: pytest.Item) -> set[str]:
    names = set(getattr(item, "fixturenames", ()))
    needs = set()
    if names & TARGET_FIXTURES:
        needs.add("--target")
    if names & {"env_directory", "env_stack", "lint_findings"}:
        needs.add("--env-dir")
    return needs


_LOADGROUP = "dcn_checks_loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each xdist worker that the run distributes by group: a worker reads ``--dist`` from the
    command line before any plugin's ``pytest_cmdline_main``, so it never sees the ``loadgroup`` this
    plugin chose, and would not mark its cases with their group (``nodeid@group``), which is what the
    controller's loadgroup scheduling sends to one worker."""
    node.workerinput[_LOADGROUP] = node.config.getoption("dist") == "loadgroup"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With ``-n``, distribute by group (before xdist picks its default ``load``): see ``_group``."""
    if config.getoption("--target", None) is None or not config.pluginmanager.hasplugin("xdist"):
        return
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "no":
        config.option.dist = "loadgroup"


def _case_site(item: pytest.Item) -> str | None:
    """The site a parametrized case is about (the first parameter that names one), or None."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return next((site for value in params if (site := site_of(value)) is not None), None)


def _group(item: pytest.Item) -> str | None:
    """The xdist group of a creating check: its site, so the flows of one site (the COW server, the
    volume, the snapshots) are made once, on one worker, and shared by the site's checks."""
    if item.get_closest_marker("creates") is None:
        return None
    site = _case_site(item)
    return f"site-{site}" if site else "central"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect checks whose input was not given; refuse checks without a catalogued, unique check ID
    and a reads/creates marker."""
    if not _active(config):
        return
    if config.getoption("--collected-json"):
        config.stash[_COLLECTED] = list(items)  # every case, before any deselection; written when final
    given = {option for option in ("--target", "--env-dir") if config.getoption(option) is not None}
    deselected = [item for item in items if not (_needs(item) <= given and _chosen(config, item))]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        dropped = set(map(id, deselected))
        items[:] = [item for item in items if id(item) not in dropped]
    owners: dict[str, str] = {}
    for item in items:
        marker = item.get_closest_marker("check")
        function = getattr(item, "originalname", item.name)
        where = f"{item.path.name}::{function}"
        if marker is None or not marker.args:
            raise pytest.UsageError(f"dcn-checks: {where} has no @pytest.mark.check(ID, requirements=[...])")
        check_id = marker.args[0]
        if check_id not in CHECKS:
            raise pytest.UsageError(f"dcn-checks: {where} uses unknown check ID {check_id}")
        if owners.setdefault(check_id, where) != where:
            raise pytest.UsageError(f"dcn-checks: check ID {check_id} is used by {owners[check_id]} and {where}")
        if item.get_closest_marker("reads") is None and item.get_closest_marker("creates") is None:
            raise pytest.UsageError(f"dcn-checks: {where} is marked neither reads nor creates")
        spec = CHECKS[check_id]
        group = _group(item)
        if group is not None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group))
        item.user_properties.append(("check_id", check_id))
        item.user_properties.append(("requirements", ",".join(spec.requirements)))
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            item.user_properties.append(("site", _item_site(config, item) or callspec.id))
            item.user_properties.append(("case", callspec.id))
