"""``dcn-checks target check``: a usable target probes clean; a broken one is one line per problem, exit 4."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from lab_support import REPO

from dcn_checks.lab.deploy import LabInfo
from dcn_checks.model import SiteModel, load_model

pytestmark = pytest.mark.lab

CLI = REPO / ".venv" / "bin" / "dcn-checks"


def target_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), "target", "check", str(path)], capture_output=True, text=True, timeout=300)


def test_the_healthy_lab_probes_clean(healthy_lab: LabInfo) -> None:
    done = target_check(healthy_lab.lab_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(line.startswith("ok ") for line in lines)
    assert any(line.startswith("ok      cloud ") for line in lines)
    assert sum(" node " in line for line in lines) == sum(len(site.nodes) for site in _model(healthy_lab).sites)
    assert sum(" cluster " in line for line in lines) == len(_model(healthy_lab).sites)


def _model(lab: LabInfo) -> SiteModel:
    return load_model(lab.model_path)


def test_a_wrong_password_and_fsid_are_one_line_each_and_exit_4(healthy_lab: LabInfo, tmp_path: Path) -> None:
    """A copy of the lab's target with another password in clouds.yaml and another fsid for dcn0's cluster."""
    lab = healthy_lab.lab_dir
    target = yaml.safe_load((lab / "target.yaml").read_text())
    clouds = yaml.safe_load((lab / target["cloud"]["clouds_yaml"]).read_text())
    for cloud in clouds["clouds"].values():
        cloud["auth"]["password"] = "not-the-password"
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(clouds))
    model = yaml.safe_load((lab / target["model"]).read_text())
    dcn0 = next(site for site in model["sites"] if site["name"] == "dcn0")
    dcn0["fsid"] = "00000000-0000-4000-8000-000000000000"
    (tmp_path / "sites.yaml").write_text(yaml.safe_dump(model))
    target["cloud"]["clouds_yaml"] = str(tmp_path / "clouds.yaml")
    target["model"] = str(tmp_path / "sites.yaml")
    target["hosts"]["inventory"] = str(lab / target["hosts"]["inventory"])
    (tmp_path / "target.yaml").write_text(yaml.safe_dump(target))

    done = target_check(tmp_path / "target.yaml")

    assert done.returncode == 4, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("PROBLEM")]
    assert len(problems) == 2, done.stdout
    assert problems[0].startswith("PROBLEM cloud ") and "not-the-password" not in done.stdout
    assert "the model says 00000000-0000-4000-8000-000000000000" in problems[1] and "dcn0" in problems[1]
    assert done.stderr.strip() == "dcn-checks: target check: 2 problem(s); a run against this target cannot judge it"
