"""What CI holds the project to: every test runs from a fresh clone (the data it needs is in
tests/vendor, never beside the checkout), and under .ci/run a skipped test fails."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import NO_SKIP, PEER, ROOT, SARIF_SCHEMA, TESTS


def _pytest(folder, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider"],
        cwd=folder, env={**env, "PYTHONPATH": str(TESTS)}, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip


def test_a_skipped_test_fails_under_ci(tmp_path):
    (tmp_path / "test_tool.py").write_text(
        "import pytest\n\n\ndef test_needs_a_tool():\n    pytest.skip('no such tool')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != NO_SKIP}
    quiet = _pytest(tmp_path, env)
    assert quiet.returncode == 0 and "1 skipped" in quiet.stdout
    strict = _pytest(tmp_path, {**env, NO_SKIP: "1"})
    assert strict.returncode == 1
    assert f"skipped, and {NO_SKIP} is set: Skipped: no such tool" in strict.stdout
    assert "1 failed" in strict.stdout


def test_the_tests_read_only_what_the_checkout_holds():
    assert SARIF_SCHEMA.is_file() and (PEER / "MANIFEST.md").is_file()
    assert (PEER / "MAPPING.md").is_file()
    above = "ROOT" + ".parent"  # the folder beside the checkout, which a clone does not have
    beside = [p.name for p in TESTS.rglob("*.py") if above in p.read_text()]
    assert beside == []
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"export {NO_SKIP}=1" in ci
