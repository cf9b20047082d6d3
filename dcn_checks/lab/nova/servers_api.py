"""Server requests of the model's Compute API: create, list, show, delete, actions, volume attachments.

What nova-api decides itself happens here, with the controller's nova.conf, as in
``nova/compute/api.py``: the requested AZ must be one of the compute hosts' zones, the image must be
active and fit the flavor, existing volumes are checked (``_validate_vol_az_for_create``) and
reserved with an attachment, a snapshot's image record is created in Glance. The rest is handed to
``compute`` in a worker thread (the RPC cast), so create answers 202 with the server in BUILD.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dcn_checks.lab.nova import decisions, image_api, views, volume_api
from dcn_checks.lab.nova.block_devices import BlockDeviceError, device_name
from dcn_checks.lab.nova.compute import Compute, cinder_client, utcnow
from dcn_checks.lab.nova.conf import NovaConf
from dcn_checks.lab.nova.decisions import GIB
from dcn_checks.lab.nova.inventory_api import zone_of
from dcn_checks.lab.nova.protocol import ApiRequest, HttpError, Reply, as_bool, invalid_state, ok, require_admin, tail
from dcn_checks.lab.nova.records import BlockDevice, Flavor, Server
from dcn_checks.lab.nova.service_client import ApiError, ServiceClient, find_endpoint
from dcn_checks.lab.nova.state import NovaState, StateNotFound

log = logging.getLogger(__name__)

_BFV_SIZE = "Images with destination_type 'volume' need to have a non-zero size specified"
Submit = Callable[..., None]


def parse_block_devices(items: Iterable[Mapping[str, Any]]) -> tuple[BlockDevice, ...]:
    """``block_device_mapping_v2`` -> BlockDevices (``BlockDeviceDict.from_api``), boot index 0 first."""
    devices = []
    for item in items:
        source = str(item.get("source_type", ""))
        destination = str(item.get("destination_type") or ("volume" if source in ("volume", "snapshot") else "local"))
        if source not in ("image", "volume", "snapshot", "blank") or destination not in ("local", "volume"):
            raise HttpError(400, "Block Device Mapping is Invalid: Unrecognized legacy format.")
        boot_index = item.get("boot_index")
        index = int(boot_index) if boot_index not in (None, "", "none") else None
        size = item.get("volume_size")
        uuid_value = item.get("uuid")
        devices.append(
            BlockDevice(
                source_type=source,  # type: ignore[arg-type]  # checked above
                destination_type=destination,  # type: ignore[arg-type]
                boot_index=index if index is None or index >= 0 else None,
                uuid=str(uuid_value) if uuid_value else None,
                volume_size=int(size) if size not in (None, "") else None,
                delete_on_termination=as_bool(item.get("delete_on_termination", False)),
                volume_type=item.get("volume_type"),
                volume_id=str(uuid_value) if source == "volume" and uuid_value else None,
            )
        )
    return tuple(sorted(devices, key=lambda d: (d.boot_index is None, d.boot_index or 0)))


class ServersApi:
    """Handlers of ``/servers`` and its sub-resources."""

    def __init__(self, *, state: NovaState, compute: Compute, conf: NovaConf, submit: Submit) -> None:
        self.state = state
        self.compute = compute
        self.conf = conf
        self.submit = submit

    def routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        server = r"/servers/(?P<server_id>[^/]+)"
        attachment = server + r"/os-volume_attachments/(?P<volume_id>[^/]+)"
        return [
            ("GET", r"/servers", self.list_servers),
            ("GET", r"/servers/detail", self.list_servers_detail),
            ("POST", r"/servers", self.create_server),
            ("GET", server, self.show_server),
            ("DELETE", server, self.delete_server),
            ("POST", server + "/action", self.server_action),
            ("GET", server + "/os-volume_attachments", self.list_attachments),
            ("POST", server + "/os-volume_attachments", self.attach_volume),
            ("GET", attachment, self.show_attachment),
            ("DELETE", attachment, self.detach_volume),
        ]

    # --- helpers ----------------------------------------------------------------------------------

    def _server(self, req: ApiRequest, server_id: str) -> Server:
        try:
            server = self.state.get_server(server_id)
        except StateNotFound:
            raise HttpError(404, f"Instance {server_id} could not be found.") from None
        if server.project_id != req.ctx.project_id and not req.ctx.is_admin:
            raise HttpError(404, f"Instance {server_id} could not be found.")
        return server

    def _glance(self, req: ApiRequest) -> ServiceClient:
        url = self.conf.glance_endpoint_override or find_endpoint(req.ctx.catalog, "image")
        if url is None:
            raise HttpError(500, "No image endpoint in the service catalog")
        return ServiceClient(url, req.ctx.token)

    # --- servers ----------------------------------------------------------------------------------

    def _visible_servers(self, req: ApiRequest) -> list[Server]:
        all_tenants = as_bool(req.param("all_tenants") or False)
        if all_tenants:
            require_admin(req, "os_compute_api:servers:index:get_all_tenants")
        servers = self.state.servers(None if all_tenants else req.ctx.project_id)
        name = req.param("name")
        if name:
            pattern = re.compile(name)
            servers = [s for s in servers if pattern.search(s.name)]
        status = req.param("status")
        if status:
            servers = [s for s in servers if s.status == status.upper()]
        return list(reversed(servers))  # newest first, as Nova sorts by created_at desc

    def list_servers(self, req: ApiRequest) -> Reply:
        return ok({"servers": [views.server_summary(s, req.base_url) for s in self._visible_servers(req)]})

    def list_servers_detail(self, req: ApiRequest) -> Reply:
        servers = self._visible_servers(req)
        return ok(
            {"servers": [views.server_view(s, req.version, req.base_url, is_admin=req.ctx.is_admin) for s in servers]}
        )

    def show_server(self, req: ApiRequest, server_id: str) -> Reply:
        server = self._server(req, server_id)
        return ok({"server": views.server_view(server, req.version, req.base_url, is_admin=req.ctx.is_admin)})

    def create_server(self, req: ApiRequest) -> Reply:
        """``ServersController.create`` -> ``compute.api.API.create``, then the conductor's scheduling."""
        body = (req.body or {}).get("server")
        if not isinstance(body, Mapping) or not body.get("name"):
            raise HttpError(400, "Invalid input for field/attribute server. 'name' is a required property")
        flavor_id = tail(str(body.get("flavorRef", "")))
        try:
            flavor = self.state.get_flavor(flavor_id)
        except StateNotFound:
            raise HttpError(400, f"Flavor {flavor_id} could not be found.") from None
        devices = parse_block_devices(body.get("block_device_mapping_v2") or [])
        image_id = tail(str(body.get("imageRef") or ""))
        volume_backed = any(d.is_root_volume for d in devices)
        if not volume_backed and not image_id:
            root = next((d for d in devices if d.boot_index == 0 and d.source_type == "image"), None)
            image_id = root.uuid or "" if root else ""
        if not volume_backed and not image_id:
            raise HttpError(400, "Missing imageRef attribute")
        requested = str(body.get("availability_zone") or "").split(":", 1)[0] or self.conf.default_schedule_zone
        compute_hosts = self.state.compute_hosts()
        aggregates = self.state.aggregates()
        if requested and requested not in decisions.available_zones(
            compute_hosts, aggregates, self.conf.default_availability_zone
        ):
            raise HttpError(400, decisions.AZ_NOT_AVAILABLE)
        server_id = str(uuid.uuid4())
        image_properties: dict[str, str] = {}
        if volume_backed:
            image_id = ""
            for device in devices:
                if device.destination_type == "volume" and device.source_type != "volume" and not device.volume_size:
                    raise HttpError(400, _BFV_SIZE)
        else:
            image_properties = self._check_image(req, image_id, flavor)
        devices, requested = self._reserve_volumes(req, server_id, devices, requested)
        now = utcnow()
        metadata = body.get("metadata") or {}
        server = Server(
            id=server_id,
            name=str(body["name"]),
            project_id=req.ctx.project_id,
            user_id=req.ctx.user_id,
            flavor=flavor,
            image_id=image_id,
            created=now,
            updated=now,
            requested_az=requested,
            availability_zone=requested,
            block_devices=devices,
            metadata={str(k): str(v) for k, v in metadata.items()},
            key_name=body.get("key_name"),
            description=body.get("description"),
            image_properties=image_properties,
        )
        self.state.add_server(server)
        hosts = decisions.hosts_for_zone(requested, compute_hosts, aggregates, self.conf.default_availability_zone)
        host = hosts[0] if hosts else None
        zone = zone_of(self.state, self.conf, host) if host else None
        self.submit(self.compute.build, req.ctx, server_id, host, zone)
        reply = {
            "id": server_id,
            "links": views.server_summary(server, req.base_url)["links"],
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
            "adminPass": secrets.token_urlsafe(9),
        }
        return ok({"server": reply}, 202, [("Location", f"{req.base_url}/v2.1/servers/{server_id}")])

    def _check_image(self, req: ApiRequest, image_id: str, flavor: Flavor) -> dict[str, str]:
        """The API's image checks (``_check_requested_image``): exists, active, fits the flavor's disk."""
        try:
            image = image_api.get_image(self._glance(req), image_id)
        except image_api.ImageNotFound:
            raise HttpError(400, f"Image {image_id} could not be found.") from None
        if image.status != "active":
            raise HttpError(400, f"Image {image_id} is not active.")
        if flavor.disk and image.size and image.size > flavor.disk * GIB:
            raise HttpError(
                400,
                "Flavor's disk is too small for requested image. Flavor disk is "
                f"{flavor.disk * GIB} bytes, image is {image.size} bytes.",
            )
        if flavor.disk and image.min_disk > flavor.disk:
            raise HttpError(
                400,
                "Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is "
                f"{flavor.disk * GIB} bytes, minimum size is {image.min_disk * GIB} bytes.",
            )
        return {"min_disk": str(max(image.min_disk, flavor.disk))}

    def _reserve_volumes(
        self, req: ApiRequest, server_id: str, devices: tuple[BlockDevice, ...], requested: str | None
    ) -> tuple[tuple[BlockDevice, ...], str | None]:
        """Existing volumes: get them, ``_validate_vol_az_for_create`` (API conf), reserve with an attachment."""
        existing = [d for d in devices if d.source_type == "volume" and d.volume_id]
        if not existing:
            return devices, requested
        try:
            cinder = cinder_client(req.ctx)
        except BlockDeviceError as err:
            raise HttpError(400, str(err)) from None
        volumes = {}
        for device in existing:
            assert device.volume_id is not None
            try:
                volume = volume_api.get_volume(cinder, device.volume_id)
            except ApiError:
                raise HttpError(
                    400, f"Block Device Mapping is Invalid: failed to get volume {device.volume_id}."
                ) from None
            if volume.status != "available":
                raise HttpError(
                    400,
                    f"Invalid volume: volume '{volume.id}' status must be 'available'. Currently in '{volume.status}'",
                )
            volumes[volume.id] = volume
        zones = [str(v.availability_zone) for v in volumes.values()]
        mismatch = decisions.validate_volume_azs_for_create(self.conf, requested, zones)
        if mismatch is not None:
            raise HttpError(409, decisions.az_mismatch_message(mismatch))
        requested = decisions.adopted_zone(self.conf, requested, zones) or requested
        reserved = []
        for device in devices:
            if device.source_type == "volume" and device.volume_id:
                attachment = volume_api.attachment_create(cinder, device.volume_id, server_id)
                device = dataclasses.replace(
                    device, attachment_id=attachment, volume_size=volumes[device.volume_id].size
                )
            reserved.append(device)
        return tuple(reserved), requested

    def delete_server(self, req: ApiRequest, server_id: str) -> Reply:
        server = self._server(req, server_id)
        if server.task_state != "deleting":
            self.state.update_server(server_id, lambda s: dataclasses.replace(s, task_state="deleting"))
            self.submit(self.compute.delete, req.ctx, server_id)
        return ok(None, 204)

    def server_action(self, req: ApiRequest, server_id: str) -> Reply:
        server = self._server(req, server_id)
        body = req.body or {}
        if "os-stop" in body:
            if server.vm_state not in ("active", "error") or server.task_state is not None:
                raise invalid_state("stop", server)
            self.state.update_server(server_id, lambda s: dataclasses.replace(s, task_state="powering-off"))
            self.submit(self.compute.stop, req.ctx, server_id)
            return ok(None, 202)
        if "os-start" in body:
            if server.vm_state != "stopped" or server.task_state is not None:
                raise invalid_state("start", server)
            self.state.update_server(server_id, lambda s: dataclasses.replace(s, task_state="powering-on"))
            self.submit(self.compute.start, req.ctx, server_id)
            return ok(None, 202)
        if "createImage" in body:
            return self._create_image(req, server, body["createImage"] or {})
        raise HttpError(400, f"There is no such action: {', '.join(body) or 'none'}")

    def _create_image(self, req: ApiRequest, server: Server, args: Mapping[str, Any]) -> Reply:
        """``ServersController._action_create_image`` -> ``compute.api.API.snapshot`` (image-backed servers)."""
        name = args.get("name")
        if not name:
            raise HttpError(400, "Invalid input for field/attribute name. Value: None. None is not of type 'string'")
        if server.vm_state not in ("active", "stopped"):
            raise invalid_state("createImage", server)
        if server.task_state is not None:
            raise invalid_state("createImage", server, "task_state")
        if server.is_volume_backed:
            raise HttpError(
                409, "The model snapshots image-backed servers only (snapshot_volume_backed is not modelled)"
            )
        properties = {
            "instance_uuid": server.id,
            "user_id": req.ctx.user_id,
            "image_type": "snapshot",
            "base_image_ref": server.image_id,
            "owner_project_name": req.ctx.project_name,
            "owner_user_name": req.ctx.user_name,
            **{str(k): str(v) for k, v in (args.get("metadata") or {}).items()},
        }
        glance = self._glance(req)
        min_disk = int(server.image_properties.get("min_disk", server.flavor.disk) or 0)
        try:
            image_id = image_api.create_image(
                glance, {"name": str(name), "visibility": "private", "min_disk": min_disk, **properties}
            )
        except ApiError as err:
            raise HttpError(400, f"Image creation failed: {err.message}") from None
        self.state.update_server(server.id, lambda s: dataclasses.replace(s, task_state="image_snapshot"))
        self.submit(self.compute.snapshot, req.ctx, server.id, image_id)
        headers = [("Location", f"{glance.base_url}/images/{image_id}")]
        body = {"image_id": image_id} if req.version >= (2, 45) else None
        return ok(body, 202, headers)

    # --- volume attachments -----------------------------------------------------------------------

    def list_attachments(self, req: ApiRequest, server_id: str) -> Reply:
        server = self._server(req, server_id)
        return ok(
            {
                "volumeAttachments": [
                    views.volume_attachment_view(server.id, b, req.version) for b in server.attached_volumes
                ]
            }
        )

    def show_attachment(self, req: ApiRequest, server_id: str, volume_id: str) -> Reply:
        server = self._server(req, server_id)
        for bdm in server.attached_volumes:
            if bdm.volume_id == volume_id:
                return ok({"volumeAttachment": views.volume_attachment_view(server.id, bdm, req.version)})
        raise HttpError(404, f"Volume {volume_id} is not attached to the instance {server_id}")

    def attach_volume(self, req: ApiRequest, server_id: str) -> Reply:
        """``compute.api.API.attach_volume``: reserve with the API's AZ check, the compute attaches."""
        server = self._server(req, server_id)
        args = (req.body or {}).get("volumeAttachment") or {}
        volume_id = str(args.get("volumeId") or "")
        if server.vm_state not in ("active", "stopped") or server.task_state is not None:
            raise invalid_state("attach_volume", server)
        cinder = cinder_client(req.ctx)
        try:
            volume = volume_api.get_volume(cinder, volume_id)
        except ApiError:
            raise HttpError(404, f"Volume {volume_id} could not be found.") from None
        if any(b.volume_id == volume_id for b in server.block_devices):
            raise HttpError(400, f"Invalid volume: volume {volume_id} already attached")
        refused = decisions.check_availability_zone(
            self.conf, server.id, server.availability_zone, volume.id, volume.availability_zone
        )
        if refused is not None:
            raise HttpError(400, refused)
        try:
            attachment = volume_api.attachment_create(cinder, volume_id, server.id)
        except ApiError as err:
            raise HttpError(400, f"Invalid volume: {err.message}") from None
        index = len(server.block_devices)
        used = {b.device_name for b in server.block_devices}
        device = next(d for d in (device_name(i) for i in range(1, 26)) if d not in used)
        bdm = BlockDevice(
            source_type="volume",
            destination_type="volume",
            boot_index=None,
            uuid=volume_id,
            volume_id=volume_id,
            attachment_id=attachment,
            device_name=device,
            delete_on_termination=as_bool(args.get("delete_on_termination", False)),
        )
        self.state.update_server(server.id, lambda s: dataclasses.replace(s, block_devices=(*s.block_devices, bdm)))
        self.submit(self.compute.attach_volume, req.ctx, server.id, index)
        return ok({"volumeAttachment": views.volume_attachment_view(server.id, bdm, req.version)})

    def detach_volume(self, req: ApiRequest, server_id: str, volume_id: str) -> Reply:
        server = self._server(req, server_id)
        bdm = next((b for b in server.block_devices if b.volume_id == volume_id), None)
        if bdm is None:
            raise HttpError(404, f"Volume {volume_id} is not attached to the instance {server_id}")
        if bdm.boot_index == 0:
            raise HttpError(400, "Cannot detach a root device volume")
        self.submit(self.compute.detach_volume, req.ctx, server.id, volume_id)
        return ok(None, 202)
