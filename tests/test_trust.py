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


def _findings(result) -> list[tuple[str, int, str]]:
    return sorted(
        (f.rule_id, f.location.start_line, f.location.file.rsplit("/", 1)[-1])
        for f in result.findings
    )


def test_a_provider_declared_in_the_module_resolves_by_its_arn_and_url(tmp_path):
    """`aws_iam_openid_connect_provider.X.arn` is X's provider, whatever issuer X is, and
    `.url` is the URL as IAM stores it (no `https://`), as condition keys name it."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_openid_connect_provider" "gitlab" {\n'
        '  url            = "https://gitlab.com"\n'
        '  client_id_list = ["https://gitlab.com"]\n'
        "}\n"
        'data "aws_iam_openid_connect_provider" "buildkite" {\n'
        '  url = "https://agent.buildkite.com"\n'
        "}\n"
        'resource "aws_iam_role" "pinned" {\n'
        '  name = "pinned"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = aws_iam_openid_connect_provider.gitlab.arn }\n"
        "      Condition = { StringLike = {\n"
        '        "${aws_iam_openid_connect_provider.gitlab.url}:sub" = "project_path:acme/app:*"\n'
        "      } }\n"
        "    }]\n"
        "  })\n"
        "}\n"
        'resource "aws_iam_role" "group" {\n'
        '  name = "group"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = aws_iam_openid_connect_provider.gitlab.arn }\n"
        "      Condition = { StringLike = {\n"
        '        "${aws_iam_openid_connect_provider.gitlab.url}:sub" = "project_path:acme/*"\n'
        "      } }\n"
        "    }]\n"
        "  })\n"
        "}\n"
        'resource "aws_iam_role" "buildkite" {\n'
        '  name = "buildkite"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = data.aws_iam_openid_connect_provider.buildkite.arn }\n"
        "    }]\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path])
    assert result.problems == []
    assert [f for f in _findings(result) if f[0].startswith("EKS4")] == [
        ("EKS408", 28, "main.tf"),
        ("EKS408", 40, "main.tf"),
    ]
    providers = {
        e.fields["role_name"]: e.fields["federated_providers"]
        for e in result.entities
        if e.kind == "trust_statement"
    }
    assert [(p["kind"], p["provider"], p["project_pinned"]) for p in providers["pinned"]] == [
        ("gitlab", "gitlab.com", True)
    ]
    assert providers["pinned"][0]["condition_keys"] == ["gitlab.com:sub"]
    assert [(p["kind"], p["provider"], p["project_pinned"]) for p in providers["buildkite"]] == [
        ("buildkite", "agent.buildkite.com", False)
    ]


def test_a_key_or_a_provider_written_as_an_expression_counts_for_any_provider(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "issuer" {}\n'
        'variable "provider_arn" {}\n'
        'resource "aws_iam_role" "key_expression" {\n'
        '  name = "key-expression"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        '      Principal = { Federated = "arn:aws:iam::1:oidc-provider/oidc.eks.x/id/A" }\n'
        "      Condition = { StringEquals = {\n"
        '        "${var.issuer}:sub" = "system:serviceaccount:shop:cart"\n'
        '        "${var.issuer}:aud" = "sts.amazonaws.com"\n'
        "      } }\n"
        "    }]\n"
        "  })\n"
        "}\n"
        'resource "aws_iam_role" "provider_expression" {\n'
        '  name = "provider-expression"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = module.eks.oidc_provider_arn }\n"
        "      Condition = { StringEquals = {\n"
        '        "oidc.eks.x/id/A:sub" = "system:serviceaccount:shop:cart"\n'
        '        "oidc.eks.x/id/A:aud" = "sts.amazonaws.com"\n'
        "      } }\n"
        "    }]\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path])
    assert [f for f in _findings(result) if f[0].startswith("EKS4")] == []
    scopes = {
        e.fields["role_name"]: [p["sub_scope"] for p in e.fields["federated_providers"]]
        for e in result.entities
        if e.kind == "trust_statement"
    }
    assert scopes == {"key-expression": ["scoped"], "provider-expression": ["scoped"]}


def test_a_key_built_by_format_counts_by_its_literal_suffix(tmp_path):
    """`variable = format("%s:sub", local.oidc)` is `${<local.oidc>}:sub`: a `:sub` condition
    whatever the issuer (worldcoin/terraform-aws-eks writes its IRSA trusts so; before: the
    key was not known, EKS402 and EKS404 fired on trusts that pin their subject and
    audience). A verb other than `%s`/`%v` of a value not known leaves the key not known."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_eks_cluster" "this" {\n  name = "c"\n  role_arn = "r"\n'
        "  vpc_config {\n    subnet_ids = []\n  }\n}\n"
        "locals {\n"
        '  oidc = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")\n'
        "}\n"
        'data "aws_iam_policy_document" "assume" {\n'
        "  statement {\n"
        '    actions = ["sts:AssumeRoleWithWebIdentity"]\n'
        "    principals {\n"
        '      type        = "Federated"\n'
        '      identifiers = ["arn:aws:iam::1:oidc-provider/oidc.eks.x/id/A"]\n'
        "    }\n"
        "    condition {\n"
        '      test     = "StringEquals"\n'
        '      variable = format("%s:sub", local.oidc)\n'
        '      values   = ["system:serviceaccount:kube-system:s3-csi-driver-sa"]\n'
        "    }\n"
        "    condition {\n"
        '      test     = "StringEquals"\n'
        '      variable = format("%v:aud", local.oidc)\n'
        '      values   = ["sts.amazonaws.com"]\n'
        "    }\n"
        "  }\n"
        "}\n"
        'resource "aws_iam_role" "csi" {\n'
        '  name               = "csi"\n'
        "  assume_role_policy = data.aws_iam_policy_document.assume.json\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS402", "EKS403", "EKS404"})
    assert result.problems == []
    assert _findings(result) == []
    assert result.skipped == []
    (statement,) = [e for e in result.entities if e.kind == "trust_statement"]
    issuer = '${replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")}'
    assert [c["key"] for c in statement.fields["conditions"]] == [
        f"{issuer}:sub",
        f"{issuer}:aud",
    ]


def test_a_key_written_twice_in_iam_json_is_an_error_naming_the_key_and_line(tmp_path):
    (tmp_path / "trust.json").write_text(
        "{\n"
        '  "Version": "2012-10-17",\n'
        '  "Statement": [{\n'
        '    "Effect": "Allow",\n'
        '    "Action": "sts:AssumeRole",\n'
        '    "Principal": {\n'
        '      "AWS": "*",\n'
        '      "AWS": "arn:aws:iam::444455556666:role/ci"\n'
        "    }\n"
        "  }]\n"
        "}\n"
    )
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "r" {\n'
        '  name = "r"\n'
        "  assume_role_policy = <<-EOT\n"
        '    {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",\n'
        '      "Principal": {"Service": "ec2.amazonaws.com"},\n'
        '      "Action": "sts:AssumeRole"}]}\n'
        "  EOT\n"
        "}\n"
    )
    result = run([tmp_path])
    assert sorted(
        (p.file.rsplit("/", 1)[-1], p.line, p.level, p.message) for p in result.problems
    ) == [
        (
            "main.tf",
            6,
            "error",
            "trust policy of role r: duplicate key 'Action' (first at line 4): IAM refuses a "
            "policy that writes a key twice",
        ),
        (
            "trust.json",
            8,
            "error",
            "duplicate key 'AWS' (first at line 7): IAM refuses a policy that writes a key twice",
        ),
    ]


def test_a_key_written_twice_in_a_json_manifest_is_judged_as_in_yaml(tmp_path):
    (tmp_path / "sa.json").write_text(
        '{"apiVersion": "v1", "kind": "ServiceAccount",\n'
        ' "metadata": {"name": "a", "namespace": "shop",\n'
        '              "name": "b"},\n'
        ' "kind": "ServiceAccount"}\n'
    )
    (tmp_path / "other.json").write_text('{"name": "a",\n "name": "b"}\n')
    result = run([tmp_path])
    assert sorted(
        (p.file.rsplit("/", 1)[-1], p.line, p.level, p.message) for p in result.problems
    ) == [
        ("sa.json", 3, "error", "duplicate key 'name' with different values, first at line 2"),
        ("sa.json", 4, "note", "duplicate key 'kind' (same value, first at line 1)"),
    ]


def test_a_provider_of_unknown_kind_leaves_the_ci_rules_undecided(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "provider_arn" {}\n'
        'resource "aws_iam_role" "r" {\n'
        '  name = "r"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = var.provider_arn }\n"
        "    }]\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path], select=["EKS402", "EKS405", "EKS408"])
    assert result.findings == []
    key = f"terraform:{tmp_path}/main.tf:aws_iam_role.r/statement[0]"
    assert {(s.rule_id, s.entity_key) for s in result.skipped} == {
        ("EKS402", key),
        ("EKS405", key),
        ("EKS408", key),
    }


def test_a_provider_of_unknown_kind_is_decided_when_every_issuer_would_agree(tmp_path):
    """A literal ServiceAccount subject pins whatever issuer the provider is: EKS405 and
    EKS408 are decided (quiet); EKS402 does not fire either (it is scoped)."""
    (tmp_path / "main.tf").write_text(
        'variable "provider_arn" {}\n'
        'resource "aws_iam_role" "r" {\n'
        '  name = "r"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = var.provider_arn }\n"
        '      Condition = { StringEquals = { "${var.provider_arn}:sub" = '
        '"system:serviceaccount:shop:cart" } }\n'
        "    }]\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path], select=["EKS402", "EKS405", "EKS408"])
    assert result.findings == []
    assert result.skipped == []


def test_a_provider_of_unknown_kind_with_service_account_subjects_is_a_cluster_issuer(tmp_path):
    """Only a Kubernetes service-account issuer (EKS IRSA) issues `system:serviceaccount:`
    subjects: a provider written as an unresolved expression whose `:sub` values all are such
    subjects is judged by EKS402-EKS404, as the remote-state and CloudFormation-parameter
    providers of IRSA roles are written."""
    (tmp_path / "main.tf").write_text(
        'variable "provider_arn" {}\n'
        'variable "issuer" {}\n'
        'resource "aws_iam_role" "no_audience" {\n'
        '  name = "no-audience"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = var.provider_arn }\n"
        '      Condition = { StringEquals = { "${var.issuer}:sub" = '
        '"system:serviceaccount:default:reports" } }\n'
        "    }]\n"
        "  })\n"
        "}\n"
        'resource "aws_iam_role" "wildcard" {\n'
        '  name = "wildcard"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        '      Principal = { Federated = "arn:aws:iam::1:oidc-provider/${var.issuer}" }\n'
        "      Condition = { StringLike = {\n"
        '        "${var.issuer}:sub" = "system:serviceaccount:crossplane-system:provider-*"\n'
        '        "${var.issuer}:aud" = "sts.amazonaws.com"\n'
        "      } }\n"
        "    }]\n"
        "  })\n"
        "}\n"
        'resource "aws_iam_role" "mixed" {\n'
        '  name = "mixed"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
        "      Principal = { Federated = var.provider_arn }\n"
        '      Condition = { StringLike = { "${var.issuer}:sub" = '
        '["system:serviceaccount:shop:*", "repo:acme/*"] } }\n'
        "    }]\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path], select=["EKS402", "EKS403", "EKS404", "EKS405", "EKS408"])
    assert sorted(
        (f.rule_id, f.location.start_line, f.location.end_line, f.message) for f in result.findings
    ) == [
        (
            "EKS403",
            21,
            24,
            "role wildcard trusts subjects [system:serviceaccount:crossplane-system:provider-*] "
            "with a *Like wildcard: more service accounts than intended can assume it",
        ),
        (
            "EKS404",
            10,
            10,
            "role no-audience trusts EKS OIDC provider [var.provider_arn] without a :aud "
            "condition equal to sts.amazonaws.com",
        ),
    ]
    # subjects of several issuers name no one kind: the mixed statement stays undecided
    mixed = f"terraform:{tmp_path}/main.tf:aws_iam_role.mixed/statement[0]"
    assert {s.rule_id for s in result.skipped if s.entity_key == mixed} == {
        "EKS403",
        "EKS404",
        "EKS405",
        "EKS408",
    }


def test_a_subject_partly_written_as_an_expression_is_judged_by_its_literal_wildcards(tmp_path):
    """An expression inside one component of a `:sub` value (the owner of `repo:${org}/*`)
    stands for that component's text: a literal wildcard elsewhere still unpins it, whatever
    the expression is. An expression that is a whole component may hold several, and a value
    known not to pin leaves the condition unpinned whatever its other values are."""
    provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    roles = {
        "any-repo-of-org": '"repo:${var.org}/*:ref:refs/heads/*"',
        "org-and-repo": '"repo:${var.org}/${var.repo}:*"',
        "whole-subject": '"${var.subject}"',
        "whole-component": '"repo:${var.repository}:*"',
        "one-value-unpinned": '["repo:acme/*", var.subject]',
    }
    text = (
        'variable "org" {}\nvariable "repo" {}\nvariable "subject" {}\nvariable "repository" {}\n'
    )
    for name, value in roles.items():
        text += (
            f'resource "aws_iam_role" "{name}" {{\n'
            f'  name = "{name}"\n'
            "  assume_role_policy = jsonencode({\n"
            "    Statement = [{\n"
            '      Effect    = "Allow"\n'
            '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
            f'      Principal = {{ Federated = "{provider}" }}\n'
            "      Condition = { StringLike = {\n"
            f'        "token.actions.githubusercontent.com:sub" = {value}\n'
            "      } }\n"
            "    }]\n"
            "  })\n"
            "}\n"
        )
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select=["EKS405"])
    assert sorted((f.message.split()[1], f.location.start_line) for f in result.findings) == [
        ("any-repo-of-org", 12),
        ("one-value-unpinned", 64),
    ]
    assert sorted(s.entity_key.split("aws_iam_role.")[1].split("/")[0] for s in result.skipped) == [
        "org-and-repo",
        "whole-component",
        "whole-subject",
    ]


def test_a_saml_provider_of_the_module_is_a_saml_provider_whatever_its_arn(tmp_path):
    """A Federated principal that names an `aws_iam_saml_provider` (its `arn` or `id`, both the
    ARN AWS computes) is a SAML provider: no web identity rule is undecided on it."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_saml_provider" "corp" {\n'
        '  name                   = "corp"\n'
        '  saml_metadata_document = "<EntityDescriptor/>"\n'
        "}\n"
        'resource "aws_iam_role" "sso" {\n'
        '  name = "sso"\n'
        "  assume_role_policy = jsonencode({\n"
        "    Statement = [{\n"
        '      Effect    = "Allow"\n'
        '      Action    = ["sts:AssumeRoleWithSAML", "sts:TagSession"]\n'
        "      Principal = { Federated = [aws_iam_saml_provider.corp.arn, "
        "aws_iam_saml_provider.corp.id] }\n"
        '      Condition = { StringEquals = { "SAML:aud" = '
        '"https://signin.aws.amazon.com/saml" } }\n'
        "    }]\n"
        "  })\n"
        "}\n"
    )
    result = run([tmp_path], select=["EKS402", "EKS403", "EKS404", "EKS405", "EKS408"])
    assert result.findings == []
    assert result.skipped == []
    (statement,) = [e for e in result.entities if e.kind == "trust_statement"]
    assert statement.fields["federated_kinds"] == ["saml", "saml"]


def _service_role(name: str, service: str) -> str:
    return (
        f'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n'
        "  assume_role_policy = jsonencode({\n    Statement = [{\n"
        '      Effect = "Allow", Action = ["sts:AssumeRole", "sts:TagSession"]\n'
        f"      Principal = {{ Service = {service} }}\n    }}]\n  }})\n}}\n"
    )


def test_a_service_principal_is_read_with_the_partitions_dns_suffix(tmp_path):
    # terraform-aws-modules and CloudFormation templates write service principals with the
    # partition's DNS suffix: pods.eks.<suffix> is Pod Identity's, ec2.<suffix> never is
    (tmp_path / "main.tf").write_text(
        'data "aws_partition" "current" {}\n'
        'variable "service" {}\n'
        + _service_role("pods", '"pods.eks.${data.aws_partition.current.dns_suffix}"')
        + _service_role("nodes", '"ec2.${data.aws_partition.current.dns_suffix}"')
        + _service_role("either", "var.service")
        + _service_role("templated", '"${var.service}.amazonaws.com"')
        + 'resource "aws_eks_pod_identity_association" "a" {\n  cluster_name = "c"\n'
        '  namespace = "shop"\n  service_account = "a"\n  role_arn = aws_iam_role.pods.arn\n}\n'
        'resource "aws_eks_pod_identity_association" "b" {\n  cluster_name = "c"\n'
        '  namespace = "shop"\n  service_account = "b"\n  role_arn = aws_iam_role.either.arn\n}\n'
    )
    (tmp_path / "stack.yaml").write_text(
        "Resources:\n"
        "  Cfn:\n"
        "    Type: AWS::IAM::Role\n"
        "    Properties:\n"
        "      AssumeRolePolicyDocument:\n"
        "        Statement:\n"
        "          - Effect: Allow\n"
        "            Action: [sts:AssumeRole, sts:TagSession]\n"
        "            Principal:\n"
        "              Service: !Sub pods.eks.${AWS::URLSuffix}\n"
        "          - Effect: Allow\n"
        "            Action: sts:AssumeRole\n"
        "            Principal:\n"
        "              Service: !Sub ec2.${AWS::URLSuffix}\n"
    )
    result = run([tmp_path], select={"EKS406", "EKS702"})
    assert result.problems == []
    # no EKS702: the association's role does trust Pod Identity
    assert _findings(result) == [("EKS406", 8, "main.tf"), ("EKS406", 9, "stack.yaml")]
    undecided = {k.rsplit("/", 1)[0].rsplit(":", 1)[-1] for k in _undecided(result, "EKS406")}
    assert undecided == {"aws_iam_role.either", "aws_iam_role.templated"}
    # a role whose service principal is not known may trust Pod Identity: not decided
    assert [k.rsplit(":", 1)[-1] for k in _undecided(result, "EKS702")] == [
        "aws_eks_pod_identity_association.b"
    ]


def test_a_not_principal_trust_says_whom_it_leaves_out_not_whom_it_trusts(tmp_path):
    (tmp_path / "main.tf").write_text(
        'resource "aws_iam_role" "open" {\n  name = "open"\n'
        "  assume_role_policy = jsonencode({\n    Statement = [{\n"
        '      Effect = "Allow", Action = "sts:AssumeRole"\n'
        '      NotPrincipal = { AWS = "arn:aws:iam::111122223333:role/audit" }\n'
        "    }]\n  })\n}\n"
    )
    result = run([tmp_path], select={"EKS401"})
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS401",
            6,
            "role open trusts any principal (everyone but AWS: "
            "arn:aws:iam::111122223333:role/audit) with no organization, account, ARN or "
            "external-id condition",
        )
    ]


def test_an_aws_principal_not_known_may_be_anyone_unless_its_text_says_otherwise(tmp_path):
    """An AWS principal written as a value not known (a variable, a template that is all
    placeholders, one item of a list, a principal type not known) may be "*": EKS401 is
    undecided, with the value in its reason. A template with text of its own (an account's
    ARN) cannot be "*", nor can an AWS resource's ARN, nor a list with no such item: EKS401
    is false there."""

    def role(name: str, principal: str) -> str:
        return (
            f'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n'
            "  assume_role_policy = jsonencode({\n    Statement = [{\n"
            '      Effect = "Allow", Action = "sts:AssumeRole"\n'
            f"      Principal = {principal}\n"
            "    }]\n  })\n}\n"
        )

    (tmp_path / "main.tf").write_text(
        'variable "who" {}\nvariable "kind" {}\nvariable "account" {}\n'
        + role("whole", "{ AWS = var.who }")
        + role("item", '{ AWS = ["arn:aws:iam::111122223333:role/ci", var.who] }')
        + role("template", '{ AWS = "${var.who}" }')
        + role("kind", '{ (var.kind) = "*" }')
        + role("account", '{ AWS = "arn:aws:iam::${var.account}:root" }')
        + role("named", '{ AWS = ["arn:aws:iam::111122223333:role/ci"] }')
        + role("kind_named", '{ (var.kind) = "arn:aws:iam::111122223333:role/ci" }')
        + role("star", '{ AWS = ["arn:aws:iam::111122223333:role/ci", "*"] }')
        + role("arn", "{ AWS = [aws_iam_role.star.arn, data.aws_iam_user.me.arn] }")
        + role("partial", '{ AWS = concat(["*"], [for a in var.who : a]) }')
        + role("partial_named", '{ AWS = concat(["arn:aws:iam::111122223333:root"], var.who) }')
        + 'data "aws_iam_user" "me" {\n  user_name = "me"\n}\n'
    )
    result = run([tmp_path], select={"EKS401"})
    assert [(f.location.start_line, f.message) for f in result.findings] == [
        (
            72,
            "role star trusts any principal (AWS: arn:aws:iam::111122223333:role/ci, *) with no "
            "organization, account, ARN or external-id condition",
        ),
        (
            90,
            'role partial trusts any principal (AWS: concat(["*"], [for a in var.who : a])) '
            "with no organization, account, ARN or external-id condition",
        ),
    ]
    assert sorted(
        (s.entity_key.rsplit(":", 1)[-1], s.reasons)
        for s in result.skipped
        if s.rule_id == "EKS401"
    ) == [
        ("aws_iam_role.item/statement[0]", ["var.who has no default"]),
        ("aws_iam_role.kind/statement[0]", ["principal type var.kind is not known"]),
        ("aws_iam_role.partial_named/statement[0]", ["var.who has no default"]),
        ("aws_iam_role.template/statement[0]", ["var.who has no default"]),
        ("aws_iam_role.whole/statement[0]", ["var.who has no default"]),
    ]
