"""Static checks of a deployment's TripleO environment files, per stack (requirements R1-R11).

They read only files: run them before a deployment, or on the files a deployment was made with.
``pytest suites/static --env-dir=DIR --release=R``; ``dcn-checks lint`` runs the same rules.
"""

from __future__ import annotations

from typing import Any

import pytest

from dcn_checks.lint.rules import RULES, Finding


def findings_of(env_directory: Any, rule: str, stack_name: str) -> list[Finding]:
    """Return the findings of ``rule`` in the files of one stack."""
    directory, catalog = env_directory
    stack = next(s for s in directory.stacks if s.name == stack_name)
    files = {content.path for content in stack.files} | {stack.deploy_script or ""}
    function, _requirements = RULES[rule]
    return [f for f in function(directory, catalog) if f.file in files or f.file.startswith(f"{stack.name}/")]


def explain(stack: str, findings: list[Finding]) -> str:
    """One line for the operator: the first finding, and how many more there are."""
    more = (
        f" (+{len(findings) - 1} more: " + "; ".join(f.line() for f in findings[1:]) + ")" if len(findings) > 1 else ""
    )
    return f"{stack}: {findings[0].line()}{more}"


@pytest.mark.check("STATIC-001", requirements=["R1"])
@pytest.mark.reads
def test_parameter_names_are_defined_by_heat(env_directory: Any, env_stack: str) -> None:
    """Heat ignores parameter names it does not define, so a typo silently keeps the default."""
    found = findings_of(env_directory, "unknown-parameter", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-002", requirements=["R2"])
@pytest.mark.reads
def test_backend_id_matches_store_name_used_elsewhere(env_directory: Any, env_stack: str) -> None:
    """Every Glance must call a cluster's store by one name, or copies and Nova's store lookups break."""
    found = findings_of(env_directory, "backend-id", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-003", requirements=["R3", "R4"])
@pytest.mark.reads
def test_glance_stores_reach_every_site(env_directory: Any, env_stack: str) -> None:
    """Central needs a store per DCN cluster and each DCN Glance a central store, each naming its backend."""
    found = findings_of(env_directory, "multistore", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-004", requirements=["R5"])
@pytest.mark.reads
def test_copy_image_is_enabled(env_directory: Any, env_stack: str) -> None:
    """Without copy-image, images cannot be copied between sites and imports hang in 'importing'."""
    found = findings_of(env_directory, "copy-image", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-005", requirements=["R6"])
@pytest.mark.reads
def test_dcn_nova_does_not_cross_az_attach(env_directory: Any, env_stack: str) -> None:
    """With cross_az_attach true, boot-from-volume at an edge site creates the volume in the wrong AZ."""
    found = findings_of(env_directory, "cross-az-attach", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-006", requirements=["R7"])
@pytest.mark.reads
def test_nova_and_cinder_share_the_site_az(env_directory: Any, env_stack: str) -> None:
    """Nova creates a server's volumes in the server's AZ; Cinder must serve that AZ at the site."""
    found = findings_of(env_directory, "az-mismatch", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-007", requirements=["R8"])
@pytest.mark.reads
def test_cluster_names_are_unique(env_directory: Any, env_stack: str) -> None:
    """A node that is a client of two clusters keeps one /etc/ceph/<cluster>.conf per name."""
    found = findings_of(env_directory, "duplicate-cluster", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-008", requirements=["R9"])
@pytest.mark.reads
def test_external_cluster_configs_are_complete(env_directory: Any, env_stack: str) -> None:
    """An external cluster needs fsid, mons, keys, no dashboard, and the keyring path its clients use."""
    found = findings_of(env_directory, "external-config", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-009", requirements=["R10"])
@pytest.mark.reads
def test_cephx_keys_are_valid_with_documented_caps(env_directory: Any, env_stack: str) -> None:
    """A malformed key is refused by the cluster at deploy time; wrong caps break or over-grant access."""
    found = findings_of(env_directory, "cephx-keys", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-010", requirements=["R11"])
@pytest.mark.reads
def test_cinder_backends_use_known_clusters(env_directory: Any, env_stack: str) -> None:
    """An extra Cinder RBD backend needs the conf and keyring of its cluster on the node."""
    found = findings_of(env_directory, "cinder-multi-config", env_stack)
    assert not found, explain(env_stack, found)


@pytest.mark.check("STATIC-011", requirements=["R1"])
@pytest.mark.reads
def test_deploy_command_files_exist(env_directory: Any, env_stack: str) -> None:
    """A deploy command that passes a missing file fails, or deploys without the settings meant for it."""
    found = findings_of(env_directory, "deploy-file", env_stack)
    assert not found, explain(env_stack, found)
