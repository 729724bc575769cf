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
