"""The same trust statement written in every spelling the tool reads must give the same
findings: Terraform jsonencode, heredoc, file(), aws_iam_policy_document, and the three JSON
shapes (bare policy, `get-role`, `get-account-authorization-details`)."""

from __future__ import annotations

import json

import pytest

from conftest import run

OIDC = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
OTHER = "oidc.eks.eu-west-1.amazonaws.com/id/DEF"
GITLAB = "arn:aws:iam::111122223333:oidc-provider/gitlab.com"
BUILDKITE = "arn:aws:iam::111122223333:oidc-provider/agent.buildkite.com"


def _web(principal, condition=None) -> dict:
    stmt = {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": principal},
    }
    if condition:
        stmt["Condition"] = condition
    return stmt


# (case id, statement, rule ids expected)
CASES = [
    (
        "any-principal",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}},
        {"EKS401"},
    ),
    (
        "any-principal-org-guard",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "*"},
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}},
        },
        set(),
    ),
    (
        "irsa-no-sub",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": OIDC},
        },
        {"EKS402", "EKS404"},
    ),
    (
        "irsa-wildcard",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": OIDC},
            "Condition": {
                "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:prod:*"},
                "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
            },
        },
        {"EKS403"},
    ),
    (
        "irsa-literal-star",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": OIDC},
            "Condition": {
                "StringEquals": {
                    f"{ISSUER}:sub": "system:serviceaccount:*:*",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                }
            },
        },
        set(),
    ),
    (
        "github-org-wide",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": GITHUB},
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}},
        },
        {"EKS405"},
    ),
    (
        "github-pinned",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": GITHUB},
            "Condition": {
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:*"}
            },
        },
        set(),
    ),
    (
        "pod-identity",
        {
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Principal": {"Service": "pods.eks.amazonaws.com"},
        },
        {"EKS406"},
    ),
    (
        "account-root",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        },
        {"EKS407"},
    ),
    (
        "account-root-mfa",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "444455556666"},
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
        set(),
    ),
    # a `<provider>:sub`/`:aud` condition scopes its own provider only
    (
        "irsa-sub-of-another-provider",
        _web(
            OIDC,
            {
                "StringEquals": {
                    f"{OTHER}:sub": "system:serviceaccount:shop:cart",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                }
            },
        ),
        {"EKS402"},
    ),
    (
        "irsa-two-providers-one-scoped",
        _web(
            [OIDC, f"arn:aws:iam::111122223333:oidc-provider/{OTHER}"],
            {
                "StringEquals": {
                    f"{ISSUER}:sub": "system:serviceaccount:shop:cart",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                    f"{OTHER}:aud": "sts.amazonaws.com",
                }
            },
        ),
        {"EKS402"},
    ),
    (
        "irsa-two-providers-each-scoped",
        _web(
            [OIDC, f"arn:aws:iam::111122223333:oidc-provider/{OTHER}"],
            {
                "StringEquals": {
                    f"{ISSUER}:sub": "system:serviceaccount:shop:cart",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                    f"{OTHER}:aud": "sts.amazonaws.com",
                },
                "StringLike": {f"{OTHER}:sub": "system:serviceaccount:shop:*"},
            },
        ),
        {"EKS403"},
    ),
    (
        "irsa-audience-of-another-provider",
        _web(
            OIDC,
            {
                "StringEquals": {
                    f"{ISSUER}:sub": "system:serviceaccount:shop:cart",
                    f"{OTHER}:aud": "sts.amazonaws.com",
                }
            },
        ),
        {"EKS404"},
    ),
    # GitHub's immutable subjects, custom templates, and the repository claim
    (
        "github-immutable-owner-only",
        _web(
            GITHUB, {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme@1234/*"}}
        ),
        {"EKS405"},
    ),
    (
        "github-immutable-pinned",
        _web(
            GITHUB,
            {
                "StringLike": {
                    "token.actions.githubusercontent.com:sub": "repo:acme@1234/app@5678:ref:*"
                }
            },
        ),
        set(),
    ),
    (
        "github-template-environment",
        _web(
            GITHUB,
            {"StringEquals": {"token.actions.githubusercontent.com:sub": "environment:prod"}},
        ),
        {"EKS405"},
    ),
    (
        "github-template-environment-then-repo",
        _web(
            GITHUB,
            {
                "StringLike": {
                    "token.actions.githubusercontent.com:sub": "environment:prod:repo:acme/app:*"
                }
            },
        ),
        set(),
    ),
    (
        "github-repository-claim",
        _web(
            GITHUB, {"StringEquals": {"token.actions.githubusercontent.com:repository": "acme/app"}}
        ),
        set(),
    ),
    # the CI/CD issuers of EKS408, not EKS402/EKS403
    ("gitlab-no-sub", _web(GITLAB), {"EKS408"}),
    (
        "gitlab-group",
        _web(GITLAB, {"StringLike": {"gitlab.com:sub": "project_path:acme/*"}}),
        {"EKS408"},
    ),
    (
        "gitlab-other-host",
        _web(GITLAB, {"StringLike": {"gitlab.example.com:sub": "project_path:acme/app:*"}}),
        {"EKS408"},
    ),
    (
        "gitlab-pinned",
        _web(GITLAB, {"StringLike": {"gitlab.com:sub": "project_path:acme/app:ref_type:*"}}),
        set(),
    ),
    (
        "gitlab-project-id",
        _web(GITLAB, {"StringEquals": {"gitlab.com:project_id": "4242"}}),
        set(),
    ),
    (
        "gitlab-self-managed-group",
        _web(
            "arn:aws:iam::111122223333:oidc-provider/gitlab.example.com",
            {"StringLike": {"gitlab.example.com:sub": "project_path:acme/*"}},
        ),
        {"EKS408"},
    ),
    (
        "buildkite-org-and-pipeline-tag",
        _web(
            BUILDKITE,
            {
                "StringLike": {"agent.buildkite.com:sub": "organization:acme:*"},
                "StringEquals": {"aws:RequestTag/pipeline_slug": "deploy"},
            },
        ),
        set(),
    ),
    (
        "buildkite-org-only",
        _web(BUILDKITE, {"StringLike": {"agent.buildkite.com:sub": "organization:acme:*"}}),
        {"EKS408"},
    ),
    (
        "not-a-trust-policy",
        {"Effect": "Allow", "Action": "s3:GetObject", "Principal": {"AWS": "*"}},
        set(),
    ),
]


def _hcl(value, indent: int = 0) -> str:
    """A JSON value written as an HCL expression (what people put in jsonencode)."""
    pad = "  " * indent
    if isinstance(value, dict):
        inner = "\n".join(f'{pad}  "{k}" = {_hcl(v, indent + 1)}' for k, v in value.items())
        return "{\n" + inner + f"\n{pad}}}"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(v, indent) for v in value) + "]"
    return json.dumps(value)


def _policy_document(stmt: dict) -> str:
    lines = [
        'data "aws_iam_policy_document" "trust" {',
        "  statement {",
        f'    effect = "{stmt["Effect"]}"',
    ]
    actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
    lines.append(f"    actions = {json.dumps(actions)}")
    principal = stmt["Principal"]
    for ptype, ids in principal.items():
        ids = ids if isinstance(ids, list) else [ids]
        lines += [
            "    principals {",
            f'      type = "{ptype}"',
            f"      identifiers = {json.dumps(ids)}",
            "    }",
        ]
    for op, tests in stmt.get("Condition", {}).items():
        for key, values in tests.items():
            values = values if isinstance(values, list) else [values]
            lines += [
                "    condition {",
                f'      test = "{op}"',
                f'      variable = "{key}"',
                f"      values = {json.dumps(values)}",
                "    }",
            ]
    lines += [
        "  }",
        "}",
        "",
        'resource "aws_iam_role" "r" {',
        '  name = "r"',
        "  assume_role_policy = data.aws_iam_policy_document.trust.json",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _write_spelling(tmp_path, spelling: str, stmt: dict) -> None:
    doc = {"Version": "2012-10-17", "Statement": [stmt]}
    text = json.dumps(doc, indent=2)
    role = {
        "RoleName": "r",
        "Arn": "arn:aws:iam::111122223333:role/r",
        "AssumeRolePolicyDocument": doc,
    }
    if spelling == "jsonencode":
        body = f'resource "aws_iam_role" "r" {{\n  name = "r"\n  assume_role_policy = jsonencode({_hcl(doc, 1)})\n}}\n'
        (tmp_path / "main.tf").write_text(body)
    elif spelling == "heredoc":
        body = f'resource "aws_iam_role" "r" {{\n  name = "r"\n  assume_role_policy = <<-EOT\n{text}\n  EOT\n}}\n'
        (tmp_path / "main.tf").write_text(body)
    elif spelling == "file":
        (tmp_path / "trust.json").write_text(text)
        body = 'resource "aws_iam_role" "r" {\n  name = "r"\n  assume_role_policy = file("${path.module}/trust.json")\n}\n'
        (tmp_path / "main.tf").write_text(body)
    elif spelling == "policy_document":
        (tmp_path / "main.tf").write_text(_policy_document(stmt))
    elif spelling == "bare":
        (tmp_path / "trust.json").write_text(text)
    elif spelling == "get-role":
        (tmp_path / "role.json").write_text(json.dumps({"Role": role}, indent=2))
    elif spelling == "authorization-details":
        (tmp_path / "details.json").write_text(
            json.dumps({"UserDetailList": [], "RoleDetailList": [role], "Policies": []}, indent=2)
        )


SPELLINGS = [
    "jsonencode",
    "heredoc",
    "file",
    "policy_document",
    "bare",
    "get-role",
    "authorization-details",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("case_id,stmt,expected", CASES, ids=[c[0] for c in CASES])
def test_same_findings_in_every_spelling(tmp_path, spelling, case_id, stmt, expected):
    _write_spelling(tmp_path, spelling, stmt)
    result = run([tmp_path])
    assert result.problems == []
    assert {f.rule_id for f in result.findings if f.rule_id.startswith("EKS4")} == expected
    # one finding per rule: the statement is seen once, however it was written
    trust = [f for f in result.findings if f.rule_id.startswith("EKS4")]
    assert len(trust) == len(expected)
    # ... and it points into the file that holds the statement, not at line 1
    where = {
        "file": "trust.json",
        "bare": "trust.json",
        "get-role": "role.json",
        "authorization-details": "details.json",
    }.get(spelling, "main.tf")
    for f in trust:
        assert f.location.file.endswith("/" + where)
        assert f.location.start_line > 1
