"""A `for` expression over a collection that is not known (a variable without a default): how
many items it makes and their keys are not known, but every item it may make is its body with
the names the `for` binds not known. An access policy association built from it carries the
body's literal parts (its policy, its scope) and is judged by them, as a resource whose
`for_each` is not known is: whatever the principal, each one the collection holds gets that
policy. What the body leaves unknown stays unknown, and a filter that is false whatever the
item makes nothing."""

from __future__ import annotations

from bounded import scan_json
from conftest import run

ADMINS = 'variable "admins" {\n  type = list(string)\n}\n\n'
CLUSTER_ADMIN = '"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"'


def _scan(tmp_path, text: str, select: set[str]):
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select=select)
    assert result.problems == []
    return result


def _found(result) -> list[tuple[str, int, int, str]]:
    return sorted(
        (f.rule_id, f.location.start_line, f.location.end_line, f.message) for f in result.findings
    )


def _undecided(result) -> list[tuple[str, int, list[str]]]:
    return sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped)


def _association(name: str, for_each: str) -> str:
    return (
        f'resource "aws_eks_access_policy_association" "{name}" {{\n'
        f"  for_each      = {for_each}\n"
        '  cluster_name  = "shop"\n'
        "  principal_arn = each.key\n"
        "  policy_arn    = each.value.policy_arn\n"
        "  access_scope {\n    type = each.value.scope\n  }\n"
        "}\n\n"
    )


def test_a_resource_for_each_made_by_a_for_over_an_unknown_list_is_judged_by_its_body(tmp_path):
    body = f'{{ policy_arn = {CLUSTER_ADMIN}, scope = "cluster" }}'
    text = (
        ADMINS
        + "locals {\n  enabled = false\n}\n\n"
        + _association("admins", f"{{ for arn in var.admins : arn => {body} }}")
        + _association("filtered", f'{{ for arn in var.admins : arn => {body} if arn != "" }}')
        + _association("never", f"{{ for arn in var.admins : arn => {body} if local.enabled }}")
    )
    result = _scan(tmp_path, text, {"EKS506", "EKS511"})
    message = "access policy association gives arn AmazonEKSClusterAdminPolicy (scope cluster)"
    assert _found(result) == [("EKS506", 13, 13, message), ("EKS506", 23, 23, message)]
    # the filter false whatever the admins are makes no association: nothing is undecided
    assert _undecided(result) == []


def test_the_module_s_access_entries_made_by_a_for_over_an_unknown_list(tmp_path):
    text = ADMINS + (
        'module "eks" {\n'
        '  source  = "terraform-aws-modules/eks/aws"\n'
        '  version = "~> 20.0"\n\n'
        "  access_entries = { for arn in var.admins : arn => {\n"
        "    principal_arn = arn\n"
        "    policy_associations = {\n"
        "      admin = {\n"
        f"        policy_arn   = {CLUSTER_ADMIN}\n"
        '        access_scope = { type = "cluster" }\n'
        "      }\n"
        "    }\n"
        "  } }\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS502", "EKS506", "EKS511"})
    assert _found(result) == [
        (
            "EKS506",
            13,
            13,
            "access policy association gives arn AmazonEKSClusterAdminPolicy (scope cluster)",
        )
    ]
    # whether the principals are users is not known
    assert _undecided(result) == [("EKS502", 9, ["var.admins has no default"])]
    (association,) = [e for e in result.entities if e.kind == "access_policy_association"]
    assert association.key.endswith('module.eks.access_entries["arn"].policy_associations["admin"]')


def test_cloudposse_access_entry_map_made_by_a_for_over_an_unknown_list(tmp_path):
    text = ADMINS + (
        'module "eks_cluster" {\n'
        '  source  = "cloudposse/eks-cluster/aws"\n'
        '  version = "4.1.0"\n\n'
        "  access_entry_map = { for arn in var.admins : arn => {\n"
        "    access_policy_associations = { ClusterAdmin = {} }\n"
        "  } }\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS506", "EKS511"})
    assert _found(result) == [
        (
            "EKS506",
            9,
            11,
            "access policy association gives arn AmazonEKSClusterAdminPolicy (scope cluster)",
        )
    ]
    assert _undecided(result) == []


def test_a_for_nested_in_the_body_of_a_for_over_an_unknown_map(tmp_path):
    """Teams not known, each with namespaces not known: every association the inner `for`
    may make attaches AmazonEKSEditPolicy at cluster scope (EKS511, and surely not EKS506)."""
    text = (
        'variable "teams" {\n  type = any\n}\n\n'
        'module "eks" {\n'
        '  source  = "terraform-aws-modules/eks/aws"\n'
        '  version = "~> 20.0"\n\n'
        "  access_entries = { for team, t in var.teams : team => {\n"
        "    principal_arn = t.role\n"
        "    policy_associations = { for ns in t.namespaces : ns => {\n"
        '      policy_arn   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"\n'
        '      access_scope = { type = "cluster" }\n'
        "    } }\n"
        "  } }\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS506", "EKS511"})
    assert _found(result) == [
        (
            "EKS511",
            13,
            13,
            "access policy association gives t.role AmazonEKSEditPolicy with access scope "
            "cluster: it applies in every namespace, kube-system included",
        )
    ]
    assert _undecided(result) == []


def test_aws_auth_roles_made_by_a_for_over_an_unknown_list(tmp_path):
    """`[for ...]`, the list form, in an aws-auth ConfigMap: each role the list may hold is
    mapped to system:masters."""
    text = ADMINS + (
        'resource "kubernetes_config_map_v1_data" "aws_auth" {\n'
        "  metadata {\n"
        '    name      = "aws-auth"\n'
        '    namespace = "kube-system"\n'
        "  }\n"
        "  data = {\n"
        "    mapRoles = yamlencode([for arn in var.admins : {\n"
        "      rolearn  = arn\n"
        '      username = "admin"\n'
        '      groups   = ["system:masters"]\n'
        "    }])\n"
        "  }\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS501"})
    # on the group, as any aws-auth entry's EKS501
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS501", 14)]


def test_the_value_of_a_for_over_an_unknown_collection_is_unknown_to_functions(tmp_path):
    """Its length is not known (the collection may be empty or hold many): a `count` from it
    is not known, and what it would create is judged as one instance not known."""
    text = ADMINS + (
        'resource "aws_eks_access_policy_association" "admins" {\n'
        "  count         = length({ for arn in var.admins : arn => arn }) > 0 ? 1 : 0\n"
        '  cluster_name  = "shop"\n'
        '  principal_arn = "arn:aws:iam::111122223333:role/admin"\n'
        f"  policy_arn    = {CLUSTER_ADMIN}\n"
        '  access_scope {\n    type = "cluster"\n  }\n'
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS506"})
    (association,) = [e for e in result.entities if e.kind == "access_policy_association"]
    assert association.key.endswith(":aws_eks_access_policy_association.admins")
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS506", 9)]


def test_grouped_items_of_a_for_over_an_unknown_list(tmp_path):
    """`...` groups the items by key: each key's items, a list not known in length, are the
    body as well."""
    text = ADMINS + (
        "locals {\n"
        '  by_policy = { for arn in var.admins : "ClusterAdmin" => arn... }\n'
        "}\n\n"
        'resource "aws_eks_access_policy_association" "grouped" {\n'
        "  for_each      = { for policy, arns in local.by_policy : policy => arns }\n"
        '  cluster_name  = "shop"\n'
        "  principal_arn = each.value[0]\n"
        '  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKS${each.key}Policy"\n'
        '  access_scope {\n    type = "cluster"\n  }\n'
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS506"})
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS506", 13)]


def test_nested_fors_over_unknown_collections_that_double_stay_bounded(tmp_path):
    """Thirty `for`s, each over the last and making two copies of its item: the item doubles
    at each step; it is cut at the size limit with one note, the rest still judged."""
    steps = ['  f0 = { for a in var.admins : a => "0.0.0.0/0" }']
    steps += [f"  f{i} = {{ for k, v in local.f{i - 1} : k => [v, v] }}" for i in range(1, 31)]
    text = (
        ADMINS
        + "locals {\n"
        + "\n".join(steps)
        + "\n}\n\n"
        + 'resource "aws_eks_cluster" "c" {\n'
        + "  for_each = local.f30\n"
        + '  name     = "c"\n'
        + "  vpc_config {\n    public_access_cidrs = flatten(each.value)\n  }\n}\n\n"
        + 'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        + '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
    )
    (tmp_path / "main.tf").write_text(text)
    code, report, _err = scan_json("main.tf", cwd=tmp_path, extra=("--select", "EKS101,EKS202"))
    assert [p["level"] for p in report["problems"]] == ["note"]
    assert report["problems"][0]["message"].startswith("value over the size limit")
    assert [f["rule_id"] for f in report["findings"]] == ["EKS202"]
    assert code == 1


def test_dynamic_statements_made_by_a_for_over_an_unknown_list(tmp_path):
    """A policy document's `dynamic` statements over a `for` not known: each statement it may
    make trusts GitHub with the subject its body writes (`repo:org/*`, every repository of the
    organisation: EKS405)."""
    text = (
        'variable "repos" {\n  type = list(string)\n}\n\n'
        'data "aws_iam_policy_document" "trust" {\n'
        '  dynamic "statement" {\n'
        '    for_each = [for r in var.repos : { sub = "repo:org/*" }]\n'
        "    content {\n"
        '      actions = ["sts:AssumeRoleWithWebIdentity"]\n'
        "      principals {\n"
        '        type        = "Federated"\n'
        '        identifiers = ["arn:aws:iam::111122223333:oidc-provider/'
        'token.actions.githubusercontent.com"]\n'
        "      }\n"
        "      condition {\n"
        '        test     = "StringLike"\n'
        '        variable = "token.actions.githubusercontent.com:sub"\n'
        "        values   = [statement.value.sub]\n"
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n\n"
        'resource "aws_iam_role" "ci" {\n'
        '  name               = "ci"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust.json\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS405"})
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS405", 14)]
    assert _undecided(result) == []
