"""The check catalogue: stable check IDs, the requirements (R1-R81) each proves, and what fixes it.

A check ID is never reused and does not change when a test is renamed (like Tempest's idempotent
IDs). Collection fails on a check whose ID is not listed here, or on two checks with one ID, so the
report's requirement matrix always adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dcn_checks.findings import Finding, describe_findings


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One check of the catalogue: its remediation, and another one per failure mode fixed differently."""

    check_id: str
    requirements: tuple[str, ...]
    title: str
    remediation: str
    modes: tuple[tuple[str, str], ...] = ()  # (failure mode, its remediation)
    rule: str = ""  # the lint rule a static check reports (``dcn-checks lint`` and suites/static share it)
    #: Why no deployment setting can make this check fail: it proves Glance's, Cinder's or Nova's own
    #: behaviour (a bug or a version without it would), so no lab fault exists for it.
    behaviour: str = ""
    #: The check records what the cloud did and never passes or fails on it (the report says "info").
    informational: bool = False

    def remediation_for(self, mode: str = "") -> str:
        """The remediation of failure ``mode``; the check's own for "" or a mode it does not list."""
        return dict(self.modes).get(mode, self.remediation)


_CHECKS = (
    CheckSpec("STATIC-001", ("R1",), "Every parameter is defined by Heat at the release",
              "Rename the parameter to the name THT defines (Heat ignores unknown names).",
              rule="unknown-parameter"),
    CheckSpec("STATIC-002", ("R2",), "GlanceBackendID equals the store name other stacks use for the cluster",
              "Set GlanceBackendID to the store ID used for this cluster in every GlanceMultistoreConfig.",
              rule="backend-id"),
    CheckSpec("STATIC-003", ("R3", "R4"), "Glance stores reach every site and name their backend",
              "Give central one store per DCN cluster and every DCN stack a 'central' store, each with GlanceBackend.",
              rule="multistore"),
    CheckSpec("STATIC-004", ("R5",), "Glance offers copy-image at every stack",
              "Add copy-image to GlanceEnabledImportMethods.",
              rule="copy-image"),
    CheckSpec("STATIC-005", ("R6",), "DCN stacks attach only volumes of the server's AZ",
              "Include environments/dcn-hci.yaml or dcn-storage.yaml, or set NovaCrossAZAttach: false.",
              rule="cross-az-attach"),
    CheckSpec("STATIC-006", ("R7",), "Nova and Cinder share the site's availability zone",
              "Set CinderStorageAvailabilityZone and CinderVolumeCluster to the NovaComputeAvailabilityZone.",
              rule="az-mismatch"),
    CheckSpec("STATIC-007", ("R8",), "Ceph cluster names are unique",
              "Give every site's cluster its own CephClusterName.",
              rule="duplicate-cluster"),
    CheckSpec("STATIC-008", ("R9",), "External cluster configs are complete with the right keyring path",
              "Regenerate with 'openstack overcloud export ceph' (or dcn-checks generate).",
              rule="external-config"),
    CheckSpec("STATIC-009", ("R10",), "cephx keys are well formed and client.external has the documented caps",
              "Use keys made like ceph-authtool --gen-print-key and the caps of the source document.",
              rule="cephx-keys"),
    CheckSpec("STATIC-010", ("R11",), "CinderRbdMultiConfig uses clusters the stack is a client of",
              "Add the cluster to CephExternalMultiConfig or fix CephClusterName of the backend.",
              rule="cinder-multi-config"),
    CheckSpec("STATIC-011", ("R1",), "Every file a deploy command passes exists",
              "Create the file or fix the -e path (the document creates ceph_keys.yaml, deploys dcn_ceph_keys.yaml).",
              rule="deploy-file"),
    CheckSpec("API-001", ("R37",), "Each Glance offers the documented stores with its site's store as default",
              "At central list every site in GlanceMultistoreConfig (glance-dcn-stores.yaml); at a DCN site set "
              "GlanceBackendID to the site's store and add the central store to GlanceMultistoreConfig."),
    # --- service configuration (suites/reads/test_{glance,nova,cinder}_config.py) ---
    CheckSpec("GLANCECONF-001", ("R29", "R30"), "Each glance-api enables exactly the documented RBD stores",
              "At central list every DCN site in GlanceMultistoreConfig (glance-dcn-stores.yaml); at a DCN site "
              "set GlanceBackendID and a 'central' item in GlanceMultistoreConfig, each with GlanceBackend: rbd"),
    CheckSpec("GLANCECONF-002", ("R29", "R30"), "Each glance-api defaults to its own site's store",
              "Set GlanceBackendID to the site's store ID (spelled GlanceBackendID, not GlangeBackendID)"),
    CheckSpec("GLANCECONF-003", ("R29", "R30"), "Each store opens its site's cluster with the right user and pool",
              "Give each GlanceMultistoreConfig item the store's CephClusterName, CephClientUserName (external "
              "with key option 2), GlanceRbdPoolName and GlanceStoreDescription"),
    CheckSpec("GLANCECONF-004", ("R29",), "Central glance_api and glance_api_internal have identical stores",
              "Remove hand edits and redeploy the central stack, so puppet renders both from the same parameters"),
    CheckSpec("GLANCECONF-005", ("R31",), "Each glance-api enables copy-image",
              "Add copy-image to GlanceEnabledImportMethods"),
    CheckSpec("GLANCECONF-006", ("R31",), "Locations shown to Nova and Cinder, hidden from users after OSSN-0090",
              "Keep the release's glance-api layout: show_multiple_locations/show_image_direct_url True on the "
              "Glance Nova and Cinder use (NovaEnableRbdBackend), False on the public glance_api after OSSN-0090"),
    CheckSpec("GLANCECONF-007", ("R31",), "Glance converts imported images to raw",
              "Leave GlanceImageImportPlugins at its default (THT adds image_conversion with NovaEnableRbdBackend) "
              "or list image_conversion in it, with GlanceImageConversionOutputFormat: raw"),
    CheckSpec("NOVACONF-001", ("R32", "R6"), "DCN computes attach only volumes of their own AZ",
              "Include environments/dcn-storage.yaml (dcn-hci.yaml before Wallaby) or set NovaCrossAZAttach: false"),
    CheckSpec("NOVACONF-002", ("R32", "R6"), "DCN computes never download an image that is in another RBD store",
              "Include environments/dcn-storage.yaml or set NovaDisableImageDownloadToRbd: true"),
    CheckSpec("NOVACONF-003", ("R32",), "DCN computes keep ephemeral disks in the site's vms pool",
              "Set NovaEnableRbdBackend: true with the stack's own CephClusterName and NovaRbdPoolName"),
    CheckSpec("NOVACONF-004", ("R32",), "DCN computes know the site's Glance store",
              "Set GlanceBackendID of the DCN stack to the site's store ID (THT passes it to Nova)"),
    CheckSpec("NOVACONF-005", ("R32",), "DCN computes open the site's cluster with its fsid as libvirt secret",
              "Set CephClusterFSID to the site cluster's fsid and leave CephClientUserName at openstack"),
    CheckSpec("NOVACONF-006", ("R32",), "DCN computes use the site's own Glance",
              "Deploy GlanceApiEdge in the DCN stack's roles, so THT points Nova's [glance] endpoint_override at it"),
    CheckSpec("NOVACONF-007", ("R35",), "Central Nova's cross_az_attach is recorded (informational)",
              "Nothing to fix: NovaCrossAZAttach of the central stack is recorded as evidence"),
    CheckSpec("CINDERCONF-001", ("R34", "R7"), "cinder-volume serves the site's availability zone",
              "Set CinderStorageAvailabilityZone to the site's NovaComputeAvailabilityZone and leave "
              "CinderRbdAvailabilityZone empty"),
    CheckSpec("CINDERCONF-002", ("R34",), "DCN cinder-volume runs in the site's active/active cluster",
              "Set CinderVolumeCluster to the site's AZ (dcn-storage.yaml's default is 'dcn') with etcd deployed"),
    CheckSpec("CINDERCONF-003", ("R34",), "cinder-volume keeps volumes in the site's own cluster",
              "Keep CinderEnableRbdBackend with the stack's own CephClusterName, CinderRbdPoolName, "
              "CephClientUserName and CephClusterFSID"),
    CheckSpec("CINDERCONF-004", ("R34",), "cinder-volume uses the site's own Glance",
              "Deploy GlanceApiEdge in the DCN stack's roles, so THT sets Cinder's glance_api_servers to it"),
    # --- API state (suites/reads/test_*_api.py) ---
    CheckSpec("API-002", ("R38",), "Each Glance API offers the copy-image import method",
              "Add copy-image to GlanceEnabledImportMethods"),
    CheckSpec("API-003", ("R39",), "Only central registers image endpoints, laid out as the release does",
              "Register image endpoints for central only: public on glance_api, internal and admin on "
              "glance_api_internal after OSSN-0090; delete endpoints of edge Glance services"),
    CheckSpec("API-004", ("R39",), "The public image API hides locations, the internal one shows them",
              "Keep the public endpoint on glance_api (locations hidden after OSSN-0090) and the internal one "
              "on the Glance Nova and Cinder use (show_multiple_locations and show_image_direct_url True)"),
    CheckSpec("API-005", ("R40",), "Each DCN site's AZ is one aggregate holding exactly the site's computes",
              "Set NovaComputeAvailabilityZone of the DCN stack to the site's AZ so NovaAZConfig builds the "
              "aggregate from the stack's computes; remove foreign hosts (openstack aggregate remove host)"),
    CheckSpec("API-006", ("R40",), "Every DCN compute's nova-compute is up in the site's AZ",
              "Start nova_compute on the node and keep it in the site's aggregate (NovaComputeAvailabilityZone)"),
    CheckSpec("API-007", ("R41",), "Each site's cinder-volume is up in the site's AZ",
              "Set CinderStorageAvailabilityZone to the site's AZ and start cinder_volume on the site's nodes"),
    CheckSpec("API-008", ("R41",), "Each DCN site's active/active volume cluster is up with no host down",
              "Set CinderVolumeCluster to the site's AZ and start (or remove) the down cinder-volume hosts"),
    CheckSpec("API-009", ("R42",), "Nova and Cinder list each site's AZ under the same name",
              "Set NovaComputeAvailabilityZone and CinderStorageAvailabilityZone of the stack to the site's AZ"),
    # --- Ceph per site, client keys and files (suites/reads/test_ceph_{clusters,keys,client_configs}.py) ---
    CheckSpec("CLUSTER-001", ("R16", "R23"), "client.admin of each cluster works on a mon node of its site",
              "Restore <cluster>.client.admin.keyring (mode 0600, owner root) on the site's mon nodes, as the Ceph "
              "deployer writes it"),
    CheckSpec("CLUSTER-002", ("R17",), "Each cluster is HEALTH_OK",
              "Resolve what 'ceph health detail' names on that cluster (mute only a warning you accept)"),
    CheckSpec("CLUSTER-003", ("R18",), "Each cluster has the expected monitors, all in quorum",
              "Bring missing monitors back into quorum or remove stray ones ('ceph mon remove'); the site's "
              "CephMon nodes say how many there should be"),
    CheckSpec("CLUSTER-004", ("R18",), "All OSDs of each cluster are up and in",
              "Start or replace the down OSDs ('ceph osd tree' shows them) and mark them in; purge OSDs that were "
              "never deployed"),
    CheckSpec("CLUSTER-005", ("R19",), "Pools images, vms and volumes exist with application rbd",
              "Create the pool and run 'ceph osd pool application enable <pool> rbd'; TripleO creates them from "
              "GlanceRbdPoolName, NovaRbdPoolName and CinderRbdPoolName"),
    CheckSpec("CLUSTER-006", ("R21",), "Monitors listen where the monmap says",
              "Start the monitor or correct its address ('ceph mon dump' is what clients are told); open ports "
              "3300 and 6789 on the mon hosts"),
    CheckSpec("KEYS-001", ("R20",), "client.openstack of each cluster has the documented caps",
              "Restore the caps TripleO gives client.openstack: mgr 'allow *', mon 'profile rbd', osd 'profile rbd "
              "pool=<p>' for the vms, volumes and images pools ('ceph auth caps', or redeploy the stack)"),
    CheckSpec("KEYS-002", ("R10", "R20"), "client.external of each cluster has the caps of the source document",
              "Set the caps of client.external in CephExtraKeys to mgr 'allow *', mon 'profile rbd', osd 'profile "
              "rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images' and redeploy the stack"),
    CheckSpec("KEYS-003", ("R22", "R23"), "Each client node holds a keyring for every cluster it uses, 0600 root",
              "Redeploy the node's stack so the Ceph client role writes the keyring (keys of the "
              "CephExternalMultiConfig item for another site's cluster) with mode 0600, owner root",
              (("mode", "chmod 0600 and chown root the keyring, or redeploy the node's stack so the Ceph client "
                "role writes it with mode 0600, owner root; remove hand edits of the node's Ceph dir"),)),
    CheckSpec("KEYS-004", ("R22",), "Each keyring holds the key its cluster knows",
              "Put the key of 'ceph auth get client.<user>' on that cluster into the keys of the "
              "CephExternalMultiConfig item (CephClientKey or CephExtraKeys for the own cluster) and redeploy"),
    CheckSpec("CONF-001", ("R22", "R23"), "Each client node holds a conf for every cluster it uses, 0644 root",
              "Redeploy the node's stack so the Ceph client role writes <cluster>.conf (another site's cluster "
              "needs an item in CephExternalMultiConfig) with mode 0644, owner root",
              (("mode", "chmod 0644 and chown root the conf (containers read it as another user), or redeploy "
                "the node's stack so the Ceph client role writes it with mode 0644, owner root"),)),
    CheckSpec("CONF-002", ("R24",), "Each conf names the fsid of its cluster",
              "Set fsid of the CephExternalMultiConfig item (CephClusterFSID for the own cluster) to what 'ceph "
              "fsid' says on that cluster, and redeploy"),
    CheckSpec("CONF-003", ("R24",), "Each conf's mon host reaches exactly its cluster's monitors",
              "Set external_cluster_mon_ips of the CephExternalMultiConfig item to the monitors 'ceph mon dump' "
              "lists on that cluster, and redeploy"),
    CheckSpec("CONF-004", ("R25",), "Confs of other sites' clusters name the shared user's keyring",
              "Add ceph_conf_overrides: {client: {keyring: /etc/ceph/<cluster>.client.<user>.keyring}} to the "
              "CephExternalMultiConfig item, and redeploy"),
    CheckSpec("CONF-005", ("R25",), "Computes give qemu the [client.libvirt] admin socket and log",
              "Redeploy the stack so the Ceph client role writes [client.libvirt] (admin socket, log file) "
              "again; remove hand edits of the conf"),
    CheckSpec("CONF-006", ("R27", "R28"), "Each site reaches the other site's images pool and may write it",
              "Give the shared user (client.external with key option 2) 'profile rbd pool=images' on that cluster "
              "(CephExtraKeys) and ship its conf and keyring (CephExternalMultiConfig) to the client site"),
    # --- functional: images (suites/creates/test_image_copies.py) ---
    CheckSpec("IMAGE-001", ("R43",), "An image uploaded to central's store is active, raw, in that store only",
              "Set central's GlanceBackendID to its store ID (central) and let client.openstack write central's "
              "images pool (CephClientUserName, caps 'profile rbd pool=images')"),
    CheckSpec("IMAGE-010", ("R44",), "A web-download import of a qcow2 lands in central's store as raw",
              "Keep web-download in GlanceEnabledImportMethods and image_conversion in GlanceImageImportPlugins (THT "
              "adds it with NovaEnableRbdBackend) with GlanceImageConversionOutputFormat: raw"),
    CheckSpec("IMAGE-002", ("R45", "R46"), "One copy-image call puts the image into every DCN store",
              "Enable copy-image (GlanceEnabledImportMethods) and give central's Glance a store for the site "
              "(glance-dcn-stores.yaml) whose user may write the site's images pool"),
    CheckSpec("IMAGE-003", ("R47",), "Each store's location is rbd://<that site's fsid>/images/<id>/snap",
              "Point the store's GlanceMultistoreConfig item (CephClusterName) and CephExternalMultiConfig item "
              "(fsid) at the site's own cluster"),
    CheckSpec("IMAGE-004", ("R48",), "The image keeps one hash and the same bytes at every site's Glance",
              "Delete the site's copy (glance stores-delete) and copy-image it again; the store's cluster returned "
              "other bytes than were uploaded",
              behaviour="Glance copies and serves the bytes RBD holds; no deployment parameter changes them, only a "
              "bug or damage behind Glance"),
    CheckSpec("IMAGE-005", ("R49",), "Each cluster holds <id> and a protected <id>@snap of the image's size",
              "Let Glance write its copies (no rbd rm, cp or unprotect behind it): delete the store's copy and "
              "copy-image it again",
              behaviour="Glance's RBD store writes <id> and a protected <id>@snap on every write; a fresh copy has "
              "them whatever the deployment says (the read-only checks judge images changed behind Glance)"),
    CheckSpec("IMAGE-006", ("R50",), "Glance refuses copies of a non-active image and to an unknown store",
              "Upgrade Glance to a release with the copy-existing-image checks",
              behaviour="Glance's own API rules for copy-image; no deployment parameter changes them"),
    CheckSpec("IMAGE-007", ("R51",), "Deleting a store's copy removes only that copy and its RBD image",
              "Use python-glanceclient > 3.1.0 (glance stores-delete) and a Glance whose store user may delete in "
              "the site's images pool ('profile rbd pool=images')",
              behaviour="Glance's multistore delete; the store user's 'profile rbd' caps, which every working copy "
              "needs, include deleting"),
    CheckSpec("IMAGE-008", ("R51", "R52"), "The last location stays; a full delete empties every cluster",
              "Give every store's user delete rights in its images pool ('profile rbd pool=images') so Glance "
              "removes each copy; remove leftovers with 'rbd snap unprotect/purge' and 'rbd rm'",
              behaviour="Glance's own delete rules; the caps every working copy needs include deleting"),
    CheckSpec("IMAGE-009", ("R53",), "A store's copy with a COW child at the site is not deleted",
              "Keep Glance's RBD store from deleting parents of clones (no rbd_store flattening hand edits)",
              behaviour="RBD refuses to remove a snapshot with clones and Glance answers 409; no deployment "
              "parameter changes that"),
    # --- functional: boots (suites/creates/test_cow_boots.py) ---
    CheckSpec("BOOT-001", ("R54", "R55", "R57"), "A server boots in the site's AZ as a COW clone of the site's image",
              "Keep NovaEnableRbdBackend with the site's CephClusterName and NovaRbdPoolName, show locations to the "
              "site's Nova (its GlanceApiEdge) and leave the site in its AZ (NovaComputeAvailabilityZone)",
              (("flat", "Let Nova see the image's location in the site's store: Nova talks to the site's "
                "GlanceApiEdge, which shows locations, with the site's store as default (GlanceBackendID); "
                "NovaDisableImageDownloadToRbd: true keeps it from downloading"),
               ("not-active", "Look at the server's fault: the site's computes must be up in its AZ "
                "(NovaComputeAvailabilityZone) with the site's cluster as rbd backend"))),
    CheckSpec("BOOT-002", ("R58",), "A boot of an image absent from the site's store does what Nova's settings say",
              "Include environments/dcn-storage.yaml (NovaDisableImageDownloadToRbd: true) and, from Wallaby, set "
              "GlanceBackendID to the site's store so Nova asks Glance to copy the image there"),
    CheckSpec("WAN-001", ("R55", "R57"), "A COW boot at a DCN site reads and writes nothing in central's cluster",
              "Keep the site's Nova on the site's own cluster (NovaEnableRbdBackend with the stack's CephClusterName, "
              "no /etc/ceph/central.conf in images_rbd_ceph_conf) and the image in the site's store"),
    CheckSpec("WAN-002", ("R60",), "A volume from an image at a DCN site reads and writes nothing in central's cluster",
              "Keep the site's cinder-volume on the site's own cluster (CinderEnableRbdBackend with the stack's "
              "CephClusterName) and the image in the site's store"),
    # --- functional: volumes (suites/creates/test_volumes.py) ---
    CheckSpec("VOLUME-001", ("R60",), "A volume from an image in the site's AZ is a clone in the site's volumes pool",
              "Set CinderStorageAvailabilityZone to the site's AZ with the site's cluster as rbd backend, and keep "
              "the image's location visible to the site's Cinder (glance_api_servers = the site's Glance)"),
    CheckSpec("VOLUME-002", ("R61", "R67"), "A server boots in the site's AZ from that volume",
              "Keep Nova's and Cinder's AZ of the site equal (NovaComputeAvailabilityZone, "
              "CinderStorageAvailabilityZone) and the site's computes up"),
    CheckSpec("VOLUME-003", ("R62",), "A one-step boot from volume at the site creates its volume in the site's AZ",
              "Include environments/dcn-storage.yaml or set NovaCrossAZAttach: false in the DCN stack, so Nova asks "
              "Cinder for the volume in the server's AZ"),
    CheckSpec("VOLUME-004", ("R63",), "Attaching a volume of another AZ to a server at the site is refused",
              "Include environments/dcn-storage.yaml or set NovaCrossAZAttach: false in the DCN stack"),
    CheckSpec("VOLUME-005", ("R65",), "A forced snapshot of the in-use root volume stays in the site's cluster",
              "Keep the site's cinder-volume on the site's cluster (CinderEnableRbdBackend, CephClusterName)"),
    CheckSpec("VOLUME-006", ("R66",), "A volume from that snapshot boots in the site's AZ",
              "Keep the site's cinder-volume on the site's cluster and its AZ equal to Nova's"),
    # --- functional: snapshot round trip (suites/creates/test_snapshot_round_trip.py) ---
    CheckSpec("ROUNDTRIP-001", ("R69",), "A server image taken at a site lives only in that site's store",
              "Set the site's GlanceBackendID to its store ID, so its Glance writes snapshots to the local store"),
    CheckSpec("ROUNDTRIP-002", ("R70",), "copy-image takes a site's server image to central under the same ID",
              "Give the site's Glance a 'central' store (GlanceMultistoreConfig) whose user may write central's "
              "images pool (CephExtraKeys caps of client.external on central), with copy-image enabled"),
    CheckSpec("ROUNDTRIP-003", ("R71",), "From central the image goes on to another site and boots COW there",
              "Give central's Glance a store for the other site (glance-dcn-stores.yaml) and that site's Nova its "
              "own cluster"),
    CheckSpec("ROUNDTRIP-004", ("R72",), "What Glance does with a DCN-only image copied straight to another DCN site",
              "Nothing to fix: the outcome is recorded; copy through central, as the document says",
              informational=True),
)  # fmt: skip

CHECKS: dict[str, CheckSpec] = {check.check_id: check for check in _CHECKS}


def explain(check_id: str, where: str, seen: str, expected: str, mode: str = "") -> str:
    """The one-line failure message of a check: where, what was seen, what was expected, what fixes it.

    The fix is the catalogue's remediation of the failure ``mode``, so the message and the report
    always agree.
    """
    return f"{where}: {seen}; expected {expected} ({CHECKS[check_id].remediation_for(mode)})"


def explain_findings(check_id: str, where: str, findings: Sequence[Finding]) -> str:
    """The one-line message of a check's findings: all of them, with the remediation of the first one's mode."""
    seen, expected = describe_findings(findings)
    return explain(check_id, where, seen, expected, findings[0].mode if findings else "")


def get_check(check_id: str) -> CheckSpec:
    """Return the catalogue entry of ``check_id``; raise KeyError for an unknown ID."""
    return CHECKS[check_id]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The failure messages of one check, bound to the check ID its marker names (the ``verdict`` fixture).

    A check writes its ID once, in ``@pytest.mark.check``; its asserts ask this for their message::

        assert not findings, verdict.findings(case.where, findings)
    """

    check_id: str

    def message(self, where: str, seen: str, expected: str, mode: str = "") -> str:
        """The one-line failure message (see ``explain``)."""
        return explain(self.check_id, where, seen, expected, mode)

    def findings(self, where: str, findings: Sequence[Finding]) -> str:
        """The one-line message of ``findings`` (see ``explain_findings``)."""
        return explain_findings(self.check_id, where, findings)
