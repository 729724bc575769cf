"""Files that are not ours (Helm and Terraform templates, YAML with CloudFormation's tags that is
no template, other YAML and JSON)
are named as skipped with the reason and never fail the gate; a file that looks like our
input and fails to parse is still an error; --strict makes every unparseable file an error."""

from __future__ import annotations

import json

import pytest

from conftest import cli

# CloudFormation's tags in YAML that is no template (its resources have no Type): not ours
CFN = "Resources:\n  Role:\n    Properties:\n      RoleName: !Sub '${AWS::StackName}-role'\n"
HELM = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Values.name }}\n  labels: {{- toYaml .Values.labels | nindent 4 }}\n"
# a template fragment; one that holds apiVersion/kind is a manifest, an error (tests/test_gate.py)
TFTPL = "roles:\n%{ for r in roles ~}\n  - ${r}\n%{ endfor ~}\n"


def _problems(out: str) -> list[tuple]:
    return [(p["file"], p["level"], p["message"]) for p in json.loads(out)["problems"]]


def test_files_that_are_not_ours_are_skipped_with_the_reason(in_tmp):
    (in_tmp / "cfn.yaml").write_text(CFN)
    chart = in_tmp / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 1.0.0\n")
    (chart / "templates" / "sa.yaml").write_text(HELM)
    (in_tmp / "aws-auth.yaml.tftpl.yaml").write_text(TFTPL)
    (in_tmp / "mkdocs.yml").write_text("nav:\n  - [unclosed\n")
    (in_tmp / "tsconfig.json").write_text('{"compilerOptions": {,}}')
    code, out, _ = cli("scan", ".", "--format", "json")
    assert code == 0
    problems = sorted(_problems(out))
    tftpl = problems.pop(0)  # libyaml's own words differ between versions
    assert tftpl[:2] == ("aws-auth.yaml.tftpl.yaml", "note")
    assert tftpl[2].startswith("skipped: Terraform template file (invalid YAML: ")
    assert problems == [
        ("cfn.yaml", "note", "skipped: CloudFormation template (unsupported YAML tag !Sub)"),
        (
            "charts/app/templates/sa.yaml",
            "note",
            "skipped: Helm chart template (Helm renders it; not read)",
        ),
        (
            "mkdocs.yml",
            "note",
            "skipped: YAML that is neither a Kubernetes manifest nor aws-auth (invalid YAML: "
            "did not find expected ',' or ']')",
        ),
        (
            "tsconfig.json",
            "note",
            "skipped: JSON that is neither an IAM policy nor a Kubernetes manifest "
            "(invalid JSON: Expecting property name enclosed in double quotes)",
        ),
    ]
    code, out, _ = cli("scan", ".", "--no-color")
    assert out.endswith("0 findings in 6 files scanned; 5 skipped\n")
    # SARIF: notes, and the run still counts as successful
    _, out, _ = cli("scan", ".", "--format", "sarif")
    invocation = json.loads(out)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert {n["level"] for n in invocation["toolExecutionNotifications"]} == {"note"}
    # --strict: every unparseable file is an error
    code, out, _ = cli("scan", ".", "--format", "json", "--strict")
    assert code == 2
    assert {level for _, level, _ in _problems(out)} == {"error"}


def test_our_input_that_fails_to_parse_is_still_an_error(in_tmp):
    (in_tmp / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nspec: [\n")
    (in_tmp / "trust.json").write_text('{"Statement": [}')
    (in_tmp / "main.tf").write_text('resource "a" "b" {\n')
    code, out, _ = cli("scan", ".", "--format", "json")
    assert code == 2
    assert {(f, level) for f, level, _ in _problems(out)} == {
        ("deploy.yaml", "error"),
        ("trust.json", "error"),
        ("main.tf", "error"),
    }


# ---- files over the size limit: judged by their head ---------------------------------------
SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n"
    "type: kubernetes.io/service-account-token\n"
)


def test_a_large_file_that_is_not_ours_is_a_note_and_hides_no_finding(in_tmp):
    """A 6 MB package-lock.json beside a manifest with a finding: exit 1, not 2."""
    lock = {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            f"node_modules/pkg-{i}": {"version": "1.0.0", "integrity": "sha512-" + "A" * 86}
            for i in range(45_000)
        },
    }
    (in_tmp / "package-lock.json").write_text(json.dumps(lock, indent=2))
    size = (in_tmp / "package-lock.json").stat().st_size
    assert size > 6_000_000
    (in_tmp / "token.yaml").write_text(SECRET)
    code, out, _ = cli("scan", ".", "--format", "json")
    assert code == 1
    assert [f["rule_id"] for f in json.loads(out)["findings"]] == ["EKS303"]
    assert _problems(out) == [
        (
            "package-lock.json",
            "note",
            "skipped: JSON that is neither an IAM policy nor a Kubernetes manifest "
            f"({size} bytes is over the 5000000-byte limit, --max-file-size)",
        )
    ]
    # --strict: every file that cannot be read whole is an error
    code, out, _ = cli("scan", ".", "--format", "json", "--strict")
    assert code == 2
    assert _problems(out) == [
        (
            "package-lock.json",
            "error",
            f"skipped: {size} bytes is over the 5000000-byte limit (--max-file-size)",
        )
    ]


PADDING = "#" * 80 + "\n"  # what follows the head: never read


@pytest.mark.parametrize(
    "name, head",
    [
        ("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n"),
        ("aws-auth.yaml", "data:\n  mapRoles: |\n    - rolearn: x\n"),
        ("list.json", '{\n  "apiVersion": "v1",\n  "items": [\n'),
        ("trust.json", '{"Version": "2012-10-17", "Statement": [\n'),
        ("role.json", '{\n  "Role": {\n    "RoleName": "x",\n'),
        ("plan.json", '{"format_version": "1.2", "planned_values": {\n'),
        ("main.tf", 'resource "aws_eks_cluster" "main" {\n'),
        ("locals.tf", "# generated\nlocals {\n"),
        ("terraform.tfvars", "cidrs = [\n"),
        ("x.auto.tfvars.json", '{\n  "cidrs": [\n'),
        ("stack.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"),
        ("cdk.template.json", '{\n "Resources": {\n  "C": {\n   "Type": "AWS::EKS::Cluster",\n'),
    ],
)
def test_a_large_file_that_looks_like_ours_is_an_error(in_tmp, name, head):
    (in_tmp / name).write_text(head + PADDING * 1000)
    size = (in_tmp / name).stat().st_size
    code, out, _ = cli("scan", ".", "--format", "json", "--max-file-size", "1000")
    assert code == 2
    assert _problems(out) == [
        (name, "error", f"skipped: {size} bytes is over the 1000-byte limit (--max-file-size)")
    ]


@pytest.mark.parametrize(
    "name, head, what",
    [
        (
            "values.yaml",
            "replicaCount: 2\nimage:\n",
            "YAML that is neither a Kubernetes manifest nor aws-auth",
        ),
        ("stack.yaml", "Resources:\n  R: !Ref X\n", "CloudFormation template"),
        ("template.yaml", "name: {{ .Values.name }}\n", "Go or Helm template"),
        (
            "package.json",
            '{\n  "name": "app",\n  "dependencies": {\n',
            "JSON that is neither an IAM policy nor a Kubernetes manifest",
        ),
        ("dashboard.json", '{"title": "${DS}",\n', "template file"),
        ("generated.tf", "# generated, no block yet\n", "a .tf file with no Terraform block"),
    ],
)
def test_a_large_file_that_is_not_ours_is_a_note_naming_it(in_tmp, name, head, what):
    (in_tmp / name).write_text(head + PADDING * 1000)
    size = (in_tmp / name).stat().st_size
    code, out, _ = cli("scan", ".", "--format", "json", "--max-file-size", "1000")
    assert code == 0
    limit = f"{size} bytes is over the 1000-byte limit, --max-file-size"
    assert _problems(out) == [(name, "note", f"skipped: {what} ({limit})")]
