"""An OIDC identity provider given to terraform-aws-modules/eks is located as the resource is:
EKS509 sits on the `groups_claim` it maps without a `groups_prefix`, not on the whole entry."""

from __future__ import annotations

from conftest import run


def test_a_groups_claim_without_prefix_is_located_on_the_claim(tmp_path):
    (tmp_path / "main.tf").write_text(
        'module "eks" {\n'
        '  source  = "terraform-aws-modules/eks/aws"\n'
        '  version = "~> 20.11"\n'
        "  cluster_identity_providers = {\n"
        "    okta = {\n"
        '      issuer_url     = "https://example.okta.com/oauth2/default"\n'
        '      client_id      = "eks"\n'
        '      username_claim = "email"\n'
        '      groups_claim   = "groups"\n'
        "    }\n"
        "    sso = {\n"
        '      issuer_url    = "https://sso.example.com"\n'
        '      client_id     = "eks"\n'
        '      groups_claim  = "groups"\n'
        '      groups_prefix = "sso:"\n'
        "    }\n"
        "  }\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS509"})
    assert result.problems == []
    assert [
        (f.rule_id, f.location.start_line, f.location.end_line, f.message) for f in result.findings
    ] == [
        (
            "EKS509",
            9,
            9,
            "identity provider okta maps groups claim groups without a groups_prefix: its "
            "group names land in RBAC as they are",
        )
    ]
