"""The Rego policy in docs/opa.md runs, as written there, on real `eks-checks model` output,
and plugin.yaml is a conftest plugin manifest that runs our command."""

from __future__ import annotations

import re

import pytest
import yaml

from checks import __version__
from checks.rego.policy import RegoLimits, available, run_child
from conftest import ROOT, cli

# found, never imported: regopy's native library runs in a child process, as in a scan
# (loaded into the test process before google-re2's, it corrupts the heap the rules'
# regular expressions are compiled in)
needs_rego = pytest.mark.skipif(not available(), reason="the Rego engine is a test extra")

ROLES = """resource "aws_iam_role" "wild" {
  name = "wild"
  assume_role_policy = jsonencode({
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/A" }
      Condition = { StringLike = { "oidc.eks.eu-west-1.amazonaws.com/id/A:sub" = "system:serviceaccount:prod-shop:*" } }
    }]
  })
}
"""


def _sa(ns: str, name: str) -> str:
    return (
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        "  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::1:role/wild\n---\n"
    )


def _rego_block(heading: str) -> str:
    """The Rego example under a heading of docs/opa.md."""
    doc = (ROOT / "docs" / "opa.md").read_text(encoding="utf-8")
    section = doc.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    (policy,) = re.findall(r"```rego\n(.*?)```", section, re.S)
    return policy


@needs_rego
def test_documented_rego_policy_runs_on_the_model(in_tmp):
    policy = _rego_block("A policy of your own, with OPA or conftest")
    (in_tmp / "roles.tf").write_text(ROLES)
    (in_tmp / "sa.yaml").write_text(_sa("prod-shop", "cart") + _sa("dev", "cart"))
    code, model, _ = cli("model", ".")
    assert code == 0
    answer = run_child(
        {"modules": [["policy.rego", policy]], "inputs": [model], "entrypoints": ["eks/deny"]},
        RegoLimits(),
    )
    assert answer["results"] == [
        [["prod-shop/cart uses role wild, whose trust is not scoped to one subject (wildcard)"]]
    ]


def test_conftest_plugin_manifest():
    manifest = yaml.safe_load((ROOT / "plugin.yaml").read_text(encoding="utf-8"))
    assert set(manifest) == {"name", "version", "usage", "description", "command"}
    assert manifest["name"] == "eks-checks" and manifest["command"] == "eks-checks"
    assert manifest["version"] == __version__


@needs_rego
def test_documented_rego_policy_runs_inside_eks_checks(in_tmp):
    (in_tmp / "policies").mkdir()
    (in_tmp / "policies" / "platform.rego").write_text(
        _rego_block("Rego policies inside eks-checks")
    )
    (in_tmp / "eks.tf").write_text('resource "aws_eks_cluster" "main" {\n  name = "shop"\n}\n')
    code, out, _ = cli("scan", ".", "--policy-dir", "policies", "--select", "ACME", "--no-color")
    assert code == 1
    assert "  eks.tf:2  ACME101  high  cluster shop does not start with acme-" in out.splitlines()


def test_conftest_plugin_says_it_cannot_gate():
    manifest = yaml.safe_load((ROOT / "plugin.yaml").read_text(encoding="utf-8"))
    description = " ".join(manifest["description"].split())
    assert "turns a plugin's exit status 1 or 2 into success" in description
    assert "Gate with `eks-checks scan .` itself" in description
