"""The Terraform evaluator (checks/normalize/tf_eval.py) through its public API, the one reader
of references (checks/parse/hcltree.py) that it and the pre-filter share, and the table of
what the normalizer reads (checks/tfcatalog.py) that the builders and the pre-filter share."""

from __future__ import annotations

import json

import pytest

from checks import prefilter, tfcatalog
from checks.model import Unknown, UnknownItems
from checks.normalize import terraform
from checks.normalize.tf_eval import DATA_RENDERERS, Declarations, Evaluator
from checks.normalize.tf_limits import SIZE_NOTE
from checks.parse.hcl import parse_terraform
from checks.parse.hcltree import Lit, Target, target
from conftest import cli, run


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
def test_a_reference_reads_as_its_steps(text, parts):
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


def test_a_partly_known_string_put_in_a_template_keeps_its_own_text():
    """`"${local.base}-custom"` where local.base is `"ex-${basename(path.cwd)}"` reads as
    `ex-${basename(path.cwd)}-custom`, not with the known part inside a second `${}`."""
    ev = _module(
        'locals {\n  base = "ex-${basename(path.cwd)}"\n  name = "${local.base}-custom"\n'
        '  whole = "${var.missing}-x"\n}\nvariable "missing" {}\n'
    )
    name = _local(ev, "name")
    assert isinstance(name, Unknown) and name.text == "ex-${basename(path.cwd)}-custom"
    whole = _local(ev, "whole")
    assert isinstance(whole, Unknown) and whole.text == "${var.missing}-x"


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


def test_what_terraform_refuses_is_noted_once_where_it_is_written(tmp_path):
    """A local Terraform refuses (a key its map does not have) is unknown wherever it is
    used, with one note at the expression that fails; the rest of the module is judged."""
    (tmp_path / "locals.tf").write_text(
        'locals {\n  settings = { tokens = "optional" }\n  tokens = local.settings.token\n}\n'
    )
    (tmp_path / "main.tf").write_text(
        'resource "aws_launch_template" "a" {\n  metadata_options {\n'
        "    http_tokens = local.tokens\n    http_put_response_hop_limit = 3\n  }\n}\n"
        'resource "aws_launch_template" "b" {\n  metadata_options {\n'
        "    http_tokens = local.tokens\n  }\n}\n"
    )
    result = run([tmp_path], select=["EKS201", "EKS202"])
    assert [(p.file.rsplit("/", 1)[-1], p.line, p.level, p.message) for p in result.problems] == [
        (
            "locals.tf",
            3,
            "note",
            "Terraform refuses this expression (the object has no attribute 'token'): "
            "read as unknown",
        )
    ]
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS202", 4)]
    assert sorted((s.rule_id, s.reasons[0]) for s in result.skipped) == [
        ("EKS201", "Terraform refuses it: the object has no attribute 'token'"),
        ("EKS201", "Terraform refuses it: the object has no attribute 'token'"),
    ]


def test_templatefile_renders_with_only_the_variables_it_is_given():
    ev = _module(
        'variable "x" {\n  default = "from the module"\n}\nlocals {\n'
        '  a = templatefile("t.tpl", { name = "web", ports = [80, 443] })\n'
        '  b = templatefile("bad.tpl", {})\n}\n',
        files={
            "t.tpl": "%{ for p in ports ~}\n${name}:${p}\n%{ endfor ~}\n",
            "bad.tpl": "${var.x}\n",
        },
    )
    assert _local(ev, "a") == "web:80\nweb:443\n"
    refused = _local(ev, "b")
    assert isinstance(refused, Unknown)
    assert refused.reason == (
        "Terraform refuses it: the template refers to var, which templatefile() was not given"
    )


def test_a_template_file_data_source_renders_its_template_with_only_its_vars():
    """data "template_file" (the template provider, before templatefile()): `rendered` is its
    `template`, which Terraform interpolates first, rendered again with `vars` alone."""
    ev = _module(
        'variable "users" {\n  default = { ops = "arn:aws:iam::1:user/ops" }\n}\n'
        'data "template_file" "inline" {\n  template = <<EOF\n'
        "%{for name, arn in var.users~}\n- userarn: ${arn}\n  username: ${name}\n%{endfor~}\nEOF\n}\n"
        'data "template_file" "from_file" {\n  template = file("t.tpl")\n'
        '  vars = { name = "web" }\n}\n'
        'data "template_file" "refused" {\n  template = file("bad.tpl")\n  vars = { a = 1 }\n}\n'
        'data "aws_caller_identity" "c" {}\n'
        'data "template_file" "partly" {\n'
        "  template = <<EOF\n- arn:aws:iam::${data.aws_caller_identity.c.account_id}:root\nEOF\n}\n"
        "locals {\n"
        "  inline    = data.template_file.inline.rendered\n"
        "  from_file = data.template_file.from_file.rendered\n"
        "  refused   = data.template_file.refused.rendered\n"
        "  partly    = data.template_file.partly.rendered\n"
        "}\n",
        files={"t.tpl": "name: ${name}\n", "bad.tpl": "${var.users}\n"},
    )
    assert _local(ev, "inline") == "- userarn: arn:aws:iam::1:user/ops\n  username: ops\n"
    assert _local(ev, "from_file") == "name: web\n"
    # given no vars, its text is what Terraform interpolated, parts known after apply kept
    assert _local(ev, "partly") == "- arn:aws:iam::${data.aws_caller_identity.c.account_id}:root\n"
    refused = _local(ev, "refused")
    assert isinstance(refused, Unknown)
    assert refused.reason == (
        "Terraform refuses it: the template refers to var, which template_file was not given"
    )


def test_an_aws_auth_map_a_template_file_renders_is_judged(tmp_path):
    """datacube-k8s-eks maps IAM users to system:masters through a template_file's
    rendered text (before: its entries were not known, the map undecided)."""
    (tmp_path / "main.tf").write_text(
        'variable "users" {\n  default = { deployer = "arn:aws:iam::111122223333:user/deployer" }\n}\n\n'
        'data "template_file" "map_users" {\n'  # 5
        "  template = <<EOF\n"
        "%{for name, arn in var.users~}\n"
        "- userarn: ${arn}\n"  # 8
        "  username: ${name}\n"
        "  groups:\n"
        "    - system:masters\n"
        "%{endfor~}\n"
        "EOF\n"
        "}\n\n"
        'resource "kubernetes_config_map" "aws_auth" {\n'
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n    mapUsers = data.template_file.map_users.rendered\n  }\n}\n"
    )
    result = run([tmp_path], select=["EKS501", "EKS502"])
    assert result.problems == []
    assert sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings) == [
        (
            "EKS501",
            22,  # at the use of the value, as any map value written elsewhere
            "aws-auth maps arn:aws:iam::111122223333:user/deployer to group system:masters: it "
            "bypasses RBAC and cannot be limited or audited by RBAC",
        ),
        (
            "EKS502",
            22,
            "aws-auth maps IAM user arn:aws:iam::111122223333:user/deployer: map a role that "
            "people assume instead",
        ),
    ]


def test_a_template_for_whose_items_are_known_in_part_keeps_its_text(tmp_path):
    """A `%{for}` over a known map whose values are known only in part (an account id known
    after apply) renders each item with its unknown parts written `${...}`, as the heredoc
    outside a directive does: datacube-k8s-eks maps the deployer user, whose ARN has the
    caller's account id, to system:masters (before: the whole map was not known, EKS501 and
    EKS502 undecided)."""
    (tmp_path / "main.tf").write_text(
        'data "aws_caller_identity" "current" {}\n\n'
        "locals {\n"
        "  users = {\n"
        '    deployer = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:user/deployer"\n'
        "  }\n"
        "}\n\n"
        'resource "kubernetes_config_map" "aws_auth" {\n'  # 9
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n"
        "    mapUsers = <<EOF\n"  # 15
        "%{for name, arn in local.users~}\n"
        "- userarn: ${arn}\n"
        "  username: ${name}\n"
        "  groups:\n"
        "    - system:masters\n"
        "%{endfor~}\n"
        "EOF\n"
        "    mapRoles = <<EOF\n"  # 23
        "%{for name, arn in local.nodes~}\n"
        "- rolearn: ${arn}\n"
        "  username: ${name}\n"
        "  groups: [system:bootstrappers, system:nodes]\n"
        "%{endfor~}\n"
        "EOF\n"
        "  }\n"
        "}\n\n"
        'variable "node_role_arn" {}\n\n'
        "locals {\n"
        '  nodes = { "system:node:{{EC2PrivateDNSName}}" = var.node_role_arn }\n'
        "}\n"
    )
    result = run([tmp_path], select=["EKS501", "EKS502", "EKS504", "EKS505"])
    assert result.problems == []
    arn = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:user/deployer"
    assert sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings) == [
        (
            "EKS501",
            15,  # at the map's key: the lines a `%{for}` renders are its own
            f"aws-auth maps {arn} to group system:masters: it bypasses RBAC and cannot be "
            "limited or audited by RBAC",
        ),
        ("EKS502", 15, f"aws-auth maps IAM user {arn}: map a role that people assume instead"),
    ]
    # a name the `%{for}` binds to a value not known is written as what it stands for
    assert [(s.rule_id, s.location.start_line, s.reasons) for s in result.skipped] == [
        ("EKS505", 23, ["the path in ${var.node_role_arn} is not known before apply"])
    ]


def test_an_aws_auth_map_a_template_directive_renders_is_located_at_its_key(tmp_path):
    """The lines of a heredoc a `%{for}` or `%{if}` renders are not the file's (a `~` strips
    the directive's line, each item repeats the body): its entries are located at the map's
    key, as the entries of a one-line string are (before: the second user of
    datacube-k8s-eks's template was put at lines past the heredoc's end)."""
    (tmp_path / "main.tf").write_text(
        'resource "kubernetes_config_map" "aws_auth" {\n'
        '  metadata {\n    name      = "aws-auth"\n    namespace = "kube-system"\n  }\n'
        "  data = {\n"
        "    mapUsers = <<EOF\n"  # 7
        '%{for name in ["alice", "bob"]~}\n'
        "- userarn: arn:aws:iam::111122223333:user/${name}\n"
        "  username: ${name}\n"
        "  groups:\n"
        "    - system:masters\n"
        "%{endfor~}\n"
        "EOF\n"
        "  }\n"
        "}\n"
    )
    result = run([tmp_path], select=["EKS501"])
    assert result.problems == []
    assert sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings) == [
        (
            "EKS501",
            7,
            f"aws-auth maps arn:aws:iam::111122223333:user/{name} to group system:masters: it "
            "bypasses RBAC and cannot be limited or audited by RBAC",
        )
        for name in ("alice", "bob")
    ]


DUPLICATES_A = (
    'resource "aws_iam_role" "admin" {\n  name = "admin"\n'
    '  assume_role_policy = jsonencode({ Statement = [{ Effect = "Allow",'
    ' Action = "sts:AssumeRole", Principal = { AWS = "*" } }] })\n}\n'
    'variable "x" {}\nlocals {\n  a = 1\n}\noutput "o" {\n  value = 1\n}\n'
)
DUPLICATES_B = (
    'resource "aws_iam_role" "admin" {\n  name = "admin2"\n'
    '  assume_role_policy = jsonencode({ Statement = [{ Effect = "Allow",'
    ' Action = "sts:AssumeRole", Principal = { AWS = "*" } }] })\n}\n'
    'variable "x" {}\nlocals {\n  a = 2\n  b = 3\n}\noutput "o" {\n  value = 2\n}\n'
    'provider "aws" {}\nprovider "aws" {\n  alias = "eu"\n}\nprovider "aws" {\n  region = "x"\n}\n'
    'data "aws_iam_policy_document" "d" {}\ndata "aws_iam_policy_document" "d" {}\n'
    'module "m" {\n  source = "./m"\n}\nmodule "m" {\n  source = "./n"\n}\n'
)


@pytest.mark.parametrize("prefilter", [True, False], ids=["prefilter", "no-prefilter"])
def test_a_name_declared_twice_in_a_module_is_an_error_naming_both_places(tmp_path, prefilter):
    """Terraform refuses a module that declares a resource address (or a data source, a
    variable, a local value, an output, a module call, a provider configuration) twice: an
    error at the repeat naming the first (before: accepted silently). A repeat in another
    file is judged as its own (keyed by its file); one in the same file would share the
    first one's key and fingerprint: it is not judged."""
    (tmp_path / "a.tf").write_text(DUPLICATES_A)
    (tmp_path / "b.tf").write_text(DUPLICATES_B)
    result = run([tmp_path], select=["EKS401"], prefilter=prefilter)
    tail = ": Terraform refuses a module that declares one name twice"
    assert sorted(
        (p.file.rsplit("/", 1)[-1], p.line, p.level, p.message.replace(f"{tmp_path}/", ""))
        for p in result.problems
    ) == [
        (
            "b.tf",
            1,
            "error",
            "resource aws_iam_role.admin is declared twice, here and at a.tf:1" + tail,
        ),
        ("b.tf", 5, "error", "variable var.x is declared twice, here and at a.tf:5" + tail),
        ("b.tf", 7, "error", "local value local.a is declared twice, here and at a.tf:7" + tail),
        ("b.tf", 10, "error", "output o is declared twice, here and at a.tf:9" + tail),
        (
            "b.tf",
            17,
            "error",
            "provider configuration aws is declared twice, here and at b.tf:13" + tail,
        ),
        (
            "b.tf",
            21,
            "error",
            "data source data.aws_iam_policy_document.d is declared twice, here and at b.tf:20"
            + tail,
        ),
        ("b.tf", 25, "error", "module call module.m is declared twice, here and at b.tf:22" + tail),
    ]
    assert [
        (f.rule_id, f.location.file.rsplit("/", 1)[-1], f.entity_key.rsplit(":", 1)[-1])
        for f in result.findings
    ] == [
        ("EKS401", "a.tf", "aws_iam_role.admin/statement[0]"),
        ("EKS401", "b.tf", "aws_iam_role.admin/statement[0]"),
    ]
    # in one file, the repeat is not judged: no two entities share a key
    (tmp_path / "b.tf").unlink()
    (tmp_path / "a.tf").write_text(DUPLICATES_A + DUPLICATES_A.split("variable")[0])
    result = run([tmp_path], select=["EKS401"], prefilter=prefilter)
    assert [(p.line, p.message.replace(f"{tmp_path}/", "")) for p in result.problems] == [
        (12, "resource aws_iam_role.admin is declared twice, here and at a.tf:1" + tail)
    ]
    assert [f.entity_key.rsplit(":", 1)[-1] for f in result.findings] == [
        "aws_iam_role.admin/statement[0]"
    ]


def test_a_value_from_another_file_is_found_where_it_is_used_with_its_definition_related(
    tmp_path,
):
    """RULES.md, "What every finding carries": a trust statement written in a policy
    document of another file is found in that file (before: in the role's file, with the
    document's line numbers), the role related; a value from a variable's default, a
    variable file or a local of another file is found where it is used, its definition
    related."""
    (tmp_path / "iam.tf").write_text(
        'resource "aws_iam_role" "admin" {\n  name               = "admin"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust.json\n}\n"
    )
    (tmp_path / "policies.tf").write_text(
        'data "aws_iam_policy_document" "trust" {\n  statement {\n'
        '    actions = ["sts:AssumeRole"]\n    principals {\n      type        = "AWS"\n'
        '      identifiers = ["*"]\n    }\n  }\n}\n'
    )
    (tmp_path / "variables.tf").write_text(
        'variable "public_cidrs" {\n  default = ["10.0.0.0/8", "0.0.0.0/0"]\n}\n'
        'variable "hop_limit" {\n  default = 1\n}\n'
    )
    (tmp_path / "terraform.tfvars").write_text("hop_limit = 3\n")
    (tmp_path / "locals.tf").write_text('locals {\n  tokens = "optional"\n}\n')
    (tmp_path / "main.tf").write_text(
        'resource "aws_eks_cluster" "c" {\n  name = "c"\n  vpc_config {\n'
        "    public_access_cidrs = var.public_cidrs\n  }\n}\n"
        'resource "aws_launch_template" "n" {\n  metadata_options {\n'
        "    http_tokens                 = local.tokens\n"
        "    http_put_response_hop_limit = var.hop_limit\n  }\n}\n"
    )
    result = run([tmp_path], select=["EKS401", "EKS101", "EKS201", "EKS202"])

    def place(location):
        return (location.file.rsplit("/", 1)[-1], location.start_line, location.end_line)

    assert result.problems == []
    assert sorted(
        (
            f.rule_id,
            place(f.location),
            [(place(r.location), r.message.replace(f"{tmp_path}/", "")) for r in f.related],
        )
        for f in result.findings
    ) == [
        (
            "EKS101",
            ("main.tf", 4, 4),
            [
                (
                    ("variables.tf", 2, 2),
                    "public_access_cidrs comes from the default of var.public_cidrs",
                )
            ],
        ),
        (
            "EKS201",
            ("main.tf", 9, 9),
            [(("locals.tf", 2, 2), "http_tokens comes from local.tokens")],
        ),
        (
            "EKS202",
            ("main.tf", 10, 10),
            [
                (
                    ("terraform.tfvars", 1, 1),
                    "hop_limit comes from var.hop_limit set in terraform.tfvars",
                )
            ],
        ),
        (
            "EKS401",
            ("policies.tf", 4, 7),  # its principals block, where its Principal is written
            [(("iam.tf", 3, 3), "role aws_iam_role.admin uses this statement")],
        ),
    ]


def test_a_module_input_from_another_file_has_its_definition_related(tmp_path):
    """A module call's input that comes from a variable's default or a local of another
    file: the finding sits at the input, the definition is related (before: none was)."""
    (tmp_path / "variables.tf").write_text('variable "cidrs" {\n  default = ["0.0.0.0/0"]\n}\n')
    (tmp_path / "locals.tf").write_text("locals {\n  public = true\n}\n")
    (tmp_path / "main.tf").write_text(
        'module "eks" {\n  source  = "terraform-aws-modules/eks/aws"\n  version = "20.8.0"\n'
        '  cluster_name                         = "x"\n'
        "  cluster_endpoint_public_access       = local.public\n"
        "  cluster_endpoint_public_access_cidrs = var.cidrs\n}\n"
    )
    result = run([tmp_path], select=["EKS101"])
    assert result.problems == []
    assert [
        (
            f.location.file.rsplit("/", 1)[-1],
            f.location.start_line,
            [
                (r.location.file.rsplit("/", 1)[-1], r.location.start_line, r.message)
                for r in f.related
            ],
        )
        for f in result.findings
    ] == [
        (
            "main.tf",
            6,
            [
                ("locals.tf", 2, "endpoint_public_access comes from local.public"),
                ("variables.tf", 2, "public_access_cidrs comes from the default of var.cidrs"),
            ],
        )
    ]


PARTLY_KNOWN_AWS_AUTH = """variable "extra_roles" {
  type = list(any)
}

resource "kubernetes_config_map_v1" "aws_auth" {
  metadata {
    name      = "aws-auth"
    namespace = "kube-system"
  }
  data = {
    mapRoles = yamlencode(concat(var.extra_roles, [
      {
        rolearn  = "arn:aws:iam::111122223333:role/ops"
        username = "ops"
        groups   = ["system:masters"]
      },
    ]))
  }
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 19.15"

  cluster_name              = "c"
  manage_aws_auth_configmap = true
  aws_auth_roles = concat(
    [for team in module.teams : team.role],
    [
      {
        rolearn  = "arn:aws:iam::111122223333:role/admin"
        username = "admin"
        groups   = ["system:masters"]
      },
    ]
  )
}
"""


def test_the_known_items_of_a_list_concat_cannot_finish_are_judged(tmp_path):
    """concat() of a list not known (a variable without a value, a for over a module's
    output) and known entries: Terraform knows the result only after apply, but the known
    entries are in it whatever the rest is (issue 14: evaluate what is known). Each is
    judged at its lines; the rest is an unknown entry, counted as undecided."""
    (tmp_path / "main.tf").write_text(PARTLY_KNOWN_AWS_AUTH)
    result = run([tmp_path], select=["EKS501"])
    assert result.problems == []
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS501",
            15,
            "aws-auth maps arn:aws:iam::111122223333:role/ops to group system:masters: it "
            "bypasses RBAC and cannot be limited or audited by RBAC",
        ),
        (
            "EKS501",
            33,
            "aws-auth maps arn:aws:iam::111122223333:role/admin to group system:masters: it "
            "bypasses RBAC and cannot be limited or audited by RBAC",
        ),
    ]
    code, out, _ = cli("scan", str(tmp_path), "--select", "EKS501", "--format", "json")
    assert (code, json.loads(out)["summary"]["unknown"]) == (1, 2)


def test_what_jsonencode_gives_a_module_is_a_string_that_keeps_its_structure(tmp_path):
    """A trust policy built with jsonencode() in the caller and given to a module's
    `string` variable: Terraform sees a string, eks-checks keeps the structure, so the
    statement is found at the line that uses it (before: the variable's type made it its
    JSON text, read without lines, and the finding sat at line 1 of the module's file; an
    object's optional(string) attribute refused it as an object)."""
    (tmp_path / "role").mkdir()
    (tmp_path / "main.tf").write_text(
        'module "role" {\n  source = "./role"\n  trust = jsonencode({\n'
        '    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { AWS = "*" } }]\n'
        "  })\n}\n"
    )
    (tmp_path / "role" / "main.tf").write_text(
        'variable "trust" {\n  type = string\n}\n\n'
        'resource "aws_iam_role" "this" {\n  name               = "r"\n'
        "  assume_role_policy = var.trust\n}\n"
    )
    result = run([tmp_path], select=["EKS401"])
    assert result.problems == []
    assert [
        (f.rule_id, f.location.file.rsplit("/", 2)[-2:], f.location.start_line)
        for f in result.findings
    ] == [("EKS401", ["role", "main.tf"], 7)]


def test_a_policy_document_s_dynamic_statements_are_those_its_for_each_makes(tmp_path):
    """A `dynamic "statement"` of an aws_iam_policy_document makes one statement per item
    of its for_each, its iterator bound, and none for an empty one (before: its content was
    one statement whatever the for_each said, an open trust turned off by a variable was
    reported, and the iterator was unknown)."""
    (tmp_path / "main.tf").write_text(
        'variable "public" {\n  default = false\n}\n\n'
        'data "aws_iam_policy_document" "trust" {\n'
        '  dynamic "statement" {\n    for_each = var.public ? [1] : []\n    content {\n'
        '      actions = ["sts:AssumeRole"]\n'
        '      principals {\n        type        = "AWS"\n        identifiers = ["*"]\n'
        "      }\n    }\n  }\n"
        '  dynamic "statement" {\n    for_each = toset(["111122223333", "444455556666"])\n'
        "    iterator = account\n    content {\n"
        '      actions = ["sts:AssumeRole"]\n'
        "      principals {\n"
        '        type        = "AWS"\n'
        '        identifiers = ["arn:aws:iam::${account.value}:root"]\n'
        "      }\n    }\n  }\n}\n\n"
        'resource "aws_iam_role" "r" {\n  name               = "r"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust.json\n}\n"
    )
    result = run([tmp_path], select=["EKS401", "EKS407"])
    assert result.problems == []
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS407",
            21,
            "role r trusts account root [arn:aws:iam::111122223333:root] with no condition: "
            "every principal the account allows can assume it",
        ),
        (
            "EKS407",
            21,
            "role r trusts account root [arn:aws:iam::444455556666:root] with no condition: "
            "every principal the account allows can assume it",
        ),
    ]


INSTANCE_ROLES = """resource "aws_iam_role" "this" {
  for_each = toset(["single", "multiple"])
  name     = "ex-${each.key}"
  assume_role_policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" } }]
  })
}

resource "aws_eks_access_entry" "single" {
  cluster_name  = "c"
  principal_arn = aws_iam_role.this["single"].arn
}

resource "aws_eks_access_entry" "multiple" {
  cluster_name  = "c"
  principal_arn = aws_iam_role.this["%s"].arn
}
"""


def test_a_reference_to_a_resource_instance_names_that_instance(tmp_path):
    """`aws_iam_role.this["single"].arn` and `aws_iam_role.this["multiple"].arn` are two
    roles' ARNs (before: both named aws_iam_role.this, and two access entries for two roles
    were one principal's, a false EKS512 on terraform-aws-eks' own tests); the same instance
    twice is one principal."""
    (tmp_path / "main.tf").write_text(INSTANCE_ROLES % "multiple")
    assert run([tmp_path], select=["EKS512"]).findings == []
    (tmp_path / "main.tf").write_text(INSTANCE_ROLES % "single")
    result = run([tmp_path], select=["EKS512"])
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS512", 16)]
    model = {e.key.rsplit(":", 1)[-1]: e for e in result.entities}
    assert model["aws_eks_access_entry.multiple"].fields["principal_ref"] == (
        f'{tmp_path}:aws_iam_role.this["single"]'
    )


@pytest.mark.parametrize("function", ["jsondecode", "yamldecode"])
def test_text_decoded_past_the_nesting_guard_is_unknown_with_a_note(tmp_path, function):
    """JSON or YAML text nested 700 levels inside an HCL string (the HCL reader's guard
    does not see into strings): its decoder's guard stops it, and the value is unknown with
    a note where the call is (before: unknown without a word)."""
    deep = "[" * 700 + "1" + "]" * 700
    (tmp_path / "main.tf").write_text(
        f'resource "aws_iam_role" "r" {{\n  assume_role_policy = jsonencode({function}("{deep}"))\n}}\n'
    )
    result = run([tmp_path], select=["EKS401"])
    assert result.findings == []
    assert [(p.line, p.level, p.message) for p in result.problems] == [(2, "note", SIZE_NOTE)]


@pytest.mark.parametrize("count", ['"2"', "2", 'tonumber("2")'])
def test_a_count_written_as_a_string_of_digits_makes_that_many_instances(tmp_path, count):
    """Terraform converts `count = "2"` to the number, as it does for any number argument
    (before: one instance whose count.index was unknown, named aws_iam_role.r)."""
    (tmp_path / "main.tf").write_text(
        f'resource "aws_iam_role" "r" {{\n  count = {count}\n  name  = "r-${{count.index}}"\n'
        '  assume_role_policy = "{}"\n}\n'
    )
    result = run([tmp_path])
    roles = sorted(
        (e.key.rsplit(":", 1)[-1], e.fields["name"])
        for e in result.entities
        if e.kind == "iam_role"
    )
    assert roles == [("aws_iam_role.r[0]", "r-0"), ("aws_iam_role.r[1]", "r-1")]


def test_a_policy_document_in_the_roles_own_file_has_each_role_that_uses_it_related(tmp_path):
    """A trust statement of a policy document written in the role's own file, apart from the
    role, is found in the document as well, each role that uses it related (before: only a
    document of another file related its role; eks-workshop's cam module relates none)."""
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy_document" "trust" {\n  statement {\n'
        '    actions = ["sts:AssumeRole"]\n    principals {\n      type        = "AWS"\n'
        '      identifiers = ["*"]\n    }\n  }\n}\n\n'
        'resource "aws_iam_role" "dev" {\n  name               = "dev"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust.json\n}\n\n"
        'resource "aws_iam_role" "ops" {\n  name               = "ops"\n'
        "  assume_role_policy = data.aws_iam_policy_document.trust.json\n}\n"
    )
    result = run([tmp_path], select=["EKS401"])
    assert result.problems == []
    assert sorted(
        (
            f.location.start_line,
            f.location.end_line,
            [(r.location.start_line, r.location.end_line, r.message) for r in f.related],
        )
        for f in result.findings
    ) == [
        (4, 7, [(13, 13, "role aws_iam_role.dev uses this statement")]),
        (4, 7, [(18, 18, "role aws_iam_role.ops uses this statement")]),
    ]


def test_a_for_over_a_collection_not_known_makes_items_like_its_body():
    """How many items and which keys are not known; each item is the body with the names the
    `for` binds not known, and a `for` over those items binds them."""
    ev = _module(
        'variable "x" {}\n\nlocals {\n'
        '  listed  = [for a in var.x : { p = a, q = "lit" }]\n'
        '  keyed   = { for k, v in var.x : "${k}-${v}" => { q = "lit" } }\n'
        '  grouped = { for a in var.x : "same" => a... }\n'
        "  again   = { for k, v in local.keyed : k => v.q }\n"
        "  none    = { for a in var.x : a => 1 if false }\n"
        "  count   = length(local.listed)\n"
        '  refused = [for a in var.x : 1 + "one"]\n'
        "}\n"
    )
    listed = _local(ev, "listed")
    assert isinstance(listed, UnknownItems) and listed.key is None
    assert (listed.reason, listed.item["q"], listed.item["p"].text) == (
        "var.x has no default",
        "lit",
        "a",
    )
    keyed = _local(ev, "keyed")
    assert (keyed.key.text, keyed.item) == ("${k}-${v}", {"q": "lit"})
    grouped = _local(ev, "grouped")
    assert (grouped.key, type(grouped.item), grouped.item.item.text) == (
        "same",
        UnknownItems,
        "a",
    )
    again = _local(ev, "again")
    assert (again.key.text, again.item) == ("${k}-${v}", "lit")
    assert _local(ev, "none") == {}
    for name in ("count", "refused"):
        value = _local(ev, name)
        assert isinstance(value, Unknown) and not isinstance(value, UnknownItems), name
    assert ev.problems() == []
