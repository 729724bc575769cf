"""Terraform's expressions and functions as the evaluator computes them: each case is what
Terraform gives (its documentation and implementation: hashicorp/terraform internal/lang/funcs,
zclconf/go-cty function/stdlib, hashicorp/hcl hclsyntax/spec.md), unknown exactly where
Terraform's result is unknown, and refused (unknown, with a note where it is written) where
Terraform gives an error."""

from __future__ import annotations

import pytest

from checks.model import Unknown
from checks.normalize.tf_eval import Declarations, Evaluator
from checks.normalize.tf_functions import FUNCTIONS, Function
from checks.parse.hcl import parse_terraform


class Refused:
    """Terraform refuses the expression: the message says why."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"Refused({self.why!r})"


UNKNOWN = "<unknown>"
MODULE = """variable "u" {}
locals {
  u  = var.u
  m  = { a = 1 }
  uk = { x = var.u, y = 1 }
  lu = [var.u]
  l  = [{ a = 1 }, { a = 2 }]
  k  = "x"
}
"""


def _evaluate(expression: str, extra: str = "", files: dict | None = None):
    text = MODULE + f"locals {{\n  v = {expression}\n}}\n" + extra

    def read_file(path: str):
        name = path.rsplit("/", 1)[-1]
        return ((files or {})[name], "") if name in (files or {}) else (None, "no such file")

    ev = Evaluator("infra", Declarations({"main.tf": parse_terraform(text)}), read_file)
    (use,) = parse_terraform("locals {\n  w = local.v\n}\n")
    return ev.eval(use.attributes["w"].expr, "main.tf"), ev


def _plain(value):
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _check(expression: str, expected, extra: str = "") -> None:
    value, ev = _evaluate(expression, extra)
    notes = [p.message for p in ev.problems()]
    if isinstance(expected, Refused):
        assert isinstance(value, Unknown), value
        assert value.reason.startswith("Terraform refuses it: "), value.reason
        assert expected.why in value.reason
        assert [(p.file, p.line) for p in ev.problems()] == [("main.tf", 11)], notes
        assert expected.why in notes[0]
        return
    assert notes == []
    assert _plain(value) == expected
    if expected is not UNKNOWN and not isinstance(expected, (list, dict)):
        assert type(_plain(value)) is type(expected)  # 1 is not "1", True is not 1


FUNCTION_CASES = {
    "format": [
        ('format("%s-%s", "a", 1)', "a-1"),
        (
            'format("arn:aws:iam::%s:role/%s", 123456789012, "r")',
            "arn:aws:iam::123456789012:role/r",
        ),
        ('format("%d", "5")', "5"),
        ('format("%d", 1.5)', Refused("an integer is required")),
        ('format("%5s|%-5s|%05d", "ab", "cd", -42)', "   ab|cd   |-0042"),
        ('format("%.2f|%e|%g", 3.14159, 1500, 1000000)', "3.14|1.5e+03|1e+06"),
        ('format("%x %X %o %b %+d", 255, 255, 8, 5, 3)', "ff FF 10 101 +3"),
        ('format("%t %t", true, "false")', "true false"),
        ('format("%q", "a\\"b")', '"a\\"b"'),
        ('format("%v %v %#v %#v", "s", 1.5, "s", {a = [1]})', 's 1.5 "s" {"a":[1]}'),
        ('format("%v", null)', "null"),
        ('format("%.3s", "abcdef")', "abc"),
        ('format("%[2]s%[1]s%s", "a", "b")', "bab"),
        ('format("100%%")', "100%"),
        ('format("%s", null)', Refused("null value cannot be formatted")),
        ('format("%s %s", "a")', Refused("not enough arguments")),
        ('format("%s", "a", "b")', Refused("too many arguments")),
        ('format("%z", 1)', Refused("unsupported format verb")),
        ('format("%s", local.u)', UNKNOWN),
        ('format("%s", [local.u])', UNKNOWN),
    ],
    "formatlist": [
        ('formatlist("%s-%s", ["a", "b"], "x")', ["a-x", "b-x"]),
        ('formatlist("%s=%s", ["a", "b"], [1, 2])', ["a=1", "b=2"]),
        ('formatlist("%s", [])', []),
        ('formatlist("%s%s", ["a"], ["b", "c"])', Refused("same length")),
        ('formatlist("%s", [local.u])', UNKNOWN),
    ],
    "coalesce": [
        ('coalesce("", null, "a", "b")', "a"),
        ("coalesce(null, 2, 3)", 2),
        ('coalesce(1, "a")', "1"),  # one type for all: a string
        ('coalesce("a", local.u)', "a"),  # known before any unknown
        ('coalesce(null, local.u, "a")', UNKNOWN),
        ('coalesce(null, "")', Refused("neither null nor an empty string")),
        ("coalesce(1, true)", Refused("same type")),
    ],
    "coalescelist": [
        ('coalescelist([], ["a"], ["b"])', ["a"]),
        ('coalescelist(["a"], local.u)', ["a"]),
        ("coalescelist([], local.u)", UNKNOWN),
        ("coalescelist([], [])", Refused("a list with items")),
        ('coalescelist([], "a")', Refused("must be a list")),
    ],
    "lower": [
        ('lower("ÀB-1")', "àb-1"),
        ("lower(5)", "5"),
        ("lower(null)", Refused("must not be null")),
        ('lower(["a"])', Refused("must be a string")),
        ('lower("a", "b")', Refused("lower() takes 1 argument, not 2")),
        ("lower(local.u)", UNKNOWN),
    ],
    "upper": [('upper("straße")', "STRAßE"), ("upper(true)", "TRUE")],
    "title": [('title("hello world-wide_web")', "Hello World-Wide_web")],
    "join": [
        ('join(",", ["a", 1, true])', "a,1,true"),
        ('join("-", ["a"], ["b", "c"])', "a-b-c"),
        ('join(",", [])', ""),
        ('join(",", ["a", null])', Refused("must not hold null")),
        ('join(",", [["a"]])', Refused("must be a string")),
        ('join(",", [local.u, "a"])', UNKNOWN),
    ],
    "split": [
        ('split(",", "a,b,,c")', ["a", "b", "", "c"]),
        ('split(",", "")', [""]),
        ('split("", "ab")', ["a", "b"]),
        ('split(local.u, "a")', UNKNOWN),
    ],
    "replace": [
        ('replace("a.b.c", ".", "-")', "a-b-c"),
        ('replace("aaa", "", "-")', "-a-a-a-"),
        ('replace("/", "/", "x")', "x"),  # one slash is no regular expression
        ('replace("a.b", "/[.]/", "-")', "a-b"),
        ('replace("abc", "/(?P<x>b)/", "[$x$${1}$$]")', "a[bb$]c"),  # $${ is the text ${
        ('replace("abxd", "/x*/", "-")', "-a-b-d-"),  # Go's: no empty match after a match
        ('replace("system:serviceaccount:ns:sa", "/:[^:]+$/", ":*")', "system:serviceaccount:ns:*"),
        ('replace("a", "/(/", "b")', Refused("invalid regular expression")),
        ('replace(local.u, "a", "b")', UNKNOWN),
    ],
    "trimprefix": [
        ('trimprefix("eks-prod", "eks-")', "prod"),
        ('trimprefix("prod", "eks-")', "prod"),
        ('trimprefix("eks-eks-x", "eks-")', "eks-x"),
    ],
    "trimsuffix": [('trimsuffix("prod-eks", "-eks")', "prod"), ('trimsuffix("a", "")', "a")],
    "trimspace": [('trimspace(" \\n a b\\t\\u3000")', "a b")],
    "trim": [('trim("?!hello?!", "!?")', "hello")],
    "chomp": [('chomp("a\\n\\r\\n")', "a")],
    "substr": [
        ('substr("hello world", 1, 4)', "ello"),
        ('substr("hello", -3, -1)', "llo"),
        ('substr("hello", 10, 2)', ""),
        ('substr("héllo", 0, 2)', "hé"),
    ],
    "startswith": [('startswith("arn:aws:iam", "arn:")', True)],
    "endswith": [('endswith("a.json", ".yaml")', False)],
    "strcontains": [('strcontains("abc", "b")', True)],
    "indent": [('indent(2, "a\\nb\\n")', "a\n  b\n  ")],
    "try": [
        ('try(upper(null), "x")', "x"),
        ('try(local.m.missing, "d")', "d"),
        ("try(local.m.a, local.u)", 1),
        ('try(local.u, "d")', UNKNOWN),
        ('try(local.uk.x, "d")', UNKNOWN),
        ('try(local.uk.y, "d")', 1),  # the part it reads is known
        ("try(length(local.lu), 0)", UNKNOWN),  # it reads a value not wholly known
        ("try([for x in local.l : x.a], [])", [1, 2]),  # x is the for's own name
        ("try(upper(null))", Refused("no argument of try() has a value")),
    ],
    "can": [
        ('can(tonumber("x"))', False),
        ('can(tonumber("1"))', True),
        ("can(local.m.missing)", False),
        ("can(local.u)", UNKNOWN),
    ],
    "lookup": [
        ('lookup({a = 1}, "a")', 1),
        ('lookup({a = 1}, "b", "d")', "d"),
        ('lookup({a = local.u}, "b", 1)', 1),
        ('lookup({a = local.u}, "a", 1)', UNKNOWN),
        ('lookup(local.u, "a", 1)', UNKNOWN),
        ("lookup({a = 1}, local.u, 1)", UNKNOWN),
        ('lookup({a = 1}, "b")', Refused("did not find the key 'b'")),
        ('lookup(["a"], "0")', Refused("must be a map")),
    ],
    "element": [
        ('element(["a", "b", "c"], 4)', "b"),
        ('element(["a"], "0")', "a"),
        ('element([local.u, "b"], 1)', "b"),
        ('element(["a"], -1)', Refused("negative index")),
        ("element([], 0)", Refused("empty list")),
        ('element(["a"], local.u)', UNKNOWN),
    ],
    "flatten": [
        ("flatten([[1, [2]], [], 3])", [1, 2, 3]),
        ("flatten([{a = 1}])", [{"a": 1}]),
        ("flatten([[local.u], 1])", UNKNOWN),  # an unknown item may be a list
        ('flatten("a")', Refused("must be a list")),
    ],
    "distinct": [
        ('distinct(["b", "a", "b", 1, "1"])', ["b", "a", "1"]),
        ("distinct([local.u])", UNKNOWN),
    ],
    "compact": [('compact(["a", "", null, 1])', ["a", "1"]), ("compact([local.u])", UNKNOWN)],
    "toset": [
        ('toset(["b", "a", "b"])', ["a", "b"]),
        ("toset([2, 10, 1])", [1, 2, 10]),
        ('toset(["a", 1])', ["1", "a"]),
        ("toset(null)", None),
        ("toset([{a = 1}, true])", Refused("same type")),
    ],
    "tolist": [
        ('tolist(["a", 1, true])', ["a", "1", "true"]),
        ("tolist({a = 1})", Refused("must be a list")),
    ],
    "tomap": [
        ('tomap({a = 1, b = "x"})', {"a": "1", "b": "x"}),
        ("tomap([1])", Refused("must be a map")),
    ],
    "tostring": [
        ("tostring(1.5)", "1.5"),
        ("tostring(true)", "true"),
        ("tostring(null)", None),
        ("tostring([1])", Refused("cannot convert a list")),
    ],
    "tonumber": [
        ('tonumber("12")', 12),
        ('tonumber("1.5e1")', 15),
        ('tonumber("-0.5")', -0.5),
        ('tonumber(" 1")', Refused("must be a number")),
        ('tonumber("0x10")', Refused("must be a number")),
        ("tonumber(null)", None),
    ],
    "tobool": [
        ('tobool("true")', True),
        ('tobool("yes")', Refused("must be a bool")),
        ("tobool(null)", None),
    ],
    "keys": [
        ("keys({b = 1, a = local.u})", ["a", "b"]),
        ("keys(local.u)", UNKNOWN),
        ("keys([1])", Refused("must be a map")),
    ],
    "values": [("values({b = 1, a = 2})", [2, 1]), ("values({a = local.u})", [UNKNOWN])],
    "contains": [
        ('contains(["a", "b"], "b")', True),
        ('contains(["1"], 1)', False),  # a string is never a number
        ('contains([local.u, "a"], "a")', True),
        ('contains([local.u], "a")', UNKNOWN),
        ('contains({a = 1}, "a")', Refused("must be a list")),
    ],
    "index": [
        ('index(["a", "b"], "b")', 1),
        ('index(["a"], "c")', Refused("item not found")),
        ('index([], "a")', Refused("empty list")),
    ],
    "length": [
        ("length([local.u, 1])", 2),  # a list's length is known whatever its items
        ('length("héllo")', 5),
        ('length("e\\u0301")', 1),  # a letter and its accent: one character
        ("length({a = 1})", 1),
        ("length(jsonencode({a = 1}))", 7),
        ("length(local.u)", UNKNOWN),
        ("length(null)", Refused("length() of null")),
        ("length(5)", Refused("takes a string, a list or a map")),
    ],
    "concat": [
        ('concat(["a"], [local.u], [])', ["a", UNKNOWN]),
        ('concat(["a"], local.u)', UNKNOWN),
        ('concat(["a"], "b")', Refused("must be a list")),
    ],
    "merge": [
        ("merge({a = 1, b = 1}, {b = 2}, null)", {"a": 1, "b": 2}),
        ("merge({a = local.u})", {"a": UNKNOWN}),
        ("merge({a = 1}, local.u)", UNKNOWN),
        ('merge({a = 1}, ["x"])', Refused("must be a map")),
    ],
    "zipmap": [
        ('zipmap(["a", "b"], [1, local.u])', {"a": 1, "b": UNKNOWN}),
        ("zipmap([local.u], [1])", UNKNOWN),
        ('zipmap(["a"], [])', Refused("same length")),
    ],
    "one": [
        ("one([])", None),
        ('one(["a"])', "a"),
        ("one([local.u])", UNKNOWN),
        ('one(["a", "b"])', Refused("zero or one items")),
    ],
    "slice": [
        ('slice(["a", "b", "c"], 1, 3)', ["b", "c"]),
        ('slice([local.u, "b"], 1, 2)', ["b"]),
        ('slice(["a"], 0, 2)', Refused("do not fit")),
    ],
    "reverse": [("reverse([1, 2])", [2, 1])],
    "sort": [('sort(["b", "a", 10, 9])', ["10", "9", "a", "b"])],
    "range": [
        ("range(3)", [0, 1, 2]),
        ("range(1, 4)", [1, 2, 3]),
        ("range(3, 0)", [3, 2, 1]),
        ("range(0, 1, 0.5)", [0, 0.5]),
        ("range(0, 1, 0)", Refused("must not be zero")),
        ("range(2000)", Refused("at most 1024 numbers")),
    ],
    "alltrue": [('alltrue([true, "true"])', True), ("alltrue([true, local.u])", UNKNOWN)],
    "anytrue": [("anytrue([local.u, true])", True), ("anytrue([false, local.u])", UNKNOWN)],
    "sum": [("sum([1, 2.5])", 3.5), ("sum([])", Refused("empty list"))],
    "max": [("max(1, 3, 2)", 3)],
    "min": [('min("2", 1)', 1)],
    "abs": [("abs(-2)", 2)],
    "ceil": [("ceil(1.2)", 2)],
    "floor": [("floor(-1.2)", -2)],
    "jsonencode": [
        ("jsonencode({b = 1})", {"b": 1}),  # the structure (rules read structures)
        (
            '"=${jsonencode({b = [1, true, null], a = "<&>"})}"',
            '={"a":"\\u003c\\u0026\\u003e","b":[1,true,null]}',
        ),
        ('jsonencode("a")', '"a"'),
        ("jsonencode(local.u)", UNKNOWN),
    ],
    "yamlencode": [("yamlencode([1])", [1]), ('yamlencode("a")', '"a"\n')],
    "jsondecode": [
        ('jsondecode("{\\"a\\": [1, true, null]}")', {"a": [1, True, None]}),
        ("jsondecode(jsonencode({a = 1}))", {"a": 1}),
        ('jsondecode("{")', Refused("not JSON")),
    ],
    "yamldecode": [
        ('yamldecode("a: [1, x]")', {"a": [1, "x"]}),
        ('yamldecode("")', None),
        ('yamldecode("a: 1\\n---\\nb: 2")', Refused("one YAML document")),
    ],
    "base64encode": [('base64encode("hé")', "aMOp")],
    "base64decode": [
        ('base64decode("aMOp")', "hé"),
        ('base64decode("!!")', Refused("not base64")),
        ('base64decode("/w==")', Refused("UTF-8")),
    ],
    "basename": [('basename("a/b/")', "b"), ('basename("")', ".")],
    "dirname": [('dirname("a/b")', "a"), ('dirname("a")', ".")],
    "sensitive": [("sensitive(1)", 1)],
    "nonsensitive": [("nonsensitive(1)", 1)],
    "timestamp": [("timestamp()", UNKNOWN)],
    "plantimestamp": [("plantimestamp()", UNKNOWN)],
    "uuid": [("uuid()", UNKNOWN)],
    "strrev": [('strrev("abc")', "cba")],
    # the examples of Terraform's documentation
    "md5": [('md5("hello world")', "5eb63bbbe01eeed093cb22bb8f5acdc3")],
    "sha1": [('sha1("hello world")', "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")],
    "sha256": [
        (
            'sha256("hello world")',
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
        )
    ],
    "sha512": [
        (
            'sha512("hello world")',
            "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f"
            "989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f",
        )
    ],
    "base64sha256": [
        ('base64sha256("hello world")', "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")
    ],
    "base64sha512": [
        (
            'base64sha512("hello world")',
            "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==",
        )
    ],
    "cidrsubnet": [
        ('cidrsubnet("172.16.0.0/12", 4, 2)', "172.18.0.0/16"),
        ('cidrsubnet("10.1.2.0/24", 4, 15)', "10.1.2.240/28"),
        ('cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)', "fd00:fd12:3456:7800:a200::/72"),
        ('cidrsubnet("010.1.2.0/24", 4, 1)', "10.1.2.16/28"),  # leading zeros: decimal
        ('cidrsubnet("10.0.0.0/16", 8, 256)', Refused("does not accommodate")),
        ('cidrsubnet("10.0.0.0/30", 3, 0)', Refused("insufficient address space")),
        ('cidrsubnet("10.0.0.0", 8, 1)', Refused("invalid CIDR")),
    ],
    "cidrhost": [
        ('cidrhost("10.12.112.0/20", 16)', "10.12.112.16"),
        ('cidrhost("10.12.112.0/20", 268)', "10.12.113.12"),
        ('cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)', "fd00:fd12:3456:7890::22"),
        ('cidrhost("10.0.0.0/30", -1)', "10.0.0.3"),
        ('cidrhost("10.0.0.0/30", 4)', Refused("no host numbered 4")),
    ],
    "cidrnetmask": [
        ('cidrnetmask("172.16.0.0/12")', "255.240.0.0"),
        ('cidrnetmask("fd00::/8")', Refused("IPv4")),
    ],
    "setunion": [('setunion(["b", "a"], ["c", "b"])', ["a", "b", "c"])],
    "setintersection": [('setintersection(["a", "b"], ["b", "c"], ["d", "b"])', ["b"])],
    "setsubtract": [
        ('setsubtract(["a", "b", "c"], ["a", "c"])', ["b"]),
        ('setsubtract(["a"])', Refused("takes 2 arguments")),
    ],
}
CASES = [(name, expr, value) for name, rows in FUNCTION_CASES.items() for expr, value in rows]


@pytest.mark.parametrize("name, expression, value", CASES, ids=[c[1] for c in CASES])
def test_functions(name, expression, value):
    assert name in FUNCTIONS
    _check(expression, value)


def test_every_function_of_the_table_is_tested():
    assert set(FUNCTIONS) - {"file", "templatefile"} == set(FUNCTION_CASES)
    assert all(isinstance(row, Function) for row in FUNCTIONS.values())
    assert {name for name, row in FUNCTIONS.items() if row.lazy} == {"try", "can"}


EXPRESSIONS = [
    # arithmetic and comparison: operands converted to numbers, exact for whole numbers
    ('"2" + 1', 3),
    ("1 + 2 * 3 - 4 / 2", 5),
    ("5 / 2", 2.5),
    ("-5 % 3", -2),  # the remainder has the dividend's sign
    ("2 > 10", False),
    ('2 > "10"', False),
    ("1 / 0", Refused("division by zero")),
    ("true + 1", Refused("must be a number")),
    ("null + 1", Refused("must not be null")),
    ("local.u * 2", UNKNOWN),
    # equality: values of different types are never equal
    ('1 == "1"', False),
    ("[1, {a = true}] == [1, {a = true}]", True),
    ("{a = 1} != {a = 2}", True),
    ("null == null", True),
    ("local.u == 1", UNKNOWN),
    # logic: `false && x` is false whatever x is
    ("false && local.u", False),
    ("true || local.u", True),
    ("true && local.u", UNKNOWN),
    ('!"false"', True),
    ("null && true", Refused("must not be null")),
    # conditionals: the branch not taken is not evaluated; an unknown condition with equal
    # branches is known
    ("true ? 1 : upper(null)", 1),
    ('local.u == null ? "a" : "a"', "a"),
    ("local.u ? 1 : 2", UNKNOWN),
    ('"true" ? 1 : 2', 1),
    ("null ? 1 : 2", Refused("the condition must not be null")),
    # for: objects visited in their keys' order, grouping, conditions
    ('[for k, v in {b = 1, a = 2} : "${k}${v}"]', ["a2", "b1"]),
    ('[for i, v in ["a", "b"] : i]', [0, 1]),
    ("[for x in [1, 2, 3] : x if x > 1]", [2, 3]),
    ('{for s in ["a", "bb", "c"] : length(s) => s...}', {"1": ["a", "c"], "2": ["bb"]}),
    ('{for s in ["a", "a"] : s => 1}', Refused("have the key 'a'")),
    ("[for x in local.u : x]", UNKNOWN),
    ("[for x in [local.u] : x if x]", UNKNOWN),
    ("[for x in null : x]", Refused("cannot iterate over null")),
    # splats
    ("[{a = 1}, {a = 2}][*].a", [1, 2]),
    ("local.l[*].a", [1, 2]),
    ("{a = 1}[*].a", [1]),  # a value that is no list is a list of itself
    ("null[*].a", []),
    ("[[1, 2], [3]][*][0]", [1, 3]),
    ("[{a = [1]}].*.a[0]", [1]),  # `.*` takes only attributes: [0] indexes its result
    # indexes and attributes
    ('{a = 1}["a"]', 1),
    ('[1]["0"]', 1),
    ("[1][1]", Refused("out of range")),
    ("{a = 1}.b", Refused("no attribute 'b'")),
    ("[1].a", Refused("attribute 'a' of a list")),
    ("local.u.x", UNKNOWN),
    ("local.uk.y", 1),
    # templates
    ('"${1.5}${true}${10000000000000000000000}"', "1.5true10000000000000000000000"),
    ('"${true}"', True),  # one interpolation alone is its value
    ('"a${null}"', Refused("must not be null")),
    ('"a${[1]}"', Refused("must be a string, not a list")),
    ('"%{ if local.u }a%{ endif }"', UNKNOWN),
    ('"%{ for i, x in ["a", "b"] }${i}${x}%{ endfor }"', "0a1b"),
    ('"a %{~ if true ~} b %{~ endif ~} c"', "abc"),
    ('"$${x} %%{y}"', "${x} %{y}"),
    # object keys that are expressions
    ("{ (local.k) = 1 }", {"x": 1}),
    ('{ format("%s-%s", "a", 1) = 1 }', {"a-1": 1}),
    ("{ (null) = 1 }", Refused("must not be null")),
    # a call's last argument expanded
    ("merge([{a = 1}, {b = 2}]...)", {"a": 1, "b": 2}),
    ("max([1, 5]...)", 5),
    ("merge(local.u...)", UNKNOWN),
]


@pytest.mark.parametrize("expression, value", EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expressions(expression, value):
    _check(expression, value)


def test_a_heredoc_keeps_what_it_cannot_compute_as_written():
    value, ev = _evaluate('<<EOT\n{"a": "${local.k}", "b": "${local.u}"}\nEOT\n')
    assert value == '{"a": "x", "b": "${local.u}"}\n' and ev.problems() == []
    assert (value.file, value.line) == ("main.tf", 12)


@pytest.mark.parametrize(
    "expression, text",
    [
        ('format("%s:sub", local.u)', "${var.u}:sub"),
        ('format("%v/%s", local.u, "x")', "${var.u}/x"),
        ('format("%s", "arn:${local.u}:x")', "arn:${var.u}:x"),
        ('format("%s", local.u)', "var.u"),  # the value alone: it, its reference kept
        ('format("%d:sub", local.u)', 'format("%d:sub", local.u)'),
        ('format("%5s:sub", local.u)', 'format("%5s:sub", local.u)'),
        ('format("%s:%s", local.lu, local.u)', 'format("%s:%s", local.lu, local.u)'),
    ],
)
def test_format_of_a_value_not_known_is_known_in_part(expression, text):
    """`%s`/`%v` put a value not known in as `${...}`, as a template does; any other verb,
    a width, or a value not known inside a collection leaves the whole not known."""
    value, ev = _evaluate(expression)
    assert isinstance(value, Unknown) and ev.problems() == []
    assert (value.text, value.reason) == (text, "var.u has no default")


def test_a_heredoc_s_directives():
    value, _ = _evaluate('<<-EOT\n  %{~ for x in ["a", "b"] ~}\n  ${x}\n  %{~ endfor ~}\nEOT\n')
    assert value == "ab"


TYPES = """variable "obj" {
  type = object({
    a = string
    b = optional(number, 2)
    c = optional(string)
    d = optional(object({ e = optional(bool, true) }), {})
  })
  default = { a = 1, extra = "dropped" }
}
variable "groups" {
  type    = map(object({ enabled = optional(bool, true), tokens = optional(string, "required") }))
  default = { one = {}, two = { tokens = "optional" } }
}
variable "names" {
  type    = set(string)
  default = ["b", 1, "b"]
}
variable "flag" {
  type    = bool
  default = "true"
}
variable "strict" {
  type    = object({ a = string })
  default = {}
}
"""


@pytest.mark.parametrize(
    "expression, value",
    [
        ("var.obj", {"a": "1", "b": 2, "c": None, "d": {"e": True}}),
        ("var.obj.c", None),  # an optional attribute left out is null, not missing
        ('try(var.obj.c, "x")', None),
        (
            "var.groups",
            {
                "one": {"enabled": True, "tokens": "required"},
                "two": {"enabled": True, "tokens": "optional"},
            },
        ),
        ("var.names", ["1", "b"]),
        ("var.flag", True),
        ("var.strict", Refused("lacks the attribute 'a'")),
    ],
)
def test_a_variable_is_converted_to_its_type(expression, value):
    _check(expression, value, TYPES)
