"""Speed must never change an answer: findings and problems are byte-identical with and
without worker processes, the parse cache, and the Terraform pre-filter, on the whole test
corpus, the examples and the peer corpus."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from checks import runner
from conftest import FIXTURES, PEER, ROOT, cli


def _report(tmp_path, monkeypatch, *options: str) -> str:
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    paths = [str(FIXTURES), str(ROOT / "examples"), str(PEER)]
    _, out, _ = cli("scan", *paths, "--format", "json", *options)
    doc = json.loads(out)
    return json.dumps(
        {"findings": doc["findings"], "problems": doc["problems"], "unknown": doc["unknown"]},
        sort_keys=True,
    )


@pytest.fixture
def baseline(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 1)
    return _report(tmp_path, monkeypatch, "--jobs", "1", "--no-cache", "--no-prefilter")


@pytest.mark.parametrize(
    "options",
    [
        ("--jobs", "2", "--no-cache", "--no-prefilter"),
        ("--jobs", "1", "--no-cache"),  # pre-filter on
        ("--jobs", "2"),  # everything on, cold cache
    ],
    ids=["parallel", "prefilter", "all"],
)
def test_same_findings(baseline, tmp_path, monkeypatch, options):
    assert _report(tmp_path, monkeypatch, *options) == baseline


def test_warm_cache_gives_the_same_findings(baseline, tmp_path, monkeypatch):
    _report(tmp_path, monkeypatch, "--jobs", "2")  # fills the cache
    assert any((tmp_path / "cache").rglob("*"))
    assert _report(tmp_path, monkeypatch, "--jobs", "2") == baseline
    assert _report(tmp_path, monkeypatch, "--jobs", "1") == baseline


def test_warm_cache_sees_a_change_in_what_file_read(tmp_path, monkeypatch):
    """A module's cached result also depends on the files its file() calls read: changing
    only the trust policy JSON must change the finding."""
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / "cache"))
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "role.tf").write_text(
        'resource "aws_iam_role" "r" {\n'
        '  name               = "r"\n'
        '  assume_role_policy = file("${path.module}/trust.json")\n'
        "}\n"
    )
    open_trust = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}'
    )
    closed_trust = open_trust.replace('"*"', '"arn:aws:iam::111122223333:role/ci"')

    def rule_ids() -> list[str]:
        _, out, _ = cli("scan", str(infra), "--format", "json")
        return sorted(f["rule_id"] for f in json.loads(out)["findings"])

    (infra / "trust.json").write_text(open_trust)
    cold = rule_ids()
    assert "EKS401" in cold and rule_ids() == cold  # the second run answers from the cache
    (infra / "trust.json").write_text(closed_trust)
    assert "EKS401" not in rule_ids()
    (infra / "trust.json").write_text(open_trust)
    (infra / "role.tf").write_text((infra / "role.tf").read_text().replace('"r"', '"s"'))
    assert rule_ids() == cold


def _about(doc: dict, file: str) -> dict:
    """Of a JSON report, the findings that touch `file` (on it, or pointing at it) and the
    checks left undecided on it."""
    return {
        "findings": [
            f
            for f in doc["findings"]
            if f["location"]["file"] == file
            or any(r["location"]["file"] == file for r in f.get("related", []))
        ],
        "unknown": [u for u in doc["unknown"] if u["location"]["file"] == file],
    }


def _context_corpus(tmp_path):
    """The examples (roles, ServiceAccounts and RBAC in separate files) beside a monorepo of
    four environments that hold the same names (the nearest copy is the one linked)."""
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    from generate import generate_monorepo

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    generate_monorepo(tmp_path / "monorepo", 4 * 19)
    return tmp_path


def test_a_context_scan_reports_what_the_whole_scan_reports_about_its_file(tmp_path, monkeypatch):
    """The hook's scan of one file with the tree as context judges only what it can report:
    its findings and undecided checks are exactly those of the whole tree about that file."""
    monkeypatch.chdir(_context_corpus(tmp_path))
    _, out, _ = cli("scan", ".", "--format", "json", "--show-unknown", "--no-cache")
    whole = json.loads(out)
    files = sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and ("examples" in p.parts or "staging-0001" in p.parts)
    )
    touched = 0
    for file in files:
        _, out, _ = cli(
            "scan", file, "--context-root", ".", "--format", "json", "--show-unknown", "--no-cache"
        )
        expected = _about(whole, file)
        assert _about(json.loads(out), file) == expected, file
        touched += bool(expected["findings"])
    assert touched >= 10  # the comparison is about files with findings
