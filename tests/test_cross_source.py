"""Findings that need two sources: evidence in every format, and silence with one side."""

from __future__ import annotations

import json
import shutil

from conftest import FIXTURES, cli, run

EKS701 = FIXTURES / "rules" / "EKS701"
EKS703 = FIXTURES / "rules" / "EKS703"


def _copy(src, dst, *names):
    for name in names:
        shutil.copy(src / name, dst / name)


def test_related_location_in_text_json_and_sarif(in_tmp):
    _copy(EKS703, in_tmp, "rbac.yaml", "fail.yaml")
    code, out, _ = cli("scan", ".", "--select", "EKS703", "--no-color")
    assert code == 1
    assert out == (
        "fail.yaml\n"
        "  fail.yaml:11  EKS703  high  aws-auth maps arn:aws:iam::111122223333:role/ci to "
        "group(s) [deployers], which a ClusterRoleBinding binds to cluster-admin\n"
        "      see rbac.yaml:1  ClusterRoleBinding deployers-admin binds cluster-admin to "
        "[Group deployers]\n"
        "\n"
        "1 finding (1 high) in 2 files scanned\n"
    )
    _, out, _ = cli("scan", ".", "--select", "EKS703", "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert finding["related"] == [
        {
            "location": {"file": "rbac.yaml", "start_line": 1, "end_line": 7},
            "message": "ClusterRoleBinding deployers-admin binds cluster-admin to [Group deployers]",
        }
    ]
    _, out, _ = cli("scan", ".", "--select", "EKS703", "--format", "sarif")
    (result,) = json.loads(out)["runs"][0]["results"]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"] == {
        "artifactLocation": {"uri": "rbac.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1, "endLine": 7},
    }
    assert related["message"]["text"].startswith("ClusterRoleBinding deployers-admin")


def test_irsa_mismatch_names_the_role_and_points_at_its_trust(in_tmp):
    _copy(EKS701, in_tmp, "roles.tf", "fail.yaml")
    _, out, _ = cli("scan", ".", "--select", "EKS701", "--format", "json")
    findings = json.loads(out)["findings"]
    first = findings[0]
    assert first["message"] == (
        "ServiceAccount shop/cart uses role catalog, whose trust policy does not admit "
        "system:serviceaccount:shop:cart: its pods get no AWS credentials, or the trust was "
        "written for someone else"
    )
    assert first["location"]["start_line"] == 8
    assert first["related"][0]["location"]["file"] == "roles.tf"
    assert first["related"][0]["location"]["start_line"] == 4


def test_one_side_of_a_link_gives_no_finding_and_no_error(in_tmp):
    _copy(EKS701, in_tmp, "fail.yaml")
    _copy(EKS703, in_tmp, "rbac.yaml")
    (in_tmp / "assoc.tf").write_text(
        'resource "aws_eks_pod_identity_association" "a" {\n  cluster_name = "c"\n'
        '  namespace = "n"\n  service_account = "s"\n  role_arn = aws_iam_role.gone.arn\n}\n'
    )
    code, out, err = cli("scan", ".", "--select", "EKS7", "--format", "json")
    doc = json.loads(out)
    assert (code, doc["findings"], doc["problems"], err) == (0, [], [], "")


def test_model_carries_links_by_entity_key(in_tmp):
    _copy(EKS701, in_tmp, "roles.tf", "pass.yaml")
    _, out, _ = cli("model", ".")
    entities = {e["key"]: e for e in json.loads(out)["entities"]}
    sa = entities["k8s:shop/ServiceAccount/catalog"]
    assert sa["links"]["irsa_role_trust"] == [
        "terraform:roles.tf:aws_iam_role.catalog/statement[0]"
    ]
    assert sa["fields"]["irsa_trust_admits"] is True
    assert "terraform:roles.tf:aws_iam_role.catalog/statement[0]" in entities


GROUPS_NOT_KNOWN = """variable "groups" {
  type = list(string)
}
variable "extra" {
  type = list(string)
}
variable "one" {
  type = string
}

resource "aws_eks_access_entry" "whole" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/whole"
  kubernetes_groups = var.groups
}

resource "aws_eks_access_entry" "partial" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/partial"
  kubernetes_groups = concat(["viewers"], var.extra)
}

resource "aws_eks_access_entry" "partial_admin" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/partial-admin"
  kubernetes_groups = concat(["viewers", "deployers"], var.extra)
}

resource "aws_eks_access_entry" "item" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/item"
  kubernetes_groups = ["viewers", var.one]
}

resource "aws_eks_access_entry" "each_named" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/each-named"
  kubernetes_groups = [for g in var.extra : "team-${g}"]
}

resource "aws_eks_access_entry" "each_viewer" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/each-viewer"
  kubernetes_groups = [for g in var.extra : "viewers"]
}

resource "aws_eks_access_entry" "each_deployer" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/each-deployer"
  kubernetes_groups = [for g in var.extra : "deployers"]
}

resource "aws_eks_access_entry" "known" {
  cluster_name      = "shop"
  principal_arn     = "arn:aws:iam::111122223333:role/known"
  kubernetes_groups = ["viewers"]
}
"""
# no group bound to cluster-admin: a Group bound to `view`, cluster-admin in one namespace,
# and `system:masters` (EKS501's, as a live cluster's own binding names it)
NO_ADMIN_GROUP = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployers-view
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
  - {kind: Group, name: deployers}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: shop-admins
  namespace: shop
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: Group, name: deployers}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: cluster-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: Group, name: system:masters}
"""


def _eks703(result) -> tuple[list, list]:
    findings = [
        (f.rule_id, f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.message)
        for f in result.findings
    ]
    skipped = sorted(
        (s.rule_id, s.location.file.rsplit("/", 1)[-1], s.location.start_line, s.reasons)
        for s in result.skipped
    )
    return findings, skipped


def test_access_entry_groups_not_known_leave_eks703_undecided(tmp_path):
    """`kubernetes_groups` not known, or partly known with no known group bound: the entry
    may map to the group a scanned ClusterRoleBinding makes cluster-admin, so EKS703 is
    undecided with the reason the groups are not known; a known group that is bound fires
    as a list of known groups does, at the groups and pointing at the binding."""
    (tmp_path / "entries.tf").write_text(GROUPS_NOT_KNOWN)
    shutil.copy(EKS703 / "rbac.yaml", tmp_path / "rbac.yaml")
    result = run([tmp_path], select={"EKS703"})
    findings, skipped = _eks703(result)
    assert findings == [
        (
            "EKS703",
            "entries.tf",
            26,
            "access_entry maps arn:aws:iam::111122223333:role/partial-admin to group(s) "
            "[deployers], which a ClusterRoleBinding binds to cluster-admin",
        )
    ]
    (finding,) = result.findings
    assert [
        (r.location.file.rsplit("/", 1)[-1], r.location.start_line, r.message)
        for r in finding.related
    ] == [
        (
            "rbac.yaml",
            1,
            "ClusterRoleBinding deployers-admin binds cluster-admin to [Group deployers]",
        )
    ]
    assert skipped == [
        ("EKS703", "entries.tf", 11, ["var.groups has no default"]),
        ("EKS703", "entries.tf", 17, ["var.extra has no default"]),
        ("EKS703", "entries.tf", 29, ["var.one has no default"]),
        ("EKS703", "entries.tf", 35, ["var.extra has no default"]),
        ("EKS703", "entries.tf", 47, ["var.extra has no default"]),
    ]


def test_groups_not_known_are_eks703_false_where_no_group_is_cluster_admin(tmp_path):
    """No scanned ClusterRoleBinding binds a group other than `system:masters` to
    cluster-admin: whatever groups a mapping turns out to have, none is one a scanned binding
    makes cluster-admin, so EKS703 is false, not undecided."""
    (tmp_path / "entries.tf").write_text(GROUPS_NOT_KNOWN)
    (tmp_path / "rbac.yaml").write_text(NO_ADMIN_GROUP)
    result = run([tmp_path], select={"EKS703"})
    assert _eks703(result) == ([], [])
    (tmp_path / "rbac.yaml").unlink()
    assert _eks703(run([tmp_path], select={"EKS703"})) == ([], [])


AWS_AUTH_TF = """variable "roles" {
  type = any
}
variable "admin_groups" {
  type = list(string)
}

resource "kubernetes_config_map_v1_data" "aws_auth" {
  metadata {
    name      = "aws-auth"
    namespace = "kube-system"
  }
  data = {
    mapRoles = yamlencode(concat([
      {
        rolearn  = "arn:aws:iam::111122223333:role/partly"
        username = "partly"
        groups   = concat(["deployers"], var.admin_groups)
      },
      {
        rolearn  = "arn:aws:iam::111122223333:role/unknown"
        username = "unknown"
        groups   = var.admin_groups
      },
    ], [for r in var.roles : { rolearn = r.arn, username = "team", groups = r.groups }]))
    mapUsers = yamlencode([{
      userarn  = "arn:aws:iam::111122223333:user/viewer"
      username = "viewer"
      groups   = concat(["viewers"], var.admin_groups)
    }])
  }
}
"""


def test_aws_auth_groups_not_known_leave_eks703_undecided(tmp_path):
    """aws-auth written by Terraform: an entry's groups not known, partly known, or an entry
    built from a value not known (`for r in var.roles`) leave EKS703 undecided; a known group
    that is bound fires. A plain YAML aws-auth in the same tree is judged as before."""
    (tmp_path / "auth.tf").write_text(AWS_AUTH_TF)
    shutil.copy(EKS703 / "rbac.yaml", tmp_path / "rbac.yaml")
    shutil.copy(EKS703 / "fail.yaml", tmp_path / "fail.yaml")
    shutil.copy(EKS703 / "pass.yaml", tmp_path / "pass.yaml")
    findings, skipped = _eks703(run([tmp_path], select={"EKS703"}))
    assert findings == [
        (
            "EKS703",
            "auth.tf",
            18,
            "aws-auth maps arn:aws:iam::111122223333:role/partly to group(s) [deployers], "
            "which a ClusterRoleBinding binds to cluster-admin",
        ),
        (
            "EKS703",
            "fail.yaml",
            11,
            "aws-auth maps arn:aws:iam::111122223333:role/ci to group(s) [deployers], "
            "which a ClusterRoleBinding binds to cluster-admin",
        ),
    ]
    assert skipped == [
        ("EKS703", "auth.tf", 14, ["var.roles has no default"]),
        ("EKS703", "auth.tf", 20, ["var.admin_groups has no default"]),
        ("EKS703", "auth.tf", 26, ["var.admin_groups has no default"]),
    ]
    (tmp_path / "rbac.yaml").write_text(NO_ADMIN_GROUP)
    assert _eks703(run([tmp_path], select={"EKS703"})) == ([], [])
