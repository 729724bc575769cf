"""The Terraform evaluator (checks/normalize/tf_eval.py) through its public API, the one reader
of references (checks/parse/hcltree.py) that it and the pre-filter share, and the table of
what the normalizer reads (checks/tfcatalog.py) that the builders and the pre-filter share."""

from __future__ import annotations

import pytest

from checks import prefilter, tfcatalog
from checks.model import Unknown
from checks.normalize import terraform
from checks.normalize.tf_eval import (
    DATA_RENDERERS,
    FUNCTIONS,
    Declarations,
    Evaluator,
    Function,
)
from checks.parse.hcl import parse_terraform
from checks.parse.hcltree import Lit, Target, reference_parts, target
from conftest import run


def _module(text: str, bound: dict | None = None, files: dict | None = None) -> Evaluator:
    def read_file(path: str):
        name = path.rsplit("/", 1)[-1]
        return ((files or {})[name], "") if name in (files or {}) else (None, "no such file")

    blocks = {"main.tf": parse_terraform(text)}
    return Evaluator("infra", Declarations(blocks), read_file, bound)


def _local(ev: Evaluator, name: str):
    """The value of `local.<name>`, as a reference to it gives it."""
    (block,) = [b for b in parse_terraform(f"locals {{\n  v = local.{name}\n}}\n")]
    return ev.eval(block.attributes["v"].expr, "main.tf")


@pytest.mark.parametrize(
    "parts, expected",
    [
        (["var", "x", "y"], Target("var", "var.x", "", "x", ["y"])),
        (["local", "m", "k"], Target("local", "local.m", "", "m", ["k"])),
        (["data", "t_x", "n", "json"], Target("data", "data.t_x.n", "t_x", "n", ["json"])),
        (
            ["aws_iam_role", "r", "arn"],
            Target("resource", "aws_iam_role.r", "aws_iam_role", "r", ["arn"]),
        ),
        (
            ["module", "eks", "cluster_name"],
            Target("module", "module.eks", "", "eks", ["cluster_name"]),
        ),
        (["path", "module"], Target("path", "path.module", "", "module", [])),
        (["each", "value"], Target("each", "each.value", "", "value", [])),
        (["count", "index"], Target("count", "count.index", "", "index", [])),
        (["var"], None),
        (["data", "t_x"], None),
    ],
)
def test_a_reference_names_one_thing(parts, expected):
    assert target(parts) == expected


@pytest.mark.parametrize(
    "text, parts",
    [
        ("local.list.0", ["local", "list", 0]),
        ('local.map["a.b"].c', ["local", "map", "a.b", "c"]),
        ("aws_iam_role.r[1].arn", ["aws_iam_role", "r", 1, "arn"]),
        ("var.a-b", ["var", "a-b"]),
    ],
)
def test_a_reference_written_in_text_reads_as_the_parser_reads_it(text, parts):
    assert reference_parts(text) == parts
    (block,) = parse_terraform(f"locals {{\n  v = {text}\n}}\n")
    assert block.attributes["v"].expr.parts == parts


def test_a_heredoc_reference_with_a_legacy_index_is_put_in():
    """`${local.names.0}` in a heredoc is the list's first item (the `.0` step was dropped,
    leaving the whole list, which stayed as written)."""
    ev = _module(
        'locals {\n  names = ["ci", "cd"]\n  text = <<EOT\nrole ${local.names.0} of '
        "${local.names[1]}\nEOT\n}\n"
    )
    assert _local(ev, "text") == "role ci of cd\n"


def test_a_module_instance_is_an_evaluator_with_bound_variables():
    text = 'variable "x" {\n  default = "from the default"\n}\nvariable "y" {}\n'
    assert _local(_module(text + "locals {\n  a = var.x\n}\n"), "a") == "from the default"
    bound = {"x": ("terraform.tfvars", Lit(1, 1, "bound"))}
    assert _local(_module(text + "locals {\n  a = var.x\n}\n", bound), "a") == "bound"
    unknown = _local(_module(text + "locals {\n  a = var.y\n}\n"), "a")
    assert isinstance(unknown, Unknown) and unknown.reason == "var.y has no default"
    # a value bound to a variable the module does not declare is not read
    undeclared = _local(_module("locals {\n  a = var.z\n}\n", {"z": ("t", Lit(1, 1, 1))}), "a")
    assert isinstance(undeclared, Unknown) and undeclared.reason == "var.z has no default"


def test_every_function_is_one_row_of_the_table():
    assert FUNCTIONS and all(
        isinstance(row, Function) and callable(row.impl) and isinstance(row.accepts_unknown, bool)
        for row in FUNCTIONS.values()
    )
    assert {name for name, row in FUNCTIONS.items() if row.accepts_unknown} == {
        "jsonencode",
        "yamlencode",
        "concat",
        "tolist",
        "toset",
        "coalesce",
        "merge",
        "compact",
        "distinct",
        "flatten",
    }


def _plain(value):
    """A value with each unknown as (reason, text)."""
    if isinstance(value, Unknown):
        return (value.reason, value.text)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


NO_DEFAULT = "var.u has no default"


@pytest.mark.parametrize(
    "expression, value",
    [
        # accepts unknown arguments: keeps them in what it builds
        ('concat(["a"], local.u, "b")', ["a", (NO_DEFAULT, "var.u"), "b"]),
        ("coalesce(null, local.u)", (NO_DEFAULT, "var.u")),
        # does not: unknown for the argument's reason, shown as the call
        ("upper(local.u)", (NO_DEFAULT, "upper(local.u)")),
        # not in the table, or arguments the impl does not compute with
        ('format("%s", "x")', ("format() is not evaluated", 'format("%s", "x")')),
        ('lower("a", "b")', ("lower() is not evaluated", 'lower("a", "b")')),
        (
            'replace("a.b", "/[.]/", "-")',
            ("replace() is not evaluated", 'replace("a.b", "/[.]/", "-")'),
        ),
        ('trimprefix("eks-prod", "eks-")', "prod"),
        ('trimsuffix("prod-eks", "-eks")', "prod"),
        ('join("-", ["a", "b"])', "a-b"),
        ("merge({a = 1}, {b = 2})", {"a": 1, "b": 2}),
        ("distinct([1, 1, 2])", [1, 2]),
        ('compact(["", "a", null])', ["a"]),
        ("flatten([[1], [[2]], 3])", [1, 2, 3]),
        ('jsondecode("[1, 2]")', [1, 2]),
        ('jsonencode({a = "b"})', {"a": "b"}),
    ],
)
def test_functions(expression, value):
    ev = _module(f'variable "u" {{}}\nlocals {{\n  u = var.u\n  v = {expression}\n}}\n')
    assert _plain(_local(ev, "v")) == value


def test_file_reads_through_the_callback_once_and_notes_why_not():
    ev = _module(
        'locals {\n  a = file("policy.json")\n  b = file("policy.json")\n'
        '  c = file("missing.json")\n}\n',
        files={"policy.json": "{}"},
    )
    assert _local(ev, "a") == "{}" and _local(ev, "b") == "{}"
    missing = _local(ev, "c")
    assert isinstance(missing, Unknown) and missing.reason == "file missing.json could not be read"
    assert [(p.file, p.line, p.message) for p in ev.problems()] == [
        ("main.tf", 4, 'file("missing.json") not read: no such file')
    ]


def test_every_builder_and_renderer_the_catalog_names_exists():
    named = set(tfcatalog.RESOURCE_BUILDERS.values()) | {tfcatalog.KUBERNETES_BUILDER}
    assert named == set(terraform.BUILDERS)
    assert set(tfcatalog.DATA_SOURCES) == set(DATA_RENDERERS)


def test_the_pre_filter_keeps_the_blocks_the_catalog_and_the_references_name():
    """What a kept block names, read as the evaluator reads references: `var.x`, `local.y`,
    `t.n`, `data.t.n` (in strings and heredocs too); not a name after a dot (an attribute of
    something else), not module outputs."""
    text = (
        'resource "aws_iam_role" "r" {\n'
        "  name               = var.name\n"
        '  description        = "${local.suffix}-${each.value.aws_s3_bucket.b}"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust.json\n"
        "  tags               = module.tags.aws_s3_bucket.c\n"
        "}\n"
        'variable "name" {}\n'
        'variable "unused" {}\n'
        "locals {\n  suffix = aws_s3_bucket.logs.id\n}\n"
        'resource "aws_s3_bucket" "logs" {}\n'
        'resource "aws_s3_bucket" "b" {}\n'
        'resource "aws_s3_bucket" "c" {}\n'
        'data "aws_iam_policy_document" "trust" {\n  statement {\n    actions = ["x"]\n  }\n}\n'
        'data "aws_caller_identity" "me" {}\n'
        'resource "aws_iam_openid_connect_provider" "oidc" {}\n'
    )
    kept = prefilter.filter_module({"main.tf": text})["main.tf"]
    heads = [line for line in kept.split("\n") if line and not line.startswith((" ", "}"))]
    assert heads == [
        'resource "aws_iam_role" "r" {',
        'variable "name" {}',
        "locals {",
        'resource "aws_s3_bucket" "logs" {}',
        'data "aws_iam_policy_document" "trust" {',
        'resource "aws_iam_openid_connect_provider" "oidc" {}',
    ]
    assert kept.count("\n") == text.count("\n")  # dropped blocks are blank lines


def test_a_trust_policy_heredoc_reads_a_list_item_by_its_legacy_index(tmp_path):
    (tmp_path / "iam.tf").write_text(
        'locals {\n  admins = ["arn:aws:iam::444455556666:root"]\n}\n'
        'resource "aws_iam_role" "admin" {\n  name               = "admin"\n'
        "  assume_role_policy = <<EOF\n"
        '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",\n'
        '  "Principal": {"AWS": "${local.admins.0}"}}]}\nEOF\n}\n'
    )
    result = run([tmp_path], select=["EKS407"])
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS407",
            8,
            "role admin trusts account root [arn:aws:iam::444455556666:root] with no "
            "condition: every principal the account allows can assume it",
        )
    ]
