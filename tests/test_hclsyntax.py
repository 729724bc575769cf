"""The hand-written HCL reader against python-hcl2, the reference: on every .tf file we have
and on generated and mutated input, whenever python-hcl2 reads a file the fast reader must
read it too (for real files) and build exactly the same tree."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.parse import ParseError, hclsyntax
from checks.parse.hcl import parse_terraform, parse_terraform_hcl2
from checks.parse.hcltree import Call, Lit, Operation, Ref, Template
from conftest import FIXTURES, PEER, ROOT

REAL_FILES = sorted(
    [*FIXTURES.rglob("*.tf"), *(ROOT / "examples").rglob("*.tf"), *PEER.rglob("*.tf")]
)


def canon(node):
    """A tree as plain data."""
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
    '"%{ for x in y }${x},%{ endfor }"', '"%%{ not a directive }"', "1.5e3", "0.0",
    "<<EOT\n%{ if a }${b}%{ else }c%{ endif }\nEOT\n", '"a${"b${c}"}"',
]  # fmt: skip
# HCL's spec, construct by construct: operators of every precedence level (python-hcl2's
# grammar has none: its tree is grouped again), conditionals in each position, splats of
# both kinds nested, for expressions of both kinds, calls with expanded arguments, object
# keys that are expressions, templates with directives, comments of the three kinds
SHAPES = [
    "{0} + {1}", "{0} ? {1} : {2}", "!{0}", "({0})", "[{0}, {1}]", "[\n{0},\n{1},\n]", "[]",
    "{{a = {0}, b = {1}}}", '{{\n"k": {0}\nin = {1}\n}}', "{{}}", "f({0}, {1})", "f(\n{0},\n)",
    "g()", '"pre-${{{0}}}-post"', "[for k, v in {0} : v if k != 1]",
    "{{ for k in {0} : k => k... }}", "{0}[*].id", "{0}.*.id", "{0}  # trailing comment",
    "{0}.name", "{0}[0]", '{0}["k"]', "{0}.0", "provider::aws::arn_parse({0})",
    "{0} * {1} + {2}", "{0} + {1} * {2}", "{0} - {1} - {2}", "{0} / {1} % {2}",
    "{0} == {1} && {2} != {0}", "{0} || {1} && {2}", "{0} < {1} == {2} >= {0}",
    "{0} ? {1} : {2} ? {0} : {1}", "{0} + {1} ? {2} : {0}", "-{0} * {1}", "!{0} || {1}",
    "{0}[*].a[*].b", "{0}[*].a.*.b", "{0}[*].a[0].b", "{0}.*.a.b[0]", "({0}[*].a).b",
    "f({0}, {1}...)", "{{ ({0}) = {1} }}", '{{ "${{{0}}}-k" = {1} }}', "{{ 5 = {0} }}",
    "{{ for k, v in {0} : k => v if {1} }}", "[for x in {0} : x]", "{0} /* inline */ + {1}",
    "{0} // line comment", "({0} ? {1} : {2})[0]", "{0}[{1}]", "f({0}).x", "{0}[{1}].y",
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
        operands = [Ref(2, 2, ["a"], "a"), Ref(2, 2, ["b"], "b")]
        assert attr.expr == Operation(2, 2, "+", operands) and attr.end_line == 2


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


# -- the HCL native syntax, construct by construct (hashicorp/hcl, hclsyntax/spec.md) ------------
# (expression, how our reader reads it, written back by hcltree.show, and whether the
# python-hcl2 path reads the same tree or refuses the expression)
SPEC = [
    # operators: six precedence levels, left-associative, unary tighter than binary
    ("1 + 2 * 3", "1 + 2 * 3", "same"),
    ("(1 + 2) * 3", "(1 + 2) * 3", "same"),
    ("a || b && c", "a || b && c", "same"),
    ("(a || b) && c", "(a || b) && c", "same"),
    ("8 / 2 / 2", "8 / 2 / 2", "same"),
    ("8 / (2 / 2)", "8 / (2 / 2)", "same"),
    ("2 - 3 - 4", "2 - 3 - 4", "same"),
    ("a % b * c", "a % b * c", "same"),
    ("1 < 2 == true", "1 < 2 == true", "same"),
    ("a != b || c >= d && e <= f", "a != b || c >= d && e <= f", "same"),
    ("!a == b", "!a == b", "same"),
    ("-a.b[0]", "-a.b[0]", "same"),
    ("!!a", "!!a", "refuses"),  # python-hcl2: a unary operand is a term
    ("- - 1", "1", "refuses"),
    ("-(1)", "-1", "same"),
    ("a /* why */ + b", "a + b", "refuses"),  # an inline comment is white space
    # conditionals: the condition is a binary operation, the branches are expressions
    ("a ? b : c ? d : e", "a ? b : c ? d : e", "same"),
    ("a ? b ? c : d : e", "a ? b ? c : d : e", "same"),
    ("a + b ? c : d", "a + b ? c : d", "same"),
    ("(a ? b : c) + d", "(a ? b : c) + d", "same"),
    # traversals: attributes, indexes, the legacy index, splats of both kinds
    ("a.b", "a.b", "same"),
    ("a.0", "a.0", "same"),
    ('a["k"][0]', 'a["k"][0]', "same"),
    ("x[var.k].y", "x[var.k].y", "same"),
    ("f(x).y", "f(x).y", "same"),
    ("(a).b", "(a).b", "same"),
    ("a[*].b[0]", "a[*].b[0]", "same"),
    ("a.*.b", "a[*].b", "same"),
    ("a.*.b[0]", "a[*].b[0]", "same"),  # the index applies to the result of `.*`
    ("a[*].b[*].c", "a[*].b[*].c", "same"),  # nested: python-hcl2's tree is regrouped
    ("a[*].b.*.c", "a[*].b[*].c", "same"),
    ("(a[*].b)[0]", "a[*].b[0]", "same"),
    ("a.*.b.0", "a[*].b[0]", "refuses"),  # the legacy index inside an attribute splat
    ("a[ * ].b", "a[*].b", "refuses"),
    ("-1[0]", "-1[0]", "same"),  # -(1[0]): a traversal binds tighter than `-`
    # for expressions
    ("[for v in x : v]", "[for v in x : v]", "same"),
    ("[for k, v in x : v if k]", "[for k, v in x : v if k]", "same"),
    ("{for k, v in x : k => v}", "{for k, v in x : k => v}", "same"),
    ("{for k, v in x : v => k... if k != 1}", "{for k, v in x : v => k... if k != 1}", "same"),
    # calls: expanded last argument, provider functions
    ("f()", "f()", "same"),
    ("f(a, b,)", "f(a, b,)", "same"),
    ("merge(x...)", "merge(x...)", "same"),
    ("provider::aws::arn_parse(x)", "provider::aws::arn_parse(x)", "same"),
    # object keys are expressions: a bare name is its text, parentheses make a reference
    ('{ format("%s-%s", k, kk) = 1 }', '{format("%s-%s", k, kk) = 1}', "refuses"),
    ("{ (a) = 1, b = 2 }", "{(a) = 1, b = 2}", "same"),
    ('{ "a" = 1, 2 = 3, c.d = 4, e : 5 }', "{a = 1, 2 = 3, c.d = 4, e = 5}", "same"),
    ('{ "${a}-x" = 1 }', '{"${a}-x" = 1}', "same"),
    ("{ a ? b : c = 1 }", "{a ? b : c = 1}", "refuses"),
    ("{ (a).b = 1 }", "{((a).b) = 1}", "refuses"),
    # templates: interpolations, escapes, directives, strip markers, nesting
    ('"a${b}c"', '"a${b}c"', "same"),
    ('"$${x} %%{y}"', '"$${x} %%{y}"', "same"),  # python-hcl2 reads %%{ as text: ours re-reads
    ('"${"${a}"}"', '"${"${a}"}"', "same"),
    ('"%{ if a }b%{ else }c%{ endif }"', '"%{ if a }b%{ else }c%{ endif }"', "same"),
    (
        '"%{ for k, v in y }${k}=${v},%{ endfor }"',
        '"%{ for k, v in y }${k}=${v},%{ endfor }"',
        "same",
    ),
    ('"a ${~ b ~} c"', '"a${b}c"', "refuses"),
    ('"a %{~ if b ~} c %{~ endif ~} d"', '"a%{ if b }c%{ endif }d"', "same"),
    # numbers, identifiers
    ("1.5E-2", "0.015", "same"),
    ("1e3", "1000", "same"),
    ("-2.5", "-2.5", "same"),
    ("a-b_c", "a-b_c", "same"),
    ("lokálně.jméno", "lokálně.jméno", "refuses"),  # Unicode letters are identifiers
]


@pytest.mark.parametrize("expression, reads, reference", SPEC, ids=[c[0] for c in SPEC])
def test_every_construct_of_the_spec_is_read(expression, reads, reference):
    from checks.parse.hcl import _parse_hcl2
    from checks.parse.hcltree import show

    text = f"x = {expression}\n"
    fast = hclsyntax.parse_body(text)[0]["x"].expr
    assert show(fast) == reads
    if reference == "same":
        assert canon(_parse_hcl2(text, attributes=True)["x"].expr) == canon(fast)
    else:
        with pytest.raises(ParseError):
            _parse_hcl2(text, attributes=True)


def test_a_function_call_as_an_object_key_in_a_for_expression():
    """cloudposse/terraform-aws-eks-cluster auth.tf: refused as invalid HCL before."""
    text = (
        "locals {\n  m = merge(flatten([\n"
        '    for k, v in local.entries : [for kk, vv in v.policies : { format("%s-%s", k, kk) = {\n'
        "      principal_arn = k\n      policy_arn    = kk\n      }\n    }]\n  ])...)\n}\n"
    )
    (block,) = parse_terraform(text)
    call = block.attributes["m"].expr
    assert isinstance(call, Call) and call.name == "merge" and call.expand
    inner = call.args[0].args[0].value.value  # flatten([for ... : [for ... : {...}]])
    key, value, line, end_line = inner.items[0]
    assert key == Call(
        3, 3, "format", [Template(3, 3, ["%s-%s"]), Ref(3, 3, ["k"], "k"), Ref(3, 3, ["kk"], "kk")],
        'format("%s-%s", k, kk)',
    )  # fmt: skip
    assert (line, end_line) == (3, 6)


def test_python_hcl2_s_own_tree_is_wrong_where_the_walk_regroups_it():
    """What python-hcl2's grammar builds for operators, nested splats, `...` and directives
    (no precedence, splats in sequence, the ellipsis dropped, directives as text): the walk
    in checks/parse/hcl.py reads each as HCL does, as the tests above show."""
    from hcl2.parser import parser

    def tree(expression):
        return parser().parse(f"x = {expression}\n\n").children[0].children[0].children[2]

    # a + b * c: python-hcl2 groups a + (b * c) only by chance: `a * b + c` is a * (b + c)
    times = tree("a * b + c")
    assert times.data == "binary_op"
    assert times.children[1].children[1].data == "binary_op"  # (b + c) under the `*`
    nested = tree("a[*].b[*].c").children[0]
    assert nested.data == "full_splat_expr_term"
    assert nested.children[0].children[0].data == "full_splat_expr_term"  # in sequence
    call = tree("merge(x...)").children[0]
    assert [a.data for a in call.children[1].children] == ["expr_term"]  # no trace of ...
    text = tree('"%{ if a }b%{ endif }"').children[0]
    assert [str(p.children[0]) for p in text.children] == ["%{ if a }b%{ endif }"]


def test_an_attribute_set_twice_in_one_block_is_refused_by_both_readers():
    """HCL: each attribute of a body is set at most once ("Attribute redefined")."""
    text = 'resource "a" "b" {\n  name = "x"\n  tags = {}\n  name = "y"\n}\n'
    message = "invalid HCL: attribute name is set twice in one block (first at line 2)"
    for parse in (parse_terraform, parse_terraform_hcl2):
        with pytest.raises(ParseError) as err:
            parse(text)
        assert (err.value.message, err.value.line) == (message, 4)


def test_references_in_ascii_text_are_the_unicode_patterns_and_other_text_is_read_by_it():
    """`references_in` reads ASCII text with a pattern of its own: on every corpus file and on
    edge cases it finds what `REFERENCE_TEXT` finds; text with other characters is read by
    `REFERENCE_TEXT` itself, Unicode names included."""
    from checks.parse.hcltree import REFERENCE_TEXT, references_in

    texts = [path.read_text(encoding="utf-8") for path in REAL_FILES]
    texts += [
        "x.var.y a-var.b var.a-b.c _x.y1 1a.b a.1 a. .a.b a..b a.b.c-d.e_f",
        'name = "${var.prefix}-${local.env}" ; data.aws_iam_role.r.arn[0]',
        "module.m.out\nvar.x\tlocal.y\r\neach.value.z (self.k) [count.index]",
    ]
    ascii_texts = [text for text in texts if text.isascii()]
    assert len(ascii_texts) > 150
    for text in ascii_texts:
        assert references_in(text) == REFERENCE_TEXT.findall(text), text[:200]
    assert references_in("région.nom var.é-x") == ["région.nom", "var.é-x"]
    assert references_in("a.b ü c.d") == ["a.b", "c.d"]
