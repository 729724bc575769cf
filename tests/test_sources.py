"""The registry of sources (checks/sources/): one table, and everything that tells formats
apart reads it: which files are read (by name), which source reads a document, whether a file
that cannot be read whole is ours, and which JSON files keep their lines."""

from __future__ import annotations

import inspect

import pytest

from checks.model import LDict
from checks.parse import ParseError
from checks.sources import (
    SOURCES,
    claimant,
    classify,
    foreign_reason,
    module_of,
    parse_text,
)
from checks.sources.base import DirectorySource, FileSource, Syntax

HELM = "Helm chart template (Helm renders it; not read)"


def test_every_source_defines_the_names_of_its_protocol():
    for name, row in SOURCES.items():
        protocol = DirectorySource if row.BY_DIRECTORY else FileSource
        for member in protocol.__annotations__:
            assert hasattr(row, member), (name, member)
        methods = [(k, v) for k, v in vars(protocol).items() if inspect.isfunction(v)]
        for member, function in methods:
            if member.startswith("_"):
                continue  # what Protocol itself defines
            wanted = list(inspect.signature(function).parameters)[1:]  # without self
            assert list(inspect.signature(getattr(row, member)).parameters) == wanted, name
        assert row.SYNTAXES and all(isinstance(s, Syntax) for s in row.SYNTAXES), name


def test_a_directory_source_is_the_only_reader_of_its_syntaxes():
    for name, row in SOURCES.items():
        others = [n for n, r in SOURCES.items() if n != name]
        if row.BY_DIRECTORY:
            for syntax in row.SYNTAXES:
                assert not [n for n in others if syntax in SOURCES[n].SYNTAXES], syntax.name


@pytest.mark.parametrize(
    "path, expected",
    [
        ("infra/main.tf", ("terraform", "")),
        ("infra/terraform.tfvars", ("tfvars", "")),
        ("infra/terraform.tfvars.json", ("tfvars", "")),
        ("infra/b.auto.tfvars", ("tfvars", "")),
        ("infra/B.AUTO.TFVARS.JSON", ("tfvars", "")),
        ("infra/prod.tfvars", None),  # needs -var-file
        ("infra/prod.tfvars.json", None),
        ("infra/main.tf.json", None),  # Terraform's JSON syntax: not read yet
        ("k8s/deploy.yaml", ("yaml", "")),
        ("k8s/deploy.YML", ("yaml", "")),
        ("iam/trust.json", ("json", "")),
        ("README.md", None),
        ("main.tf.bak", None),
    ],
)
def test_which_files_are_read_is_said_by_the_syntaxes_of_the_table(path, expected):
    assert classify(path) == expected


def test_a_helm_chart_template_is_named_before_it_is_read(tmp_path):
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "Chart.yaml").write_text("name: chart\n")
    assert classify(str(tmp_path / "chart" / "templates" / "sa.yaml")) == ("yaml", HELM)
    assert classify(str(tmp_path / "chart" / "values.yaml")) == ("yaml", "")


def test_a_file_name_is_of_one_syntax_at_most():
    syntaxes = {s.name: s for row in SOURCES.values() for s in row.SYNTAXES}
    for name in ("a.tf", "terraform.tfvars", "a.auto.tfvars.json", "a.yaml", "a.yml", "a.json"):
        assert sum(s.reads(name) for s in syntaxes.values()) == 1, name


def test_module_of_a_file_read_a_directory_at_a_time():
    assert module_of("infra/eks.tf") == "infra"
    assert module_of("eks.tf") == "."
    assert module_of("infra/terraform.tfvars") == "infra"
    assert module_of("k8s/sa.yaml") is None
    assert module_of("infra/prod.tfvars") is None


MANIFEST = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}
EKSCTL = {"apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig", "metadata": {}}
PLAN = {"format_version": "1.2", "planned_values": {}}


@pytest.mark.parametrize(
    "kind, document, source",
    [
        ("json", {"Version": "2012-10-17", "Statement": []}, "iam"),
        ("json", {"Role": {"RoleName": "r"}}, "iam"),
        ("json", {"Roles": []}, "iam"),
        ("json", {"RoleDetailList": []}, "iam"),
        ("json", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": {}}, "iam"),
        ("json", {"AttachedPolicies": []}, "iam"),
        ("json", {"PolicyDocument": {}}, None),
        ("json", {"Role": "not a role"}, None),
        ("json", PLAN, "plan"),
        ("json", {"format_version": "1.2"}, None),
        ("json", {**PLAN, "Statement": []}, "iam"),  # the table's order decides
        ("json", EKSCTL, "eksctl"),
        ("json", MANIFEST, "kubernetes"),
        ("json", {"kind": "List", "apiVersion": "v1", "items": []}, "kubernetes"),
        ("json", {"name": "app", "dependencies": {}}, None),
        ("json", {"cluster": {"name": "c", "resourcesVpcConfig": {}}}, "live"),
        ("json", {"cluster": "prod"}, None),
        ("json", {"accessEntries": ["arn:aws:iam::111122223333:role/a"]}, "live"),
        ("json", {"accessEntries": [{"name": "x"}]}, None),
        ("json", {"nodegroup": {"nodegroupName": "g"}}, "live"),
        ("json", {"Reservations": [{"Instances": []}]}, "live"),
        ("json", {"eks describe-cluster": {"cluster": {"name": "c"}}}, "live"),
        ("json", {"aws iam get-role": {"Role": {}}, "kubectl get cm -A -o json": {}}, "live"),
        ("json", {"eks describe-cluster": {}, "name": "app"}, None),
        ("json", {**MANIFEST, "nodegroup": {"nodegroupName": "g"}}, "kubernetes"),
        ("yaml", EKSCTL, "eksctl"),
        ("yaml", MANIFEST, "kubernetes"),
        ("yaml", {"Statement": []}, None),  # IAM and plans are JSON only
        ("yaml", PLAN, None),
        ("yaml", {**MANIFEST, "kind": 3}, None),
        ("yaml", "a scalar", None),
    ],
)
def test_a_document_goes_to_the_first_source_that_claims_it(kind, document, source):
    assert claimant(kind, document) == source


def test_the_json_pre_check_keeps_lines_for_every_key_a_source_reads():
    keys = {key for row in SOURCES.values() for key in getattr(row, "JSON_KEYS", ())}
    iam = {"Statement", "Role", "Roles", "RoleDetailList", "AttachedPolicies"}
    live = {
        "cluster",
        "accessEntries",
        "accessEntry",
        "associatedAccessPolicies",
        "association",
        "associations",
        "identityProviderConfig",
        "nodegroup",
        "addon",
        "LaunchTemplateVersions",
        "Reservations",
    }
    cloudformation = {"AWSTemplateFormatVersion", "Resources"}
    assert keys == iam | live | cloudformation | {"format_version", "apiVersion", "kind"}
    for key in keys:
        assert isinstance(parse_text("json", f'{{"{key}": 1}}')[0], LDict), key
    for key in ("statement", "Rolex", "name", "format"):
        assert not isinstance(parse_text("json", f'{{"{key}": 1}}')[0], LDict), key


def _failure(kind: str, text: str) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_text(kind, text)
    return caught.value


@pytest.mark.parametrize(
    "kind, text, reason",
    [
        # ours whatever else they hold: an error
        ("yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {{x}}: [\n", ""),
        ("yaml", "metadata:\n  name: aws-auth\ndata: [\n", ""),
        ("json", '{"Statement": [}', ""),
        ("json", '{"format_version": "1.2", ', ""),
        ("json", '{\n  "apiVersion": "eksctl.io/v1alpha5",\n', ""),
        ("json", "apiVersion: v1\nkind: Pod\n", ""),  # kubectl reads YAML from a .json file
        ("terraform", 'resource "a" "b" {\n', ""),
        ("terraform", "}}}\n", ""),  # any .tf file
        ("tfvars", "cidrs = [\n", ""),
        # someone else's: a note naming it
        ("yaml", "Resources:\n  R: !Ref X\n", "CloudFormation template"),
        ("yaml", "a: {{ .Values.a }}\nb: [\n", "Go or Helm template"),
        ("yaml", "a: [\n%{ for x in y }\n", "Terraform template file"),
        ("yaml", "nav: [\n", "YAML that is neither a Kubernetes manifest nor aws-auth"),
        ("json", '{"a": "${b}", }', "template file"),
        ("json", '{"a": }', "JSON that is neither an IAM policy nor a Kubernetes manifest"),
    ],
)
def test_a_file_that_fails_is_ours_when_a_source_of_its_syntax_says_so(kind, text, reason):
    assert foreign_reason(kind, text, _failure(kind, text)) == reason


def test_a_file_refused_as_hostile_is_ours_whatever_it_looks_like():
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\n" + "c: [" + ", ".join(["*b"] * 10) + "]\n"
    error = ParseError("YAML aliases expand to too many nodes", 1, guard=True)
    assert foreign_reason("yaml", bomb, error) == ""
