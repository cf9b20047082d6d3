"""The check catalogue: stable check IDs, the requirements (R1-R81) each proves, and what fixes it.

A check ID is never reused and does not change when a test is renamed (like Tempest's idempotent
IDs). Collection fails on a check whose ID is not listed here, or on two checks with one ID, so the
report's requirement matrix always adds up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One check of the catalogue."""

    check_id: str
    requirements: tuple[str, ...]
    title: str
    remediation: str


_CHECKS = (
    CheckSpec("STATIC-001", ("R1",), "Every parameter is defined by Heat at the release",
              "Rename the parameter to the name THT defines (Heat ignores unknown names)."),
    CheckSpec("STATIC-002", ("R2",), "GlanceBackendID equals the store name other stacks use for the cluster",
              "Set GlanceBackendID to the store ID used for this cluster in every GlanceMultistoreConfig."),
    CheckSpec("STATIC-003", ("R3", "R4"), "Glance stores reach every site and name their backend",
              "Give central one store per DCN cluster and every DCN stack a 'central' store, each with GlanceBackend."),
    CheckSpec("STATIC-004", ("R5",), "Glance offers copy-image at every stack",
              "Add copy-image to GlanceEnabledImportMethods."),
    CheckSpec("STATIC-005", ("R6",), "DCN stacks attach only volumes of the server's AZ",
              "Include environments/dcn-hci.yaml or dcn-storage.yaml, or set NovaCrossAZAttach: false."),
    CheckSpec("STATIC-006", ("R7",), "Nova and Cinder share the site's availability zone",
              "Set CinderStorageAvailabilityZone and CinderVolumeCluster to the NovaComputeAvailabilityZone."),
    CheckSpec("STATIC-007", ("R8",), "Ceph cluster names are unique",
              "Give every site's cluster its own CephClusterName."),
    CheckSpec("STATIC-008", ("R9",), "External cluster configs are complete with the right keyring path",
              "Regenerate with 'openstack overcloud export ceph' (or dcn-checks generate)."),
    CheckSpec("STATIC-009", ("R10",), "cephx keys are well formed and client.external has the documented caps",
              "Use keys made like ceph-authtool --gen-print-key and the caps of the source document."),
    CheckSpec("STATIC-010", ("R11",), "CinderRbdMultiConfig uses clusters the stack is a client of",
              "Add the cluster to CephExternalMultiConfig or fix CephClusterName of the backend."),
    CheckSpec("STATIC-011", ("R1",), "Every file a deploy command passes exists",
              "Create the file or fix the -e path (the document creates ceph_keys.yaml, deploys dcn_ceph_keys.yaml)."),
    CheckSpec("API-001", ("R37",), "Each Glance offers the documented stores with its site's store as default",
              "At central list every site in GlanceMultistoreConfig (glance-dcn-stores.yaml); at a DCN site set "
              "GlanceBackendID to the site's store and add the central store to GlanceMultistoreConfig."),
)  # fmt: skip

CHECKS: dict[str, CheckSpec] = {check.check_id: check for check in _CHECKS}


def explain(check_id: str, where: str, seen: str, expected: str) -> str:
    """The one-line failure message of a check: where, what was seen, what was expected, what fixes it.

    The fix is the catalogue's remediation, so the message and the report always agree.
    """
    return f"{where}: {seen}; expected {expected} ({CHECKS[check_id].remediation})"


def get_check(check_id: str) -> CheckSpec:
    """Return the catalogue entry of ``check_id``; raise KeyError for an unknown ID."""
    return CHECKS[check_id]
