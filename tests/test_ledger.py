"""The run ledger: names, the file on disk, written before any wait, and whether its run still lives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dcn_checks import ledger, waiters
from dcn_checks.errors import BadInputError, InputFileError, TargetError
from dcn_checks.lab.seed import SEED_IMAGE_NAME
from dcn_checks.ledger import Resource

REPO = Path(__file__).resolve().parent.parent
RUN = "3f9a0c1b2d4e"
HEADER = {"ledger": "dcn-checks", "version": 1, "run_id": RUN, "pid": 4242, "host": "ci-7", "started": "2024"}
IMAGE = {"kind": "image", "id": "i1", "name": f"dcnchk-{RUN}-cirros"}
COPY = {"kind": "image_copy", "id": "i1", "name": f"dcnchk-{RUN}-cirros", "store": "dcn1"}


def lines(*events: object) -> str:
    return "".join(json.dumps(event) + "\n" for event in (HEADER, *events))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A target file's path; the ledger needs only its directory."""
    return tmp_path / "target.yaml"


# --- names ----------------------------------------------------------------------------------------


def test_resource_names_carry_the_run_prefix() -> None:
    assert ledger.resource_name(RUN, "cow-dcn0") == "dcnchk-3f9a0c1b2d4e-cow-dcn0"
    assert ledger.resource_name(RUN, "x").startswith(ledger.run_prefix(RUN))


@pytest.mark.parametrize(
    ("run_id", "purpose"),
    [
        pytest.param("lab", "seed", id="lab-is-no-run-id"),
        pytest.param("3F9A0C1B2D4E", "x", id="upper-case"),
        pytest.param("3f9a0c", "x", id="too-short"),
        pytest.param(RUN, "", id="empty-purpose"),
        pytest.param(RUN, "a b", id="space-in-purpose"),
        pytest.param(RUN, "-x", id="purpose-starting-with-dash"),
    ],
)
def test_resource_name_refuses_what_a_sweep_could_confuse(run_id: str, purpose: str) -> None:
    with pytest.raises(ValueError):
        ledger.resource_name(run_id, purpose)


def test_new_run_ids_are_run_ids_and_never_a_lab_fixture_prefix() -> None:
    run_ids = {ledger.new_run_id() for _ in range(50)}
    assert len(run_ids) == 50
    assert all(ledger.is_run_id(run_id) for run_id in run_ids)
    assert not any(ledger.is_lab_fixture(ledger.resource_name(run_id, "x")) for run_id in run_ids)


def test_the_lab_seed_image_is_a_lab_fixture() -> None:
    assert ledger.is_lab_fixture(SEED_IMAGE_NAME)


# --- the file -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(lines(), (), id="header-only"),
        pytest.param(lines({"created": IMAGE}, {"created": COPY}), ("image", "image_copy"), id="created"),
        pytest.param(lines({"created": IMAGE}, {"created": COPY}, {"removed": COPY}), ("image",), id="removed"),
        pytest.param(lines({"created": IMAGE}, {"created": IMAGE}), ("image",), id="recorded-twice"),
        pytest.param(lines({"created": IMAGE}) + '{"created": {"ki', ("image",), id="last-line-cut-short"),
    ],
)
def test_parse_ledger_lists_what_was_created_and_not_removed(text: str, expected: tuple[str, ...]) -> None:
    record = ledger.parse_ledger(text, "l.jsonl")
    assert (record.run_id, record.owner.pid, record.owner.host) == (RUN, 4242, "ci-7")
    assert tuple(resource.kind for resource in record.resources) == expected


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param("", "l.jsonl: empty", id="empty"),
        pytest.param(json.dumps(HEADER | {"version": 2}) + "\n", "line 1", id="other-version"),
        pytest.param(json.dumps(HEADER | {"run_id": "lab"}) + "\n", "line 1", id="not-a-run-id"),
        pytest.param(lines() + "[]\n", "line 2: expected a JSON object", id="not-an-object"),
        pytest.param(lines() + "nonsense\n" + lines(), "line 2: not JSON", id="not-json"),
        pytest.param(lines({"deleted": IMAGE}), "line 2: expected one", id="unknown-event"),
        pytest.param(lines({"created": IMAGE | {"kind": "network"}}), "line 2: not a resource", id="unknown-kind"),
        pytest.param(lines({"created": IMAGE | {"store": "dcn0"}}), "line 2: not a resource", id="image-with-store"),
        pytest.param(lines({"created": COPY | {"store": None}}), "line 2: not a resource", id="copy-without-store"),
    ],
)
def test_parse_ledger_refuses_a_malformed_ledger_naming_the_line(text: str, where: str) -> None:
    with pytest.raises(InputFileError, match=where):
        ledger.parse_ledger(text, "l.jsonl")


def test_record_is_on_disk_before_the_run_waits(target: Path) -> None:
    """What another process reads while the run waits already lists the resource."""
    with ledger.open_ledger(target, RUN) as book:
        book.record("volume", "v1", book.name("data"))
        seen_while_waiting = waiters.wait_for(
            lambda: ledger.find_runs(ledger.ledger_dir(target)), bool, timeout_s=0, description="x"
        )
        book.forget(book.resources[0])
    (run,) = seen_while_waiting
    assert run.live and run.record.resources == (Resource("volume", "v1", f"dcnchk-{RUN}-data"),)
    assert ledger.find_runs(ledger.ledger_dir(target)) == ()


def test_a_ledger_that_still_lists_something_is_kept_and_stale_after_close(target: Path) -> None:
    book = ledger.open_ledger(target, RUN)
    book.record("image_copy", "i1", "operator-image", store_id="dcn0")
    book.close()
    (run,) = ledger.find_runs(ledger.ledger_dir(target))
    assert not run.live
    assert run.path == ledger.ledger_dir(target) / f"{RUN}.jsonl"
    assert run.record.resources == (Resource("image_copy", "i1", "operator-image", "dcn0"),)
    with pytest.raises(ValueError, match="closed"):
        book.record("flavor", "f1")


def test_a_claimed_stale_ledger_belongs_to_the_claimer(target: Path) -> None:
    book = ledger.open_ledger(target, RUN)
    book.record("flavor", "f1")
    book.close()
    path = ledger.ledger_dir(target) / f"{RUN}.jsonl"
    claimed = ledger.claim_ledger(path)
    assert claimed is not None and claimed.resources == (Resource("flavor", "f1"),)
    assert ledger.claim_ledger(path) is None  # a second cleanup finds it held
    assert ledger.find_runs(path.parent)[0].live
    claimed.forget(claimed.resources[0])
    claimed.close()
    assert not path.exists()


def test_a_worker_joins_the_live_run_and_the_holder_sees_its_records(target: Path) -> None:
    """An xdist worker appends to its controller's ledger; it removes only its own, the holder the rest."""
    with ledger.open_ledger(target, RUN) as holder:
        holder.record("flavor", "f1")
        with ledger.join_ledger(target, RUN) as worker:
            worker.record("image", "i1", f"dcnchk-{RUN}-golden")
            worker.record("server", "s1")
            assert worker.resources == (Resource("image", "i1", f"dcnchk-{RUN}-golden"), Resource("server", "s1"))
            worker.forget(Resource("server", "s1"))
        holder.reload()
        assert holder.resources == (Resource("flavor", "f1"), Resource("image", "i1", f"dcnchk-{RUN}-golden"))
        assert holder.path.exists()  # a worker never removes the holder's file
        for resource in holder.resources:
            holder.forget(resource)
    assert ledger.find_runs(ledger.ledger_dir(target)) == ()


def test_only_a_live_run_can_be_joined(target: Path) -> None:
    with pytest.raises(BadInputError, match="no ledger to join"):
        ledger.join_ledger(target, RUN)
    book = ledger.open_ledger(target, RUN)
    book.record("flavor", "f1")
    book.close()
    with pytest.raises(BadInputError, match="not live"):
        ledger.join_ledger(target, RUN)


@pytest.mark.parametrize(
    ("kind", "name", "store_id"),
    [
        pytest.param("image", SEED_IMAGE_NAME, None, id="lab-fixture"),
        pytest.param("image_copy", "x", None, id="copy-without-store"),
        pytest.param("image", "x", "dcn0", id="image-with-store"),
    ],
)
def test_a_run_refuses_to_record_what_it_must_never_remove(
    target: Path, kind: ledger.ResourceKind, name: str, store_id: str | None
) -> None:
    with ledger.open_ledger(target, RUN) as book, pytest.raises(ValueError):
        book.record(kind, "i1", name, store_id=store_id)


def test_a_run_id_has_one_ledger(target: Path) -> None:
    with ledger.open_ledger(target, RUN), pytest.raises(BadInputError, match="has a ledger already"):
        ledger.open_ledger(target, RUN)


def test_a_ledger_that_cannot_be_written_is_a_target_error(tmp_path: Path) -> None:
    (tmp_path / ledger.LEDGER_DIR).write_text("a file where the directory should be\n")
    with pytest.raises(TargetError, match="cannot write the ledger of a run"):
        ledger.open_ledger(tmp_path / "target.yaml")


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dcn_checks import ledger
    book = ledger.open_ledger(Path(sys.argv[1]))
    book.record("image", "i1", book.name("cirros"))
    print(book.run_id, flush=True)
    time.sleep(300)  # a wait the run never finishes
    """
)


def test_a_run_killed_during_a_wait_leaves_a_stale_ledger_listing_what_it_made(target: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout is not None
        run_id = child.stdout.readline().strip()
        (run,) = ledger.find_runs(ledger.ledger_dir(target))
        assert (run.record.run_id, run.live, run.record.owner.pid) == (run_id, True, child.pid)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    (run,) = ledger.find_runs(ledger.ledger_dir(target))
    assert not run.live
    assert run.record.resources == (Resource("image", "i1", f"dcnchk-{run_id}-cirros"),)
