"""The errors a user of dcn-checks can see, and the exit code each one maps to.

Exit codes follow pytest, so that a CI gate can tell "the deployment is wrong" (1) from "we could
not judge" (anything else)::

    DcnChecksError                 3  internal error (a bug, or something we did not foresee)
    ├── BadInputError              4  the user's input is unusable
    │   ├── InputFileError         4  an input file is unreadable, not text, too large or malformed
    │   │   └── ModelError         4  a site model file is malformed or inconsistent
    │   ├── EnvironmentFilesError  4  a directory of environment files cannot be read
    │   └── TargetError            4  a target (lab dir, clouds.yaml, endpoint) is missing or unreachable
    ├── ParseError                 3  a tool's output (rbd, ceph) or a Ceph file we read could not be parsed
    ├── WaitError                  3  a wait ended without the state it waited for
    │   ├── WaitTimeout            3  the state did not come before the timeout
    │   └── WaitFailed             3  a terminal state came instead (e.g. os_glance_failed_import)
    ├── GlanceError                3  Glance refused a request (4xx/5xx); carries status and Glance's message
    └── LabError                   3  the embedded lab could not be brought up or down

A check that fails is not an exception: it is a finding, and the run exits 1.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL = 3
EXIT_BAD_INPUT = 4
EXIT_NOTHING_SELECTED = 5


class DcnChecksError(Exception):
    """Base of every error dcn-checks raises on purpose; the CLI prints it as one line."""

    exit_code = EXIT_INTERNAL


class BadInputError(DcnChecksError):
    """Input the user gave us cannot be used; nothing was judged."""

    exit_code = EXIT_BAD_INPUT


class InputFileError(BadInputError):
    """An input file cannot be used; the message names the file, the field (if any) and what is wrong."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + problem)


class ModelError(InputFileError):
    """A site model is malformed; the message names the file, the field and what is wrong."""


class EnvironmentFilesError(BadInputError):
    """A directory or file of Heat environment files cannot be read or parsed."""


class TargetError(BadInputError):
    """The target under test cannot be reached or is not described well enough to test it."""


class ParseError(DcnChecksError, ValueError):
    """Output of ``rbd`` or ``ceph``, an ``rbd://`` location, a ceph.conf or a keyring could not be read.

    The message says what and where. It exits 3, not 1: output we cannot read tells nothing about the
    deployment, so we could not judge.
    """


class WaitError(DcnChecksError):
    """A wait (``waiters.wait_for``) ended without the awaited state; says what, how long and what was seen.

    It exits 3: the library cannot tell a slow deployment from a broken one; a check that expects the
    state turns this into a finding.
    """

    def __init__(self, message: str, *, description: str, elapsed_s: float, last_state: object) -> None:
        super().__init__(message)
        self.description = description
        self.elapsed_s = elapsed_s
        self.last_state = last_state


class WaitTimeout(WaitError):
    """The awaited state did not come before the timeout."""


class WaitFailed(WaitError):
    """A terminal state came instead of the awaited one (``reason`` says which), so waiting longer is pointless."""

    def __init__(self, message: str, *, reason: str, description: str, elapsed_s: float, last_state: object) -> None:
        super().__init__(message, description=description, elapsed_s=elapsed_s, last_state=last_state)
        self.reason = reason


class GlanceError(DcnChecksError):
    """Glance answered a request with an error; ``status`` is the HTTP code, ``message`` Glance's own text."""

    def __init__(self, operation: str, status: int | None, message: str) -> None:
        self.operation = operation
        self.status = status
        self.message = message
        code = f"HTTP {status}" if status is not None else "no HTTP status"
        super().__init__(f"{operation}: {code}: {message}")


class LabError(DcnChecksError):
    """The embedded lab failed to come up, go down or apply a fault."""
