"""Terraform (HCL2) parser: text -> a list of `Block`s whose attributes are expressions.

We use python-hcl2 7.3's cached LALR grammar (`hcl2.parser.parser()`) for the syntax and walk
the lark tree ourselves. python-hcl2's own dict output gives lines only per block and turns
every expression into a `${...}` string that would have to be parsed again; walking the tree
keeps every attribute's lines and each expression's structure (references, function calls,
object literals) in one pass. 8.x is not used: it ignores `with_meta` and mangles `<<-` heredocs.
The tree (`Block`, `Attribute`, the expressions) is `checks/parse/hcltree.py`'s, the one our
own reader (`hclsyntax`) builds too.
"""

from __future__ import annotations

from typing import Any

from checks.model import Documents
from checks.parse import ParseError, check_nesting, excerpt, hclsyntax
from checks.parse.hcltree import (
    Attribute,
    Block,
    Call,
    Expression,
    Lit,
    ObjectExpr,
    Opaque,
    Ref,
    Template,
    TupleExpr,
    heredoc_expr,
    index_key,
    index_number,
    number_literal,
    unescape,
)


class Assignments(dict):
    """A variable file's assignments (name -> Attribute), and `warnings` ((line, message))
    that did not stop parsing."""

    warnings: list = []


# python-hcl2 takes seconds per 100 KB of dense input, and gigabytes: above this size what our
# reader refuses is not handed to it. Our reader takes everything python-hcl2 takes (the
# tests compare the two), so its own error, with its line, is the answer there.
MAX_REFERENCE_BYTES = 256_000


def parse_terraform(text: str) -> list[Block]:
    """Parse one .tf file into its top-level blocks; raise ParseError on a syntax error.

    The hand-written reader (`hclsyntax`) goes first; anything it does not take, including
    every syntax error, is parsed again by python-hcl2, whose tree or error is the answer
    (for a file of up to MAX_REFERENCE_BYTES)."""
    check_nesting(text, "HCL")
    try:
        return hclsyntax.parse(text)
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the fast path cannot do, the reference does
        _too_large_for_reference(text, exc)
        return parse_terraform_hcl2(text)


def _too_large_for_reference(text: str, exc: Exception) -> None:
    """Our reader's refusal as the ParseError, for a file too large for python-hcl2."""
    if len(text) > MAX_REFERENCE_BYTES:
        if isinstance(exc, RecursionError):
            raise ParseError("HCL nested too deeply", guard=True) from None
        raise ParseError(f"invalid HCL: {exc}", getattr(exc, "line", 0)) from None


def parse_tfvars(text: str) -> Assignments:
    """A `terraform.tfvars` / `*.auto.tfvars` file: its variable assignments (top-level
    attributes). A `.tfvars.json` file gives the same shape, its values as literals."""
    if text.lstrip().startswith("{"):
        return _json_tfvars(text)
    check_nesting(text, "HCL")
    try:
        attributes, _blocks, warnings = hclsyntax.parse_body(text)
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - as for .tf files: the reference decides
        _too_large_for_reference(text, exc)
        return _parse_hcl2(text, attributes=True)
    out = Assignments(attributes)
    out.warnings = warnings
    return out


def _json_tfvars(text: str) -> Assignments:
    from checks.parse.jsonpos import load

    warnings: list = []
    doc = load(text, notes=warnings)
    if not isinstance(doc, dict):
        raise ParseError("a .tfvars.json file must hold one JSON object", 1)
    out = Assignments()
    out.warnings = warnings
    for name, value in doc.items():
        line, end_line = doc.key_lines.get(name, (1, 1)) if hasattr(doc, "key_lines") else (1, 1)
        # the JSON value as it is (no templates in .tfvars.json), with the lines of its parts
        out[name] = Attribute(name, Lit(line, end_line, value), line, end_line)
    return out


def parse_terraform_hcl2(text: str) -> list[Block]:
    """python-hcl2's reading of one .tf file: the reference for `hclsyntax`."""
    return _parse_hcl2(text, attributes=False)


def _parse_hcl2(text: str, attributes: bool) -> Any:
    from hcl2.parser import parser  # lazy: only scans with Terraform files pay for it
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

    check_nesting(text, "HCL")
    try:
        # the grammar needs a final newline (lark has no EOF token)
        tree = parser().parse(text + "\n")
    except UnexpectedEOF:
        raise ParseError("invalid HCL: unexpected end of file", text.count("\n") + 1) from None
    except UnexpectedInput as exc:
        line = max(getattr(exc, "line", 0) or 0, 0)
        column = max(getattr(exc, "column", 0) or 0, 0)
        if isinstance(exc, UnexpectedCharacters):
            what = f"character {exc.char!r}"
        else:
            token = str(getattr(exc, "token", "")).strip()
            what = repr(token[:30]) if token else "end of file"
        raise ParseError(f"invalid HCL: unexpected {what} (column {column})", line) from None
    except (LarkError, RecursionError) as exc:
        raise ParseError(f"invalid HCL: {_first_line(str(exc)) or type(exc).__name__}") from None
    walker = _Walker(text)
    try:
        if attributes:
            out: Any = Assignments(walker.attributes(tree.children[0]))
        else:
            out = Documents(walker.body(tree.children[0]))
    except RecursionError:
        raise ParseError("HCL nested too deeply") from None
    out.warnings = walker.warnings
    return out


def _first_line(s: str) -> str:
    return excerpt(s.strip().splitlines()[0]) if s.strip() else ""


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.warnings: list[tuple[int, str]] = []

    def src(self, node: Any) -> str:
        meta = getattr(node, "meta", None)
        if meta is not None and not getattr(meta, "empty", True):
            return self.text[meta.start_pos : meta.end_pos]
        return str(node)

    @staticmethod
    def lines(node: Any) -> tuple[int, int]:
        meta = getattr(node, "meta", None)
        if meta is not None and not getattr(meta, "empty", True):
            return meta.line, meta.end_line
        line = getattr(node, "line", 0) or 0
        return line, getattr(node, "end_line", line) or line

    def body(self, body: Any) -> list[Block]:
        blocks: list[Block] = []
        for child in body.children:
            if getattr(child, "data", None) == "block":
                blocks.append(self.block(child))
        return blocks

    def attributes(self, body: Any) -> dict[str, Attribute]:
        out: dict[str, Attribute] = {}
        for child in body.children:
            if getattr(child, "data", None) == "attribute":
                attr = self.attribute(child)
                out[attr.name] = attr
        return out

    def attribute(self, node: Any) -> Attribute:
        name_node, _eq, value = node.children
        name = str(name_node.children[0])
        line, _ = self.lines(node)
        expr = self.expr(value)
        # the attribute's own span may swallow the newline after a heredoc
        return Attribute(name, expr, line, expr.end_line)

    def block(self, node: Any) -> Block:
        ident, *rest = node.children
        labels: list[str] = []
        body = None
        for child in rest:
            data = getattr(child, "data", None)
            if data == "identifier":
                labels.append(str(child.children[0]))
            elif data == "string":
                labels.append("".join(self.string_text(p) for p in child.children))
            elif data == "body":
                body = child
        line, end_line = self.lines(node)
        block = Block(str(ident.children[0]), labels, line, end_line)
        if body is not None:
            for child in body.children:
                data = getattr(child, "data", None)
                if data == "attribute":
                    attr = self.attribute(child)
                    block.attributes[attr.name] = attr
                elif data == "block":
                    block.blocks.append(self.block(child))
        return block

    def string_text(self, part: Any) -> str:
        """Literal text of a block label's string part (labels hold no interpolation)."""
        tok = part.children[0] if getattr(part, "data", None) == "string_part" else part
        if hasattr(tok, "data"):
            return self.src(tok)
        return unescape(str(tok), getattr(tok, "line", 0) or self.lines(part)[0])

    def expr(self, node: Any) -> Expression:
        line, end_line = self.lines(node)
        data = getattr(node, "data", None)
        if data is None:  # a bare token
            return Lit(line, end_line, str(node))
        kids = [c for c in node.children if getattr(c, "data", None) != "new_line_or_comment"]
        if data == "expr_term":
            exprs = [c for c in kids if hasattr(c, "data")]
            if len(kids) == 1 or len(exprs) == 1:
                return self.expr(exprs[0] if exprs else kids[0])
            return Opaque(line, end_line, self.src(node))
        if data in ("int_lit", "float_lit"):
            text = "".join(str(t) for t in kids)
            return Lit(line, end_line, number_literal(text, line, self.warnings))
        if data == "identifier":
            name = str(kids[0])
            lowered = name.lower()
            # True/False are not Terraform, but some repositories write them; be lenient
            if lowered in ("true", "false"):
                return Lit(line, end_line, lowered == "true")
            if name == "null":
                return Lit(line, end_line, None)
            return Ref(line, end_line, [name], name)
        if data == "string":
            return self.string(node, line, end_line)
        if data == "tuple":
            return TupleExpr(line, end_line, [self.expr(c) for c in kids if hasattr(c, "data")])
        if data == "object":
            items = []
            for elem in kids:
                if getattr(elem, "data", None) != "object_elem":
                    continue
                key_node, _sep, value = elem.children
                e_line, _ = self.lines(elem)
                value_expr = self.expr(value)
                # like an attribute's, the element's span may swallow a newline after its value
                items.append((self.object_key(key_node), value_expr, e_line, value_expr.end_line))
            return ObjectExpr(line, end_line, items)
        if data == "function_call":
            name = str(kids[0].children[0])
            args = []
            if len(kids) > 1 and getattr(kids[1], "data", None) == "arguments":
                args = [
                    self.expr(a)
                    for a in kids[1].children
                    if getattr(a, "data", "new_line_or_comment") != "new_line_or_comment"
                ]
            return Call(line, end_line, name, args, self.src(node))
        if data == "get_attr_expr_term":
            base = self.expr(kids[0])
            attr = str(kids[1].children[0].children[0])
            if isinstance(base, Ref):
                return Ref(line, end_line, base.parts + [attr], self.src(node))
            return Opaque(line, end_line, self.src(node))
        if data == "index_expr_term":
            base = self.expr(kids[0])
            index_node = kids[1]
            index = self._index_value(list(index_node.children))
            if isinstance(base, Ref) and index is not None:
                return Ref(line, end_line, base.parts + [index], self.src(node))
            return Opaque(line, end_line, self.src(node))
        if data in ("heredoc_template", "heredoc_template_trim"):
            return heredoc_expr(str(kids[0]), line, data.endswith("trim"))
        return self.opaque(node, line)

    def opaque(self, node: Any, line: int) -> Opaque:
        """An expression kept as its text; an operation's tree may end with the newline and
        comments after it, which are not part of the expression."""
        meta = getattr(node, "meta", None)
        if meta is None or getattr(meta, "empty", True):
            return Opaque(line, line, str(node))
        end = meta.end_pos
        while True:  # step into the child that ends where the node ends
            kids = [c for c in node.children if c is not None]
            last = kids[-1] if kids else None
            if not hasattr(last, "data") or last.meta.empty or last.meta.end_pos != end:
                break
            if last.data == "new_line_or_comment":
                if len(kids) < 2:
                    break
                last = kids[-2]
                if not hasattr(last, "data"):
                    end = last.end_pos
                    break
                if last.meta.empty:
                    break
                end = last.meta.end_pos
            node = last
        text = self.text[meta.start_pos : end]
        return Opaque(line, line + text.count("\n"), text)

    def _index_value(self, kids: list) -> Any:
        exprs = [c for c in kids if hasattr(c, "data") and c.data != "new_line_or_comment"]
        if exprs:
            return index_key(self.expr(exprs[0]))
        digits = "".join(str(c) for c in kids if not hasattr(c, "data"))
        return index_number(digits) if digits.isdigit() else None

    def object_key(self, node: Any) -> Any:
        inner = node.children[0]
        data = getattr(inner, "data", None)
        if data == "identifier":
            return str(inner.children[0])
        if data == "string":
            value = self.string(inner, *self.lines(inner))
            if all(isinstance(p, str) for p in value.parts):
                return "".join(value.parts)
            return value
        if data in ("int_lit", "float_lit"):
            return self.expr(inner).value
        if data == "object_elem_key_dot_accessor":
            return ".".join(str(c.children[0]) for c in inner.children if hasattr(c, "data"))
        if data == "object_elem_key_expression":
            exprs = [c for c in inner.children if hasattr(c, "data")]
            return self.expr(exprs[0]) if exprs else self.src(inner)
        return self.src(inner)

    def string(self, node: Any, line: int, end_line: int) -> Template:
        parts: list = []
        for part in node.children:
            tok = part.children[0]
            if hasattr(tok, "data"):  # interpolation
                exprs = [c for c in tok.children if hasattr(c, "data")]
                parts.append(self.expr(exprs[0]) if exprs else "")
            elif getattr(tok, "type", "") == "ESCAPED_INTERPOLATION":
                parts.append(str(tok)[1:])  # $${x} is the literal text ${x}
            else:
                parts.append(unescape(str(tok), getattr(tok, "line", 0) or line))
        merged: list = []
        for p in parts:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] += p
            else:
                merged.append(p)
        return Template(line, end_line, merged)
