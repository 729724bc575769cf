"""An access policy is named by the last part of its ARN, also when another part of the ARN is
known only after apply: `arn:${data.aws_partition.current.partition}:eks::aws:
cluster-access-policy/AmazonEKSClusterAdminPolicy` (how terraform-aws-modules/eks writes the
creator's admin policy) attaches AmazonEKSClusterAdminPolicy in every partition."""

from __future__ import annotations

from conftest import run

PARTITION = "${data.aws_partition.current.partition}"


def _found(result) -> list[tuple[str, int, str]]:
    return sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings)


def _association(name: str, policy_arn: str, scope: str = "cluster") -> str:
    return (
        f'resource "aws_eks_access_policy_association" "{name}" {{\n'
        '  cluster_name  = "shop"\n'
        '  principal_arn = "arn:aws:iam::111122223333:role/Admin"\n'
        f"  policy_arn    = {policy_arn}\n"
        f'  access_scope {{\n    type = "{scope}"\n  }}\n'
        "}\n"
    )


def test_a_policy_arn_with_an_unknown_partition_names_its_policy(tmp_path):
    text = (
        'data "aws_partition" "current" {}\n\n'
        + _association(
            "admin", f'"arn:{PARTITION}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"'
        )
        + _association(
            "edit", f'"arn:{PARTITION}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"'
        )
    )
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select={"EKS506", "EKS511"})
    assert result.problems == []
    assert _found(result) == [
        (
            "EKS506",
            6,
            "access policy association gives arn:aws:iam::111122223333:role/Admin "
            "AmazonEKSClusterAdminPolicy (scope cluster)",
        ),
        (
            "EKS511",
            16,
            "access policy association gives arn:aws:iam::111122223333:role/Admin "
            "AmazonEKSEditPolicy with access scope cluster: it applies in every namespace, "
            "kube-system included",
        ),
    ]


def test_a_policy_arn_whose_name_is_unknown_names_no_policy(tmp_path):
    variables = (
        'variable "policy" {\n  type = string\n}\n\nvariable "admin" {\n  type = bool\n}\n\n'
    )
    chosen = (
        'var.admin ? "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"'
        ' : "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"'
    )
    text = (
        variables
        + _association("named", '"arn:aws:eks::aws:cluster-access-policy/${var.policy}"')
        + _association("chosen", chosen)
    )
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select={"EKS506", "EKS511"})
    assert result.problems == []
    assert _found(result) == []


def test_a_module_input_with_an_unknown_partition_names_its_policy(tmp_path):
    (tmp_path / "main.tf").write_text(
        'data "aws_partition" "current" {}\n\n'
        'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "~> 20.0"\n'
        "  access_entries = {\n"
        "    ops = {\n"
        '      principal_arn = "arn:aws:iam::111122223333:role/ops"\n'
        "      policy_associations = {\n"
        "        admin = {\n"
        f'          policy_arn   = "arn:{PARTITION}:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"\n'
        '          access_scope = { type = "cluster" }\n'
        "        }\n      }\n    }\n  }\n}\n"
    )
    result = run([tmp_path], select={"EKS506", "EKS511"})
    assert result.problems == []
    assert _found(result) == [
        (
            "EKS511",
            12,
            "access policy association gives arn:aws:iam::111122223333:role/ops "
            "AmazonEKSAdminPolicy with access scope cluster: it applies in every namespace, "
            "kube-system included",
        ),
    ]
