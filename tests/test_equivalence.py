"""Speed must never change an answer: findings and problems are byte-identical with and
without worker processes, the parse cache, and the Terraform pre-filter, on the whole test
corpus, the examples and the peer corpus."""

from __future__ import annotations

import json
import os
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


# a file of each kind the hook is given, with the partners it links to in other directories
HOOK_FILES = [
    "examples/infra/github.tf",  # Terraform: its role's path goes through k8s/shop/rbac.yaml
    "examples/k8s/shop/workloads.yaml",  # manifests: serviceaccounts.yaml, infra/irsa.tf
    "examples/k8s/kube-system/aws-auth.yaml",  # aws-auth: k8s/shop/rbac.yaml, infra/eks.tf
    "examples/infra/policies/pod-identity-trust.json",  # IAM: the role of infra/irsa.tf
    "examples/iam/vendor-audit-role.json",  # IAM, alone in its directory
]


def test_the_hook_reports_what_the_whole_scan_reports_cold_warm_and_after_a_partner_changes(
    tmp_path, monkeypatch
):
    """With an empty cache, a filled one, and after a file in another directory that the
    given files link to is edited (its stamp moved or, same size and modification time, only
    its change time), the hook's findings and undecided checks about each file are the whole
    scan's."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "examples", tree / "examples")
    for path in (tree / "examples").rglob("*"):
        os.utime(path, ns=(10**18, 10**18))  # still for long: the warm runs trust stamps
    monkeypatch.chdir(tree)

    def whole() -> dict:
        _, out, _ = cli("scan", ".", "--format", "json", "--show-unknown", "--no-cache")
        doc = json.loads(out)
        return {file: _about(doc, file) for file in HOOK_FILES}

    def hook(cache: str) -> dict:
        monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(tmp_path / cache))
        found = {}
        for file in HOOK_FILES:
            _, out, err = cli(
                "scan", file, "--context-root", ".", "--format", "json", "--show-unknown"
            )
            assert "not using the cache" not in err
            found[file] = _about(json.loads(out), file)
        return found

    before = whole()
    assert all(before[file]["findings"] for file in HOOK_FILES)
    assert hook("one") == before  # cold
    assert hook("one") == before  # warm: stamps taken
    assert hook("one") == before  # warm: stamps trusted
    rbac = tree / "examples" / "k8s" / "shop" / "rbac.yaml"
    text = rbac.read_text()
    edited = text.replace("name: cluster-admin\n", "name: view         \n", 1)
    assert len(edited) == len(text)
    rbac.write_text(edited)
    os.utime(rbac, ns=(10**18, 10**18))  # only the change time says it changed
    after = whole()
    assert after != before
    assert hook("one") == after
    rbac.write_text(text)
    assert hook("one") == before
