"""The static suite (suites/static) reports the lint's findings as checks, per stack, in JUnit too."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcn_checks.generator import generate
from dcn_checks.model import load_model

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "static"
DOC = ROOT / "tests" / "data" / "envdirs" / "dms-ussuri-as-written"


def run_suite(pytester: pytest.Pytester, env_dir: Path, *extra: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(SUITE), f"--env-dir={env_dir}", "--release=ussuri", f"--rootdir={ROOT}", "-rf", "-vv", *extra
    )


def test_static_suite_passes_on_generated_files(pytester: pytest.Pytester, tmp_path: Path) -> None:
    generate(load_model(ROOT / "fixtures" / "models" / "dms-example.yaml"), tmp_path / "env")
    result = run_suite(pytester, tmp_path / "env")
    result.assert_outcomes(passed=33)
    assert result.ret == 0


def test_static_suite_fails_exactly_the_checks_the_documents_traps_break(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    result = run_suite(pytester, DOC, f"--junitxml={junit}")
    assert result.ret == 1
    result.assert_outcomes(passed=27, failed=6)
    result.stdout.fnmatch_lines(
        [
            "FAILED *test_parameter_names_are_defined_by_heat[[]dcn0[]] - AssertionError: dcn0: dcn0/glance.yaml: "
            "GlangeBackendID: not defined by tripleo-heat-templates master-2021-03, so Heat ignores it "
            "(did you mean GlanceBackendID?) [[]unknown-parameter[]]",
            "FAILED *test_backend_id_matches_store_name_used_elsewhere[[]dcn0[]] - AssertionError: dcn0: "
            "dcn0/glance.yaml: GlanceBackendID: not set, so it stays 'default_backend' at dcn0*",
            "FAILED *test_backend_id_matches_store_name_used_elsewhere[[]dcn1[]]*",
            "FAILED *test_deploy_command_files_exist[[]control-plane[]] - AssertionError: control-plane: "
            "control-plane/deploy.sh: -e: the deploy command passes -e control-plane/role-counts.yaml, which does not "
            "exist (the directory has control-plane/roles-counts.yaml) [[]deploy-file[]]",
            "FAILED *test_deploy_command_files_exist[[]dcn0[]] - AssertionError: dcn0: dcn0/deploy.sh: -e: the deploy "
            "command passes -e dcn0/dcn_ceph_keys.yaml, which does not exist (the directory has dcn0/ceph_keys.yaml) "
            "[[]deploy-file[]]*",
            "FAILED *test_deploy_command_files_exist[[]dcn1[]]*",
        ],
        consecutive=False,
    )
    xml = junit.read_text()
    assert '<property name="check_id" value="STATIC-002" />' in xml
    assert '<property name="requirements" value="R2" />' in xml
    assert '<property name="site" value="dcn1" />' in xml


def test_bad_env_dir_is_one_usage_line_exit_4(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_suite(pytester, tmp_path / "absent")
    assert result.ret == 4
    assert result.stderr.str().strip().splitlines() == [
        f"ERROR: dcn-checks: {tmp_path / 'absent'}: no such directory of environment files"
    ]
