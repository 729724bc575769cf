"""An aws-auth ARN known only in part (`arn:aws:iam::${data.aws_caller_identity.current.
account_id}:root`) is judged on the part that is known: when no value of the unknown parts
could make it a valid IAM role or user ARN, the mapping cannot work as written (EKS504), as
for a fully known ARN; when some value could, it is not judged."""

from __future__ import annotations

from conftest import run

ACCOUNT = "${data.aws_caller_identity.current.account_id}"


def _found(result) -> list[tuple[str, int, str]]:
    return sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings)


def _config_map(roles: list[str], users: list[str]) -> str:
    def entries(key: str, arns: list[str]) -> str:
        return "".join(
            f'    {{\n      {key} = "{arn}"\n      username = "u{index}"\n      groups = ["dev"]\n    }},\n'
            for index, arn in enumerate(arns)
        )

    return (
        'data "aws_caller_identity" "current" {}\n\n'
        'resource "kubernetes_config_map_v1" "aws_auth" {\n'
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n"
        "    mapRoles = yamlencode([\n" + entries("rolearn", roles) + "    ])\n"
        "    mapUsers = yamlencode([\n" + entries("userarn", users) + "    ])\n"
        "  }\n}\n"
    )


def test_a_partly_known_arn_that_no_value_makes_valid_is_malformed(tmp_path):
    (tmp_path / "main.tf").write_text(
        _config_map(
            roles=[f"arn:aws:iam::{ACCOUNT}:role/", f"arn:aws:iam::{ACCOUNT}:user/ops"],
            users=[f"arn:aws:iam::{ACCOUNT}:root"],
        )
    )
    result = run([tmp_path], select={"EKS504"})
    assert result.problems == []
    assert _found(result) == [
        (
            "EKS504",
            10,
            f'aws-auth: [rolearn "arn:aws:iam::{ACCOUNT}:role/" is not a valid IAM role ARN, '
            "whatever its parts known only after apply are]",
        ),
        (
            "EKS504",
            15,
            f'aws-auth: [rolearn "arn:aws:iam::{ACCOUNT}:user/ops" is not a valid IAM role ARN, '
            "whatever its parts known only after apply are]",
        ),
        (
            "EKS504",
            22,
            f'aws-auth: [userarn "arn:aws:iam::{ACCOUNT}:root" is not a valid IAM user ARN, '
            "whatever its parts known only after apply are]",
        ),
    ]


def test_a_partly_known_arn_that_some_value_makes_valid_is_not_judged(tmp_path):
    (tmp_path / "main.tf").write_text(
        _config_map(
            roles=[
                f"arn:aws:iam::{ACCOUNT}:role/admin",
                "arn:${data.aws_partition.current.partition}:iam::111122223333:role/ops",
                "arn:aws:iam::111122223333:role/${var.team}-dev",
                "arn:aws:iam::111122223333:${var.kind}/dev",
                "${var.admin_role_arn}",
                '${try(var.roles["a"], "${var.fallback}")}',
            ],
            users=[f"arn:aws:iam::{ACCOUNT}:user/${{var.name}}"],
        )
    )
    result = run([tmp_path], select={"EKS504"})
    assert result.problems == []
    assert _found(result) == []


def test_a_role_path_is_judged_on_the_part_of_the_arn_that_is_known(tmp_path):
    """EKS505 reads the path from the text after `:role/` when that text is known, whatever
    the account; a role ARN whose path is not known (a variable, an interpolated name, a
    role's `arn` computed by AWS with the role's path in it) leaves EKS505 undecided (before:
    its path was taken as none, a silent pass; found in sgdan/tf-modules and
    RakeshRajeev/EKS-Platform, whose node role ARN is a module's variable)."""
    (tmp_path / "main.tf").write_text(
        _config_map(
            roles=[
                f"arn:aws:iam::{ACCOUNT}:role/team/admin",
                f"arn:aws:iam::{ACCOUNT}:role/admin",
                "${var.node_role_arn}",
                "arn:aws:iam::111122223333:role/${var.name}",
            ],
            users=[f"arn:aws:iam::{ACCOUNT}:user/team/ops"],
        )
    )
    result = run([tmp_path], select={"EKS505"})
    assert result.problems == []
    assert _found(result) == [
        (
            "EKS505",
            11,
            f"aws-auth rolearn arn:aws:iam::{ACCOUNT}:role/team/admin has the path /team/: the "
            "authenticator matches arn:aws:iam::<account>:role/admin, so this mapping never "
            "applies",
        )
    ]
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS505", 20, ["var.node_role_arn has no default"]),
        (
            "EKS505",
            25,
            ["the path in arn:aws:iam::111122223333:role/${var.name} is not known before apply"],
        ),
    ]


def test_a_role_path_in_a_heredoc_arn_known_in_part(tmp_path):
    """The same in a heredoc, where the ARN is text with its unknown parts written `${...}`."""
    (tmp_path / "main.tf").write_text(
        'variable "node_role_arn" {}\n'
        'data "aws_caller_identity" "current" {}\n\n'
        'resource "kubernetes_config_map" "aws_auth" {\n'
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n"
        "    mapRoles = <<YAML\n"  # 10
        "- rolearn: ${var.node_role_arn}\n"
        "  username: system:node:{{EC2PrivateDNSName}}\n"
        "  groups: [system:bootstrappers, system:nodes]\n"
        f"- rolearn: arn:aws:iam::{ACCOUNT}:role/platform/Admin\n"  # 14
        "  username: admin\n"
        "  groups: [ops]\n"
        "YAML\n"
        "  }\n}\n"
    )
    result = run([tmp_path], select={"EKS505"})
    assert result.problems == []
    assert _found(result) == [
        (
            "EKS505",
            14,
            f"aws-auth rolearn arn:aws:iam::{ACCOUNT}:role/platform/Admin has the path "
            "/platform/: the authenticator matches arn:aws:iam::<account>:role/Admin, so this "
            "mapping never applies",
        )
    ]
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS505", 11, ["the path in ${var.node_role_arn} is not known before apply"]),
    ]


def test_a_role_path_is_the_scanned_roles_when_the_arn_is_its_arn(tmp_path):
    """`rolearn = aws_iam_role.x.arn`: AWS computes the ARN with the role's `path` in it, so
    the path is the scanned role's (terraform-aws-eks once broke aws-auth so, with
    `iam_role_path`); a role without `path` has none (before: none in both cases, then, with
    the path of an ARN not known, undecided in both)."""
    trust = (
        '  assume_role_policy = jsonencode({ Statement = [{ Effect = "Allow",'
        ' Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" } }] })\n'
    )
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "node" {\n  name = "node"\n  path = "/eks/"\n' + trust + "}\n\n"
        'resource "aws_iam_role" "admin" {\n  name = "admin"\n' + trust + "}\n\n"  # 7-10
        'resource "kubernetes_config_map" "aws_auth" {\n'  # 12
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n"
        "    mapRoles = yamlencode([\n"
        "      {\n"  # 19
        "        rolearn  = aws_iam_role.node.arn\n"
        '        username = "system:node:{{EC2PrivateDNSName}}"\n'
        '        groups   = ["system:bootstrappers", "system:nodes"]\n'
        "      },\n"
        '      { rolearn = aws_iam_role.admin.arn, username = "admin", groups = ["ops"] },\n'
        "    ])\n"
        "  }\n}\n"
    )
    result = run([tmp_path], select={"EKS505"})
    assert result.problems == []
    assert _found(result) == [
        (
            "EKS505",
            20,
            "aws-auth rolearn aws_iam_role.node.arn has the path /eks/: the authenticator "
            "matches arn:aws:iam::<account>:role/node, so this mapping never applies",
        )
    ]
    assert [(r.location.start_line, r.message) for r in result.findings[0].related] == [
        (3, "role_path comes from the path of aws_iam_role.node")
    ]
    assert result.skipped == []
