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
    assert _keys(parallel) == _keys(serial)
    # each copy has the examples' findings (the suppressed one too), links resolved within the
    # copy, but EKS510, which needs exactly one cluster in the scan
    alone = [f for f in _per_copy(run([ROOT / "examples"]), ROOT / "examples") if f[0] != "EKS510"]
    copies = _per_copy(serial, tmp_path)
    assert sorted(copies) == sorted((*finding, f"env{i}") for finding in alone for i in range(12))


def _keys(result) -> list:
    return [(f.rule_id, f.location, f.message, f.entity_key) for f in result.findings]


def _per_copy(result, root) -> list[tuple]:
    """(rule, file, line, message[, copy]) of each finding, paths inside the copy."""
    out = []
    for f in result.findings:
        inside = os.path.relpath(os.path.abspath(f.location.file), root)
        copy, _, path = inside.partition(os.sep) if inside.startswith("env") else ("", "", inside)
        # the copy's folder as the file is shown, also in messages that name a file
        message = f.message.replace(f.location.file[: -len(path)], "")
        out.append((f.rule_id, path, f.location.start_line, message) + ((copy,) if copy else ()))
    return out


def test_a_parser_crash_or_hang_in_a_scan_costs_that_file_only(tmp_path, monkeypatch):
    """Workers take files in chunks and Terraform by module; what a chunk died or hung on is
    pinned by running its parts again one by one."""
    import shutil

    from checks.parse import hclsyntax, yamlsafe

    for i in range(6):
        shutil.copytree(ROOT / "examples", tmp_path / f"env{i}")
    intact = _keys(run([tmp_path], prefilter=False))
    (tmp_path / "env2" / "crash.yaml").write_text("kind: Crash\n")
    (tmp_path / "env4" / "infra" / "hang.tf").write_text('locals {\n  hang = "yes"\n}\n')
    real_yaml, real_hcl = yamlsafe.parse_yaml_file, hclsyntax.parse

    def yaml_or_crash(text):
        if text == "kind: Crash\n":
            os._exit(9)
        return real_yaml(text)

    def hcl_or_hang(text):
        if 'hang = "yes"' in text:
            time.sleep(60)
        return real_hcl(text)

    monkeypatch.setattr(yamlsafe, "parse_yaml_file", yaml_or_crash)
    monkeypatch.setattr(hclsyntax, "parse", hcl_or_hang)
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel_map, "__defaults__", (3,))  # the timeout, in seconds
    started = time.monotonic()
    result = run([tmp_path], jobs=2, prefilter=False)
    assert time.monotonic() - started < 40
    errors = [(p.file, p.message) for p in result.problems if p.level == "error"]
    assert [(os.path.basename(f), m) for f, m in errors] == [
        ("crash.yaml", "the parser process died (exit code 9)"),
        ("hang.tf", "parsing took more than 3 s and was stopped"),
    ]
    # every other file still counts: the same findings as without the two files
    assert _keys(result) == intact
