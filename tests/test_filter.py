"""Suppressions with accountability, and baselines for pull-request gates."""

from __future__ import annotations

import json

import pytest

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
    code, _, err = cli("scan", ".", "--write-baseline", "baseline.json")
    assert code == 0  # writing a baseline, once on main, is not a failed gate
    assert err == "eks-checks: wrote 1 finding and 0 suppressed findings to baseline.json\n"
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


def test_a_suppression_names_a_rule_by_id_or_slug_and_a_typo_is_a_note(in_tmp):
    (in_tmp / "lt.tf").write_text(
        'resource "aws_launch_template" "gpu" {\n'
        "  metadata_options {\n"
        '    http_tokens = "required"\n'
        "    # eks-checks: ignore[imds-hop-limit-above-one] the GPU operator reads IMDS\n"
        "    http_put_response_hop_limit = 2\n"
        "  }\n"
        "}\n"
        'resource "aws_launch_template" "b" {\n'
        "  metadata_options {\n"
        "    # eks-checks: ignore[EKS2] every IMDS rule\n"
        "    # eks-checks: ignore[eks999, EKS201 x] typos\n"
        '    http_tokens = "optional"\n'
        "  }\n"
        "}\n"
    )
    (in_tmp / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        '    eks-checks.io/ignore: "EKS3O2: typo; EKS305 no colon; pod-automounts-token: reviewed"\n'
        "spec:\n  containers: []\n"
    )
    code, out, _ = cli("scan", ".", "--no-color")
    assert code == 1
    assert out == (
        "lt.tf\n"
        "  lt.tf:10  note  suppression of 'EKS2': a prefix, not a rule (name each rule by its id or slug)\n"
        "  lt.tf:11  note  suppression of 'EKS201 x': not a rule id or slug\n"
        "  lt.tf:11  note  suppression of 'eks999': no such rule (see `eks-checks rules`)\n"
        "  lt.tf:12  EKS201  high  aws_launch_template.b has http_tokens = optional: IMDSv1 hands "
        "out the node role's credentials to any request\n"
        "\n"
        "pod.yaml\n"
        "  pod.yaml:6  note  eks-checks.io/ignore of 'EKS305 no colon': not `ID: reason; ID: reason`\n"
        "  pod.yaml:6  note  eks-checks.io/ignore of 'EKS3O2': no such rule (see `eks-checks rules`)\n"
        "\n"
        "1 finding (1 high) in 2 files scanned; 2 suppressed; 5 notes\n"
    )
    # a rule left out by --select is still a rule: naming it is no typo
    code, out, _ = cli("scan", "lt.tf", "--select", "EKS201", "--no-color")
    assert "imds-hop-limit-above-one" not in out and out.count("  note  ") == 3


def test_a_configured_suppression_without_a_reason_is_a_note_like_a_comment(in_tmp):
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
    (in_tmp / ".eks-checks.yaml").write_text(
        "suppress:\n  - paths: ['legacy/*.json']\n    rules: [account-root-trust-unconditioned, EKS4O7]\n"
    )
    code, out, _ = cli("scan", ".", "--no-color")
    assert code == 1
    assert out.splitlines()[:4] == [
        ".eks-checks.yaml",
        "  .eks-checks.yaml  note  configured suppression $.suppress[0] of 'EKS4O7': no such rule "
        "(see `eks-checks rules`)",
        "  .eks-checks.yaml  note  configured suppression $.suppress[0] of EKS407 has no reason "
        "and is ignored",
        "",
    ]
    assert out.splitlines()[-1] == "1 finding (1 medium) in 1 file scanned; 2 notes"


def test_no_inline_suppressions_ignores_comments_and_annotations_not_the_configuration(in_tmp):
    _tf(in_tmp, "    # eks-checks: ignore[EKS202] GPU operator reads IMDS from a pod\n")
    (in_tmp / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        '    eks-checks.io/ignore: "EKS301: elects a leader"\n'
        "spec:\n  containers: []\n"
    )
    assert cli("scan", ".", "--no-color")[1].endswith("; 2 suppressed\n")
    code, out, _ = cli("scan", ".", "--no-color", "--no-inline-suppressions")
    assert code == 1
    assert out.splitlines()[-1] == "2 findings (1 high, 1 medium) in 2 files scanned"
    (in_tmp / ".eks-checks.yaml").write_text(
        "suppress:\n  - paths: ['*.tf']\n    rules: [EKS202]\n    reason: reviewed by the audit\n"
    )
    code, out, _ = cli("scan", ".", "--no-color", "--no-inline-suppressions")
    assert out.splitlines()[-1] == "1 finding (1 medium) in 2 files scanned; 1 suppressed"


def _hop(tmp, name: str = "a") -> str:
    return (
        f'resource "aws_launch_template" "{name}" {{\n  metadata_options {{\n'
        '    http_tokens = "required"\n    http_put_response_hop_limit = 2\n  }\n}\n'
    )


def test_a_baseline_matches_from_any_working_directory(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    (repo / ".git").mkdir()  # the repository root
    (repo / "infra" / "lt.tf").write_text(_hop(repo))
    monkeypatch.chdir(repo)
    assert cli("scan", ".", "--write-baseline", "baseline.json")[0] == 0
    doc = json.loads((repo / "baseline.json").read_text())
    assert doc["paths"] == "repository"
    (entry,) = doc["findings"]
    assert (entry["file"], entry["entity_key"]) == (
        "infra/lt.tf",
        "terraform:infra/lt.tf:aws_launch_template.a",
    )
    for cwd, target, baseline, files in (
        (tmp_path, "repo", "repo/baseline.json", "2 files"),  # the baseline is JSON too
        (repo / "infra", ".", "../baseline.json", "1 file"),
        (repo / "infra", "lt.tf", "../baseline.json", "1 file"),
    ):
        monkeypatch.chdir(cwd)
        code, out, _ = cli("scan", target, "--baseline", baseline, "--no-color")
        assert (code, out) == (0, f"0 findings in {files} scanned; 1 in the baseline\n"), cwd


def test_an_older_baseline_still_matches_from_where_it_was_written(in_tmp):
    (in_tmp / "lt.tf").write_text(_hop(in_tmp))
    _, out, _ = cli("scan", ".", "--format", "json")
    (finding,) = json.loads(out)["findings"]
    older = {
        "version": 1,
        "kind": "eks-checks-baseline",
        "findings": [{k: finding[k] for k in ("rule_id", "entity_key", "fingerprint")}],
    }
    (in_tmp / "old.json").write_text(json.dumps(older))
    code, out, _ = cli("scan", ".", "--baseline", "old.json", "--no-color")
    assert code == 0
    assert out == (
        "old.json\n"
        "  old.json  note  a baseline written by an earlier eks-checks, with paths relative to "
        "the working directory it was written in: it matches only from there; write it again "
        "with --write-baseline to match from anywhere\n"
        "\n"
        "0 findings in 2 files scanned; 1 in the baseline; 1 note\n"
    )


def test_a_suppression_the_baseline_does_not_hold_is_listed_as_added_by_the_change(in_tmp):
    _tf(in_tmp, "    # eks-checks: ignore[EKS202] GPU operator reads IMDS from a pod\n")
    with open(in_tmp / "lt.tf", "a") as fh:
        fh.write(_hop(in_tmp, "b"))
    assert cli("scan", ".", "--write-baseline", "main.json", "--exit-zero")[0] == 0
    doc = json.loads((in_tmp / "main.json").read_text())
    assert [(s["rule_id"], s["reason"]) for s in doc["suppressions"]] == [
        ("EKS202", "GPU operator reads IMDS from a pod")
    ]
    assert [f["entity_key"] for f in doc["findings"]] == ["terraform:lt.tf:aws_launch_template.b"]
    # the pull request silences the known finding of b and adds a new one, suppressed too
    text = (
        (in_tmp / "lt.tf")
        .read_text()
        .replace(
            'resource "aws_launch_template" "b"',
            '# eks-checks: ignore[EKS202] not now\nresource "aws_launch_template" "b"',
        )
    )
    text += "# eks-checks: ignore[EKS202] later\n" + _hop(in_tmp, "c")
    (in_tmp / "lt.tf").write_text(text)
    code, out, _ = cli("scan", ".", "--baseline", "main.json", "--no-color")
    assert code == 0
    assert out == (
        "suppressed by this change (the baseline does not hold these suppressions):\n"
        "  lt.tf:12  EKS202  high  aws_launch_template.b sets http_put_response_hop_limit = 2 "
        "(more than 1): pods can reach the node role's credentials  (reason: not now)\n"
        "  lt.tf:19  EKS202  high  aws_launch_template.c sets http_put_response_hop_limit = 2 "
        "(more than 1): pods can reach the node role's credentials  (reason: later)\n"
        "\n"
        "0 findings in 2 files scanned; 3 suppressed (2 by this change)\n"
    )
    _, out, _ = cli("scan", ".", "--baseline", "main.json", "--format", "json")
    doc = json.loads(out)
    assert [
        (f["entity_key"].rsplit(".", 1)[1], f["suppressed"].get("by_this_change", False))
        for f in doc["findings"]
    ] == [("gpu", False), ("b", True), ("c", True)]
    assert doc["summary"]["suppressed_by_this_change"] == 2
    _, out, _ = cli("scan", ".", "--baseline", "main.json", "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert [r["properties"].get("suppressedByThisChange", False) for r in results] == [
        False,
        True,
        True,
    ]
    _, out, _ = cli("scan", ".", "--baseline", "main.json", "--format", "github")
    assert out.count("::notice file=lt.tf,line=") == 2
    assert "title=EKS202 suppressed by this change::aws_launch_template.c sets" in out
    _, out, _ = cli("scan", ".", "--baseline", "main.json", "--format", "junit")
    assert '<testsuite name="suppressed by this change" tests="2"' in out


def _binding(annotation: str = "", lead: str = "") -> str:
    annotations = f"  annotations:\n    eks-checks.io/ignore: {annotation}\n" if annotation else ""
    return (
        f"{lead}apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
        f"  name: cert-reader\n{annotations}"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n"
        "subjects:\n  - {kind: User, name: alice}\n"
    )


@pytest.mark.parametrize("ignored", ["dev", "prod"])
def test_an_annotation_suppresses_its_own_copy_of_an_object_only(in_tmp, ignored):
    # one binding written in two environment folders (one key): the ignore annotation of one
    # copy is no suppression of the other, whichever comes first in the scan
    for env in ("dev", "prod"):
        text = _binding('"EKS605: accepted here"' if env == ignored else "", "# env\n" * 3)
        (in_tmp / env).mkdir()
        (in_tmp / env / "rbac.yaml").write_text(text)
    code, out, _ = cli("scan", "--format", "json", "--select", "EKS605", ".")
    found = {
        f["location"]["file"]: f.get("suppressed", {}).get("reason")
        for f in json.loads(out)["findings"]
    }
    other = "prod" if ignored == "dev" else "dev"
    assert found == {f"{ignored}/rbac.yaml": "accepted here", f"{other}/rbac.yaml": None}
    assert code == 1


def test_a_comment_suppresses_its_own_copy_of_an_object_only(in_tmp):
    # the comment above dev's binding suppresses dev's finding: the line of the object whose
    # finding it is decides, not the line of another copy (prod's is three lines lower)
    (in_tmp / "dev").mkdir()
    (in_tmp / "prod").mkdir()
    (in_tmp / "dev" / "rbac.yaml").write_text(
        "# eks-checks: ignore[EKS605] dev only\n" + _binding()
    )
    (in_tmp / "prod" / "rbac.yaml").write_text("# env\n" * 3 + _binding())
    code, out, _ = cli("scan", "--format", "json", "--select", "EKS605", ".")
    found = {
        f["location"]["file"]: f.get("suppressed", {}).get("reason")
        for f in json.loads(out)["findings"]
    }
    assert found == {"dev/rbac.yaml": "dev only", "prod/rbac.yaml": None}
    assert code == 1
