"""A parser process that crashes or hangs costs its file only, and parallel results are
identical to serial ones, in the same order."""

from __future__ import annotations

import os
import re
import time

import pytest

from checks import runner
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
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)
    serial = run([tmp_path], jobs=1)
    parallel = run([tmp_path], jobs=2)
    assert _keys(parallel) == _keys(serial)
    # each copy has the examples' findings (the suppressed one too), links resolved within the
    # copy, but EKS510, which needs exactly one cluster in the scan; the copies' cluster
    # shop-prod is twelve clusters, each called by where it is defined
    alone = [
        (*f[:3], re.sub(r"(in|creates) cluster shop-prod", r"\g<0> (infra/eks.tf)", f[3]))
        for f in _per_copy(run([ROOT / "examples"]), ROOT / "examples")
        if f[0] != "EKS510"
    ]
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

    def yaml_or_crash(text, **how):
        if text == "kind: Crash\n":
            os._exit(9)
        return real_yaml(text, **how)

    def hcl_or_hang(text):
        if 'hang = "yes"' in text:
            time.sleep(60)
        return real_hcl(text)

    monkeypatch.setattr(yamlsafe, "parse_yaml_file", yaml_or_crash)
    monkeypatch.setattr(hclsyntax, "parse", hcl_or_hang)
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)
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


# ---- a scan that is killed or stopped leaves no worker behind ----------------------------------
SLOW_SCAN = """
import signal, sys, time
from checks.cli import main
from checks import runner
from checks.parse import yamlsafe

runner.PARALLEL_MIN_FILES = 1  # 80 slow files: workers whatever the threshold
real = yamlsafe.parse_yaml_file

def slow(text, **how):
    time.sleep(0.5)  # a slow file: the scan is still running when the test stops it
    return real(text, **how)

yamlsafe.parse_yaml_file = slow
# a test run started in the background (`pytest &`) leaves Ctrl-C ignored in its children,
# as a shell does: the scan's own handling of it is what is tested
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main(["scan", sys.argv[1], "--no-cache", "--jobs", "2", "--format", "json"]))
"""


def _state(pid: int) -> str | None:
    """The process state letter, None when there is no such process; a zombie (Z) has
    exited and only waits for its parent to read its status."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def _slow_scan_with_workers(tmp_path):
    import subprocess
    import sys

    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(80):
        (tree / f"sa{i:02}.yaml").write_text(
            f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa{i}\n  namespace: n\n"
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SCAN, str(tree)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = _children(proc.pid)
    assert len(workers) == 2, "the scan did not start its two workers"
    time.sleep(1)  # each worker is inside a file, or waits for the next one
    return proc, workers


def _gone(workers: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(_state(pid) in (None, "Z") for pid in workers):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_workers_exit_when_the_scan_is_killed(tmp_path):
    import signal

    proc, workers = _slow_scan_with_workers(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert _gone(workers, within=5), "workers outlived their parent"
    finally:
        for pid in workers:
            if _state(pid) not in (None, "Z"):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
@pytest.mark.parametrize(("signame", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_sigterm_and_ctrl_c_stop_the_pool_cleanly(tmp_path, signame, code):
    import signal

    proc, workers = _slow_scan_with_workers(tmp_path)
    try:
        os.kill(proc.pid, getattr(signal, signame))
        out, err = proc.communicate(timeout=20)
        assert _gone(workers, within=5), "workers outlived the scan"
        assert (proc.returncode, out) == (code, "")
        assert err == f"eks-checks: stopped by {signame}\n"
    finally:
        proc.kill()
        for pid in workers:
            if _state(pid) not in (None, "Z"):
                os.kill(pid, signal.SIGKILL)
