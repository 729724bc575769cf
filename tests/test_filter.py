"""Suppressions with accountability, and baselines for pull-request gates."""

from __future__ import annotations

import json

from conftest import cli

HOP = (
    'resource "aws_launch_template" "gpu" {\n'
    "  metadata_options {\n"
    '    http_tokens = "required"\n'
    "{comment}"
    "    http_put_response_hop_limit = 2\n"
    "  }\n"
    "}\n"
)


def _tf(tmp, comment: str) -> None:
    (tmp / "lt.tf").write_text(HOP.replace("{comment}", comment))


def test_inline_comment_suppresses_with_reason_and_is_counted(in_tmp):
    _tf(in_tmp, "    # eks-checks: ignore[EKS202] GPU operator reads IMDS from a pod\n")
    code, out, _ = cli("scan", ".", "--no-color")
    assert code == 0
    assert out == "0 findings in 1 file scanned; 1 suppressed\n"
    _, out, _ = cli("scan", ".", "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert finding["suppressed"] == {"reason": "GPU operator reads IMDS from a pod"}
    _, out, _ = cli("scan", ".", "--format", "sarif")
    (result,) = json.loads(out)["runs"][0]["results"]
    assert result["suppressions"] == [
        {"kind": "inSource", "justification": "GPU operator reads IMDS from a pod"}
    ]


def test_comment_above_the_block_suppresses(in_tmp):
    (in_tmp / "c.tf").write_text(
        "# eks-checks: ignore[EKS101,EKS102] public on purpose: demo cluster\n"
        "# (a second comment line between is fine)\n"
        'resource "aws_eks_cluster" "demo" {\n'
        '  name = "demo"\n'
        "  vpc_config {\n"
        "    endpoint_public_access = true\n"
        "  }\n"
        "}\n"
    )
    _, out, _ = cli("scan", ".", "--select", "EKS101,EKS102", "--format", "json")
    doc = json.loads(out)
    assert [(f["rule_id"], f["suppressed"]["reason"]) for f in doc["findings"]] == [
        ("EKS101", "public on purpose: demo cluster"),
        ("EKS102", "public on purpose: demo cluster"),
    ]
    assert doc["summary"]["findings"] == 0 and doc["summary"]["suppressed"] == 2


def test_suppression_needs_a_reason(in_tmp):
    _tf(in_tmp, "    # eks-checks: ignore[EKS202]\n")
    code, out, _ = cli("scan", ".", "--no-color")
    assert code == 1
    assert "  lt.tf:4  note  suppression of EKS202 has no reason and is ignored" in out
    assert "  lt.tf:5  EKS202  high" in out


def test_expired_suppression_returns_the_finding(in_tmp):
    _tf(in_tmp, "    # eks-checks: ignore[EKS202] until the GPU driver update until=2020-01-31\n")
    code, out, _ = cli("scan", ".", "--no-color")
    assert code == 1
    assert "  lt.tf:4  note  suppression of EKS202 expired on 2020-01-31" in out
    _tf(in_tmp, "    # eks-checks: ignore[EKS202] until the GPU driver update until=2999-01-31\n")
    assert cli("scan", ".")[0] == 0


def test_wrong_rule_id_does_not_suppress(in_tmp):
    _tf(in_tmp, "    # eks-checks: ignore[EKS201] not this one\n")
    assert cli("scan", ".")[0] == 1


def test_kubernetes_annotation_suppresses(in_tmp):
    (in_tmp / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: legacy\n  annotations:\n"
        '    eks-checks.io/ignore: "EKS301: talks to the API to elect a leader"\n'
        "spec:\n  containers: []\n"
    )
    code, out, _ = cli("scan", ".", "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert code == 0
    assert (finding["rule_id"], finding["suppressed"]["reason"]) == (
        "EKS301",
        "talks to the API to elect a leader",
    )


def test_yaml_comment_suppresses_an_aws_auth_entry(in_tmp):
    (in_tmp / "aws-auth.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n"
        "data:\n  mapUsers: |\n"
        "    # eks-checks: ignore[EKS502] legacy CI user, removal tracked in OPS-12\n"
        "    - userarn: arn:aws:iam::111122223333:user/ci\n"
        "      groups: [deployers]\n"
    )
    assert cli("scan", ".", "--select", "EKS502")[0] == 0


def test_config_path_suppression_for_json(in_tmp):
    (in_tmp / "legacy").mkdir()
    (in_tmp / "legacy" / "role.json").write_text(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                    }
                ]
            }
        )
    )
    assert cli("scan", ".")[0] == 1
    (in_tmp / ".eks-checks.yaml").write_text(
        "suppress:\n  - paths: ['legacy/*.json']\n    rules: [EKS407]\n"
        "    reason: vendor account, reviewed 2026-10\n    until: 2999-12-31\n"
    )
    code, out, _ = cli("scan", ".", "--no-color")
    assert (code, out) == (0, "0 findings in 1 file scanned; 1 suppressed\n")


def test_baseline_fails_only_on_new_findings(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "a" {\n  metadata_options {\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
    )
    code, _, _ = cli("scan", ".", "--write-baseline", "baseline.json")
    assert code == 1
    baseline = json.loads((in_tmp / "baseline.json").read_text())
    assert [f["rule_id"] for f in baseline["findings"]] == ["EKS202"]
    # unrelated lines move: still the same finding
    (in_tmp / "lt.tf").write_text("# launch templates\n\n" + (in_tmp / "lt.tf").read_text())
    code, out, _ = cli("scan", ".", "--baseline", "baseline.json", "--no-color")
    assert (code, out) == (0, "0 findings in 2 files scanned; 1 in the baseline\n")
    # a new finding is reported and fails
    with open(in_tmp / "lt.tf", "a") as fh:
        fh.write(
            'resource "aws_launch_template" "b" {\n  metadata_options {\n'
            '    http_tokens = "optional"\n  }\n}\n'
        )
    code, out, _ = cli("scan", ".", "--baseline", "baseline.json", "--no-color")
    assert code == 1
    assert "aws_launch_template.b" in out and "aws_launch_template.a" not in out
    # a JSON report works as a baseline too
    cli("scan", ".", "--format", "json", "--output", "report.json")
    assert cli("scan", ".", "--baseline", "report.json")[0] == 0
    (in_tmp / "bad.json").write_text("{}")
    code, _, err = cli("scan", "lt.tf", "--baseline", "bad.json")
    assert code == 2 and "not an eks-checks baseline" in err
