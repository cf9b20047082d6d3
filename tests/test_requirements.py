"""The check catalogue and the one way a check's failure becomes a message."""

from __future__ import annotations

import pytest

from dcn_checks.findings import Finding
from dcn_checks.model import model_with_sites
from dcn_checks.parametrize import client_binding_cases, node_cases, site_of, site_pair_cases
from dcn_checks.requirements import CHECKS, Verdict, explain


def test_a_message_names_where_seen_expected_and_the_remediation() -> None:
    message = Verdict("CLUSTER-002").message("dcn0 (dcn0-hci-0)", "cluster dcn0 is HEALTH_WARN", "HEALTH_OK")
    assert message == (
        f"dcn0 (dcn0-hci-0): cluster dcn0 is HEALTH_WARN; expected HEALTH_OK ({CHECKS['CLUSTER-002'].remediation})"
    )


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [("", "Redeploy the node's stack"), ("mode", "chmod 0600 and chown root"), ("no-such-mode", "Redeploy the")],
    ids=["default", "wrong-mode", "unknown-mode-falls-back"],
)
def test_a_failure_mode_gets_its_own_remediation(mode: str, fragment: str) -> None:
    message = explain("KEYS-003", "dcn0-hci-0 -> central", "x", "y", mode)
    remediation = CHECKS["KEYS-003"].remediation_for(mode)
    assert message == f"dcn0-hci-0 -> central: x; expected y ({remediation})" and remediation.startswith(fragment)


def test_findings_become_one_line_with_the_first_findings_mode() -> None:
    findings = [
        Finding("[glance_store] default_backend", "central", "dcn0"),
        Finding("[DEFAULT] enabled_backends", None, "dcn0:rbd,central:rbd"),
    ]
    message = Verdict("GLANCECONF-002").findings("dcn0 (dcn0-hci-0 glance_api)", findings)
    assert message.startswith(
        "dcn0 (dcn0-hci-0 glance_api): [glance_store] default_backend = central, [DEFAULT] enabled_backends unset; "
        "expected [glance_store] default_backend = dcn0, [DEFAULT] enabled_backends = dcn0:rbd,central:rbd ("
    )
    assert "\n" not in message


def test_every_static_check_names_a_lint_rule_and_no_other_check_does() -> None:
    from dcn_checks.lint.rules import RULES

    for check in CHECKS.values():
        assert (check.rule in RULES) if check.check_id.startswith("STATIC-") else check.rule == "", check.check_id


def test_cases_name_their_site_for_the_report() -> None:
    model = model_with_sites(2)
    assert [site_of(case) for case, _ in node_cases(model)][:2] == ["central", "dcn0"]
    binding, case_id = next((b, i) for b, i in client_binding_cases(model) if i == "dcn1-hci-0->central")
    assert site_of(binding) == "dcn1" and binding.where == "dcn1-hci-0 -> central" and case_id
    assert [site_of(pair) for pair, _ in site_pair_cases(model)] == ["central", "central", "dcn0", "dcn1"]
    assert site_of("dcn0") is None
