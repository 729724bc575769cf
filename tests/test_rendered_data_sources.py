"""Data sources the evaluator renders (an IAM policy document's JSON, a template's text, a
service principal's name) are rendered for each instance a reference names: the modules of
terraform-aws-modules write `data.aws_iam_policy_document.this[0].json` under `count`.

A service principal written with `data "aws_service_principal"` (terraform-aws-eks v21.6
and later write every one so): its `name` is its `service_name` and the partition's DNS
suffix, which Terraform knows after apply, as IAM matches a service principal in every
partition (`pods.eks.${data.aws_partition.current.dns_suffix}` is Pod Identity's service)."""

from __future__ import annotations

from conftest import run

TRUST = """resource "aws_iam_role" "{name}" {{
  name = "{name}"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Principal = {{ Service = {principal} }}
    }}]
  }})
}}
"""


def _scan(tmp_path, text: str):
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select={"EKS406"})
    assert result.problems == []
    found = sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings)
    undecided = sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped)
    return found, undecided


def test_a_service_principal_of_the_data_source_is_its_service_in_every_partition(tmp_path):
    text = (
        'variable "service" {\n  type = string\n}\n\n'  # 1-3
        'data "aws_service_principal" "pods" {\n'  # 5
        "  count        = 1\n"
        '  service_name = "pods.eks"\n'
        "}\n\n"
        'data "aws_service_principal" "capabilities" {\n'  # 10
        '  service_name = "capabilities.eks"\n'
        "}\n\n"
        'data "aws_service_principal" "unknown" {\n'  # 14
        "  service_name = var.service\n"
        "}\n\n"
        + TRUST.format(name="pods", principal="data.aws_service_principal.pods[0].name")  # 18
        + "\n"
        + TRUST.format(name="cap", principal="data.aws_service_principal.capabilities.name")
        + "\n"
        + TRUST.format(name="unknown", principal="data.aws_service_principal.unknown.name")
    )
    found, undecided = _scan(tmp_path, text)
    message = (
        "role pods trusts pods.eks.amazonaws.com with no aws:SourceAccount, aws:SourceArn, "
        "aws:SourceOrgID or aws:SourceOrgPaths condition"
    )
    assert found == [("EKS406", 25, message)]
    # capabilities.eks is another service, whatever the partition: no verdict left open
    assert undecided == [
        ("EKS406", 46, ["data.aws_service_principal.unknown.name is not known before apply"])
    ]


def test_a_role_trusts_the_instance_of_a_policy_document_it_names(tmp_path):
    """`assume_role_policy = data.aws_iam_policy_document.trust[0].json`: the role's own trust
    (it was judged as a bare document, its role not known, so nothing linked it to the role),
    each instance with its own `count.index`; a name_prefix not known shows as written."""
    (tmp_path / "main.tf").write_text(
        'variable "prefix" {\n  type = string\n}\n\n'  # 1-3
        'data "aws_iam_policy_document" "trust" {\n'  # 5
        "  count = 2\n"
        "  statement {\n"
        '    actions = ["sts:AssumeRole"]\n'
        "    principals {\n"  # 9
        '      type        = "AWS"\n'
        '      identifiers = [count.index == 0 ? "*" : "arn:aws:iam::111122223333:role/ci"]\n'
        "    }\n"
        "  }\n"
        "}\n\n"
        'resource "aws_iam_role" "open" {\n'  # 16
        '  name_prefix        = "${var.prefix}-"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust[0].json\n"
        "}\n\n"
        'resource "aws_iam_role" "ci" {\n'  # 21
        '  name               = "ci"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust[1].json\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS401"})
    assert result.problems == []
    assert [
        (
            f.rule_id,
            f.location.start_line,
            f.message,
            [(r.location.start_line, r.message) for r in f.related],
        )
        for f in result.findings
    ] == [
        (
            "EKS401",
            9,
            "role ${var.prefix}-* trusts any principal (AWS: *) with no organization, account, "
            "ARN or external-id condition",
            [(18, "role aws_iam_role.open uses this statement")],
        )
    ]
    assert result.skipped == []
