"""What a role can do in AWS (RULES.md): `aws_power` from the policies a role is given, in
Terraform (attachments by reference or by name, inline policies in every spelling,
`aws_iam_policy`), in a plan, and in IAM JSON (authorization details, get-role with the
files beside it)."""

from __future__ import annotations

import json

import pytest

from checks.model import Unknown
from checks.normalize.iam_roles import permissions
from conftest import cli, run


def _roles(result) -> dict:
    return {e.fields["name"]: e for e in result.entities if e.kind == "iam_role"}


def _shown(items: list) -> list:
    return [f"?{i.text}" if isinstance(i, Unknown) else i for i in items]


ROLE = """
resource "aws_iam_role" "node" {
  name               = "node"
  assume_role_policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                   Principal = { Service = "ec2.amazonaws.com" } }]
  })
}
"""


def test_attachments_by_reference_and_by_name_give_the_managed_policies(tmp_path):
    (tmp_path / "main.tf").write_text(
        ROLE
        + """
data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "worker" {
  role       = aws_iam_role.node.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonEKSWorkerNodePolicy"
}

resource "aws_iam_role_policy_attachment" "by_name" {
  role       = "node"
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_role_policy_attachment" "other_role" {
  role       = "someone-else"
  policy_arn = "arn:aws:iam::aws:policy/IAMFullAccess"
}
"""
    )
    result = run([tmp_path])
    assert result.problems == []
    node = _roles(result)["node"]
    assert node.fields["aws_power"] == [
        "admin",
        "iam_write",
        "AmazonEKSWorkerNodePolicy",
        "AdministratorAccess",
    ]
    assert node.fields["managed_policy_names"] == [
        "AmazonEKSWorkerNodePolicy",
        "AdministratorAccess",
    ]
    attachments = {e.key: e for e in result.entities if e.kind == "iam_policy_attachment"}
    assert sorted(attachments[k].location.start_line for k in node.links["attachments"]) == [
        12,
        17,
    ]
    assert node.links["trust"] == [f"{node.key}/statement[0]"]


@pytest.mark.parametrize("spelling", ["jsonencode", "heredoc", "file", "policy_document"])
def test_an_inline_policy_in_every_spelling(tmp_path, spelling):
    """`iam:PassRole` on `*` is iam_write; the same statement however it is written."""
    document = {
        "jsonencode": 'jsonencode({ Statement = [{ Effect = "Allow", Action = ["iam:PassRole", '
        '"s3:GetObject"], Resource = "*" }] })',
        "heredoc": "<<-EOT\n"
        '    {"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "s3:GetObject"],\n'
        '      "Resource": "*"}]}\n'
        "  EOT",
        "file": 'file("${path.module}/policy.json")',
        "policy_document": "data.aws_iam_policy_document.pass.json",
    }[spelling]
    (tmp_path / "policy.json").write_text(
        '{"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "s3:GetObject"],'
        ' "Resource": "*"}]}'
    )
    (tmp_path / "main.tf").write_text(
        ROLE
        + f"""
resource "aws_iam_role_policy" "pass" {{
  name   = "pass"
  role   = aws_iam_role.node.id
  policy = {document}
}}

data "aws_iam_policy_document" "pass" {{
  statement {{
    actions   = ["iam:PassRole", "s3:GetObject"]
    resources = ["*"]
  }}
}}
"""
    )
    result = run([tmp_path])
    assert result.problems == []
    node = _roles(result)["node"]
    assert node.fields["aws_power"] == ["iam_write", "iam:PassRole", "s3:GetObject"]
    assert node.fields["inline_policy_names"] == ["pass"]


def test_a_managed_policy_of_the_module_and_the_roles_own_lists(tmp_path):
    (tmp_path / "main.tf").write_text(
        """
resource "aws_iam_role" "app" {
  name                = "app"
  assume_role_policy  = "{}"
  managed_policy_arns = [aws_iam_policy.reader.arn, "arn:aws:iam::aws:policy/ReadOnlyAccess"]
  inline_policy {
    name   = "logs"
    policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "logs:*", Resource = "*" }] })
  }
}

resource "aws_iam_policy" "reader" {
  name   = "reader"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:Get*", Resource = "arn:aws:s3:::b/*" }] })
}

resource "aws_iam_policy" "everything" {
  name   = "everything"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}

resource "aws_iam_policy_attachment" "everything" {
  name       = "everything"
  roles      = [aws_iam_role.app.name]
  policy_arn = aws_iam_policy.everything.arn
}
"""
    )
    result = run([tmp_path])
    app = _roles(result)["app"]
    assert app.fields["aws_power"] == [
        "admin",
        "iam_write",
        "reader",
        "ReadOnlyAccess",
        "everything",
        "s3:Get*",
        "*",
        "logs:*",
    ]
    policies = {e.fields["name"]: e for e in result.entities if e.kind == "iam_policy"}
    assert policies["everything"].links["roles"] == [app.key]
    assert policies["logs"].fields["role_key"] == app.key


def test_what_the_scan_cannot_know_leaves_admin_undecided(tmp_path):
    (tmp_path / "main.tf").write_text(
        ROLE
        + """
variable "extra_policy" {}

resource "aws_iam_role_policy_attachment" "extra" {
  role       = aws_iam_role.node.name
  policy_arn = var.extra_policy
}

resource "aws_iam_role_policy_attachment" "customer" {
  role       = aws_iam_role.node.name
  policy_arn = "arn:aws:iam::111122223333:policy/elsewhere"
}

resource "aws_iam_role_policy_attachment" "ecr" {
  role       = aws_iam_role.node.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
}
"""
    )
    result = run([tmp_path])
    power = _roles(result)["node"].fields["aws_power"]
    assert _shown(power) == [
        "?var.extra_policy",
        "?var.extra_policy",
        "elsewhere",
        "AmazonEC2ContainerRegistryReadOnly",
    ]


NOT_KNOWN_ROLE = """
variable "role" {}

resource "aws_iam_role_policy" "read" {
  role   = var.role
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "s3:Get*", Resource = "*" }] })
}
"""


@pytest.mark.parametrize(
    "given, reason",
    [
        ("", None),
        (
            'resource "aws_iam_role_policy" "admin" {\n  role   = var.role\n'
            '  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", '
            'Resource = "*" }] })\n}\n',
            "the roles policy aws_iam_role_policy.admin is attached to are not known",
        ),
        (
            'resource "aws_iam_role_policy_attachment" "iam" {\n  role       = var.role\n'
            '  policy_arn = "arn:aws:iam::aws:policy/IAMFullAccess"\n}\n',
            "the roles policy IAMFullAccess is attached to are not known",
        ),
    ],
)
def test_a_policy_whose_role_is_not_known_may_be_any_roles(tmp_path, given, reason):
    """`role = var.role`: an inline policy or an attachment that may be any role's leaves
    what a role of the scan may do undecided when it grants admin or IAM writes; one that
    grants neither changes nothing."""
    (tmp_path / "main.tf").write_text(ROLE + NOT_KNOWN_ROLE + given)
    power = _roles(run([tmp_path]))["node"].fields["aws_power"]
    assert [p.reason for p in power] == ([reason] if reason else [])


def test_an_empty_policy_grants_nothing_and_fails_no_scan(tmp_path):
    # terraform-aws-iam's iam-policy module defaults its policy to "": read on its own, the
    # module is valid, and the policy allows nothing (Terraform refuses it only at plan)
    (tmp_path / "main.tf").write_text(
        ROLE
        + """
variable "policy" {
  type    = string
  default = ""
}

resource "aws_iam_policy" "blank" {
  name   = "blank"
  policy = var.policy
}

resource "aws_iam_role_policy" "spaces" {
  name   = "spaces"
  role   = aws_iam_role.node.id
  policy = "  "
}
"""
    )
    code, out, err = cli("scan", str(tmp_path), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["problems"] == []
    result = run([tmp_path])
    policies = {e.fields["name"]: e for e in result.entities if e.kind == "iam_policy"}
    for name in ("blank", "spaces"):
        fields = policies[name].fields
        assert (fields["allowed_actions"], fields["grants_admin"]) == ([], False), name
    assert _roles(result)["node"].fields["aws_power"] == []


def test_a_policy_looked_up_by_name_is_that_policy(tmp_path):
    (tmp_path / "main.tf").write_text(
        ROLE
        + """
data "aws_iam_policy" "admin" {
  name = "AdministratorAccess"
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.node.name
  policy_arn = data.aws_iam_policy.admin.arn
}
"""
    )
    result = run([tmp_path])
    assert _roles(result)["node"].fields["aws_power"][:3] == [
        "admin",
        "iam_write",
        "AdministratorAccess",
    ]


@pytest.mark.parametrize(
    "statement, admin, iam_write",
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True, True),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}, False, False),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, False, False),
        ({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, False, True),
        ({"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*"}, False, True),
        ({"Effect": "Allow", "Action": "iam:*Role*", "Resource": "*"}, False, True),
        ({"Effect": "Allow", "Action": "IAM:attach*", "Resource": "*"}, False, True),
        ({"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}, False, False),
        ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:x"}, False, False),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, False, False),
        ({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, False, True),
        ({"Effect": "Allow", "Action": "*", "NotResource": "arn:x"}, True, True),
        ({"Effect": "Allow", "Action": "${var.a}", "Resource": "*"}, "?", "?"),
        ({"Effect": "Allow", "Action": ["*", "${var.a}"], "Resource": "*"}, True, True),
        ({"Effect": "Allow", "Action": "*", "Resource": "${var.r}"}, "?", "?"),
        ({"Effect": "${var.e}", "Action": "*", "Resource": "*"}, "?", "?"),
    ],
)
def test_admin_and_iam_write_as_rules_md_defines_them(statement, admin, iam_write):
    _, is_admin, writes = permissions({"Statement": [statement]})
    for verdict, expected in ((is_admin, admin), (writes, iam_write)):
        assert isinstance(verdict, Unknown) if expected == "?" else verdict is expected


def test_authorization_details_give_each_role_its_policies(tmp_path):
    details = {
        "RoleDetailList": [
            {
                "RoleName": "node",
                "Arn": "arn:aws:iam::111122223333:role/node",
                "Path": "/",
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                },
                "RolePolicyList": [
                    {
                        "PolicyName": "extra",
                        "PolicyDocument": "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow"
                        "%22%2C%22Action%22%3A%22iam%3APassRole%22%2C%22Resource%22%3A%22%2A%22"
                        "%7D%5D%7D",
                    }
                ],
                "AttachedManagedPolicies": [
                    {
                        "PolicyName": "custom",
                        "PolicyArn": "arn:aws:iam::111122223333:policy/custom",
                    }
                ],
            }
        ],
        "Policies": [
            {
                "PolicyName": "custom",
                "Arn": "arn:aws:iam::111122223333:policy/custom",
                "DefaultVersionId": "v2",
                "PolicyVersionList": [
                    {
                        "VersionId": "v2",
                        "IsDefaultVersion": True,
                        "Document": {
                            "Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}
                        },
                    },
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": False,
                        "Document": {
                            "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}
                        },
                    },
                ],
            }
        ],
    }
    (tmp_path / "details.json").write_text(json.dumps(details, indent=2))
    result = run([tmp_path])
    assert result.problems == []
    node = _roles(result)["node"]
    assert node.fields["aws_power"] == ["iam_write", "custom", "ec2:*", "iam:PassRole"]
    assert node.fields["policies_listed"] is True


def test_get_role_with_the_attached_policies_beside_it(tmp_path):
    role = {
        "Role": {
            "RoleName": "app",
            "Arn": "arn:aws:iam::111122223333:role/app",
            "AssumeRolePolicyDocument": {"Statement": []},
        }
    }
    attached = {
        "AttachedPolicies": [
            {
                "PolicyName": "AdministratorAccess",
                "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            }
        ],
        "IsTruncated": False,
    }
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "role.json").write_text(json.dumps(role))
    (tmp_path / "joined").mkdir()
    (tmp_path / "joined" / "role.json").write_text(json.dumps(role))
    (tmp_path / "joined" / "attached.json").write_text(json.dumps(attached))
    result = run([tmp_path])
    by_file = {
        e.location.file.rsplit("/", 2)[-2]: e for e in result.entities if e.kind == "iam_role"
    }
    assert by_file["joined"].fields["aws_power"] == ["admin", "iam_write", "AdministratorAccess"]
    alone = by_file["alone"].fields["aws_power"]
    assert len(alone) == 1 and alone[0].text == "get-role"


def test_a_plans_roles_policies_and_attachments(tmp_path):
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_iam_role.ci",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "ci",
                        "values": {
                            "name": "ci",
                            "assume_role_policy": json.dumps(
                                {
                                    "Statement": [
                                        {
                                            "Effect": "Allow",
                                            "Action": "sts:AssumeRole",
                                            "Principal": {"AWS": "arn:aws:iam::1:role/x"},
                                        }
                                    ]
                                }
                            ),
                            "inline_policy": [],
                        },
                    },
                    {
                        "address": "aws_iam_role_policy_attachment.iam",
                        "mode": "managed",
                        "type": "aws_iam_role_policy_attachment",
                        "name": "iam",
                        "values": {
                            "role": "ci",
                            "policy_arn": "arn:aws:iam::aws:policy/IAMFullAccess",
                        },
                    },
                ]
            }
        },
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan, indent=1))
    result = run([tmp_path])
    assert result.problems == []
    assert _roles(result)["ci"].fields["aws_power"] == ["iam_write", "IAMFullAccess"]


def test_eks_checks_model_shows_a_roles_power(tmp_path):
    (tmp_path / "main.tf").write_text(
        ROLE
        + """
resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.node.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""
    )
    code, out, _ = cli("model", str(tmp_path))
    assert code == 0
    (role,) = [e for e in json.loads(out)["entities"] if e["kind"] == "iam_role"]
    assert role["fields"]["aws_power"] == ["admin", "iam_write", "AdministratorAccess"]
    assert role["defaulted"] == {"path": "AWS default"}
