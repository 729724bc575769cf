"""Collections known in part keep what is known through what Terraform does with them.

The items a `for` over a collection not known makes (`UnknownItems`) keep their shape through
`merge`, `flatten`, `values`, `keys`, `concat`, `coalescelist`, `try`, splats, indexing and a
`for` over them; a `for` over a known collection whose `if` is not known keeps each item its
`if` does not drop, as one that may be absent (as a conditional between two collections
does); a `for` over a list known in part keeps its known items. The entities made of such
values (access entries and their policies, aws-auth roles, trust statements, resources whose
`for_each` it is) are judged by what is known of them: a finding where the known parts
decide, undecided (with the reason) where they do not."""

from __future__ import annotations

import pytest

from bounded import scan_json
from checks.model import PartialList, PartialMap, Unknown, UnknownItems
from checks.normalize.tf_eval import Declarations, Evaluator
from checks.normalize.tf_limits import MAX_PARTS, SIZE_NOTE
from checks.parse.hcl import parse_terraform
from conftest import run

ADMINS = 'variable "admins" {\n  type = list(string)\n}\n\n'
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EDIT_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
GIVES_ADMIN = "access policy association gives {} AmazonEKSClusterAdminPolicy (scope cluster)"
GIVES_EDIT = (
    "access policy association gives {} AmazonEKSEditPolicy with access scope cluster: it "
    "applies in every namespace, kube-system included"
)


def _scan(tmp_path, text: str, select: set[str]):
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select=select)
    assert result.problems == []
    return result


def _found(result) -> list[tuple[str, int, str]]:
    return sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings)


def _undecided(result) -> list[tuple[str, int, list[str]]]:
    return sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped)


def _module(access_entries: str) -> str:
    return (
        'module "eks" {\n'
        '  source  = "terraform-aws-modules/eks/aws"\n'
        '  version = "~> 20.0"\n\n'
        f"  access_entries = {access_entries}\n"
        "}\n"
    )


def _entry(principal: str, policy: str) -> str:
    return (
        f"{{\n    principal_arn = {principal}\n"
        "    policy_associations = {\n"
        f'      this = {{\n        policy_arn   = "{policy}"\n'
        '        access_scope = { type = "cluster" }\n      }\n    }\n  }'
    )


def test_merge_keeps_the_known_entries_and_the_shape_of_the_items_of_a_for(tmp_path):
    """`merge(known, { for ... })`: the known entry and each entry the `for` may make are
    judged; who the `for`'s principals are is not known (EKS502 undecided, with why)."""
    known = _entry('"arn:aws:iam::111122223333:role/ops"', ADMIN_POLICY)
    made = _entry("arn", EDIT_POLICY)
    text = ADMINS + _module(
        f"merge(\n  {{ ops = {known} }},\n  {{ for arn in var.admins : arn => {made} }}\n)"
    )
    result = _scan(tmp_path, text, {"EKS502", "EKS506", "EKS511"})
    assert _found(result) == [
        ("EKS506", 14, GIVES_ADMIN.format("arn:aws:iam::111122223333:role/ops")),
        ("EKS511", 24, GIVES_EDIT.format("arn")),
    ]
    # where the entries are written: the `for` knows no line of its own for each
    assert _undecided(result) == [("EKS502", 9, ["var.admins has no default"])]


def test_flatten_of_nested_fors_keeps_the_shape_of_their_items(tmp_path):
    """The common `flatten([for ... : [for ... : {...}]])` feeding a `for_each`: each instance
    it may make has the policy the inner body writes."""
    text = (
        'variable "teams" {\n  type = any\n}\n\n'
        "locals {\n"
        "  grants = flatten([for team, t in var.teams : [for ns in t.namespaces : {\n"
        "    role   = t.role\n"
        "    ns     = ns\n"
        f'    policy = "{ADMIN_POLICY}"\n'
        "  }]])\n"
        "}\n\n"
        'resource "aws_eks_access_policy_association" "grants" {\n'
        '  for_each      = { for g in local.grants : "${g.role}/${g.ns}" => g }\n'
        '  cluster_name  = "shop"\n'
        "  principal_arn = each.value.role\n"
        "  policy_arn    = each.value.policy\n"
        '  access_scope {\n    type = "cluster"\n  }\n'
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS506"})
    assert _found(result) == [("EKS506", 17, GIVES_ADMIN.format("t.role"))]
    assert _undecided(result) == []


def test_aws_auth_roles_of_concat_of_values_of_the_items_of_a_for(tmp_path):
    """`concat(values({ for ... }), [known])`: the known role and each role the `for` may make
    are mapped to system:masters."""
    text = ADMINS + (
        "locals {\n"
        "  teams = { for arn in var.admins : arn => { rolearn = arn, "
        'groups = ["system:masters"] } }\n'
        '  ops   = { rolearn = "arn:aws:iam::111122223333:role/ops", '
        'groups = ["system:masters"] }\n'
        "}\n\n"
        'resource "kubernetes_config_map_v1_data" "aws_auth" {\n'
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n"
        "    mapRoles = yamlencode(concat(values(local.teams), [local.ops]))\n"
        "  }\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS501"})
    masters = "aws-auth maps {} to group system:masters: it bypasses RBAC and cannot be "
    masters += "limited or audited by RBAC"
    assert _found(result) == [
        ("EKS501", 6, masters.format("arn")),
        ("EKS501", 7, masters.format("arn:aws:iam::111122223333:role/ops")),
    ]


def test_a_for_over_a_list_known_in_part_keeps_its_known_items(tmp_path):
    """`[for r in concat([known], var.extra) : ...]`: the known role's groups decide EKS501;
    the roles not known are undecided."""
    text = (
        'variable "extra_roles" {\n  type = any\n}\n\n'
        "locals {\n"
        "  roles = concat(\n"
        '    [{ arn = "arn:aws:iam::111122223333:role/ops", groups = ["system:masters"] }],\n'
        "    var.extra_roles,\n"
        "  )\n"
        "}\n\n"
        'resource "kubernetes_config_map_v1_data" "aws_auth" {\n'
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n"
        "    mapRoles = yamlencode([for r in local.roles : {\n"
        "      rolearn  = r.arn\n"
        '      username = "admin"\n'
        "      groups   = r.groups\n"
        "    }])\n"
        "  }\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS501"})
    assert _found(result) == [
        (
            "EKS501",
            21,
            "aws-auth maps arn:aws:iam::111122223333:role/ops to group system:masters: it "
            "bypasses RBAC and cannot be limited or audited by RBAC",
        )
    ]
    assert _undecided(result) == [("EKS501", 18, ["var.extra_roles has no default"])]


def test_trust_statements_known_in_part_are_each_judged(tmp_path):
    """A policy whose `Statement` is `concat([known], [for ...])`: the known statement and each
    one the `for` may make are trust statements."""
    github = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    text = (
        'variable "repos" {\n  type = list(string)\n}\n\n'
        'resource "aws_iam_role" "ci" {\n'
        '  name = "ci"\n'
        "  assume_role_policy = jsonencode({\n"
        '    Version = "2012-10-17"\n'
        "    Statement = concat(\n"
        "      [{\n"
        '        Effect    = "Allow"\n'
        '        Action    = "sts:AssumeRole"\n'
        '        Principal = { AWS = "arn:aws:iam::111122223333:root" }\n'
        "      }],\n"
        "      [for r in var.repos : {\n"
        '        Effect    = "Allow"\n'
        '        Action    = "sts:AssumeRoleWithWebIdentity"\n'
        f'        Principal = {{ Federated = "{github}" }}\n'
        "        Condition = { StringLike = { "
        '"token.actions.githubusercontent.com:sub" = "repo:org/*" } }\n'
        "      }],\n"
        "    )\n"
        "  })\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS405", "EKS407"})
    assert _found(result) == [
        (
            "EKS405",
            19,
            "role ci trusts GitHub Actions tokens with subject [repo:org/*]: workflows outside "
            "your repository can assume it",
        ),
        (
            "EKS407",
            13,
            "role ci trusts account root [arn:aws:iam::111122223333:root] with no condition: "
            "every principal the account allows can assume it",
        ),
    ]


def test_a_for_whose_if_is_not_known_keeps_the_items_it_may_keep(tmp_path):
    """`{ for k, v in local.people : k => v if k == "dev" || var.admins_enabled }`: dev is
    kept, ops may be: both are judged."""
    ops = _entry('"arn:aws:iam::111122223333:role/ops"', ADMIN_POLICY)
    dev = _entry('"arn:aws:iam::111122223333:role/dev"', EDIT_POLICY)
    text = (
        'variable "admins_enabled" {\n  type = bool\n}\n\n'
        f"locals {{\n  people = {{\n    ops = {ops}\n    dev = {dev}\n  }}\n}}\n\n"
        + _module('{ for k, v in local.people : k => v if k == "dev" || var.admins_enabled }')
    )
    result = _scan(tmp_path, text, {"EKS506", "EKS511"})
    assert _found(result) == [
        ("EKS506", 11, GIVES_ADMIN.format("arn:aws:iam::111122223333:role/ops")),
        ("EKS511", 21, GIVES_EDIT.format("arn:aws:iam::111122223333:role/dev")),
    ]
    assert _undecided(result) == []


def test_a_conditional_between_two_maps_keeps_the_items_of_either(tmp_path):
    ops = _entry('"arn:aws:iam::111122223333:role/ops"', ADMIN_POLICY)
    text = 'variable "extra" {\n  type = bool\n}\n\n' + _module(
        f"var.extra ? {{ ops = {ops} }} : {{}}"
    )
    result = _scan(tmp_path, text, {"EKS506"})
    assert _found(result) == [
        ("EKS506", 13, GIVES_ADMIN.format("arn:aws:iam::111122223333:role/ops"))
    ]
    assert _undecided(result) == []


EVALUATED = """
variable "x" {}
variable "on" {
  type = bool
}
locals {
  known = { a = { p = "A" }, b = { p = "B" } }
  each  = { for k, v in var.x : k => { p = "S" } }
  items = [for v in var.x : { p = "S", q = ["x", "y"] }]
}
"""


def _describe(value) -> str:
    """A value as these tests write it: `Partial*(known, rest, maybe)`, `each(item, key)` for
    the items of a `for`, `?text` for a value not known."""
    if isinstance(value, (PartialList, PartialMap)):
        rest = ", ".join(_describe(part) for part in value.rest)
        maybe = ",".join(sorted(map(str, value.maybe)))
        return f"{type(value).__name__}({_describe(value.known)}, [{rest}], {{{maybe}}})"
    if isinstance(value, UnknownItems):
        key = "" if value.key is None else ", " + _describe(value.key)
        return f"each({_describe(value.item)}{key})"
    if isinstance(value, Unknown):
        return "?" + value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    return repr(value)


@pytest.mark.parametrize(
    "expression, expected",
    [
        # a known key a map not known may replace may be absent; one after it may not
        (
            "merge(local.known, local.each)",
            "PartialMap({a: {p: 'A'}, b: {p: 'B'}}, [each({p: 'S'}, ?k)], {a,b})",
        ),
        (
            "merge(local.each, local.known)",
            "PartialMap({a: {p: 'A'}, b: {p: 'B'}}, [each({p: 'S'}, ?k)], {})",
        ),
        ("values(local.each)", "each({p: 'S'})"),
        (
            "values(merge(local.each, local.known))",
            "PartialList([{p: 'A'}, {p: 'B'}], [each({p: 'S'})], {})",
        ),
        ("keys(merge(local.each, local.known))", "PartialList(['a', 'b'], [each(?k)], {})"),
        (
            'flatten([local.items, [{ p = "K" }]])',
            "PartialList([{p: 'K'}], [each({p: 'S', q: ['x', 'y']})], {})",
        ),
        # each item a list of two: the items of each, two parts of one shape each
        ("flatten(local.items[*].q)", "PartialList([], [each('x'), each('y')], {})"),
        (
            "flatten([for k, v in var.x : [for p in v.ps : { k = k, p = p }]])",
            "each({k: ?k, p: ?p})",
        ),
        ("local.items[*].p", "each('S')"),
        ('concat(local.items, [{ p = "K" }])[*].p', "PartialList(['K'], [each('S')], {})"),
        ('local.each["any"].p', "'S'"),
        # a list has no attributes: not the items of the list
        ("local.items.p", '?[for v in var.x : {p = "S", q = ["x", "y"]}]'),
        ("local.items[3].q[1]", "'y'"),
        ('lookup(local.each, "any").p', "'S'"),
        ('lookup(merge(local.each, local.known), "a", {})', "{p: 'A'}"),
        ("try(local.each, {})", "each({p: 'S'}, ?k)"),
        (
            'try(local.items, [{ p = "D" }])',
            "PartialList([{p: 'D'}], [each({p: 'S', q: ['x', 'y']})], {0})",
        ),
        ("toset(local.items[*].p)", "each('S')"),
        ('tolist(concat(local.items[*].p, ["K"]))', "PartialList(['K'], [each('S')], {})"),
        (
            'coalescelist(local.items, [{ p = "D" }])',
            "PartialList([{p: 'D'}], [each({p: 'S', q: ['x', 'y']})], {0})",
        ),
        # the `if` not known for an item: kept, as one that may be absent
        (
            "[for k, v in local.known : v.p if var.on]",
            "PartialList(['A', 'B'], [], {0,1})",
        ),
        (
            '{ for k, v in local.known : k => v.p if k == "a" || var.on }',
            "PartialMap({a: 'A', b: 'B'}, [], {b})",
        ),
        # known false for an item: dropped
        ('[for k, v in local.known : v.p if k != "b" && var.on]', "PartialList(['A'], [], {0})"),
        # a key not known: an item under a key not known
        (
            '{ for k, v in local.known : "${k}-${var.on}" => v.p }',
            "PartialMap({}, [each('A', ?a-${var.on}), each('B', ?b-${var.on})], {})",
        ),
        # of a list known in part, its known items, the rest as a `for` over what is not known
        (
            '[for v in concat([{ p = "K" }], local.items, var.x) : v.p]',
            "PartialList(['K'], [each('S'), each(?v.p)], {})",
        ),
        # an index is not known once an item before it may be absent
        (
            "[for i, v in [for k, v in local.known : v.p if var.on] : i]",
            "PartialList([0, ?i], [], {0,1})",
        ),
        (
            '[for v in [for k, v in local.known : v.p if var.on] : v if v == "A"]',
            "PartialList(['A'], [], {0})",
        ),
        ('var.on ? [{ p = "C" }] : []', "PartialList([{p: 'C'}], [], {0})"),
        # a `for` nested in the body of a `for` over a map known in part
        (
            "{ for k, v in merge(local.each, local.known) : k => [for q in v : upper(q)] }",
            "PartialMap({a: ['A'], b: ['B']}, [each(['S'], ?k)], {})",
        ),
    ],
)
def test_what_is_known_of_a_collection_known_in_part_is_kept(expression, expected):
    assert _describe(_evaluated(expression)) == expected


@pytest.mark.parametrize(
    "expression",
    [
        '"is ${jsonencode([for a in var.x : "lit"])}"',
        '"is ${jsonencode({ for a in var.x : a => 1 })}"',
    ],
)
def test_the_text_jsonencode_gives_of_a_collection_known_in_part_is_not_known(expression):
    """Which items it holds is not known: neither is its text (a `for` over a collection not
    known may make none, or many)."""
    value = _evaluated(expression)
    assert isinstance(value, Unknown)
    assert value.reason == "the text of a collection known in part is not known"


def _evaluated(expression: str):
    """The value of `expression` in a module that declares EVALUATED (no note made)."""
    ev = Evaluator("infra", Declarations({"main.tf": parse_terraform(EVALUATED)}), None)
    (block,) = parse_terraform(f"locals {{\n  v = {expression}\n}}\n")
    value = ev.eval(block.attributes["v"].expr, "main.tf")
    assert ev.problems() == []
    return value


def test_collections_known_in_part_built_to_grow_stay_bounded(tmp_path):
    """Forty steps that each double what is known in part (concat, merge with keys of their
    own, flatten, a `for` whose `if` is not known, try, coalescelist): cut at the size limit,
    the parts of a rest kept to a few, each judged once."""
    steps = [
        '  p0 = concat([for a in var.admins : a], ["x"])',
        '  m0 = merge({ for a in var.admins : a => a }, { k = "v" })',
        '  f0 = flatten([[for a in var.admins : [a, a]], ["x"]])',
        '  x0 = [for v in ["a", "b"] : v if var.on]',
        '  t0 = try([for a in var.admins : a], ["x"])',
        '  c0 = coalescelist([for a in var.admins : a], ["x"])',
    ]
    for i in range(1, 41):
        steps += [
            f"  p{i} = concat(local.p{i - 1}, local.p{i - 1})",
            f'  m{i} = merge(local.m{i - 1}, {{ for k, v in local.m{i - 1} : "${{k}}{i}" => v }})',
            f"  f{i} = flatten([local.f{i - 1}, local.f{i - 1}])",
            f"  x{i} = [for v in concat(local.x{i - 1}, local.x{i - 1}) : v if var.on]",
            f"  t{i} = try(local.t{i - 1}, concat(local.t{i - 1}, local.t{i - 1}))",
            f"  c{i} = coalescelist(local.c{i - 1}, local.c{i - 1}, local.c{i - 1})",
        ]
    text = (
        ADMINS
        + 'variable "on" {\n  type = bool\n}\n\nlocals {\n'
        + "\n".join(steps)
        + "\n}\n\n"
        + 'resource "aws_eks_cluster" "c" {\n  name = "c"\n  vpc_config {\n'
        + "    public_access_cidrs = concat(local.p40, local.f40, local.x40, local.t40, local.c40)\n"
        + "  }\n}\n\n"
        + 'resource "aws_eks_access_policy_association" "a" {\n'
        + "  for_each      = merge(local.m40, { for v in local.x40 : v => v })\n"
        + '  cluster_name  = "c"\n'
        + "  principal_arn = each.key\n"
        + f'  policy_arn    = "{ADMIN_POLICY}"\n'
        + '  access_scope {\n    type = "cluster"\n  }\n}\n'
    )
    (tmp_path / "main.tf").write_text(text)
    code, report, _err = scan_json("main.tf", cwd=tmp_path, extra=("--select", "EKS101,EKS506"))
    assert [p["message"] for p in report["problems"]] == [SIZE_NOTE]
    # the known instances `a` and `b`, and at most MAX_PARTS + 1 for the parts of the rest
    found = [f for f in report["findings"] if f["rule_id"] == "EKS506"]
    assert 2 < len(found) <= 2 + MAX_PARTS + 1
    assert code == 1


def test_a_list_known_in_part_decides_the_rules_its_known_items_decide(tmp_path):
    """`concat(["system:masters"], var.extra)` surely holds system:masters (EKS501 fires),
    and may hold a group a binding makes cluster-admin (EKS703 undecided); a known group that
    is bound fires EKS703 whatever the rest, while the rest may still be system:masters; a
    CIDR list that surely holds 0.0.0.0/0 is open to the internet whatever else it holds."""
    (tmp_path / "main.tf").write_text(
        'variable "extra" {\n'  # 1
        "  type = list(string)\n"
        "}\n\n"
        'resource "kubernetes_config_map_v1_data" "aws_auth" {\n'  # 5
        "  metadata {\n"
        '    name      = "aws-auth"\n'
        '    namespace = "kube-system"\n'
        "  }\n"
        "  data = {\n"  # 10
        "    mapRoles = yamlencode([\n"
        "      {\n"
        '        rolearn  = "arn:aws:iam::111122223333:role/ops"\n'
        '        groups   = concat(["system:masters"], var.extra)\n'
        "      },\n"  # 15
        "      {\n"
        '        rolearn  = "arn:aws:iam::111122223333:role/dev"\n'
        '        groups   = concat(["dev-readers"], var.extra)\n'
        "      },\n"
        "    ])\n"  # 20
        "  }\n"
        "}\n\n"
        'resource "aws_eks_cluster" "main" {\n'
        '  name     = "main"\n'  # 25
        '  role_arn = "arn:aws:iam::111122223333:role/cluster"\n'
        "  vpc_config {\n"
        "    subnet_ids          = []\n"
        '    public_access_cidrs = concat(["0.0.0.0/0"], var.extra)\n'
        "  }\n"  # 30
        "}\n"
    )
    (tmp_path / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRoleBinding\n"
        "metadata:\n"
        "  name: dev-admin\n"
        "subjects:\n"
        "- kind: Group\n"
        "  name: dev-readers\n"
        "  apiGroup: rbac.authorization.k8s.io\n"
        "roleRef:\n"
        "  kind: ClusterRole\n"
        "  name: cluster-admin\n"
        "  apiGroup: rbac.authorization.k8s.io\n"
    )
    result = run([tmp_path], select={"EKS101", "EKS501", "EKS703"})
    assert result.problems == []
    ops, dev = "arn:aws:iam::111122223333:role/ops", "arn:aws:iam::111122223333:role/dev"
    assert _found(result) == [
        (
            "EKS101",
            29,
            'cluster main has a public API endpoint open to concat(["0.0.0.0/0"], var.extra)',
        ),
        (
            "EKS501",
            14,
            f"aws-auth maps {ops} to group system:masters: it bypasses RBAC and cannot be "
            "limited or audited by RBAC",
        ),
        (
            "EKS703",
            18,
            f"aws-auth maps {dev} to group(s) [dev-readers], which a ClusterRoleBinding binds "
            "to cluster-admin",
        ),
    ]
    reason = ["var.extra has no default"]
    assert [(s.rule_id, s.reasons) for s in sorted(result.skipped, key=lambda s: s.rule_id)] == [
        ("EKS501", reason),
        ("EKS703", reason),
    ]
