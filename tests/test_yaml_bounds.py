"""YAML guards per file, not per document: alias expansion counted across the documents of a
stream and the YAML strings embedded in the file (aws-auth `map*`, heredocs); nesting bounded
in block style as in flow style; and hostile content inside aws-auth `map*` strings refused as
hostile input (an error, exit 2), never an EKS504 finding. Files are built at test time."""

from __future__ import annotations

import json

import pytest

from bounded import scan_json
from conftest import cli


def _bomb(width: int, levels: int) -> str:
    """`levels` anchors, each a list of `width` aliases of the one before: width**levels."""
    text = "a: &a [" + ", ".join(["x"] * width) + "]\n"
    names = "abcdefghijklmnop"
    for prev, name in zip(names[: levels - 1], names[1:levels], strict=True):
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * width) + "]\n"
    return text


def _indented(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


BOMB = _bomb(10, 9)  # 10**9 nodes
SMALL_BOMB = _bomb(8, 6)  # 262,144 nodes: under the limit alone, over it twice
ALIAS_NOTE = "YAML aliases expand to more than 500000 nodes (alias bomb?)"
AWS_AUTH = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n"
    "data:\n"
)


def _block_nested(levels: int, indent: int = 0) -> str:
    """A YAML list nested `levels` deep in block style (no brackets to count)."""
    return "".join(" " * (indent + 2 * i) + "-\n" for i in range(levels)) + (
        " " * (indent + 2 * levels) + "x\n"
    )


def test_alias_expansion_is_counted_across_the_documents_of_a_file(tmp_path):
    (tmp_path / "multi.yaml").write_text("---\n".join([SMALL_BOMB] * 100))
    code, report, _ = scan_json("multi.yaml", cwd=tmp_path)
    # the second document passes the file's limit, at its last anchor
    assert report["problems"] == [
        {"file": "multi.yaml", "level": "error", "line": 13, "message": ALIAS_NOTE}
    ]
    assert code == 2


def test_block_style_nesting_is_bounded_like_flow_style(tmp_path):
    (tmp_path / "deep.yaml").write_text("a:\n" + _block_nested(900, 2))
    code, report, _ = scan_json("deep.yaml", cwd=tmp_path)
    assert report["problems"] == [
        {
            "file": "deep.yaml",
            "level": "error",
            "line": 501,
            "message": "YAML nested deeper than 500 levels",
        }
    ]
    assert code == 2


def test_nesting_past_the_yaml_library_limit_is_hostile_even_in_a_foreign_file(tmp_path):
    (tmp_path / "deeper.yaml").write_text(_block_nested(1200))
    code, report, _ = scan_json("deeper.yaml", cwd=tmp_path)
    ((level, message),) = [(p["level"], p["message"]) for p in report["problems"]]
    assert (level, message, code) == ("error", "YAML nested deeper than 500 levels", 2)


def test_merge_keys_nested_in_block_style_are_bounded(tmp_path):
    """Merge keys are applied before the mapping that holds them is built: a chain of them
    must be bounded on its own."""
    text = "x:\n" + "".join(" " * (2 * i) + "  <<:\n" for i in range(900)) + " " * 1802 + "k: v\n"
    (tmp_path / "merges.yaml").write_text(text)
    code, report, _ = scan_json("merges.yaml", cwd=tmp_path)
    assert report["problems"] == [
        {
            "file": "merges.yaml",
            "level": "error",
            "line": 503,
            "message": "YAML merge keys nested deeper than 500 levels",
        }
    ]
    assert code == 2


# Hostile content inside aws-auth map* strings, in every form the map can be written in:
# (the text, its line where it is refused, the message)
HOSTILE_MAPS = {
    "bomb": (BOMB, 6, ALIAS_NOTE),
    "python-tag": (
        "- rolearn: !!python/object/apply:os.system ['true']\n",
        1,
        "unsupported YAML tag tag:yaml.org,2002:python/object/apply:os.system",
    ),
    "block-nesting": (_block_nested(600), 501, "YAML nested deeper than 500 levels"),
}
# brackets in a quoted string: the file's own nesting check does not count them
FLOW_NESTING = "- " + "[" * 600 + "]" * 600


@pytest.mark.parametrize("case", sorted(HOSTILE_MAPS))
@pytest.mark.parametrize("key", ["mapRoles", "mapUsers", "mapAccounts"])
def test_hostile_map_string_in_a_manifest_is_an_error_not_a_finding(tmp_path, case, key):
    inner, inner_line, message = HOSTILE_MAPS[case]
    (tmp_path / "aws-auth.yaml").write_text(AWS_AUTH + f"  {key}: |\n" + _indented(inner, 4))
    code, report, _ = scan_json("aws-auth.yaml", cwd=tmp_path)
    assert report["findings"] == []
    assert report["problems"] == [
        {
            "file": "aws-auth.yaml",
            "level": "error",
            "line": 7 + inner_line,
            "message": f"aws-auth {key}: {message}",
        }
    ]
    assert code == 2


@pytest.mark.parametrize(
    "name, text",
    [
        ("aws-auth.yaml", AWS_AUTH + f'  mapRoles: "{FLOW_NESTING}"\n'),
        (
            "main.tf",
            'resource "kubernetes_config_map" "a" {\n  metadata {\n    name = "aws-auth"\n'
            '    namespace = "kube-system"\n  }\n  data = {\n'
            f'    mapRoles = "{FLOW_NESTING}"\n  }}\n}}\n',
        ),
    ],
)
def test_flow_nesting_inside_a_quoted_map_string_is_an_error(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    code, report, _ = scan_json(name, cwd=tmp_path)
    assert report["findings"] == []
    assert report["problems"] == [
        {
            "file": name,
            "level": "error",
            "line": 7,
            "message": "aws-auth mapRoles: YAML nested deeper than 500 levels",
        }
    ]
    assert code == 2


@pytest.mark.parametrize("case", sorted(HOSTILE_MAPS) + ["flow-nesting"])
def test_hostile_map_string_in_json_is_an_error(tmp_path, case):
    inner, _, message = HOSTILE_MAPS.get(
        case, (FLOW_NESTING, 1, "YAML nested deeper than 500 levels")
    )
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {"mapRoles": inner},
    }
    (tmp_path / "aws-auth.json").write_text(json.dumps(doc))
    code, report, _ = scan_json("aws-auth.json", cwd=tmp_path)
    assert report["findings"] == []
    assert [(p["file"], p["level"], p["message"]) for p in report["problems"]] == [
        ("aws-auth.json", "error", f"aws-auth mapRoles: {message}")
    ]
    assert code == 2


TF_CONFIG_MAP = """resource "kubernetes_config_map_v1" "aws_auth" {{
  metadata {{
    name      = "aws-auth"
    namespace = "kube-system"
  }}
  data = {{
    mapRoles = {value}
  }}
}}
"""


@pytest.mark.parametrize("case", sorted(HOSTILE_MAPS))
@pytest.mark.parametrize("form", ["heredoc", "coalesce"])
def test_hostile_map_string_in_terraform_is_an_error(tmp_path, case, form):
    inner, inner_line, message = HOSTILE_MAPS[case]
    heredoc = "<<EOT\n" + inner + "EOT\n"
    # coalesce() of one string is that string, lines and all
    value = heredoc if form == "heredoc" else f"coalesce({heredoc})"
    (tmp_path / "main.tf").write_text(TF_CONFIG_MAP.format(value=value))
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    assert report["findings"] == []
    assert report["problems"] == [
        {
            "file": "main.tf",
            "level": "error",
            "line": 7 + inner_line,
            "message": f"aws-auth mapRoles: {message}",
        }
    ]
    assert code == 2


def test_ordinary_broken_yaml_in_a_map_string_stays_eks504(in_tmp):
    (in_tmp / "aws-auth.yaml").write_text(AWS_AUTH + "  mapRoles: |\n    - rolearn: [\n")
    code, out, _ = cli("scan", ".", "--format", "json")
    report = json.loads(out)
    assert report["problems"] == []
    assert [(f["rule_id"], f["location"]["start_line"]) for f in report["findings"]] == [
        ("EKS504", 9)
    ]
    assert code == 1


def test_map_strings_share_the_file_alias_budget(tmp_path):
    """Many ConfigMaps in one stream, each map* under the limit alone: the file's budget."""
    one = AWS_AUTH + "  mapRoles: |\n" + _indented(SMALL_BOMB, 4)
    (tmp_path / "many.yaml").write_text("---\n".join([one] * 50))
    code, report, _ = scan_json("many.yaml", cwd=tmp_path)
    # the first map is read (a mapping, not the list aws-auth needs)
    assert [
        (f["rule_id"], f["location"]["start_line"], f["message"]) for f in report["findings"]
    ] == [("EKS504", 7, "aws-auth: [mapRoles is not a YAML list]")]
    # the second map passes the file's limit, at its last anchor; the others are not read
    assert [(p["level"], p["line"], p["message"]) for p in report["problems"]] == [
        ("error", 27, f"aws-auth mapRoles: {ALIAS_NOTE}")
    ]
    assert code == 2


def test_heredocs_share_the_module_alias_budget(tmp_path):
    manifests = "".join(
        f'resource "kubectl_manifest" "m{i}" {{\n  yaml_body = <<EOT\n{SMALL_BOMB}EOT\n}}\n'
        for i in range(50)
    )
    (tmp_path / "main.tf").write_text(manifests)
    code, report, _ = scan_json("main.tf", cwd=tmp_path)
    assert [(p["level"], p["message"]) for p in report["problems"]] == [
        ("error", f"kubectl_manifest.m1 yaml_body: {ALIAS_NOTE}")
    ]
    assert code == 2


def test_broken_yaml_full_of_interpolation_starts_is_judged_in_linear_time(tmp_path):
    """A file that fails to parse is checked for template syntax: that check must not scan
    to the end of the file from every `${`."""
    (tmp_path / "t.yaml").write_text('a: ["' + "${" * 1_000_000 + "\n")
    code, report, _ = scan_json("t.yaml", cwd=tmp_path)
    ((level, message),) = [(p["level"], p["message"]) for p in report["problems"]]
    assert (level, code) == ("note", 0)
    assert message.startswith("skipped: YAML that is neither a Kubernetes manifest nor aws-auth")


def test_a_value_nested_just_under_the_limit_reaches_messages_and_the_model(in_tmp):
    """What the parsers accept, the later stages can show: a field nested 450 levels deep is
    printed in a finding's message and in the model without running out of stack."""
    deep = "[" * 450 + '"api"' + "]" * 450
    (in_tmp / "cluster.yaml").write_text(
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n"
        "metadata: {name: c, region: us-east-1}\n"
        f"cloudWatch:\n  clusterLogging:\n    enableTypes: {deep}\n"
    )
    code, out, err = cli("scan", ".", "--select", "EKS103", "--format", "json")
    ((rule, message),) = [(f["rule_id"], f["message"]) for f in json.loads(out)["findings"]]
    assert (rule, code, err) == ("EKS103", 1, "")
    assert message.startswith("cluster c logs " + "[" * 450 + "api" + "]" * 450)
    code, out, err = cli("model", ".")
    (cluster,) = [e for e in json.loads(out)["entities"] if e["kind"] == "cluster"]
    depth, value = 0, cluster["fields"]["enabled_log_types"]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert (depth, value, code, err) == (450, "api", 0, "")


def test_hostile_identity_mappings_in_eksctl_are_an_error(tmp_path):
    """eksctl writes aws-auth from `iamIdentityMappings`, structured YAML of the file itself:
    the file's own guards refuse it."""
    (tmp_path / "cluster.yaml").write_text(
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n"
        "metadata: {name: c, region: us-east-1}\n" + BOMB + "iamIdentityMappings: *i\n"
    )
    code, report, _ = scan_json("cluster.yaml", cwd=tmp_path)
    assert report["findings"] == []
    assert report["problems"] == [
        {"file": "cluster.yaml", "level": "error", "line": 9, "message": ALIAS_NOTE}
    ]
    assert code == 2


@pytest.mark.parametrize(
    "items",
    [
        "data: [" + "1," * 2_400_000 + "1]\n",  # flow style
        "data:\n" + "- 1\n" * 1_200_000,  # block style
    ],
    ids=["flow", "block"],
)
def test_a_file_of_too_many_nodes_is_refused_before_they_fill_memory(tmp_path, items):
    """Without any alias: a node costs PyYAML some 400 bytes, so a dense 5 MB file would
    take a gigabyte."""
    (tmp_path / "big.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" + items
    )
    code, report, _ = scan_json("big.yaml", cwd=tmp_path)
    ((level, message),) = [(p["level"], p["message"]) for p in report["problems"]]
    assert (level, message, code) == (
        "error",
        "YAML of more than 750000 nodes: too large to read",
        2,
    )


@pytest.mark.parametrize("name", ["a-b_1", "A9"])
def test_a_bomb_is_refused_whatever_its_anchors_are_named(tmp_path, name):
    # what an anchor is named decides whether its aliases are counted at all
    bomb = BOMB.replace("&a ", f"&{name} ").replace("*a,", f"*{name},")
    bomb = bomb.replace("*a]", f"*{name}]")
    (tmp_path / "bomb.yaml").write_text("cmd: make && make install\n" + bomb)
    code, report, _ = scan_json("bomb.yaml", cwd=tmp_path)
    assert [(p["level"], p["message"]) for p in report["problems"]] == [("error", ALIAS_NOTE)]
    assert code == 2


def test_ampersands_of_shell_commands_are_no_anchors_anyone_uses():
    from checks.parse.yamlsafe import _may_share_nodes

    assert not _may_share_nodes("args: ['make && make install 2>&1 | tee *.log']\n")
    assert _may_share_nodes("a: &x 1\nb: *x\n")
    many = "".join(f"k{i}: &a{i} 1\n" for i in range(65)) + "glob: '*.log'\n"
    assert _may_share_nodes(many)  # too many names to look for each
