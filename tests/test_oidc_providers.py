"""The table of CI/CD OIDC issuers: which provider a principal is, and what pins a project,
issuer by issuer, for literal and wildcard subjects and the other claims that carry it."""

from __future__ import annotations

import pytest

from checks.model import Unknown
from checks.normalize.oidc_providers import ISSUERS, kind_of, project_pinned, provider_path

CIRCLE = "oidc.circleci.com/org/0a1b"
BITBUCKET = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"


def _cond(operator: str, key: str, *values) -> dict:
    return {"operator": operator, "key": key.lower(), "values": list(values)}


@pytest.mark.parametrize(
    "kind, path, conditions, pinned",
    [
        # GitHub: owner and repository, immutable ids, custom templates, other claims
        ("github", None, [], False),
        ("github", None, [_cond("StringLike", "x:sub", "repo:acme/app:*")], True),
        ("github", None, [_cond("StringLike", "x:sub", "repo:acme/*")], False),
        ("github", None, [_cond("StringLike", "x:sub", "repo:acme/app*")], False),
        ("github", None, [_cond("StringLike", "x:sub", "repo:acme@12/app@34:*")], True),
        ("github", None, [_cond("StringLike", "x:sub", "repo:acme@12/*")], False),
        ("github", None, [_cond("StringEquals", "x:sub", "repo:acme/*")], True),  # literal
        ("github", None, [_cond("StringEquals", "x:sub", "environment:prod")], False),
        ("github", None, [_cond("StringLike", "x:sub", "*:repo:acme/app:*")], False),
        ("github", None, [_cond("StringEquals", "x:sub", "repository_id:987654")], True),
        ("github", None, [_cond("StringEquals", "x:repository", "acme/app")], True),
        ("github", None, [_cond("StringLike", "x:repository", "acme/*")], False),
        ("github", None, [_cond("StringEquals", "x:repository_owner", "acme")], False),
        (
            "github",
            None,
            [_cond("StringLike", "x:sub", "repo:acme/app:*", "repo:acme/*")],
            False,
        ),
        ("github", None, [_cond("StringNotLike", "x:sub", "repo:evil/*")], False),
        # GitLab: the project path, or the project id
        (
            "gitlab",
            "gitlab.com",
            [_cond("StringLike", "gitlab.com:sub", "project_path:a/b:*")],
            True,
        ),
        (
            "gitlab",
            "gitlab.com",
            [_cond("StringLike", "gitlab.com:sub", "project_path:a/*")],
            False,
        ),
        (
            "gitlab",
            "gitlab.com",
            [_cond("StringLike", "gitlab.com:sub", "project_path:a:*")],
            False,
        ),
        ("gitlab", "gitlab.com", [_cond("StringEquals", "gitlab.com:project_id", "42")], True),
        ("gitlab", "gitlab.com", [_cond("StringEquals", "gitlab.com:namespace_id", "7")], False),
        # CircleCI: the project id, in sub or as its own claim
        ("circleci", CIRCLE, [_cond("StringLike", f"{CIRCLE}:sub", "org/0a1b/project/9f/*")], True),
        ("circleci", CIRCLE, [_cond("StringLike", f"{CIRCLE}:sub", "org/0a1b/project/*")], False),
        ("circleci", CIRCLE, [_cond("StringLike", f"{CIRCLE}:sub", "org/*/project/9f/*")], False),
        (
            "circleci",
            CIRCLE,
            [_cond("StringEquals", f"{CIRCLE}:oidc.circleci.com/project-id", "9f")],
            True,
        ),
        # Bitbucket: the repository UUID first
        ("bitbucket", BITBUCKET, [_cond("StringLike", f"{BITBUCKET}:sub", "{1234}:*")], True),
        ("bitbucket", BITBUCKET, [_cond("StringLike", f"{BITBUCKET}:sub", "{*}:*")], False),
        ("bitbucket", BITBUCKET, [_cond("StringLike", f"{BITBUCKET}:sub", "*")], False),
        # HCP Terraform: organization and workspace (or stack)
        (
            "hcp_terraform",
            "app.terraform.io",
            [_cond("StringLike", "app.terraform.io:sub", "organization:o:project:*:workspace:w:*")],
            True,
        ),
        (
            "hcp_terraform",
            "app.terraform.io",
            [_cond("StringLike", "app.terraform.io:sub", "organization:o:project:p:stack:s:*")],
            True,
        ),
        (
            "hcp_terraform",
            "app.terraform.io",
            [_cond("StringLike", "app.terraform.io:sub", "organization:o:project:*:workspace:*")],
            False,
        ),
        (
            "hcp_terraform",
            "app.terraform.io",
            [_cond("StringLike", "app.terraform.io:sub", "organization:*:workspace:w:*")],
            False,
        ),
        # Buildkite: organization and pipeline, by sub, claims or session tags
        (
            "buildkite",
            "agent.buildkite.com",
            [_cond("StringLike", "agent.buildkite.com:sub", "organization:o:pipeline:p:*")],
            True,
        ),
        (
            "buildkite",
            "agent.buildkite.com",
            [_cond("StringLike", "agent.buildkite.com:sub", "organization:o:pipeline:*")],
            False,
        ),
        (
            "buildkite",
            "agent.buildkite.com",
            [_cond("StringEquals", "agent.buildkite.com:pipeline_id", "0190")],
            True,
        ),
        (
            "buildkite",
            "agent.buildkite.com",
            [_cond("StringEquals", "agent.buildkite.com:pipeline_slug", "deploy")],
            False,  # a slug is per organization
        ),
        (
            "buildkite",
            "agent.buildkite.com",
            [
                _cond("StringEquals", "aws:RequestTag/organization_slug", "o"),
                _cond("StringEquals", "aws:RequestTag/pipeline_slug", "deploy"),
            ],
            True,
        ),
        # a value not known decides nothing, unless a known one does
        (
            "gitlab",
            "gitlab.com",
            [_cond("StringLike", "gitlab.com:sub", Unknown("v", "${v}"))],
            "?",
        ),
        (
            "gitlab",
            "gitlab.com",
            [
                _cond("StringLike", "gitlab.com:sub", Unknown("v", "${v}")),
                _cond("StringEquals", "gitlab.com:project_id", "42"),
            ],
            True,
        ),
    ],
)
def test_what_pins_a_project(kind, path, conditions, pinned):
    verdict = project_pinned(kind, path, conditions)
    assert isinstance(verdict, Unknown) if pinned == "?" else verdict is pinned


@pytest.mark.parametrize(
    "principal, sub_values, kind, path",
    [
        ("arn:aws:iam::1:oidc-provider/gitlab.com", [], "gitlab", "gitlab.com"),
        ("arn:aws:iam::1:oidc-provider/git.corp.example", ["project_path:a/b:*"], "gitlab", None),
        ("arn:aws:iam::1:oidc-provider/git.corp.example", ["repo:a/b"], "oidc", None),
        (f"arn:aws:iam::1:oidc-provider/{CIRCLE}", [], "circleci", CIRCLE),
        (
            "arn:aws:iam::${var.a}:oidc-provider/oidc.circleci.com/org/${var.o}",
            [],
            "circleci",
            None,
        ),
        (f"arn:aws:iam::1:oidc-provider/{BITBUCKET}", [], "bitbucket", BITBUCKET),
        ("arn:aws:iam::1:oidc-provider/app.terraform.io", [], "hcp_terraform", "app.terraform.io"),
        ("arn:aws:iam::1:oidc-provider/agent.buildkite.com", [], "buildkite", None),
        (
            "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com/acme",
            [],
            "github",
            None,
        ),
        (
            "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/A",
            [],
            "eks_oidc",
            None,
        ),
        ("cognito-identity.amazonaws.com", [], "cognito", "cognito-identity.amazonaws.com"),
        ("accounts.google.com", [], "oidc", "accounts.google.com"),
    ],
)
def test_which_provider_a_principal_names(principal, sub_values, kind, path):
    assert kind_of(principal, sub_values) == kind
    if path is not None:
        assert provider_path(principal) == path


def test_an_unknown_provider_arn_whose_url_is_described_is_that_provider():
    arn = Unknown(
        "aws_iam_openid_connect_provider.ci.arn is computed by AWS "
        "(provider url https://gitlab.com)",
        "aws_iam_openid_connect_provider.ci.arn",
    )
    assert (kind_of(arn, []), provider_path(arn)) == ("gitlab", "gitlab.com")
    expression = Unknown(
        "aws_iam_openid_connect_provider.eks.arn is computed by AWS "
        "(provider url ${aws_eks_cluster.x.identity[0].oidc[0].issuer})",
        "aws_iam_openid_connect_provider.eks.arn",
    )
    assert (kind_of(expression, []), provider_path(expression)) == ("eks_oidc", None)


def test_every_issuer_has_documentation_and_examples_its_own_rule_reads_right():
    for issuer in ISSUERS:
        assert issuer.docs and issuer.rule in ("EKS405", "EKS408")
        host = issuer.hosts[0]
        path = {"circleci": CIRCLE, "bitbucket": BITBUCKET}.get(issuer.kind, host)
        key = f"{path}:sub"
        pinned = [_cond("StringLike", key, issuer.pinned_example)]
        unpinned = [_cond("StringLike", key, issuer.unpinned_example)]
        assert project_pinned(issuer.kind, path, pinned) is True, issuer.kind
        assert project_pinned(issuer.kind, path, unpinned) is False, issuer.kind
