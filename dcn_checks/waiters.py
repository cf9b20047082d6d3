"""Waiting for a state: the one poll primitive of dcn-checks.

Glance, Cinder and Nova finish their work after the API call returns (copy-image answers 202 and
copies in the background), so a check polls until the state it needs holds. Every such wait goes
through :func:`wait_for`, so that each one has a timeout from the target settings, stops at once on
a terminal state (``os_glance_failed_import`` set, status ``killed``) instead of sleeping out its
timeout, and fails with the same kind of message: what we waited for, for how long, and the last
state seen. Checks never call ``sleep()`` themselves.

The waits of the cloud's resources are here too, each with the terminal states it stops at: an
image copy (``os_glance_failed_import``, ``killed``), a server (``ERROR``), a volume or snapshot
(any ``error*`` status), a delete (``error_deleting``). They take a probe rather than a connection,
so that this module does no I/O of its own: the caller's probe fetches, the wait decides.

The clock and the sleep are parameters, so the timing rules are unit-tested without real time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Protocol, TypeVar

from dcn_checks.errors import WaitFailed, WaitTimeout

if TYPE_CHECKING:
    from dcn_checks.glance import GlanceImage

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_INTERVAL_S = 0.5
#: How much of the last observed state a message quotes; images and servers are long.
STATE_QUOTE_CHARS = 400


def wait_for(
    probe: Callable[[], T],
    predicate: Callable[[T], bool],
    *,
    timeout_s: float,
    description: str,
    fail_fast: Callable[[T], str | None] | None = None,
    describe: Callable[[T], str] = repr,
    retry_on: tuple[type[Exception], ...] = (),
    interval_s: float = DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``probe`` until ``predicate`` holds for what it returns, and return that value.

    - ``fail_fast(state)`` returns a reason when ``state`` is terminal (it can never become what we
      wait for); then :class:`WaitFailed` is raised at once. It is asked only when ``predicate`` fails.
    - The probe runs at least once, even with ``timeout_s=0``, and once more at the deadline: the last
      sleep is cut short so that no wait overruns its timeout by a whole interval.
    - An exception of a type in ``retry_on`` (e.g. a dropped connection) counts as "not yet" and
      becomes the last state; any other exception propagates, because hiding it would turn a bug
      into a timeout.
    - On timeout, :class:`WaitTimeout` carries ``description``, the elapsed time and the last state
      (quoted through ``describe`` in the message, kept whole in ``last_state``).
    """
    if timeout_s < 0 or interval_s <= 0:
        raise ValueError(f"timeout_s must be >= 0 and interval_s > 0, got {timeout_s} and {interval_s}")
    started = clock()
    last: object = "(not probed)"
    last_text = "(not probed)"
    probes = 0
    while True:
        probes += 1
        try:
            state = probe()
        except retry_on as err:
            last = err
            last_text = f"{type(err).__name__}: {err}"
        else:
            if predicate(state):
                log.info("%s after %.1fs (%d probes)", description, clock() - started, probes)
                return state
            last, last_text = state, describe(state)
            reason = fail_fast(state) if fail_fast is not None else None
            if reason is not None:
                elapsed = clock() - started
                raise WaitFailed(
                    f"gave up waiting for {description} after {elapsed:.1f}s: {reason}; "
                    f"last state: {_quote(last_text)}",
                    reason=reason,
                    description=description,
                    elapsed_s=elapsed,
                    last_state=last,
                )
        elapsed = clock() - started
        if elapsed >= timeout_s:
            raise WaitTimeout(
                f"timed out after {elapsed:.1f}s ({probes} probes) waiting for {description}; "
                f"last state: {_quote(last_text)}",
                description=description,
                elapsed_s=elapsed,
                last_state=last,
            )
        log.debug("waiting for %s (%.1fs): %s", description, elapsed, _quote(last_text))
        sleep(min(interval_s, timeout_s - elapsed))


def _quote(text: str) -> str:
    if len(text) <= STATE_QUOTE_CHARS:
        return text
    return text[: STATE_QUOTE_CHARS - 3] + "..."


# --- the waits of the cloud's resources -----------------------------------------------------------


class HasStatus(Protocol):
    """A volume, snapshot or any resource being deleted, as a wait sees it (openstacksdk's resources fit)."""

    @property
    def status(self) -> str: ...


class ServerLike(HasStatus, Protocol):
    """A server as a wait sees it: Nova is done with it only once ``task_state`` is clear too."""

    @property
    def task_state(self) -> str | None: ...


S = TypeVar("S", bound=ServerLike)
V = TypeVar("V", bound=HasStatus)

#: Server statuses Nova never leaves on its own; a wait for ACTIVE or SHUTOFF is over when one comes.
SERVER_TERMINAL_STATUSES = frozenset({"ERROR", "DELETED"})
#: The status of a volume or snapshot Cinder failed to delete; it stays there until an admin resets it.
CINDER_DELETE_FAILED = "error_deleting"


def wait_for_server_status(
    get_server: Callable[[], S],
    server_id: str,
    statuses: Collection[str] = ("ACTIVE",),
    *,
    timeout_s: float,
    interval_s: float = DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> S:
    """Wait until the server is in one of ``statuses`` with no task under way; return it.

    ``ERROR`` (or ``DELETED``) ends the wait at once with WaitFailed unless it is one of ``statuses``:
    a test that expects a boot to fail waits for ``("ACTIVE", "ERROR")`` and looks at the result.
    """
    wanted = frozenset(statuses)
    return wait_for(
        get_server,
        lambda server: server.status in wanted and not server.task_state,
        timeout_s=timeout_s,
        description=f"server {server_id} {'/'.join(sorted(wanted))}",
        fail_fast=lambda server: _terminal(server.status, SERVER_TERMINAL_STATUSES - wanted, "server"),
        describe=lambda server: f"{server.status} task={server.task_state}",
        interval_s=interval_s,
        clock=clock,
        sleep=sleep,
    )


def wait_for_volume_status(
    get_volume: Callable[[], V],
    volume_id: str,
    statuses: Collection[str] = ("available",),
    *,
    kind: str = "volume",
    timeout_s: float,
    interval_s: float = DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> V:
    """Wait until the volume (or, with ``kind="volume snapshot"``, the snapshot) is in one of
    ``statuses``; return it. An ``error*`` status that is not wanted fails fast.
    """
    wanted = frozenset(statuses)
    what = f"{kind} {volume_id}"
    return wait_for(
        get_volume,
        lambda resource: resource.status in wanted,
        timeout_s=timeout_s,
        description=f"{what} {'/'.join(sorted(wanted))}",
        # Cinder's failed states all start with "error" (error, error_deleting, error_extending, ...).
        fail_fast=lambda resource: f"{what} is {resource.status}" if resource.status.startswith("error") else None,
        describe=lambda resource: str(resource.status),
        interval_s=interval_s,
        clock=clock,
        sleep=sleep,
    )


def wait_for_image_in_stores(
    get_image: Callable[[], GlanceImage],
    image_id: str,
    stores: Collection[str],
    *,
    timeout_s: float,
    interval_s: float = DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> GlanceImage:
    """Wait until the image is active in every one of ``stores`` and no import holds it; return it.

    That covers an upload (``stores`` = the one store), a copy-image (``os_glance_importing_to_stores``
    empties, the import task ``os_glance_import_task`` lets go) and a snapshot becoming active (no
    stores). Fails fast (WaitFailed) when Glance puts one of ``stores`` in ``os_glance_failed_import``
    or the image is killed or deleted. ``get_image`` is usually :func:`dcn_checks.glance.image_probe`.
    """
    # Imported here: glance pulls in python-glanceclient and openstacksdk, which the lab's daemons
    # (the Nova model in its uwsgi workers, the process supervisor) wait without.
    from dcn_checks.glance import describe_image_state, find_import_failure, is_image_settled_in_stores

    wanted = frozenset(stores)
    return wait_for(
        get_image,
        lambda image: is_image_settled_in_stores(image, wanted),
        timeout_s=timeout_s,
        description=f"image {image_id} in store(s) {','.join(sorted(wanted)) or '-'}",
        fail_fast=lambda image: find_import_failure(image, wanted),
        describe=describe_image_state,
        interval_s=interval_s,
        clock=clock,
        sleep=sleep,
    )


def wait_for_deleted(
    find: Callable[[], HasStatus | None],
    what: str,
    *,
    timeout_s: float,
    interval_s: float = DEFAULT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until ``find`` returns None (the cloud no longer knows the resource named ``what``).

    Fails fast when the delete has failed for good: a volume or snapshot in ``error_deleting``, or a
    server back in ``ERROR`` with no task (Nova sets ``task_state=deleting`` before it answers the
    delete, and clears it only when the delete failed).
    """
    wait_for(
        find,
        lambda found: found is None,
        timeout_s=timeout_s,
        description=f"{what} deleted",
        fail_fast=lambda found: _delete_failure(found, what),
        describe=lambda found: "gone" if found is None else f"{found.status} task={getattr(found, 'task_state', None)}",
        interval_s=interval_s,
        clock=clock,
        sleep=sleep,
    )


def _terminal(status: str, terminal: Collection[str], what: str) -> str | None:
    return f"{what} went to {status}" if status in terminal else None


def _delete_failure(found: HasStatus | None, what: str) -> str | None:
    if found is None:
        return None
    if found.status == CINDER_DELETE_FAILED:
        return f"Cinder could not delete {what} ({CINDER_DELETE_FAILED})"
    if found.status == "ERROR" and not getattr(found, "task_state", None):
        return f"Nova could not delete {what} (ERROR, no task)"
    return None
