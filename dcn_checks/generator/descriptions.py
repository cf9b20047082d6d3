"""One line per Heat parameter the generator writes, saying what it does in a DCN deployment.

The line is written as a comment above the parameter, so that an operator reading the generated
files knows what each value is for without the THT sources at hand.
"""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    "CephClusterName": "Name of this stack's Ceph cluster: /etc/ceph/<name>.conf and the keyring prefix.",
    "CephClusterFSID": "fsid of this stack's Ceph cluster; also Nova's and Cinder's rbd_secret_uuid.",
    "CephClientKey": "Secret of client.openstack, the key this stack's own services use.",
    "CephClientUserName": "cephx user (without 'client.') this stack's services use for their own cluster.",
    "CephExtraKeys": "Extra cephx keys to create in this stack's cluster, here the one other sites use.",
    "CephExternalMultiConfig": "Ceph clusters of other stacks this stack is a client of: conf, keyring, mons.",
    "DeployedCeph": "Ceph was deployed before the stack by 'openstack overcloud ceph deploy'.",
    "GlanceBackend": "Type of Glance's default store; rbd keeps images in this site's Ceph cluster.",
    "GlanceBackendID": "Store ID of the default store; every Glance must call this cluster's store the same.",
    "GlanceStoreDescription": "Description of the default store, shown by 'glance stores-info'.",
    "GlanceMultistoreConfig": "Additional Glance stores, keyed by store ID, each on another site's cluster.",
    "GlanceEnabledImportMethods": "Import methods Glance offers; copy-image moves images between sites.",
    "GlanceShowMultipleLocations": "Expose image locations, so Nova and Cinder clone from the local store.",
    "NovaComputeAvailabilityZone": "Availability zone of this stack's computes (aggregate created by NovaAZConfig).",
    "CinderStorageAvailabilityZone": "Availability zone of this stack's cinder-volume; must equal the Nova AZ.",
    "CinderVolumeCluster": "Name of the active/active cinder-volume cluster of this site.",
    "ManageNetworks": "Networks are managed by the central stack, not by this DCN stack.",
    "NovaCrossAZAttach": "Nova attaches only volumes of the server's own AZ ([cinder] cross_az_attach).",
}


def describe(name: str) -> str:
    """Return the one-line description of a parameter; every emitted parameter must have one."""
    return DESCRIPTIONS[name]
