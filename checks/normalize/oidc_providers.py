"""Web identity providers of trust statements: which provider a `Federated` principal names,
what kind it is, and, for GitHub Actions and the CI/CD issuers of EKS408, whether a
statement's conditions pin the project whose pipelines may assume the role.

`ISSUERS` is the one table of CI/CD OIDC issuers: the normalizer reads it (`kind_of`,
`project_pinned`) and the rule documentation is generated from it (`render_table`,
shown by `eks-checks explain EKS405`/`EKS408` and in docs/rules.md). Each issuer's project
is made of facets (GitLab: the project; Buildkite: the organization and the pipeline); a
facet is pinned by every value of one of the provider's own `:sub` conditions, or by a
literal condition on a claim key that carries it (`gitlab.com:project_id`). A `:sub` value is
read component by component (`:` or `/` between them, as each issuer writes it); a
component with `*` or `?` under a `*Like` operator is a wildcard, and a facet is pinned only
by literal components with no wildcard before them. GitHub escapes a `:` inside a claim's
value as `%3A`, so a value never forges a component.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

from checks.model import Unknown
from checks.normalize.iam_conditions import is_pattern, narrows

# a component -> whether it is a wildcard under the condition's operator
Wild = Callable[[str], bool]
# (components of a `:sub` value, wild) -> whether the value pins the facet
SubPin = Callable[[list[str], Wild], bool]


@dataclass(frozen=True)
class Facet:
    """One part of what identifies a project (a repository, an organization and a pipeline):
    which `:sub` values pin it, and which claim keys (after `<provider>:`, or whole keys such
    as `aws:requesttag/organization_slug`) pin it with a literal value."""

    name: str
    sub: SubPin
    claims: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Issuer:
    """A CI/CD system's OIDC issuer: how it is recognised, what its `sub` looks like, what
    pins a project, and where its documentation is."""

    kind: str  # the `kind` of a federated provider (`gitlab`)
    name: str
    rule: str  # the rule that judges it
    hosts: tuple[str, ...]  # the provider path starts with one of them
    path_contains: str  # ... and contains this ("" for any path)
    sub_marker: str  # another host is this issuer when all its `:sub` values start so
    sub_format: str
    pins: str  # what must be literal, in words
    separator: str
    facets: tuple[Facet, ...]
    pinned_example: str
    unpinned_example: str
    docs: tuple[str, ...]
    # claims a pipeline's author chooses the values of, that can start another project's
    # subject: a literal value starting with one of them pins nothing (GitHub's templates)
    forgeable: tuple[str, ...] = ()


def _literal(token: str, wild: Wild) -> bool:
    return bool(token) and not wild(token)


def _none_wild(tokens: list[str], wild: Wild) -> bool:
    return not any(wild(t) for t in tokens)


def _github_repository(tokens: list[str], wild: Wild) -> bool:
    """`repo:<owner>/<repo>`, `repository:<owner>/<repo>` (either name may carry GitHub's
    immutable `@<id>`) or `repository_id:<id>`, with no wildcard before it."""
    for i, key in enumerate(tokens[:-1]):
        value = tokens[i + 1]
        if not _none_wild(tokens[: i + 2], wild):
            return False
        if key.lower() in ("repo", "repository") and re.fullmatch(r"[^/]+/[^/]+", value):
            return True
        if key.lower() == "repository_id" and value.isdigit():
            return True
    return False


def _gitlab_project(tokens: list[str], wild: Wild) -> bool:
    """`project_path:<group>[/<subgroup>...]/<project>`, always the first component."""
    return (
        len(tokens) > 1
        and tokens[0] == "project_path"
        and _literal(tokens[1], wild)
        and re.fullmatch(r"[^/]+(/[^/]+)+", tokens[1]) is not None
    )


def _circleci_project(tokens: list[str], wild: Wild) -> bool:
    """`org/<org-id>/project/<project-id>/...`."""
    return (
        len(tokens) > 3
        and tokens[0] == "org"
        and tokens[2] == "project"
        and _none_wild(tokens[:4], wild)
        and all(tokens[:4])
    )


def _bitbucket_repository(tokens: list[str], wild: Wild) -> bool:
    """`{<repository-uuid>}...`: the repository's UUID in braces, first."""
    head = tokens[0] if tokens else ""
    return bool(re.match(r"\{[^{}]+\}", head)) and not wild(head[: head.index("}") + 1])


def _organization(tokens: list[str], wild: Wild) -> bool:
    """`organization:<org>` first (HCP Terraform, Buildkite)."""
    return len(tokens) > 1 and tokens[0] == "organization" and _literal(tokens[1], wild)


def _hcp_workspace(tokens: list[str], wild: Wild) -> bool:
    """`organization:<org>:...:workspace:<workspace>` (or Stacks' `stack:<stack>`), both
    literal; the project between them may be a wildcard (its name holds no `:`)."""
    if not _organization(tokens, wild):
        return False
    return any(
        tokens[i] in ("workspace", "stack") and _literal(tokens[i + 1], wild)
        for i in range(2, len(tokens) - 1)
    )


def _buildkite_pipeline(tokens: list[str], wild: Wild) -> bool:
    """`organization:<org>:pipeline:<pipeline>`, both literal (pipeline slugs are per
    organization)."""
    return (
        len(tokens) > 3
        and tokens[0] == "organization"
        and tokens[2] == "pipeline"
        and _none_wild(tokens[:4], wild)
        and all(tokens[:4])
    )


# GitHub's claims that a custom subject template can start with, other than the repository's
# own (`repo`, `repository`, `repository_id`): another organization's template can start with
# the same claim and choose its value (docs.github.com, OpenID Connect reference)
_GITHUB_CLAIMS = (
    "actor",
    "actor_id",
    "base_ref",
    "context",
    "enterprise",
    "enterprise_id",
    "environment",
    "event_name",
    "head_ref",
    "job_workflow_ref",
    "job_workflow_sha",
    "ref",
    "ref_protected",
    "ref_type",
    "repository_owner",
    "repository_owner_id",
    "repository_visibility",
    "run_attempt",
    "run_id",
    "run_number",
    "runner_environment",
    "sha",
    "workflow",
    "workflow_ref",
    "workflow_sha",
)

ISSUERS: tuple[Issuer, ...] = (
    Issuer(
        kind="github",
        name="GitHub Actions",
        rule="EKS405",
        hosts=("token.actions.githubusercontent.com",),
        path_contains="",
        sub_marker="",
        sub_format="repo:<owner>/<repo>:<context> (a custom template: claim:value pairs; "
        "new repositories: repo:<owner>@<id>/<repo>@<id>:...)",
        pins="owner and repository literal (`repo:`, `repository:` or `repository_id:`), or "
        "a literal `:repository` / `:repository_id` condition",
        separator=":",
        facets=(
            Facet(
                "repository",
                _github_repository,
                claims=("repository", "repository_id"),
            ),
        ),
        forgeable=_GITHUB_CLAIMS,
        pinned_example="repo:acme/deploy:ref:refs/heads/main",
        unpinned_example="repo:acme/*",
        docs=(
            "https://docs.github.com/en/actions/reference/security/oidc",
            "https://docs.github.com/en/actions/security-for-github-actions/"
            "security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services",
        ),
    ),
    Issuer(
        kind="gitlab",
        name="GitLab CI/CD",
        rule="EKS408",
        hosts=("gitlab.com",),
        path_contains="",
        sub_marker="project_path:",
        sub_format="project_path:<group>/<project>:ref_type:<type>:ref:<ref>",
        pins="group and project literal, or a literal `gitlab.com:project_id` condition; a "
        "self-managed instance is recognised by `:sub` values that start with `project_path:`",
        separator=":",
        facets=(Facet("project", _gitlab_project, claims=("project_id",)),),
        pinned_example="project_path:acme/deploy:ref_type:branch:ref:main",
        unpinned_example="project_path:acme/*",
        docs=(
            "https://docs.gitlab.com/ci/secrets/id_token_authentication/",
            "https://docs.gitlab.com/ci/cloud_services/aws/",
        ),
    ),
    Issuer(
        kind="circleci",
        name="CircleCI",
        rule="EKS408",
        hosts=("oidc.circleci.com",),
        path_contains="/org/",
        sub_marker="",
        sub_format="org/<org-id>/project/<project-id>/user/<user-id>[/vcs-origin/...]",
        pins="the project id literal, or a literal `oidc.circleci.com/project-id` condition",
        separator="/",
        facets=(Facet("project", _circleci_project, claims=("oidc.circleci.com/project-id",)),),
        pinned_example="org/<org-id>/project/<project-id>/user/*",
        unpinned_example="org/<org-id>/project/*/user/*",
        docs=("https://circleci.com/docs/openid-connect-tokens/",),
    ),
    Issuer(
        kind="bitbucket",
        name="Bitbucket Pipelines",
        rule="EKS408",
        hosts=("api.bitbucket.org",),
        path_contains="/pipelines-config/identity/oidc",
        sub_marker="",
        sub_format="{<repository-uuid>}[{<environment-uuid>}]:{<step-uuid>}",
        pins="the repository UUID literal, first",
        separator=":",
        facets=(Facet("repository", _bitbucket_repository),),
        pinned_example="{<repository-uuid>}:*",
        unpinned_example="*",
        docs=(
            "https://support.atlassian.com/bitbucket-cloud/docs/"
            "integrate-pipelines-with-resource-servers-using-oidc/",
            "https://support.atlassian.com/bitbucket-cloud/docs/"
            "deploy-on-aws-using-bitbucket-pipelines-openid-connect/",
        ),
    ),
    Issuer(
        kind="hcp_terraform",
        name="HCP Terraform",
        rule="EKS408",
        hosts=("app.terraform.io",),
        path_contains="",
        sub_marker="",
        sub_format="organization:<org>:project:<project>:workspace:<workspace>:run_phase:<phase>",
        pins="organization and workspace (or Stacks' stack) literal; the project may be a wildcard",
        separator=":",
        facets=(
            Facet("organization", _organization),
            Facet("workspace", _hcp_workspace),
        ),
        pinned_example="organization:acme:project:*:workspace:prod-eks:run_phase:*",
        unpinned_example="organization:acme:*",
        docs=(
            "https://developer.hashicorp.com/terraform/cloud-docs/dynamic-provider-credentials/"
            "workload-identity-tokens",
            "https://developer.hashicorp.com/terraform/cloud-docs/dynamic-provider-credentials/"
            "aws-configuration",
        ),
    ),
    Issuer(
        kind="buildkite",
        name="Buildkite",
        rule="EKS408",
        hosts=("agent.buildkite.com",),
        path_contains="",
        sub_marker="",
        sub_format="organization:<org>:pipeline:<pipeline>:ref:<ref>:commit:<sha>:step:<key>",
        pins="organization and pipeline slugs literal, each in `:sub` or in a literal condition "
        "on `agent.buildkite.com:organization_slug`/`organization_id` and `pipeline_slug` (or "
        "the session tags `aws:RequestTag/...` of the same names); or `pipeline_id` alone",
        separator=":",
        facets=(
            Facet(
                "organization",
                _organization,
                claims=("organization_id", "organization_slug", "pipeline_id"),
                keys=(
                    "aws:requesttag/organization_id",
                    "aws:requesttag/organization_slug",
                    "aws:requesttag/pipeline_id",
                ),
            ),
            Facet(
                "pipeline",
                _buildkite_pipeline,
                claims=("pipeline_slug", "pipeline_id"),
                keys=("aws:requesttag/pipeline_slug", "aws:requesttag/pipeline_id"),
            ),
        ),
        pinned_example="organization:acme:pipeline:deploy:*",
        unpinned_example="organization:acme:*",
        docs=(
            "https://buildkite.com/docs/pipelines/security/oidc/aws",
            "https://buildkite.com/docs/agent/v3/cli-oidc",
        ),
    ),
)
ISSUER_KINDS = tuple(i.kind for i in ISSUERS)
_BY_KIND = {i.kind: i for i in ISSUERS}

# an OIDC provider's ARN: what follows `oidc-provider/` is the issuer without its scheme (the
# partition may be an expression: CloudFormation's `${AWS::Partition}`)
_PROVIDER_ARN = re.compile(
    r"arn:(?:[^:]*|\$\{[^}]*\}):iam::[^/]*:oidc-provider/(.+)", re.IGNORECASE
)
# how an unknown provider ARN's reason names the provider's URL (checks/tfcatalog.py)
_DESCRIBED_URL = re.compile(r"\(provider url (.+)\)$")
_SA_SUBJECT = "system:serviceaccount:"  # the `sub` of a Kubernetes ServiceAccount token
_EXPRESSION = re.compile(r"\$\{[^{}]*\}")  # an expression inside a value (`${var.org}`)
_MAX_HOLES = 3  # expressions in one value tried; more are not known
# what an expression inside a component may stand for: one name, or a path of two
_FILLINGS = ("x", "x/y")


def provider_text(value: Any) -> str:
    """What a Federated principal says of its provider, lower case, without a scheme: the
    path of an OIDC provider ARN (`gitlab.com`, `oidc.eks.<region>.amazonaws.com/id/<id>`),
    the URL an unknown ARN's reason gives, or the principal itself (`accounts.google.com`).
    It may hold `${...}` where it is an expression."""
    text = value.text if isinstance(value, Unknown) else str(value)
    found = _PROVIDER_ARN.fullmatch(text)
    if found:
        text = found.group(1)
    elif isinstance(value, Unknown):
        described = _DESCRIBED_URL.search(value.reason)
        if described:
            text = described.group(1)
    text = text.lower()
    return text.split("://", 1)[1] if "://" in text else text


def provider_path(value: Any) -> str | None:
    """The host/path a provider's condition keys start with, when it is all literal."""
    text = provider_text(value)
    if "${" in text or (isinstance(value, Unknown) and text == value.text.lower()):
        return None
    return text


def kind_of(value: Any, sub_values: list) -> Any:
    """What a Federated principal is: `eks_oidc`, `github`, a CI/CD issuer of `ISSUERS`
    (`gitlab`, `circleci`...), `cognito`, `saml`, `oidc` (any other web identity provider),
    or Unknown. `sub_values` are the values of the provider's own `:sub` conditions (a
    self-managed GitLab is known by them, and so is a cluster's issuer
    written as an expression that is not resolved)."""
    text = value.text if isinstance(value, Unknown) else str(value)
    where = provider_text(value)
    host, _, rest = where.partition("/")
    for issuer in ISSUERS:
        if host in issuer.hosts and issuer.path_contains in "/" + rest:
            return issuer.kind
    low = f"{text} {value.reason}".lower() if isinstance(value, Unknown) else text.lower()
    if (
        host.startswith("oidc.eks.")
        or "identity[0].oidc[0].issuer" in low
        or re.search(r"module\.[\w-]+\.(cluster_)?oidc_provider(_arn)?", low)
    ):
        # a cluster's issuer URL, or a terraform-aws-eks module's oidc_provider_arn output
        return "eks_oidc"
    if host == "cognito-identity.amazonaws.com":
        return "cognito"
    if ":saml-provider/" in low or re.search(r"\baws_iam_saml_provider\.", low):
        return "saml"  # a SAML provider's ARN, or a reference to one (its ARN is computed)
    known = [str(v) for v in sub_values if not isinstance(v, Unknown)]
    for issuer in ISSUERS:
        if issuer.sub_marker and known and all(v.startswith(issuer.sub_marker) for v in known):
            return issuer.kind
    if "${" in where or (isinstance(value, Unknown) and where == text.lower()):
        # a provider not resolved, but only a cluster's issuer (IRSA) signs such subjects
        accounts = [v for v in known if v.startswith(_SA_SUBJECT)]
        if accounts and len(accounts) == len(sub_values):
            return "eks_oidc"
        return Unknown(f"federated principal {text} is not resolved", text)
    return "oidc"


def counts_for(key: str, path: str | None) -> bool:
    """Whether a condition key (lower case) bears on the provider at `path`: its own
    `<path>:...` keys, any key when the provider or the key is written as an expression, and
    keys of no provider (`aws:...`, `sts:...`)."""
    if path is None or "${" in key:
        return True
    prefix, _, _ = key.rpartition(":")
    if "." not in prefix and "/" not in prefix:
        return True  # a global key (`aws:sourceaccount`), not a provider's
    return key.startswith(path + ":")


def project_pinned(kind: str, path: str | None, conditions: list[dict]) -> Any:
    """Whether the conditions that bear on a GitHub or CI/CD provider pin its project (every
    facet, each by some condition): True, False, or Unknown when a value not known decides.
    None for any other kind."""
    issuer = _BY_KIND.get(kind)
    if issuer is None:
        return None
    verdicts = [_facet_pinned(issuer, facet, path, conditions) for facet in issuer.facets]
    if any(v is False for v in verdicts):
        return False
    return next((v for v in verdicts if isinstance(v, Unknown)), True)


def _facet_pinned(issuer: Issuer, facet: Facet, path: str | None, conditions: list[dict]) -> Any:
    unknown = None
    for cond in conditions:
        if not narrows(cond["operator"]):
            continue
        key = cond["key"]
        if key.endswith(":sub"):
            pins = lambda v, op=cond["operator"]: _sub_pins(issuer, facet, op, str(v))  # noqa: E731
        elif _names_claim(key, path, facet):
            pins = lambda v, op=cond["operator"]: bool(str(v)) and not is_pattern(op, v)  # noqa: E731
        else:
            continue
        values = cond["values"]
        subject = key.endswith(":sub")
        verdicts = [
            (_partly_pins(issuer, facet, cond["operator"], v) if subject else None)
            if isinstance(v, Unknown)
            else pins(v)
            for v in values
        ]
        if False in verdicts:
            continue  # a value that pins nothing admits other projects, whatever the rest are
        missing = next(
            (v for v, pinned in zip(values, verdicts, strict=True) if pinned is None), None
        )
        if missing is not None:
            unknown = unknown or missing
            continue
        if values:
            return True
    if unknown is not None:
        return Unknown(f"condition value {unknown.text} is not resolved", unknown.text)
    return False


def _partly_pins(issuer: Issuer, facet: Facet, operator: str, value: Unknown) -> bool | None:
    """Whether a `:sub` value written partly as expressions pins a facet: False when it pins
    nothing whatever its expressions are, else None (not known). An expression that shares its
    component with literal text (the owner in `repo:${org}/*`) is read as part of that
    component, which may be anything without the separator; one that is a whole component,
    or the whole value, may hold several components and decides nothing."""
    text = value.text
    parts = _EXPRESSION.split(text)
    holes = len(parts) - 1
    if holes == 0 or holes > _MAX_HOLES or "${" in "".join(parts):
        return None
    for index in range(holes):
        before = parts[index].rsplit(issuer.separator, 1)[-1]
        after = parts[index + 1].split(issuer.separator, 1)[0]
        if not before and not after:
            return None
    for filling in product(_FILLINGS, repeat=holes):
        written = "".join(p + f for p, f in zip(parts, (*filling, ""), strict=True))
        if _sub_pins(issuer, facet, operator, written):
            return None
    return False


def _sub_pins(issuer: Issuer, facet: Facet, operator: str, value: str) -> bool:
    """A `:sub` value pins a facet when its components do, or when it is literal (it is one
    project's subject, or no token's) and does not start with a claim whose value the
    pipeline's author chooses."""
    tokens = value.split(issuer.separator)
    if facet.sub(tokens, lambda t: is_pattern(operator, t)):
        return True
    return not is_pattern(operator, value) and tokens[0] not in issuer.forgeable


def _names_claim(key: str, path: str | None, facet: Facet) -> bool:
    if key in facet.keys:
        return True
    prefix, _, claim = key.rpartition(":")
    if claim not in facet.claims:
        return False
    return path is None or "${" in prefix or prefix == path


def render_table(rule_id: str, markdown: bool) -> str | None:
    """The issuers a rule judges, as a table (Markdown) or a list (text); None when the
    rule judges none."""
    rows = [i for i in ISSUERS if i.rule == rule_id]
    if not rows:
        return None
    if markdown:
        out = [
            "### Issuers and what pins a project",
            "",
            "| issuer | provider (`Federated` after `oidc-provider/`) | `sub` | pinned when | "
            "pinned | not pinned | documentation |",
            "|---|---|---|---|---|---|---|",
        ]
        for i in rows:
            where = " or ".join(f"`{h}{_path_hint(i)}`" for h in i.hosts)
            docs = ", ".join(f"<{d}>" for d in i.docs)
            out.append(
                f"| {i.name} | {where} | `{i.sub_format}` | {i.pins} | "
                f"`{i.pinned_example}` | `{i.unpinned_example}` | {docs} |"
            )
        return "\n".join(out)
    out = ["Issuers and what pins a project:"]
    for i in rows:
        hosts = " or ".join(h + _path_hint(i) for h in i.hosts)
        out += [
            f"  {i.name} ({hosts})",
            f"    sub: {i.sub_format}",
            f"    pinned when: {i.pins}",
            f"    pinned: {i.pinned_example}   not pinned: {i.unpinned_example}",
        ] + [f"    {d}" for d in i.docs]
    return "\n".join(out)


def _path_hint(issuer: Issuer) -> str:
    if issuer.kind == "circleci":
        return "/org/<org-id>"
    if issuer.kind == "bitbucket":
        return "/2.0/workspaces/<workspace>/pipelines-config/identity/oidc"
    return ""
