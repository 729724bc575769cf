"""Escapes and values that cannot be decoded are parse errors with their line, never an
"internal error": HCL escapes beyond Unicode, lone surrogates and short `\\u`/`\\U` escapes
(Terraform refuses all three), in our HCL reader and in the python-hcl2 path alike; YAML
values whose construction fails."""

from __future__ import annotations

import json

import pytest
import yaml

from checks.parse import ParseError, yamlsafe
from checks.parse.hcl import parse_terraform, parse_terraform_hcl2, parse_tfvars
from conftest import cli

# (escape as written, the parse error's message)
BAD_ESCAPES = [
    ("\\U00110000", "invalid HCL: escape \\U00110000 is not a Unicode character"),
    ("\\UFFFFFFFF", "invalid HCL: escape \\UFFFFFFFF is not a Unicode character"),
    ("\\uD800", "invalid HCL: escape \\uD800 is not a Unicode character"),
    ("\\udfff", "invalid HCL: escape \\udfff is not a Unicode character"),
    ("\\u12", "invalid HCL: escape \\u needs 4 hexadecimal digits"),
    ("\\U0001F60", "invalid HCL: escape \\U needs 8 hexadecimal digits"),
]
# where an escaped string can sit in a .tf file; the escape is always on line 3
PLACES = {
    "attribute": 'resource "aws_eks_cluster" "c" {{\n  name = "x"\n  role_arn = "a{e}z"\n}}\n',
    "template": 'resource "aws_eks_cluster" "c" {{\n  name = "x"\n  role_arn = "${{var.a}}{e}"\n}}\n',
    "label": 'resource "aws_eks_cluster" "c" {{\n}}\nresource "aws_eks_cluster" "d{e}" {{\n}}\n',
    "object key": 'locals {{\n  m = {{\n    "k{e}" = 1\n  }}\n}}\n',
}


@pytest.mark.parametrize("escape, message", BAD_ESCAPES)
@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("reader", [parse_terraform, parse_terraform_hcl2])
def test_a_bad_escape_is_a_parse_error_with_its_line(reader, place, escape, message):
    with pytest.raises(ParseError) as err:
        reader(PLACES[place].format(e=escape))
    assert (err.value.message, err.value.line) == (message, 3)


def test_good_escapes_still_decode():
    (block,) = parse_terraform('locals {\n  s = "\\u00e9\\U0001F600\\n\\"\\\\"\n}\n')
    assert block.attributes["s"].expr.parts == ['é😀\n"\\']


@pytest.mark.parametrize("escape, message", BAD_ESCAPES[:1] + BAD_ESCAPES[4:5])
def test_a_bad_escape_in_a_variable_file_is_a_parse_error(escape, message):
    with pytest.raises(ParseError) as err:
        parse_tfvars(f'a = 1\nb = "{escape}"\n')
    assert (err.value.message, err.value.line) == (message, 2)


@pytest.mark.parametrize("crlf", [False, True])  # CRLF files take the python-hcl2 path
def test_a_scan_reports_the_bad_escape_and_goes_on(in_tmp, crlf):
    text = PLACES["attribute"].format(e="\\U00110000")
    (in_tmp / "bad.tf").write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode())
    (in_tmp / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: n}\n"
    )
    code, out, err = cli("scan", ".", "--format", "json")
    report = json.loads(out)
    assert report["problems"] == [
        {
            "file": "bad.tf",
            "level": "error",
            "line": 3,
            "message": "invalid HCL: escape \\U00110000 is not a Unicode character",
        }
    ]
    assert [f["rule_id"] for f in report["findings"]] == ["EKS302"]
    assert (code, err) == (2, "")


# YAML values whose construction raised (ValueError, KeyError, AttributeError) before
YAML_VALUES = [
    ("2024-13-45", "invalid YAML value: '2024-13-45' is not a valid timestamp"),
    ("!!int abc", "invalid YAML value: 'abc' is not a valid int"),
    ("!!float x", "invalid YAML value: 'x' is not a valid float"),
    ("!!bool x", "invalid YAML value: 'x' is not a valid bool"),
    ("!!timestamp x", "invalid YAML value: 'x' is not a valid timestamp"),
]


@pytest.mark.parametrize("value, message", YAML_VALUES)
def test_a_yaml_value_that_cannot_be_constructed_is_a_parse_error(in_tmp, value, message):
    (in_tmp / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n"
        f"  namespace: n\n  labels: {{a: {value}}}\n"
    )
    code, out, err = cli("scan", ".", "--format", "json")
    assert json.loads(out)["problems"] == [
        {"file": "sa.yaml", "level": "error", "line": 6, "message": message}
    ]
    assert (code, err) == (2, "")


def test_the_pure_python_yaml_scanner_on_an_escape_beyond_unicode(monkeypatch):
    """Without libyaml, PyYAML's own scanner raises ValueError on `\\U00110000`."""
    monkeypatch.setattr(yamlsafe, "_Loader", yaml.SafeLoader)
    with pytest.raises(ParseError) as err:
        yamlsafe.load_all('a: "\\U00110000"\n')
    assert err.value.message == "invalid YAML: chr() arg not in range(0x110000)"


@pytest.mark.parametrize(
    "written, value",
    [
        ("2024-01-01 10:00:00", "2024-01-01 10:00:00"),
        ("2024-01-01", "2024-01-01"),
        (
            "!!binary YXJuOmF3czppYW06OjExMTEyMjIyMzMzMzpyb2xlL3I=",
            "arn:aws:iam::111122223333:role/r",
        ),
    ],
    ids=["timestamp", "date", "binary"],
)
def test_yaml_timestamps_and_binary_are_text_as_kubernetes_reads_them(in_tmp, written, value):
    """Kubernetes reads YAML through JSON: a timestamp stays the text written, `!!binary` its
    decoded text. Python's date and bytes reached the model, which could not print them."""
    (in_tmp / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n  namespace: n\n"
        f"  annotations:\n    eks.amazonaws.com/role-arn: {written}\n"
    )
    code, out, err = cli("model", ".")
    (entity,) = json.loads(out)["entities"]
    assert (entity["fields"]["role_arn"], code, err) == (value, 0, "")
