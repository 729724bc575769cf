"""Parsers and normalizers: lines from the parsers' marks, defaults applied, unknowns kept."""

from __future__ import annotations

import pytest

from checks.model import Unknown
from checks.parse import ParseError
from checks.parse.hcl import parse_terraform
from checks.parse.hcltree import Call, Heredoc, ObjectExpr, Ref
from checks.parse.jsonpos import load as load_json
from checks.parse.yamlsafe import load_all
from conftest import run


def test_hcl_keeps_block_and_attribute_lines():
    blocks = parse_terraform(
        'resource "aws_eks_cluster" "c" {\n'
        '  name = "c"\n'
        "\n"
        "  vpc_config {\n"
        "    public_access_cidrs = [\n"
        '      "0.0.0.0/0",\n'
        "    ]\n"
        "  }\n"
        "}\n"
    )
    (cluster,) = blocks
    assert (cluster.type, cluster.labels, cluster.line, cluster.end_line) == (
        "resource",
        ["aws_eks_cluster", "c"],
        1,
        9,
    )
    (vpc,) = cluster.children("vpc_config")
    attr = vpc.attributes["public_access_cidrs"]
    assert (vpc.line, vpc.end_line, attr.line, attr.end_line) == (4, 8, 5, 7)


def test_hcl_expressions_keep_structure():
    (block,) = parse_terraform(
        'resource "x" "y" {\n'
        "  a = var.list[0]\n"
        '  b = jsonencode({ K = "v" })\n'
        "  c = <<-EOT\n"
        "    {\n"
        '      "k": 1\n'
        "    }\n"
        "  EOT\n"
        "}\n"
    )
    a, b, c = (block.attributes[k].expr for k in "abc")
    assert isinstance(a, Ref) and a.parts == ["var", "list", 0]
    assert isinstance(b, Call) and b.name == "jsonencode" and isinstance(b.args[0], ObjectExpr)
    # `<<-` strips the common indentation, and the content starts on the line after the marker
    assert isinstance(c, Heredoc) and c.text == '{\n  "k": 1\n}\n' and c.content_line == 5


def test_hcl_syntax_error_names_the_line():
    with pytest.raises(ParseError) as err:
        parse_terraform('resource "a" "b" {\n  x = \n}\n')
    assert (err.value.line, err.value.message) == (
        2,
        "invalid HCL: unexpected '}' (column 7)",
    )


def test_yaml_lines_duplicate_keys_and_tags():
    (doc,) = load_all("a: 1\nb:\n  - x\n  - y\n")
    assert doc.key_lines == {"a": (1, 1), "b": (2, 4)}
    assert doc["b"].item_lines == [(3, 3), (4, 4)]
    with pytest.raises(ParseError, match="duplicate key 'a' with different values") as err:
        load_all("a: 1\na: 2\n")
    assert err.value.line == 2
    docs = load_all("a: 1\na: 1\n")  # the same value twice: untidy, not ambiguous
    assert (docs, docs.warnings) == ([{"a": 1}], [(2, "duplicate key 'a' (same value)")])
    with pytest.raises(ParseError, match="unsupported YAML tag"):
        load_all("x: !!python/object/apply:os.system ['true']\n")


def test_yaml_alias_bomb_is_refused_before_expansion():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(ParseError, match="alias bomb"):
        load_all("\n".join(lines) + "\n")


def test_json_objects_know_their_lines():
    doc = load_json('{\n  "Statement": [\n    {\n      "Effect": "Allow"\n    }\n  ]\n}')
    stmt = doc["Statement"][0]
    assert (stmt.line, stmt.end_line) == (3, 5)
    assert stmt.key_lines["Effect"] == (4, 4)
    with pytest.raises(ParseError) as err:
        load_json('{\n  "a": [1,\n}')
    assert err.value.line == 3


def _entity(result, kind):
    (entity,) = [e for e in result.entities if e.kind == kind]
    return entity


def test_cluster_defaults_are_applied_and_marked(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_eks_cluster" "c" {\n  name = "c"\n}\n')
    cluster = _entity(run([tmp_path]), "cluster")
    assert cluster.fields["endpoint_public_access"] is True
    assert cluster.fields["endpoint_private_access"] is False
    assert cluster.fields["public_access_cidrs"] == ["0.0.0.0/0"]
    assert cluster.fields["enabled_log_types"] == []
    assert cluster.fields["authentication_mode"] == "CONFIG_MAP"
    assert cluster.defaulted["public_access_cidrs"] == "AWS default"
    assert "name" not in cluster.defaulted


def test_variables_locals_and_unknowns(tmp_path):
    (tmp_path / "vars.tf").write_text(
        'variable "with_default" {\n  default = ["10.0.0.0/8"]\n}\n'
        'variable "without_default" {}\n'
        "locals {\n  private = var.with_default\n}\n"
    )
    (tmp_path / "main.tf").write_text(
        'resource "aws_eks_cluster" "c" {\n'
        "  name = var.without_default\n"
        "  vpc_config {\n"
        "    public_access_cidrs = local.private\n"
        "  }\n"
        "}\n"
    )
    cluster = _entity(run([tmp_path]), "cluster")
    assert cluster.fields["public_access_cidrs"] == ["10.0.0.0/8"]
    name = cluster.fields["name"]
    assert isinstance(name, Unknown) and name.reason == "var.without_default has no default"


def test_unknown_value_is_counted_not_reported(tmp_path):
    (tmp_path / "main.tf").write_text(
        'variable "cidrs" {}\n'
        'resource "aws_eks_cluster" "c" {\n'
        '  name = "c"\n'
        '  enabled_cluster_log_types = ["audit", "authenticator"]\n'
        "  vpc_config {\n"
        "    endpoint_private_access = true\n"
        "    public_access_cidrs = var.cidrs\n"
        "  }\n"
        "}\n"
    )
    result = run([tmp_path], select={"EKS101", "EKS102", "EKS103"})
    assert [f.rule_id for f in result.findings] == []
    assert [(s.rule_id, s.reasons) for s in result.skipped] == [
        ("EKS101", ["var.cidrs has no default"])
    ]


def test_kubernetes_namespace_and_service_account_defaults(tmp_path):
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n"
    )
    workload = _entity(run([tmp_path]), "workload")
    assert workload.fields["namespace"] == "default"
    assert workload.defaulted["namespace"] == "Kubernetes default"
    assert workload.fields["service_account_name"] == "default"
    assert workload.fields["effective_automount"] is True
    assert workload.fields["automount_source"] == (
        "ServiceAccount default/default is not in the scanned files and Kubernetes mounts "
        "the token by default"
    )


def test_aws_auth_entries_keep_their_own_lines(tmp_path):
    (tmp_path / "aws-auth.yaml").write_text(
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: aws-auth\n"
        "  namespace: kube-system\n"
        "data:\n"
        "  mapRoles: |\n"
        "    - rolearn: arn:aws:iam::111122223333:role/a\n"
        "      groups: [system:masters]\n"
        "    - rolearn: arn:aws:iam::111122223333:role/b\n"
        "      groups: [dev]\n"
    )
    mappings = [e for e in run([tmp_path]).entities if e.kind == "identity_mapping"]
    assert [
        (m.fields["principal_arn"], m.location.start_line, m.location.end_line) for m in mappings
    ] == [
        ("arn:aws:iam::111122223333:role/a", 8, 9),
        ("arn:aws:iam::111122223333:role/b", 10, 11),
    ]


def test_json_that_is_not_ours_yields_nothing(tmp_path):
    (tmp_path / "package.json").write_text('{"name": "web", "version": "1.0.0"}')
    (tmp_path / "s3.json").write_text(
        '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    )
    result = run([tmp_path])
    assert (result.entities, result.problems, result.findings) == ([], [], [])


def test_json_no_source_reads_is_only_syntax_checked():
    from checks.model import LDict
    from checks.sources import parse_text

    # a dashboard or package.json: no key any source looks for, so no lines are kept
    plain = parse_text("json", '{\n  "panels": [1, 2],\n  "title": "x"\n}\n')[0]
    assert plain == {"panels": [1, 2], "title": "x"} and not isinstance(plain, LDict)
    policy = parse_text("json", '{\n  "Version": "2012-10-17",\n  "Statement": []\n}\n')[0]
    assert isinstance(policy, LDict) and policy.key_lines["Statement"] == (3, 3)
    with pytest.raises(ParseError) as err:
        parse_text("json", '{\n  "panels": [1, 2\n}\n')
    assert (err.value.message, err.value.line) == ("invalid JSON: Expecting ',' delimiter", 3)


def test_a_plain_equals_sign_is_the_string_kubernetes_reads():
    # YAML 1.1 resolves a plain `=` to its "value" tag, which PyYAML cannot construct; Go's
    # YAML readers (and so kubectl and the API server) read the one-character string, as CRDs'
    # enums of operators do (kube-prometheus' AlertmanagerConfig matchers: `- =`, `- !=`)
    (doc,) = load_all("enum:\n  - =\n  - '!='\n  - =~\nkey: =\n")
    assert doc == {"enum": ["=", "!=", "=~"], "key": "="}
