"""The cloud's inventory in the model's Compute API: flavors, aggregates, services, availability zones.

NovaAZConfig builds each stack's aggregate through these calls (``deployment``), and the checks read
them back (``openstack aggregate show``, ``availability zone list --compute``, ``compute service
list``). A compute service's zone is its host's aggregate AZ, or ``[DEFAULT]
default_availability_zone``; the other services are in ``internal_service_availability_zone``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

from dcn_checks.lab.nova import decisions, views
from dcn_checks.lab.nova.compute import utcnow
from dcn_checks.lab.nova.conf import NovaConf
from dcn_checks.lab.nova.protocol import ApiRequest, HttpError, Reply, as_bool, ok, require_admin
from dcn_checks.lab.nova.records import Aggregate, Flavor
from dcn_checks.lab.nova.state import NovaState, StateConflict, StateNotFound


def zone_of(state: NovaState, conf: NovaConf, host: str) -> str:
    """The AZ of a compute host, from the aggregates as they are now."""
    return decisions.host_availability_zone(host, state.aggregates(), conf.default_availability_zone)


class InventoryApi:
    """Handlers of ``/flavors``, ``/os-aggregates``, ``/os-services``, ``/os-availability-zone`` and
    ``/os-server-external-events``."""

    def __init__(self, *, state: NovaState, conf: NovaConf) -> None:
        self.state = state
        self.conf = conf

    def routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        flavor = r"/flavors/(?P<flavor_id>[^/]+)"
        aggregate = r"/os-aggregates/(?P<aggregate_id>[^/]+)"
        return [
            ("GET", r"/flavors", self.list_flavors),
            ("GET", r"/flavors/detail", self.list_flavors_detail),
            ("POST", r"/flavors", self.create_flavor),
            ("GET", flavor, self.show_flavor),
            ("DELETE", flavor, self.delete_flavor),
            ("GET", flavor + "/os-extra_specs", self.list_extra_specs),
            ("POST", flavor + "/os-extra_specs", self.set_extra_specs),
            ("GET", r"/os-aggregates", self.list_aggregates),
            ("POST", r"/os-aggregates", self.create_aggregate),
            ("GET", aggregate, self.show_aggregate),
            ("PUT", aggregate, self.update_aggregate),
            ("DELETE", aggregate, self.delete_aggregate),
            ("POST", aggregate + "/action", self.aggregate_action),
            ("GET", r"/os-services", self.list_services),
            ("GET", r"/os-availability-zone", self.list_zones),
            ("GET", r"/os-availability-zone/detail", self.list_zones_detail),
            ("POST", r"/os-server-external-events", self.external_events),
        ]

    # --- flavors ----------------------------------------------------------------------------------

    def _flavor(self, flavor_id: str) -> Flavor:
        try:
            return self.state.get_flavor(flavor_id)
        except StateNotFound:
            raise HttpError(404, f"Flavor {flavor_id} could not be found.") from None

    def list_flavors(self, req: ApiRequest) -> Reply:
        return ok({"flavors": [views.flavor_summary(f, req.version, req.base_url) for f in self.state.flavors()]})

    def list_flavors_detail(self, req: ApiRequest) -> Reply:
        return ok({"flavors": [views.flavor_view(f, req.version, req.base_url) for f in self.state.flavors()]})

    def show_flavor(self, req: ApiRequest, flavor_id: str) -> Reply:
        return ok({"flavor": views.flavor_view(self._flavor(flavor_id), req.version, req.base_url)})

    def create_flavor(self, req: ApiRequest) -> Reply:
        require_admin(req, "os_compute_api:os-flavor-manage:create")
        body = (req.body or {}).get("flavor") or {}
        try:
            flavor = Flavor(
                id=str(body.get("id") or uuid.uuid4()),
                name=str(body["name"]),
                ram=int(body["ram"]),
                vcpus=int(body["vcpus"]),
                disk=int(body.get("disk", 0)),
                ephemeral=int(body.get("OS-FLV-EXT-DATA:ephemeral", 0) or 0),
                swap=int(body.get("swap", 0) or 0),
                rxtx_factor=float(body.get("rxtx_factor", 1.0)),
                is_public=as_bool(body.get("os-flavor-access:is_public", True)),
                description=body.get("description"),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise HttpError(400, f"Invalid input for field/attribute flavor: {err}") from None
        try:
            self.state.create_flavor(flavor)
        except StateConflict as err:
            raise HttpError(409, str(err)) from None
        return ok({"flavor": views.flavor_view(flavor, req.version, req.base_url)})

    def delete_flavor(self, req: ApiRequest, flavor_id: str) -> Reply:
        require_admin(req, "os_compute_api:os-flavor-manage:delete")
        try:
            self.state.delete_flavor(flavor_id)
        except StateNotFound:
            raise HttpError(404, f"Flavor {flavor_id} could not be found.") from None
        return ok(None, 202)

    def list_extra_specs(self, req: ApiRequest, flavor_id: str) -> Reply:
        return ok({"extra_specs": dict(self._flavor(flavor_id).extra_specs)})

    def set_extra_specs(self, req: ApiRequest, flavor_id: str) -> Reply:
        require_admin(req, "os_compute_api:os-flavor-extra-specs:create")
        flavor = self._flavor(flavor_id)
        specs = {str(k): str(v) for k, v in ((req.body or {}).get("extra_specs") or {}).items()}
        updated = dataclasses.replace(flavor, extra_specs={**flavor.extra_specs, **specs})
        self.state.delete_flavor(flavor_id)
        self.state.create_flavor(updated)
        return ok({"extra_specs": dict(updated.extra_specs)})

    # --- aggregates -------------------------------------------------------------------------------

    def _aggregate(self, req: ApiRequest, aggregate_id: str) -> Aggregate:
        require_admin(req, "os_compute_api:os-aggregates:show")
        try:
            return self.state.get_aggregate(int(aggregate_id))
        except (ValueError, StateNotFound):
            raise HttpError(404, f"Aggregate {aggregate_id} could not be found.") from None

    def list_aggregates(self, req: ApiRequest) -> Reply:
        require_admin(req, "os_compute_api:os-aggregates:index")
        return ok({"aggregates": [views.aggregate_view(a, req.version) for a in self.state.aggregates()]})

    def show_aggregate(self, req: ApiRequest, aggregate_id: str) -> Reply:
        return ok({"aggregate": views.aggregate_view(self._aggregate(req, aggregate_id), req.version)})

    def create_aggregate(self, req: ApiRequest) -> Reply:
        """``AggregateController.create``; an AZ may not be the internal services' zone."""
        require_admin(req, "os_compute_api:os-aggregates:create")
        body = (req.body or {}).get("aggregate") or {}
        name = str(body.get("name") or "")
        zone = body.get("availability_zone") or None
        if not name:
            raise HttpError(400, "Invalid input for field/attribute name.")
        if zone == self.conf.internal_service_availability_zone:
            raise HttpError(400, "Aggregates cannot have the internal availability zone as their availability zone.")
        try:
            aggregate = self.state.create_aggregate(name, zone, utcnow())
        except StateConflict:
            raise HttpError(409, f"Aggregate {name} already exists.") from None
        return ok({"aggregate": views.aggregate_view(aggregate, req.version)})

    def update_aggregate(self, req: ApiRequest, aggregate_id: str) -> Reply:
        aggregate = self._aggregate(req, aggregate_id)
        body = (req.body or {}).get("aggregate") or {}
        metadata = dict(aggregate.metadata)
        zone = aggregate.availability_zone
        if "availability_zone" in body:
            zone = body["availability_zone"] or None
            if zone:
                metadata["availability_zone"] = zone
            else:
                metadata.pop("availability_zone", None)
        updated = dataclasses.replace(
            aggregate, name=str(body.get("name") or aggregate.name), availability_zone=zone, metadata=metadata,
            updated_at=utcnow(),
        )  # fmt: skip
        self.state.save_aggregate(updated)
        return ok({"aggregate": views.aggregate_view(updated, req.version)})

    def delete_aggregate(self, req: ApiRequest, aggregate_id: str) -> Reply:
        aggregate = self._aggregate(req, aggregate_id)
        if aggregate.hosts:
            raise HttpError(400, f"Cannot remove aggregate {aggregate.id}: it still has hosts")
        self.state.delete_aggregate(aggregate.id)
        return ok(None, 200)

    def aggregate_action(self, req: ApiRequest, aggregate_id: str) -> Reply:
        aggregate = self._aggregate(req, aggregate_id)
        body = req.body or {}
        if "add_host" in body:
            host = str((body["add_host"] or {}).get("host", ""))
            if host not in self.state.compute_hosts():
                raise HttpError(404, f"Compute host {host} could not be found.")
            if host in aggregate.hosts:
                raise HttpError(409, f"Aggregate {aggregate.id} already has host {host}.")
            other = {a.availability_zone for a in self.state.aggregates() if host in a.hosts and a.availability_zone}
            if aggregate.availability_zone and other - {aggregate.availability_zone}:
                raise HttpError(
                    400,
                    f"Cannot add host to aggregate {aggregate.id}. Reason: One or more hosts already in "
                    f"availability zone(s) {sorted(other)}.",
                )
            aggregate = dataclasses.replace(aggregate, hosts=(*aggregate.hosts, host), updated_at=utcnow())
        elif "remove_host" in body:
            host = str((body["remove_host"] or {}).get("host", ""))
            if host not in aggregate.hosts:
                raise HttpError(404, f"Cannot remove host {host} in aggregate {aggregate.id}")
            aggregate = dataclasses.replace(
                aggregate, hosts=tuple(h for h in aggregate.hosts if h != host), updated_at=utcnow()
            )
        elif "set_metadata" in body:
            changes = (body["set_metadata"] or {}).get("metadata") or {}
            metadata = dict(aggregate.metadata)
            for key, value in changes.items():
                if value is None:
                    metadata.pop(str(key), None)
                else:
                    metadata[str(key)] = str(value)
            aggregate = dataclasses.replace(
                aggregate, metadata=metadata, availability_zone=metadata.get("availability_zone"), updated_at=utcnow()
            )
        else:
            raise HttpError(400, f"Invalid request body: unknown action {', '.join(body)}")
        self.state.save_aggregate(aggregate)
        return ok({"aggregate": views.aggregate_view(aggregate, req.version)})

    def external_events(self, req: ApiRequest) -> Reply:
        """``os-server-external-events`` (Cinder's volume-extended and the like): acknowledged, nothing to do
        without a guest; unknown servers get 404 per event, as in Nova."""
        require_admin(req, "os_compute_api:os-server-external-events:create")
        events = []
        for event in (req.body or {}).get("events") or []:
            known = True
            try:
                self.state.get_server(str(event.get("server_uuid")))
            except StateNotFound:
                known = False
            events.append({**event, "status": "completed" if known else "failed", "code": 200 if known else 404})
        status = 200 if any(e["code"] == 200 for e in events) else 404
        return ok({"events": events}, status)

    # --- services and zones -----------------------------------------------------------------------

    def _service_zone(self, binary: str, host: str) -> str:
        if binary == "nova-compute":
            return zone_of(self.state, self.conf, host)
        return self.conf.internal_service_availability_zone

    def list_services(self, req: ApiRequest) -> Reply:
        require_admin(req, "os_compute_api:os-services:list")
        services = self.state.services()
        host = req.param("host")
        binary = req.param("binary")
        services = [s for s in services if (host is None or s.host == host) and (binary is None or s.binary == binary)]
        now = utcnow()
        return ok(
            {
                "services": [
                    views.service_view(
                        dataclasses.replace(s, updated_at=now), self._service_zone(s.binary, s.host), req.version
                    )
                    for s in services
                ]
            }
        )

    def list_zones(self, req: ApiRequest) -> Reply:
        zones = decisions.available_zones(
            self.state.compute_hosts(), self.state.aggregates(), self.conf.default_availability_zone
        )
        return ok(views.availability_zones_view(zones, None))

    def list_zones_detail(self, req: ApiRequest) -> Reply:
        require_admin(req, "os_compute_api:os-availability-zone:detail")
        now = utcnow()
        by_zone: dict[str, list[Any]] = {}
        for service in self.state.services():
            zone = self._service_zone(service.binary, service.host)
            by_zone.setdefault(zone, []).append(dataclasses.replace(service, updated_at=now))
        zones = decisions.available_zones(
            self.state.compute_hosts(), self.state.aggregates(), self.conf.default_availability_zone
        )
        return ok(views.availability_zones_view(zones, by_zone))
