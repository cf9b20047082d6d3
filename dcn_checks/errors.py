"""The errors a user of dcn-checks can see, and the exit code each one maps to.

Exit codes follow pytest, so that a CI gate can tell "the deployment is wrong" (1) from "we could
not judge" (anything else)::

    DcnChecksError                 3  internal error (a bug, or something we did not foresee)
    ├── BadInputError              4  the user's input is unusable
    │   ├── ModelError             4  a site model file is malformed or inconsistent
    │   ├── EnvironmentFilesError  4  a directory of environment files cannot be read
    │   └── TargetError            4  a target (lab dir, clouds.yaml, endpoint) is missing or unreachable
    ├── ParseError                 3  a tool's output (rbd, ceph) or a Ceph file we read could not be parsed
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


class ModelError(BadInputError):
    """A site model is malformed; the message names the file, the field and what is wrong."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + problem)


class EnvironmentFilesError(BadInputError):
    """A directory or file of Heat environment files cannot be read or parsed."""


class TargetError(BadInputError):
    """The target under test cannot be reached or is not described well enough to test it."""


class ParseError(DcnChecksError, ValueError):
    """Output of ``rbd`` or ``ceph``, an ``rbd://`` location, a ceph.conf or a keyring could not be read.

    The message says what and where. It exits 3, not 1: output we cannot read tells nothing about the
    deployment, so we could not judge.
    """


class LabError(DcnChecksError):
    """The embedded lab failed to come up, go down or apply a fault."""
