"""Findings that need two sources: evidence in every format, and silence with one side."""

from __future__ import annotations

import json
import shutil

from conftest import FIXTURES, cli

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
