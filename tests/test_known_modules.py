"""Modules read from their inputs without their source, each with the defaults of the version
the call gets (read from the modules' own sources at their tags): terraform-aws-modules/eks
(v17-v21, its node-group, fargate-profile and karpenter submodules), terraform-aws-modules/iam
(IRSA, OIDC, GitHub, assumable and v6 roles), cloudposse eks-cluster and eks-node-group, and
aws-ia eks-blueprints-addons; and which version a call gets."""

from __future__ import annotations

import pytest

from checks.model import Unknown
from checks.normalize.tf_known import LATEST, allowed
from conftest import run


def _scan(tmp_path, text: str, select=None):
    (tmp_path / "main.tf").write_text(text)
    result = run([tmp_path], select=select)
    assert [p for p in result.problems if p.level == "error"] == []
    return result


def _found(result) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.location.start_line) for f in result.findings)


def _call(source: str, version: str | None, body: str) -> str:
    pinned = f'  version = "{version}"\n' if version else ""
    return f'module "m" {{\n  source  = "{source}"\n{pinned}{body}}}\n'


EKS = "terraform-aws-modules/eks/aws"


# ---- versions --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("constraint", "newest"),
    [
        ("~> 20.0", (20, LATEST, LATEST)),
        ("20.8.4", (20, 8, 4)),
        (">= 18.0.0", (LATEST, LATEST, LATEST)),
        (">= 21.16.1, < 22.0", (21, LATEST, LATEST)),
        ("~> 20.8, < 21", (20, LATEST, LATEST)),
        ("~> v6.2.1", (6, 2, LATEST)),
        ("< 20", (19, LATEST, LATEST)),
        ("<= 19.5", (19, 5, 0)),
    ],
)
def test_a_constraint_allows_up_to_its_newest_release(constraint, newest):
    assert allowed(constraint)[1] == newest


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        # Terraform installs the newest release >= 18: v21, whose names the call does not use
        ('version = ">= 18.0.0"\n  name = "c"\n', "v21 default"),
        (
            'version = ">= 18.0.0"\n  cluster_name = "c"\n',
            "v20 default (assumed from the names of its inputs)",
        ),
        ('version = "~> 19.21"\n', "v19 default"),
    ],
)
def test_the_version_a_constraint_gives(tmp_path, how, expected):
    result = _scan(tmp_path, f'module "m" {{\n  source = "{EKS}"\n  {how}}}\n')
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert cluster.defaulted["endpoint_public_access"] == f"terraform-aws-modules/eks {expected}"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("v20.8.4", "v20 default"),
        ("tags/v18.31.2", "v18 default"),
        ("refs/tags/v19.21.0", "v19 default"),
        (
            "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
            "v21 default (ref 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b is a commit: assumed)",
        ),
        ("main", "v21 default (ref main is no version tag: assumed)"),
    ],
)
def test_a_git_refs_tag_is_its_version_and_a_commit_is_none(tmp_path, ref, expected):
    source = f"git::https://github.com/terraform-aws-modules/terraform-aws-eks.git?ref={ref}"
    result = _scan(tmp_path, f'module "m" {{\n  source = "{source}"\n}}\n')
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert cluster.defaulted["endpoint_public_access"] == f"terraform-aws-modules/eks {expected}"


# ---- terraform-aws-modules/eks ---------------------------------------------------------------
def test_v18_has_its_own_defaults(tmp_path):
    """v18: public endpoint on, private off (EKS101, EKS102), audit logs on; node groups hop
    limit 2. v19: public off, private on."""
    body = '  cluster_name = "c"\n  eks_managed_node_groups = {\n    a = {}\n  }\n'
    v18 = _scan(tmp_path, _call(EKS, "~> 18.31", body), {"EKS101", "EKS102", "EKS103", "EKS202"})
    assert _found(v18) == [("EKS101", 1), ("EKS102", 1), ("EKS202", 6)]
    v19 = _scan(tmp_path, _call(EKS, "~> 19.0", body), {"EKS101", "EKS102", "EKS103", "EKS202"})
    assert _found(v19) == [("EKS202", 6)]


@pytest.mark.parametrize("version", ["~> 20.0", "~> 21.0"])
def test_creator_admin_permissions_is_an_access_entry_with_cluster_admin(tmp_path, version):
    name = "cluster_name" if version.startswith("~> 20") else "name"
    result = _scan(
        tmp_path,
        _call(EKS, version, f'  {name} = "c"\n  enable_cluster_creator_admin_permissions = true\n'),
        {"EKS506", "EKS508"},
    )
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS506",
            5,
            "access policy association gives the identity that runs terraform "
            "AmazonEKSClusterAdminPolicy (scope cluster)",
        )
    ]
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert cluster.fields["bootstrap_cluster_creator_admin_permissions"] is False


def test_a_users_cluster_creator_entry_replaces_the_modules(tmp_path):
    result = _scan(
        tmp_path,
        _call(
            EKS,
            "~> 20.0",
            "  enable_cluster_creator_admin_permissions = true\n"
            "  access_entries = {\n    cluster_creator = {\n"
            '      principal_arn = "arn:aws:iam::111122223333:role/ci"\n    }\n  }\n',
        ),
        {"EKS506"},
    )
    assert result.findings == []


ACCESS_VARIABLES = "".join(
    f'variable "{name}" {{\n  type = any\n}}\n' for name in ("entries", "policies", "scope")
)  # lines 1-9


@pytest.mark.parametrize("version", ["~> 20.0", "~> 21.0"])
def test_access_entries_not_known_are_an_entry_not_known(tmp_path, version):
    """`access_entries = var.entries`: whatever entries it holds, each one's principal and
    policies are not known, so the rules on them are undecided for that reason (as cloudposse's
    `access_entry_map`), never silently passed; an entry written after it may repeat one."""
    name = "cluster_name" if version.startswith("~> 20") else "name"
    text = ACCESS_VARIABLES + (
        'module "eks" {\n'  # 10
        '  source         = "terraform-aws-modules/eks/aws"\n'
        f'  version        = "{version}"\n'
        f'  {name} = "shop"\n'
        "  access_entries = var.entries\n"  # 14
        "}\n\n"
        'resource "aws_eks_access_entry" "ops" {\n'  # 17
        '  cluster_name  = "shop"\n'
        '  principal_arn = "arn:aws:iam::111122223333:role/ops"\n'  # 19
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS502", "EKS506", "EKS511", "EKS512"})
    assert result.findings == []
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS502", 14, ["var.entries has no default"]),
        ("EKS506", 14, ["var.entries has no default"]),
        ("EKS511", 14, ["var.entries has no default"]),
        (
            "EKS512",
            17,
            [
                f"the access entry at {tmp_path}/main.tf:14 may be for the same principal and cluster"
            ],
        ),
    ]
    (entry,) = [e for e in result.entities if e.key.endswith('access_entries["(not known)"]')]
    assert {k: entry.fields[k].text for k in ("principal_arn", "entry_type", "groups")} == {
        "principal_arn": "var.entries",
        "entry_type": "var.entries",
        "groups": "var.entries",
    }


def test_an_access_entry_s_fields_not_known_leave_its_known_ones(tmp_path):
    """One entry not known, an entry's `policy_associations` not known, one association not
    known, an `access_scope` not known: each is an entry or an association whose unknown
    parts are unknown for their own reason, and whose known parts (the user's ARN, the Edit
    policy) are judged."""
    text = ACCESS_VARIABLES + (
        'module "eks" {\n'  # 10
        '  source       = "terraform-aws-modules/eks/aws"\n'
        '  version      = "~> 20.0"\n'
        '  cluster_name = "shop"\n'
        "  access_entries = {\n"
        "    ops = {\n"  # 15
        '      principal_arn       = "arn:aws:iam::111122223333:user/ops"\n'
        "      policy_associations = var.policies\n"  # 17
        "    }\n"
        "    dev = {\n"  # 19
        '      principal_arn = "arn:aws:iam::111122223333:role/dev"\n'
        "      policy_associations = {\n"
        "        any  = var.policies\n"  # 22
        "        edit = {\n"  # 23
        '          policy_arn   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"\n'
        "          access_scope = var.scope\n"  # 25
        "        }\n"
        "        view = {\n"  # 27
        '          policy_arn   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"\n'
        "          access_scope = var.scope\n"
        "        }\n"
        "      }\n"
        "    }\n"
        "    more = var.entries\n"  # 33
        "  }\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS502", "EKS506", "EKS511"})
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS502",
            16,
            "access_entry maps IAM user arn:aws:iam::111122223333:user/ops: map a role that "
            "people assume instead",
        )
    ]
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS502", 33, ["var.entries has no default"]),
        ("EKS506", 17, ["var.policies has no default"]),
        ("EKS506", 22, ["var.policies has no default"]),
        ("EKS506", 33, ["var.entries has no default"]),
        ("EKS511", 17, ["var.policies has no default"]),
        ("EKS511", 22, ["var.policies has no default"]),
        ("EKS511", 23, ["var.scope has no default"]),
        ("EKS511", 33, ["var.entries has no default"]),
    ]
    keys = sorted(
        e.key.split("module.eks.", 1)[1]
        for e in result.entities
        if e.kind == "access_policy_association"
    )
    assert keys == [
        'access_entries["dev"].policy_associations["any"]',
        'access_entries["dev"].policy_associations["edit"]',
        'access_entries["dev"].policy_associations["view"]',
        'access_entries["more"].policy_associations["(not known)"]',
        'access_entries["ops"].policy_associations["(not known)"]',
    ]


def test_v18_to_v20_replace_the_metadata_map_and_v21_fills_each_key(tmp_path):
    body = "  eks_managed_node_groups = {\n    a = {\n      metadata_options = { http_put_response_hop_limit = 1 }\n    }\n  }\n"
    for version, expected in (
        ("~> 18.0", [("EKS201", 6)]),
        ("~> 20.0", [("EKS201", 6)]),
        ("~> 21.0", []),
    ):
        assert _found(_scan(tmp_path, _call(EKS, version, body), {"EKS201", "EKS202"})) == expected


@pytest.mark.parametrize(
    ("version", "group", "expected", "unknown"),
    [
        # EKS's own launch template: AL2 allows IMDSv1 with hop limit 2, AL2023 requires v2, hop 1
        (
            "~> 20.0",
            'use_custom_launch_template = false, ami_type = "AL2_x86_64"',
            [("EKS201", 5), ("EKS202", 5)],
            0,
        ),
        (
            "~> 20.0",
            'use_custom_launch_template = false, ami_type = "AL2023_x86_64_STANDARD"',
            [],
            0,
        ),
        ("~> 21.0", "use_custom_launch_template = false", [], 0),  # v21: AL2023 by default
        ("~> 20.0", 'use_custom_launch_template = false, ami_type = "BOTTLEROCKET_x86_64"', [], 2),
        ("~> 19.0", "use_custom_launch_template = false", [], 2),  # the AMI EKS picks is not known
        ("~> 18.0", 'create_launch_template = false, launch_template_name = ""', [], 2),
        # v18: the template named after the group, the user's own
        ("~> 18.0", "create_launch_template = false", [], 2),
    ],
)
def test_a_managed_node_group_without_the_modules_template(
    tmp_path, version, group, expected, unknown
):
    result = _scan(
        tmp_path,
        _call(
            EKS,
            version,
            f"  eks_managed_node_groups = {{\n    a = {{\n      {group}\n    }}\n  }}\n",
        ),
        {"EKS201", "EKS202"},
    )
    assert _found(result) == expected
    assert len(result.skipped) == unknown


def test_the_eks_default_template_follows_the_clusters_kubernetes_version(tmp_path):
    body = '  cluster_version = "{}"\n  eks_managed_node_groups = {{\n    a = {{ use_custom_launch_template = false }}\n  }}\n'
    assert _found(_scan(tmp_path, _call(EKS, "~> 20.0", body.format("1.29")), {"EKS201"})) == [
        ("EKS201", 6)
    ]
    assert _found(_scan(tmp_path, _call(EKS, "~> 20.0", body.format("1.31")), {"EKS201"})) == []


def test_node_groups_of_unknown_shape_are_undecided_not_skipped(tmp_path):
    """`eks_managed_node_groups = local.groups` built with what is not evaluated: the node
    groups' checks are counted as undecided, with the reason, never silently dropped."""
    result = _scan(
        tmp_path,
        'variable "groups" {}\n\n'
        + _call(
            EKS,
            "~> 20.0",
            "  eks_managed_node_groups = var.groups\n"
            "  self_managed_node_groups = { a = var.groups }\n",
        ),
        {"EKS201", "EKS202"},
    )
    assert result.findings == []
    assert sorted((s.rule_id, s.location.start_line, s.reasons[0]) for s in result.skipped) == [
        ("EKS201", 6, "eks_managed_node_groups of module.m is not known"),
        ("EKS201", 7, 'self_managed_node_groups["a"] is not known'),
        ("EKS202", 6, "eks_managed_node_groups of module.m is not known"),
        ("EKS202", 7, 'self_managed_node_groups["a"] is not known'),
    ]


def test_v19_writes_aws_auth_when_either_input_asks(tmp_path):
    body = (
        "  create_aws_auth_configmap = true\n  manage_aws_auth_configmap = false\n"
        '  aws_auth_roles = [{ rolearn = "arn:aws:iam::111122223333:role/a", username = "a", '
        'groups = ["system:masters"] }]\n'
    )
    assert _found(_scan(tmp_path, _call(EKS, "~> 19.0", body), {"EKS501"})) == [("EKS501", 6)]
    # before v18.20 the module wrote no aws-auth
    assert _found(_scan(tmp_path, _call(EKS, "18.10.0", body), {"EKS501"})) == []


def test_v17_writes_aws_auth_by_default_and_its_workers_allow_imdsv1(tmp_path):
    body = (
        '  map_users = [{ userarn = "arn:aws:iam::111122223333:user/u", username = "u", groups = ["g"] }]\n'
        '  worker_groups = [{ instance_type = "m5.large" }]\n'
    )
    result = _scan(tmp_path, _call(EKS, "17.24.0", body), {"EKS103", "EKS201", "EKS502"})
    assert _found(result) == [("EKS103", 1), ("EKS201", 5), ("EKS502", 4)]


@pytest.mark.parametrize(
    ("version", "name"),
    [("~> 20.0", "cluster_identity_providers"), ("~> 21.0", "identity_providers")],
)
def test_identity_providers_are_read(tmp_path, version, name):
    body = f'  {name} = {{\n    okta = {{\n      issuer_url = "https://o"\n      client_id = "x"\n      groups_claim = "groups"\n    }}\n  }}\n'
    result = _scan(tmp_path, _call(EKS, version, body), {"EKS509"})
    # on the groups_claim the prefix is missing for, as for the resource
    assert _found(result) == [("EKS509", 8)]


@pytest.mark.parametrize(
    ("version", "expected"),
    [("~> 20.0", [("EKS202", 1)]), ("~> 21.0", [])],
)
def test_node_group_submodules_on_their_own(tmp_path, version, expected):
    for kind in ("eks-managed-node-group", "self-managed-node-group"):
        result = _scan(
            tmp_path,
            _call(f"{EKS}//modules/{kind}", version, '  name = "a"\n'),
            {"EKS201", "EKS202"},
        )
        assert _found(result) == expected, kind
        (group,) = [e for e in result.entities if e.kind == "instance_metadata"]
        assert group.fields["resource_type"] == f"module:{kind}"


@pytest.mark.parametrize(("version", "conditioned"), [("20.10.0", False), ("~> 20.11", True)])
def test_the_fargate_profile_role_trust(tmp_path, version, conditioned):
    result = _scan(
        tmp_path, _call(f"{EKS}//modules/fargate-profile", version, '  cluster_name = "c"\n')
    )
    (statement,) = [e for e in result.entities if e.kind == "trust_statement"]
    assert statement.fields["principals_service"] == ["eks-fargate-pods.amazonaws.com"]
    assert statement.fields["has_condition"] is conditioned


@pytest.mark.parametrize(
    ("version", "body", "expected", "associations"),
    [
        # v19: an IRSA controller role scoped to karpenter:karpenter
        (
            "~> 19.0",
            '  irsa_oidc_provider_arn = "arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/A"\n',
            [],
            0,
        ),
        # v20: the Pod Identity statement has no source condition; no association unless asked
        ("~> 20.0", "", [("EKS406", 1)], 0),
        ("~> 20.0", "  create_pod_identity_association = true\n", [("EKS406", 1)], 1),
        # v21: the association by default
        ("~> 21.0", "", [("EKS406", 1)], 1),
    ],
)
def test_karpenter(tmp_path, version, body, expected, associations):
    result = _scan(
        tmp_path,
        _call(f"{EKS}//modules/karpenter", version, '  cluster_name = "c"\n' + body),
        {"EKS402", "EKS403", "EKS404", "EKS406", "EKS702"},
    )
    assert _found(result) == expected
    found = [e for e in result.entities if e.kind == "pod_identity_association"]
    assert len(found) == associations
    for association in found:
        assert (association.fields["namespace"], association.fields["service_account"]) == (
            "kube-system",
            "karpenter",
        )
        assert association.fields["role_trusts_pod_identity"] is True
    roles = {e.fields["role_name"].text for e in result.entities if e.kind == "trust_statement"}
    assert len(roles) == 2  # the controller and the nodes


# ---- terraform-aws-modules/eks-pod-identity ----------------------------------------------------
POD_IDENTITY = """module "team" {
  source   = "terraform-aws-modules/eks-pod-identity/aws"
  version  = "~> 2.0"
  for_each = { api = "shop", jobs = "batch" }

  name = "team-${each.key}"
  association_defaults = {
    cluster_name = "prod"
    namespace    = each.value
  }
  associations = {
    own = {
      service_account = each.key
    }
    fallback = {
      service_account = "default"
    }
  }
}
"""
ROOT_POD = """apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: api
      automountServiceAccountToken: false
      containers:
        - name: api
          image: shop/api
"""


def test_the_pod_identity_module_gives_its_role_to_each_association(tmp_path):
    (tmp_path / "api.yaml").write_text(ROOT_POD)
    result = _scan(tmp_path, POD_IDENTITY, {"EKS305", "EKS307", "EKS406"})
    found = sorted(
        (f.rule_id, f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.message)
        for f in result.findings
    )
    assert found == [
        (
            "EKS305",
            "main.tf",
            16,
            'ServiceAccount batch/default gets IAM role module.team["jobs"].iam_role_arn:'
            " every pod of the namespace that names no ServiceAccount gets it too",
        ),
        (
            "EKS305",
            "main.tf",
            16,
            'ServiceAccount shop/default gets IAM role module.team["api"].iam_role_arn:'
            " every pod of the namespace that names no ServiceAccount gets it too",
        ),
        (
            "EKS307",
            "api.yaml",
            10,
            'Deployment shop/api gets AWS role module.team["api"].iam_role_arn through the'
            f" pod identity association at {tmp_path / 'main.tf'}:12, and container(s) [api] may"
            " run as root: any process in them can read the token and the role's credentials",
        ),
        *(
            (
                "EKS406",
                "main.tf",
                1,
                f"role team-{team}-* trusts pods.eks.amazonaws.com with no aws:SourceAccount,"
                " aws:SourceArn, aws:SourceOrgID or aws:SourceOrgPaths condition",
            )
            for team in ("api", "jobs")
        ),
    ]
    associations = sorted(
        (e.fields["cluster_name"], e.fields["namespace"], e.fields["service_account"])
        for e in result.entities
        if e.kind == "pod_identity_association"
    )
    assert associations == [
        ("prod", "batch", "default"),
        ("prod", "batch", "jobs"),
        ("prod", "shop", "api"),
        ("prod", "shop", "default"),
    ]
    trusts = [e for e in result.entities if e.kind == "pod_identity_association"]
    assert {e.fields["role_trusts_pod_identity"] for e in trusts} == {True}


def test_the_pod_identity_module_trust_conditions(tmp_path):
    condition = (
        '  trust_policy_conditions = [{\n    test     = "StringEquals"\n'
        '    variable = "aws:SourceAccount"\n    values   = ["111122223333"]\n  }]\n'
    )
    text = POD_IDENTITY.replace('  name = "team', condition + '  name = "team')
    result = _scan(tmp_path, text, {"EKS406"})
    assert _found(result) == []


def test_pod_identity_associations_written_in_another_file_are_located_at_the_input(tmp_path):
    (tmp_path / "locals.tf").write_text(
        'locals {\n  teams = {\n    own = {\n      cluster_name    = "prod"\n'
        '      namespace       = "shop"\n      service_account = "default"\n    }\n  }\n}\n'
    )
    text = (
        'module "team" {\n  source  = "terraform-aws-modules/eks-pod-identity/aws"\n'
        '  version = "~> 2.0"\n  name    = "team"\n  associations = local.teams\n}\n'
    )
    result = _scan(tmp_path, text, {"EKS305"})
    (finding,) = result.findings
    assert (finding.location.file.rsplit("/", 1)[-1], finding.location.start_line) == (
        "main.tf",
        5,
    )
    assert [
        (r.location.file.rsplit("/", 1)[-1], r.location.start_line, r.message)
        for r in finding.related
    ] == [
        ("locals.tf", 3, 'namespace comes from local.teams["own"]'),
        ("locals.tf", 3, 'service_account comes from local.teams["own"]'),
    ]


def test_the_pod_identity_module_creates_nothing_when_told_not_to(tmp_path):
    text = POD_IDENTITY.replace('  name = "team', '  create = false\n  name = "team')
    result = _scan(tmp_path, text)
    assert [e.kind for e in result.entities if e.kind != "tf_variable"] == []


# ---- terraform-aws-modules/iam ----------------------------------------------------------------
IAM = "terraform-aws-modules/iam/aws//modules"
PROVIDER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"


@pytest.mark.parametrize(
    ("version", "body", "expected"),
    [
        # no subjects, no audience: any service account of the cluster (EKS402, EKS404)
        ("~> 4.0", "", [("EKS402", 5), ("EKS404", 5)]),
        ("~> 5.0", "", [("EKS402", 5), ("EKS404", 5)]),
        (
            "~> 5.0",
            '  oidc_subjects_with_wildcards = ["system:serviceaccount:shop:*"]\n  oidc_fully_qualified_audiences = ["sts.amazonaws.com"]\n',
            [("EKS403", 5)],
        ),
        (
            "~> 4.0",
            '  oidc_fully_qualified_subjects = ["system:serviceaccount:shop:cart"]\n  oidc_fully_qualified_audiences = ["sts.amazonaws.com"]\n',
            [],
        ),
    ],
)
def test_assumable_role_with_oidc(tmp_path, version, body, expected):
    text = _call(
        f"{IAM}/iam-assumable-role-with-oidc",
        version,
        f'  create_role = true\n  provider_url = "https://{PROVIDER}"\n  role_name = "r"\n' + body,
    )
    assert _found(_scan(tmp_path, text, {"EKS402", "EKS403", "EKS404"})) == expected


def test_assumable_role_with_oidc_creates_nothing_by_default(tmp_path):
    text = _call(
        f"{IAM}/iam-assumable-role-with-oidc", "~> 5.0", f'  provider_url = "{PROVIDER}"\n'
    )
    assert [e for e in _scan(tmp_path, text).entities if e.kind == "trust_statement"] == []


@pytest.mark.parametrize(
    ("source", "version", "body", "name"),
    [
        (
            "iam-role-for-service-accounts-eks",
            "~> 5.0",
            '  role_name = "ebs"\n  assume_role_condition_test = "StringLike"\n',
            "ebs",
        ),
        # v6 renamed the module and its inputs, and names roles with a prefix by default
        (
            "iam-role-for-service-accounts",
            "~> 6.0",
            '  name = "ebs"\n  trust_condition_test = "StringLike"\n',
            "ebs-*",
        ),
    ],
)
def test_irsa_role_at_v5_and_v6(tmp_path, source, version, body, name):
    text = _call(
        f"{IAM}/{source}",
        version,
        body + "  oidc_providers = {\n    main = {\n"
        f'      provider_arn = "arn:aws:iam::1:oidc-provider/{PROVIDER}"\n'
        '      namespace_service_accounts = ["kube-system:*"]\n    }\n  }\n',
    )
    result = _scan(tmp_path, text, {"EKS403", "EKS404"})
    assert _found(result) == [("EKS403", 7)]
    (statement,) = [e for e in result.entities if e.kind == "trust_statement"]
    shown = statement.fields["role_name"]
    assert (shown if isinstance(shown, str) else shown.text) == name
    # the audience is tested with the same operator as the subject
    assert {
        (c["operator"], c["key"].rsplit(":", 1)[1]) for c in statement.fields["conditions"]
    } == {
        ("StringLike", "sub"),
        ("StringLike", "aud"),
    }


@pytest.mark.parametrize(
    ("version", "subjects", "condition", "expected"),
    [
        ("5.40.0", '["octo/app:ref:refs/heads/main"]', "", []),
        ("5.40.0", '["octo/*"]', "", [("EKS405", 4)]),
        # subject_condition exists from v5.45: before, StringLike whatever is asked
        ("5.40.0", '["*"]', '  subject_condition = "StringEquals"\n', [("EKS405", 4)]),
        ("5.50.0", '["octo/*"]', '  subject_condition = "StringEquals"\n', []),
    ],
)
def test_github_oidc_role(tmp_path, version, subjects, condition, expected):
    text = _call(f"{IAM}/iam-github-oidc-role", version, f"  subjects = {subjects}\n{condition}")
    assert _found(_scan(tmp_path, text, {"EKS405"})) == expected


@pytest.mark.parametrize("version", ["6.0.0", "~> 6.5"])
def test_iam_role_v6(tmp_path, version):
    text = _call(
        f"{IAM}/iam-role",
        version,
        '  name = "ci"\n'
        "  enable_github_oidc = true\n"
        '  oidc_wildcard_subjects = ["octo/*"]\n'
        "  trust_policy_permissions = {\n"
        "    TrustRoot = {\n"
        '      actions = ["sts:AssumeRole"]\n'
        '      principals = [{ type = "AWS", identifiers = ["arn:aws:iam::111122223333:root"] }]\n'
        "    }\n  }\n",
    )
    assert _found(_scan(tmp_path, text, {"EKS405", "EKS407"})) == [("EKS405", 1), ("EKS407", 8)]


@pytest.mark.parametrize(
    ("version", "body", "expected"),
    [
        # MFA by default: a condition, no EKS407
        ("~> 4.0", "", []),
        ("~> 5.0", "  role_requires_mfa = false\n", [("EKS407", 6)]),
        ("~> 4.0", '  role_requires_mfa = false\n  role_sts_externalid = "x"\n', []),
    ],
)
def test_assumable_role(tmp_path, version, body, expected):
    text = _call(
        f"{IAM}/iam-assumable-role",
        version,
        '  create_role = true\n  role_name = "admin"\n'
        '  trusted_role_arns = ["arn:aws:iam::111122223333:root"]\n' + body,
    )
    # the trust statement sits at trusted_role_arns
    assert _found(_scan(tmp_path, text, {"EKS407"})) == expected


def test_assumable_role_actions_by_version(tmp_path):
    for version, actions in (
        ("~> 4.0", ["sts:AssumeRole"]),
        ("~> 5.0", ["sts:AssumeRole", "sts:TagSession"]),
    ):
        text = _call(
            f"{IAM}/iam-assumable-role",
            version,
            '  create_role = true\n  trusted_role_services = ["pods.eks.amazonaws.com"]\n',
        )
        (statement,) = [e for e in _scan(tmp_path, text).entities if e.kind == "trust_statement"]
        assert statement.fields["granted_actions"] == actions


# ---- cloudposse and aws-ia -------------------------------------------------------------------
def test_cloudposse_eks_cluster_v2_and_v4(tmp_path):
    old = _call(
        "cloudposse/eks-cluster/aws",
        "2.9.0",
        '  map_additional_iam_roles = [{ rolearn = "arn:aws:iam::1:role/a", username = "a", groups = ["system:masters"] }]\n',
    )
    assert _found(
        _scan(tmp_path, old, {"EKS101", "EKS102", "EKS103", "EKS501", "EKS507", "EKS508"})
    ) == [
        ("EKS101", 1),
        ("EKS102", 1),
        ("EKS103", 1),
        ("EKS501", 4),
        ("EKS507", 1),
        ("EKS508", 1),
    ]
    new = _call(
        "cloudposse/eks-cluster/aws",
        "~> 4.0",
        '  endpoint_private_access = true\n  enabled_cluster_log_types = ["audit", "authenticator"]\n'
        "  access_entry_map = {\n"
        '    "arn:aws:iam::1:role/ops" = {\n      kubernetes_groups = ["system:masters"]\n    }\n'
        '    "arn:aws:iam::1:role/dev" = {\n'
        "      access_policy_associations = {\n        Edit = {}\n      }\n    }\n  }\n",
    )
    result = _scan(tmp_path, new, {"EKS101", "EKS501", "EKS506", "EKS507", "EKS508", "EKS511"})
    # Edit with no scope: cluster scope, the module's default
    assert [r for r, _ in _found(result)] == ["EKS101", "EKS506", "EKS511"]
    scopes = {
        e.fields["policy_name"]: e.fields["scope_type"]
        for e in result.entities
        if e.kind == "access_policy_association"
    }
    assert scopes == {"AmazonEKSClusterAdminPolicy": "cluster", "AmazonEKSEditPolicy": "cluster"}


@pytest.mark.parametrize(
    ("version", "expected"), [("0.24.0", ["EKS201", "EKS202"]), ("~> 3.0", ["EKS202"])]
)
def test_cloudposse_eks_node_group(tmp_path, version, expected):
    result = _scan(
        tmp_path, _call("cloudposse/eks-node-group/aws", version, ""), {"EKS201", "EKS202"}
    )
    assert [r for r, _ in _found(result)] == expected


@pytest.mark.parametrize("version", ["1.16.0", "~> 1.0"])
def test_blueprints_addons_irsa_roles(tmp_path, version):
    text = _call(
        "aws-ia/eks-blueprints-addons/aws",
        version,
        f'  oidc_provider_arn = "arn:aws:iam::1:oidc-provider/{PROVIDER}"\n'
        "  enable_aws_load_balancer_controller = true\n"
        "  enable_external_dns = true\n"  # no zones given: no role
        "  enable_aws_efs_csi_driver = true\n"
        '  aws_efs_csi_driver = { namespace = "storage" }\n',
    )
    result = _scan(tmp_path, text, {"EKS402", "EKS403", "EKS404"})
    assert result.findings == []
    subjects = sorted(
        tuple(e.fields["sub_values"]) for e in result.entities if e.kind == "trust_statement"
    )
    assert subjects == [
        ("system:serviceaccount:kube-system:aws-load-balancer-controller-sa",),
        (
            "system:serviceaccount:storage:efs-csi-controller-sa",
            "system:serviceaccount:storage:efs-csi-node-sa",
        ),
    ]


# ---- what the roles the modules create can do in AWS -----------------------------------------
def _power(result, name_text: str) -> list:
    (role,) = [
        e
        for e in result.entities
        if e.kind == "iam_role"
        and (e.fields["name"] if isinstance(e.fields["name"], str) else e.fields["name"].text)
        == name_text
    ]
    return role.fields["aws_power"]


def test_the_iam_role_modules_roles_and_their_policies(tmp_path):
    text = (
        _call(
            f"{IAM}/iam-assumable-role",
            "~> 5.0",
            '  create_role = true\n  role_name = "admin"\n  attach_admin_policy = true\n'
            '  trusted_role_arns = ["arn:aws:iam::111122223333:role/sso"]\n',
        )
        + _call(
            f"{IAM}/iam-role-for-service-accounts-eks",
            "~> 5.0",
            '  role_name = "reader"\n'
            '  role_policy_arns = { s3 = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" }\n'
            "  oidc_providers = {\n    main = {\n"
            f'      provider_arn = "arn:aws:iam::1:oidc-provider/{PROVIDER}"\n'
            '      namespace_service_accounts = ["shop:reader"]\n    }\n  }\n',
        ).replace('module "m"', 'module "reader"')
        + _call(
            f"{IAM}/iam-role-for-service-accounts",
            "~> 6.0",
            '  name = "cni"\n  use_name_prefix = false\n  attach_vpc_cni_policy = true\n'
            "  oidc_providers = {\n    main = {\n"
            f'      provider_arn = "arn:aws:iam::1:oidc-provider/{PROVIDER}"\n'
            '      namespace_service_accounts = ["kube-system:aws-node"]\n    }\n  }\n',
        ).replace('module "m"', 'module "cni"')
    )
    result = _scan(tmp_path, text)
    assert _power(result, "admin") == ["admin", "iam_write", "AdministratorAccess"]
    assert _power(result, "reader") == ["AmazonS3ReadOnlyAccess"]
    # the module writes the CNI's policy itself: what the role can do is not all known
    assert any(isinstance(p, Unknown) for p in _power(result, "cni"))


@pytest.mark.parametrize(
    ("version", "registry"),
    [
        ("21.1.0", "AmazonEC2ContainerRegistryReadOnly"),
        ("~> 21.2", "AmazonEC2ContainerRegistryPullOnly"),
    ],
)
def test_karpenters_node_role_policies(tmp_path, version, registry):
    result = _scan(tmp_path, _call(f"{EKS}//modules/karpenter", version, '  cluster_name = "c"\n'))
    assert sorted(_power(result, "Karpenter*")) == sorted(
        ["AmazonEKSWorkerNodePolicy", registry, "AmazonEKS_CNI_Policy"]
    )


@pytest.mark.parametrize(
    ("version", "body", "message"),
    [
        (
            "~> 20.0",
            '  cluster_name = "shop"\n  cluster_endpoint_public_access = true\n'
            "  cluster_endpoint_private_access = false\n",
            "cluster shop has cluster_endpoint_private_access = false",
        ),
        (
            "~> 21.0",
            '  name = "shop"\n  endpoint_public_access = true\n  endpoint_private_access = false\n',
            "cluster shop has endpoint_private_access = false",
        ),
    ],
)
def test_eks_module_messages_name_the_modules_input(tmp_path, version, body, message):
    # v20 calls the argument cluster_endpoint_private_access: the finding names the input
    result = _scan(tmp_path, _call(EKS, version, body), {"EKS102"})
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        ("EKS102", 6, message + ": nodes reach the API server through the public endpoint")
    ]


def test_cloudposse_node_group_messages_name_the_modules_inputs(tmp_path):
    body = "  metadata_http_tokens_required = false\n  metadata_http_put_response_hop_limit = 3\n"
    result = _scan(
        tmp_path, _call("cloudposse/eks-node-group/aws", "~> 3.0", body), {"EKS201", "EKS202"}
    )
    assert sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings) == [
        (
            "EKS201",
            4,
            "module.m has metadata_http_tokens_required = false, so http_tokens = optional: "
            "IMDSv1 hands out the node role's credentials to any request",
        ),
        (
            "EKS202",
            5,
            "module.m sets metadata_http_put_response_hop_limit = 3 (more than 1): pods can "
            "reach the node role's credentials",
        ),
    ]


CLOUDPOSSE_ACCESS = """variable "admin_arn" {
  type = string
}
variable "policy" {
  type = string
}
variable "entries" {
  type = any
}

module "known" {
  source  = "cloudposse/eks-cluster/aws"
  version = "4.6.0"
  access_entry_map = {
    "arn:aws:iam::111122223333:role/ops" = {
      access_policy_associations = {
        ClusterAdmin = {}
        AmazonEKSAdminViewPolicy = {}
      }
    }
    (var.admin_arn) = {
      access_policy_associations = {
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" = {}
        (var.policy) = {}
      }
    }
  }
}

module "unknown" {
  source           = "cloudposse/eks-cluster/aws"
  version          = "4.6.0"
  access_entry_map = var.entries
}
"""


def test_cloudposse_access_entry_map_keys_read_as_the_module_reads_them(tmp_path):
    # the map's keys are principal ARNs and policy names or ARNs: a key written as an
    # expression is a value not known, not a principal or a policy named `var.admin_arn`
    result = _scan(tmp_path, CLOUDPOSSE_ACCESS, {"EKS502", "EKS506"})
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS506",
            15,
            "access policy association gives arn:aws:iam::111122223333:role/ops "
            "AmazonEKSClusterAdminPolicy (scope cluster)",
        ),
        (
            "EKS506",
            21,
            "access policy association gives var.admin_arn AmazonEKSClusterAdminPolicy "
            "(scope cluster)",
        ),
    ]
    undecided = sorted((s.rule_id, s.location.start_line, s.reasons[0]) for s in result.skipped)
    assert undecided == [
        ("EKS502", 21, "var.admin_arn has no default"),
        ("EKS502", 33, "var.entries has no default"),
        ("EKS506", 21, "var.policy has no default"),
        ("EKS506", 33, "var.entries has no default"),
    ]
    # a name the module's abbreviation map does not hold is passed on as written
    policies = sorted(
        str(e.fields["policy_arn"])
        for e in result.entities
        if e.kind == "access_policy_association" and "role/ops" in str(e.fields["principal_arn"])
    )
    assert policies == [
        "AmazonEKSAdminViewPolicy",
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    ]


def test_cloudposse_access_entries_and_associations_not_known(tmp_path):
    """`access_entries` and `access_policy_associations` given as values not known, or lists
    known in part: each item not known is an entry (STANDARD, its principal and groups not
    known) or an association (its principal, policy and scope not known), never nothing."""
    text = (
        'variable "entries" {\n  type = any\n}\n'
        'variable "associations" {\n  type = any\n}\n\n'
        'module "eks_cluster" {\n'  # 8
        '  source                     = "cloudposse/eks-cluster/aws"\n'
        '  version                    = "4.6.0"\n'
        "  access_entries             = var.entries\n"  # 11
        "  access_policy_associations = concat(var.associations, [{\n"  # 12
        '    principal_arn = "arn:aws:iam::111122223333:role/dev"\n'
        '    policy_arn    = "Edit"\n'
        "  }])\n"
        "}\n"
    )
    result = _scan(tmp_path, text, {"EKS502", "EKS506", "EKS511"})
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS511",
            14,
            "access policy association gives arn:aws:iam::111122223333:role/dev "
            "AmazonEKSEditPolicy with access scope cluster: it applies in every namespace, "
            "kube-system included",
        )
    ]
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS502", 11, ["var.entries has no default"]),
        ("EKS506", 12, ["var.associations has no default"]),
        ("EKS511", 12, ["var.associations has no default"]),
    ]
    (entry,) = [e for e in result.entities if e.kind == "identity_mapping"]
    assert entry.key.endswith('module.eks_cluster.access_entries["(not known)"]')
    assert (entry.fields["entry_type"], entry.fields["groups"].text) == ("STANDARD", "var.entries")


def test_a_node_group_on_the_launch_template_eks_creates_names_its_ami_type(tmp_path):
    # without a custom launch template, the node group's ami_type decides the options
    body = (
        "  eks_managed_node_groups = {\n    old = {\n      use_custom_launch_template = false\n"
        '      ami_type                   = "AL2_x86_64"\n    }\n  }\n'
    )
    result = _scan(tmp_path, _call(EKS, "~> 20.0", body), {"EKS201", "EKS202"})
    assert sorted((f.rule_id, f.message) for f in result.findings) == [
        (
            "EKS201",
            'module.m eks_managed_node_groups["old"] has ami_type AL2_x86_64, so http_tokens = '
            "optional: IMDSv1 hands out the node role's credentials to any request",
        ),
        (
            "EKS202",
            'module.m eks_managed_node_groups["old"] sets ami_type AL2_x86_64, so '
            "http_put_response_hop_limit = 2 (more than 1): pods can reach the node role's "
            "credentials",
        ),
    ]


def test_access_entries_of_the_wrong_kind_are_problems_not_skipped(tmp_path):
    """An entry, a policy association or a scope that is not a mapping, groups that are not a
    list, associations that are not a map: the module fails on each at plan time, so each is
    a problem naming where it is written (exit 2), never an entry silently left out; what an
    entry holds besides stays judged, the fields written wrongly not known."""
    (tmp_path / "main.tf").write_text(
        'module "eks" {\n'
        '  source       = "terraform-aws-modules/eks/aws"\n'
        '  version      = "~> 20.0"\n'
        '  cluster_name = "shop"\n'
        "  access_entries = {\n"  # 5
        '    admin = "arn:aws:iam::111122223333:role/admin"\n'
        "    dev = {\n"
        '      principal_arn       = "arn:aws:iam::111122223333:role/dev"\n'
        '      kubernetes_groups   = "admins"\n'  # 9
        "      policy_associations = {\n"
        '        admin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"\n'
        "        edit = {\n"  # 12
        '          policy_arn   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"\n'
        '          access_scope = "cluster"\n'  # 14
        "        }\n"
        "      }\n"
        "    }\n"
        "    ops = {\n"  # 18
        '      principal_arn       = "arn:aws:iam::111122223333:role/ops"\n'
        '      policy_associations = "admin"\n'  # 20
        "    }\n"
        "  }\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS506", "EKS511"})
    file = str(tmp_path / "main.tf")
    shown = 'module.eks access_entries["dev"]'
    assert sorted((p.file, p.line, p.level, p.message) for p in result.problems) == [
        (
            file,
            6,
            "error",
            'module.eks access_entries["admin"]: a string, not an access entry (a mapping)',
        ),
        (file, 9, "error", f"{shown}.kubernetes_groups: a string, not a list of group names"),
        (
            file,
            11,
            "error",
            f'{shown}.policy_associations["admin"]: a string, not an access policy (a mapping)',
        ),
        (
            file,
            14,
            "error",
            f'{shown}.policy_associations["edit"].access_scope: a string, not an access scope '
            "(a mapping)",
        ),
        (
            file,
            20,
            "error",
            'module.eks access_entries["ops"].policy_associations: a string, not a map of '
            "access policies",
        ),
    ]
    assert result.findings == []
    assert [(s.rule_id, s.location.start_line, s.reasons) for s in result.skipped] == [
        (
            "EKS511",
            12,
            [
                'module.eks access_entries["dev"].policy_associations["edit"].access_scope is '
                "written wrongly"
            ],
        )
    ]
    (dev,) = [e for e in result.entities if e.key.endswith('access_entries["dev"]')]
    assert dev.fields["groups"].reason == f"{shown}.kubernetes_groups is written wrongly"


def test_cloudposse_access_items_of_the_wrong_kind_are_problems(tmp_path):
    """cloudposse's `access_entries` and `access_policy_associations` are lists of objects:
    an item that is not one, or a value that is not a list, is refused by Terraform, so each
    is a problem where it is written, never an item silently left out."""
    (tmp_path / "main.tf").write_text(
        'module "eks_cluster" {\n'
        '  source                     = "cloudposse/eks-cluster/aws"\n'
        '  version                    = "4.6.0"\n'
        '  access_entries             = ["arn:aws:iam::111122223333:role/dev"]\n'  # 4
        '  access_policy_associations = ["Edit"]\n'  # 5
        "}\n"
        'module "other" {\n'
        '  source                     = "cloudposse/eks-cluster/aws"\n'
        '  version                    = "4.6.0"\n'
        '  access_policy_associations = { dev = "Edit" }\n'  # 10
        "}\n"
    )
    result = run([tmp_path], select={"EKS506", "EKS511"})
    file = str(tmp_path / "main.tf")
    assert sorted((p.file, p.line, p.level, p.message) for p in result.problems) == [
        (
            file,
            4,
            "error",
            "module.eks_cluster access_entries[0]: a string, not an access entry (a mapping)",
        ),
        (
            file,
            5,
            "error",
            "module.eks_cluster access_policy_associations[0]: a string, not an access policy "
            "association (a mapping)",
        ),
        (
            file,
            10,
            "error",
            "module.other access_policy_associations: a mapping, not a list of access policy "
            "associations",
        ),
    ]
    assert (result.findings, result.skipped) == ([], [])
