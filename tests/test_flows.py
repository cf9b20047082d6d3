"""The shared flows: the golden image's record, refusals that fail every dependent check once, the fallback copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from dcn_checks import flows
from dcn_checks.errors import GlanceError, WaitFailed
from dcn_checks.flows import Flows, Golden, StepRefused
from dcn_checks.glance import GlanceImage
from dcn_checks.model import model_with_sites
from dcn_checks.workload import ServerState, Workload

MODEL = model_with_sites(2)


def image(stores: set[str], failed: set[str] = frozenset()) -> GlanceImage:  # type: ignore[assignment]
    return GlanceImage(
        image_id="i1", name="dcnchk-3f9a0c1b2d4e-golden", status="active", stores=frozenset(stores),
        importing_to_stores=frozenset(), failed_import=frozenset(failed), import_task=None, location_urls=(),
        direct_url=None, size=8, checksum=None, os_hash_algo="sha512", os_hash_value="h", disk_format="raw",
    )  # fmt: skip


def golden(stores: tuple[str, ...], failed: tuple[str, ...] = (), refusal: str = "") -> Golden:
    return Golden("i1", "g", 8, "h", "s", "raw", ("central",), stores, failed, refusal)


@dataclass
class FakeWorkload:
    """Answers like a cloud that refuses a copy call naming ``broken`` and fails the boots it is told to."""

    broken: str = ""
    boot_error: Exception | None = None
    calls: list[str] = field(default_factory=list)
    stores: set[str] = field(default_factory=lambda: {"central"})

    def upload_image(self, purpose: str, data: bytes, store: str) -> GlanceImage:
        return image(self.stores)

    def copy_image_settled(self, image_id: str, stores: list[str]) -> GlanceImage:
        self.calls.append(",".join(stores))
        if self.broken in stores:
            raise GlanceError("copy", 409, f"Store for identifier {self.broken} not found")
        self.stores |= set(stores)
        return image(self.stores)

    def wait_for_image(self, image_id: str, stores: object) -> GlanceImage:
        return image(self.stores)

    def boot(self, purpose: str, zone: str, **kwargs: Any) -> ServerState:
        self.calls.append(f"boot {purpose}")
        if self.boot_error is not None:
            raise self.boot_error
        return ServerState("s1", purpose, "ACTIVE", zone, f"{zone}-hci-0", "", ())


def test_the_golden_record_survives_its_json_round_trip() -> None:
    made = golden(("central", "dcn0"), ("dcn1",), "HTTP 409: x")
    assert Golden.from_record(made.record()) == made


def test_a_refused_copy_call_falls_back_to_one_store_at_a_time() -> None:
    """Glance refuses the whole call for one unusable store; the other sites still get their copy."""
    fake = FakeWorkload(broken="dcn1")
    made = flows.make_golden(cast(Workload, fake), MODEL)
    assert fake.calls == ["dcn0,dcn1", "dcn0", "dcn1"]
    assert made.stores == ("central", "dcn0")
    assert made.copy_refusal == "HTTP 409: Store for identifier dcn1 not found"


@pytest.mark.parametrize(
    ("made", "message"),
    [
        (golden(("central", "dcn0")), "not copied"),
        (golden(("central", "dcn0"), ("dcn1",)), "os_glance_failed_import"),
        (golden(("central", "dcn0"), (), "HTTP 409: no dcn1"), "HTTP 409: no dcn1"),
    ],
)
def test_a_site_without_the_golden_image_fails_its_flows_with_the_reason(made: Golden, message: str) -> None:
    steps = Flows(cast(Workload, FakeWorkload()), MODEL, lambda: made)
    assert steps.golden("dcn0") is made
    with pytest.raises(StepRefused, match=message):
        steps.golden("dcn1")


def test_a_refused_step_runs_once_and_fails_every_check_that_needs_it() -> None:
    error = WaitFailed("server went to ERROR", reason="ERROR", description="server", elapsed_s=1.0, last_state=None)
    fake = FakeWorkload(boot_error=error)
    steps = Flows(cast(Workload, fake), MODEL, lambda: golden(("central", "dcn0", "dcn1")))
    for _ in range(3):
        with pytest.raises(StepRefused, match="COW boot at dcn0: server went to ERROR"):
            steps.cow_server("dcn0")
    assert fake.calls == ["boot cow-dcn0"]


def test_a_step_that_worked_is_shared() -> None:
    fake = FakeWorkload()
    steps = Flows(cast(Workload, fake), MODEL, lambda: golden(("central", "dcn0", "dcn1")))
    assert steps.cow_server("dcn1") is steps.cow_server("dcn1")
    assert fake.calls == ["boot cow-dcn1"]
