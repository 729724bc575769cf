"""The access graph (checks/graph.py) and `eks-checks access`: each kind of hop with the file
and line that makes it, unknown hops kept as unknown, cycles, several clusters, --from and
--to, pre-commit and baselines for EKS801, and every format checked by the tool that reads
it (Graphviz `dot`, the mermaid package's parser, the JSON Schemas, the SARIF schema)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from checks import graph
from checks.kinds import HOP_KINDS
from checks.model import Unknown
from conftest import FIXTURES, ROOT, SARIF_SCHEMA, TESTS, cli, run

ACCESS_SCHEMA = ROOT / "checks" / "schemas" / "access.schema.json"
MERMAID = TESTS / "mermaid"
MERMAID_HOME = Path(
    os.environ.get("EKS_CHECKS_MERMAID_HOME", Path.home() / ".cache" / "eks-checks" / "mermaid")
)

GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def _role(name: str, statement: str) -> str:
    return (
        f'resource "aws_iam_role" "{name}" {{\n  name = "{name}"\n'
        f"  assume_role_policy = jsonencode({{\n    Statement = [{statement}]\n  }})\n}}\n"
    )


def _github(sub: str, operator: str = "StringLike") -> str:
    return (
        f'{{\n      Effect = "Allow"\n      Principal = {{ Federated = "{GITHUB}" }}\n'
        '      Action = "sts:AssumeRoleWithWebIdentity"\n'
        f'      Condition = {{ {operator} = {{ "token.actions.githubusercontent.com:sub" = '
        f'"{sub}" }} }}\n    }}'
    )


def _aws(principal: str) -> str:
    return (
        f'{{\n      Effect = "Allow"\n      Principal = {{ AWS = "{principal}" }}\n'
        '      Action = "sts:AssumeRole"\n    }'
    )


def _entry(name: str, cluster: str, principal: str, groups: str) -> str:
    return (
        f'resource "aws_eks_access_entry" "{name}" {{\n  cluster_name = "{cluster}"\n'
        f"  principal_arn = {principal}\n  kubernetes_groups = {groups}\n}}\n"
    )


def _binding(name: str, group: str, role: str = "cluster-admin", kind: str = "ClusterRole") -> str:
    return (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        f"metadata:\n  name: {name}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, "
        f"kind: {kind}, name: {role}}}\nsubjects:\n  - {{kind: Group, name: {group}}}\n"
    )


def _cluster(name: str) -> str:
    """A cluster that reads aws-auth and access entries, and makes no creator admin."""
    return (
        f'resource "aws_eks_cluster" "{name}" {{\n  name = "{name}"\n  access_config {{\n'
        '    authentication_mode = "API_AND_CONFIG_MAP"\n'
        "    bootstrap_cluster_creator_admin_permissions = false\n  }\n}\n"
    )


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _access_json(*args: str) -> dict:
    code, out, err = cli("access", *args, "--format", "json", "--no-cache")
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(ACCESS_SCHEMA.read_text(encoding="utf-8")))
    return doc


def _paths(doc: dict) -> list[tuple[str, str, list[tuple[str, str, int]]]]:
    """(power label, entry label, [(hop, file name, line)]) of every listed path."""
    return [
        (
            group["power"]["label"],
            path["entry"]["label"],
            [
                (h["hop"], Path(h["location"]["file"]).name, h["location"]["start_line"])
                for h in path["path"]
            ],
        )
        for group in doc["groups"]
        for path in group["paths"]
    ]


# ---- each kind of hop ------------------------------------------------------------------------
EVERY_HOP = {
    "main.tf": """resource "aws_eks_cluster" "shop" {
  name     = "shop"
  role_arn = "arn:aws:iam::111122223333:role/cluster"
  vpc_config {
    subnet_ids = ["subnet-1"]
  }
  access_config {
    authentication_mode = "API_AND_CONFIG_MAP"
  }
}
"""
    + _role("deploy", _github("repo:acme/*"))
    + """
resource "aws_eks_access_entry" "deploy" {
  cluster_name      = aws_eks_cluster.shop.name
  principal_arn     = aws_iam_role.deploy.arn
  kubernetes_groups = ["deployers"]
}

resource "aws_eks_access_policy_association" "deploy" {
  cluster_name  = aws_eks_cluster.shop.name
  principal_arn = aws_iam_role.deploy.arn
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
  access_scope {
    type       = "namespace"
    namespaces = ["shop"]
  }
}

resource "aws_iam_role" "app" {
  name = "app"
  assume_role_policy = jsonencode({
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
    }]
  })
  inline_policy {
    name   = "pass"
    policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "iam:PassRole", Resource = "*" }] })
  }
}

resource "aws_eks_pod_identity_association" "app" {
  cluster_name    = aws_eks_cluster.shop.name
  namespace       = "shop"
  service_account = "worker"
  role_arn        = aws_iam_role.app.arn
}

resource "aws_iam_instance_profile" "nodes" {
  name = "nodes"
  role = "shop-nodes"
}

resource "aws_launch_template" "nodes" {
  iam_instance_profile {
    name = aws_iam_instance_profile.nodes.name
  }
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}
""",
    "k8s.yaml": """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: role-manager
rules:
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [clusterroles]
    verbs: [escalate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployers
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: role-manager}
subjects:
  - {kind: Group, name: deployers}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: shop
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/irsa-app
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: shop
spec:
  template:
    spec:
      serviceAccountName: app
      containers: [{name: app, image: app}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
  namespace: shop
spec:
  template:
    spec:
      serviceAccountName: worker
      automountServiceAccountToken: false
      containers: [{name: worker, image: worker}]
""",
}


def test_every_kind_of_hop_is_one_edge_with_the_file_and_line_that_make_it(in_tmp):
    _write(in_tmp, EVERY_HOP)
    doc = _access_json(".", "--limit", "0", "--show-unknown")
    hops = {
        (h["hop"], h["location"]["file"], h["location"]["start_line"], h["known"])
        for group in doc["groups"]
        for path in group["paths"]
        for h in path["path"]
    }
    assert {kind for kind, *_ in hops} == set(HOP_KINDS)
    assert hops == {
        ("trust", "main.tf", 14, True),  # the statement
        ("mapping", "main.tf", 25, True),  # principal_arn of the access entry
        ("group", "main.tf", 26, True),  # kubernetes_groups
        ("access_policy", "main.tf", 32, True),  # policy_arn of the association
        ("binding", "k8s.yaml", 16, True),  # the subject
        ("role", "k8s.yaml", 14, True),  # roleRef
        ("capability", "k8s.yaml", 6, True),  # the rule that grants escalate
        ("service_account", "k8s.yaml", 34, True),  # serviceAccountName
        ("service_account", "k8s.yaml", 45, True),
        ("irsa", "k8s.yaml", 24, True),  # the annotation
        ("pod_identity", "main.tf", 58, True),  # role_arn of the association
        ("imds", "main.tf", 63, True),  # the instance profile's role
        ("creator", "main.tf", 1, True),  # the cluster (its default: no attribute)
        # the policy that lets role app pass roles
        ("aws_power", "main.tf", 48, True),
        # what roles not in the scan may do is not known: unknown hops, kept, where the role
        # is named
        ("aws_power", "k8s.yaml", 18, False),
        ("aws_power", "main.tf", 66, False),
    }
    assert _paths(doc)[:3] == [
        ("cluster-admin in cluster shop", "the identity that creates cluster shop",
         [("creator", "main.tf", 1)]),
        ("escalate_bind cluster-wide in cluster shop", "GitHub Actions repo:acme/* "
         "(not pinned: EKS405)", [("trust", "main.tf", 14), ("mapping", "main.tf", 25),
         ("group", "main.tf", 26), ("binding", "k8s.yaml", 16), ("role", "k8s.yaml", 14),
         ("capability", "k8s.yaml", 6)]),
        ("edit in namespace shop in cluster shop", "GitHub Actions repo:acme/* "
         "(not pinned: EKS405)", [("trust", "main.tf", 14), ("mapping", "main.tf", 25),
         ("access_policy", "main.tf", 32)]),
    ]  # fmt: skip


def test_a_pod_without_its_token_keeps_its_aws_role_but_not_its_rbac(in_tmp):
    files = dict(EVERY_HOP)
    files["k8s.yaml"] += "---\n" + _binding(
        "workers", "system:serviceaccounts:shop", "role-manager"
    )
    _write(in_tmp, files)
    doc = _access_json(".", "--limit", "0", "--show-unknown", "--from", "shop/worker")
    assert [(power, hops) for power, _, hops in _paths(doc)] == [
        # the pod identity role, which may pass roles; no escalate_bind: no token
        ("AWS iam_write", [("service_account", "k8s.yaml", 45), ("pod_identity", "main.tf", 58),
                           ("aws_power", "main.tf", 48)]),
    ]  # fmt: skip
    doc = _access_json(".", "--limit", "0", "--from", "shop/app", "--to", "escalate_bind")
    assert [hops for _, _, hops in _paths(doc)] == [
        [("service_account", "k8s.yaml", 34), ("group", "k8s.yaml", 18),
         ("binding", "k8s.yaml", 55), ("role", "k8s.yaml", 53), ("capability", "k8s.yaml", 6)],
    ]  # fmt: skip


# ---- EKS801 -------------------------------------------------------------------------------------
def test_eks801_carries_its_path_in_every_report(in_tmp):
    _write(
        in_tmp,
        {
            "iam.tf": _role("deploy", _github("repo:acme/*"))
            + _entry("deploy", "shop", "aws_iam_role.deploy.arn", '["deployers"]'),
            "rbac.yaml": _binding("deployers", "deployers"),
        },
    )
    code, out, _ = cli("scan", ".", "--select", "EKS801", "--no-cache", "--no-color")
    assert code == 1
    assert out.splitlines()[:9] == [
        "iam.tf",
        "  iam.tf:4  EKS801  critical  role deploy trusts Federated: "
        f"{GITHUB} (not pinned: [EKS405]), and a path leads from it to cluster-admin in cluster "
        "shop",
        "      path:",
        "        1. iam.tf:4  role deploy trusts GitHub Actions repo:acme/*",
        "        2. iam.tf:14  access entry in cluster shop signs in role deploy",
        "        3. iam.tf:15  maps to group deployers",
        "        4. rbac.yaml:7  ClusterRoleBinding deployers names group deployers",
        "        5. rbac.yaml:5  refers to built-in ClusterRole cluster-admin",
        "        6. rbac.yaml:5  cluster_admin cluster-wide: every verb on every resource",
    ]
    _, out, _ = cli("scan", ".", "--select", "EKS801", "--no-cache", "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert [(h["location"]["file"], h["location"]["start_line"]) for h in finding["path"]] == [
        ("iam.tf", 4), ("iam.tf", 14), ("iam.tf", 15), ("rbac.yaml", 7), ("rbac.yaml", 5),
        ("rbac.yaml", 5),
    ]  # fmt: skip
    assert len(finding["related"]) == 6  # every hop's place
    _, out, _ = cli("scan", ".", "--select", "EKS801", "--no-cache", "--format", "sarif")
    sarif = json.loads(out)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    (result,) = sarif["runs"][0]["results"]
    (flow,) = result["codeFlows"]
    (thread,) = flow["threadFlows"]
    assert [
        (
            loc["location"]["physicalLocation"]["artifactLocation"]["uri"],
            loc["location"]["physicalLocation"]["region"]["startLine"],
            loc["executionOrder"],
        )
        for loc in thread["locations"]
    ] == [
        ("iam.tf", 4, 1), ("iam.tf", 14, 2), ("iam.tf", 15, 3), ("rbac.yaml", 7, 4),
        ("rbac.yaml", 5, 5), ("rbac.yaml", 5, 6),
    ]  # fmt: skip
    assert thread["locations"][1]["location"]["message"]["text"] == (
        "access entry in cluster shop signs in role deploy"
    )
    assert len(result["relatedLocations"]) == 6


def test_a_pinned_trust_and_a_path_to_a_lesser_power_are_quiet(in_tmp):
    _write(
        in_tmp,
        {
            "iam.tf": _role(
                "deploy", _github("repo:acme/deploy:ref:refs/heads/main", "StringEquals")
            )
            + _entry("deploy", "shop", "aws_iam_role.deploy.arn", '["deployers"]')
            + _role("reader", _aws("*"))
            + _entry("reader", "shop", "aws_iam_role.reader.arn", '["readers"]'),
            "rbac.yaml": _binding("deployers", "deployers")
            + "---\n"
            + _binding("readers", "readers", "view"),
        },
    )
    result = run([in_tmp], select={"EKS801"})
    assert result.findings == [] and result.skipped == []
    fields = {
        e.fields["role_name"]: e.fields for e in result.entities if e.kind == "trust_statement"
    }
    assert (fields["deploy"]["pinned"], fields["deploy"]["reaches_cluster_admin"]) == (True, True)
    assert (fields["reader"]["pinned"], fields["reader"]["unpinned_by"]) == (False, ["EKS401"])
    assert fields["reader"]["reaches_cluster_admin"] is False


def test_pinned_follows_the_configured_parameters_of_the_trust_rules(in_tmp):
    statement = (
        '{\n      Effect = "Allow"\n      Principal = { AWS = "*" }\n'
        '      Action = "sts:AssumeRole"\n'
        '      Condition = { StringEquals = { "aws:PrincipalTag/team" = "platform" } }\n    }'
    )
    _write(
        in_tmp,
        {
            "iam.tf": _role("ops", statement)
            + _entry("ops", "shop", "aws_iam_role.ops.arn", '["system:masters"]'),
        },
    )
    assert [f.rule_id for f in run([in_tmp], select={"EKS801"}).findings] == ["EKS801"]
    # a tag guard counts as pinning when the configuration says EKS401 accepts it
    (in_tmp / ".eks-checks.yaml").write_text(
        "rules:\n  EKS401:\n    params:\n      guard_condition_keys: [aws:principaltag/team]\n"
    )
    code, out, _ = cli("scan", ".", "--select", "EKS801", "--no-cache", "--format", "json")
    assert (code, json.loads(out)["findings"]) == (0, [])


def test_a_hop_that_is_not_known_is_kept_and_makes_eks801_undecided(in_tmp):
    _write(
        in_tmp,
        {
            # two clusters: the aws-auth ConfigMap beside neither belongs to one of them
            "a/eks.tf": _cluster("a"),
            "b/eks.tf": _cluster("b"),
            "iam.tf": _role("ops", _aws("*"))
            + 'module "roles" {\n  source = "./modules/roles"\n}\n'
            + _entry("module_role", "a", "module.roles.admin_arn", '["system:masters"]'),
            "aws-auth.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n"
            "  namespace: kube-system\ndata:\n  mapRoles: |\n"
            "    - rolearn: arn:aws:iam::111122223333:role/ops\n"
            "      username: ops\n      groups: [system:masters]\n",
        },
    )
    result = run([in_tmp], select={"EKS801"})
    assert result.findings == []
    assert [(s.rule_id, s.reasons) for s in result.skipped] == [
        ("EKS801", ["the scan holds several clusters and this object is not nearer to one"])
    ]
    doc = _access_json(".", "--show-unknown")
    listed = [
        (g["power"]["label"], p["entry"]["label"], p["known"], [h["known"] for h in p["path"]])
        for g in doc["groups"]
        for p in g["paths"]
    ]
    assert listed == [
        ("cluster-admin in cluster a", "principal module.roles.admin_arn", False, [False, True]),
        ("cluster-admin (cluster not known)", "any AWS principal (not pinned: EKS401)", False,
         [True, False, True]),
    ]  # fmt: skip
    # without --show-unknown they are counted, not listed
    doc = _access_json(".")
    assert (doc["groups"], doc["summary"]["unknown"]) == ([], 2)


# ---- cycles --------------------------------------------------------------------------------------
def test_roles_that_trust_themselves_or_each_other_end_the_walk(in_tmp):
    account = "arn:aws:iam::111122223333:role"
    _write(
        in_tmp,
        {
            # loop trusts itself and any principal; ping and pong trust each other
            "iam.tf": _role("loop", _aws(f"{account}/loop") + ", " + _aws("*"))
            + _role("ping", _aws(f"{account}/pong") + ", " + _aws("*"))
            + _role("pong", _aws(f"{account}/ping"))
            + _entry("loop", "shop", "aws_iam_role.loop.arn", '["system:masters"]')
            + _entry("pong", "shop", "aws_iam_role.pong.arn", '["system:masters"]'),
        },
    )
    result = run([in_tmp], select={"EKS801"})
    assert [(f.location.start_line, f.message.split(",")[0]) for f in result.findings] == [
        (8, "role loop trusts AWS: * (not pinned: [EKS401])"),
        (22, "role ping trusts AWS: * (not pinned: [EKS401])"),
    ]
    ping = next(f for f in result.findings if "role ping" in f.message)
    assert [h.message for h in ping.path] == [
        "role ping trusts any AWS principal",
        "role pong trusts role ping",
        "access entry in cluster shop signs in role pong",
        "maps to group system:masters, which bypasses RBAC",
    ]
    doc = _access_json(".", "--from", f"{account}/ping", "--limit", "0")
    assert [(entry, len(hops)) for _, entry, hops in _paths(doc)] == [("role ping", 3)]


def test_aggregated_roles_that_select_each_other_end_the_walk(in_tmp):
    def aggregated(name: str, selects: str, rules: str = "[]") -> str:
        return (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            f"metadata:\n  name: {name}\n  labels: {{loop: {name}}}\n"
            f"aggregationRule:\n  clusterRoleSelectors:\n    - matchLabels: {{loop: {selects}}}\n"
            f"rules: {rules}\n---\n"
        )

    _write(
        in_tmp,
        {
            "rbac.yaml": aggregated("a", "b")
            + aggregated("b", "a")
            + "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            "metadata:\n  name: c\n  labels: {loop: a}\n"
            "rules:\n  - {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n---\n"
            + _binding("ops", "ops", "a"),
            "iam.tf": _role("ops", _aws("*"))
            + _entry("ops", "shop", "aws_iam_role.ops.arn", '["ops"]'),
        },
    )
    result = run([in_tmp], select={"EKS801"})
    (finding,) = result.findings
    assert finding.message.endswith("a path leads from it to cluster-admin in cluster shop")
    assert [h.message for h in finding.path][-2:] == [
        "refers to ClusterRole a",
        "cluster_admin cluster-wide: every verb on every resource",
    ]


# ---- several clusters ------------------------------------------------------------------------
def test_paths_never_cross_clusters(in_tmp):
    _write(
        in_tmp,
        {
            "prod/eks.tf": _cluster("prod"),
            "prod/k8s/rbac.yaml": _binding("admins", "admins"),
            "dev/eks.tf": _cluster("dev"),
            "dev/k8s/rbac.yaml": _binding("viewers", "admins", "view"),
            "iam.tf": _role("ops", _aws("*"))
            + _entry("ops_prod", "prod", "aws_iam_role.ops.arn", '["admins"]')
            + _role("dev", _aws("*"))
            + _entry("dev", "dev", "aws_iam_role.dev.arn", '["admins"]')
            # a policy of the prod cluster names dev's principal: it has no entry there
            + 'resource "aws_eks_access_policy_association" "dev" {\n'
            '  cluster_name  = "prod"\n  principal_arn = aws_iam_role.dev.arn\n'
            '  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"\n'
            '  access_scope {\n    type = "cluster"\n  }\n}\n',
            # beside neither cluster: which cluster it is applied to is not known
            "shared/rbac.yaml": _binding("shared", "admins", "role-manager")
            + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            "metadata:\n  name: role-manager\n"
            "rules:\n  - {apiGroups: [rbac.authorization.k8s.io], resources: [roles], "
            "verbs: [bind]}\n",
        },
    )
    doc = _access_json(".", "--limit", "0", "--show-unknown")
    assert sorted(doc["clusters"]) == ["dev", "prod"]
    places = [
        (power, [f"{h['location']['file']}:{h['location']['start_line']}" for h in path["path"]])
        for group in doc["groups"]
        for power, path in ((group["power"]["label"], p) for p in group["paths"])
    ]
    # ops is mapped in prod, dev in dev: each reaches what its own cluster's bindings give;
    # the prod policy for dev's role has no entry of dev in prod; the shared manifest is in
    # a cluster not known, reached by both through unknown hops
    assert places == [
        ("cluster-admin in cluster prod", ["iam.tf:4", "iam.tf:13", "iam.tf:14",
         "prod/k8s/rbac.yaml:7", "prod/k8s/rbac.yaml:5", "prod/k8s/rbac.yaml:5"]),
        ("escalate_bind cluster-wide (cluster not known)", ["iam.tf:4", "iam.tf:13",
         "iam.tf:14", "shared/rbac.yaml:7", "shared/rbac.yaml:5", "shared/rbac.yaml:14"]),
        ("escalate_bind cluster-wide (cluster not known)", ["iam.tf:19", "iam.tf:28",
         "iam.tf:29", "shared/rbac.yaml:7", "shared/rbac.yaml:5", "shared/rbac.yaml:14"]),
        ("view cluster-wide in cluster dev", ["iam.tf:19", "iam.tf:28", "iam.tf:29",
         "dev/k8s/rbac.yaml:7", "dev/k8s/rbac.yaml:5", "dev/k8s/rbac.yaml:5"]),
    ]  # fmt: skip
    assert [p["known"] for g in doc["groups"] for p in g["paths"]] == [True, False, False, True]
    result = run([in_tmp], select={"EKS801"})
    # ops reaches cluster-admin in prod; dev reaches escalate_bind only through the manifest
    # whose cluster is not known: undecided, not a finding
    assert [f.message.split(" trusts")[0] for f in result.findings] == ["role ops"]
    assert [(s.rule_id, s.location.start_line) for s in result.skipped] == [("EKS801", 19)]


# ---- --from and --to -----------------------------------------------------------------------------
def _entries(*args: str) -> list[tuple[str, str]]:
    doc = _access_json(str(ROOT / "examples"), "--limit", "0", *args)
    return [(power, entry) for power, entry, _ in _paths(doc)]


GITHUB_ENTRY = "GitHub Actions repo:acme-shop/* (not pinned: EKS405)"


def test_from_selects_entry_points_by_repository_arn_or_service_account():
    assert _entries("--from", "acme-shop/storefront") == [
        ("cluster-admin in cluster shop-prod", GITHUB_ENTRY)
    ]
    assert _entries("--from", "repo:other-org/tools") == []
    assert _entries("--from", "arn:aws:iam::111122223333:user/release-bot") == [
        ("cluster-admin in cluster shop-prod", "IAM user release-bot")
    ]
    # a role of the scan by its ARN: the paths from it (here its access entry)
    assert _entries("--from", "arn:aws:iam::111122223333:role/shop-github-deploy") == [
        ("cluster-admin in cluster shop-prod", "role shop-github-deploy")
    ]
    # anything the listing shows, with wildcards
    assert _entries("--from", "anonymous*") == [
        ("view cluster-wide in cluster shop-prod",
         "anonymous requests to the API server in cluster shop-prod"),
    ]  # fmt: skip


def test_from_a_service_account_names_its_pods_and_the_trusts_that_admit_it(in_tmp):
    trust = (
        '{\n      Effect = "Allow"\n      Principal = { Federated = '
        '"arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC" }\n'
        '      Action = "sts:AssumeRoleWithWebIdentity"\n      Condition = { StringLike = '
        '{ "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub" = "system:serviceaccount:shop:*" } }\n'
        "    }"
    )
    _write(
        in_tmp,
        {
            "iam.tf": _role("irsa", trust)
            + _entry("irsa", "shop", "aws_iam_role.irsa.arn", '["system:masters"]'),
            "pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\n  namespace: shop\n"
            "spec:\n  serviceAccountName: api\n  containers: [{name: a, image: a}]\n---\n"
            + _binding("api", "system:serviceaccounts:shop"),
        },
    )
    doc = _access_json(".", "--from", "shop/api")
    assert [(power, entry) for power, entry, _ in _paths(doc)] == [
        ("cluster-admin in cluster shop", "EKS service accounts system:serviceaccount:shop:* "
         "(not pinned: EKS403)"),
        ("cluster-admin in cluster shop", "pod Pod shop/api"),
    ]  # fmt: skip
    assert _paths(_access_json(".", "--from", "kube-system/api")) == []


def test_to_selects_powers_by_name_alias_or_words():
    assert {power for power, _ in _entries("--to", "cluster-admin")} == {
        "cluster-admin in cluster shop-prod"
    }
    assert {power for power, _ in _entries("--to", "view")} == {
        "view cluster-wide in cluster shop-prod"
    }
    assert _entries("--to", "escalation") == []
    assert {power for power, _ in _entries("--to", "*cluster-wide*")} == {
        "edit cluster-wide in cluster shop-prod",
        "view cluster-wide in cluster shop-prod",
    }
    assert _entries("--to", "edit") == [
        ("edit cluster-wide in cluster shop-prod",
         "role arn:aws:iam::111122223333:role/shop-developers (trust not in the scan)"),
    ]  # fmt: skip
    assert len(_entries("--to", "cluster-admin", "--to", "view")) == 5


def test_limit_caps_each_power_and_counts_the_rest():
    doc = _access_json(str(ROOT / "examples"), "--limit", "1")
    assert [(g["power"]["label"], len(g["paths"]), g["more"]) for g in doc["groups"]] == [
        ("cluster-admin in cluster shop-prod", 1, 3),
        ("edit cluster-wide in cluster shop-prod", 1, 0),
        ("view cluster-wide in cluster shop-prod", 1, 0),
        ("AWS admin", 1, 0),
    ]
    assert doc["summary"]["paths"] == 7 and doc["summary"]["shown"] == 4
    # the path from the trust that is not pinned comes first
    assert doc["groups"][0]["paths"][0]["entry"]["label"] == GITHUB_ENTRY
    code, _, err = cli("access", str(ROOT / "examples"), "--limit", "-1")
    assert (code, err) == (2, "eks-checks: error: --limit must be 0 or more, not -1\n")


# ---- formats, each read by the tool that consumes it -------------------------------------------
HOSTILE = 'evil"]|`<b>x</b>\\n\\\\N end #35; {{x}} -->|y| ü\u202e\nline2'
# a repository pattern as the trust writes it, shown in the entry point's label
HOSTILE_SUB = "repo:acme/*<b>|`x`](https://e.example)"


def _hostile_tree(root: Path) -> Path:
    name = json.dumps(HOSTILE)  # a YAML double-quoted string is JSON's
    return _write(
        root,
        {
            "iam.tf": _role("deploy", _github(HOSTILE_SUB))
            + _entry("deploy", "shop", "aws_iam_role.deploy.arn", '["admins", "viewers"]'),
            "rbac.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
            f"metadata:\n  name: {name}\nroleRef: {{kind: ClusterRole, name: cluster-admin}}\n"
            f"subjects:\n  - {{kind: Group, name: admins}}\n---\n"
            + _binding("viewers", "viewers", "view"),
        },
    )


def _render(fmt: str) -> str:
    code, out, err = cli("access", ".", "--format", fmt, "--no-cache")
    assert code == 0, err
    return out


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz (dot)")
needs_mermaid = pytest.mark.skipif(
    shutil.which("node") is None or not (MERMAID_HOME / "node_modules" / "mermaid").is_dir(),
    reason=f"needs node and the mermaid parser in {MERMAID_HOME} (.ci/run installs it: "
    "npm ci in a copy of tests/mermaid)",
)


def _mermaid_parse(tmp_path: Path, diagrams: dict[str, str]) -> list[dict]:
    files = []
    for name, text in diagrams.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    run_ = subprocess.run(
        ["node", str(MERMAID / "parse.mjs"), *files],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EKS_CHECKS_MERMAID_HOME": str(MERMAID_HOME)},
    )
    return [json.loads(line) for line in run_.stdout.splitlines()]


@needs_dot
def test_dot_is_rendered_by_graphviz_with_every_label_as_written(in_tmp):
    _hostile_tree(in_tmp)
    text = _render("dot")
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=120, check=False
    )
    assert svg.returncode == 0 and svg.stderr == "", svg.stderr
    # the binding's name is one label, shown as written, its controls and bidirectional
    # controls as escapes, never markup, never Graphviz's own escapes (\\N, \\n)
    assert (
        "ClusterRoleBinding evil&quot;]|`&lt;b&gt;x&lt;/b&gt;\\n\\\\N end #35; {{x}} "
        "&#45;&#45;&gt;|y| ü\\u202e\\nline2</text>" in svg.stdout
    )
    assert "<b>" not in svg.stdout and "\u202e" not in svg.stdout
    assert re.search(r'class="edge".*?stroke-dasharray', svg.stdout, re.S) is None  # all known
    nodes = re.findall(r'<g id="node\d+" class="node">', svg.stdout)
    # entry, role, mapping, two groups, two bindings, their roles, two powers
    assert len(nodes) == 11


@needs_mermaid
def test_mermaid_and_markdown_are_parsed_by_mermaid(in_tmp, tmp_path):
    _hostile_tree(in_tmp)
    flowchart = _render("mermaid")
    markdown = _render("markdown")
    block = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == flowchart
    broken = flowchart.replace('"]', "]", 1)  # the parser does fail on what is not Mermaid
    results = _mermaid_parse(
        tmp_path, {"access.mmd": flowchart, "summary.mmd": block, "broken.mmd": broken}
    )
    assert [(r["ok"], r.get("type")) for r in results] == [
        (True, "flowchart-v2"),
        (True, "flowchart-v2"),
        (False, None),
    ]
    # nothing of the name is markup: every character outside a plain set is an entity code
    assert (
        "ClusterRoleBinding evil#34;#93;#124;#96;#60;b#62;x#60;/b#62;#92;n#92;#92;N end "
        "#35;35#59; #123;#123;x#125;#125; --#62;#124;y#124; #252;#8238;#10;line2"
    ) in flowchart
    assert "<b>" not in flowchart and "`" not in flowchart
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert table[0] == "| power | entry point | hops | path |"
    # four cells in each row: a `|` of the input is escaped, and so is every other markup
    assert all(len(re.split(r"(?<!\\)\|", row)) == 6 for row in table)
    assert table[2].split(" | ")[1] == (
        "GitHub Actions repo:acme/\\*&lt;b&gt;\\|\\`x\\`\\](https&#58;//e.example) "
        "(not pinned: EKS405)"
    )


def test_json_text_and_sarif_of_the_same_paths(in_tmp):
    _hostile_tree(in_tmp)
    doc = _access_json(".")
    assert [(power, len(hops)) for power, _, hops in _paths(doc)] == [
        ("cluster-admin in cluster shop", 6),
        ("view cluster-wide in cluster shop", 6),
    ]
    text = _render("text")
    # the text shows each hop indented under its entry point, input controls escaped
    assert '\n    4. rbac.yaml:7  ClusterRoleBinding evil"]|`<b>x</b>\\n\\\\N end' in text
    assert "\\nline2 names group admins\n" in text
    assert "\u202e" not in text and "\\u202e" in text
    code, out, _ = cli("scan", ".", "--select", "EKS801", "--format", "sarif", "--no-cache")
    sarif = json.loads(out)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    (result,) = sarif["runs"][0]["results"]
    steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["message"]["text"] for s in steps] == [
        h["message"] for h in doc["groups"][0]["paths"][0]["path"]
    ]


# ---- pre-commit and pull requests --------------------------------------------------------------
def _deploy_tree(root: Path) -> Path:
    return _write(
        root,
        {
            "iam/deploy.tf": _role("deploy", _github("repo:acme/*"))
            + _entry("deploy", "shop", "aws_iam_role.deploy.arn", '["deployers"]'),
            "k8s/rbac.yaml": _binding("deployers", "deployers"),
            "k8s/other.yaml": _binding("readers", "readers", "view"),
        },
    )


def test_a_change_to_any_hop_reports_the_path_with_context_root(in_tmp):
    _deploy_tree(in_tmp)
    for passed in ("iam/deploy.tf", "k8s/rbac.yaml"):
        code, out, _ = cli("scan", "--context-root", ".", passed, "--select", "EKS801",
                           "--no-cache", "--format", "json")  # fmt: skip
        assert code == 1
        assert [f["location"]["file"] for f in json.loads(out)["findings"]] == ["iam/deploy.tf"]
        doc = _access_json("--context-root", ".", passed)
        assert [entry for _, entry, _ in _paths(doc)] == [
            "GitHub Actions repo:acme/* (not pinned: EKS405)"
        ]
    code, out, _ = cli("scan", "--context-root", ".", "k8s/other.yaml", "--select", "EKS801",
                       "--no-cache", "--format", "json")  # fmt: skip
    assert (code, json.loads(out)["findings"]) == (0, [])
    assert _paths(_access_json("--context-root", ".", "k8s/other.yaml")) == []


def test_a_path_a_change_opens_is_new_even_when_each_entity_was_there(in_tmp):
    _deploy_tree(in_tmp)
    (in_tmp / "k8s" / "escalate.yaml").write_text(
        _binding("readers-bind", "readers", "binder")
        + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata:\n  name: binder\nrules:\n"
        "  - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}\n"
    )
    code, _, _ = cli("scan", ".", "--no-cache", "--write-baseline", "baseline.json")
    assert code == 0
    # the same mapping now also names group readers, whose bindings were there too
    deploy = in_tmp / "iam" / "deploy.tf"
    deploy.write_text(deploy.read_text().replace('["deployers"]', '["deployers", "readers"]'))
    code, out, _ = cli("scan", ".", "--no-cache", "--baseline", "baseline.json",
                       "--select", "EKS801", "--format", "json")  # fmt: skip
    (finding,) = json.loads(out)["findings"]
    assert (code, finding["rule_id"]) == (1, "EKS801")
    assert "k8s/escalate.yaml" in {r["location"]["file"] for r in finding["related"]}
    # a change that moves lines and opens nothing stays known
    deploy.write_text("\n\n# moved\n" + deploy.read_text().replace(', "readers"', ""))
    code, out, _ = cli("scan", ".", "--no-cache", "--baseline", "baseline.json",
                       "--select", "EKS801", "--format", "json")  # fmt: skip
    assert (code, json.loads(out)["findings"], json.loads(out)["summary"]["baselined"]) == (
        0, [], 1,
    )  # fmt: skip


# ---- EKS802 and what roles may do in AWS --------------------------------------------------------
IRSA_APP = _role(
    "irsa-app",
    '{\n      Effect = "Allow"\n      Principal = { Federated = '
    '"arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC" }\n'
    '      Action = "sts:AssumeRoleWithWebIdentity"\n      Condition = { StringEquals = '
    '{ "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub" = "system:serviceaccount:shop:app" } }\n'
    "    }",
)


def _attach(name: str, role: str, policy: str) -> str:
    return (
        f'resource "aws_iam_role_policy_attachment" "{name}" {{\n'
        f"  role       = aws_iam_role.{role}.name\n  policy_arn = {policy}\n}}\n"
    )


def _fields(root: Path) -> dict[str, dict]:
    result = run([root], select={"EKS802"})
    return {
        e.fields["name"]: e.fields
        for e in result.entities
        if e.kind in ("workload", "instance_metadata")
    }


def test_eks802_follows_irsa_pod_identity_and_the_node_role(in_tmp):
    files = dict(EVERY_HOP)
    files["main.tf"] += IRSA_APP + _attach(
        "irsa_app", "irsa-app", '"arn:aws:iam::aws:policy/AdministratorAccess"'
    )
    files["main.tf"] += _role("shop-nodes", _aws("arn:aws:iam::111122223333:root"))
    files["main.tf"] += _attach(
        "nodes", "shop-nodes", '"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"'
    )
    _write(in_tmp, files)
    fields = _fields(in_tmp)
    app, worker, nodes = fields["app"], fields["worker"], fields["aws_launch_template.nodes"]
    assert (app["reaches_aws_admin"], app["aws_admin_power"]) == (
        True, "AWS admin as role irsa-app",
    )  # fmt: skip
    # the last hop is the attachment that makes it admin
    assert [(h["hop"], h["file"], h["start_line"]) for h in app["aws_admin_path"]] == [
        ("service_account", "k8s.yaml", 34), ("irsa", "k8s.yaml", 24),
        ("aws_power", "main.tf", 86),
    ]  # fmt: skip
    # credentials do not depend on the token: the worker mounts none and still gets its role
    assert (worker["reaches_aws_admin"], worker["aws_admin_power"]) == (
        True, "AWS iam_write as role app",
    )  # fmt: skip
    assert [h["hop"] for h in worker["aws_admin_path"]] == [
        "service_account", "pod_identity", "aws_power",
    ]  # fmt: skip
    # the nodes' role is in the scan, with no power that counts
    assert (nodes["pods_reach_imds"], nodes["reaches_aws_admin"]) == (True, False)
    assert nodes["aws_admin_path"] == []


def test_eks802_is_undecided_when_what_the_role_may_do_is_not_known(in_tmp):
    _write(in_tmp, EVERY_HOP)
    result = run([in_tmp], select={"EKS802"})
    # the worker's role passes roles; the others' roles are not in the scan
    assert [(f.location.file, f.location.start_line) for f in result.findings] == [("k8s.yaml", 37)]
    assert sorted((s.location.file, s.location.start_line) for s in result.skipped) == [
        ("k8s.yaml", 26), ("main.tf", 66),
    ]  # fmt: skip
    files = dict(EVERY_HOP)
    files["main.tf"] += (
        'variable "policy" {}\n' + IRSA_APP + _attach("irsa_app", "irsa-app", "var.policy")
    )
    _write(in_tmp, files)
    app = _fields(in_tmp)["app"]
    assert isinstance(app["reaches_aws_admin"], Unknown)
    assert app["aws_admin_path"] == [] and app["aws_admin_power"] is None


def test_nodes_that_keep_pods_from_imds_give_them_nothing(in_tmp):
    files = dict(EVERY_HOP)
    files["main.tf"] = files["main.tf"].replace("http_put_response_hop_limit = 2", "")
    files["main.tf"] += _role("shop-nodes", _aws("arn:aws:iam::111122223333:root"))
    files["main.tf"] += _attach(
        "nodes", "shop-nodes", '"arn:aws:iam::aws:policy/AdministratorAccess"'
    )
    _write(in_tmp, files)
    nodes = _fields(in_tmp)["aws_launch_template.nodes"]
    assert (nodes["pods_reach_imds"], nodes["reaches_aws_admin"]) == (False, False)


# ---- the nodes' roles ----------------------------------------------------------------------------
def test_node_roles_from_node_groups_instance_profiles_modules_and_eksctl(in_tmp):
    _write(
        in_tmp,
        {
            "nodes.tf": """resource "aws_launch_template" "general" {
  name = "general"
}

resource "aws_eks_node_group" "general" {
  cluster_name  = "shop"
  node_role_arn = aws_iam_role.nodes.arn
  launch_template {
    id      = aws_launch_template.general.id
    version = "$Latest"
  }
}

resource "aws_eks_node_group" "by_name" {
  cluster_name  = "shop"
  node_role_arn = "arn:aws:iam::111122223333:role/named"
  launch_template {
    name = "general"
  }
}

resource "aws_instance" "bastion" {
  iam_instance_profile = "not-here"
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"
  name    = "shop"
  eks_managed_node_groups = {
    given = {
      create_iam_role = false
      iam_role_arn    = "arn:aws:iam::111122223333:role/given"
    }
    made = {}
  }
}
""",
            "eksctl.yaml": """apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: shop
  region: eu-west-1
managedNodeGroups:
  - name: given
    iam:
      instanceRoleARN: arn:aws:iam::111122223333:role/eksctl-given
  - name: made
""",
        },
    )
    code, out, err = cli("model", ".", "--no-cache")
    assert code == 0, err
    roles = {
        e["fields"]["name"]: [
            (r["role"], r["via"], r["file"], r["start_line"]) for r in e["fields"]["node_roles"]
        ]
        for e in json.loads(out)["entities"]
        if e["kind"] == "instance_metadata"
    }
    made = {"unknown": 'the role of module.eks eks_managed_node_groups["made"]'}
    assert roles == {
        "aws_launch_template.general": [
            ({"unknown": "aws_iam_role.nodes.arn"}, "aws_eks_node_group.general node_role_arn",
             "nodes.tf", 7),
            ("arn:aws:iam::111122223333:role/named", "aws_eks_node_group.by_name node_role_arn",
             "nodes.tf", 16),
        ],
        "aws_instance.bastion": [
            ({"unknown": "role of not-here"}, "instance profile not-here", "nodes.tf", 23),
        ],
        'module.eks eks_managed_node_groups["given"]': [
            ("arn:aws:iam::111122223333:role/given",
             'module.eks eks_managed_node_groups["given"] iam_role_arn', "nodes.tf", 31),
        ],
        'module.eks eks_managed_node_groups["made"]': [
            (made, 'module.eks eks_managed_node_groups["made"] (the role the module creates)',
             "nodes.tf", 35),
        ],
        "eksctl managedNodeGroups given": [
            ("arn:aws:iam::111122223333:role/eksctl-given",
             "eksctl managedNodeGroups given iam.instanceRoleARN", "eksctl.yaml", 9),
        ],
        "eksctl managedNodeGroups made": [
            ({"unknown": "the role of eksctl managedNodeGroups made"},
             "eksctl managedNodeGroups made (the role eksctl creates)", "eksctl.yaml", 10),
        ],
    }  # fmt: skip


def test_node_groups_of_the_eks_module_called_by_a_local_module_reach_their_role(in_tmp):
    """The EKS module's node groups, made in a module the root calls, keep their IAM role:
    the one a variable passes down to `iam_role_arn`, found among the root's roles."""
    _write(
        in_tmp,
        {
            "main.tf": _role("shop-nodes", _aws("arn:aws:iam::111122223333:root"))
            + _attach("nodes", "shop-nodes", '"arn:aws:iam::aws:policy/AdministratorAccess"')
            + 'module "platform" {\n  source        = "./modules/platform"\n'
            "  node_role_arn = aws_iam_role.shop-nodes.arn\n}\n",
            "modules/platform/main.tf": """variable "node_role_arn" {}

module "eks" {
  source       = "terraform-aws-modules/eks/aws"
  version      = "~> 20.0"
  cluster_name = "shop"
  eks_managed_node_groups = {
    given = {
      create_iam_role = false
      iam_role_arn    = var.node_role_arn
    }
    made = {}
  }
}
""",
        },
    )
    given = 'module.platform.module.eks eks_managed_node_groups["given"]'
    made = 'module.platform.module.eks eks_managed_node_groups["made"]'
    fields = _fields(in_tmp)
    assert [(r["role_ref"], r["via"]) for r in fields[given]["node_roles"]] == [
        (".:aws_iam_role.shop-nodes", f"{given} iam_role_arn"),
    ]  # fmt: skip
    assert (fields[given]["reaches_aws_admin"], fields[given]["aws_admin_power"]) == (
        True, "AWS admin as role shop-nodes",
    )  # fmt: skip
    assert [(h["hop"], h["file"], h["start_line"]) for h in fields[given]["aws_admin_path"]] == [
        ("imds", "modules/platform/main.tf", 8), ("aws_power", "main.tf", 11),
    ]  # fmt: skip
    # the role the module creates is not known: kept as such, not guessed
    [role] = [r["role"] for r in fields[made]["node_roles"]]
    assert isinstance(role, Unknown) and role.text == f"the role of {made}"
    [finding] = run([in_tmp], select={"EKS802"}).findings
    assert (finding.location.file, finding.location.start_line) == ("modules/platform/main.tf", 8)
    assert [(r.location.file, r.location.start_line) for r in finding.path] == [
        ("modules/platform/main.tf", 8), ("main.tf", 11),
    ]  # fmt: skip
    # the module call that made the node group, then every hop (by file and line)
    assert [(r.location.file, r.location.start_line) for r in finding.related] == [
        ("main.tf", 15), ("main.tf", 11), ("modules/platform/main.tf", 8),
    ]  # fmt: skip


NODES_MODULE = """resource "aws_iam_role" "nodes" {
  name               = "shop-nodes"
  assume_role_policy = jsonencode({
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "nodes" {
  role       = aws_iam_role.nodes.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_instance_profile" "nodes" {
  name = "shop-nodes"
  role = aws_iam_role.nodes.name
}

resource "aws_launch_template" "nodes" {
  name = "nodes"
  iam_instance_profile {
    name = aws_iam_instance_profile.nodes.name
  }
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}

resource "aws_eks_node_group" "nodes" {
  cluster_name  = "shop"
  node_role_arn = aws_iam_role.nodes.arn
  launch_template {
    id      = aws_launch_template.nodes.id
    version = "$Latest"
  }
}
"""


def test_nodes_a_local_module_makes_reach_the_roles_it_declares(in_tmp):
    """A launch template in a module the root calls: its instance profile's role and the
    role of the module's node group that uses it, each found by its reference in the module
    (addresses there are the module's own, refs are from the root)."""
    _write(
        in_tmp,
        {
            "main.tf": 'module "nodes" {\n  source = "./modules/nodes"\n}\n',
            "modules/nodes/main.tf": NODES_MODULE,
        },
    )
    fields = _fields(in_tmp)["module.nodes.aws_launch_template.nodes"]
    assert [(r["role_ref"], r["via"], r["start_line"]) for r in fields["node_roles"]] == [
        (".:module.nodes.aws_iam_role.nodes", "module.nodes.aws_iam_instance_profile.nodes role",
         19),
        (".:module.nodes.aws_iam_role.nodes", "module.nodes.aws_eks_node_group.nodes node_role_arn",
         35),
    ]  # fmt: skip
    assert (fields["reaches_aws_admin"], fields["aws_admin_power"]) == (
        True, "AWS admin as role shop-nodes",
    )  # fmt: skip
    assert [(h["hop"], h["file"], h["start_line"]) for h in fields["aws_admin_path"]] == [
        ("imds", "modules/nodes/main.tf", 19), ("aws_power", "modules/nodes/main.tf", 12),
    ]  # fmt: skip


NODE_MODULES = """variable "groups" {}

module "alone" {
  source          = "terraform-aws-modules/eks/aws//modules/eks-managed-node-group"
  version         = "~> 20.0"
  cluster_name    = "shop"
  create_iam_role = false
  iam_role_arn    = "arn:aws:iam::111122223333:role/alone"
}

module "cloudposse" {
  source        = "cloudposse/eks-node-group/aws"
  version       = "3.1.0"
  node_role_arn = ["arn:aws:iam::111122223333:role/cloudposse"]
}

module "cloudposse_made" {
  source  = "cloudposse/eks-node-group/aws"
  version = "3.1.0"
}

module "old" {
  source       = "terraform-aws-modules/eks/aws"
  version      = "~> 17.0"
  cluster_name = "old"
  worker_groups = [
    { name = "a", iam_role_id = "workers-a" },
    { name = "b" },
  ]
}

module "unmanaged" {
  source                      = "terraform-aws-modules/eks/aws"
  version                     = "~> 17.0"
  cluster_name                = "unmanaged"
  manage_worker_iam_resources = false
  worker_groups               = [{ iam_instance_profile_name = "workers" }]
}

module "shapeless" {
  source                  = "terraform-aws-modules/eks/aws"
  version                 = "~> 20.0"
  cluster_name            = "shapeless"
  self_managed_node_groups = var.groups
}
"""


def test_node_roles_of_node_group_submodules_cloudposse_and_v17_worker_groups(in_tmp):
    """Every module reader that makes nodes gives them their role: as given, the role the
    module creates (unknown), or unknown with the groups themselves."""
    _write(in_tmp, {"nodes.tf": NODE_MODULES})
    code, out, err = cli("model", ".", "--no-cache")
    assert code == 0, err
    roles = {
        e["fields"]["name"]: [
            (r["role"], r["via"], r["start_line"]) for r in e["fields"]["node_roles"]
        ]
        if "node_roles" in e["fields"]
        else e["unknown"]["node_roles"]
        for e in json.loads(out)["entities"]
        if e["kind"] == "instance_metadata"
    }
    assert roles == {
        "module.alone": [
            ("arn:aws:iam::111122223333:role/alone", "module.alone iam_role_arn", 3),
        ],
        "module.cloudposse": [
            ("arn:aws:iam::111122223333:role/cloudposse", "module.cloudposse node_role_arn", 14),
        ],
        "module.cloudposse_made": [
            ({"unknown": "the role of module.cloudposse_made"},
             "module.cloudposse_made (the role the module creates)", 17),
        ],
        "module.old worker_groups[0]": [
            ("workers-a", "module.old worker_groups[0] iam_role_id", 27),
        ],
        "module.old worker_groups[1]": [
            ({"unknown": "the role of module.old worker_groups[1]"},
             "module.old worker_groups[1] (the role the module creates)", 28),
        ],
        "module.unmanaged worker_groups[0]": [
            ({"unknown": "the role of workers"},
             "module.unmanaged worker_groups[0] iam_instance_profile_name", 37),
        ],
        # groups whose shape is not known: their role is not known either
        "module.shapeless self_managed_node_groups": "var.groups",
    }  # fmt: skip
    doc = _access_json(".", "--show-unknown", "--to", "aws-admin")
    assert [(entry, [(hop, line) for hop, _, line in hops]) for _, entry, hops in _paths(doc)] == [
        ("any pod on module.alone", [("imds", 3), ("aws_power", 3)]),
        ("any pod on module.cloudposse", [("imds", 14), ("aws_power", 11)]),
        ("any pod on module.old worker_groups[0]", [("imds", 27), ("aws_power", 27)]),
    ]  # fmt: skip


# ---- docs/access.md ---------------------------------------------------------------------------------
def test_the_worked_example_is_what_the_tool_prints(monkeypatch):
    monkeypatch.chdir(ROOT)
    page = (ROOT / "docs" / "access.md").read_text(encoding="utf-8")
    shown = re.findall(r"```\n\$ eks-checks (.*?)\n(.*?)```", page, re.S)
    assert len(shown) == 3
    for command, output in shown:
        _, out, _ = cli(*command.split(), "--no-cache", "--no-color")
        assert output.splitlines() == out.splitlines()[: len(output.splitlines())], command
    diagram = page.split("```mermaid\n", 1)[1].split("```", 1)[0]
    _, out, _ = cli("access", "examples", "--to", "cluster-admin", "--limit", "2", "--format",
                    "mermaid", "--no-cache")  # fmt: skip
    assert diagram == out
    assert "[docs/access.md](access.md)" in (ROOT / "docs" / "coverage.md").read_text()


def test_a_cluster_whose_name_is_not_known_keeps_what_is_written_beside_it(in_tmp):
    cluster = (
        'variable "name" {}\nresource "aws_eks_cluster" "this" {\n  name = var.name\n'
        '  access_config {\n    authentication_mode = "API"\n'
        "    bootstrap_cluster_creator_admin_permissions = false\n  }\n}\n"
    )
    for env in ("prod", "dev"):
        _write(
            in_tmp,
            {
                f"{env}/eks.tf": cluster
                + _role("ops", _aws("*"))
                + 'resource "aws_eks_access_entry" "ops" {\n'
                "  cluster_name  = aws_eks_cluster.this.name\n"
                "  principal_arn = aws_iam_role.ops.arn\n"
                f'  kubernetes_groups = ["{env}-admins"]\n}}\n',
                f"{env}/rbac.yaml": _binding("admins", "prod-admins"),
            },
        )
    doc = _access_json(".", "--show-unknown")
    # each entry belongs to the cluster of its folder, as the bindings beside it: prod's entry
    # meets prod's binding of prod-admins, not dev's; dev's entry names a group no binding of
    # dev names
    places = [
        (power, [f"{h['location']['file']}:{h['location']['start_line']}" for h in path["path"]])
        for group in doc["groups"]
        for power, path in ((group["power"]["label"], p) for p in group["paths"])
    ]
    assert places == [
        ("cluster-admin in cluster aws_eks_cluster.this (prod/eks.tf)",
         ["prod/eks.tf:12", "prod/eks.tf:21", "prod/eks.tf:22", "prod/rbac.yaml:7",
          "prod/rbac.yaml:5", "prod/rbac.yaml:5"]),
    ]  # fmt: skip
    assert [p["known"] for g in doc["groups"] for p in g["paths"]] == [True]


# ---- bounded ---------------------------------------------------------------------------------------
def test_a_graph_too_large_to_walk_is_bounded_and_says_so(in_tmp):
    from bounded import run_bounded, scan_json

    docs = []
    for i in range(1500):  # each pod its own ServiceAccount, each in every group's binding
        docs.append(
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  namespace: ns\n"
            f"spec:\n  serviceAccountName: sa{i}\n  containers: [{{name: a, image: a}}]\n"
        )
        docs.append(_binding(f"b{i}", "system:authenticated", "view"))
    (in_tmp / "all.yaml").write_text("---\n".join(docs))
    code, report, _ = scan_json(".", cwd=in_tmp, extra=("--select", "EKS802"))
    reasons = {r for u in report["unknown"] for r in u["reasons"]}
    assert (code, report["findings"], reasons) == (0, [], {graph.TOO_LARGE})
    assert 0 < report["summary"]["unknown"] < 1500  # the first pods are walked
    code, out, err = run_bounded("access", ".", "--no-cache", "--format", "json", cwd=in_tmp)
    summary = json.loads(out)["summary"]
    assert code == 0 and summary["not_walked"] > 0 and summary["paths"] > 0, err


def _environment(policy: str) -> dict[str, str]:
    """One environment's cluster `platform` (every environment names it so), a pod identity
    association for shop/worker with a role of `policy`, and the workload that uses it."""
    return {
        "main.tf": _cluster("platform")
        + 'resource "aws_iam_role" "worker" {\n  name = "worker"\n'
        + '  assume_role_policy = jsonencode({Statement = [{Effect = "Allow", '
        + 'Principal = {Service = "pods.eks.amazonaws.com"}, '
        + 'Action = ["sts:AssumeRole", "sts:TagSession"]}]})\n}\n'
        + _attach("worker", "worker", f'"arn:aws:iam::aws:policy/{policy}"')
        + 'resource "aws_eks_pod_identity_association" "worker" {\n'
        + '  cluster_name    = "platform"\n  namespace       = "shop"\n'
        + '  service_account = "worker"\n  role_arn        = aws_iam_role.worker.arn\n}\n',
        "k8s.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: worker\n"
        "  namespace: shop\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        "  name: worker\n  namespace: shop\nspec:\n  template:\n    spec:\n"
        "      serviceAccountName: worker\n      containers:\n      - name: w\n"
        "        image: w\n",
    }


def test_a_pod_gets_the_pod_identity_of_its_own_environment_of_a_cluster_name(in_tmp):
    # environments that copy one another: the same cluster name, ServiceAccount and
    # association in each directory; a pod's credentials are its own directory's, as link
    # finds copies (only prod gives the worker AdministratorAccess)
    for env, policy in (("prod", "AdministratorAccess"), ("dev", "ReadOnlyAccess")):
        for name, text in _environment(policy).items():
            _write(in_tmp, {f"envs/{env}/{name}": text})
    result = run([in_tmp], select={"EKS802"})
    reach = {
        e.location.file: e.fields["reaches_aws_admin"]
        for e in result.entities
        if e.kind == "workload"
    }
    assert reach == {"envs/dev/k8s.yaml": False, "envs/prod/k8s.yaml": True}
    assert [(f.location.file, f.location.start_line) for f in result.findings] == [
        ("envs/prod/k8s.yaml", 7)
    ]


def test_a_pods_token_gets_the_binding_of_its_own_environment_of_a_cluster_name(in_tmp):
    # the same RoleBinding in two environment directories of cluster `platform`: prod's
    # binds shop/worker to cluster-admin, dev's to view; dev's pod holds only view
    for env, role in (("prod", "cluster-admin"), ("dev", "view")):
        files = _environment("ReadOnlyAccess")
        files["rbac.yaml"] = (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n"
            f"  name: worker\n  namespace: shop\nroleRef:\n  kind: ClusterRole\n  name: {role}\n"
            "  apiGroup: rbac.authorization.k8s.io\nsubjects:\n- kind: ServiceAccount\n"
            "  name: worker\n  namespace: shop\n"
        )
        _write(in_tmp, {f"envs/{env}/{name}": text for name, text in files.items()})
    doc = _access_json(str(in_tmp))
    reached = sorted(
        (group["power"]["label"], path["entry"]["label"], path["path"][0]["location"]["file"])
        for group in doc["groups"]
        for path in group["paths"]
        if "worker" in path["entry"]["label"]
    )
    assert [(power, file.split("envs/")[1]) for power, _, file in reached] == [
        ("cluster-admin in cluster platform (envs/prod/main.tf)", "prod/k8s.yaml"),
        ("view in namespace shop in cluster platform (envs/dev/main.tf)", "dev/k8s.yaml"),
    ]


def _sign_in(how: str) -> str:
    """Role `deploy` mapped to group `ops`: by an access entry of cluster `platform`, or by
    aws-auth."""
    if how == "access_entry":
        return _entry("deploy", "platform", "aws_iam_role.deploy.arn", '["ops"]')
    return ""


AWS_AUTH_OPS = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n"
    "data:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/deploy\n"
    "      username: deploy\n      groups: [ops]\n"
)


@pytest.mark.parametrize("how", ["access_entry", "aws-auth"])
def test_a_user_signed_in_by_one_environment_stays_in_its_cluster_of_a_cluster_name(in_tmp, how):
    # two environment directories, each with its own cluster `platform` and the same role
    # mapped to group ops; prod binds ops to cluster-admin, dev to view: dev's mapping does
    # not reach prod's binding (two clusters of one name are two clusters, as link says)
    for env, role in (("prod", "cluster-admin"), ("dev", "view")):
        files = {
            "eks.tf": _cluster("platform")
            + _role("deploy", _github("repo:acme/*"))
            + _sign_in(how),
            "rbac.yaml": _binding("ops", "ops", role),
        }
        if how == "aws-auth":
            files["aws-auth.yaml"] = AWS_AUTH_OPS
        _write(in_tmp, {f"envs/{env}/{name}": text for name, text in files.items()})
    result = run([in_tmp], select={"EKS801"})
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS801", "envs/prod/eks.tf", 11)
    ]
    assert result.skipped == []
    (finding,) = result.findings
    assert {r.location.file for r in finding.related} == {
        "envs/prod/eks.tf",
        "envs/prod/rbac.yaml",
        *(["envs/prod/aws-auth.yaml"] if how == "aws-auth" else []),
    }
    doc = _access_json(".")
    assert doc["clusters"] == ["platform (envs/dev/eks.tf)", "platform (envs/prod/eks.tf)"]
    reached = sorted(
        (group["power"]["label"], path["path"][-1]["location"]["file"])
        for group in doc["groups"]
        for path in group["paths"]
    )
    assert reached == [
        ("cluster-admin in cluster platform (envs/prod/eks.tf)", "envs/prod/rbac.yaml"),
        ("view cluster-wide in cluster platform (envs/dev/eks.tf)", "envs/dev/rbac.yaml"),
    ]


def test_an_entry_between_environments_of_a_cluster_name_is_in_a_cluster_not_known(in_tmp):
    # an access entry in a folder above two environments that each define cluster `platform`
    # is equally near both: its hops are unknown, never joined to either one's bindings
    for env in ("prod", "dev"):
        _write(
            in_tmp,
            {
                f"envs/{env}/eks.tf": _cluster("platform"),
                f"envs/{env}/rbac.yaml": _binding("ops", "ops"),
            },
        )
    _write(
        in_tmp,
        {"envs/access.tf": _role("deploy", _github("repo:acme/*")) + _sign_in("access_entry")},
    )
    result = run([in_tmp], select={"EKS801"})
    assert result.findings == []
    assert [(s.rule_id, s.location.file, s.reasons) for s in result.skipped] == [
        (
            "EKS801",
            "envs/access.tf",
            ["the scan holds several clusters and this object is not nearer to one"],
        )
    ]


# ---- clusters a module makes for several configurations --------------------------------------
def _paths_by_power(doc: dict) -> list[tuple[str, str, list[str]]]:
    """(power label, entry label, ["file:line" of each hop]) of every listed path."""
    return [
        (
            group["power"]["label"],
            path["entry"]["label"],
            [f"{h['location']['file']}:{h['location']['start_line']}" for h in path["path"]],
        )
        for group in doc["groups"]
        for path in group["paths"]
    ]


def test_a_module_cluster_of_each_calling_environment_is_its_own_cluster(monkeypatch):
    # envs/dev and envs/prod call modules/eks, whose cluster `shop` is in the authentication
    # mode each passes: API in dev, CONFIG_MAP in prod (prod's access entry has no effect).
    # One file defines both: each is the cluster of the configuration that calls the module,
    # and each environment's entry and binding belong to its own
    monkeypatch.chdir(FIXTURES / "hook-module-clusters")
    result = run(["."], select={"EKS801"})
    dev = "shop (modules/eks/main.tf via envs/dev)"
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS801", "envs/dev/main.tf", 26)
    ]
    assert result.skipped == []
    (finding,) = result.findings
    assert finding.message == (
        "role ops-dev trusts AWS: arn:aws:iam::111122223333:root (not pinned: [EKS407]), and a "
        f"path leads from it to cluster-admin in cluster {dev}"
    )
    assert {r.location.file for r in finding.related} == {"envs/dev/main.tf", "envs/dev/rbac.yaml"}
    doc = _access_json(".")
    prod = "shop (modules/eks/main.tf via envs/prod)"
    assert doc["clusters"] == [dev, prod]
    # each instance's creator is cluster-admin of its own cluster
    assert _paths_by_power(doc) == [
        (f"cluster-admin in cluster {dev}", "AWS: arn:aws:iam::111122223333:root "
         "(not pinned: EKS407)", ["envs/dev/main.tf:26", "envs/dev/main.tf:8",
         "envs/dev/main.tf:15"]),
        (f"cluster-admin in cluster {dev}", f"the identity that creates cluster {dev}",
         ["modules/eks/main.tf:5"]),
        (f"cluster-admin in cluster {prod}", f"the identity that creates cluster {prod}",
         ["modules/eks/main.tf:5"]),
    ]  # fmt: skip


def test_a_downloaded_module_cluster_of_each_environment_is_named_by_its_copy(in_tmp):
    # the same two environments with the module downloaded into each (`terraform init`):
    # each copy is a file of its own, which names the cluster as before
    fixture = FIXTURES / "hook-module-clusters"
    module = (fixture / "modules" / "eks" / "main.tf").read_text(encoding="utf-8")
    for env in ("dev", "prod"):
        caller = (fixture / "envs" / env / "main.tf").read_text(encoding="utf-8")
        _write(
            in_tmp,
            {
                f"envs/{env}/main.tf": caller.replace(
                    "../../modules/eks", "git::https://example.com/eks.git"
                ),
                f"envs/{env}/rbac.yaml": (fixture / "envs" / env / "rbac.yaml").read_text(),
                f"envs/{env}/.terraform/modules/eks/main.tf": module,
                f"envs/{env}/.terraform/modules/modules.json": json.dumps(
                    {
                        "Modules": [
                            {"Key": "", "Source": "", "Dir": "."},
                            {
                                "Key": "eks",
                                "Source": "git::https://example.com/eks.git",
                                "Dir": ".terraform/modules/eks",
                            },
                        ]
                    }
                ),
            },
        )
    result = run(["."], select={"EKS801"})
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS801", "envs/dev/main.tf", 26)
    ]
    assert result.findings[0].message.endswith(
        "cluster-admin in cluster shop (envs/dev/.terraform/modules/eks/main.tf)"
    )
    assert {r.location.file for r in result.findings[0].related} == {
        "envs/dev/main.tf",
        "envs/dev/rbac.yaml",
    }


UNNAMED_ROOT = """variable "cluster_name" {
  type = string
}

variable "mode" {
  type = string
}

variable "admin_arn" {
  type = string
}

resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  role_arn = "arn:aws:iam::111122223333:role/cluster"

  access_config {
    authentication_mode                         = var.mode
    bootstrap_cluster_creator_admin_permissions = false
  }
}

resource "aws_eks_access_entry" "admin" {
  cluster_name      = aws_eks_cluster.this.name
  principal_arn     = var.admin_arn
  kubernetes_groups = ["ops"]
}
"""


def _unnamed_caller(env: str, mode: str) -> str:
    """An example that calls the root module with a cluster name it does not know, and maps
    its own role `ops-ENV` through the module's access entry."""
    return (
        'variable "name" {\n  type = string\n}\n\nmodule "eks" {\n  source       = "../.."\n'
        f'  cluster_name = var.name\n  mode         = "{mode}"\n'
        f"  admin_arn    = aws_iam_role.ops-{env}.arn\n}}\n\n" + _role(f"ops-{env}", _aws("*"))
    )


def test_module_clusters_of_unknown_name_are_one_cluster_per_calling_configuration(in_tmp):
    # as terraform-aws-eks's examples: each calls the root module (`../..`) with a name the
    # scan does not know; the module's own access entry belongs to its instance's cluster, and
    # the binding beside each example to that example's cluster: a (API) binds ops to
    # cluster-admin, b (API) to view, c binds cluster-admin but reads no access entry
    _write(in_tmp, {"main.tf": UNNAMED_ROOT})
    for env, mode, role in (("a", "API", "cluster-admin"), ("b", "API", "view"),
                            ("c", "CONFIG_MAP", "cluster-admin")):  # fmt: skip
        _write(
            in_tmp,
            {
                f"examples/{env}/main.tf": _unnamed_caller(env, mode),
                f"examples/{env}/rbac.yaml": _binding("ops", "ops", role),
            },
        )
    result = run([in_tmp], select={"EKS801"})
    cluster = "module.eks.aws_eks_cluster.this (main.tf via examples/{})"
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS801", "examples/a/main.tf", 15)
    ]
    assert result.skipped == []
    (finding,) = result.findings
    assert finding.message.endswith(f"cluster-admin in cluster {cluster.format('a')}")
    assert {r.location.file for r in finding.related} == {
        "examples/a/main.tf",
        "main.tf",
        "examples/a/rbac.yaml",
    }
    doc = _access_json(".")
    assert doc["clusters"] == [cluster.format(env) for env in "abc"]
    assert _paths_by_power(doc) == [
        (f"cluster-admin in cluster {cluster.format('a')}", "any AWS principal (not pinned: "
         "EKS401)", ["examples/a/main.tf:15", "main.tf:25", "main.tf:26",
         "examples/a/rbac.yaml:7", "examples/a/rbac.yaml:5", "examples/a/rbac.yaml:5"]),
        (f"view cluster-wide in cluster {cluster.format('b')}", "any AWS principal (not "
         "pinned: EKS401)", ["examples/b/main.tf:15", "main.tf:25", "main.tf:26",
         "examples/b/rbac.yaml:7", "examples/b/rbac.yaml:5", "examples/b/rbac.yaml:5"]),
    ]  # fmt: skip


def test_each_instance_of_a_module_in_one_configuration_holds_its_own_entries(monkeypatch):
    # envs/dev calls modules/eks twice: blue (API) and green (CONFIG_MAP), each a cluster of
    # a name not known with its own access entry and ClusterAdmin association, all in one
    # file: each entry is its own instance's (the call that makes both), green's unread
    monkeypatch.chdir(FIXTURES / "hook-module-instances")
    result = run(["."], select={"EKS801"})
    blue = "module.blue.aws_eks_cluster.this (modules/eks/main.tf)"
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS801", "envs/dev/main.tf", 26)
    ]
    assert result.skipped == []
    assert result.findings[0].message.endswith(f"to cluster-admin in cluster {blue}")
    doc = _access_json(".")
    assert doc["clusters"] == [blue, "module.green.aws_eks_cluster.this (modules/eks/main.tf)"]
    assert _paths_by_power(doc) == [
        (f"cluster-admin in cluster {blue}", "AWS: arn:aws:iam::111122223333:root "
         "(not pinned: EKS407)", ["envs/dev/main.tf:26", "modules/eks/main.tf:25",
         "modules/eks/main.tf:31"]),
    ]  # fmt: skip


def test_an_object_belongs_to_the_cluster_its_own_configuration_defines(in_tmp):
    # envs/dev calls a module that makes cluster `shop`; envs/dev/tools, another
    # configuration, defines cluster `tools` directly: the binding and the access entry
    # written in envs/dev are shop's (their configuration's), though tools' file is nearer
    # than the module's; the binding in envs/dev/tools is tools'
    _write(
        in_tmp,
        {
            "modules/eks/main.tf": _cluster("shop"),
            "envs/dev/main.tf": 'module "eks" {\n  source = "../../modules/eks"\n}\n'
            + _role("deploy", _aws("*"))
            + 'resource "aws_eks_access_entry" "deploy" {\n'
            "  cluster_name      = module.eks.cluster_name\n"
            "  principal_arn     = aws_iam_role.deploy.arn\n"
            '  kubernetes_groups = ["ops"]\n}\n',
            "envs/dev/rbac.yaml": _binding("ops", "ops", "view"),
            "envs/dev/tools/eks.tf": _cluster("tools"),
            "envs/dev/tools/rbac.yaml": _binding("ops", "ops"),
        },
    )
    doc = _access_json(".")
    assert sorted(doc["clusters"]) == ["shop", "tools"]
    assert _paths_by_power(doc) == [
        ("view cluster-wide in cluster shop", "any AWS principal (not pinned: EKS401)",
         ["envs/dev/main.tf:7", "envs/dev/main.tf:16", "envs/dev/main.tf:17",
          "envs/dev/rbac.yaml:7", "envs/dev/rbac.yaml:5", "envs/dev/rbac.yaml:5"]),
    ]  # fmt: skip
    result = run([in_tmp], select={"EKS801"})
    assert (result.findings, result.skipped) == ([], [])


def test_a_pods_token_holds_the_binding_of_its_own_environment_for_eks704(in_tmp):
    # the link stage's reading of the same two environments: only prod's pod mounts a token
    # that its binding makes cluster-admin (dev's binding of the same name gives view)
    for env, role in (("prod", "cluster-admin"), ("dev", "view")):
        files = _environment("ReadOnlyAccess")
        files["rbac.yaml"] = (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n"
            f"  name: worker\n  namespace: shop\nroleRef:\n  kind: ClusterRole\n  name: {role}\n"
            "  apiGroup: rbac.authorization.k8s.io\nsubjects:\n- kind: ServiceAccount\n"
            "  name: worker\n  namespace: shop\n"
        )
        _write(in_tmp, {f"envs/{env}/{name}": text for name, text in files.items()})
    result = run([in_tmp], select={"EKS704"})
    assert [(f.rule_id, f.location.file) for f in result.findings] == [
        ("EKS704", "envs/prod/k8s.yaml")
    ]
    capabilities = {
        e.location.file: e.fields["capabilities"]
        for e in result.entities
        if e.kind == "service_account"
    }
    assert capabilities["envs/dev/k8s.yaml"] == []
    assert capabilities["envs/prod/k8s.yaml"][0] == "cluster_admin"


def test_equally_near_copies_of_a_binding_are_one_binding_for_eks704(in_tmp):
    # one binding copied into two folders beside the pod's: the pod's ServiceAccount holds it
    # once (a binding is known by its key), and the message names it once
    binding = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
        "  name: ops\nroleRef:\n  kind: ClusterRole\n  name: edit\n"
        "  apiGroup: rbac.authorization.k8s.io\nsubjects:\n- kind: ServiceAccount\n"
        "  name: worker\n  namespace: shop\n"
    )
    pod = _environment("ReadOnlyAccess")["k8s.yaml"]
    _write(in_tmp, {"a/rbac.yaml": binding, "b/rbac.yaml": binding, "c/k8s.yaml": pod})
    result = run([in_tmp], select={"EKS704"})
    (finding,) = result.findings
    assert finding.message.count("ClusterRoleBinding ops:") == 1
    (workload,) = [e for e in result.entities if e.kind == "workload"]
    assert workload.links["token_bindings"] == ["k8s:ClusterRoleBinding/ops"]


def test_an_aws_auth_entry_written_in_terraform_signs_in_the_scanned_role_it_refers_to(in_tmp):
    # terraform-on-aws-eks' lessons map `rolearn = "${aws_iam_role.x.arn}"` in a
    # yamlencode()d aws-auth: the role is the scan's own, not a principal computed by AWS
    _write(
        in_tmp,
        {
            "iam.tf": _role("admins", _aws("arn:aws:iam::111122223333:root"))
            + _role("ops", _aws("arn:aws:iam::111122223333:root")),
            "auth.tf": (
                "locals {\n  roles = [\n"
                '    { rolearn = "${aws_iam_role.admins.arn}", username = "a",'
                ' groups = ["system:masters"] },\n'
                '    { rolearn = aws_iam_role.ops.arn, username = "o", groups = ["ops"] },\n'
                "  ]\n}\n"
                'resource "kubernetes_config_map_v1" "aws_auth" {\n'
                '  metadata {\n    name = "aws-auth"\n    namespace = "kube-system"\n  }\n'
                "  data = {\n    mapRoles = yamlencode(local.roles)\n  }\n}\n"
            ),
            "rbac.yaml": _binding("ops", "ops"),
        },
    )
    _, out, _ = cli("scan", ".", "--select", "EKS801", "--no-cache", "--format", "json")
    found = json.loads(out)
    assert [
        (f["location"]["file"], f["location"]["start_line"], f["message"].split(",")[0])
        for f in found["findings"]
    ] == [
        ("iam.tf", 4, "role admins trusts AWS: arn:aws:iam::111122223333:root (not pinned: [EKS407])"),
        ("iam.tf", 14, "role ops trusts AWS: arn:aws:iam::111122223333:root (not pinned: [EKS407])"),
    ]  # fmt: skip
    admins, ops = found["findings"]
    # an ARN written as a template refers to the account's data source, not to a principal
    (in_tmp / "auth.tf").write_text(
        (in_tmp / "auth.tf")
        .read_text(encoding="utf-8")
        .replace(
            "${aws_iam_role.admins.arn}",
            "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/x",
        ),
        encoding="utf-8",
    )
    refs = [
        e.fields["principal_ref"]
        for e in run([in_tmp], select={"EKS801"}).entities
        if e.kind == "identity_mapping"
    ]
    assert refs == [None, ".:aws_iam_role.ops"]
    assert [(h["location"]["file"], h["location"]["start_line"]) for h in admins["path"]] == [
        ("iam.tf", 4), ("auth.tf", 3), ("auth.tf", 3),
    ]  # fmt: skip
    assert [(h["location"]["file"], h["location"]["start_line"]) for h in ops["path"]] == [
        ("iam.tf", 14), ("auth.tf", 4), ("auth.tf", 4), ("rbac.yaml", 7), ("rbac.yaml", 5),
        ("rbac.yaml", 5),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "version", "roles_input", "extra"),
    [
        ("terraform-aws-modules/eks/aws", "~> 19.0", "aws_auth_roles", "  manage_aws_auth_configmap = true\n"),
        ("cloudposse/eks-cluster/aws", "2.9.0", "map_additional_iam_roles", ""),
    ],
)  # fmt: skip
def test_a_module_aws_auth_input_signs_in_the_scanned_role_it_refers_to(
    in_tmp, source, version, roles_input, extra
):
    _write(
        in_tmp,
        {
            "iam.tf": _role("admins", _aws("arn:aws:iam::111122223333:root")),
            "eks.tf": (
                f'module "eks" {{\n  source  = "{source}"\n  version = "{version}"\n{extra}'
                f"  {roles_input} = [\n"
                '    { rolearn = aws_iam_role.admins.arn, username = "a",'
                ' groups = ["system:masters"] },\n  ]\n}\n'
            ),
        },
    )
    result = run([in_tmp], select={"EKS801"})
    ((finding,),) = [result.findings]
    assert (finding.location.file, finding.location.start_line) == ("iam.tf", 4)
    entry = 6 if extra else 5
    assert [(h.location.file, h.location.start_line) for h in finding.path] == [
        ("iam.tf", 4), ("eks.tf", entry), ("eks.tf", entry),
    ]  # fmt: skip


def test_eks802_follows_an_irsa_annotation_that_refers_to_the_scanned_role(in_tmp):
    # terraform-on-aws-eks' IRSA lesson: the ServiceAccount is a Terraform resource whose
    # annotation is `aws_iam_role.x.arn`, and the role's name is not known before apply
    oidc = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB"
    trust = (
        f'{{\n      Effect = "Allow"\n      Principal = {{ Federated = "{oidc}" }}\n'
        '      Action = "sts:AssumeRoleWithWebIdentity"\n      Condition = { StringEquals = {\n'
        '        "oidc.eks.eu-west-1.amazonaws.com/id/AB:sub" = '
        '"system:serviceaccount:default:demo-sa"\n      } }\n    }'
    )
    _write(
        in_tmp,
        {
            "iam.tf": (
                'variable "prefix" {}\n'
                + _role("irsa", trust).replace('name = "irsa"', 'name = "${var.prefix}-irsa"')
                + _attach("irsa", "irsa", '"arn:aws:iam::aws:policy/AdministratorAccess"')
            ),
            "k8s.tf": (
                'resource "kubernetes_service_account_v1" "demo" {\n  metadata {\n'
                '    name = "demo-sa"\n    annotations = {\n'
                '      "eks.amazonaws.com/role-arn" = aws_iam_role.irsa.arn\n    }\n  }\n}\n'
                'resource "kubernetes_job_v1" "demo" {\n  metadata {\n    name = "demo"\n  }\n'
                "  spec {\n    template {\n      metadata {}\n      spec {\n"
                "        service_account_name = kubernetes_service_account_v1.demo.metadata.0.name\n"
                '        container {\n          name  = "cli"\n          image = "amazon/aws-cli"\n'
                "        }\n      }\n    }\n  }\n}\n"
            ),
        },
    )
    result = run([in_tmp], select={"EKS802"})
    assert result.skipped == []
    ((finding,),) = [result.findings]
    assert (finding.location.file, finding.location.start_line) == ("k8s.tf", 9)
    assert [(h.location.file, h.location.start_line) for h in finding.path] == [
        ("k8s.tf", 17), ("k8s.tf", 5), ("iam.tf", 15),
    ]  # fmt: skip


# ---- Kubernetes objects a module instance makes ----------------------------------------------
def test_a_binding_a_module_instance_makes_is_in_the_calling_configurations_cluster(monkeypatch):
    # envs/dev calls modules/rbac, whose ClusterRoleBinding binds group ops to cluster-admin;
    # modules/other defines another cluster, nearer the module's file than envs/dev's: the
    # binding is applied by dev's kubernetes provider, so it is shop-dev's, and dev's entry
    # leads from ops-dev through it
    monkeypatch.chdir(FIXTURES / "hook-module-bindings")
    result = run(["."], select={"EKS801"})
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS801", "envs/dev/main.tf", 22)
    ]
    assert result.skipped == []
    (finding,) = result.findings
    assert finding.message == (
        "role ops-dev trusts AWS: arn:aws:iam::111122223333:root (not pinned: [EKS407]), and a "
        "path leads from it to cluster-admin in cluster shop-dev"
    )
    doc = _access_json(".", "--show-unknown")
    assert doc["clusters"] == ["shop-dev", "other"]
    assert _paths_by_power(doc) == [
        ("cluster-admin in cluster other", "the identity that creates cluster other",
         ["modules/other/eks.tf:1"]),
        ("cluster-admin in cluster shop-dev", "AWS: arn:aws:iam::111122223333:root "
         "(not pinned: EKS407)", ["envs/dev/main.tf:22", "envs/dev/main.tf:32",
         "envs/dev/main.tf:33", "modules/rbac/main.tf:10", "modules/rbac/main.tf:5",
         "modules/rbac/main.tf:5"]),
        ("cluster-admin in cluster shop-dev", "the identity that creates cluster shop-dev",
         ["envs/dev/main.tf:1"]),
        ("AWS admin", "pod Deployment default/app", ["modules/rbac/main.tf:25",
         "envs/dev/main.tf:57", "envs/dev/main.tf:48"]),
    ]  # fmt: skip


def test_a_pod_a_module_instance_runs_gets_the_calling_configurations_pod_identity(monkeypatch):
    # the same module runs a Deployment as ServiceAccount default/app, which envs/dev's pod
    # identity association gives an admin role in shop-dev: the pod is shop-dev's too
    monkeypatch.chdir(FIXTURES / "hook-module-bindings")
    result = run(["."], select={"EKS802"})
    assert result.skipped == []
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS802", "modules/rbac/main.tf", 17)
    ]
    (finding,) = result.findings
    assert finding.message == "app: its pods get AWS admin as role app-dev"
    assert [(h.location.file, h.location.start_line, h.message) for h in finding.path] == [
        ("modules/rbac/main.tf", 25,
         "runs as ServiceAccount default/app in cluster shop-dev (token mounted)"),
        ("envs/dev/main.tf", 57, "a pod identity association gives it role app-dev"),
        ("envs/dev/main.tf", 48, "role app-dev may do in AWS: admin, iam_write, AdministratorAccess"),
    ]  # fmt: skip


AWS_AUTH_MODULE = """resource "kubernetes_config_map" "aws_auth" {
  metadata {
    name      = "aws-auth"
    namespace = "kube-system"
  }
  data = {
    mapRoles = yamlencode([{
      rolearn  = "arn:aws:iam::111122223333:role/ops-dev"
      username = "ops"
      groups   = ["system:masters"]
    }])
  }
}
"""


def test_an_aws_auth_entry_a_module_instance_writes_is_in_the_calling_configurations_cluster(
    in_tmp,
):
    # modules/auth writes aws-auth for envs/dev's cluster (which reads it); modules/other's
    # cluster, nearer the module's file, reads access entries only: the entry is dev's
    _write(
        in_tmp,
        {
            "envs/dev/main.tf": _cluster("shop-dev")
            + 'module "auth" {\n  source = "../../modules/auth"\n}\n'
            + _role("ops-dev", _aws("arn:aws:iam::111122223333:root")),
            "modules/auth/main.tf": AWS_AUTH_MODULE,
            "modules/other/eks.tf": _cluster("other").replace("API_AND_CONFIG_MAP", "API"),
        },
    )
    result = run([in_tmp], select={"EKS801"})
    assert result.skipped == []
    assert [(f.rule_id, f.location.file, f.location.start_line) for f in result.findings] == [
        ("EKS801", "envs/dev/main.tf", 14)
    ]
    assert result.findings[0].message == (
        "role ops-dev trusts AWS: arn:aws:iam::111122223333:root (not pinned: [EKS407]), and a "
        "path leads from it to cluster-admin in cluster shop-dev"
    )
    assert [(h.location.file, h.location.start_line, h.message) for h in result.findings[0].path] == [
        ("envs/dev/main.tf", 14, "role ops-dev trusts AWS: arn:aws:iam::111122223333:root"),
        ("modules/auth/main.tf", 8, "aws-auth mapRoles in cluster shop-dev signs in role ops-dev"),
        ("modules/auth/main.tf", 10, "maps to group system:masters, which bypasses RBAC"),
    ]  # fmt: skip


def test_kubernetes_objects_terraform_makes_carry_the_configuration_that_makes_them(in_tmp):
    # objects of a root configuration are its own; those of a module instance, local or
    # downloaded, the calling configuration's; manifests none (found by their folder)
    binding = (
        'resource "kubernetes_cluster_role_binding_v1" "{name}" {{\n'
        '  metadata {{\n    name = "{name}"\n  }}\n'
        '  role_ref {{\n    api_group = "rbac.authorization.k8s.io"\n'
        '    kind      = "ClusterRole"\n    name      = "view"\n  }}\n'
        '  subject {{\n    kind = "Group"\n    name = "ops"\n  }}\n}}\n'
    )
    manifest = (
        'resource "kubectl_manifest" "sa" {\n  yaml_body = <<-YAML\n'
        "    apiVersion: v1\n    kind: ServiceAccount\n    metadata:\n      name: tools\n"
        "    ---\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n"
        "      name: tools\n    spec:\n      template:\n        spec:\n"
        "          serviceAccountName: tools\n          containers:\n"
        "            - {name: tools, image: tools}\n  YAML\n}\n"
    )
    downloaded = "git::https://example.com/rbac.git"
    _write(
        in_tmp,
        {
            "envs/dev/main.tf": _cluster("shop-dev")
            + binding.format(name="root")
            + 'module "rbac" {\n  source = "../../modules/rbac"\n}\n'
            + f'module "fetched" {{\n  source = "{downloaded}"\n}}\n',
            "envs/dev/rbac.yaml": _binding("manifest", "ops"),
            "envs/dev/.terraform/modules/fetched/main.tf": binding.format(name="fetched"),
            "envs/dev/.terraform/modules/modules.json": json.dumps(
                {
                    "Modules": [
                        {"Key": "", "Source": "", "Dir": "."},
                        {
                            "Key": "fetched",
                            "Source": downloaded,
                            "Dir": ".terraform/modules/fetched",
                        },
                    ]
                }
            ),
            "modules/rbac/main.tf": binding.format(name="local") + manifest + AWS_AUTH_MODULE,
            "modules/other/eks.tf": _cluster("other"),
        },
    )
    code, out, err = cli("model", ".", "--no-cache")
    assert code == 0, err
    placed = sorted(
        (e["kind"], e["fields"].get("qualified_name") or e["fields"].get("username"),
         e["location"]["file"], e["fields"]["module_dir"], e["fields"]["call_path"])
        for e in json.loads(out)["entities"]
        if e["kind"] in ("rbac_binding", "service_account", "workload", "identity_mapping")
    )  # fmt: skip
    assert placed == [
        ("identity_mapping", "ops", "modules/rbac/main.tf", "envs/dev", "module.rbac"),
        ("rbac_binding", "fetched", "envs/dev/.terraform/modules/fetched/main.tf", "envs/dev",
         "module.fetched"),
        ("rbac_binding", "local", "modules/rbac/main.tf", "envs/dev", "module.rbac"),
        ("rbac_binding", "manifest", "envs/dev/rbac.yaml", None, None),
        ("rbac_binding", "root", "envs/dev/main.tf", "envs/dev", None),
        ("service_account", "default/tools", "modules/rbac/main.tf", "envs/dev", "module.rbac"),
        ("workload", "default/tools", "modules/rbac/main.tf", "envs/dev", "module.rbac"),
    ]  # fmt: skip
