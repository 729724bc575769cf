"""A Terraform reference to an IAM role or user (`aws_iam_user.x.arn`, and the data sources
`data.aws_iam_user.x.arn`, `data.aws_iam_role.x.arn`) is known to name that kind of
principal before apply, whatever its name: an access entry for it maps a user or a role, and a
trust statement that names it trusts that principal, not a whole account."""

from __future__ import annotations

from conftest import run

CLUSTER = """resource "aws_eks_cluster" "c" {
  name     = "c"
  role_arn = "arn:aws:iam::111122223333:role/eks"
  access_config {
    authentication_mode = "API"
  }
  vpc_config {
    subnet_ids = ["a"]
  }
}
"""


def _scan(tmp_path, text: str, select: set[str]):
    (tmp_path / "main.tf").write_text(CLUSTER + text)
    result = run([tmp_path], select=select)
    assert result.problems == []
    found = sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings)
    undecided = sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped)
    return found, undecided


def test_an_access_entry_for_a_data_sources_user_maps_a_user(tmp_path):
    # fiap-style tutorials map the console user they look up: `data.aws_iam_user.x.arn`
    text = (
        'data "aws_iam_user" "dev" {\n  user_name = "dev"\n}\n\n'  # 11-13
        'data "aws_iam_role" "ops" {\n  name = "ops"\n}\n\n'  # 15-17
        'resource "aws_eks_access_entry" "dev" {\n'  # 19
        "  cluster_name  = aws_eks_cluster.c.name\n"
        "  principal_arn = data.aws_iam_user.dev.arn\n"  # 21
        "}\n\n"
        'resource "aws_eks_access_entry" "ops" {\n'  # 24
        "  cluster_name  = aws_eks_cluster.c.name\n"
        "  principal_arn = data.aws_iam_role.ops.arn\n"
        "}\n"
    )
    assert _scan(tmp_path, text, {"EKS502"}) == (
        [
            (
                "EKS502",
                21,
                "access_entry maps IAM user data.aws_iam_user.dev.arn: map a role that "
                "people assume instead",
            )
        ],
        [],
    )


def test_an_access_entry_arn_known_in_part_maps_the_kind_it_writes(tmp_path):
    """An ARN whose account (or partition) is known only after apply still says `:user/` or
    `:role/`: worldcoin/terraform-aws-eks maps `arn:aws:iam::${data.aws_caller_identity.
    current.account_id}:role/oidc/...` (before: the kind was not known, EKS502 undecided on
    a role, and on a user a silent pass)."""
    account = "${data.aws_caller_identity.current.account_id}"
    text = (
        'data "aws_caller_identity" "current" {}\n\n'  # 11
        'resource "aws_eks_access_entry" "bob" {\n'  # 13
        "  cluster_name  = aws_eks_cluster.c.name\n"
        f'  principal_arn = "arn:aws:iam::{account}:user/bob"\n'  # 15
        "}\n\n"
        'resource "aws_eks_access_entry" "deploy" {\n'  # 18
        "  cluster_name  = aws_eks_cluster.c.name\n"
        f'  principal_arn = "arn:${{data.aws_partition.p.partition}}:iam::{account}:role/oidc/d"\n'
        "}\n\n"
        'resource "aws_eks_access_entry" "some" {\n'  # 23
        "  cluster_name  = aws_eks_cluster.c.name\n"
        '  principal_arn = "arn:aws:iam::111122223333:${var.kind}/x"\n'
        "}\n"
    )
    assert _scan(tmp_path, text, {"EKS502"}) == (
        [
            (
                "EKS502",
                15,
                f"access_entry maps IAM user arn:aws:iam::{account}:user/bob: map a role that "
                "people assume instead",
            )
        ],
        [("EKS502", 23, ["var.kind has no default"])],
    )


def test_a_trust_in_a_user_or_role_it_refers_to_is_not_a_trust_in_an_account(tmp_path):
    text = (
        'resource "aws_iam_user" "ops" {\n  name = "ops"\n}\n\n'  # 11-13
        'data "aws_iam_role" "ci" {\n  name = "ci"\n}\n\n'  # 15-17
        'variable "trusted" {\n  type = string\n}\n\n'  # 19-21
        'resource "aws_iam_role" "r" {\n'  # 23
        '  name = "r"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRole"\n'
        "      Principal = {\n"  # 29
        "        AWS = [aws_iam_user.ops.arn, data.aws_iam_role.ci.arn, var.trusted]\n"
        "      }\n"
        "    }]\n"
        "  })\n"
        "}\n"
    )
    # only the variable, which may be an account id, leaves the check undecided
    assert _scan(tmp_path, text, {"EKS407"}) == (
        [],
        [("EKS407", 26, ["var.trusted has no default"])],
    )
