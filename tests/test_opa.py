"""The Rego policy in docs/opa.md runs, as written there, on real `eks-checks model` output,
and plugin.yaml is a conftest plugin manifest that runs our command."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import pytest
import yaml

from checks import __version__
from conftest import ROOT, cli

# regopy's native library runs in a child process: loaded into the test process before
# google-re2's, it corrupts the heap the rules' regular expressions are compiled in
# ("munmap_chunk(): invalid pointer")
REGO = """
import json, sys
import regopy
policy, model = json.load(sys.stdin)
rego = regopy.Interpreter()
rego.add_module("policy", policy)
rego.set_input_term(model)
print(str(rego.query("data.eks.deny")))
"""

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


@pytest.mark.skipif(
    importlib.util.find_spec("regopy") is None, reason="the Rego interpreter is a test extra"
)
def test_documented_rego_policy_runs_on_the_model(in_tmp):
    doc = (ROOT / "docs" / "opa.md").read_text(encoding="utf-8")
    (policy,) = re.findall(r"```rego\n(.*?)```", doc, re.S)
    (in_tmp / "roles.tf").write_text(ROLES)
    (in_tmp / "sa.yaml").write_text(_sa("prod-shop", "cart") + _sa("dev", "cart"))
    code, model, _ = cli("model", ".")
    assert code == 0
    answer = subprocess.run(
        [sys.executable, "-c", REGO],
        input=json.dumps([policy, model]),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    result = json.loads(answer)
    assert result["expressions"] == [
        ["prod-shop/cart uses role wild, whose trust is not scoped to one subject (wildcard)"]
    ]


def test_conftest_plugin_manifest():
    manifest = yaml.safe_load((ROOT / "plugin.yaml").read_text(encoding="utf-8"))
    assert set(manifest) == {"name", "version", "usage", "description", "command"}
    assert manifest["name"] == "eks-checks" and manifest["command"] == "eks-checks"
    assert manifest["version"] == __version__
