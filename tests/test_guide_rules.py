"""The rules of the guides' recommendations that need more than one file or more than one
value to decide (EKS306, EKS307, EKS512, EKS513, EKS705): what counts as the same cluster,
which container runs as root, what an unknown value leaves undecided."""

from __future__ import annotations

from bounded import scan_json
from conftest import run


def _write(folder, files: dict[str, str]):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def _found(result, rule_id: str) -> list[tuple[str, int]]:
    return sorted(
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line)
        for f in result.findings
        if f.rule_id == rule_id
    )


def _undecided(result, rule_id: str) -> list[str]:
    return [r for s in result.skipped if s.rule_id == rule_id for r in s.reasons]


ENTRY = """resource "aws_eks_access_entry" "ops" {{
  cluster_name  = "{cluster}"
  principal_arn = "arn:aws:iam::111122223333:role/ops"
}}
"""


def test_the_same_cluster_name_in_another_directory_is_not_known_to_be_the_same_cluster(
    tmp_path,
):
    # prod/ and dr/ name their clusters alike, as accounts or regions apart often do
    _write(tmp_path, {"prod/access.tf": ENTRY.format(cluster="main")})
    _write(tmp_path, {"dr/access.tf": ENTRY.format(cluster="main")})
    result = run([tmp_path], select={"EKS512"})
    assert _found(result, "EKS512") == []
    assert _undecided(result, "EKS512") == [
        f"aws_eks_access_entry.ops ({tmp_path}/dr/access.tf:1) may be for the same principal "
        "and cluster"
    ]


def test_an_access_entry_written_twice_in_one_directory_fires_once_on_the_second(tmp_path):
    _write(
        tmp_path,
        {
            "a.tf": ENTRY.format(cluster="main"),
            "b.tf": ENTRY.format(cluster="main").replace('"ops"', '"ops_again"'),
        },
    )
    result = run([tmp_path], select={"EKS512"})
    assert _found(result, "EKS512") == [("b.tf", 3)]
    (finding,) = result.findings
    assert finding.message == (
        "access entry for arn:aws:iam::111122223333:role/ops on cluster main repeats "
        f"aws_eks_access_entry.ops ({tmp_path}/a.tf:1): EKS refuses the second one"
    )
    assert [(r.location.file, r.location.start_line) for r in finding.related] == [
        (f"{tmp_path}/a.tf", 1)
    ]


def test_a_referenced_role_whose_name_differs_is_another_principal(tmp_path):
    _write(
        tmp_path,
        {
            "main.tf": """
variable "cluster" {
  type = string
}

resource "aws_iam_role" "deployer" {
  name               = "deployer"
  assume_role_policy = jsonencode({Statement = [{Effect = "Allow", Action = "sts:AssumeRole", Principal = {Service = "ec2.amazonaws.com"}}]})
}

resource "aws_eks_access_entry" "ops" {
  cluster_name  = var.cluster
  principal_arn = "arn:aws:iam::111122223333:role/ops"
}

resource "aws_eks_access_entry" "deployer" {
  cluster_name  = var.cluster
  principal_arn = aws_iam_role.deployer.arn
}

resource "aws_eks_access_entry" "deployer_again" {
  cluster_name  = var.cluster
  principal_arn = aws_iam_role.deployer.arn
}
"""
        },
    )
    result = run([tmp_path], select={"EKS512"})
    assert _found(result, "EKS512") == [("main.tf", 23)]
    assert _undecided(result, "EKS512") == []


def test_many_access_entries_are_told_apart_each_against_all_earlier_ones_not_a_hang(tmp_path):
    """Each entry is judged against every earlier one, by index, not by comparing pairs:
    thousands of entries of one cluster, each for another user, are all told apart, and the
    last, whose principal is not known, may be the first's."""
    blocks = ['variable "cluster" {\n  type = string\n}\n']
    for i in range(6000):
        blocks.append(
            f'resource "aws_eks_access_entry" "e{i}" {{\n  cluster_name  = var.cluster\n'
            f"  principal_arn = aws_iam_user.u{i}.arn\n}}\n"
        )
    blocks.append(
        'resource "aws_eks_access_entry" "someone" {\n  cluster_name  = var.cluster\n'
        "  principal_arn = var.someone\n}\n"
    )
    (tmp_path / "main.tf").write_text("\n".join(blocks))
    code, report, _ = scan_json(".", cwd=tmp_path, extra=("--select", "EKS512", "--show-unknown"))
    assert code == 0 and report["findings"] == []
    assert [(u["location"]["start_line"], u["reasons"]) for u in report["unknown"]] == [
        (
            5 + 5 * 6000,
            ["aws_eks_access_entry.e0 (main.tf:5) may be for the same principal and cluster"],
        )
    ]


def test_identity_providers_of_clusters_with_other_names_are_quiet(tmp_path):
    provider = """resource "aws_eks_identity_provider_config" "{name}" {{
  cluster_name = "{cluster}"
  oidc {{
    identity_provider_config_name = "{name}"
    issuer_url                    = "https://{name}.example"
    client_id                     = "k8s"
  }}
}}
"""
    _write(
        tmp_path,
        {
            "idp.tf": provider.format(name="okta", cluster="prod")
            + provider.format(name="dex", cluster="staging")
            + provider.format(name="azure", cluster="prod"),
        },
    )
    result = run([tmp_path], select={"EKS513"})
    assert _found(result, "EKS513") == [("idp.tf", 18)]


POD = """apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: shop
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/shop-app
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: shop
spec:
  serviceAccountName: app
{pod}  containers:
    - name: app
      image: app:1
{container}"""


def _root_containers(tmp_path, pod: str = "", container: str = "") -> list:
    _write(tmp_path, {"pod.yaml": POD.format(pod=pod, container=container)})
    result = run([tmp_path], select={"EKS307"})
    (workload,) = [e for e in result.entities if e.kind == "workload"]
    return workload.fields["root_containers"]


def test_the_containers_security_context_wins_over_the_pods(tmp_path):
    assert _root_containers(
        tmp_path,
        pod="  securityContext:\n    runAsUser: 1000\n",
        container="      securityContext:\n        runAsUser: 0\n",
    ) == ["app"]


def test_run_as_non_root_keeps_a_container_with_user_0_from_running(tmp_path):
    assert (
        _root_containers(
            tmp_path,
            pod="  securityContext:\n    runAsNonRoot: true\n",
            container="      securityContext:\n        runAsUser: 0\n",
        )
        == []
    )


def test_a_run_as_user_written_as_text_in_terraform_is_a_number(tmp_path):
    _write(
        tmp_path,
        {
            "pod.tf": """
resource "kubernetes_pod_v1" "app" {
  metadata {
    name      = "app"
    namespace = "shop"
  }
  spec {
    security_context {
      run_as_user = "0"
    }
    container {
      name  = "app"
      image = "app:1"
      security_context {
        run_as_user = "1000"
      }
    }
    container {
      name  = "sidecar"
      image = "sidecar:1"
    }
  }
}
"""
        },
    )
    result = run([tmp_path])
    (workload,) = [e for e in result.entities if e.kind == "workload"]
    assert workload.fields["root_containers"] == ["sidecar"]


def test_a_user_that_is_not_known_leaves_the_pod_undecided(tmp_path):
    _write(
        tmp_path,
        {
            "main.tf": """
variable "uid" {
  type = number
}

resource "kubernetes_service_account_v1" "app" {
  metadata {
    name        = "app"
    namespace   = "shop"
    annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::111122223333:role/app" }
  }
}

resource "kubernetes_pod_v1" "app" {
  metadata {
    name      = "app"
    namespace = "shop"
  }
  spec {
    service_account_name = "app"
    security_context {
      run_as_user = var.uid
    }
    container {
      name  = "app"
      image = "app:1"
    }
  }
}
"""
        },
    )
    result = run([tmp_path], select={"EKS307"})
    assert _found(result, "EKS307") == []
    assert _undecided(result, "EKS307") == ["var.uid has no default"]


def test_a_pod_identity_association_whose_service_account_is_not_known_leaves_root_pods_undecided(
    tmp_path,
):
    _write(
        tmp_path,
        {
            "pod.yaml": POD.format(pod="", container="").replace(
                "eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/shop-app",
                "team: shop",
            ),
            "assoc.tf": """
variable "service_account" {
  type = string
}

resource "aws_eks_pod_identity_association" "app" {
  cluster_name    = "shop"
  namespace       = "shop"
  service_account = var.service_account
  role_arn        = "arn:aws:iam::111122223333:role/shop-app"
}
""",
        },
    )
    result = run([tmp_path], select={"EKS307"})
    assert _found(result, "EKS307") == []
    assert _undecided(result, "EKS307") == [
        f"aws_eks_pod_identity_association.app ({tmp_path}/assoc.tf:6) names a ServiceAccount "
        "that is not known"
    ]


def test_sts_endpoints_from_a_variable_are_undecided(tmp_path):
    _write(
        tmp_path,
        {
            "pod.tf": """
variable "sts_endpoints" {
  type = string
}

resource "kubernetes_pod_v1" "app" {
  metadata {
    name      = "app"
    namespace = "shop"
  }
  spec {
    container {
      name  = "app"
      image = "app:1"
      env {
        name  = "AWS_STS_REGIONAL_ENDPOINTS"
        value = var.sts_endpoints
      }
    }
  }
}
"""
        },
    )
    result = run([tmp_path], select={"EKS306"})
    assert _found(result, "EKS306") == []
    assert _undecided(result, "EKS306") == ["var.sts_endpoints has no default"]


EKSCTL = """apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: shop
  region: eu-west-1
{extra}addons:
  - name: vpc-cni
"""


def test_eksctl_auto_applied_pod_identities_give_aws_node_a_role(tmp_path):
    _write(
        tmp_path,
        {
            "auto/cluster.yaml": EKSCTL.format(
                extra="addonsConfig:\n  autoApplyPodIdentityAssociations: true\n"
            ),
            "plain/cluster.yaml": EKSCTL.format(extra=""),
        },
    )
    result = run([tmp_path], select={"EKS705"})
    assert [f.location.file.rsplit("/", 2)[-2] for f in result.findings] == ["plain"]
    (auto,) = [e for e in result.entities if e.kind == "addon" and "/auto/" in e.location.file]
    assert (
        auto.fields["aws_node_role"]
        == "the add-on's pod identity association ((role eksctl creates))"
    )


def test_an_aws_node_service_account_in_another_copy_of_the_repository_does_not_count(tmp_path):
    addon = (
        'resource "aws_eks_addon" "cni" {\n  cluster_name = "shop"\n  addon_name   = "vpc-cni"\n}\n'
    )
    account = (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: aws-node\n"
        "  namespace: kube-system\n{annotations}"
    )
    _write(
        tmp_path,
        {
            "dev/infra/addons.tf": addon,
            "dev/k8s/aws-node.yaml": account.format(annotations=""),
            "prod/infra/addons.tf": addon,
            "prod/k8s/aws-node.yaml": account.format(
                annotations="  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::1:role/cni\n"
            ),
        },
    )
    result = run([tmp_path], select={"EKS705"})
    assert [f.location.file.split(str(tmp_path))[-1] for f in result.findings] == [
        "/dev/infra/addons.tf"
    ]


def test_a_templated_service_account_may_name_only_the_pods_its_literal_text_fits(tmp_path):
    pods = "".join(
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n"
        f"  serviceAccountName: {name}\n  containers:\n    - name: app\n      image: app:1\n---\n"
        for name in ("jobs-billing", "web")
    )
    _write(
        tmp_path,
        {
            "pods.yaml": pods,
            "assoc.tf": """
variable "team" {
  type = string
}

resource "aws_eks_pod_identity_association" "jobs" {
  cluster_name    = "shop"
  namespace       = "shop"
  service_account = "jobs-${var.team}"
  role_arn        = "arn:aws:iam::111122223333:role/jobs"
}
""",
        },
    )
    result = run([tmp_path], select={"EKS307"})
    assert _found(result, "EKS307") == []
    undecided = [s.entity_key for s in result.skipped if s.rule_id == "EKS307"]
    assert undecided == ["k8s:shop/Pod/jobs-billing"]


def test_an_association_of_another_environment_is_not_nearer_than_one_not_known(tmp_path):
    # prod's association names shop/app; dev's own copy names a namespace that is not known:
    # dev's pod gets the nearest association that may be its own, dev's, so EKS307 is
    # undecided there, never read from prod's
    pod = POD.format(pod="", container="").replace(
        "eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/shop-app", "team: shop"
    )
    association = """
variable "namespace" {{
  type = string
}}

resource "aws_eks_pod_identity_association" "app" {{
  cluster_name    = "shop"
  namespace       = {namespace}
  service_account = "app"
  role_arn        = "arn:aws:iam::111122223333:role/shop-app"
}}
"""
    for env, namespace in (("prod", '"shop"'), ("dev", "var.namespace")):
        _write(
            tmp_path,
            {
                f"envs/{env}/pod.yaml": pod,
                f"envs/{env}/assoc.tf": association.format(namespace=namespace),
            },
        )
    result = run([tmp_path], select={"EKS307"})
    assert [(f.location.file, f.location.start_line) for f in result.findings] == [
        (f"{tmp_path}/envs/prod/pod.yaml", 17)
    ]
    assert [(s.location.file, s.reasons) for s in result.skipped] == [
        (
            f"{tmp_path}/envs/dev/pod.yaml",
            [
                f"aws_eks_pod_identity_association.app ({tmp_path}/envs/dev/assoc.tf:6) names "
                "a ServiceAccount that is not known"
            ],
        )
    ]


def test_a_module_input_from_a_local_of_another_file_points_at_the_input(tmp_path):
    """A module's add-ons given as a local written in another file: the finding is on the
    module's input, in the file of the call, with the item's lines in the local's file as a
    related location; never the local's lines in the call's file."""
    _write(
        tmp_path,
        {
            "locals.tf": (
                "locals {\n"
                "  core_addons = {\n"
                "    coredns = {}\n"
                "    vpc-cni = {\n"
                "      before_compute = true\n"
                "    }\n"
                "  }\n"
                "}\n"
            ),
            "eks.tf": (
                'module "eks" {\n'
                '  source  = "terraform-aws-modules/eks/aws"\n'
                '  version = "~> 20.0"\n'
                "\n"
                '  cluster_name = "shop"\n'
                "\n"
                "\n"
                "  cluster_addons = local.core_addons\n"
                "}\n"
            ),
        },
    )
    result = run([tmp_path], select={"EKS705"})
    (finding,) = result.findings
    assert (finding.location.file, finding.location.start_line, finding.location.end_line) == (
        f"{tmp_path}/eks.tf",
        8,
        8,
    )
    assert [
        (r.location.file, r.location.start_line, r.location.end_line, r.message)
        for r in finding.related
    ] == [(f"{tmp_path}/locals.tf", 4, 6, 'name comes from local.core_addons["vpc-cni"]')]


def test_access_entries_whose_arns_are_templates_differ_by_what_the_templates_say(tmp_path):
    # `${data.aws_caller_identity.current.account_id}` is the first reference of both ARNs:
    # it is not the principal, so role/a and role/b are not one principal, role/a twice is
    entry = (
        'resource "aws_eks_access_entry" "{name}" {{\n  cluster_name  = "main"\n'
        '  principal_arn = "arn:aws:iam::${{data.aws_caller_identity.current.account_id}}'
        ':role/{role}"\n}}\n'
    )
    _write(
        tmp_path,
        {
            "a.tf": 'data "aws_caller_identity" "current" {}\n'
            + entry.format(name="a", role="a")
            + entry.format(name="b", role="b"),
        },
    )
    # no finding; whether the role names tell them apart is left undecided
    assert _found(run([tmp_path], select={"EKS512"}), "EKS512") == []
    _write(tmp_path, {"c.tf": entry.format(name="a_again", role="a")})
    assert _found(run([tmp_path], select={"EKS512"}), "EKS512") == [("c.tf", 3)]


def test_an_access_entry_not_known_gives_eks511_its_reason_once(tmp_path):
    """cloudposse's `access_entry_map` given as a variable without a default: the association
    it stands for has neither its policy nor its scope known, both for the same reason, which
    the undecided EKS511 gives once."""
    _write(
        tmp_path,
        {
            "main.tf": 'variable "entries" {\n  type = any\n}\n\n'
            'module "eks_cluster" {\n'
            '  source           = "cloudposse/eks-cluster/aws"\n'
            '  version          = "4.1.0"\n'
            "  access_entry_map = var.entries\n"
            "}\n"
        },
    )
    result = run([tmp_path], select={"EKS506", "EKS511"})
    assert result.findings == []
    assert [(s.rule_id, s.location.start_line, s.reasons) for s in result.skipped] == [
        ("EKS506", 8, ["var.entries has no default"]),
        ("EKS511", 8, ["var.entries has no default"]),
    ]


SCOPED = """variable "policy" {{
  type = string
}}
variable "scope" {{
  type = any
}}

resource "aws_eks_access_policy_association" "{name}" {{
  cluster_name  = "shop"
  principal_arn = "arn:aws:iam::111122223333:role/{name}"
  policy_arn    = {policy}
  {scope}
}}
"""
EDIT = '"arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"'


def test_access_groups_or_scope_of_the_wrong_kind_are_an_error_and_not_known(tmp_path):
    """Terraform refuses `kubernetes_groups` that are not a list and an `access_scope` that is
    not an object: each is an error naming the attribute, and what it would say is not known
    (EKS511 undecided), never no groups or no scope."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_eks_access_entry" "dev" {\n'
        '  cluster_name      = "shop"\n'
        '  principal_arn     = "arn:aws:iam::111122223333:role/dev"\n'
        '  kubernetes_groups = "admins"\n'  # 4
        "}\n"
        'resource "aws_eks_access_policy_association" "dev" {\n'
        '  cluster_name  = "shop"\n'
        '  principal_arn = "arn:aws:iam::111122223333:role/dev"\n'
        f"  policy_arn    = {EDIT}\n"
        '  access_scope  = "cluster"\n'  # 10
        "}\n"
    )
    result = run([tmp_path], select={"EKS511"})
    file = str(tmp_path / "main.tf")
    assert sorted((p.file, p.line, p.level, p.message) for p in result.problems) == [
        (
            file,
            4,
            "error",
            "aws_eks_access_entry.dev kubernetes_groups: a string, not a list of group names",
        ),
        (
            file,
            10,
            "error",
            "aws_eks_access_policy_association.dev access_scope: a string, not an access scope "
            "(an object)",
        ),
    ]
    assert result.findings == []
    assert [(s.location.start_line, s.reasons) for s in result.skipped] == [
        (6, ["aws_eks_access_policy_association.dev access_scope is written wrongly"])
    ]
    (entry,) = [e for e in result.entities if e.kind == "identity_mapping"]
    assert entry.fields["groups"].reason == (
        "aws_eks_access_entry.dev kubernetes_groups is written wrongly"
    )


def test_an_access_scope_not_known_leaves_eks511_undecided(tmp_path):
    """`access_scope` written as a value not known, or its `type`: the association may be
    cluster-wide, so EKS511 is undecided when the policy is Admin or Edit or not known, and
    false for any other policy; an access scope written as an object is read as the block."""
    cases = {
        "whole": (EDIT, "access_scope = var.scope"),
        "typed": (EDIT, "access_scope {\n    type = var.scope\n  }"),
        "both": ("var.policy", "access_scope = var.scope"),
        "view": (
            '"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"',
            "access_scope = var.scope",
        ),
        "object": (EDIT, 'access_scope = { type = "cluster" }'),
    }
    for name, (policy, scope) in cases.items():
        _write(tmp_path, {f"{name}/main.tf": SCOPED.format(name=name, policy=policy, scope=scope)})
    result = run([tmp_path], select={"EKS511"})
    assert [
        (f.location.file.rsplit("/", 2)[-2], f.location.start_line, f.message)
        for f in result.findings
    ] == [
        (
            "object",
            12,
            "access policy association gives arn:aws:iam::111122223333:role/object "
            "AmazonEKSEditPolicy with access scope cluster: it applies in every namespace, "
            "kube-system included",
        )
    ]
    assert sorted(
        (s.location.file.rsplit("/", 2)[-2], s.location.start_line, s.reasons)
        for s in result.skipped
    ) == [
        ("both", 8, ["var.policy has no default", "var.scope has no default"]),
        ("typed", 8, ["var.scope has no default"]),
        ("whole", 8, ["var.scope has no default"]),
    ]
    scopes = {
        e.fields["address"]: (e.fields["scope_type"], e.fields["scope_namespaces"])
        for e in result.entities
        if e.kind == "access_policy_association"
    }
    assert {a: tuple(getattr(v, "text", v) for v in s) for a, s in scopes.items()} == {
        "aws_eks_access_policy_association.whole": ("var.scope", "var.scope"),
        "aws_eks_access_policy_association.typed": ("var.scope", []),
        "aws_eks_access_policy_association.both": ("var.scope", "var.scope"),
        "aws_eks_access_policy_association.view": ("var.scope", "var.scope"),
        "aws_eks_access_policy_association.object": ("cluster", []),
    }
