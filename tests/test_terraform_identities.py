"""ServiceAccounts that Terraform gives an IAM role without writing them are checked as a
ServiceAccount annotated in a manifest would be: an EKS add-on's `service_account_role_arn`
and `pod_identity_association` blocks (in `aws_eks_addon` and in the modules' add-on inputs),
a Helm release's `set`/`values` annotation, and a `kubernetes_service_account` whose
annotation is a Terraform role's ARN (issue 15 item 5)."""

from __future__ import annotations

from conftest import run

ROLE = """resource "aws_iam_role" "{name}" {{
  name = "{name}"
  assume_role_policy = jsonencode({{
    Statement = [{{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = {{ Federated = "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/A" }}
      Condition = {{
        StringEquals = {{
          "oidc.eks.eu-west-1.amazonaws.com/id/A:sub" = "system:serviceaccount:{subject}"
          "oidc.eks.eu-west-1.amazonaws.com/id/A:aud" = "sts.amazonaws.com"
        }}
      }}
    }}]
  }})
}}
"""


def _scan(tmp_path, text: str, select: set[str]):
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select=select)
    assert result.problems == []
    return result


def _found(result) -> list[tuple[str, int, str]]:
    return sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings)


def test_an_addons_role_must_trust_the_addons_service_account(tmp_path):
    addons = (
        'resource "aws_eks_addon" "cni" {\n  cluster_name = "shop"\n  addon_name = "vpc-cni"\n'
        "  service_account_role_arn = aws_iam_role.cni.arn\n}\n\n"
        'resource "aws_eks_addon" "ebs" {\n  cluster_name = "shop"\n'
        '  addon_name = "aws-ebs-csi-driver"\n'
        "  service_account_role_arn = aws_iam_role.ebs.arn\n}\n\n"
    )
    text = (
        addons
        + ROLE.format(name="cni", subject="kube-system:aws-node")
        + ROLE.format(name="ebs", subject="kube-system:ebs-csi-node-sa")
    )
    result = _scan(tmp_path, text, {"EKS701", "EKS705"})
    assert _found(result) == [
        (
            "EKS701",
            10,
            "ServiceAccount kube-system/ebs-csi-controller-sa uses role ebs, whose trust policy "
            "does not admit system:serviceaccount:kube-system:ebs-csi-controller-sa: its pods "
            "get no AWS credentials, or the trust was written for someone else",
        )
    ]


def test_an_addons_pod_identity_association_must_be_trusted_by_its_role(tmp_path):
    text = (
        'resource "aws_eks_addon" "ebs" {\n  cluster_name = "shop"\n'
        '  addon_name = "aws-ebs-csi-driver"\n'
        "  pod_identity_association {\n    role_arn        = aws_iam_role.ebs.arn\n"
        '    service_account = "ebs-csi-controller-sa"\n  }\n}\n\n'
        + ROLE.format(name="ebs", subject="kube-system:ebs-csi-controller-sa")
    )
    result = _scan(tmp_path, text, {"EKS702"})
    assert _found(result) == [
        (
            "EKS702",
            4,
            "pod identity association for kube-system/ebs-csi-controller-sa uses role ebs, "
            "whose trust does not allow pods.eks.amazonaws.com both sts:AssumeRole and "
            "sts:TagSession",
        )
    ]


def test_a_helm_releases_service_account_annotation(tmp_path):
    text = (
        'resource "helm_release" "lbc" {\n  name      = "lbc"\n  namespace = "kube-system"\n'
        '  chart     = "aws-load-balancer-controller"\n'
        '  set {\n    name  = "serviceAccount.name"\n    value = "lbc"\n  }\n'
        "  set {\n"
        '    name  = "serviceAccount.annotations.eks\\\\.amazonaws\\\\.com/role-arn"\n'
        "    value = aws_iam_role.lbc.arn\n  }\n}\n\n"
        'resource "helm_release" "dns" {\n  name  = "dns"\n  chart = "external-dns"\n'
        "  values = [yamlencode({\n    serviceAccount = {\n"
        '      annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.dns.arn }\n'
        "    }\n  })]\n}\n\n"
        + ROLE.format(name="lbc", subject="kube-system:aws-load-balancer-controller")
        + ROLE.format(name="dns", subject="default:external-dns")
    )
    result = _scan(tmp_path, text, {"EKS701"})
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS701", 9)]
    assert "ServiceAccount kube-system/lbc uses role lbc" in result.findings[0].message
    # the chart names the other release's ServiceAccount: undecided, not a finding
    accounts = {e.fields["given_by"]: e for e in result.entities if e.kind == "service_account"}
    assert accounts["helm_release.dns"].fields["irsa_trust_admits"] is not False
    assert [s.rule_id for s in result.skipped] == ["EKS701"]


def test_a_kubernetes_service_account_annotated_with_a_terraform_roles_arn(tmp_path):
    text = (
        'resource "kubernetes_service_account" "cart" {\n  metadata {\n    name = "cart"\n'
        '    namespace = "shop"\n    annotations = {\n'
        '      "eks.amazonaws.com/role-arn" = aws_iam_role.cart.arn\n    }\n  }\n}\n\n'
        + ROLE.format(name="cart", subject="shop:checkout")
    )
    result = _scan(tmp_path, text, {"EKS701"})
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS701", 6)]


def test_module_addons_are_addons(tmp_path):
    """terraform-aws-modules/eks `cluster_addons`: vpc-cni with a role of its own is no
    EKS705; without one it is, at its key."""
    text = (
        'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "~> 20.0"\n'
        '  cluster_name = "shop"\n  cluster_addons = {\n    vpc-cni = {\n'
        "      service_account_role_arn = aws_iam_role.cni.arn\n    }\n  }\n}\n\n"
        'module "bare" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "~> 21.0"\n'
        '  name = "bare"\n  addons = {\n    vpc-cni = {}\n  }\n}\n\n'
        + ROLE.format(name="cni", subject="kube-system:aws-node")
    )
    result = _scan(tmp_path, text, {"EKS701", "EKS705"})
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS705", 17)]
    (account,) = [e for e in result.entities if e.kind == "service_account"]
    assert (account.fields["qualified_name"], account.fields["irsa_trust_admits"]) == (
        "kube-system/aws-node",
        True,
    )


VPC_CNI_ROLE_MODULE = """module "vpc_cni_irsa" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "5.44.0"

  role_name             = "vpc-cni"
  attach_vpc_cni_policy = true
  oidc_providers = {
    main = {
      provider_arn               = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
      namespace_service_accounts = ["kube-system:aws-node"]
    }
  }
}

resource "aws_eks_addon" "vpc_cni" {
  cluster_name             = "shop"
  addon_name               = "vpc-cni"
  service_account_role_arn = module.vpc_cni_irsa.iam_role_arn
}

module "unread" {
  source = "example.com/acme/role/aws"
}

resource "aws_eks_addon" "vpc_cni_other" {
  cluster_name             = "other"
  addon_name               = "vpc-cni"
  service_account_role_arn = module.unread.iam_role_arn
}
"""


def test_an_addon_role_that_is_the_output_of_a_role_module_the_scan_reads_is_its_own(tmp_path):
    # module.vpc_cni_irsa.iam_role_arn is known after apply, but the scan reads the module:
    # the role it names is the one the module creates, so aws-node has a role of its own
    result = _scan(tmp_path, VPC_CNI_ROLE_MODULE, {"EKS705"})
    assert result.findings == []
    assert [(s.rule_id, s.location.start_line, s.reasons) for s in result.skipped] == [
        ("EKS705", 25, ["module.unread.iam_role_arn is not known before apply"])
    ]
    addons = {e.fields["address"]: e for e in result.entities if e.kind == "addon"}
    assert addons["aws_eks_addon.vpc_cni"].fields["aws_node_role"] == (
        "the add-on's service_account_role_arn module.vpc_cni_irsa.iam_role_arn (role vpc-cni)"
    )
