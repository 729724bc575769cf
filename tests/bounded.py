"""Run `eks-checks` in a child process bounded in time and memory.

For inputs whose failure mode is a hang or a blow-up: a regression fails the test (a timeout,
or a MemoryError under the address-space limit) instead of hanging the suite or the machine.
The bounds are generous; speed itself is measured by tests/benchmarks/run.py, not here."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

TIMEOUT_SECONDS = 60
MEMORY_MIB = 600


def _limit_memory() -> None:
    limit = MEMORY_MIB * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_bounded(*args: str, cwd: Path) -> tuple[int, str, str]:
    """`eks-checks ARGS` in `cwd`; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "checks", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        preexec_fn=_limit_memory,
    )
    return proc.returncode, proc.stdout, proc.stderr


def scan_json(*paths: str, cwd: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict, str]:
    """A bounded `scan --format json --no-cache`: (exit code, the report, stderr)."""
    code, out, err = run_bounded("scan", *paths, "--format", "json", "--no-cache", *extra, cwd=cwd)
    assert "Traceback" not in err, err
    return code, json.loads(out), err
