"""The tree both Terraform readers build (`hclsyntax`, and `hcl` walking python-hcl2's parse
tree; `hclsyntax` needs nothing of `hcl`, which hands it each file first), and the one
reader of Terraform references.

A reference (`var.x`, `aws_iam_role.r.arn`, `local.m["k"]`) is a `Ref` whose `target` says
what it names: the kind of thing (`var`, `local`, `data`, `resource`, `module`, `path`,
`count`, `each`, `self`, `terraform`), its address and the traversal after it. The evaluator
reads `Ref.target`; the pre-filter, which looks at text before anything is parsed, finds
traversals with `references_in` and reads them with the same `target`, and indexes blocks
by the same `declared` addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from checks.parse import ParseError, numbers


@dataclass
class Expr:
    line: int
    end_line: int


@dataclass
class Lit(Expr):
    value: Any


@dataclass
class Template(Expr):
    """A quoted string with `${...}` interpolations: parts are str or Expr."""

    parts: list


@dataclass
class Heredoc(Expr):
    """`<<EOT ... EOT`: its text (indentation removed for `<<-`) and the template it is: parts
    as a Template's (literal text, interpolations, directives)."""

    text: str
    content_line: int  # the line of the heredoc's first content line
    parts: list = field(default_factory=list)


@dataclass
class TupleExpr(Expr):
    items: list


@dataclass
class ObjectExpr(Expr):
    items: list  # [(key: str | Expr, value: Expr, line, end_line)]


@dataclass
class Ref(Expr):
    """A traversal such as `var.x`, `aws_iam_role.r.arn`, `local.m["k"]`."""

    parts: list  # [str | int]
    text: str

    @property
    def target(self) -> Target | None:
        """What the reference names (None for a bare name)."""
        return target(self.parts)


@dataclass
class Call(Expr):
    """`name(args)`; `expand`: the last argument is followed by `...` (its items are the
    arguments). A provider's function (`provider::aws::arn_parse`) is named in full."""

    name: str
    args: list
    text: str
    expand: bool = False


@dataclass
class Opaque(Expr):
    """A value known only after apply (a plan's `after_unknown`), kept as its text."""

    text: str


@dataclass
class Operation(Expr):
    """`a + b`, `a && b`, `a == b`...: a binary operator and its two operands, or `!a` and
    `-a`: a unary one and its operand."""

    operator: str
    operands: list


@dataclass
class Conditional(Expr):
    """`condition ? then : otherwise`."""

    condition: Any
    then: Any
    otherwise: Any


@dataclass
class GetAttr(Expr):
    """`source.name` where `source` is no reference (`f(x).name`, `x[var.k].name`)."""

    source: Any
    name: str


@dataclass
class Index(Expr):
    """`source[key]` where the key or the source is no constant reference."""

    source: Any
    key: Any


@dataclass
class SplatItem(Expr):
    """The item a splat's `each` expression is evaluated against."""


@dataclass
class Splat(Expr):
    """`source[*].a[0]` (full) or `source.*.a` (attributes only): `each` is the traversal
    applied to every item, written against a SplatItem."""

    source: Any
    each: Any


@dataclass
class ForExpr(Expr):
    """`[for k, v in collection : value if condition]`, or with a `key` (`{for ... : key =>
    value}`, `group` when `...` follows the value) an object."""

    key_var: str | None
    value_var: str
    collection: Any
    key: Any
    value: Any
    group: bool
    condition: Any


@dataclass
class TemplateIf(Expr):
    """`%{ if condition }then%{ else }otherwise%{ endif }` in a template: parts each."""

    condition: Any
    then: list
    otherwise: list


@dataclass
class TemplateFor(Expr):
    """`%{ for k, v in collection }body%{ endfor }` in a template."""

    key_var: str | None
    value_var: str
    collection: Any
    body: list


Expression = (
    Lit
    | Template
    | Heredoc
    | TupleExpr
    | ObjectExpr
    | Ref
    | Call
    | Opaque
    | Operation
    | Conditional
    | GetAttr
    | Index
    | Splat
    | SplatItem
    | ForExpr
)


@dataclass
class Attribute:
    name: str
    expr: Expression
    line: int
    end_line: int


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    end_line: int
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    # `# eks-checks: ignore[...]` comments are read by the filter stage from the file itself

    def children(self, block_type: str) -> list[Block]:
        """Nested blocks of one type, including `dynamic "type" { content {...} }`."""
        found = [b for b in self.blocks if b.type == block_type]
        for dyn in self.blocks:
            if dyn.type == "dynamic" and dyn.labels == [block_type]:
                found.extend(b for b in dyn.blocks if b.type == "content")
        return found


# ---- how an expression reads -----------------------------------------------------------------
# a binary operator's precedence (a higher level binds tighter), as HCL's parser has them
PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}


def show(expr: Any, limit: int = 120) -> str:
    """How an expression reads (an unknown value shows it): HCL written on one line, cut
    after `limit` characters; a reference and a call as they were written."""
    out = _Text(limit)
    _show(expr, out)
    text = "".join(out.parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Text:
    """Text being written, which stops growing past its limit."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.left = limit + 1

    def put(self, text: str) -> None:
        if self.left > 0:
            self.parts.append(text)
            self.left -= len(text)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _show(expr: Any, out: _Text) -> None:
    if out.left <= 0:
        return
    put = out.put
    if isinstance(expr, (Ref, Call, Opaque)):
        put(" ".join(expr.text.split()))
    elif isinstance(expr, Lit):
        value = expr.value
        if value is None:
            put("null")
        elif isinstance(value, bool):
            put("true" if value else "false")
        elif isinstance(value, str):
            put(_quoted(value))
        elif isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
            put(str(int(value)))
        else:
            put(getattr(value, "text", None) or str(value))  # a number, or one read as unknown
    elif isinstance(expr, (str, int, float)):  # an object's key
        put(str(expr))
    elif isinstance(expr, Template):
        put('"')
        _show_parts(expr.parts, out)
        put('"')
    elif isinstance(expr, Heredoc):
        put("<<EOT ... EOT")
    elif isinstance(expr, TupleExpr):
        put("[")
        for i, item in enumerate(expr.items):
            put(", " if i else "")
            _show(item, out)
        put("]")
    elif isinstance(expr, ObjectExpr):
        put("{")
        for i, (key, value, _line, _end) in enumerate(expr.items):
            put(", " if i else "")
            if isinstance(key, Ref):  # a reference as a key is written in parentheses
                put("(")
                _show(key, out)
                put(")")
            else:
                _show(key, out)
            put(" = ")
            _show(value, out)
        put("}")
    elif isinstance(expr, Operation):
        if len(expr.operands) == 1:
            put(expr.operator)
            _show_operand(expr.operands[0], 7, out)
        else:
            level = PRECEDENCE[expr.operator]
            _show_operand(expr.operands[0], level, out)
            put(f" {expr.operator} ")
            _show_operand(expr.operands[1], level + 1, out)
    elif isinstance(expr, Conditional):
        _show_operand(expr.condition, 1, out)
        put(" ? ")
        _show(expr.then, out)
        put(" : ")
        _show(expr.otherwise, out)
    elif isinstance(expr, GetAttr):
        _show_operand(expr.source, 8, out)
        put("." + expr.name)
    elif isinstance(expr, Index):
        _show_operand(expr.source, 8, out)
        put("[")
        _show(expr.key, out)
        put("]")
    elif isinstance(expr, Splat):
        _show_operand(expr.source, 8, out)
        _show(expr.each, out)
    elif isinstance(expr, SplatItem):
        put("[*]")
    elif isinstance(expr, ForExpr):
        put("{" if expr.key is not None else "[")
        put(f"for {_names(expr.key_var, expr.value_var)} in ")
        _show(expr.collection, out)
        put(" : ")
        if expr.key is not None:
            _show(expr.key, out)
            put(" => ")
        _show(expr.value, out)
        put("..." if expr.group else "")
        if expr.condition is not None:
            put(" if ")
            _show(expr.condition, out)
        put("}" if expr.key is not None else "]")


def _names(key_var: str | None, value_var: str) -> str:
    return f"{key_var}, {value_var}" if key_var else value_var


def _show_parts(parts: list, out: _Text) -> None:
    for part in parts:
        if isinstance(part, str):
            out.put(_quoted(part)[1:-1].replace("${", "$${").replace("%{", "%%{"))
        elif isinstance(part, TemplateIf):
            out.put("%{ if ")
            _show(part.condition, out)
            out.put(" }")
            _show_parts(part.then, out)
            if part.otherwise:
                out.put("%{ else }")
                _show_parts(part.otherwise, out)
            out.put("%{ endif }")
        elif isinstance(part, TemplateFor):
            out.put(f"%{{ for {_names(part.key_var, part.value_var)} in ")
            _show(part.collection, out)
            out.put(" }")
            _show_parts(part.body, out)
            out.put("%{ endfor }")
        else:
            out.put("${")
            _show(part, out)
            out.put("}")


def _show_operand(expr: Any, level: int, out: _Text) -> None:
    """An operand, in parentheses when it binds more loosely than its place needs."""
    if isinstance(expr, Conditional):
        inner = 0
    elif isinstance(expr, Operation):
        inner = PRECEDENCE[expr.operator] if len(expr.operands) == 2 else 7
    else:
        inner = 9
    if inner < level:
        out.put("(")
        _show(expr, out)
        out.put(")")
    else:
        _show(expr, out)


# ---- references ------------------------------------------------------------------------------
# The first word of a reference that names something other than a resource (`aws_iam_role.r`).
ROOTS = frozenset(("var", "local", "data", "module", "path", "count", "each", "self", "terraform"))
# The top-level blocks whose names references read, and the kind of reference to each; each
# attribute of a `locals` block is one `local`.
DECLARING_BLOCKS = {"variable": "var", "locals": "local", "resource": "resource", "data": "data"}


class Target(NamedTuple):
    """What a reference names: `kind` (one of ROOTS, or `resource`), the `address` of what it
    names (`var.x`, `local.y`, `data.t.n`, `t.n`, `module.m`, `path.module`, `each.value`),
    the resource or data source `type` (else ""), its `name` (the address's last word) and
    the traversal after the address."""

    kind: str
    address: str
    type: str
    name: str
    rest: list


def target(parts: list) -> Target | None:
    """What the traversal `parts` names; None for a bare name, and for `data` with fewer than
    a type and a name."""
    if len(parts) < 2:
        return None
    root, second = str(parts[0]), str(parts[1])
    if root == "data":
        if len(parts) < 3:
            return None
        name = str(parts[2])
        return Target("data", f"data.{second}.{name}", second, name, parts[3:])
    if root in ROOTS:
        return Target(root, f"{root}.{second}", "", second, parts[2:])
    return Target("resource", f"{root}.{second}", root, second, parts[2:])


def declared(block_type: str, labels: list[str]) -> str | None:
    """The address references use for a top-level block (`variable "x"` -> `var.x`,
    `resource "t" "n"` -> `t.n`, `data "t" "n"` -> `data.t.n`); None for a block no
    reference reads by name, and for `locals` (see `local_address`)."""
    kind = DECLARING_BLOCKS.get(block_type)
    if kind == "var" and labels:
        return f"var.{labels[0]}"
    if kind == "resource" and len(labels) == 2:
        return f"{labels[0]}.{labels[1]}"
    if kind == "data" and len(labels) == 2:
        return f"data.{labels[0]}.{labels[1]}"
    return None


def local_address(name: str) -> str:
    """The address of a `locals` block's attribute `name`."""
    return f"local.{name}"


# HCL's identifiers: a Unicode letter or `_`, then letters, digits, `_` and `-`
NAME = r"[^\W\d][\w-]*"
# A traversal of names found in any text: not preceded by a name's character or a dot, so
# that `x.var.y` is not `var.y` (a name may hold `-`: `a-var.y` is one name, read whole).
REFERENCE_TEXT = re.compile(rf"(?<![\w.])({NAME}(?:\.{NAME})+)")
# the same on ASCII text, where `\w` is these characters (three times as fast: the pre-filter
# looks at every kept block of every module); possessive, as backing off a name's last
# characters cannot make a dot follow it
_ASCII_NAME = r"[A-Za-z_][A-Za-z0-9_-]*+"
_REFERENCE_ASCII = re.compile(rf"(?<![A-Za-z0-9_.])({_ASCII_NAME}(?:\.{_ASCII_NAME})+)")


def references_in(text: str) -> list[str]:
    """`REFERENCE_TEXT.findall(text)`: the traversals of names written in `text`."""
    return (_REFERENCE_ASCII if text.isascii() else REFERENCE_TEXT).findall(text)


def index_key(expr: Any) -> Any:
    """The value of an index expression (`[0]`, `["key"]`) a reference can keep, else None."""
    if isinstance(expr, Lit):
        return expr.value
    if isinstance(expr, Template) and all(isinstance(p, str) for p in expr.parts):
        return "".join(expr.parts)
    return None


def index_number(text: str) -> int | str:
    """A legacy index (`a.0`) as an integer; too long to be one, its text (found nowhere)."""
    return text if numbers.oversized_int(text) else int(text)


# ---- literals ----------------------------------------------------------------------------------
def number_literal(text: str, line: int, warnings: list) -> Any:
    """The value of a number literal; one out of range is unknown, noted in `warnings`."""
    if "." in text or "e" in text or "E" in text:
        value = float(text)
        reason = numbers.problem(value)
    elif numbers.oversized_int(text):
        reason = f"has more than {numbers.MAX_DIGITS} digits"
    else:
        value = int(text)
        reason = numbers.problem(value)
    if reason:
        value = numbers.unknown(text, reason)
        warnings.append((line, numbers.note(value)))
    return value


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def unescape(text: str, line: int) -> str:
    """A quoted string's text with its escapes decoded; `line` is where the text starts. An
    escape that is no Unicode character (beyond U+10FFFF, a surrogate) or lacks digits is a
    ParseError, as Terraform makes it an error."""

    def repl(m: re.Match) -> str:
        s = m.group(1)
        if s in ("u", "U"):
            digits = 4 if s == "u" else 8
            raise ParseError(
                f"invalid HCL: escape \\{s} needs {digits} hexadecimal digits", where(m)
            )
        if s[0] in "uU":
            code = int(s[1:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ParseError(f"invalid HCL: escape \\{s} is not a Unicode character", where(m))
            return chr(code)
        return _ESCAPES.get(s, s)

    def where(m: re.Match) -> int:
        return line + text.count("\n", 0, m.start())

    return _ESCAPE_RE.sub(repl, text) if "\\" in text else text


def heredoc_expr(raw: str, line: int, trim: bool) -> Heredoc:
    """A heredoc token's text (`<<EOF ... EOF` and its final newline) as an expression."""
    first_nl = raw.find("\n")
    body = raw[first_nl + 1 :]
    # drop the closing delimiter line
    body = body.rstrip("\n")
    last_nl = body.rfind("\n")
    body = body[: last_nl + 1] if last_nl >= 0 else ""
    lines = body.split("\n")
    if trim:
        indents = [len(ln) - len(ln.lstrip(" \t")) for ln in lines if ln.strip()]
        cut = min(indents) if indents else 0
        lines = [ln[cut:] for ln in lines]
    return Heredoc(line, line + raw.count("\n") - 1, "\n".join(lines), line + 1)
