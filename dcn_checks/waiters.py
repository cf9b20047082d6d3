"""Waiting for a state: the one poll primitive of dcn-checks.

Glance, Cinder and Nova finish their work after the API call returns (copy-image answers 202 and
copies in the background), so a check polls until the state it needs holds. Every such wait goes
through :func:`wait_for`, so that each one has a timeout from the target settings, stops at once on
a terminal state (``os_glance_failed_import`` set, status ``killed``) instead of sleeping out its
timeout, and fails with the same kind of message: what we waited for, for how long, and the last
state seen. Checks never call ``sleep()`` themselves.

The clock and the sleep are parameters, so the timing rules are unit-tested without real time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from dcn_checks.errors import WaitFailed, WaitTimeout

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
