"""The published JSON Schemas describe what the tool actually writes."""

from __future__ import annotations

import json

import jsonschema

from checks.rules import SCHEMA_PATH
from conftest import ROOT, cli

SCHEMAS = SCHEMA_PATH.parent


def _validator(name: str):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def test_json_report_matches_its_schema(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    _, out, _ = cli("scan", "examples", "--format", "json")
    _validator("report.schema.json").validate(json.loads(out))
    # with problems, suppressions and unknowns too
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [\n")
    (tmp_path / "c.tf").write_text(
        'variable "c" {}\n'
        "# eks-checks: ignore[EKS102] private access comes later, tracked in OPS-1\n"
        'resource "aws_eks_cluster" "c" {\n  vpc_config {\n    public_access_cidrs = var.c\n  }\n}\n'
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("scan", ".", "--format", "json")
    doc = json.loads(out)
    assert code == 2 and doc["problems"] and doc["unknown"] and doc["summary"]["suppressed"] == 1
    _validator("report.schema.json").validate(doc)


def test_model_matches_its_schema(monkeypatch):
    monkeypatch.chdir(ROOT)
    _, out, _ = cli("model", "examples")
    doc = json.loads(out)
    _validator("model.schema.json").validate(doc)
    kinds = {e["kind"] for e in doc["entities"]}
    assert {
        "cluster",
        "instance_metadata",
        "workload",
        "service_account",
        "secret",
        "rbac_role",
        "rbac_binding",
        "identity_mapping",
        "access_policy_association",
        "pod_identity_association",
        "trust_statement",
        "aws_auth_document",
    } <= kinds
