"""The hand-written HCL reader against python-hcl2, the reference: on every .tf file we have
and on generated and mutated input, whenever python-hcl2 reads a file the fast reader must
read it too (for real files) and build exactly the same tree."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.parse import ParseError, hclsyntax
from checks.parse.hcl import parse_terraform, parse_terraform_hcl2
from checks.parse.hcltree import Call, Lit, Opaque, Ref
from conftest import FIXTURES, PEER, ROOT

NEGATIVE = re.compile(r"-[0-9]+(\.[0-9]+)?")
REAL_FILES = sorted(
    [*FIXTURES.rglob("*.tf"), *(ROOT / "examples").rglob("*.tf"), *PEER.rglob("*.tf")]
)


def canon(node):
    """A tree as plain data, with one python-hcl2 quirk evened out: after a newline inside
    brackets it reads `-1` as negation of 1 (kept as text) rather than the number -1."""
    if isinstance(node, Opaque) and NEGATIVE.fullmatch(node.text):
        return canon(
            Lit(node.line, node.end_line, float(node.text) if "." in node.text else int(node.text))
        )
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple(
            canon(getattr(node, f.name)) for f in dataclasses.fields(node)
        )
    if isinstance(node, (list, tuple)):
        return tuple(canon(x) for x in node)
    if isinstance(node, dict):
        return tuple((k, canon(v)) for k, v in node.items())
    return node


def _both(text: str):
    try:
        reference = parse_terraform_hcl2(text)
    except ParseError:
        reference = None
    try:
        fast = hclsyntax.parse(text)
    except (hclsyntax.Unsupported, hclsyntax.Invalid):
        fast = None
    return reference, fast


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_tree_as_python_hcl2_on_every_corpus_file(path):
    text = path.read_text(encoding="utf-8")
    reference, fast = _both(text)
    if reference is None:
        return  # deliberately broken fixtures: covered by the error tests below
    assert fast is not None, "the fast reader refused a file python-hcl2 reads"
    assert canon(fast) == canon(reference)


def test_same_tree_on_the_benchmark_corpus(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "tests" / "benchmarks" / "generate.py"), str(tmp_path), "300"],
        check=True,
    )
    files = sorted(tmp_path.rglob("*.tf"))
    assert len(files) > 50
    for path in files:
        text = path.read_text()
        assert canon(hclsyntax.parse(text)) == canon(parse_terraform_hcl2(text)), path


def test_the_corpus_is_not_empty():
    assert len(REAL_FILES) > 40


# -- generated expressions ----------------------------------------------------------------
NAMES = ["a", "var", "local", "each", "for_each", "in", "x-y", "_z", "count"]
LEAVES = [
    "0", "7", "-3", "1000000", "1.5", "2e3", "0.25E-2", "true", "False", "null",
    '""', '"abc"', '"a b"', r'"q\"q"', r'"\n"', '"$${x}"', '"%{ if a }b%{ endif }"',
    "<<EOT\n  line one\n  ${var.x}\nEOT\n", "<<-EOT\n    indented\n      more\n    EOT\n",
]  # fmt: skip
SHAPES = [
    "{0} + {1}", "{0} ? {1} : {2}", "!{0}", "({0})", "[{0}, {1}]", "[\n{0},\n{1},\n]", "[]",
    "{{a = {0}, b = {1}}}", '{{\n"k": {0}\nin = {1}\n}}', "{{}}", "f({0}, {1})", "f(\n{0},\n)",
    "g()", '"pre-${{{0}}}-post"', "[for k, v in {0} : v if k != 1]",
    "{{ for k in {0} : k => k... }}", "{0}[*].id", "{0}.*.id", "{0}  # trailing comment",
    "{0}.name", "{0}[0]", '{0}["k"]', "{0}.0", "provider::aws::arn_parse({0})",
]  # fmt: skip


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        leaf = draw(st.sampled_from(LEAVES + NAMES + ["var.x", "local.m.k", "a[2]"]))
        return leaf
    shape = draw(st.sampled_from(SHAPES))
    return shape.format(*(draw(expressions(depth - 1)) for _ in range(3)))


@st.composite
def hcl_files(draw):
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        labels = " ".join(f'"{lab}"' for lab in draw(st.lists(st.sampled_from(NAMES), max_size=2)))
        lines.append(f"{draw(st.sampled_from(NAMES))} {labels} {{")
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"  {draw(st.sampled_from(NAMES))} = {draw(expressions())}")
        if draw(st.booleans()):
            lines.append(
                f"  nested {{\n    {draw(st.sampled_from(NAMES))} = {draw(expressions())}\n  }}"
            )
        lines.append("}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hcl_files())
def test_generated_files_read_the_same(text):
    reference, fast = _both(text)
    if reference is not None:
        assert fast is not None, text
        assert canon(fast) == canon(reference), text


SEEDS = [p.read_text() for p in REAL_FILES[:40]]
EDITS = st.sampled_from(list('{}[]()"#:-=,.*!?\n \t$') + ["${", "for ", " if ", "...", "<<EOF\n"])


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        pos = draw(st.integers(0, len(text) - 1))
        if draw(st.booleans()):
            text = text[:pos] + draw(EDITS) + text[pos:]
        else:
            text = text[:pos] + text[pos + draw(st.integers(1, 10)) :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_never_read_differently(text):
    reference, fast = _both(text)
    if reference is not None and fast is not None:
        assert canon(fast) == canon(reference), text


# -- the hand-off to python-hcl2 ----------------------------------------------------------
def test_what_the_fast_reader_refuses_python_hcl2_decides():
    # python-hcl2 reads digits separated by a space as one number; the fast reader does not
    text = "b {\n  x = 1 2\n}\n"
    with pytest.raises(hclsyntax.Unsupported):
        hclsyntax.parse(text)
    assert parse_terraform(text)[0].attributes["x"].expr == Lit(2, 2, 12)


def test_syntax_errors_keep_python_hcl2_messages():
    with pytest.raises(ParseError) as err:
        parse_terraform('resource "a" "b" {\n  x = [1, 2\n')
    assert err.value.message.startswith("invalid HCL: ")


def test_a_bug_in_the_fast_reader_costs_speed_not_the_file(monkeypatch):
    def broken(text):
        raise IndexError("a bug")

    monkeypatch.setattr(hclsyntax, "parse", broken)
    blocks = parse_terraform('b "c" {\n  x = 1\n}\n')
    assert blocks[0].labels == ["c"] and blocks[0].attributes["x"].expr == Lit(2, 2, 1)


# -- fixed in the python-hcl2 walk, found by comparing the two -------------------------------
def test_call_arguments_on_several_lines_are_only_the_arguments():
    text = 'b {\n  tags = merge(local.tags,\n    { Name = "x" },\n  )\n}\n'
    for parse in (parse_terraform_hcl2, hclsyntax.parse):
        call = parse(text)[0].attributes["tags"].expr
        assert isinstance(call, Call) and len(call.args) == 2
        assert call.args[0] == Ref(2, 2, ["local", "tags"], "local.tags")


def test_an_operation_ends_before_the_comment_after_it():
    text = "b {\n  x = a + b # why\n  y = 1\n}\n"
    for parse in (parse_terraform_hcl2, hclsyntax.parse):
        attr = parse(text)[0].attributes["x"]
        assert attr.expr == Opaque(2, 2, "a + b") and attr.end_line == 2


def test_an_object_item_ends_with_its_heredoc():
    text = "b {\n  m = {\n    k = <<EOT\nv\nEOT\n  }\n}\n"
    for parse in (parse_terraform_hcl2, hclsyntax.parse):
        (_key, _value, line, end_line) = parse(text)[0].attributes["m"].expr.items[0]
        assert (line, end_line) == (3, 5)


def test_legacy_index_after_index():
    text = "b {\n  x = a.0.1\n}\n"
    assert hclsyntax.parse(text) == parse_terraform_hcl2(text)
    assert hclsyntax.parse(text)[0].attributes["x"].expr.parts == ["a", 0, 1]


@pytest.mark.parametrize(
    "text",
    [
        "b {\n  x =\n  1\n}\n",  # value not on the line of =
        "b {\n  x = { a = 1\n  , b = 2 }\n}\n",  # comma starting a line in an object
        "b {\n  x = [for k in : k]\n}\n",  # for without a collection
        "b {\n  x = { for a = 1 }\n}\n",
        'b {\n  x = "${a"\n}\n',
        "b {\n  x = 1\n",
        "b {\n  x = a b\n}\n",
    ],
)
def test_the_fast_reader_refuses_what_python_hcl2_refuses(text):
    reference, fast = _both(text)
    assert reference is None and fast is None


def test_tfvars_attributes_read_the_same():
    from checks.parse.hcl import _parse_hcl2, parse_tfvars

    text = (
        'region = "eu-west-1"\n'
        "public = true # why\n"
        'cidrs  = ["10.0.0.0/8",\n  "192.168.0.0/16"]\n'
        'tags = {\n  team = "a"\n  "cost-center" = 42\n}\n'
        "policy = <<EOT\n{}\nEOT\n"
    )
    fast = parse_tfvars(text)
    assert list(fast) == ["region", "public", "cidrs", "tags", "policy"]
    assert canon(fast) == canon(_parse_hcl2(text, attributes=True))


def test_an_unclosed_heredoc_is_refused_in_linear_time():
    """python-hcl2's heredoc regex takes quadratic time here (minutes for a few MB of blank
    lines); the fast reader decides alone, with the line of the heredoc."""
    import time

    started = time.monotonic()
    with pytest.raises(ParseError) as err:
        parse_terraform("b {\n  x = <<EOF\n" + "\n" * 2_000_000)
    assert time.monotonic() - started < 5
    assert (err.value.message, err.value.line) == ("invalid HCL: heredoc <<EOF is never closed", 2)
