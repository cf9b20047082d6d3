"""The last guard: an error nobody foresaw is one line, exit 3, and a debug log with the traceback.

Exit code 1 must only ever mean "a check found the deployment wrong", so a bug of ours may never
surface as a traceback with exit 1. The CLI and the pytest plugin both end here for anything that is
not a ``DcnChecksError``: the traceback goes to a file of its own in the temporary directory (it is
written only then, so a normal run leaves nothing behind) and the user reads one line naming it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from dcn_checks.evidence import mask_secrets
from dcn_checks.inputs import clip


def write_debug_log(traceback_text: str, argv: list[str] | None = None) -> Path:
    """Write the traceback (secrets masked) to a new file and return its path."""
    descriptor, name = tempfile.mkstemp(prefix="dcn-checks-internal-error-", suffix=".log")
    header = [
        f"time: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}",
        f"command: {' '.join(argv if argv is not None else sys.argv)}",
        f"python: {sys.version.split()[0]}",
        "",
    ]
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(mask_secrets("\n".join(header) + traceback_text))
    return Path(name)


def internal_error_line(error: BaseException | str, log_path: Path) -> str:
    """The one line a user reads for an internal error: what it was, that it is ours, where the log is."""
    what = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return (
        f"dcn-checks: internal error ({clip(mask_secrets(str(what)))}); this is a bug in dcn-checks, "
        f"not a finding about the deployment; the traceback is in {log_path}"
    )
