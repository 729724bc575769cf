"""Shared helpers: scanning fixture folders and running the CLI in-process."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from checks.cli import main
from checks.parse import ensure_stack
from checks.rules import load_bundled
from checks.scan import scan

# the recursion limit our readers set on their first use, set before any test (hypothesis
# warns when a test changes it)
ensure_stack()

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
# third-party data the tests read, kept here with its source and license (tests/vendor/README.md)
VENDOR = TESTS / "vendor"
PEER = VENDOR / "peer"  # the peers' own fixtures: see its MANIFEST.md and MAPPING.md
SARIF_SCHEMA = VENDOR / "sarif" / "sarif-schema-2.1.0.json"
ROOT = TESTS.parent
MARKER = re.compile(r"#\s*(ruleid|ok):\s*([A-Z0-9, ]+)")


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The tests never read or prune the cache of the person running them."""
    os.environ["EKS_CHECKS_CACHE_DIR"] = str(tmp_path_factory.mktemp("eks-checks-cache"))


NO_SKIP = "EKS_CHECKS_NO_SKIP"  # set by .ci/run: every test runs there, none is skipped


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under .ci/run a skipped test is a failed one: a test that needs a tool or a file finds
    it (.ci/run installs the test extras), so a skip there means something is missing."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(NO_SKIP) and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, and {NO_SKIP} is set: {reason}"


def run(paths, select=None, params=None, jobs=1, **options):
    rules = load_bundled()
    if select:
        rules = [r for r in rules if r.id in select]
    return scan([str(p) for p in paths], rules, params, jobs=jobs, **options)


def cli(*args: str, cwd: Path | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """Run `eks-checks ARGS` in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def markers(path: Path) -> tuple[set, set]:
    """(expected, forbidden) sets of (file name, line, rule id) from `# ruleid:`/`# ok:`."""
    expected, forbidden = set(), set()
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        m = MARKER.search(line)
        if not m or not line.strip().startswith("#"):
            continue
        target = index + 1
        while target < len(lines) and lines[target].strip().startswith("#"):
            target += 1
        for rule_id in (r.strip() for r in m.group(2).split(",")):
            if rule_id:
                (expected if m.group(1) == "ruleid" else forbidden).add(
                    (path.name, target + 1, rule_id)
                )
    return expected, forbidden


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


sys.dont_write_bytecode = True
