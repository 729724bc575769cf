"""A parser process that crashes or hangs costs its file only, and parallel results are
identical to serial ones, in the same order."""

from __future__ import annotations

import os
import time

import pytest

from checks import scan as scan_module
from checks.pool import parallel_map
from conftest import ROOT, run

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="uses fork")


def _square_or_misbehave(x):
    if x == 3:
        os._exit(7)  # a worker dying in the middle of a file (a segfault in a C parser)
    if x == 5:
        time.sleep(60)  # a worker hanging on a file
    if x == 8:
        raise ValueError("a bug")
    return x * x


def test_crash_and_hang_cost_one_item_each():
    started = time.monotonic()
    out = parallel_map(
        _square_or_misbehave,
        list(range(12)),
        jobs=2,
        on_failure=lambda item, reason: f"failed {item}: {reason}",
        timeout=2,
    )
    assert time.monotonic() - started < 20
    assert out == [
        0,
        1,
        4,
        "failed 3: the parser process died (exit code 7)",
        16,
        "failed 5: parsing took more than 2 s and was stopped",
        36,
        49,
        "failed 8: parser error: a bug",
        81,
        100,
        121,
    ]


def test_parallel_scan_is_identical_to_serial(tmp_path, monkeypatch):
    import shutil

    for i in range(12):
        shutil.copytree(ROOT / "examples", tmp_path / f"env{i}")
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_FILES", 1)
    serial = run([tmp_path], jobs=1)
    parallel = run([tmp_path], jobs=2)
    key = lambda r: [(f.rule_id, f.location, f.message, f.entity_key) for f in r.findings]  # noqa: E731
    assert key(parallel) == key(serial)
    # every example finding (the suppressed one too) but EKS510, which needs exactly one cluster
    assert len(serial.findings) == 12 * 33
