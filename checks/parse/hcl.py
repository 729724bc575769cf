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

import re
from typing import Any

from checks.model import Documents
from checks.parse import ParseError, check_nesting, ensure_stack, excerpt, hclsyntax
from checks.parse.hcltree import (
    PRECEDENCE,
    Attribute,
    Block,
    Call,
    Conditional,
    Expression,
    ForExpr,
    GetAttr,
    Heredoc,
    Index,
    Lit,
    ObjectExpr,
    Operation,
    Ref,
    Splat,
    SplatItem,
    Template,
    TupleExpr,
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
    ensure_stack()
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
    ensure_stack()
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
    ensure_stack()
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
        # each splat built that a following traversal still applies to each item of, by id
        # ("full": any traversal, "attr": `.name` and `.0` only; its marker's line; the
        # splat), until parentheses close it
        self.open_splats: dict[int, tuple] = {}
        # each negative number literal (and what a traversal made of it), by id: its text
        # without the sign, and the node
        self.negations: dict[int, tuple] = {}

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
                _set_once(out, attr)
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
                    _set_once(block.attributes, attr)
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
            if len(exprs) == 1 and len(kids) > 1:  # `( expression )`
                inner = self.expr(exprs[0])
                self.open_splats.pop(id(inner), None)  # parentheses close a splat
                self.negations.pop(id(inner), None)
                return inner
            return self.expr(exprs[0] if exprs else kids[0])
        if data in ("binary_op", "conditional"):
            return self.operations(node)
        if data == "unary_op":
            operator = str(kids[0])
            number = kids[1].children[0] if getattr(kids[1], "data", "") == "expr_term" else None
            if operator == "-" and getattr(number, "data", None) in ("int_lit", "float_lit"):
                text = "".join(str(t) for t in number.children)
                text = text[1:] if text.startswith("-") else "-" + text
                return Lit(line, end_line, number_literal(text, line, self.warnings))
            operand = self.expr(kids[1])
            if operator == "-" and isinstance(operand, Lit) and _is_number(operand.value):
                return Lit(line, operand.end_line, -operand.value)
            return Operation(line, operand.end_line, operator, [operand])
        if data in ("int_lit", "float_lit"):
            text = "".join(str(t) for t in kids)
            lit = Lit(line, end_line, number_literal(text, line, self.warnings))
            if text.startswith("-"):
                # python-hcl2 reads `-3` as one token where HCL reads `-(3...)`: a traversal
                # after it goes inside the negation
                self.negations[id(lit)] = (text[1:], lit)
            return lit
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
        if data in ("function_call", "provider_function_call"):
            names = [str(k.children[0]) for k in kids if getattr(k, "data", None) == "identifier"]
            arguments = [k for k in kids if getattr(k, "data", None) == "arguments"]
            args = []
            expand = False
            if arguments:
                args = [self.expr(a) for a in _trees(arguments[0])]
                # python-hcl2 leaves the `...` after the last argument out of its tree
                last = _trees(arguments[0])[-1].meta.end_pos
                expand = bool(_ELLIPSIS.match(self.text, last, node.meta.end_pos))
            return Call(line, end_line, "::".join(names), args, self.src(node), expand)
        if data == "get_attr_expr_term":
            name = str(kids[1].children[0].children[0])
            return self.traverse(self.expr(kids[0]), ("attr", name), node, line, end_line)
        if data == "index_expr_term":
            step = self.index_step(kids[1])
            return self.traverse(self.expr(kids[0]), step, node, line, end_line)
        if data in ("attr_splat_expr_term", "full_splat_expr_term"):
            splat = kids[1]
            kind = "attr" if data == "attr_splat_expr_term" else "full"
            steps = [
                (("attr", str(step.children[0].children[0])) if step.data == "get_attr"
                 else self.index_step(step), self.lines(step)[1])
                for step in _trees(splat)
            ]  # fmt: skip
            step = ("splat", kind, self.lines(splat)[0], steps)
            return self.traverse(self.expr(kids[0]), step, node, line, end_line)
        if data in ("for_tuple_expr", "for_object_expr"):
            return self.for_expr(node, kids, line, end_line)
        if data in ("heredoc_template", "heredoc_template_trim"):
            return self.heredoc(str(kids[0]), line, data.endswith("trim"))
        raise ParseError(f"invalid HCL: {data} is not an expression", line)

    def index_step(self, index: Any) -> tuple:
        """An `index` node as a traversal step: `[expression]`, or `.0` (a legacy index)."""
        exprs = _trees(index)
        if exprs:
            return ("index", self.expr(exprs[0]))
        digits = "".join(str(c) for c in index.children if not hasattr(c, "data"))
        line = self.lines(index)[0]
        return ("legacy", Lit(line, line, index_number(digits)))

    def heredoc(self, raw: str, line: int, trim: bool) -> Heredoc:
        try:
            return hclsyntax.heredoc(raw, line, trim)
        except hclsyntax.Unsupported as exc:
            raise ParseError(f"invalid HCL: {exc}", exc.line or line) from None

    def traverse(self, base: Any, step: tuple, node: Any, line: int, end_line: int) -> Any:
        """`base` with one more traversal step (an attribute, an index, a legacy index `.0`, a
        splat), written in `node` from `line` to `end_line`: a reference grows, a splat still
        open takes the step into what it applies to each item (python-hcl2 ends a splat where
        HCL does not), anything else is wrapped."""
        kind = step[0]
        positive, negated = self.negations.get(id(base), ("", None))
        if negated is base:
            if isinstance(base, Lit):
                base = Lit(base.line, base.end_line, number_literal(positive, line, []))
            else:
                base = base.operands[0]
            out = Operation(line, end_line, "-", [self.traverse(base, step, node, line, end_line)])
            self.negations[id(out)] = ("", out)
            return out
        open_kind, marker, splat = self.open_splats.get(id(base), ("", 0, None))
        if splat is not base:  # an id of a splat no longer held
            open_kind = ""
        if open_kind == "full" or (open_kind == "attr" and kind in ("attr", "legacy")):
            each = self.traverse(base.each, step, node, marker, end_line)
            out = Splat(base.line, end_line, base.source, each)
            self.open_splats[id(out)] = (open_kind, marker, out)
            return out
        if kind == "attr":
            if isinstance(base, Ref):
                return Ref(line, end_line, base.parts + [step[1]], self.src(node))
            return GetAttr(line, end_line, base, step[1])
        if kind in ("index", "legacy"):
            key = index_key(step[1])
            if isinstance(base, Ref) and key is not None:
                return Ref(line, end_line, base.parts + [key], self.src(node))
            return Index(line, end_line, base, step[1])
        _, splat_kind, marker, steps = step
        each: Any = SplatItem(marker, marker)
        for inner, inner_end in steps:
            each = self.traverse(each, inner, node, marker, inner_end)
        out = Splat(line, end_line, base, each)
        self.open_splats[id(out)] = (splat_kind, marker, out)
        return out

    def operations(self, node: Any) -> Any:
        """Binary operators and conditionals: python-hcl2's grammar gives them no precedence,
        so its tree is read as the sequence of operands and operators it is in the text, and
        that sequence is grouped as HCL groups it (tighter levels first, left to right within
        a level; a conditional's branches as if in parentheses, right to left)."""
        sequence: list = []
        stack = [node]
        while stack:
            item = stack.pop()
            data = getattr(item, "data", None)
            if isinstance(item, tuple):
                sequence.append(item)
                continue
            kids = [c for c in item.children if getattr(c, "data", None) != "new_line_or_comment"]
            if data == "binary_op":
                stack.extend(reversed(kids))
            elif data == "binary_term":
                operator = kids[0].children[0]
                stack.append(kids[1])
                stack.append(("op", str(operator)))
            elif data == "conditional":
                condition, then, otherwise = kids
                stack.extend([otherwise, (":",), then, ("?",), condition])
            else:
                sequence.append(self.expr(item))
        expr, _ = _group(sequence, 0)
        return expr

    def for_expr(self, node: Any, kids: list, line: int, end_line: int) -> ForExpr:
        intro = next(k for k in _trees(node) if k.data == "for_intro")
        names = [str(k.children[0]) for k in _trees(intro) if k.data == "identifier"]
        collection = self.expr(next(k for k in _trees(intro) if k.data != "identifier"))
        key_var, value_var = (None, names[0]) if len(names) == 1 else (names[0], names[1])
        exprs = [k for k in _trees(node) if k.data not in ("for_intro", "for_cond")]
        condition = None
        for k in _trees(node):
            if k.data == "for_cond":
                condition = self.expr(_trees(k)[0])
        if node.data == "for_object_expr":
            key, value = self.expr(exprs[0]), self.expr(exprs[1])
            group = any(not hasattr(k, "data") and str(k) == "..." for k in kids)
        else:
            key, value, group = None, self.expr(exprs[0]), False
        return ForExpr(line, end_line, key_var, value_var, collection, key, value, group, condition)

    def object_key(self, node: Any) -> Any:
        """As our reader reads keys: a name (or names joined by dots) is its text, a string
        or a number literal its value, an expression in parentheses the expression."""
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
        exprs = [c for c in inner.children if hasattr(c, "data")]  # `( expression )`
        expr = self.expr(exprs[0])
        self.open_splats.pop(id(expr), None)
        return expr

    def string(self, node: Any, line: int, end_line: int) -> Template:
        if any(
            "%{" in str(part.children[0])
            for part in node.children
            if not hasattr(part.children[0], "data")
        ):
            # python-hcl2 reads template directives (and `%%{`) as text: ours reads them
            try:
                return hclsyntax.quoted_template(self.src(node), line)
            except hclsyntax.Unsupported as exc:
                raise ParseError(f"invalid HCL: {exc}", exc.line or line) from None
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


def _set_once(attributes: dict[str, Attribute], attr: Attribute) -> None:
    """HCL refuses a body that sets an attribute twice."""
    if attr.name in attributes:
        raise ParseError(
            hclsyntax.attribute_twice(attr.name, attributes[attr.name].line), attr.line
        )
    attributes[attr.name] = attr


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _trees(node: Any) -> list:
    """A node's children that are nodes, comments and newlines left out."""
    return [c for c in node.children if hasattr(c, "data") and c.data != "new_line_or_comment"]


# what may sit between a call's last argument and its closing parenthesis before `...`
_ELLIPSIS = re.compile(r"(?:\s|#[^\n]*|//[^\n]*|/\*.*?\*/)*\.\.\.", re.S)


def _group(sequence: list, at: int) -> tuple[Any, int]:
    """The conditional starting at `sequence[at]` (operands, ("op", operator), ("?",) and
    (":",) in text order), grouped as HCL groups it; and where it ends."""
    condition, at = _binary(sequence, at, 1)
    if at < len(sequence) and sequence[at] == ("?",):
        then, at = _group(sequence, at + 1)
        otherwise, at = _group(sequence, at + 1)  # past the ":"
        return Conditional(condition.line, otherwise.end_line, condition, then, otherwise), at
    return condition, at


def _binary(sequence: list, at: int, lowest: int) -> tuple[Any, int]:
    left = sequence[at]
    at += 1
    while at < len(sequence) and sequence[at][0] == "op":
        operator = sequence[at][1]
        level = PRECEDENCE[operator]
        if level < lowest:
            break
        right, at = _binary(sequence, at + 1, level + 1)
        left = Operation(left.line, right.end_line, operator, [left, right])
    return left, at
