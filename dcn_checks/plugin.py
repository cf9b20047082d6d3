"""pytest plugin of dcn-checks: options, markers, the target, parametrization and check bookkeeping.

Every hook stays inert unless one of our options is given, because an installed plugin is loaded
by every pytest run in the environment. Inputs are validated once, in ``pytest_configure``, so a
bad input is one ``UsageError`` line (exit 4), not an error repeated by every test.

Two inputs select what can run: ``--env-dir`` (the static checks of ``suites/static``) and
``--target`` (the checks of a deployment: a lab directory or a target file). Checks whose input
was not given are deselected, so ``pytest suites --target LAB`` runs exactly the deployment checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dcn_checks.errors import DcnChecksError
from dcn_checks.evidence import Evidence
from dcn_checks.parametrize import CASES
from dcn_checks.release import RELEASE_NAMES
from dcn_checks.requirements import CHECKS

if TYPE_CHECKING:
    import openstack.connection

    from dcn_checks.clients import Host
    from dcn_checks.heat import Catalog
    from dcn_checks.lint.envdir import EnvDirectory
    from dcn_checks.model import SiteModel
    from dcn_checks.release import ReleaseProfile
    from dcn_checks.target import Target

MARKERS = (
    "check(check_id, requirements): the stable check ID and the requirements (R<n>) it proves",
    "reads: the check only reads; it is safe on production at any time",
    "creates: the check creates resources (and removes them again)",
)

_ENV_DIR = pytest.StashKey["tuple[EnvDirectory, Catalog]"]()
_TARGET = pytest.StashKey["Target"]()
_CLOUD = pytest.StashKey["openstack.connection.Connection"]()
_EVIDENCE = pytest.StashKey[Evidence]()
#: Fixtures that only a target can give; a check using one is deselected without --target.
TARGET_FIXTURES = frozenset({"target", "site_model", "cloud", "hosts", "profile", *CASES})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dcn-checks")
    group.addoption("--env-dir", default=None, help="directory of TripleO environment files for suites/static")
    group.addoption("--release", default=None, choices=RELEASE_NAMES, help="release profile of the target")
    group.addoption(
        "--target", default=None, help="the deployment under test: a lab directory or a target file (target.yaml)"
    )


def _active(config: pytest.Config) -> bool:
    return config.getoption("--env-dir") is not None or config.getoption("--target") is not None


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if config.getoption("--target") is not None:
        _configure_target(config)
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
    config.stash[_ENV_DIR] = (directory, catalog)


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


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Where a check records what it ran and saw; shown with the verdict, secrets masked."""
    collected = Evidence()
    request.node.stash[_EVIDENCE] = collected
    return collected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    collected = item.stash.get(_EVIDENCE, None)
    if collected is not None and collected.items and call.when == "call":
        report.sections.append(("evidence", collected.render()))  # type: ignore[attr-defined]
    return report


def _needs(item: pytest.Item) -> set[str]:
    names = set(getattr(item, "fixturenames", ()))
    needs = set()
    if names & TARGET_FIXTURES:
        needs.add("--target")
    if "env_directory" in names or "env_stack" in names:
        needs.add("--env-dir")
    return needs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect checks whose input was not given; refuse checks without a catalogued, unique check ID
    and a reads/creates marker."""
    if not _active(config):
        return
    given = {option for option in ("--target", "--env-dir") if config.getoption(option) is not None}
    deselected = [item for item in items if not _needs(item) <= given]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if _needs(item) <= given]
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
        site = item.callspec.id if hasattr(item, "callspec") else ""
        item.user_properties.append(("check_id", check_id))
        item.user_properties.append(("requirements", ",".join(spec.requirements)))
        if site:
            item.user_properties.append(("site", site))
