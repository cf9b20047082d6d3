"""A model of Nova for the embedded lab: the Compute API, and the RBD work of Nova's libvirt driver.

Real Nova needs a hypervisor, which the lab does not have. What the DCN checks observe of Nova is
its API and what it leaves in Ceph and Glance: a server's AZ and host, a COW clone
``vms/<server>_disk`` of ``images/<id>@snap``, a refused boot with Nova's own message, a volume
Nova asked Cinder for in one AZ or another, a snapshot in the local images pool registered in
Glance. This package performs exactly those operations, deciding each the way Nova's code does
from the node's rendered ``nova.conf``, so a wrong parameter changes what happens. Servers have no
guest: their status follows the storage operations.

One module per concept:

- ``conf``: a node's nova.conf -> ``NovaConf``;
- ``decisions``: pure choices (boot path, AZs, hosts, libvirt secrets) and Nova's messages;
- ``records`` / ``state``: servers, flavors, aggregates, services, and their sqlite store;
- ``context``, ``service_client``, ``image_api``, ``volume_api``: Glance and Cinder as Nova calls them;
- ``rbd_backend``: the RBD commands of the libvirt RBD image backend, run on the compute node;
- ``block_devices``: a server's volumes (create, AZ check, attachments, guest disks);
- ``compute``: nova-compute's work (build, stop/start, snapshot, delete, attach);
- ``protocol``, ``views``, ``servers_api``, ``inventory_api``, ``api``: the Compute v2.1 API;
- ``wsgi`` / ``service``: the uwsgi process of the lab; ``deployment``: nova-api and NovaAZConfig in ``lab up``.
"""
