"""Trust statements as IAM reads them (RULES.md, the paragraphs after the 4xx table): a
statement whose Action or Effect is not known is unknown, an account root is one whatever its
account id is written as, and a `:sub`/`:aud` condition scopes only its own provider."""

from __future__ import annotations

import pytest

from checks.model import Unknown
from conftest import run


def _undecided(result, rule_id: str) -> list[str]:
    """The entity keys whose `rule_id` check was undecided."""
    return sorted(s.entity_key for s in result.skipped if s.rule_id == rule_id)


def test_an_unknown_action_or_effect_makes_the_statement_undecided(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "action" {}\n'
        'variable "effect" {}\n'
        'resource "aws_iam_role" "by_action" {\n'
        '  name = "by-action"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect = "Allow"\n'
        "      Action = var.action\n"
        '      Principal = { AWS = "*" }\n'
        "    }]\n"
        "  })\n"
        "}\n"
        'resource "aws_iam_role" "by_effect" {\n'
        '  name = "by-effect"\n'
        "  assume_role_policy = <<-EOT\n"
        '    {"Statement": [{"Effect": "${var.effect}", "Action": "sts:AssumeRole",\n'
        '      "Principal": {"AWS": "*"}}]}\n'
        "  EOT\n"
        "}\n"
    )
    result = run([tmp_path], select=["EKS401", "EKS407"])
    assert result.findings == []
    assert _undecided(result, "EKS401") == [
        f"terraform:{tmp_path}/main.tf:aws_iam_role.by_action/statement[0]",
        f"terraform:{tmp_path}/main.tf:aws_iam_role.by_effect/statement[0]",
    ]
    # a check the rest of the statement decides stays decided
    assert _undecided(result, "EKS407") == []


def test_a_known_deny_or_a_known_other_action_is_no_trust_statement(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "action" {}\n'
        'variable "effect" {}\n'
        'resource "aws_iam_role" "r" {\n'
        '  name = "r"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [\n"
        '      { Effect = "Deny", Action = var.action, Principal = "*" },\n'
        '      { Effect = var.effect, Action = "s3:GetObject", Principal = "*" },\n'
        "    ]\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path], select=["EKS401"])
    assert [e for e in result.entities if e.kind == "trust_statement"] == []
    assert result.skipped == []


def _statement(stmt: dict):
    from checks.normalize.iam import trust_statements

    made, problems = trust_statements(
        {"Statement": [stmt]},
        key="iam:t.json:r",
        origin="iam",
        file="t.json",
        span=(1, 1),
        role_name="r",
    )
    assert problems == []
    return made[0] if made else None


@pytest.mark.parametrize(
    "principal, roots",
    [
        ("arn:aws:iam::444455556666:root", ["arn:aws:iam::444455556666:root"]),
        ("444455556666", ["444455556666"]),
        ("arn:aws-cn:iam::444455556666:root", ["arn:aws-cn:iam::444455556666:root"]),
        # CloudFormation's Fn::Sub text, Terraform's interpolation: an account all the same
        ("arn:${AWS::Partition}:iam::${AWS::AccountId}:root", "same"),
        ("arn:aws:iam::${data.aws_caller_identity.current.account_id}:root", "same"),
        ("arn:aws:iam::${var.account}:role/ci", []),
        ("arn:aws:iam::444455556666:role/root", []),
        ("arn:aws:iam::444455556666:user/x:root", []),
        ("*", []),
        ("${var.principal}", "unknown"),
    ],
)
def test_an_account_root_is_recognised_whatever_its_account_is_written_as(principal, roots):
    stmt = _statement(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": principal}}
    )
    found = stmt.fields["account_root_principals"]
    if roots == "unknown":
        assert len(found) == 1 and isinstance(found[0], Unknown)
    else:
        assert found == ([principal] if roots == "same" else roots)
