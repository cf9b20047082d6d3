"""pytest plugin of dcn-checks: options, markers and check bookkeeping.

Every hook stays inert unless one of our options is given, because an installed plugin is loaded
by every pytest run in the environment. Inputs are validated once, in ``pytest_configure``, so a
bad input is one ``UsageError`` line, not an error repeated by every test.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dcn_checks.errors import DcnChecksError
from dcn_checks.release import RELEASE_NAMES
from dcn_checks.requirements import CHECKS

if TYPE_CHECKING:
    from dcn_checks.heat import Catalog
    from dcn_checks.lint.envdir import EnvDirectory

MARKERS = (
    "check(check_id, requirements): the stable check ID and the requirements (R<n>) it proves",
    "reads: the check only reads; it is safe on production at any time",
    "creates: the check creates resources (and removes them again)",
)

_ENV_DIR = pytest.StashKey["tuple[EnvDirectory, Catalog]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dcn-checks")
    group.addoption("--env-dir", default=None, help="directory of TripleO environment files for suites/static")
    group.addoption("--release", default=None, choices=RELEASE_NAMES, help="release profile of the target")


def _active(config: pytest.Config) -> bool:
    return config.getoption("--env-dir") is not None


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if not _active(config):
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "env_stack" not in metafunc.fixturenames or _ENV_DIR not in metafunc.config.stash:
        return
    directory, _catalog = metafunc.config.stash[_ENV_DIR]
    names = [stack.name for stack in directory.stacks]
    metafunc.parametrize("env_stack", names, ids=names)


@pytest.fixture(scope="session")
def env_directory(pytestconfig: pytest.Config) -> tuple[EnvDirectory, Catalog]:
    """The environment directory under test and the Heat catalog of its release."""
    return pytestconfig.stash[_ENV_DIR]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse checks without a catalogued, unique check ID and a reads/creates marker."""
    if not _active(config):
        return
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
