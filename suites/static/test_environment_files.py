"""Static checks of a deployment's TripleO environment files, per stack (requirements R1-R11).

They read only files: run them before a deployment, or on the files a deployment was made with.
``pytest suites/static --env-dir=DIR --release=R``; ``dcn-checks lint`` runs the same rules: the
catalogue names each check's rule, and the ``lint_findings`` fixture gives its findings at the stack.
"""

from __future__ import annotations

import pytest

from dcn_checks.lint.rules import Finding, describe_stack_findings


@pytest.mark.check("STATIC-001", requirements=["R1"])
@pytest.mark.reads
def test_parameter_names_are_defined_by_heat(lint_findings: list[Finding], env_stack: str) -> None:
    """Heat ignores parameter names it does not define, so a typo silently keeps the default."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-002", requirements=["R2"])
@pytest.mark.reads
def test_backend_id_matches_store_name_used_elsewhere(lint_findings: list[Finding], env_stack: str) -> None:
    """Every Glance must call a cluster's store by one name, or copies and Nova's store lookups break."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-003", requirements=["R3", "R4"])
@pytest.mark.reads
def test_glance_stores_reach_every_site(lint_findings: list[Finding], env_stack: str) -> None:
    """Central needs a store per DCN cluster and each DCN Glance a central store, each naming its backend."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-004", requirements=["R5"])
@pytest.mark.reads
def test_copy_image_is_enabled(lint_findings: list[Finding], env_stack: str) -> None:
    """Without copy-image, images cannot be copied between sites and imports hang in 'importing'."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-005", requirements=["R6"])
@pytest.mark.reads
def test_dcn_nova_does_not_cross_az_attach(lint_findings: list[Finding], env_stack: str) -> None:
    """With cross_az_attach true, boot-from-volume at an edge site creates the volume in the wrong AZ."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-006", requirements=["R7"])
@pytest.mark.reads
def test_nova_and_cinder_share_the_site_az(lint_findings: list[Finding], env_stack: str) -> None:
    """Nova creates a server's volumes in the server's AZ; Cinder must serve that AZ at the site."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-007", requirements=["R8"])
@pytest.mark.reads
def test_cluster_names_are_unique(lint_findings: list[Finding], env_stack: str) -> None:
    """A node that is a client of two clusters keeps one /etc/ceph/<cluster>.conf per name."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-008", requirements=["R9"])
@pytest.mark.reads
def test_external_cluster_configs_are_complete(lint_findings: list[Finding], env_stack: str) -> None:
    """An external cluster needs fsid, mons, keys, no dashboard, and the keyring path its clients use."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-009", requirements=["R10"])
@pytest.mark.reads
def test_cephx_keys_are_valid_with_documented_caps(lint_findings: list[Finding], env_stack: str) -> None:
    """A malformed key is refused by the cluster at deploy time; wrong caps break or over-grant access."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-010", requirements=["R11"])
@pytest.mark.reads
def test_cinder_backends_use_known_clusters(lint_findings: list[Finding], env_stack: str) -> None:
    """An extra Cinder RBD backend needs the conf and keyring of its cluster on the node."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)


@pytest.mark.check("STATIC-011", requirements=["R1"])
@pytest.mark.reads
def test_deploy_command_files_exist(lint_findings: list[Finding], env_stack: str) -> None:
    """A deploy command that passes a missing file fails, or deploys without the settings meant for it."""
    assert not lint_findings, describe_stack_findings(env_stack, lint_findings)
