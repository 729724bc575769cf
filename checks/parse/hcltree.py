"""The tree both Terraform readers build (`hclsyntax`, and `hcl` walking python-hcl2's parse
tree; `hclsyntax` needs nothing of `hcl`, which hands it each file first), and the one
reader of Terraform references.

A reference (`var.x`, `aws_iam_role.r.arn`, `local.m["k"]`) is a `Ref` whose `target` says
what it names: the kind of thing (`var`, `local`, `data`, `resource`, `module`, `path`,
`count`, `each`, `self`, `terraform`), its address and the traversal after it. The evaluator
reads `Ref.target`; the pre-filter, which looks at text before anything is parsed, finds
traversals with `REFERENCE_TEXT` and reads them with the same `target`, and indexes blocks by
the same `declared` addresses; a heredoc's `${...}` is read by `reference_parts`.
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
    text: str
    content_line: int  # the line of the heredoc's first content line


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
    name: str
    args: list
    text: str


@dataclass
class Opaque(Expr):
    """An expression we do not evaluate (conditional, arithmetic, for, splat)."""

    text: str


Expression = Lit | Template | Heredoc | TupleExpr | ObjectExpr | Ref | Call | Opaque


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


NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
# A traversal written in text: a name and its `.name`, `.0`, `[0]` and `["key"]` steps.
TRAVERSAL = NAME + r'(?:\.[A-Za-z0-9_-]+|\[[0-9]+\]|\["[^"]*"\])*'
# A traversal of names found in any text: not preceded by a name's character or a dot, so
# that `x.var.y` is not `var.y` (a name may hold `-`: `a-var.y` is one name, read whole).
REFERENCE_TEXT = re.compile(rf"(?<![A-Za-z0-9_.])({NAME}(?:\.{NAME})+)")
# `${ reference }` in a heredoc's text
INTERPOLATION = re.compile(r"\$\{\s*(" + TRAVERSAL + r")\s*\}")
_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[([0-9]+)\]|\["([^"]*)"\]')


def reference_parts(text: str) -> list:
    """The parts of a TRAVERSAL's text: names, and indexes (`.0` and `[0]` as numbers)."""
    head = re.match(NAME, text)
    parts: list = [head.group()] if head else []
    for m in _STEP.finditer(text, head.end() if head else 0):
        name, index, key = m.groups()
        if name is not None:
            parts.append(index_number(name) if name.isdigit() else name)
        elif index is not None:
            parts.append(index_number(index))
        else:
            parts.append(key)
    return parts


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
